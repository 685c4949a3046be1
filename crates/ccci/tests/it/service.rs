//! `ccci serve` as real processes: the Gitea stand-in runs in the test (named as such:
//! Gitea cannot run here), each host is a `ccci serve --config FILE` child process with its
//! own state and runs dirs, the store is a real SQLite file or PostgreSQL database, and runs
//! deploy fixture recipes (local git repositories) on this machine's swarm.
//!
//! Needs a swarm manager and the fixture images; the PostgreSQL tests need
//! `CCCI_TEST_PG_URL` (`eval "$(scripts/start-postgres.sh)"`). Outside CI a missing one
//! skips the test with a printed reason; under `CI=true` it fails it.
//!
//! Every child is SIGKILLed by [`Hosts`]' `Drop` (also when a test panics, which then prints
//! the tail of each host's log), and the stacks registered in the hosts' state dirs are
//! removed, so a failing test leaves no `ccci serve` and no app behind.

use crate::common::{
    commit_all, engine_objects, free_port, leftovers, registered_stack, remove_stack, Rig,
};
use ccci_forge::gitea_standin::Standin;
use ccci_forge::{Permission, RepoName};
use ccci_testkit::swarm_ready;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const BOT: &str = "ccci-bot";
const BOT_TOKEN: &str = "bot-token-0123456789";
const TESTME: &str = "!testme --stages install";

/// A fresh, empty database on the test PostgreSQL server; `None` (with a printed reason)
/// when no server is configured outside CI.
async fn fresh_pg_database() -> Option<String> {
    let base = match std::env::var("CCCI_TEST_PG_URL") {
        Ok(url) if !url.is_empty() => url,
        _ => {
            if std::env::var("CI").as_deref() == Ok("true") {
                panic!("CI=true but CCCI_TEST_PG_URL is not set: run `eval \"$(scripts/start-postgres.sh)\"` first");
            }
            eprintln!("CCCI_TEST_PG_URL not set: skipping this PostgreSQL test");
            return None;
        }
    };
    let (client, connection) = tokio_postgres::connect(&base, tokio_postgres::NoTls)
        .await
        .expect("connect to CCCI_TEST_PG_URL");
    let connection = tokio::spawn(connection);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let name = format!("ccci_proc_{}_{nanos}", std::process::id());
    client
        .batch_execute(&format!("CREATE DATABASE {name}"))
        .await
        .expect("create the test database");
    drop(client);
    let _ = connection.await;
    let i = base
        .rfind('/')
        .expect("CCCI_TEST_PG_URL has a database path");
    Some(format!("{}/{name}", &base[..i]))
}

/// A stand-in with one repository per name, `alice` a writer, the bot an admin.
async fn standin(names: &[&str]) -> (Standin, Vec<RepoName>) {
    let standin = Standin::start().await.expect("start the Gitea stand-in");
    standin.add_token(BOT_TOKEN, BOT);
    let mut repos = Vec::new();
    for name in names {
        let repo = standin.add_repo(&format!("coop-cloud/{name}")).unwrap();
        standin.set_permission(&repo, BOT, Permission::Admin);
        standin.set_permission(&repo, "alice", Permission::Write);
        repos.push(repo);
    }
    (standin, repos)
}

/// A recipe repository `<rig>/<name>` from `recipes/fixture-static`, its suite shipped
/// inside (`.ccci/suite.toml`) so any name works; returns its path and head commit.
/// `uptime`: whether each run waits out the suite's default `min_uptime` (a test that kills
/// a host mid-run needs a run that lasts); without it the app's uptime is not waited for.
fn static_recipe(rig: &Rig, name: &str, uptime: Uptime) -> (PathBuf, String) {
    let root = crate::common::repo_root();
    let dir = rig.git_recipe("fixture-static", name, &[], "1.2.0", |dir| {
        std::fs::create_dir_all(dir.join(".ccci")).unwrap();
        let suite = std::fs::read_to_string(root.join("suites/fixture-static/suite.toml")).unwrap();
        let suite = match uptime {
            Uptime::Waited => suite,
            Uptime::NotWaited => format!("min_uptime = 0\n{suite}"),
        };
        std::fs::write(dir.join(".ccci/suite.toml"), suite).unwrap();
    });
    let sha = crate::common::git(&dir, &["rev-parse", "HEAD"]);
    (dir, sha)
}

