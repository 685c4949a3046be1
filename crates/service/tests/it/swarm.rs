//! The real thing: `!testme` on a stand-in PR → `ccci serve` → the real runner on this
//! host's Docker Swarm → commit status and sticky comment with the card.
//!
//! Needs a swarm manager and the fixture images (`scripts/prepare-host`, checked by
//! `ccci_testkit::swarm_ready`). Outside CI a missing swarm skips these tests; under
//! `CI=true` it fails them.

use crate::harness::*;
use crate::support::{open, unique};
use ccci_core::run_end::RunEnd;
use ccci_service::executor::RunnerExecutor;
use ccci_service::job::{Job, JobState};
use ccci_service::store::Store;
use ccci_testkit::swarm_ready;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .current_dir(dir)
        .args([
            "-c",
            "user.name=cc-ci test",
            "-c",
            "user.email=test@ci.local",
            "-c",
            "commit.gpgsign=false",
        ])
        .args(args)
        .output()
        .expect("git runs");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// A recipe repository `<dir>/<name>` made from `recipes/<example>`, with one commit (the
/// PR head); `edit` may change files first. Returns the path and the head commit.
pub(crate) fn recipe_repo(
    dir: &Path,
    example: &str,
    name: &str,
    edit: impl FnOnce(&Path),
) -> (PathBuf, String) {
    let repo = dir.join(name);
    std::fs::create_dir_all(&repo).unwrap();
    let src = workspace().join("recipes").join(example);
    for entry in std::fs::read_dir(&src).unwrap().flatten() {
        std::fs::copy(entry.path(), repo.join(entry.file_name())).unwrap();
    }
    edit(&repo);
    git(&repo, &["init", "--quiet", "--initial-branch=main"]);
    git(&repo, &["add", "-A"]);
    git(&repo, &["commit", "--quiet", "-m", "PR head"]);
    let sha = git(&repo, &["rev-parse", "HEAD"]);
    (repo, sha)
}

/// The configuration for the swarm tests: repositories cloned from local paths, the
/// workspace's suites, state under `dir`.
pub(crate) fn swarm_config(
    dir: &Path,
    db: &str,
    forge: &str,
    repos: &[(&str, &Path)],
    capacity: u32,
) -> ccci_service::config::Config {
    let names: Vec<&str> = repos.iter().map(|(n, _)| *n).collect();
    let mut config = config(dir, db, forge, &names, capacity, &unique("swarm-host"));
    let forge = config.forge.as_mut().unwrap();
    for (repo, (_, path)) in forge.repos.iter_mut().zip(repos) {
        repo.clone_url = path.display().to_string();
    }
    config.rig.suites_dir = Some(workspace().join("suites"));
    config.lease = Duration::from_secs(30);
    config.shutdown_grace = Duration::from_secs(5);
    config
}

/// A SQLite store `<dir>/ccci.db` whose poller starts an hour back; its URL and the store.
pub(crate) async fn sqlite_store(dir: &Path) -> (String, Store) {
    let db = format!("sqlite:{}", dir.join("ccci.db").display());
    let store = open(&db).await;
    poll_from_an_hour_ago(&store).await;
    (db, store)
}

/// Waits (`secs`) until exactly `count` jobs are in `state`.
pub(crate) async fn wait_for_jobs(
    store: &Store,
    state: JobState,
    count: usize,
    what: &str,
    secs: u64,
) {
    eventually(what, Duration::from_secs(secs), || async {
        jobs_in(store, state).await.len() == count
    })
    .await;
}

/// Waits (`secs`) until job `id` exists and `check` holds for it.
pub(crate) async fn wait_for_job(
    store: &Store,
    id: i64,
    what: &str,
    secs: u64,
    check: impl Fn(&Job) -> bool,
) {
    eventually(what, Duration::from_secs(secs), || async {
        store.job(id).await.unwrap().is_some_and(|j| check(&j))
    })
    .await;
}

