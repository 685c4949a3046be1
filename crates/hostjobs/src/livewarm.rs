//! The live-warm reconciler (docs/behaviour.md §6): infra apps that stay deployed (the proxy,
//! Keycloak) are rolled to their recipe's latest release, automatically only when that is safe.
//!
//! Configuration: `<state_dir>/live-warm.toml`:
//!
//! ```toml
//! [[app]]
//! name = "proxy"                      # the app's name here (record, alerts)
//! recipe = "https://git.coopcloud.tech/coop-cloud/traefik.git"   # git URL or path
//! domain = "proxy.example.org"        # its stable domain (stack = domain with `_`)
//! stateful = false                    # snapshot volumes around an upgrade?
//! ```
//!
//! State: `<state_dir>/live-warm/<name>.json` (`{name, last_good, held, ts, stack}`, written
//! atomically) and `<state_dir>/live-warm/<name>/` (checkouts, the app's `.env`, the
//! pre-upgrade snapshot).
//!
//! The rule is [`ccci_core::livewarm::decide`]: non-major bumps whose release notes
//! (`release/<tag>` or `release/<X.Y.Z>` in the recipe repository) flag no manual step are
//! applied; anything else is held with an alert. Applying a stateful app: undeploy (data
//! kept), snapshot its volumes, deploy the latest, wait until ready (the run's readiness:
//! converged, no crash loop, health path answers). Ready → `last_good` := latest. Not ready
//! or deploy failed → undeploy, restore the snapshot, redeploy `last_good`, alert. A
//! stateless app skips the snapshot: version rollback only.
//!
//! Live-warm stacks are not runs: they are not in the active-run registry (so they never
//! count as a run in flight) and the janitor leaves them alone.

use anyhow::{Context, Result};
use ccci_adapters::alerts;
use ccci_adapters::engine::Engine;
use ccci_core::livewarm::{self as rule, Plan};
use ccci_core::readiness::{self, CrashLoopPolicy};
use ccci_core::results::Failure;
use ccci_core::suite::Suite;
use ccci_runner::app::{App, DeploySource, PROXY_NETWORK};
use ccci_runner::progress::Progress;
use ccci_runner::request::Rig;
use ccci_runner::source::{self, Checkouts};
use ccci_runner::warm;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    #[serde(default)]
    pub app: Vec<AppConfig>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AppConfig {
    pub name: String,
    /// A git URL or path of the recipe repository (annotated `X.Y.Z+app` release tags).
    pub recipe: String,
    pub domain: String,
    #[serde(default)]
    pub stateful: bool,
}

impl AppConfig {
    pub fn stack(&self) -> String {
        ccci_core::naming::stack_name(&self.domain)
    }
}

/// The record of a live-warm app.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct State {
    pub name: String,
    /// The release last seen healthy (`None` before the first healthy deploy).
    pub last_good: Option<String>,
    /// The release being held (alerted once per held release).
    #[serde(default)]
    pub held: Option<String>,
    pub ts: String,
    pub stack: String,
}

pub fn config_path(state_dir: &Path) -> PathBuf {
    state_dir.join("live-warm.toml")
}

/// The configured apps (none when there is no config file).
pub fn load_config(state_dir: &Path) -> Result<Config> {
    let path = config_path(state_dir);
    match std::fs::read_to_string(&path) {
        Ok(text) => {
            let config: Config =
                toml::from_str(&text).with_context(|| format!("reading {}", path.display()))?;
            for a in &config.app {
                if a.name.is_empty()
                    || !a
                        .name
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
                {
                    anyhow::bail!(
                        "{}: app name {:?}: use letters, digits, - and _",
                        path.display(),
                        a.name
                    );
                }
            }
            Ok(config)
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Config::default()),
        Err(e) => Err(e).with_context(|| format!("reading {}", path.display())),
    }
}

/// The stacks of the configured live-warm apps (the janitor never touches them).
pub fn stacks(state_dir: &Path) -> Vec<String> {
    load_config(state_dir)
        .map(|c| c.app.iter().map(AppConfig::stack).collect())
        .unwrap_or_default()
}

pub fn root(state_dir: &Path) -> PathBuf {
    state_dir.join("live-warm")
}

pub fn state_path(state_dir: &Path, name: &str) -> PathBuf {
    root(state_dir).join(format!("{name}.json"))
}

