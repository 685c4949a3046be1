//! docs/behaviour.md §2 and §6 end to end against the Gitea stand-in: a `!testme` tests the commit
//! the PR head pointed at when the comment was made (read from the PR's push record, the
//! timeline), or the commit its `--sha` names; a later push never rides on it, by polling or
//! by webhook. And only a full cold run sets the gating commit status.

use crate::harness::*;
use crate::support::{open, unique};
use ccci_core::secret::Secret;
use ccci_forge::gitea_standin::{Standin, WebhookDelivery};
use ccci_forge::{GiteaClient, RepoName, StatusState, StatusUpdate};
use ccci_service::job::JobState;
use std::sync::Arc;
use std::time::Duration;
use time::OffsetDateTime;

const A: &str = "a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1";
const B: &str = "b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2";
const C: &str = "c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3";

fn sqlite_url(dir: &std::path::Path) -> String {
    format!(
        "sqlite:{}",
        dir.join(format!("{}.db", unique("approval"))).display()
    )
}

fn ago(seconds: i64) -> OffsetDateTime {
    OffsetDateTime::now_utc() - time::Duration::seconds(seconds)
}

/// The bot's comments on a PR that are not its sticky run comment: its replies.
fn replies(standin: &Standin, repo: &RepoName, pr: u64) -> Vec<String> {
    standin
        .comments(repo, pr)
        .into_iter()
        .filter(|c| c.author == BOT && !c.body.contains("<!-- cc-ci"))
        .map(|c| c.body)
        .collect()
}

async fn wait_for_reply(standin: &Standin, repo: &RepoName, pr: u64, fragment: &str) -> String {
    eventually(
        &format!("the PR is told: {fragment}"),
        Duration::from_secs(20),
        || async {
            replies(standin, repo, pr)
                .iter()
                .any(|r| r.contains(fragment))
        },
    )
    .await;
    replies(standin, repo, pr)
        .into_iter()
        .find(|r| r.contains(fragment))
        .unwrap_or_default()
}

async fn post(server: &Server, delivery: WebhookDelivery) -> u16 {
    let mut request = reqwest::Client::new().post(format!("{}/webhook/gitea", server.url));
    for (name, value) in &delivery.headers {
        request = request.header(*name, value);
    }
    let response = request.body(delivery.body).send().await.unwrap();
    response.status().as_u16()
}

/// Polled: a push after the `!testme` is not tested and the PR is told to comment again;
/// on another PR, a push before the comment (the harmless look-alike) is tested.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_push_after_the_testme_is_not_tested_and_a_push_before_it_is() {
    let dir = tempfile::tempdir().unwrap();
    let (standin, repos) = standin(&["pushy"]).await;
    let repo = &repos[0];
    let db = sqlite_url(dir.path());
    let store = open(&db).await;
    poll_from_an_hour_ago(&store).await;

    // PR 1: approved at A, then B is pushed.
    let after = standin.open_pull(repo, "after", A);
    standin.add_comment_at(repo, after, "alice", "!testme", ago(20));
    standin.push_head_at(repo, after, B, ago(10));
    // PR 2: C pushed, then approved.
    let before = standin.open_pull(repo, "before", A);
    standin.push_head_at(repo, before, C, ago(30));
    standin.add_comment_at(repo, before, "alice", "!testme", ago(20));

    let exec = ScriptedExecutor::with(&[("pushy", Script::Pass(Duration::from_millis(200)))]);
    let server = Server::start(
        config(dir.path(), &db, &standin.base_url(), &["pushy"], 1, "h1"),
        Arc::new(Shared(exec.clone())),
    )
    .await;
    let reply = wait_for_reply(&standin, repo, after, "moved after this `!testme`").await;
    assert!(reply.contains("comment `!testme` again"), "{reply}");
    eventually("PR 2's run finishes", Duration::from_secs(20), || async {
        jobs_in(&store, JobState::Done).await.len() == 1
    })
    .await;
    let job = jobs_in(&store, JobState::Done).await.remove(0);
    assert_eq!(
        (job.request.pr_number, job.request.head_sha.as_str()),
        (Some(before as i64), C)
    );
    assert_eq!(exec.started().len(), 1, "PR 1 never ran");
    wait_reported(&standin, repo, C, "success", None).await;
    for sha in [A, B] {
        assert!(
            standin.statuses(repo, sha).is_empty(),
            "nothing reported on {sha}"
        );
    }
    assert_eq!(replies(&standin, repo, after).len(), 1, "told once");
    server.stop().await;
}

/// The webhook decides as the poller does: a delivery of a `!testme` made before a push
/// queues nothing; one made after the head settled is tested.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn by_webhook_a_push_after_the_testme_is_not_tested_either() {
    let dir = tempfile::tempdir().unwrap();
    let (standin, repos) = standin(&["hooked"]).await;
    let repo = &repos[0];
    let db = sqlite_url(dir.path());
    let store = open(&db).await;
    let mut config = config(dir.path(), &db, &standin.base_url(), &["hooked"], 1, "h1");
    config.forge.as_mut().unwrap().poll = false; // only deliveries can queue
    let exec = ScriptedExecutor::with(&[("hooked", Script::Pass(Duration::from_millis(200)))]);
    let server = Server::start(config, Arc::new(Shared(exec.clone()))).await;

    let pr = standin.open_pull(repo, "hook", A);
    let comment = standin.add_comment(repo, pr, "alice", "!testme");
    // Gitea builds the delivery when the comment is made; the push lands before it arrives.
    let delivery = standin.issue_comment_delivery(comment, &secret()).unwrap();
    standin.push_head(repo, pr, B);
    assert_eq!(post(&server, delivery).await, 202);
    wait_for_reply(&standin, repo, pr, "moved after this `!testme`").await;
    assert!(jobs_in(&store, JobState::Queued).await.is_empty());
    assert!(exec.started().is_empty(), "nothing ran");

    // A new `!testme` on the new head is tested.
    let again = standin.add_comment(repo, pr, "alice", "!testme");
    let delivery = standin.issue_comment_delivery(again, &secret()).unwrap();
    assert_eq!(post(&server, delivery).await, 202);
    eventually("the new head runs", Duration::from_secs(20), || async {
        jobs_in(&store, JobState::Done).await.len() == 1
    })
    .await;
    assert_eq!(jobs_in(&store, JobState::Done).await[0].request.head_sha, B);
    server.stop().await;
}

