//! Endings that are not verdicts: a run a person cancels (`!testme cancel`, the operator's
//! Cancel) is "cancelled", and a run cc-ci itself failed is "cc-ci error" after one retry —
//! never RED, never a `failure` status.

use crate::harness::*;
use crate::support::{new_job, open, store_urls, unique};
use crate::swarm::{recipe_repo, sqlite_store, swarm_config, wait_for_job};
use ccci_core::run_end::RunEnd;
use ccci_service::executor::RunnerExecutor;
use ccci_service::job::{JobState, Outcome};
use ccci_service::store::{Cancelled, Enqueued, Heartbeat};
use ccci_testkit::swarm_ready;
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

fn queued_id(e: Enqueued) -> i64 {
    match e {
        Enqueued::Queued { id, .. } => id,
        other => panic!("not queued: {other:?}"),
    }
}

/// The shared store carries a cancel to whichever host runs the job: host A holds the job,
/// host B (its own connection) asks to cancel, A's next heartbeat reads it. A queued job
/// cancelled ends at once and is never claimed. cc-ci errors are counted.
#[tokio::test]
async fn a_cancel_in_the_shared_store_reaches_the_host_running_the_job() {
    let dir = tempfile::tempdir().unwrap();
    for url in store_urls(dir.path()).await {
        let host_a = open(&url).await;
        let host_b = open(&url).await;
        let running = queued_id(
            host_a
                .enqueue(&new_job("x", Some(1), "a1", None), 1)
                .await
                .unwrap(),
        );
        let queued = queued_id(
            host_a
                .enqueue(&new_job("x", Some(2), "a2", None), 2)
                .await
                .unwrap(),
        );
        let claimed = host_a.claim("a", 1, 60_000, 10).await.unwrap().unwrap();
        assert_eq!(claimed.id, running, "{url}");

        let held = host_a.heartbeat(running, "a", 60_000).await.unwrap();
        assert_eq!(
            held,
            Heartbeat::Held {
                cancel_requested_by: None
            },
            "{url}"
        );
        assert_eq!(
            host_b.cancel(running, "@alice", 20).await.unwrap(),
            Cancelled::Requested
        );
        assert_eq!(
            host_a.heartbeat(running, "a", 60_000).await.unwrap(),
            Heartbeat::Held {
                cancel_requested_by: Some("@alice".into())
            },
            "{url}"
        );
        // Asked once: a second cancel changes nothing.
        assert_eq!(
            host_b.cancel(running, "@bob", 21).await.unwrap(),
            Cancelled::NotActive
        );

        assert_eq!(
            host_b.cancel(queued, "an operator", 22).await.unwrap(),
            Cancelled::BeforeStart
        );
        let job = host_a.job(queued).await.unwrap().unwrap();
        assert_eq!(
            (job.state, job.end),
            (JobState::Done, Some(RunEnd::Cancelled)),
            "{url}"
        );
        assert_eq!(job.cancel_requested_by.as_deref(), Some("an operator"));
        assert_eq!(job.started_at, None, "never started");

        // The running job ends cancelled; the queue is empty (the cancelled one never runs).
        let outcome = Outcome {
            end: RunEnd::Cancelled,
            level: 0,
            note: None,
        };
        assert!(host_a.finish(running, "a", &outcome, 30).await.unwrap());
        assert!(
            host_a.claim("a", 1, 60_000, 40).await.unwrap().is_none(),
            "{url}"
        );

        // cc-ci's own error: one retry back to the queue, then `error`; both counted.
        let failing = queued_id(
            host_a
                .enqueue(&new_job("y", Some(3), "b1", None), 50)
                .await
                .unwrap(),
        );
        host_a.claim("a", 1, 60_000, 51).await.unwrap().unwrap();
        assert!(host_a
            .retry_after_ccci_error(failing, "a", "cc-ci error")
            .await
            .unwrap());
        let again = host_b.claim("b", 1, 60_000, 52).await.unwrap().unwrap();
        assert_eq!((again.id, again.ccci_errors), (failing, 1), "{url}");
        let error = Outcome {
            end: RunEnd::Error,
            level: 0,
            note: Some("forwarder".into()),
        };
        assert!(host_b.finish(failing, "b", &error, 53).await.unwrap());
        let job = host_a.job(failing).await.unwrap().unwrap();
        assert_eq!(
            (job.end, job.ccci_errors),
            (Some(RunEnd::Error), 2),
            "{url}"
        );
        let counts = host_a.ended_counts("b").await.unwrap();
        assert_eq!((counts.error, counts.red), (1, 0), "{url}");
    }
}

