//! `ccci serve` end to end against the Gitea stand-in, with the scripted executor: forge
//! plumbing, dedupe across restarts, webhook, trust, fairness, several hosts, shutdown.
//! (The real-swarm runs are in `swarm.rs`.)

use crate::harness::*;
use crate::support::{fresh_pg_database, open, pg_url, unique};
use ccci_core::run_end::RunEnd;
use ccci_forge::gitea_standin::Standin;
use ccci_service::job::{JobFilter, JobState};
use std::sync::Arc;
use std::time::Duration;

fn sqlite_url(dir: &std::path::Path) -> String {
    format!(
        "sqlite:{}",
        dir.join(format!("{}.db", unique("serve"))).display()
    )
}

async fn count_jobs(store: &ccci_service::store::Store) -> usize {
    store
        .jobs(&JobFilter {
            limit: Some(1000),
            ..JobFilter::default()
        })
        .await
        .unwrap()
        .len()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_testme_comment_runs_and_reports_status_and_one_sticky_comment() {
    let dir = tempfile::tempdir().unwrap();
    let (standin, repos) = standin(&["keycloak"]).await;
    let repo = &repos[0];
    let db = sqlite_url(dir.path());
    let store = open(&db).await;
    poll_from_an_hour_ago(&store).await;
    let exec = ScriptedExecutor::with(&[("keycloak", Script::Pass(Duration::from_millis(1500)))]);
    let server = Server::start(
        config(dir.path(), &db, &standin.base_url(), &["keycloak"], 1, "h1"),
        Arc::new(Shared(exec.clone())),
    )
    .await;

    let pr = standin.open_pull(repo, "fix-thing", "aaaa1111");
    standin.add_comment(
        repo,
        pr,
        "alice",
        "Looks good.\n!testme --stages install,upgrade",
    );

    eventually(
        "the run is queued and running",
        Duration::from_secs(15),
        || async {
            !jobs_in(&store, JobState::Running).await.is_empty()
                || !jobs_in(&store, JobState::Done).await.is_empty()
        },
    )
    .await;
    eventually("the run finishes", Duration::from_secs(20), || async {
        jobs_in(&store, JobState::Done).await.len() == 1
    })
    .await;
    let job = jobs_in(&store, JobState::Done).await.remove(0);
    assert_eq!(job.request.head_sha, "aaaa1111");
    assert_eq!(job.request.flags.describe(), "--stages install,upgrade");
    assert_eq!(job.request.requested_by.as_deref(), Some("alice"));

    let card_link = format!("http://ci.test/runs/{}/files/card.png", job.id);
    wait_reported(
        &standin,
        repo,
        "aaaa1111",
        "success",
        Some((pr, &card_link)),
    )
    .await;
    let statuses = standin.statuses(repo, "aaaa1111");
    assert_eq!(
        statuses.first().map(|s| s.state.as_str()),
        Some("pending"),
        "pending first: {statuses:?}"
    );
    assert!(statuses
        .iter()
        .all(|s| s.target_url == format!("http://ci.test/runs/{}", job.id)));
    // A run limited with `--stages` never reports under the gating context.
    assert!(statuses.iter().all(|s| s.context == "cc-ci/stages"));

    // One sticky comment by the bot, edited through queued → running → result.
    let comments = standin.comments(repo, pr);
    let bot: Vec<_> = comments.iter().filter(|c| c.author == BOT).collect();
    assert_eq!(bot.len(), 1, "exactly one bot comment: {comments:#?}");
    let body = &bot[0].body;
    assert!(
        body.contains(&format!("http://ci.test/runs/{}/files/card.png", job.id)),
        "card image in {body}"
    );
    assert!(
        body.contains(&format!("http://ci.test/runs/{}", job.id)),
        "run link in {body}"
    );
    let edits: Vec<_> = standin
        .edits()
        .into_iter()
        .filter(|e| e.comment_id == bot[0].id)
        .collect();
    assert!(
        !edits.is_empty(),
        "the sticky comment was edited, not re-posted"
    );
    assert!(
        edits.iter().any(|e| e.new_body.contains("running")),
        "{edits:#?}"
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restarting_serve_mid_polling_repeats_no_comment_and_loses_none() {
    let dir = tempfile::tempdir().unwrap();
    let (standin, repos) = standin(&["n8n"]).await;
    let repo = &repos[0];
    let db = sqlite_url(dir.path());
    let store = open(&db).await;
    poll_from_an_hour_ago(&store).await;
    let exec = ScriptedExecutor::with(&[]);
    let pr = standin.open_pull(repo, "b", "bbbb2222");

    let first = Server::start(
        config(dir.path(), &db, &standin.base_url(), &["n8n"], 1, "h1"),
        Arc::new(Shared(exec.clone())),
    )
    .await;
    standin.add_comment(repo, pr, "alice", "!testme");
    eventually(
        "the first comment is queued",
        Duration::from_secs(15),
        || async { count_jobs(&store).await == 1 },
    )
    .await;
    first.stop().await;

    // While the service is down: one new trigger and one ordinary comment.
    standin.add_comment(repo, pr, "alice", "!testme --quick");
    standin.add_comment(repo, pr, "bob", "nice");

    let second = Server::start(
        config(dir.path(), &db, &standin.base_url(), &["n8n"], 1, "h1"),
        Arc::new(Shared(exec.clone())),
    )
    .await;
    eventually(
        "the comment made while down is queued",
        Duration::from_secs(15),
        || async { count_jobs(&store).await == 2 },
    )
    .await;
    // Several more polls: nothing repeats.
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(
        count_jobs(&store).await,
        2,
        "a comment was repeated or lost"
    );
    let jobs = store.jobs(&JobFilter::default()).await.unwrap();
    assert!(
        jobs[0].request.flags.quick && !jobs[1].request.flags.quick,
        "{jobs:#?}"
    );
    second.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_webhook_signature_gets_401_and_a_replayed_delivery_is_ignored() {
    let dir = tempfile::tempdir().unwrap();
    let (standin, repos) = standin(&["traefik"]).await;
    let repo = &repos[0];
    let db = sqlite_url(dir.path());
    let store = open(&db).await;
    let mut config = config(dir.path(), &db, &standin.base_url(), &["traefik"], 1, "h1");
    // Webhook only: polling off, so only deliveries can queue.
    config.forge.as_mut().unwrap().poll = false;
    let server = Server::start(config, Arc::new(Shared(ScriptedExecutor::with(&[])))).await;
    let pr = standin.open_pull(repo, "b", "cccc3333");
    let comment = standin.add_comment(repo, pr, "alice", "!testme");
    let client = reqwest::Client::new();
    let post = |delivery: ccci_forge::gitea_standin::WebhookDelivery, tamper: bool| {
        let client = client.clone();
        let url = format!("{}/webhook/gitea", server.url);
        async move {
            let mut request = client.post(url);
            for (name, value) in &delivery.headers {
                let value = if tamper && *name == ccci_forge::webhook::SIGNATURE_HEADER {
                    "0".repeat(64)
                } else {
                    value.clone()
                };
                request = request.header(*name, value);
            }
            request
                .body(delivery.body)
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    let forged = standin
        .issue_comment_delivery(comment, &ccci_core::secret::Secret::new("wrong-secret"))
        .unwrap();
    assert_eq!(post(forged, false).await, 401);
    let tampered = standin.issue_comment_delivery(comment, &secret()).unwrap();
    assert_eq!(post(tampered, true).await, 401);
    assert_eq!(
        count_jobs(&store).await,
        0,
        "a bad signature queued something"
    );

    let good = standin.issue_comment_delivery(comment, &secret()).unwrap();
    assert_eq!(post(good.clone(), false).await, 202);
    assert_eq!(count_jobs(&store).await, 1);
    assert_eq!(post(good, false).await, 200, "a replay is acknowledged");
    assert_eq!(count_jobs(&store).await, 1, "a replay queued again");
    // A redelivery under a new delivery id of the same comment is still one run.
    let again = standin.issue_comment_delivery(comment, &secret()).unwrap();
    assert_eq!(post(again, false).await, 202);
    assert_eq!(count_jobs(&store).await, 1);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_untrusted_testme_runs_nothing_and_is_refused_once() {
    let dir = tempfile::tempdir().unwrap();
    let (standin, repos) = standin(&["gitea"]).await;
    let repo = &repos[0];
    let db = sqlite_url(dir.path());
    let store = open(&db).await;
    poll_from_an_hour_ago(&store).await;
    let server = Server::start(
        config(dir.path(), &db, &standin.base_url(), &["gitea"], 1, "h1"),
        Arc::new(Shared(ScriptedExecutor::with(&[]))),
    )
    .await;
    let pr = standin.open_pull(repo, "b", "dddd4444");
    standin.add_comment(repo, pr, "mallory", "!testme");
    standin.add_comment(repo, pr, "stranger", "!testme --quick");
    eventually("a refusal is posted", Duration::from_secs(15), || async {
        standin.comments(repo, pr).iter().any(|c| c.author == BOT)
    })
    .await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let refusals: Vec<_> = standin
        .comments(repo, pr)
        .into_iter()
        .filter(|c| c.author == BOT)
        .collect();
    assert_eq!(refusals.len(), 1, "one refusal per PR: {refusals:#?}");
    assert!(refusals[0].body.contains("write access"));
    assert_eq!(
        count_jobs(&store).await,
        0,
        "an untrusted comment queued a run"
    );
    assert!(standin.statuses(repo, "dddd4444").is_empty());
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wedged_recipe_never_blocks_the_next_recipe_and_waits_are_explained() {
    let dir = tempfile::tempdir().unwrap();
    let (standin, repos) = standin(&["wedged", "fine"]).await;
    let db = sqlite_url(dir.path());
    let store = open(&db).await;
    poll_from_an_hour_ago(&store).await;
    let exec = ScriptedExecutor::with(&[
        ("wedged", Script::Wedge),
        ("fine", Script::Pass(Duration::from_millis(300))),
    ]);
    let server = Server::start(
        config(
            dir.path(),
            &db,
            &standin.base_url(),
            &["wedged", "fine"],
            2,
            "h1",
        ),
        Arc::new(Shared(exec.clone())),
    )
    .await;
    let pr_a = standin.open_pull(&repos[0], "a", "eeee0001");
    let pr_b = standin.open_pull(&repos[0], "b", "eeee0002");
    standin.add_comment(&repos[0], pr_a, "alice", "!testme");
    eventually("the wedged run starts", Duration::from_secs(15), || async {
        exec.started().len() == 1
    })
    .await;
    standin.add_comment(&repos[0], pr_b, "alice", "!testme");
    eventually(
        "the second wedged job is queued",
        Duration::from_secs(15),
        || async { jobs_in(&store, JobState::Queued).await.len() == 1 },
    )
    .await;
    let pr_c = standin.open_pull(&repos[1], "c", "ffff0001");
    standin.add_comment(&repos[1], pr_c, "alice", "!testme");
    // The queued wedged job is skipped, not waited on: `fine` runs and finishes.
    eventually("the other recipe runs", Duration::from_secs(15), || async {
        jobs_in(&store, JobState::Done)
            .await
            .iter()
            .any(|j| j.request.recipe == "fine")
    })
    .await;
    let queued = jobs_in(&store, JobState::Queued).await;
    assert_eq!(queued.len(), 1);
    let running = jobs_in(&store, JobState::Running).await;
    let view = store.queue(ccci_service::job::now_millis()).await.unwrap();
    assert_eq!(
        view.wait_reason(queued[0].id).unwrap().to_string(),
        format!("queued behind run {} (recipe wedged)", running[0].id)
    );
    // The API and the run page say it too.
    let api: serde_json::Value = reqwest::get(format!("{}/api/runs/{}", server.url, queued[0].id))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        api["waiting"]["reason"],
        format!("queued behind run {} (recipe wedged)", running[0].id)
    );
    let page = page_text(&format!("{}/runs/{}", server.url, queued[0].id)).await;
    assert!(page.contains("queued behind run"), "{page}");

    // Graceful shutdown: the wedged run is cancelled after the grace and its job re-queued.
    server.stop().await;
    let after = store.job(running[0].id).await.unwrap().unwrap();
    assert_eq!(
        after.state,
        JobState::Queued,
        "a run cut short by shutdown goes back to the queue"
    );
    assert!(after.host.is_none());
    drop(standin);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_capacity_one_a_queued_job_says_it_waits_for_a_slot() {
    let dir = tempfile::tempdir().unwrap();
    let (standin, repos) = standin(&["slow", "next"]).await;
    let db = sqlite_url(dir.path());
    let store = open(&db).await;
    poll_from_an_hour_ago(&store).await;
    let exec = ScriptedExecutor::with(&[
        ("slow", Script::Pass(Duration::from_secs(4))),
        ("next", Script::Pass(Duration::from_millis(200))),
    ]);
    let server = Server::start(
        config(
            dir.path(),
            &db,
            &standin.base_url(),
            &["slow", "next"],
            1,
            "h1",
        ),
        Arc::new(Shared(exec.clone())),
    )
    .await;
    let a = standin.open_pull(&repos[0], "a", "1111aaaa");
    standin.add_comment(&repos[0], a, "alice", "!testme");
    eventually("slow starts", Duration::from_secs(15), || async {
        exec.started().len() == 1
    })
    .await;
    let b = standin.open_pull(&repos[1], "b", "2222bbbb");
    standin.add_comment(&repos[1], b, "alice", "!testme");
    eventually("next is queued", Duration::from_secs(15), || async {
        jobs_in(&store, JobState::Queued).await.len() == 1
    })
    .await;
    let queued = jobs_in(&store, JobState::Queued).await.remove(0);
    let view = store.queue(ccci_service::job::now_millis()).await.unwrap();
    assert_eq!(
        view.wait_reason(queued.id).unwrap().to_string(),
        "waiting for a free slot: 1 of 1 running"
    );
    // The PR's pending status says so too.
    let statuses = standin.statuses(&repos[1], "2222bbbb");
    assert!(
        statuses
            .iter()
            .any(|s| s.description.contains("waiting for a free slot")),
        "{statuses:#?}"
    );
    eventually(
        "next runs once the slot frees",
        Duration::from_secs(20),
        || async { jobs_in(&store, JobState::Done).await.len() == 2 },
    )
    .await;
    server.stop().await;
}

/// Two `ccci serve` instances (two hosts) share one PostgreSQL queue: every job runs exactly
/// once; a host killed mid-run has its job re-queued when its lease expires, and run again.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_hosts_sharing_postgres_run_each_job_once_and_recover_a_killed_hosts_job() {
    let Some(base) = pg_url() else { return };
    let db = fresh_pg_database(&base).await;
    let dir_a = tempfile::tempdir().unwrap();
    let dir_b = tempfile::tempdir().unwrap();
    let recipes: Vec<String> = (0..6).map(|i| format!("r{i}")).collect();
    let names: Vec<&str> = recipes.iter().map(String::as_str).collect();
    let (standin, repos): (Standin, _) = standin(&names).await;
    let store = open(&db).await;
    poll_from_an_hour_ago(&store).await;
    let scripts: Vec<(&str, Script)> = names
        .iter()
        .map(|r| (*r, Script::Pass(Duration::from_millis(500))))
        .collect();
    let exec_a = ScriptedExecutor::with(&scripts);
    let exec_b = ScriptedExecutor::with(&scripts);
    let a = Server::start(
        config(dir_a.path(), &db, &standin.base_url(), &names, 2, "host-a"),
        Arc::new(Shared(exec_a.clone())),
    )
    .await;
    let b = Server::start(
        config(dir_b.path(), &db, &standin.base_url(), &names, 2, "host-b"),
        Arc::new(Shared(exec_b.clone())),
    )
    .await;
    for (i, repo) in repos.iter().enumerate() {
        let pr = standin.open_pull(repo, "b", &format!("{i:08x}"));
        standin.add_comment(repo, pr, "alice", "!testme");
    }
    eventually("all six jobs finish", Duration::from_secs(40), || async {
        jobs_in(&store, JobState::Done).await.len() == 6
    })
    .await;
    let mut ran: Vec<String> = exec_a.started();
    ran.extend(exec_b.started());
    ran.sort();
    let mut want: Vec<String> = jobs_in(&store, JobState::Done)
        .await
        .iter()
        .map(|j| j.id.to_string())
        .collect();
    want.sort();
    assert_eq!(ran, want, "each job ran exactly once over both hosts");
    assert_eq!(
        count_jobs(&store).await,
        6,
        "both pollers saw every comment; each queued once"
    );

    // Host A dies mid-run (no shutdown, no release); B re-runs its job after the lease.
    let wedge_dir = tempfile::tempdir().unwrap();
    let (standin2, repos2) = crate::harness::standin(&["victim"]).await;
    let db2 = fresh_pg_database(&base).await;
    let store2 = open(&db2).await;
    poll_from_an_hour_ago(&store2).await;
    let exec_dead = ScriptedExecutor::with(&[("victim", Script::Wedge)]);
    let doomed = Server::start(
        config(
            wedge_dir.path(),
            &db2,
            &standin2.base_url(),
            &["victim"],
            1,
            "doomed",
        ),
        Arc::new(Shared(exec_dead.clone())),
    )
    .await;
    let pr = standin2.open_pull(&repos2[0], "b", "deadbeef");
    standin2.add_comment(&repos2[0], pr, "alice", "!testme");
    eventually(
        "the doomed host runs the job",
        Duration::from_secs(15),
        || async { exec_dead.started().len() == 1 },
    )
    .await;
    doomed.kill();
    let exec_survivor =
        ScriptedExecutor::with(&[("victim", Script::Pass(Duration::from_millis(200)))]);
    let survivor_dir = tempfile::tempdir().unwrap();
    let survivor = Server::start(
        config(
            survivor_dir.path(),
            &db2,
            &standin2.base_url(),
            &["victim"],
            1,
            "survivor",
        ),
        Arc::new(Shared(exec_survivor.clone())),
    )
    .await;
    eventually(
        "the survivor re-runs the job after the lease expires",
        Duration::from_secs(30),
        || async { jobs_in(&store2, JobState::Done).await.len() == 1 },
    )
    .await;
    let job = jobs_in(&store2, JobState::Done).await.remove(0);
    assert_eq!(job.host.as_deref(), Some("survivor"));
    assert_eq!(job.attempts, 1, "re-queued once, after the lease expired");
    assert_eq!(exec_survivor.started(), vec![job.id.to_string()]);
    assert_eq!(count_jobs(&store2).await, 1);
    survivor.stop().await;
    a.stop().await;
    b.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_newer_push_supersedes_the_queued_run_and_a_new_testme_coalesces() {
    let dir = tempfile::tempdir().unwrap();
    let (standin, repos) = standin(&["busy"]).await;
    let repo = &repos[0];
    let db = sqlite_url(dir.path());
    let store = open(&db).await;
    poll_from_an_hour_ago(&store).await;
    let exec = ScriptedExecutor::with(&[("busy", Script::Wedge)]);
    let server = Server::start(
        config(dir.path(), &db, &standin.base_url(), &["busy"], 1, "h1"),
        Arc::new(Shared(exec.clone())),
    )
    .await;
    // PR 1 holds the recipe; PR 2 queues behind it.
    let pr1 = standin.open_pull(repo, "one", "1111111111");
    standin.add_comment(repo, pr1, "alice", "!testme");
    eventually("PR 1 runs", Duration::from_secs(15), || async {
        exec.started().len() == 1
    })
    .await;
    let pr2 = standin.open_pull(repo, "two", "2222222222");
    standin.add_comment(repo, pr2, "alice", "!testme");
    eventually("PR 2 is queued", Duration::from_secs(15), || async {
        jobs_in(&store, JobState::Queued).await.len() == 1
    })
    .await;
    let first = jobs_in(&store, JobState::Queued).await.remove(0);

    // A push to PR 2: the queued run tested a head that is gone.
    standin.push_head(repo, pr2, "3333333333");
    eventually(
        "the queued run is superseded",
        Duration::from_secs(15),
        || async {
            store
                .job(first.id)
                .await
                .unwrap()
                .is_some_and(|j| j.state == JobState::Superseded)
        },
    )
    .await;
    let note = store.job(first.id).await.unwrap().unwrap().note.unwrap();
    assert!(note.contains("head moved to 3333333333"), "{note}");

    // Two new !testme on PR 2 while it waits: they coalesce to the newest.
    standin.add_comment(repo, pr2, "alice", "!testme");
    eventually("queued again", Duration::from_secs(15), || async {
        jobs_in(&store, JobState::Queued).await.len() == 1
    })
    .await;
    standin.add_comment(repo, pr2, "alice", "!testme --quick");
    eventually(
        "coalesced to the newest",
        Duration::from_secs(15),
        || async {
            let q = jobs_in(&store, JobState::Queued).await;
            q.len() == 1 && q[0].request.flags.quick
        },
    )
    .await;
    let queued = jobs_in(&store, JobState::Queued).await.remove(0);
    assert_eq!(queued.request.head_sha, "3333333333");
    // Still one sticky bot comment on PR 2.
    let bot: Vec<_> = standin
        .comments(repo, pr2)
        .into_iter()
        .filter(|c| c.author == BOT)
        .collect();
    assert_eq!(bot.len(), 1, "{bot:#?}");
    server.stop().await;
}

/// docs/behaviour.md §6: a quick run reports its verdict first, then puts its canonical back. The
/// PR's status and comment are final while the run still holds the canonical (the job still
/// running); once the run returns, the job is recorded, and nothing is reported twice.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_quick_run_reports_its_verdict_before_it_puts_its_canonical_back() {
    let dir = tempfile::tempdir().unwrap();
    let (standin, repos) = standin(&["restores"]).await;
    let repo = &repos[0];
    let db = sqlite_url(dir.path());
    let store = open(&db).await;
    poll_from_an_hour_ago(&store).await;
    let restore = Duration::from_secs(5);
    let exec = ScriptedExecutor::with(&[("restores", Script::ReportsFirst(restore))]);
    let server = Server::start(
        config(dir.path(), &db, &standin.base_url(), &["restores"], 1, "h1"),
        Arc::new(Shared(exec.clone())),
    )
    .await;
    let pr = standin.open_pull(repo, "quick", "7777bbbb");
    standin.add_comment(repo, pr, "alice", "!testme --quick");
    // The verdict is reported while the run still restores.
    wait_reported(&standin, repo, "7777bbbb", "success", None).await;
    let ended = exec.log.lock().unwrap().iter().any(|e| !e.2);
    assert!(!ended, "reported before the run returned: {:?}", exec.log);
    assert_eq!(
        jobs_in(&store, JobState::Running).await.len(),
        1,
        "the run still holds its canonical"
    );
    let bot = |standin: &Standin| -> Vec<_> {
        standin
            .comments(repo, pr)
            .into_iter()
            .filter(|c| c.author == BOT)
            .collect()
    };
    let reported = bot(&standin);
    assert_eq!(reported.len(), 1, "{reported:#?}");
    assert!(reported[0].body.contains("GREEN"), "{}", reported[0].body);

    eventually(
        "the job is recorded once the run returns",
        restore + Duration::from_secs(20),
        || async { jobs_in(&store, JobState::Done).await.len() == 1 },
    )
    .await;
    let done = jobs_in(&store, JobState::Done).await.remove(0);
    assert_eq!(done.end, Some(RunEnd::GREEN));
    let finals: Vec<_> = standin
        .statuses(repo, "7777bbbb")
        .into_iter()
        .filter(|s| s.state != "pending")
        .collect();
    assert_eq!(finals.len(), 1, "reported once: {finals:#?}");
    let after = bot(&standin);
    assert_eq!(after.len(), 1, "{after:#?}");
    assert_eq!(
        after[0].body, reported[0].body,
        "the comment is not rewritten"
    );
    server.stop().await;
}

/// docs/behaviour.md §6: quick never gates a merge. A `--quick` job reports under `cc-ci/quick`,
/// never under the main context a branch protection rule requires; its comment and run page say so.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_quick_run_reports_under_its_own_status_context_and_never_the_gating_one() {
    let dir = tempfile::tempdir().unwrap();
    let (standin, repos) = standin(&["lanes"]).await;
    let repo = &repos[0];
    let db = sqlite_url(dir.path());
    let store = open(&db).await;
    poll_from_an_hour_ago(&store).await;
    let exec = ScriptedExecutor::with(&[("lanes", Script::Pass(Duration::from_millis(300)))]);
    let server = Server::start(
        config(dir.path(), &db, &standin.base_url(), &["lanes"], 1, "h1"),
        Arc::new(Shared(exec.clone())),
    )
    .await;
    let pr = standin.open_pull(repo, "quick", "9999aaaa");
    standin.add_comment(repo, pr, "alice", "!testme --quick");
    eventually(
        "the quick run finishes",
        Duration::from_secs(20),
        || async { jobs_in(&store, JobState::Done).await.len() == 1 },
    )
    .await;
    let quick = jobs_in(&store, JobState::Done).await.remove(0);
    assert!(quick.request.flags.quick);
    wait_reported(&standin, repo, "9999aaaa", "success", None).await;
    let statuses = standin.statuses(repo, "9999aaaa");
    assert!(
        !statuses.is_empty() && statuses.iter().all(|s| s.context == "cc-ci/quick"),
        "a quick run touches only cc-ci/quick: {statuses:#?}"
    );
    let bot: Vec<_> = standin
        .comments(repo, pr)
        .into_iter()
        .filter(|c| c.author == BOT)
        .collect();
    assert_eq!(bot.len(), 1, "{bot:#?}");
    assert!(
        bot[0].body.contains("does not gate the merge") && bot[0].body.contains("`cc-ci/quick`"),
        "{}",
        bot[0].body
    );
    let page = page_text(&format!("{}/runs/{}", server.url, quick.id)).await;
    assert!(
        page.contains("quick-note") && page.contains("does not gate the merge"),
        "{page}"
    );

    // A plain `!testme` afterwards is the cold run: it, and only it, sets the gating context.
    standin.add_comment(repo, pr, "alice", "!testme");
    eventually("the cold run finishes", Duration::from_secs(20), || async {
        jobs_in(&store, JobState::Done).await.len() == 2
    })
    .await;
    eventually(
        "the cold run's final status is posted",
        Duration::from_secs(10),
        || async {
            standin
                .statuses(repo, "9999aaaa")
                .iter()
                .any(|s| s.context == "cc-ci" && s.state == "success")
        },
    )
    .await;
    let cold = jobs_in(&store, JobState::Done)
        .await
        .into_iter()
        .find(|j| !j.request.flags.quick)
        .unwrap();
    for status in standin.statuses(repo, "9999aaaa") {
        let run = if status.context == "cc-ci" {
            cold.id
        } else {
            quick.id
        };
        assert_eq!(
            status.target_url,
            format!("http://ci.test/runs/{run}"),
            "{status:?}"
        );
    }
    server.stop().await;
}

/// docs/behaviour.md §6: alerts are shown on the dashboard. Pending ones open the run list as a
/// banner; `/alerts` and `/api/alerts` list pending and relayed (archived) ones; all text escaped.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pending_alerts_show_on_the_dashboard_and_the_alerts_api_lists_pending_and_relayed() {
    let dir = tempfile::tempdir().unwrap();
    let db = sqlite_url(dir.path());
    let mut config = config(dir.path(), &db, "http://127.0.0.1:9", &["unused"], 1, "h1");
    config.forge = None;
    config.webhook = None;
    let state = config.rig.state_dir.clone();
    let server = Server::start(config, Arc::new(Shared(ScriptedExecutor::with(&[])))).await;
    let get = |path: &str| {
        let url = format!("{}{path}", server.url);
        async move { page_text(&url).await }
    };
    let index = get("/").await;
    assert!(
        !index.contains(r#"class="card alerts-banner""#),
        "no alerts, no banner"
    );
    let empty: serde_json::Value = serde_json::from_str(&get("/api/alerts").await).unwrap();
    assert_eq!(empty, serde_json::json!({"pending": [], "archived": []}));

    let relayed = ccci_adapters::alerts::raise(&state, "sso", "rolled_back", "unhealthy").unwrap();
    ccci_adapters::alerts::relay(&state, |_| Ok(())).unwrap();
    let held = ccci_adapters::alerts::raise(
        &state,
        "proxy",
        "held",
        "major bump 2.0.0 → 3.0.0 <script>alert(1)</script>",
    )
    .unwrap();
    let failed = ccci_adapters::alerts::raise(&state, "n8n", "failed", "seed red").unwrap();

    let api: serde_json::Value = serde_json::from_str(&get("/api/alerts").await).unwrap();
    let ids = |key: &str| -> Vec<String> {
        api[key]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["id"].as_str().unwrap().to_string())
            .collect()
    };
    let mut pending = ids("pending");
    pending.sort();
    let mut want = vec![held.id.clone(), failed.id.clone()];
    want.sort();
    assert_eq!(pending, want);
    assert_eq!(ids("archived"), vec![relayed.id.clone()]);
    let shown_held = api["pending"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["id"] == held.id.as_str())
        .unwrap();
    assert_eq!(shown_held["app"], "proxy");
    assert_eq!(shown_held["kind"], "held");
    assert_eq!(shown_held["ts"], held.ts.as_str());

    let index = get("/").await;
    for want in [
        r#"class="card alerts-banner""#,
        "2 pending alerts",
        "proxy",
        "held",
        "major bump 2.0.0 → 3.0.0 &lt;script&gt;alert(1)&lt;/script&gt;",
        "seed red",
        &format!("{} UTC", held.ts[..19].replace('T', " ")),
    ] {
        assert!(index.contains(want), "{want} missing from the run list");
    }
    assert!(!index.contains("<script>alert(1)"), "alert text is escaped");
    assert!(
        !index.contains("unhealthy"),
        "a relayed alert is not a banner"
    );
    let page = get("/alerts").await;
    for want in [
        "Pending (2)",
        "seed red",
        "&lt;script&gt;",
        "unhealthy",
        "rolled_back",
    ] {
        assert!(page.contains(want), "{want} missing from /alerts");
    }
    assert!(!page.contains("<script>alert(1)"));
    let metrics = get("/metrics").await;
    assert!(metrics.contains("\nccci_alerts_pending 2\n"), "{metrics}");
    server.stop().await;
}

/// `[nightly] at`: serve starts the sweep once the time has come and records the day, so a
/// restart the same day does not sweep again. (Empty suites and state: the sweep only reads
/// the engine's disk use.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_runs_the_nightly_sweep_when_due_and_records_the_day_once() {
    let dir = tempfile::tempdir().unwrap();
    let suites = dir.path().join("suites");
    std::fs::create_dir_all(&suites).unwrap();
    let db = sqlite_url(dir.path());
    // Due since a minute ago (UTC).
    let now = time::OffsetDateTime::now_utc();
    let minute_ago = (now - time::Duration::minutes(1)).time();
    let at = time::Time::from_hms(minute_ago.hour(), minute_ago.minute(), 0).unwrap();
    let make_config = || {
        let mut config = config(dir.path(), &db, "http://127.0.0.1:9", &["unused"], 1, "h1");
        config.forge = None;
        config.webhook = None;
        config.rig.suites_dir = Some(suites.clone());
        config.nightly = Some(ccci_service::config::NightlyConfig { at });
        config
    };
    let config = make_config();
    let state = config.rig.state_dir.clone();
    let want = ccci_service::nightly::due(now, at, None).expect("due for the slot a minute ago");
    let record = ccci_service::nightly::last_file(&state);
    let server = Server::start(config, Arc::new(Shared(ScriptedExecutor::with(&[])))).await;
    eventually(
        "the sweep records its day",
        Duration::from_secs(30),
        || async { ccci_service::nightly::read_last(&state) == Some(want) },
    )
    .await;
    let written = std::fs::metadata(&record).unwrap().modified().unwrap();
    server.stop().await;

    // A restart the same day: due() says no; the record is not rewritten.
    let again = Server::start(make_config(), Arc::new(Shared(ScriptedExecutor::with(&[])))).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(
        std::fs::metadata(&record).unwrap().modified().unwrap(),
        written,
        "a restart swept the same day again"
    );
    again.stop().await;
}