/// Does a test's run wait out the app's `min_uptime`? Only where the run's length matters.
#[derive(Clone, Copy)]
enum Uptime {
    Waited,
    /// The service's handling of comments and jobs is the subject, not the app's uptime.
    NotWaited,
}

/// One runner host: its config file, state and runs dirs, log, and dashboard URL.
struct Host {
    name: String,
    config: PathBuf,
    state_dir: PathBuf,
    runs_dir: PathBuf,
    log: PathBuf,
    url: String,
}

/// Per-host settings a test varies.
struct HostSpec<'a> {
    name: &'a str,
    database: &'a str,
    lease_secs: u64,
    shutdown_grace_secs: u64,
}

/// Writes `<dir>/<name>/ccci.toml` as an operator would: the stand-in as forge, each repo
/// cloned from its local path, a free port on 127.0.0.1.
fn host(dir: &Path, spec: HostSpec, forge_url: &str, repos: &[(&RepoName, &Path)]) -> Host {
    let home = dir.join(spec.name);
    std::fs::create_dir_all(&home).unwrap();
    let token = home.join("token");
    std::fs::write(&token, BOT_TOKEN).unwrap();
    let port = free_port();
    let repos: Vec<String> = repos
        .iter()
        .map(|(repo, path)| {
            format!(
                "{{ repo = \"{}\", clone_url = \"{}\" }}",
                repo.full_name(),
                path.display()
            )
        })
        .collect();
    let text = format!(
        r#"host_id = "{name}"
listen = "127.0.0.1:{port}"
public_url = "http://127.0.0.1:{port}"
database = "{database}"
capacity = 1
runs_dir = "{home}/runs"
lease_secs = {lease}
claim_interval_secs = 1
shutdown_grace_secs = {grace}

[forge]
url = "{forge_url}"
token_file = "{token}"
repos = [{repos}]
bot_login = "{BOT}"
poll_interval_secs = 1

[rig]
ci_domain = "ci.local"
state_dir = "{home}/state"
# No picture of the landing page: cosmetic, and not these tests' subject.
screenshots = false
"#,
        name = spec.name,
        database = spec.database,
        home = home.display(),
        lease = spec.lease_secs,
        grace = spec.shutdown_grace_secs,
        token = token.display(),
        repos = repos.join(", "),
    );
    let config = home.join("ccci.toml");
    std::fs::write(&config, text).unwrap();
    Host {
        name: spec.name.to_string(),
        config,
        state_dir: home.join("state"),
        runs_dir: home.join("runs"),
        log: home.join("serve.log"),
        url: format!("http://127.0.0.1:{port}"),
    }
}

/// The `ccci serve` children of a test. `Drop` SIGKILLs those still running, prints the
/// tail of every log when the test is failing, and removes the stacks still registered in
/// the hosts' state dirs.
#[derive(Default)]
struct Hosts {
    children: Vec<(String, Child)>,
    logs: Vec<PathBuf>,
    state_dirs: Vec<PathBuf>,
}

impl Hosts {
    /// Starts `ccci serve --config` for `host` and waits (bounded) for `/healthz`.
    async fn start(&mut self, host: &Host) {
        self.spawn(host);
        self.wait_healthy(host).await;
    }