/// `--sha` names the commit: it is tested (the job, the run and the statuses use it), and
/// a later head does not supersede it; a commit not of the PR is refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_testme_naming_a_sha_tests_that_commit() {
    let dir = tempfile::tempdir().unwrap();
    let (standin, repos) = standin(&["named"]).await;
    let repo = &repos[0];
    let db = sqlite_url(dir.path());
    let store = open(&db).await;
    poll_from_an_hour_ago(&store).await;
    let pr = standin.open_pull(repo, "named", A);
    standin.push_head_at(repo, pr, B, ago(40));
    standin.push_head_at(repo, pr, C, ago(30));
    standin.add_comment_at(repo, pr, "alice", "!testme --sha B2B2B2B2", ago(20));

    let exec = ScriptedExecutor::with(&[("named", Script::Pass(Duration::from_millis(200)))]);
    let server = Server::start(
        config(dir.path(), &db, &standin.base_url(), &["named"], 1, "h1"),
        Arc::new(Shared(exec.clone())),
    )
    .await;
    eventually(
        "the named commit's run finishes",
        Duration::from_secs(20),
        || async { jobs_in(&store, JobState::Done).await.len() == 1 },
    )
    .await;
    let job = jobs_in(&store, JobState::Done).await.remove(0);
    assert_eq!(job.request.head_sha, B, "the whole id of the named commit");
    assert!(job.request.flags.pinned);
    eventually("its final status", Duration::from_secs(10), || async {
        standin
            .statuses(repo, B)
            .last()
            .is_some_and(|s| s.state == "success" && s.context == "cc-ci")
    })
    .await;
    assert!(
        standin.statuses(repo, C).is_empty(),
        "the head was not reported on"
    );
    let run_log = std::fs::read_to_string(
        dir.path()
            .join("runs")
            .join(job.id.to_string())
            .join("results.json"),
    )
    .unwrap();
    assert!(run_log.contains(B), "the run was asked for {B}: {run_log}");

    standin.add_comment(repo, pr, "alice", "!testme --sha ddddddd");
    let reply = wait_for_reply(&standin, repo, pr, "`--sha ddddddd`").await;
    assert!(
        reply.contains("is not a commit of this pull request"),
        "{reply}"
    );
    assert_eq!(exec.started().len(), 1);
    server.stop().await;
}

/// docs/behaviour.md §2/§6: a `--stages lint` run on a commit whose full run failed leaves the
/// gating status `failure` and reports under `cc-ci/stages`, saying so in its comment.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stages_run_never_overwrites_the_gating_status() {
    let dir = tempfile::tempdir().unwrap();
    let (standin, repos) = standin(&["gated"]).await;
    let repo = &repos[0];
    let db = sqlite_url(dir.path());
    let store = open(&db).await;
    poll_from_an_hour_ago(&store).await;
    let pr = standin.open_pull(repo, "gated", A);
    // A full cold run went RED on A.
    let forge = GiteaClient::new(
        &standin.base_url(),
        Secret::new(BOT_TOKEN),
        Duration::from_secs(5),
    )
    .unwrap();
    let red = StatusUpdate {
        state: StatusState::Failure,
        context: "cc-ci".into(),
        description: "red — level L1 of L4".into(),
        target_url: "http://ci.test/runs/1".into(),
    };
    forge.set_status(repo, A, &red).await.unwrap();

    let exec = ScriptedExecutor::with(&[("gated", Script::Pass(Duration::from_millis(200)))]);
    let server = Server::start(
        config(dir.path(), &db, &standin.base_url(), &["gated"], 1, "h1"),
        Arc::new(Shared(exec.clone())),
    )
    .await;
    standin.add_comment(repo, pr, "alice", "!testme --stages lint");
    eventually(
        "the lint run's final status",
        Duration::from_secs(20),
        || async {
            standin
                .statuses(repo, A)
                .iter()
                .any(|s| s.context == "cc-ci/stages" && s.state == "success")
        },
    )
    .await;
    let statuses = standin.statuses(repo, A);
    let gating: Vec<_> = statuses.iter().filter(|s| s.context == "cc-ci").collect();
    assert_eq!(gating.len(), 1, "only the full run's status: {statuses:#?}");
    assert_eq!(gating[0].state, "failure");
    let sticky = standin
        .comments(repo, pr)
        .into_iter()
        .find(|c| c.author == BOT)
        .unwrap();
    assert!(
        sticky.body.contains("Partial run (`--stages lint`)")
            && sticky
                .body
                .contains("`cc-ci/stages`, which does not gate the merge"),
        "{}",
        sticky.body
    );
    assert_eq!(jobs_in(&store, JobState::Done).await.len(), 1);
    server.stop().await;
}