/// `!testme cancel` by a writer: the queued job of that PR never runs; the running one is
/// stopped and reported cancelled (status `warning`, never `failure`). A reader's is refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn standin_testme_cancel_cancels_a_queued_job_before_it_runs_and_a_running_one() {
    let dir = tempfile::tempdir().unwrap();
    let (standin, repos) = standin(&["wedged", "later"]).await;
    let db = format!(
        "sqlite:{}",
        dir.path().join(format!("{}.db", unique("c"))).display()
    );
    let store = open(&db).await;
    poll_from_an_hour_ago(&store).await;
    let exec = ScriptedExecutor::with(&[("wedged", Script::Wedge), ("later", Script::Wedge)]);
    let config = config(
        dir.path(),
        &db,
        &standin.base_url(),
        &["wedged", "later"],
        1,
        "ci-1",
    );
    let server = Server::start(config, Arc::new(Shared(exec.clone()))).await;

    let running_pr = standin.open_pull(&repos[0], "a", "aaaaaaaaaa11");
    standin.add_comment(&repos[0], running_pr, "alice", "!testme");
    eventually("the first run starts", Duration::from_secs(20), || async {
        jobs_in(&store, JobState::Running).await.len() == 1
    })
    .await;
    let later_pr = standin.open_pull(&repos[1], "b", "bbbbbbbbbb22");
    standin.add_comment(&repos[1], later_pr, "alice", "!testme");
    eventually("the second waits", Duration::from_secs(20), || async {
        jobs_in(&store, JobState::Queued).await.len() == 1
    })
    .await;

    standin.add_comment(&repos[1], later_pr, "mallory", "!testme cancel");
    standin.add_comment(&repos[1], later_pr, "alice", "!testme cancel");
    eventually(
        "the queued job is cancelled",
        Duration::from_secs(20),
        || async { jobs_in(&store, JobState::Queued).await.is_empty() },
    )
    .await;
    let later = store
        .jobs(&Default::default())
        .await
        .unwrap()
        .into_iter()
        .find(|j| j.request.recipe == "later")
        .unwrap();
    assert_eq!(
        (later.state, later.end),
        (JobState::Done, Some(RunEnd::Cancelled))
    );
    assert_eq!(later.cancel_requested_by.as_deref(), Some("@alice"));
    // The store records the cancel before the reporter comments.
    eventually(
        "the cancel is reported",
        Duration::from_secs(10),
        || async {
            standin
                .comments(&repos[1], later_pr)
                .iter()
                .any(|c| c.author == BOT && c.body.contains("cancelled before it started"))
        },
    )
    .await;
    let later_comments = standin.comments(&repos[1], later_pr);
    assert!(
        later_comments.iter().any(|c| c.author == BOT
            && c.body
                .contains("cancelled before it started: cancelled by @alice")),
        "{later_comments:#?}"
    );
    assert!(later_comments
        .iter()
        .any(|c| c.author == BOT && c.body.contains("Sorry @mallory")));
    assert_eq!(
        standin
            .statuses(&repos[1], "bbbbbbbbbb22")
            .last()
            .unwrap()
            .state,
        "warning"
    );

    standin.add_comment(&repos[0], running_pr, "alice", "!testme cancel");
    eventually(
        "the running job is cancelled",
        Duration::from_secs(30),
        || async { jobs_in(&store, JobState::Done).await.len() == 2 },
    )
    .await;
    let first = jobs_in(&store, JobState::Done)
        .await
        .into_iter()
        .find(|j| j.request.recipe == "wedged")
        .unwrap();
    assert_eq!(first.end, Some(RunEnd::Cancelled), "{first:#?}");
    let torn_down = "was cancelled and torn down: cancelled by @alice";
    let comment = Some((running_pr, torn_down));
    wait_reported(&standin, &repos[0], "aaaaaaaaaa11", "warning", comment).await;
    for sha in ["aaaaaaaaaa11", "bbbbbbbbbb22"] {
        let repo = if sha.starts_with('a') {
            &repos[0]
        } else {
            &repos[1]
        };
        assert!(standin
            .statuses(repo, sha)
            .iter()
            .all(|s| s.state != "failure"));
    }
    assert_eq!(
        exec.started(),
        vec![first.id.to_string()],
        "the queued job never ran"
    );
    // Not failures: /metrics counts them apart.
    let metrics = page_text(&format!("{}/metrics", server.url)).await;
    assert!(
        metrics.contains("ccci_runs_total{verdict=\"cancelled\"} 1"),
        "{metrics}"
    );
    assert!(
        !metrics.contains("ccci_runs_total{verdict=\"red\"} 1"),
        "{metrics}"
    );
    server.stop().await;
}