    /// Starts `ccci serve --config` for `host`.
    fn spawn(&mut self, host: &Host) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&host.log)
            .unwrap();
        let mut cmd = Command::new(crate::common::ccci_bin());
        cmd.arg("serve")
            .arg("--config")
            .arg(&host.config)
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log);
        // The file is the whole configuration: no stray CCCI_* override from the caller.
        for (key, _) in std::env::vars() {
            if key.starts_with("CCCI_") {
                cmd.env_remove(key);
            }
        }
        cmd.env("CCCI_LOG", "info");
        let child = cmd.spawn().expect("spawn ccci serve");
        self.children.push((host.name.clone(), child));
        if !self.logs.contains(&host.log) {
            self.logs.push(host.log.clone());
            self.state_dirs.push(host.state_dir.clone());
        }
    }

    /// Waits (bounded) until `host` answers `/healthz`.
    async fn wait_healthy(&mut self, host: &Host) {
        let client = reqwest::Client::new();
        let end = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(r) = client.get(format!("{}/healthz", host.url)).send().await {
                if r.status().is_success() {
                    return;
                }
            }
            if let Some(status) = self.child(&host.name).try_wait().unwrap() {
                panic!("ccci serve {} exited at start: {status}", host.name);
            }
            assert!(
                Instant::now() < end,
                "ccci serve {} did not answer /healthz within 30 s",
                host.name
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The latest child started for `name`.
    fn child(&mut self, name: &str) -> &mut Child {
        self.children
            .iter_mut()
            .rev()
            .find(|(n, _)| n == name)
            .map(|(_, c)| c)
            .unwrap_or_else(|| panic!("no ccci serve {name}"))
    }

    fn signal(&mut self, name: &str, signal: i32) {
        let pid = self.child(name).id() as libc::pid_t;
        // SAFETY: kill(2) on our own child's pid; it is not reaped yet, so not recycled.
        let rc = unsafe { libc::kill(pid, signal) };
        assert_eq!(rc, 0, "kill({pid}, {signal})");
    }

    /// Waits (bounded) for `name` to exit; returns its status.
    async fn wait_exit(&mut self, name: &str, secs: u64) -> std::process::ExitStatus {
        let end = Instant::now() + Duration::from_secs(secs);
        loop {
            if let Some(status) = self.child(name).try_wait().unwrap() {
                return status;
            }
            assert!(
                Instant::now() < end,
                "ccci serve {name} still running {secs} s after the signal"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// SIGTERM: stop claiming, let runs finish within the grace, exit 0.
    async fn stop(&mut self, name: &str, secs: u64) {
        self.signal(name, libc::SIGTERM);
        let status = self.wait_exit(name, secs).await;
        assert!(status.success(), "ccci serve {name} stopped with {status}");
    }
}

impl Drop for Hosts {
    fn drop(&mut self) {
        for (_, child) in &mut self.children {
            if let Ok(None) = child.try_wait() {
                let _ = child.kill();
                let _ = child.wait();
            }
        }
        if std::thread::panicking() {
            for log in &self.logs {
                let text = std::fs::read_to_string(log).unwrap_or_default();
                let lines: Vec<&str> = text.lines().collect();
                let tail = lines[lines.len().saturating_sub(80)..].join("\n");
                eprintln!("----- {} (last 80 lines)\n{tail}", log.display());
            }
        }
        for state in &self.state_dirs {
            for stack in crate::common::registered_stacks(state) {
                remove_stack(&stack);
            }
        }
    }
}

/// Waits (bounded) until `check` holds; panics with `what` on time-out.
async fn eventually<F, Fut>(what: &str, secs: u64, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let end = Instant::now() + Duration::from_secs(secs);
    loop {
        if check().await {
            return;
        }
        assert!(
            Instant::now() < end,
            "timed out after {secs} s waiting for: {what}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// Every run the dashboard's JSON API lists (`/api/runs`).
async fn api_runs(url: &str) -> Vec<Value> {
    let body: Value = reqwest::get(format!("{url}/api/runs?limit=500"))
        .await
        .and_then(|r| r.error_for_status())
        .expect("GET /api/runs")
        .json()
        .await
        .expect("/api/runs is JSON");
    body["runs"].as_array().cloned().unwrap_or_default()
}

async fn api_runs_in(url: &str, state: &str) -> Vec<Value> {
    api_runs(url)
        .await
        .into_iter()
        .filter(|r| r["state"] == state)
        .collect()
}

/// Waits until the stand-in has answered `n` comment polls, then past the second they
/// started in: polling starts at its first poll (a fresh install ignores older comments),
/// in whole seconds, so comments made after this are new to every poller.
async fn wait_for_polls(standin: &Standin, n: usize) {
    eventually("the first polls", 30, || async {
        standin
            .requests()
            .iter()
            .filter(|r| r.contains("/issues/comments"))
            .count()
            >= n
    })
    .await;
    tokio::time::sleep(Duration::from_millis(1100)).await;
}

/// What the stand-in shows for one PR: final statuses and the bot's comments.
pub(crate) fn final_statuses(standin: &Standin, repo: &RepoName, sha: &str) -> Vec<String> {
    standin
        .statuses(repo, sha)
        .into_iter()
        .map(|s| s.state)
        .filter(|s| s != "pending")
        .collect()
}

fn bot_comments(standin: &Standin, repo: &RepoName, pr: u64) -> Vec<String> {
    standin
        .comments(repo, pr)
        .into_iter()
        .filter(|c| c.author == BOT)
        .map(|c| c.body)
        .collect()
}

/// Waits (20 s) for the final status of `sha`, then asserts the PR got exactly one, a
/// success, and exactly one sticky comment of the bot, which it returns. `what` names the PR.
async fn assert_one_success_and_one_sticky(
    standin: &Standin,
    repo: &RepoName,
    sha: &str,
    pr: u64,
    what: &str,
) -> String {
    eventually("the final status is posted", 20, || async {
        !final_statuses(standin, repo, sha).is_empty()
    })
    .await;
    assert_eq!(
        final_statuses(standin, repo, sha),
        ["success"],
        "{what}: one final status"
    );
    let mut sticky = bot_comments(standin, repo, pr);
    assert_eq!(sticky.len(), 1, "{what}: one sticky comment: {sticky:#?}");
    sticky.remove(0)
}

fn has_results(runs_dir: &Path, id: i64) -> bool {
    runs_dir.join(id.to_string()).join("results.json").is_file()
}

/// Two `ccci serve` processes (two hosts, own state each) share one PostgreSQL database
/// and poll the same forge: four `!testme` comments on four PRs → four jobs, each run
/// exactly once (its run dir on exactly one host), each PR with one final status and one
/// sticky comment.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_serve_processes_on_one_postgres_run_each_job_exactly_once() {
    if !swarm_ready() {
        return;
    }
    let Some(db) = fresh_pg_database().await else {
        return;
    };
    let rig = Rig::new();
    let names = ["stat-a", "stat-b", "stat-c", "stat-d"];
    let recipes: Vec<(PathBuf, String)> = names
        .iter()
        .map(|n| static_recipe(&rig, n, Uptime::NotWaited))
        .collect();
    let (standin, repos) = standin(&names).await;
    let repo_paths: Vec<(&RepoName, &Path)> = repos
        .iter()
        .zip(&recipes)
        .map(|(r, (p, _))| (r, p.as_path()))
        .collect();
    let spec = |name| HostSpec {
        name,
        database: &db,
        lease_secs: 30,
        shutdown_grace_secs: 5,
    };
    let a = host(
        rig.dir.path(),
        spec("host-a"),
        &standin.base_url(),
        &repo_paths,
    );
    let b = host(
        rig.dir.path(),
        spec("host-b"),
        &standin.base_url(),
        &repo_paths,
    );
    let mut hosts = Hosts::default();
    // Both at once on a fresh database: their migrations race, as two hosts' would.
    hosts.spawn(&a);
    hosts.spawn(&b);
    hosts.wait_healthy(&a).await;
    hosts.wait_healthy(&b).await;
    wait_for_polls(&standin, 2 * names.len()).await;

    let mut prs = Vec::new();
    for (repo, (_, sha)) in repos.iter().zip(&recipes) {
        let pr = standin.open_pull(repo, "change", sha);
        standin.add_comment(repo, pr, "alice", TESTME);
        prs.push(pr);
    }
    eventually("four runs done", 480, || async {
        api_runs_in(&a.url, "done").await.len() == names.len()
    })
    .await;

    let runs = api_runs(&b.url).await;
    assert_eq!(runs.len(), names.len(), "one job per comment: {runs:#?}");
    let mut per_host: BTreeMap<String, usize> = BTreeMap::new();
    for run in &runs {
        let id = run["id"].as_i64().unwrap();
        assert_eq!(run["verdict"], "green", "{run:#}");
        assert_eq!(run["attempts"], 0, "never re-queued: {run:#}");
        let (in_a, in_b) = (has_results(&a.runs_dir, id), has_results(&b.runs_dir, id));
        assert!(
            in_a != in_b,
            "run {id} ran on exactly one host (a: {in_a}, b: {in_b})"
        );
        let host = run["host"].as_str().unwrap();
        assert_eq!(host, if in_a { "host-a" } else { "host-b" }, "{run:#}");
        *per_host.entry(host.to_string()).or_default() += 1;
    }
    for ((repo, (_, sha)), pr) in repos.iter().zip(&recipes).zip(&prs) {
        assert_one_success_and_one_sticky(&standin, repo, sha, *pr, &format!("{repo} #{pr}")).await;
    }
    eprintln!("runs per host: {per_host:?}");
    hosts.stop("host-a", 60).await;
    hosts.stop("host-b", 60).await;
}

/// A host killed (SIGKILL) mid-run: its job stays claimed until the short lease expires,
/// then the other process runs it to green. The dead run's app stays on the swarm (the
/// survivor's janitor does not know its owner, and it is young) until a `ccci serve` starts
/// again on the dead host's state dir: its boot-time janitor sees the owner dead and reaps it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_serve_process_killed_mid_run_is_recovered_and_its_leftovers_reaped_at_restart() {
    if !swarm_ready() {
        return;
    }
    let Some(db) = fresh_pg_database().await else {
        return;
    };
    let rig = Rig::new();
    let (path, sha) = static_recipe(&rig, "stat-k", Uptime::Waited);
    let (standin, repos) = standin(&["stat-k"]).await;
    let repo = &repos[0];
    let repo_paths = [(repo, path.as_path())];
    let host_with_lease = |name, lease_secs| {
        let spec = HostSpec {
            name,
            database: &db,
            lease_secs,
            shutdown_grace_secs: 5,
        };
        host(rig.dir.path(), spec, &standin.base_url(), &repo_paths)
    };
    let doomed = host_with_lease("doomed", 4);
    let survivor = host_with_lease("survivor", 30);
    let mut hosts = Hosts::default();
    hosts.start(&doomed).await;
    wait_for_polls(&standin, 1).await;
    let pr = standin.open_pull(repo, "change", &sha);
    standin.add_comment(repo, pr, "alice", TESTME);

    // Kill it once its app is on the swarm.
    let mut stack = String::new();
    eventually("the doomed host deploys the app", 120, || {
        let found = registered_stack(&doomed.state_dir)
            .filter(|s| !engine_objects("service", s).is_empty());
        if let Some(s) = &found {
            stack = s.clone();
        }
        async move { found.is_some() }
    })
    .await;
    let running = api_runs_in(&doomed.url, "running").await;
    assert_eq!(running.len(), 1, "{running:#?}");
    assert_eq!(running[0]["host"], "doomed");
    let id = running[0]["id"].as_i64().unwrap();
    hosts.signal("doomed", libc::SIGKILL);
    let killed_at = now_millis();
    hosts.wait_exit("doomed", 10).await;

    hosts.start(&survivor).await;
    eventually("the survivor runs the job to the end", 300, || async {
        api_runs_in(&survivor.url, "done").await.len() == 1
    })
    .await;
    let runs = api_runs(&survivor.url).await;
    assert_eq!(runs.len(), 1, "{runs:#?}");
    let run = &runs[0];
    assert_eq!(run["id"], id);
    assert_eq!(
        (&run["verdict"], &run["host"], &run["attempts"]),
        (
            &Value::from("green"),
            &Value::from("survivor"),
            &Value::from(1)
        ),
        "re-queued once and run to green by the survivor: {run:#}"
    );
    let started = run["started_at"].as_i64().unwrap();
    eprintln!(
        "re-run started {} ms after the kill (lease 4 s)",
        started - killed_at
    );
    // The lease was renewed every third of its 4 s, so at the kill it had > 2.6 s left.
    assert!(
        started >= killed_at + 2_000,
        "re-queued only once the lease expired (started {} ms after the kill)",
        started - killed_at
    );
    assert!(has_results(&survivor.runs_dir, id));
    assert!(
        !has_results(&doomed.runs_dir, id),
        "the killed run wrote no results"
    );
    assert_one_success_and_one_sticky(&standin, repo, &sha, pr, &format!("{repo} #{pr}")).await;

    // The killed run's app is still there: no one has reaped it yet.
    assert!(
        !engine_objects("service", &stack).is_empty(),
        "the dead run's stack {stack} should still be up before the dead host restarts"
    );
    hosts.start(&doomed).await;
    eventually(
        "the boot-time janitor reaps the dead run's stack",
        120,
        || {
            let services = engine_objects("service", &stack);
            async move { services.is_empty() }
        },
    )
    .await;
    eventually("nothing of the dead run's stack is left", 60, || {
        let left = leftovers(&stack);
        async move { left.is_empty() }
    })
    .await;
    eventually("the dead run's registry entry is removed", 30, || {
        let entry = registered_stack(&doomed.state_dir);
        async move { entry.is_none() }
    })
    .await;
    let log = std::fs::read_to_string(&doomed.log).unwrap();
    assert!(
        log.contains(&format!("janitor: {stack}: reaped (owner dead)")),
        "the restarted host's janitor reaped it: {log}"
    );
    hosts.stop("doomed", 60).await;
    hosts.stop("survivor", 60).await;
}

fn now_millis() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

/// SIGTERM to `ccci serve` in the middle of polling, then a new process on the same SQLite
/// file: comments made before the stop, racing the stop, during the downtime and after the
/// restart each trigger exactly one job; no comment is repeated or lost.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restarting_serve_mid_polling_repeats_no_comment_and_loses_none() {
    if !swarm_ready() {
        return;
    }
    let rig = Rig::new();
    let (path, first_sha) = static_recipe(&rig, "stat-r", Uptime::NotWaited);
    // One PR per phase, each on its own commit of the recipe.
    let mut shas = vec![first_sha];
    for phase in ["racing", "downtime", "after"] {
        shas.push(commit_all(&path, &format!("PR head: {phase}")));
    }
    let (standin, repos) = standin(&["stat-r"]).await;
    let repo = &repos[0];
    let db = format!("sqlite:{}", rig.path("ccci.db").display());
    let only = host(
        rig.dir.path(),
        HostSpec {
            name: "only",
            database: &db,
            lease_secs: 30,
            shutdown_grace_secs: 120,
        },
        &standin.base_url(),
        &[(repo, path.as_path())],
    );
    let prs: Vec<u64> = shas
        .iter()
        .enumerate()
        .map(|(i, sha)| standin.open_pull(repo, &format!("pr-{i}"), sha))
        .collect();
    let mut hosts = Hosts::default();
    hosts.start(&only).await;
    wait_for_polls(&standin, 1).await;

    // Before: handled, and its run done, while the process lives.
    standin.add_comment(repo, prs[0], "alice", TESTME);
    eventually("the first run is done", 240, || async {
        api_runs_in(&only.url, "done").await.len() == 1
    })
    .await;
    // Racing: a comment, then SIGTERM at once, mid-way through polling; it is handled
    // before the stop or after the restart, never both and never neither. A run it started
    // may finish within the grace.
    standin.add_comment(repo, prs[1], "alice", TESTME);
    tokio::time::sleep(Duration::from_millis(400)).await;
    let stopping_at = now_millis();
    hosts.stop("only", 240).await;
    let seen_before_restart = standin.requests().len();
    // Downtime.
    standin.add_comment(repo, prs[2], "alice", TESTME);
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(
        standin.requests().len(),
        seen_before_restart,
        "nothing polls while the process is down"
    );
    hosts.start(&only).await;
    // After.
    standin.add_comment(repo, prs[3], "alice", TESTME);
    eventually("four runs done", 480, || async {
        api_runs_in(&only.url, "done").await.len() == 4
    })
    .await;
    // A few more polls: nothing new may appear.
    let polls = standin.requests().len();
    eventually("three more polls", 30, || async {
        standin.requests().len() >= polls + 3
    })
    .await;

    let runs = api_runs(&only.url).await;
    assert_eq!(runs.len(), 4, "one job per comment: {runs:#?}");
    let mut by_pr: BTreeMap<i64, &Value> = BTreeMap::new();
    for run in &runs {
        assert_eq!(run["verdict"], "green", "{run:#}");
        let pr = run["pr_number"].as_i64().unwrap();
        assert!(
            by_pr.insert(pr, run).is_none(),
            "PR #{pr} ran twice: {runs:#?}"
        );
    }
    let racing = &by_pr[&(prs[1] as i64)];
    eprintln!(
        "the comment racing the stop was handled {} the stop",
        if racing["enqueued_at"].as_i64().unwrap() < stopping_at {
            "before"
        } else {
            "after"
        }
    );
    for (i, (pr, sha)) in prs.iter().zip(&shas).enumerate() {
        let run = by_pr
            .get(&(*pr as i64))
            .unwrap_or_else(|| panic!("phase {i}: PR #{pr} has no run: {runs:#?}"));
        assert_eq!(run["head_sha"], sha.as_str());
        let id = run["id"].as_i64().unwrap();
        let detail: Value = reqwest::get(format!("{}/api/runs/{id}", only.url))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(detail["results"]["verdict"], "green", "{detail:#}");
        let sticky = assert_one_success_and_one_sticky(
            &standin,
            repo,
            sha,
            *pr,
            &format!("phase {i}: PR #{pr}"),
        )
        .await;
        assert!(sticky.contains(&format!("/runs/{id}")), "{sticky}");
    }
    hosts.stop("only", 60).await;
}
