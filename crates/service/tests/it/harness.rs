//! A `ccci serve` under test: a Gitea stand-in (named as such: Gitea cannot run here), a
//! store, a listener on 127.0.0.1:0, and an executor — the real runner for the swarm tests,
//! or [`ScriptedExecutor`] for tests of scheduling and forge plumbing only.

use ccci_core::results::RunResults;
use ccci_core::run_end::RunEnd;
use ccci_core::secret::{Redactor, Secret};
use ccci_forge::gitea_standin::Standin;
use ccci_forge::{Permission, RepoName};
use ccci_runner::request::RunRequest;
use ccci_service::config::{self, Config};
use ccci_service::executor::{Executor, RunFuture};
use ccci_service::job::{JobFilter, JobState};
use ccci_service::store::Store;
use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

pub const BOT: &str = "ccci-bot";
pub const BOT_TOKEN: &str = "bot-token-0123456789";
pub const HOOK_SECRET: &str = "hook-secret-abcdef";

/// How a scripted run behaves, by recipe.
#[derive(Clone, Debug)]
pub enum Script {
    /// Green L4 after this long.
    Pass(Duration),
    /// Never finishes on its own; ends (red) when the service shuts down, cancelled when
    /// a person cancels it.
    Wedge,
    /// Green after walking install then upgrade, each saying `lines` log lines, one every
    /// `every`, through the runner's own live files ([`live_rungs`]).
    Live { lines: usize, every: Duration },
    /// Green, told through the request's `on_verdict` as soon as its artefacts are written;
    /// then this long more before it returns (a quick run putting its canonical back).
    ReportsFirst(Duration),
}

/// A secret the [`Script::Live`] run prints in its log: the live log must show it redacted.
pub const LIVE_SECRET: &str = "live-secret-5f3a9c";

/// A run's progress as the real runner reports it in the service (`Progress::live`, the
/// files the run page streams): install then upgrade, `lines` lines each, `every` apart;
/// the first line of install names [`LIVE_SECRET`].
async fn live_rungs(out_dir: &Path, lines: usize, every: Duration, cancel: &CancellationToken) {
    use ccci_core::ladder::{Rung, RungStatus};
    let progress = ccci_runner::progress::Progress::live(out_dir);
    progress.arm(&Redactor::new([Secret::new(LIVE_SECRET)]));
    progress.rungs_planned(&[Rung::Install, Rung::Upgrade]);
    for rung in [Rung::Install, Rung::Upgrade] {
        progress.line(&format!("── {rung}"));
        progress.rung_started(rung);
        let t = std::time::Instant::now();
        for i in 0..lines {
            if rung == Rung::Install && i == 0 {
                progress.line(&format!("   the admin password is {LIVE_SECRET}"));
            }
            progress.line(&format!("   {rung} line {i}"));
            tokio::select! {
                _ = tokio::time::sleep(every) => {}
                _ = cancel.cancelled() => return,
            }
        }
        progress.rung_finished(&ccci_core::results::RungResult {
            name: rung,
            status: RungStatus::Pass,
            reason: None,
            skip: None,
            duration_ms: t.elapsed().as_millis() as u64,
            tests: Vec::new(),
        });
        progress.line(&format!("   {rung}: pass"));
    }
}

/// An executor that writes real artefacts (results.json, card) but deploys nothing.
#[derive(Default)]
pub struct ScriptedExecutor {
    pub scripts: HashMap<String, Script>,
    /// `(run id, recipe, started?)` in start order; `false` entries are ends.
    pub log: Mutex<Vec<(String, String, bool)>>,
}

impl ScriptedExecutor {
    pub fn with(scripts: &[(&str, Script)]) -> Arc<ScriptedExecutor> {
        Arc::new(ScriptedExecutor {
            scripts: scripts
                .iter()
                .map(|(r, s)| (r.to_string(), s.clone()))
                .collect(),
            log: Mutex::new(Vec::new()),
        })
    }

    pub fn started(&self) -> Vec<String> {
        self.log
            .lock()
            .unwrap()
            .iter()
            .filter(|e| e.2)
            .map(|e| e.0.clone())
            .collect()
    }
}

/// Runs `executor` as an `Arc<dyn Executor>` while the test keeps a typed handle.
pub struct Shared(pub Arc<ScriptedExecutor>);