pub fn load_state(state_dir: &Path, name: &str) -> Result<Option<State>> {
    let path = state_path(state_dir, name);
    match std::fs::read(&path) {
        Ok(b) => Ok(Some(
            serde_json::from_slice(&b).with_context(|| format!("reading {}", path.display()))?,
        )),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e).with_context(|| format!("reading {}", path.display())),
    }
}

fn write_state(state_dir: &Path, state: &State) -> Result<()> {
    let path = state_path(state_dir, &state.name);
    ccci_adapters::atomic::write_atomic(&path, &serde_json::to_vec_pretty(state)?, None)
        .with_context(|| format!("writing {}", path.display()))
}

fn now() -> String {
    time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

/// What one reconcile did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    NoRelease,
    UpToDate {
        version: String,
    },
    /// Up to date but was not running: redeployed.
    Redeployed {
        version: String,
    },
    Installed {
        version: String,
    },
    Applied {
        from: String,
        to: String,
    },
    Held {
        from: String,
        to: String,
        reason: String,
    },
    RolledBack {
        from: String,
        to: String,
        why: String,
    },
    Failed {
        why: String,
    },
}

impl std::fmt::Display for Outcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Outcome::NoRelease => write!(f, "no release; nothing to do"),
            Outcome::UpToDate { version } => write!(f, "up to date at {version}"),
            Outcome::Redeployed { version } => write!(f, "redeployed {version} (was not running)"),
            Outcome::Installed { version } => write!(f, "installed {version}"),
            Outcome::Applied { from, to } => write!(f, "upgraded {from} → {to}; healthy"),
            Outcome::Held { from, to, reason } => {
                write!(f, "held at {from} (latest {to}): {reason}")
            }
            Outcome::RolledBack { from, to, why } => {
                write!(f, "{to} failed ({why}); rolled back to {from}")
            }
            Outcome::Failed { why } => write!(f, "FAILED: {why}"),
        }
    }
}

impl Outcome {
    /// Did the reconciler itself fail (as opposed to holding or rolling back as designed)?
    pub fn is_failure(&self) -> bool {
        matches!(self, Outcome::Failed { .. })
    }
}

/// Reconciles every configured app once, in order.
pub async fn reconcile_all(rig: &Rig, progress: &Progress) -> Result<Vec<(String, Outcome)>> {
    let config = load_config(&rig.state_dir)?;
    if config.app.is_empty() {
        return Ok(Vec::new());
    }
    let engine = Engine::connect().await?;
    engine.ensure_swarm_manager().await?;
    let mut out = Vec::new();
    for app in &config.app {
        progress.line(&format!("live-warm {}: reconciling", app.name));
        let outcome = match reconcile(&engine, rig, app, progress).await {
            Ok(o) => o,
            Err(e) => {
                let why = format!("{e:#}");
                let _ = alerts::raise(&rig.state_dir, &app.name, "failed", &why);
                Outcome::Failed { why }
            }
        };
        progress.line(&format!("live-warm {}: {outcome}", app.name));
        out.push((app.name.clone(), outcome));
    }
    Ok(out)
}

/// A checkout of the recipe at `git_ref` (`None`: the default branch, to list releases).
fn checkout(rig: &Rig, app: &AppConfig, git_ref: Option<&str>, slot: &str) -> Result<Checkouts> {
    let dir = root(&rig.state_dir).join(&app.name).join(slot);
    source::prepare_head(&app.recipe, git_ref, &dir).map_err(|e| anyhow::anyhow!("{e}"))
}

/// The release notes of `tag` in a checkout: `release/<tag>`, else `release/<X.Y.Z>`.
fn release_notes(checkouts: &Checkouts, tag: &str) -> Option<String> {
    let recipe = &checkouts.head.recipe;
    let short = tag.split('+').next().unwrap_or(tag);
    // Read inside the checkout: a note linking out of it is not read.
    [tag, short].iter().find_map(|n| {
        recipe
            .read_text(&Path::new("release").join(n))
            .ok()
            .flatten()
    })
}

/// What reconciling one live-warm app works with.
struct Reconciling<'a> {
    engine: &'a Engine,
    rig: &'a Rig,
    app: &'a AppConfig,
    progress: &'a Progress,
}