/// The (first) job of `recipe`, in any state.
async fn job_of(store: &Store, recipe: &str) -> Job {
    store
        .jobs(&Default::default())
        .await
        .unwrap()
        .into_iter()
        .find(|j| j.request.recipe == recipe)
        .unwrap()
}

fn has_results(runs_dir: &Path, id: i64) -> bool {
    runs_dir.join(id.to_string()).join("results.json").is_file()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_testme_on_a_standin_pr_runs_on_the_real_swarm_and_reports_back() {
    if !swarm_ready() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (repo_path, sha) = recipe_repo(dir.path(), "fixture-static", "fixture-static", |_| {});
    let (standin, repos) = standin(&["fixture-static"]).await;
    let repo = &repos[0];
    let (db, store) = sqlite_store(dir.path()).await;
    let config = swarm_config(
        dir.path(),
        &db,
        &standin.base_url(),
        &[("fixture-static", &repo_path)],
        1,
    );
    let runs_dir = config.runs_dir.clone();
    let server = Server::start(config, Arc::new(RunnerExecutor)).await;

    let pr = standin.open_pull(repo, "change", &sha);
    standin.add_comment(repo, pr, "alice", "!testme --stages install");
    wait_for_jobs(
        &store,
        JobState::Done,
        1,
        "the run finishes on the swarm",
        300,
    )
    .await;
    let job = jobs_in(&store, JobState::Done).await.remove(0);
    let run_dir = runs_dir.join(job.id.to_string());
    let results = std::fs::read_to_string(run_dir.join("results.json")).unwrap_or_else(|e| {
        panic!(
            "no results.json in {}: {e}; files: {:?}",
            run_dir.display(),
            std::fs::read_dir(&run_dir)
                .map(|d| d.flatten().map(|e| e.file_name()).collect::<Vec<_>>())
        )
    });
    let results: ccci_core::results::RunResults = serde_json::from_str(&results).unwrap();
    assert_eq!(results.end, RunEnd::GREEN, "{results:#?}");
    assert_eq!(results.head_commit.as_deref(), Some(sha.as_str()));
    assert_eq!(job.end, Some(RunEnd::GREEN));
    assert!(
        run_dir.join("card.png").is_file(),
        "the runner wrote the card"
    );

    let card_link = format!("/runs/{}/files/card.png", job.id);
    wait_reported(&standin, repo, &sha, "success", Some((pr, &card_link))).await;
    let bot: Vec<_> = standin
        .comments(repo, pr)
        .into_iter()
        .filter(|c| c.author == BOT)
        .collect();
    assert_eq!(bot.len(), 1, "one sticky comment: {bot:#?}");
    assert!(
        bot[0]
            .body
            .contains(&format!("/runs/{}/files/card.png", job.id)),
        "{}",
        bot[0].body
    );
    // The dashboard serves the card the comment points at.
    let card = reqwest::get(format!("{}/runs/{}/files/card.png", server.url, job.id))
        .await
        .unwrap();
    assert_eq!(card.headers()["content-type"], "image/png");
    // The run page shows the real run: rungs, and links to the logs the runner wrote.
    let page = page_text(&format!("{}/runs/{}", server.url, job.id)).await;
    assert!(page.contains("<table class=\"rungs\">"), "{page}");
    assert!(
        page.contains(".log\">"),
        "log links on the run page: {page}"
    );
    // The real runner wrote its live files as it went: the log the page shows, and the rung
    // events (install started, then passed; the final account skips the rest).
    let live_log = std::fs::read_to_string(run_dir.join(ccci_core::live::LIVE_LOG)).unwrap();
    assert!(live_log.contains("── install"), "{live_log}");
    assert!(live_log.contains("tearing down"), "{live_log}");
    assert!(
        page.contains("id=\"live-log\"") && page.contains("── install"),
        "{page}"
    );
    let events = ccci_core::live::parse_events(
        &std::fs::read_to_string(run_dir.join(ccci_core::live::LIVE_RUNGS)).unwrap(),
    );
    let timeline = ccci_core::live::timeline(&events, 0);
    let install = timeline
        .iter()
        .find(|e| e.rung == ccci_core::ladder::Rung::Install)
        .unwrap_or_else(|| panic!("no install on the timeline: {events:?}"));
    assert_eq!(install.phase, ccci_core::live::Phase::Pass, "{events:?}");
    assert!(events.iter().any(|e| matches!(
        e,
        ccci_core::live::RungEvent::Started {
            rung: ccci_core::ladder::Rung::Install,
            ..
        }
    )));
    // The finished run's stream sends its log and ends.
    let stream = reqwest::get(format!("{}/runs/{}/log/stream", server.url, job.id))
        .await
        .unwrap();
    let body = tokio::time::timeout(Duration::from_secs(10), stream.text())
        .await
        .expect("the stream of a finished run ends")
        .unwrap();
    assert!(
        body.contains("data: ── install") && body.contains("event: end"),
        "{body}"
    );
    server.stop().await;
}

/// Capacity 1, a crash-looping recipe queued first: the runner fails it fast, so the next
/// recipe runs promptly; while it waits, it says what it waits for.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_looping_recipe_first_in_line_does_not_hold_the_next_one_for_long() {
    if !swarm_ready() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (crash_path, crash_sha) = recipe_repo(dir.path(), "fixture-web", "fixture-web", |repo| {
        let env = repo.join(".env.sample");
        let text = std::fs::read_to_string(&env)
            .unwrap()
            .replace("#CRASH_AT_START=1", "CRASH_AT_START=1");
        std::fs::write(env, text).unwrap();
    });
    let (next_path, next_sha) = recipe_repo(dir.path(), "fixture-static", "fixture-static", |_| {});
    let (standin, repos) = standin(&["fixture-web", "fixture-static"]).await;
    let (db, store) = sqlite_store(dir.path()).await;
    let config = swarm_config(
        dir.path(),
        &db,
        &standin.base_url(),
        &[("fixture-web", &crash_path), ("fixture-static", &next_path)],
        1,
    );
    let server = Server::start(config, Arc::new(RunnerExecutor)).await;

    let crash_pr = standin.open_pull(&repos[0], "crash", &crash_sha);
    standin.add_comment(&repos[0], crash_pr, "alice", "!testme --stages install");
    wait_for_jobs(
        &store,
        JobState::Running,
        1,
        "the crash-looping run starts",
        20,
    )
    .await;
    let next_pr = standin.open_pull(&repos[1], "next", &next_sha);
    standin.add_comment(&repos[1], next_pr, "alice", "!testme --stages install");
    wait_for_jobs(&store, JobState::Queued, 1, "the next recipe is queued", 20).await;
    let waiting = jobs_in(&store, JobState::Queued).await.remove(0);
    let view = store.queue(ccci_service::job::now_millis()).await.unwrap();
    assert_eq!(
        view.wait_reason(waiting.id).unwrap().to_string(),
        "waiting for a free slot: 1 of 1 running"
    );

    let started = std::time::Instant::now();
    wait_for_job(
        &store,
        waiting.id,
        "the crash loop is failed fast and the next recipe runs",
        240,
        |j| j.state != JobState::Queued,
    )
    .await;
    let crash = job_of(&store, "fixture-web").await;
    assert_eq!(
        (crash.state, crash.end),
        (JobState::Done, Some(RunEnd::RED)),
        "{crash:#?}"
    );
    let held = crash.finished_at.unwrap() - crash.started_at.unwrap();
    assert!(
        held < 120_000,
        "the crash loop held the only slot for {held} ms"
    );
    eprintln!(
        "next recipe started {:?} after it was queued; crash loop held the slot {held} ms",
        started.elapsed()
    );
    wait_for_job(&store, waiting.id, "the next recipe finishes", 300, |j| {
        j.state == JobState::Done
    })
    .await;
    assert_eq!(
        store.job(waiting.id).await.unwrap().unwrap().end,
        Some(RunEnd::GREEN)
    );
    server.stop().await;
}