impl Executor for Shared {
    fn run(&self, request: RunRequest, cancel: CancellationToken) -> RunFuture {
        let me = self.0.clone();
        Box::pin(async move {
            let recipe = request
                .recipe_source
                .rsplit('/')
                .next()
                .unwrap_or("")
                .trim_end_matches(".git")
                .to_string();
            let id = request.run_id.clone().unwrap_or_default();
            me.log
                .lock()
                .unwrap()
                .push((id.clone(), recipe.clone(), true));
            let script = me
                .scripts
                .get(&recipe)
                .cloned()
                .unwrap_or(Script::Pass(Duration::from_millis(200)));
            let mut results = ccci_report::fixtures::green_l4();
            results.recipe = recipe.clone();
            results.run_id = id.clone();
            results.run_url = request.run_url.clone();
            results.head_commit = request.git_ref.clone();
            if request.quick {
                results.mode = ccci_core::results::RunMode::Quick;
            }
            let user_cancel = request.user_cancel.clone();
            let stopped = async {
                tokio::select! {
                    _ = cancel.cancelled() => RunEnd::RED,
                    _ = user_cancel.cancelled() => RunEnd::Cancelled,
                }
            };
            match script {
                Script::Pass(d) => {
                    tokio::select! {
                        _ = tokio::time::sleep(d) => {}
                        end = stopped => { results.end = end; results.flags.interrupted = true; }
                    }
                }
                Script::Live { lines, every } => {
                    live_rungs(&request.out_dir, lines, every, &cancel).await;
                }
                Script::ReportsFirst(d) => {
                    ccci_report::write_run_dir(&request.out_dir, &results, &Redactor::new([]))?;
                    request.on_verdict.call(&results).await;
                    tokio::time::sleep(d).await;
                }
                Script::Wedge => {
                    results.end = stopped.await;
                    results.level = 0;
                    results.flags.interrupted = true;
                }
            }
            ccci_report::write_run_dir(&request.out_dir, &results, &Redactor::new([]))?;
            me.log.lock().unwrap().push((id, recipe, false));
            Ok::<RunResults, anyhow::Error>(results)
        })
    }
}

/// A stand-in with one repository per recipe, `alice` a writer, the bot an admin.
pub async fn standin(recipes: &[&str]) -> (Standin, Vec<RepoName>) {
    let standin = Standin::start().await.expect("start the Gitea stand-in");
    standin.add_token(BOT_TOKEN, BOT);
    let mut repos = Vec::new();
    for recipe in recipes {
        let repo = standin.add_repo(&format!("coop-cloud/{recipe}")).unwrap();
        standin.set_permission(&repo, BOT, Permission::Admin);
        standin.set_permission(&repo, "alice", Permission::Write);
        standin.set_permission(&repo, "mallory", Permission::Read);
        repos.push(repo);
    }
    (standin, repos)
}

/// A configuration as an operator would write it, pointing at the stand-in.
pub fn config(
    dir: &Path,
    db_url: &str,
    forge_url: &str,
    recipes: &[&str],
    capacity: u32,
    host: &str,
) -> Config {
    let token_file = dir.join("token");
    std::fs::write(&token_file, BOT_TOKEN).unwrap();
    let secret_file = dir.join("hook-secret");
    std::fs::write(&secret_file, HOOK_SECRET).unwrap();
    let repos: Vec<String> = recipes
        .iter()
        .map(|r| format!("\"coop-cloud/{r}\""))
        .collect();
    let text = format!(
        r#"
host_id = "{host}"
listen = "127.0.0.1:0"
public_url = "http://ci.test"
database = "{db_url}"
capacity = {capacity}
runs_dir = "{runs}"
lease_secs = 3
claim_interval_secs = 1
shutdown_grace_secs = 2

[forge]
url = "{forge_url}"
token_file = "{token}"
repos = [{repos}]
bot_login = "{BOT}"
poll_interval_secs = 1
# The stand-in delivers only when a test asks it to: repositories on the webhook serve
# registers are polled every second too.
webhook_poll_interval_secs = 1

[webhook]
secret_files = ["{secret}"]

[rig]
ci_domain = "ci.local"
state_dir = "{state}"
# No picture of the landing page: cosmetic, and not these tests' subject.
screenshots = false
"#,
        runs = dir.join("runs").display(),
        token = token_file.display(),
        repos = repos.join(", "),
        secret = secret_file.display(),
        state = dir.join("state").display(),
    );
    let path = dir.join(format!("{host}.toml"));
    std::fs::write(&path, &text).unwrap();
    config::from_str(&text, &path, &|_| None).unwrap_or_else(|e| panic!("{e}"))
}

/// A running `ccci serve`, on its own runtime so that killing it kills every task it
/// spawned, as the death of a host's process would.
pub struct Server {
    pub url: String,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<anyhow::Result<()>>>,
    runtime: Option<tokio::runtime::Runtime>,
}