/// Brings one live-warm app to its recipe's latest release as the rule decides
/// ([`rule::decide`]): install, keep up, hold, or apply with a rollback.
pub async fn reconcile(
    engine: &Engine,
    rig: &Rig,
    app: &AppConfig,
    progress: &Progress,
) -> Result<Outcome> {
    let r = Reconciling {
        engine,
        rig,
        app,
        progress,
    };
    let state = known_state(&r).await?;
    let listing = checkout(rig, app, None, "latest")?;
    let Some(latest) = listing.releases.last().map(|r| r.tag.clone()) else {
        return Ok(Outcome::NoRelease);
    };
    let new = checkout(rig, app, Some(&latest), "latest")?;
    let notes = release_notes(&new, &latest);
    match rule::decide(state.last_good.as_deref(), Some(&latest), notes.as_deref()) {
        Plan::NoRelease => Ok(Outcome::NoRelease),
        Plan::UpToDate => keep_up(&r, &new, &state).await,
        Plan::Hold { from, to, reason } => hold(&r, state, from, to, reason),
        Plan::Install { to } => install(&r, &new, state, to).await,
        Plan::Apply { from, to } => apply(&r, &new, state, from, to).await,
    }
}

/// The app's recorded state; without a known-good version, a running app is adopted.
async fn known_state(r: &Reconciling<'_>) -> Result<State> {
    let state_dir = &r.rig.state_dir;
    let mut state = load_state(state_dir, &r.app.name)?.unwrap_or_else(|| State {
        name: r.app.name.clone(),
        stack: r.app.stack(),
        ..Default::default()
    });
    if state.last_good.is_none() {
        adopt(r.engine, r.app, &mut state, r.progress).await?;
        if state.last_good.is_some() {
            state.ts = now();
            write_state(state_dir, &state)?;
        }
    }
    Ok(state)
}

/// Records `version` as the app's known-good one (and nothing held).
fn record_good(r: &Reconciling<'_>, state: &mut State, version: &str) -> Result<()> {
    state.last_good = Some(version.to_string());
    state.held = None;
    state.ts = now();
    write_state(&r.rig.state_dir, state)
}

/// Raises the `failed` alert and says so.
fn failed(r: &Reconciling<'_>, why: String) -> Result<Outcome> {
    alerts::raise(&r.rig.state_dir, &r.app.name, "failed", &why)?;
    Ok(Outcome::Failed { why })
}

/// Up to date: redeployed if it is not running.
async fn keep_up(r: &Reconciling<'_>, new: &Checkouts, state: &State) -> Result<Outcome> {
    let stack = r.app.stack();
    let version = state.last_good.clone().unwrap_or_default();
    if warm::deployed(r.engine, &stack).await? {
        return Ok(Outcome::UpToDate { version });
    }
    match deploy_ready(r.engine, r.rig, r.app, new, r.progress).await {
        Ok(()) => Ok(Outcome::Redeployed { version }),
        Err(why) => {
            let _ = warm::undeploy(r.engine, &stack).await;
            failed(r, format!("redeploying {version}: {why}"))
        }
    }
}

/// A release the rule holds back: alerted once per held version.
fn hold(
    r: &Reconciling<'_>,
    mut state: State,
    from: String,
    to: String,
    reason: String,
) -> Result<Outcome> {
    if state.held.as_deref() != Some(to.as_str()) {
        alerts::raise(
            &r.rig.state_dir,
            &r.app.name,
            "held",
            &format!("{from} → {to}: {reason}"),
        )?;
        state.held = Some(to.clone());
        state.ts = now();
        write_state(&r.rig.state_dir, &state)?;
    }
    Ok(Outcome::Held { from, to, reason })
}

/// The first deploy of the app.
async fn install(
    r: &Reconciling<'_>,
    new: &Checkouts,
    mut state: State,
    to: String,
) -> Result<Outcome> {
    match deploy_ready(r.engine, r.rig, r.app, new, r.progress).await {
        Ok(()) => {
            record_good(r, &mut state, &to)?;
            Ok(Outcome::Installed { version: to })
        }
        Err(why) => {
            let _ = warm::undeploy(r.engine, &r.app.stack()).await;
            failed(r, format!("first deploy of {to}: {why}"))
        }
    }
}

/// An upgrade `from` → `to`: a stateful app is snapshotted first; a new version that is not
/// healthy is rolled back.
async fn apply(
    r: &Reconciling<'_>,
    new: &Checkouts,
    mut state: State,
    from: String,
    to: String,
) -> Result<Outcome> {
    let snapshot = root(&r.rig.state_dir).join(&r.app.name).join("snapshot");
    if r.app.stateful {
        if let Err(e) = undeploy_and_snapshot(r.engine, &r.app.stack(), &snapshot).await {
            // Nothing changed yet but the app being down: bring last_good back.
            let why = format!("snapshotting before {from} → {to} failed: {e}");
            let why = match redeploy(r.engine, r.rig, r.app, &from, r.progress).await {
                Ok(()) => format!("{why}; {from} redeployed, the upgrade not applied"),
                Err(again) => format!("{why}; redeploying {from} failed too: {again}"),
            };
            return failed(r, why);
        }
        r.progress
            .line(&format!("live-warm {}: snapshot taken", r.app.name));
    }
    let Err(why) = deploy_ready(r.engine, r.rig, r.app, new, r.progress).await else {
        record_good(r, &mut state, &to)?;
        return Ok(Outcome::Applied { from, to });
    };
    r.progress.line(&format!(
        "live-warm {}: {to} not healthy ({why}); rolling back to {from}",
        r.app.name
    ));
    roll_back(r, &snapshot, from, to, why.to_string()).await
}