/// A recipe repository from `recipes/fixture-static` under another name, its suite shipped
/// inside the repository (`.ccci/suite.toml`), so several recipes can run side by side.
/// Which host runs a job is the subject, not the app's uptime: the suite waits none
/// (`min_uptime = 0`; a run still lasts the seconds of its deploy).
fn static_recipe_named(dir: &Path, name: &str) -> (PathBuf, String) {
    recipe_repo(dir, "fixture-static", name, |repo| {
        std::fs::create_dir_all(repo.join(".ccci")).unwrap();
        let suite =
            std::fs::read_to_string(workspace().join("suites/fixture-static/suite.toml")).unwrap();
        std::fs::write(
            repo.join(".ccci/suite.toml"),
            format!("min_uptime = 0\n{suite}"),
        )
        .unwrap();
    })
}

/// Two `ccci serve` instances (two hosts, each with its own state) share one PostgreSQL
/// queue and the swarm: every job runs exactly once. Then a host is killed mid-run: its job
/// is re-queued when the lease expires and run to green by another host, and the janitor
/// reaps what the dead run left on the swarm.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_serve_instances_on_postgres_run_each_job_once_on_the_swarm_and_recover_a_killed_run() {
    if !swarm_ready() {
        return;
    }
    let Some(base) = crate::support::pg_url() else {
        return;
    };
    let db = crate::support::fresh_pg_database(&base).await;
    let dir = tempfile::tempdir().unwrap();
    let names = ["static-a", "static-b", "static-c", "static-d"];
    let mut paths = Vec::new();
    let mut shas = Vec::new();
    for name in names {
        let (path, sha) = static_recipe_named(dir.path(), name);
        paths.push(path);
        shas.push(sha);
    }
    let (standin, repos) = standin(&names).await;
    let store = open(&db).await;
    poll_from_an_hour_ago(&store).await;
    let repo_paths: Vec<(&str, &Path)> = names
        .iter()
        .copied()
        .zip(paths.iter().map(PathBuf::as_path))
        .collect();
    let host_config = |sub: &str, lease: u64| {
        let d = dir.path().join(sub);
        std::fs::create_dir_all(&d).unwrap();
        let mut c = swarm_config(&d, &db, &standin.base_url(), &repo_paths, 1);
        c.lease = Duration::from_secs(lease);
        c
    };

    // Part 1: three jobs, two hosts, each job once.
    let config_a = host_config("a", 30);
    let config_b = host_config("b", 30);
    let (runs_a, runs_b) = (config_a.runs_dir.clone(), config_b.runs_dir.clone());
    let a = Server::start(config_a, Arc::new(RunnerExecutor)).await;
    let b = Server::start(config_b, Arc::new(RunnerExecutor)).await;
    for i in 0..3 {
        let pr = standin.open_pull(&repos[i], "change", &shas[i]);
        standin.add_comment(&repos[i], pr, "alice", "!testme --stages install");
    }
    wait_for_jobs(&store, JobState::Done, 3, "three swarm runs finish", 400).await;
    let done = jobs_in(&store, JobState::Done).await;
    let hosts: std::collections::BTreeSet<_> = done.iter().filter_map(|j| j.host.clone()).collect();
    for job in &done {
        assert_eq!(job.end, Some(RunEnd::GREEN), "{job:#?}");
        assert_eq!(job.attempts, 0);
        let (in_a, in_b) = (has_results(&runs_a, job.id), has_results(&runs_b, job.id));
        assert!(
            in_a != in_b,
            "run {} ran on exactly one host (a: {in_a}, b: {in_b})",
            job.id
        );
    }
    eprintln!("hosts used: {hosts:?}");
    assert_eq!(
        store.jobs(&Default::default()).await.unwrap().len(),
        3,
        "both pollers, each comment queued once"
    );
    a.stop().await;
    b.stop().await;

    // Part 2: a host dies mid-run.
    let config_doomed = host_config("doomed", 4);
    let doomed_rig = config_doomed.rig.clone();
    let doomed = Server::start(config_doomed, Arc::new(RunnerExecutor)).await;
    let pr = standin.open_pull(&repos[3], "change", &shas[3]);
    standin.add_comment(&repos[3], pr, "alice", "!testme --stages install");
    wait_for_jobs(
        &store,
        JobState::Running,
        1,
        "the doomed host is running the job",
        30,
    )
    .await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    doomed.kill();
    let survivor = Server::start(host_config("survivor", 30), Arc::new(RunnerExecutor)).await;
    wait_for_jobs(
        &store,
        JobState::Done,
        4,
        "the job is re-queued after the lease and run again",
        300,
    )
    .await;
    let job = job_of(&store, "static-d").await;
    assert_eq!(
        (job.end, job.attempts),
        (Some(RunEnd::GREEN), 1),
        "{job:#?}"
    );
    assert!(job
        .host
        .as_deref()
        .is_some_and(|h| h.starts_with("swarm-host")));
    survivor.stop().await;

    // The dead run's app: its owner (this test process) is still alive, so mark it dead the
    // way a crashed `ccci serve` would be, and let the janitor reap it.
    let gone = Command::new("true").spawn().unwrap();
    let dead_pid = gone.id();
    let _ = gone.wait_with_output();
    let active = doomed_rig.state_dir.join("active");
    for entry in std::fs::read_dir(&active).into_iter().flatten().flatten() {
        let text = std::fs::read_to_string(entry.path()).unwrap();
        let mut record: serde_json::Value = serde_json::from_str(&text).unwrap();
        record["pid"] = serde_json::json!(dead_pid);
        std::fs::write(entry.path(), serde_json::to_vec(&record).unwrap()).unwrap();
    }
    let rig = ccci_runner::request::Rig {
        service_vips: None,
        forwarder_on_proxy: None,
        keycloak: None,
        host_secrets: Vec::new(),
        ..doomed_rig
    };
    let report = ccci_hostjobs::janitor::reap(&rig, Duration::from_secs(7200), false)
        .await
        .unwrap();
    eprintln!("janitor: {report}");
}