impl Server {
    pub async fn start(config: Config, executor: Arc<dyn Executor>) -> Server {
        let (listener, _) = bound();
        Server::start_on(listener, config, executor).await
    }

    /// [`Server::start`] on a listener [`bound`] before (its URL goes into the config,
    /// e.g. as the webhook URL the forge delivers to).
    pub async fn start_on(
        std_listener: std::net::TcpListener,
        config: Config,
        executor: Arc<dyn Executor>,
    ) -> Server {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        std_listener.set_nonblocking(true).unwrap();
        let url = format!("http://{}", std_listener.local_addr().unwrap());
        let (tx, rx) = oneshot::channel::<()>();
        let task = runtime.spawn(async move {
            let listener = tokio::net::TcpListener::from_std(std_listener)?;
            ccci_service::serve::serve_on(config, executor, listener, async {
                let _ = rx.await;
            })
            .await
        });
        let server = Server {
            url,
            stop: Some(tx),
            task: Some(task),
            runtime: Some(runtime),
        };
        // Ready when /healthz answers.
        let client = reqwest::Client::new();
        for _ in 0..100 {
            if let Ok(r) = client.get(format!("{}/healthz", server.url)).send().await {
                if r.status().is_success() {
                    return server;
                }
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("ccci serve did not come up");
    }

    /// Graceful shutdown; returns once serve returned (bounded).
    pub async fn stop(mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            // Its runs' grace and the HTTP close bound are seconds here; the rest is room
            // for a loaded machine.
            let bound = Duration::from_secs(120);
            let asked = std::time::Instant::now();
            match tokio::time::timeout(bound, task).await {
                Ok(Ok(Ok(()))) => {}
                Ok(Ok(Err(e))) => panic!("serve ended with an error when stopped: {e:#}"),
                Ok(Err(e)) => panic!("serve's task failed when stopped: {e}"),
                Err(_) => panic!(
                    "serve did not stop within {bound:?} of being asked ({:.1} s)",
                    asked.elapsed().as_secs_f64()
                ),
            }
        }
    }

    /// Kills the server as a dead host dies: every task stops where it is; no shutdown,
    /// no lease release.
    pub fn kill(mut self) {
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

/// A listener on a free loopback port, and its URL.
pub fn bound() -> (std::net::TcpListener, String) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    (listener, url)
}

/// Makes polling count comments from an hour ago on (a fresh install would start now).
pub async fn poll_from_an_hour_ago(store: &Store) {
    let start = time::OffsetDateTime::now_utc().unix_timestamp() - 3600;
    store
        .set_cursor(ccci_service::intake::START_KEY, &start.to_string(), 0)
        .await
        .unwrap();
}

/// Waits (bounded) until `check` holds.
pub async fn eventually<F, Fut>(what: &str, timeout: Duration, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        if check().await {
            return;
        }
        if tokio::time::Instant::now() > deadline {
            panic!("timed out after {timeout:?} waiting for: {what}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Waits (bounded) until a run on `sha` is reported as the PR shows it: the commit's last
/// status is `state` (`success`, `warning`, `error`, …) and, with `comment: Some((pr,
/// text))`, a comment of the bot on `pr` contains `text` (the card's link, who cancelled).
/// The status is posted first, then the sticky comment's final edit: this waits for both.
pub async fn wait_reported(
    standin: &Standin,
    repo: &RepoName,
    sha: &str,
    state: &str,
    comment: Option<(u64, &str)>,
) {
    let what = match comment {
        Some((pr, text)) => format!("status {state} on {sha} and a comment on #{pr} with {text:?}"),
        None => format!("status {state} on {sha}"),
    };
    eventually(&what, Duration::from_secs(20), || async {
        standin
            .statuses(repo, sha)
            .last()
            .is_some_and(|s| s.state == state)
            && comment.is_none_or(|(pr, text)| {
                standin
                    .comments(repo, pr)
                    .iter()
                    .any(|c| c.author == BOT && c.body.contains(text))
            })
    })
    .await;
}

pub async fn jobs_in(store: &Store, state: JobState) -> Vec<ccci_service::job::Job> {
    store
        .jobs(&JobFilter {
            state: Some(state),
            limit: Some(1000),
            ..JobFilter::default()
        })
        .await
        .unwrap()
}

pub fn secret() -> Secret {
    Secret::new(HOOK_SECRET)
}

/// The body of `GET url`, which must answer 200 OK.
pub async fn page_text(url: &str) -> String {
    let response = reqwest::get(url)
        .await
        .unwrap_or_else(|e| panic!("GET {url}: {e}"));
    assert_eq!(response.status(), 200, "{url}");
    response.text().await.unwrap()
}