/// Rolls a failed upgrade back: the prior version (and, stateful, the snapshot).
async fn roll_back(
    r: &Reconciling<'_>,
    snapshot: &Path,
    from: String,
    to: String,
    why: String,
) -> Result<Outcome> {
    let stack = r.app.stack();
    let rolled = async {
        warm::undeploy(r.engine, &stack)
            .await
            .map_err(|e| e.to_string())?;
        if r.app.stateful {
            warm::restore(r.engine, &stack, snapshot)
                .await
                .map_err(|e| e.to_string())?;
        }
        redeploy(r.engine, r.rig, r.app, &from, r.progress)
            .await
            .map_err(|e| e.to_string())
    }
    .await;
    if let Err(again) = rolled {
        return failed(
            r,
            format!("{from} → {to} failed: {why}; the rollback to {from} failed too: {again}"),
        );
    }
    alerts::raise(
        &r.rig.state_dir,
        &r.app.name,
        "rolled_back",
        &format!(
            "{from} → {to} failed: {why}; rolled back to {from}{}",
            if r.app.stateful {
                " and its data snapshot"
            } else {
                ""
            }
        ),
    )?;
    Ok(Outcome::RolledBack { from, to, why })
}

/// An infra app already running without a record (deployed by hand, or before cc-ci kept
/// one) is adopted at the version its `app` service is labelled with, so the rule's gates
/// (a major bump is held) apply to it instead of a blind install of the latest release.
async fn adopt(
    engine: &Engine,
    app: &AppConfig,
    state: &mut State,
    progress: &Progress,
) -> Result<()> {
    let stack = app.stack();
    if !warm::deployed(engine, &stack).await? {
        return Ok(());
    }
    let label = format!("coop-cloud.{stack}.version");
    let service = format!("{stack}_{}", ccci_runner::app::MAIN_SERVICE);
    if let Some(version) = engine.service_label(&service, &label).await.ok().flatten() {
        progress.line(&format!(
            "live-warm {}: adopting the running app at {version} (no record yet)",
            app.name
        ));
        state.last_good = Some(version);
    }
    Ok(())
}

/// Undeploys a stateful app (data kept) and snapshots its volumes into `dir`.
async fn undeploy_and_snapshot(
    engine: &Engine,
    stack: &str,
    dir: &Path,
) -> Result<(), warm::WarmError> {
    warm::undeploy(engine, stack).await?;
    let _ = std::fs::remove_dir_all(dir);
    warm::snapshot(engine, stack, dir).await.map(|_| ())
}