/// The RED suite of the `--keep` test: the app installs and answers, but an HTTP check
/// wants a body it never serves (shared with the CLI's `--keep` tests).
const KEEP_RED_SUITE: &str = include_str!("../../../ccci/tests/it/keep_red_suite.toml");

/// Removes a stack (and cc-ci's containers beside it) when dropped: a failing test leaves
/// nothing on the shared engine.
struct RemoveStack(String);

impl Drop for RemoveStack {
    fn drop(&mut self) {
        let _ = Command::new("docker")
            .args(["stack", "rm", &self.0])
            .output();
        let label = format!("label=com.docker.stack.namespace={}", self.0);
        if let Ok(out) = Command::new("docker")
            .args(["ps", "-aq", "--filter", &label])
            .output()
        {
            for id in String::from_utf8_lossy(&out.stdout).lines() {
                let _ = Command::new("docker").args(["rm", "-f", id]).output();
            }
        }
    }
}

/// Services of a stack on the engine.
fn stack_services(stack: &str) -> Vec<String> {
    let out = Command::new("docker")
        .args([
            "service",
            "ls",
            "-q",
            "--filter",
            &format!("label=com.docker.stack.namespace={stack}"),
        ])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_string)
        .collect()
}

/// `!testme --keep 30s` on a RED PR (issue 11), in a real browser: the run page says the
/// app is kept until when and how to reach it, the app answers through its route, the
/// sticky comment says so too; the kept app holds the host's only slot (the next PR's run
/// waits); after its time the janitor sweep removes it all, the page says so, and the
/// waiting run starts.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kept_red_app_stays_up_after_red_and_is_gone_after_its_time_in_a_browser() {
    if !swarm_ready() {
        return;
    }
    let Some(browser) = crate::browser::chromium() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let (red_path, red_sha) = recipe_repo(dir.path(), "fixture-static", "keepred", |repo| {
        std::fs::create_dir_all(repo.join(".ccci")).unwrap();
        std::fs::write(repo.join(".ccci/suite.toml"), KEEP_RED_SUITE).unwrap();
    });
    let (next_path, next_sha) = static_recipe_named(dir.path(), "keepnext");
    let (standin, repos) = standin(&["keepred", "keepnext"]).await;
    let (db, store) = sqlite_store(dir.path()).await;
    let mut config = swarm_config(
        dir.path(),
        &db,
        &standin.base_url(),
        &[("keepred", &red_path), ("keepnext", &next_path)],
        1,
    );
    config.rig.suites_dir = None;
    config.janitor_interval = Some(Duration::from_secs(2));
    let runs_dir = config.runs_dir.clone();
    let server = Server::start(config, Arc::new(RunnerExecutor)).await;

    let pr = standin.open_pull(&repos[0], "red", &red_sha);
    standin.add_comment(
        &repos[0],
        pr,
        "alice",
        "!testme --keep 30s --stages install,functional",
    );
    wait_for_jobs(&store, JobState::Done, 1, "the RED run finishes", 300).await;
    let job = jobs_in(&store, JobState::Done).await.remove(0);
    assert_eq!(job.end, Some(RunEnd::RED), "{job:#?}");
    assert_eq!(job.request.flags.keep_secs, Some(30));
    let results: ccci_core::results::RunResults = serde_json::from_slice(
        &std::fs::read(runs_dir.join(job.id.to_string()).join("results.json")).unwrap(),
    )
    .unwrap();
    let _cleanup = RemoveStack(results.stack.clone());
    let kept = results.kept.clone().expect("the RED run kept its app");
    assert!(!stack_services(&results.stack).is_empty(), "torn down");

    // The next PR's run waits: the kept app holds the only slot.
    let next_pr = standin.open_pull(&repos[1], "next", &next_sha);
    standin.add_comment(&repos[1], next_pr, "alice", "!testme --stages install");
    wait_for_jobs(&store, JobState::Queued, 1, "the next run is queued", 20).await;

    // The run page, in the browser: kept until when, how to reach it, its logs.
    let page_url = format!("{}/runs/{}", server.url, job.id);
    let dom = crate::browser::browse(&browser, &["--dump-dom"], &page_url).await;
    assert!(
        dom.contains("App kept for debugging until")
            && dom.contains(&ccci_report::text::kept_until(&kept))
            && dom.contains(&format!("docker service logs {}_app", results.stack)),
        "{dom}"
    );
    // The app answers through its route (the run's forwarder), in the browser too.
    let app_dom =
        crate::browser::browse(&browser, &["--dump-dom"], &format!("{}version", kept.url)).await;
    assert!(app_dom.contains("1.2.0"), "the kept app answers: {app_dom}");
    eventually(
        "the sticky comment says it is kept",
        Duration::from_secs(10),
        || async {
            standin
                .comments(&repos[0], pr)
                .iter()
                .any(|c| c.author == BOT && c.body.contains("Kept for debugging until"))
        },
    )
    .await;
    assert_eq!(
        jobs_in(&store, JobState::Queued).await.len(),
        1,
        "the next run started while the app was kept"
    );

    // After its time: the janitor sweep removes everything, the page says so, and the
    // slot is free for the waiting run.
    eventually(
        "the janitor removes the kept app",
        Duration::from_secs(90),
        || async { stack_services(&results.stack).is_empty() },
    )
    .await;
    eventually(
        "the run page says it was removed",
        Duration::from_secs(20),
        || async {
            let page = reqwest::get(&page_url).await.unwrap().text().await.unwrap();
            // The note's own class: the run's log (on the page too) says "removed by the
            // janitor after that" from the start.
            page.contains("note kept-removed")
        },
    )
    .await;
    let dom = crate::browser::browse(&browser, &["--dump-dom"], &page_url).await;
    assert!(
        dom.contains("note kept-removed") && !dom.contains("App kept for debugging until"),
        "{dom}"
    );
    wait_for_jobs(&store, JobState::Done, 2, "the waiting run runs after", 300).await;
    server.stop().await;
}