/// A real runner error that is cc-ci's (its run directory cannot be made): retried once,
/// then `error` — not red — with a comment saying cc-ci failed, the evidence, and the
/// operator's alert.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn standin_a_runner_error_is_retried_once_then_reported_as_a_cc_ci_error() {
    let dir = tempfile::tempdir().unwrap();
    let (standin, repos) = standin(&["broken-host"]).await;
    let (db, store) = sqlite_store(dir.path()).await;
    let config = config(
        dir.path(),
        &db,
        &standin.base_url(),
        &["broken-host"],
        1,
        "ci-1",
    );
    // The first run's directory cannot be made (a file is in its place): the run fails
    // before it starts, cc-ci's fault, not the recipe's.
    std::fs::create_dir_all(&config.runs_dir).unwrap();
    std::fs::write(config.runs_dir.join("1"), "").unwrap();
    let state = config.rig.state_dir.clone();
    let server = Server::start(config, Arc::new(RunnerExecutor)).await;

    let pr = standin.open_pull(&repos[0], "x", "cccccccccc33");
    standin.add_comment(&repos[0], pr, "alice", "!testme");
    eventually(
        "the job ends after its retry",
        Duration::from_secs(60),
        || async { jobs_in(&store, JobState::Done).await.len() == 1 },
    )
    .await;
    let job = jobs_in(&store, JobState::Done).await.remove(0);
    assert_eq!(
        (job.end, job.ccci_errors),
        (Some(RunEnd::Error), 2),
        "{job:#?}"
    );
    wait_reported(&standin, &repos[0], "cccccccccc33", "error", None).await;
    let statuses = standin.statuses(&repos[0], "cccccccccc33");
    assert!(
        statuses.iter().all(|s| s.state != "failure"),
        "{statuses:#?}"
    );
    assert!(
        statuses
            .iter()
            .any(|s| s.description.contains("retrying once")),
        "{statuses:#?}"
    );
    // The reporter sets the status first and then edits the sticky comment.
    eventually("the comment is final", Duration::from_secs(10), || async {
        standin
            .comments(&repos[0], pr)
            .iter()
            .any(|c| c.author == BOT && c.body.contains("cc-ci error"))
    })
    .await;
    let comments = standin.comments(&repos[0], pr);
    let bot = comments
        .iter()
        .find(|c| c.author == BOT)
        .expect("a sticky comment");
    for words in [
        "cc-ci failed, not the recipe",
        "File exists",
        "An operator has been alerted",
    ] {
        assert!(bot.body.contains(words), "{words:?} in {}", bot.body);
    }
    let alerts = ccci_adapters::alerts::pending(&state);
    assert!(
        alerts
            .iter()
            .any(|a| a.kind == "ccci-error" && a.message.contains(&format!("run {}", job.id))),
        "{alerts:#?}"
    );
    server.stop().await;
}

/// Docker objects of `stack` still on the engine (services, containers, networks, volumes,
/// secrets), by the stack label.
fn left_on_engine(stack: &str) -> Vec<String> {
    let label = format!("label=com.docker.stack.namespace={stack}");
    let mut left = Vec::new();
    for kind in [
        vec!["service", "ls", "-q"],
        vec!["ps", "-aq"],
        vec!["network", "ls", "-q"],
        vec!["volume", "ls", "-q"],
        vec!["secret", "ls", "-q"],
    ] {
        let out = Command::new("docker")
            .args(&kind)
            .args(["--filter", &label])
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        left.extend(
            text.lines()
                .filter(|l| !l.trim().is_empty())
                .map(|l| format!("{} {l}", kind[0])),
        );
    }
    left
}

/// The stacks on the engine under `suffix` (the test's own CI domain).
fn stacks_under(suffix: &str) -> Vec<String> {
    let out = Command::new("docker")
        .args(["service", "ls", "--format", "{{.Name}}"])
        .output()
        .unwrap();
    let marker = format!("{suffix}_");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|name| {
            name.find(&marker)
                .map(|i| name[..i + suffix.len()].to_string())
        })
        .collect()
}