/// Why a live-warm deploy did not end ready; `Display` is the text alerts carry.
#[derive(Debug, thiserror::Error)]
enum DeployError {
    /// The release could not be checked out.
    #[error("{0:#}")]
    Checkout(anyhow::Error),
    /// The recipe, its suite or its app plan is not valid.
    #[error(transparent)]
    Input(#[from] ccci_runner::recipe::InputError),
    /// A network, the secrets or the deploy failed on the engine.
    #[error("{0:#}")]
    Engine(anyhow::Error),
    /// Deployed, but not ready within the suite's `deploy_timeout`.
    #[error("{}", not_ready_text(.0))]
    NotReady(Failure),
}

/// A readiness failure in one line: the service, the message and the task's error.
fn not_ready_text(f: &Failure) -> String {
    let service = f
        .service
        .as_ref()
        .map(|s| format!("{s}: "))
        .unwrap_or_default();
    match &f.task_error {
        Some(e) => format!("{service}{} ({e})", f.message),
        None => format!("{service}{}", f.message),
    }
}

/// Deploys the recipe's release `version` again (the rollback to `last_good`).
async fn redeploy(
    engine: &Engine,
    rig: &Rig,
    app: &AppConfig,
    version: &str,
    progress: &Progress,
) -> Result<(), DeployError> {
    let prior = checkout(rig, app, Some(version), "prior").map_err(DeployError::Checkout)?;
    deploy_ready(engine, rig, app, &prior, progress).await
}

/// Deploys the checkout's version on the app's stable domain and waits until it is ready.
async fn deploy_ready(
    engine: &Engine,
    rig: &Rig,
    cfg: &AppConfig,
    checkouts: &Checkouts,
    progress: &Progress,
) -> Result<(), DeployError> {
    let recipe = &checkouts.head.recipe;
    let version = checkouts.head.version.clone();
    let (suite, suite_dir) = ccci_runner::integrity::load_suite(recipe, None)?;
    let work_dir = root(&rig.state_dir).join(&cfg.name).join("work");
    let mut rig = rig.clone();
    if rig.forwarder_on_proxy.is_none() {
        rig.forwarder_on_proxy = Some(engine.runs_on_network(PROXY_NETWORK).await);
    }
    let app = App::plan_on_domain(
        recipe,
        &suite,
        suite_dir.as_deref(),
        &rig,
        &version,
        cfg.domain.clone(),
        &work_dir,
    )?;
    let model = app.preflight(engine, recipe).await?;
    for (network, external) in &model.networks {
        if *external {
            engine
                .ensure_rig_network(network)
                .await
                .map_err(DeployError::Engine)?;
        }
    }
    // Secrets are created once and kept across versions (like abra's).
    let existing = engine
        .stack_objects(&app.stack)
        .await
        .map_err(DeployError::Engine)?
        .secrets;
    for (spec, value) in &app.secrets {
        if !existing.contains(&spec.engine_name) {
            engine
                .create_secret(&app.stack, &spec.engine_name, value)
                .await
                .map_err(DeployError::Engine)?;
        }
    }
    progress.line(&format!("live-warm {}: deploying {version}", cfg.name));
    let mut app = app;
    let source = DeploySource {
        recipe,
        version: version.clone(),
        chaos_commit: None,
    };
    app.deploy(engine, &source, &Progress::quiet())
        .await
        .map_err(DeployError::Engine)?;
    wait_ready(engine, &app, &suite, progress).await
}

/// The run's readiness, for an app outside a run: converged with no crash loop
/// ([`readiness::History::judge`]) and the suite's health path answering 2xx, within its
/// `deploy_timeout`.
async fn wait_ready(
    engine: &Engine,
    app: &App,
    suite: &Suite,
    progress: &Progress,
) -> Result<(), DeployError> {
    let history = std::sync::Mutex::new(readiness::History::default());
    history
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .deployed(ccci_adapters::clock::now_ms());
    let secrets: Vec<_> = app.secrets.iter().map(|(_, v)| v.clone()).collect();
    let watch = ccci_runner::ready::Watch {
        engine,
        app,
        suite,
        depends_on: &Default::default(),
        history: &history,
        policy: CrashLoopPolicy {
            start_grace_ms: suite.start_grace_secs as i64 * 1000,
            ..CrashLoopPolicy::default()
        },
        progress,
        redactor: &ccci_core::secret::Redactor::new(secrets),
    };
    ccci_runner::ready::until_ready(&watch)
        .await
        .map_err(DeployError::NotReady)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_parses_and_rejects_bad_names() {
        let dir = std::env::temp_dir().join(format!("ccci-lw-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        assert!(load_config(&dir).unwrap().app.is_empty());
        std::fs::write(
            config_path(&dir),
            "[[app]]\nname = \"proxy\"\nrecipe = \"/r/traefik\"\ndomain = \"proxy.ci.local\"\n\n[[app]]\nname = \"kc\"\nrecipe = \"/r/kc\"\ndomain = \"sso.ci.local\"\nstateful = true\n",
        )
        .unwrap();
        let c = load_config(&dir).unwrap();
        assert_eq!(c.app.len(), 2);
        assert!(!c.app[0].stateful && c.app[1].stateful);
        assert_eq!(stacks(&dir), vec!["proxy_ci_local", "sso_ci_local"]);
        std::fs::write(
            config_path(&dir),
            "[[app]]\nname = \"../x\"\nrecipe = \"r\"\ndomain = \"d\"\n",
        )
        .unwrap();
        assert!(load_config(&dir).is_err());
        std::fs::write(
            config_path(&dir),
            "[[app]]\nname = \"x\"\nrecipe = \"r\"\ndomain = \"d\"\ntypo = 1\n",
        )
        .unwrap();
        assert!(load_config(&dir).is_err());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