/// `!testme cancel` while the real runner has the app deployed on the swarm: the run tears
/// everything down and ends "cancelled" — job, results.json, status and comment.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn standin_testme_cancel_on_a_running_swarm_run_tears_it_down_and_reports_cancelled() {
    if !swarm_ready() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (repo_path, sha) = recipe_repo(dir.path(), "fixture-static", "fixture-static", |_| {});
    let (standin, repos) = standin(&["fixture-static"]).await;
    let (db, store) = sqlite_store(dir.path()).await;
    let mut config = swarm_config(
        dir.path(),
        &db,
        &standin.base_url(),
        &[("fixture-static", &repo_path)],
        1,
    );
    // A CI domain of this test alone, so its stack is told from other runs on the swarm.
    let domain = format!("k{}.test", std::process::id());
    config.rig.ci_domain = domain.clone();
    let suffix = format!("_{}", domain.replace('.', "_"));
    let runs_dir = config.runs_dir.clone();
    let server = Server::start(config, Arc::new(RunnerExecutor)).await;

    let pr = standin.open_pull(&repos[0], "change", &sha);
    standin.add_comment(&repos[0], pr, "alice", "!testme");
    eventually("the app is deployed", Duration::from_secs(240), || async {
        !stacks_under(&suffix).is_empty()
    })
    .await;
    let stack = stacks_under(&suffix).remove(0);
    standin.add_comment(&repos[0], pr, "alice", "!testme cancel");
    let id = jobs_in(&store, JobState::Running)
        .await
        .first()
        .map(|j| j.id)
        .expect("running");
    wait_for_job(&store, id, "the run is cancelled and torn down", 240, |j| {
        j.state == JobState::Done
    })
    .await;

    let job = store.job(id).await.unwrap().unwrap();
    assert_eq!(job.end, Some(RunEnd::Cancelled), "{job:#?}");
    let results: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(runs_dir.join(id.to_string()).join("results.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(results["verdict"], "cancelled", "{results:#}");
    assert_eq!(results["stack"], stack.as_str());
    assert_eq!(results["flags"]["clean_teardown"], true, "{results:#}");
    assert_eq!(
        left_on_engine(&stack),
        Vec::<String>::new(),
        "nothing left of {stack}"
    );
    let comment = Some((pr, "cancelled by @alice"));
    wait_reported(&standin, &repos[0], &sha, "warning", comment).await;
    assert!(standin
        .statuses(&repos[0], &sha)
        .iter()
        .all(|s| s.state != "failure"));
    server.stop().await;
}

/// An operator opens a running run's page in a real browser, types the operator token and
/// presses Cancel: the run is cancelled and the page then shows "cancelled" (no Cancel
/// button any more). A wrong token is refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browser_an_operator_presses_cancel_on_a_running_run_and_the_page_shows_cancelled() {
    let Some(chromium) = crate::browser::chromium() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let db = format!(
        "sqlite:{}",
        dir.path().join(format!("{}.db", unique("b"))).display()
    );
    let store = open(&db).await;
    let exec = ScriptedExecutor::with(&[("wedged", Script::Wedge)]);
    let (standin, _) = standin(&[]).await;
    let mut config = config(dir.path(), &db, &standin.base_url(), &["unused"], 1, "ci-1");
    config.forge = None;
    config.webhook = None;
    config.operator_token = Some(ccci_core::secret::Secret::new("operator-token-0123456789"));
    let server = Server::start(config, Arc::new(Shared(exec.clone()))).await;
    let id = queued_id(
        store
            .enqueue(&new_job("wedged", Some(4), "dddddddddd44", None), 1)
            .await
            .unwrap(),
    );
    eventually("the run starts", Duration::from_secs(15), || async {
        store
            .job(id)
            .await
            .unwrap()
            .is_some_and(|j| j.state == JobState::Running)
    })
    .await;

    let mut browser = crate::cdp::Browser::launch(&chromium).await;
    let page = format!("{}/runs/{id}", server.url);
    browser.open(&page).await;
    assert_eq!(
        browser
            .eval("document.querySelector('h1 .pill').textContent")
            .await,
        "running"
    );
    // A wrong token: refused, the run goes on.
    browser
        .eval("document.querySelector('form.cancel input[name=token]').value = 'guess'; document.querySelector('form.cancel button').click(); true")
        .await;
    browser.wait_until("document.readyState === 'complete' && document.body.innerText.includes('operator token')").await;
    assert_eq!(
        store.job(id).await.unwrap().unwrap().state,
        JobState::Running
    );

    browser.open(&page).await;
    browser
        .eval("document.querySelector('form.cancel input[name=token]').value = 'operator-token-0123456789'; document.querySelector('form.cancel button').click(); true")
        .await;
    let mut shown = serde_json::Value::Null;
    for _ in 0..30 {
        tokio::time::sleep(Duration::from_millis(500)).await;
        browser.open(&page).await;
        shown = browser
            .eval("document.querySelector('h1 .pill').textContent")
            .await;
        if shown == "cancelled" {
            break;
        }
    }
    assert_eq!(shown, "cancelled", "the run page after Cancel");
    assert_eq!(
        browser
            .eval("document.querySelector('form.cancel') === null")
            .await,
        true
    );
    assert!(browser
        .eval("document.body.innerText")
        .await
        .as_str()
        .unwrap()
        .contains("cancelled by an operator"));
    let job = store.job(id).await.unwrap().unwrap();
    assert_eq!(
        (job.state, job.end),
        (JobState::Done, Some(RunEnd::Cancelled))
    );
    // The run list shows it cancelled too.
    browser.open(&server.url).await;
    assert!(browser
        .eval("document.body.innerText")
        .await
        .as_str()
        .unwrap()
        .contains("cancelled"));
    server.stop().await;
}
