//! One cold run: plan → preflight → register → deploy and walk the rungs → capture logs →
//! tear down → results. Teardown runs whatever happened: a failed rung, the deadline, or
//! cancellation (Ctrl-C). A failing rung is a *result*, not an error; `Err` means the run
//! could not start (bad input, no engine) and nothing was created.

use crate::app::{App, DeploySource};
use crate::engine::{Engine, Keep, StackObjects};
use crate::progress::Progress;
use crate::recipe::{InputError, Recipe};
use crate::request::RunRequest;
use crate::rungs;
use crate::source::{self, Checkouts};

use crate::{registry, stack};
use anyhow::{Context, Result};
use ccci_core::deploy_error;
use ccci_core::ladder::{self, Rung, RungStatus};
use ccci_core::readiness::{self, CrashLoopPolicy, Judgement};
use ccci_core::results::{Failure, RunFlags, RunMode, RunResults, RungResult, SCHEMA_VERSION};
use ccci_core::secret::Redactor;
use ccci_core::suite::Suite;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

/// Why a run stopped before its rungs were done.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stop {
    Interrupted,
    Deadline,
}

impl Stop {
    fn message(self) -> &'static str {
        match self {
            Stop::Interrupted => "interrupted (Ctrl-C or shutdown); torn down",
            Stop::Deadline => "the run's hard deadline passed; torn down",
        }
    }
}

/// Everything a rung needs.
pub struct RunCtx {
    pub engine: Engine,
    pub app: App,
    pub suite: Suite,
    pub suite_dir: Option<PathBuf>,
    pub checkouts: Checkouts,
    pub out_dir: PathBuf,
    pub progress: Progress,
    pub redactor: Redactor,
    pub deploy_count: u32,
    pub timings: BTreeMap<String, u64>,
    /// What earlier observations of the stack showed (services still starting, tasks that
    /// were up, the last deploy): the readiness waits and the stays-up watcher both feed it
    /// and judge with it, so patience and "stays up" see every observation. A std mutex,
    /// never held across an await.
    pub history: std::sync::Arc<std::sync::Mutex<readiness::History>>,
    /// `depends_on` of the deployed checkout's services (compose; swarm ignores it).
    pub depends_on: BTreeMap<String, Vec<String>>,
    pub head_version: Option<String>,
    /// The first failure of the run, with its details (service, task error, log tail).
    pub first_failure: Option<Failure>,
    /// `--extra`: also run the suite's heavy opt-in tests (`tests/extra/`).
    pub extra: bool,
    /// A quick run: the warm canonical it reattaches (install = reattach its known-good
    /// version with its kept secrets and volumes).
    pub warm: Option<crate::warm::Attached>,
    /// Which suite judges the run (`suite`, `suite_dir`) and what of the head's own `.ccci/`
    /// was ignored or runs as extra checks (SPEC §6, integrity).
    pub judged_by: crate::integrity::JudgedBy,
}

impl RunCtx {
    pub fn add_timing(&mut self, phase: &str, since: Instant) {
        *self.timings.entry(phase.to_string()).or_default() += since.elapsed().as_millis() as u64;
    }

    /// Deploys `source` and counts it.
    pub async fn deploy(&mut self, which: Which) -> Result<(), Failure> {
        let t = Instant::now();
        let (recipe, version, chaos) = match which {
            Which::Base => {
                let base = self
                    .checkouts
                    .base
                    .as_ref()
                    .expect("base deploy needs a base");
                (&base.recipe, base.version.clone(), None)
            }
            Which::Head => (
                &self.checkouts.head.recipe,
                self.checkouts.head.version.clone(),
                self.checkouts.head.chaos_commit.clone(),
            ),
        };
        let source = DeploySource {
            recipe,
            version: version.clone(),
            chaos_commit: chaos,
        };
        self.progress.line(&format!(
            "deploying {} {} as {}",
            self.app.recipe, version, self.app.stack
        ));
        if let Ok(model) = self.app.model(recipe) {
            self.depends_on = model
                .services
                .iter()
                .map(|(name, svc)| (name.clone(), svc.depends_on.clone()))
                .collect();
        }
        self.history_mut().deployed(now_ms());
        let result = self.app.deploy(&source).await;
        let explained = result
            .as_ref()
            .err()
            .and_then(|e| explain_deploy_error(e, recipe, &self.app));
        self.deploy_count += 1;
        self.add_timing("deploy", t);
        if matches!(which, Which::Head) {
            self.head_version = Some(version);
        }
        result.map_err(|e| Failure {
            message: self
                .redactor
                .redact(&explained.unwrap_or_else(|| format!("{e:#}"))),
            ..Default::default()
        })
    }

    /// Waits until the stack is converged and healthy, failing fast on a crash loop.
    pub async fn wait_ready(&mut self) -> Result<(), Failure> {
        let t = Instant::now();
        let result = wait_ready(self).await;
        self.add_timing("converge", t);
        result
    }

    pub fn history_mut(&self) -> std::sync::MutexGuard<'_, readiness::History> {
        self.history
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The readiness policy with the suite's start grace.
    pub fn policy(&self) -> CrashLoopPolicy {
        CrashLoopPolicy {
            start_grace_ms: self.suite.start_grace_secs as i64 * 1000,
            ..CrashLoopPolicy::default()
        }
    }

    /// The stack as the engine shows it, with each service's compose `depends_on`.
    pub async fn observe(&self) -> Result<Vec<readiness::ServiceState>, Failure> {
        let mut services = self
            .engine
            .observe_stack(&self.app.stack)
            .await
            .map_err(|e| Failure {
                message: format!("observing the stack: {e:#}"),
                ..Default::default()
            })?;
        for svc in &mut services {
            svc.depends_on = self.depends_on.get(&svc.name).cloned().unwrap_or_default();
        }
        Ok(services)
    }

    /// "Stays up": one more observation; a task that had been up and then failed fails the
    /// rung (the watcher polls between these).
    pub async fn check_stays_up(&self) -> Result<(), Failure> {
        let services = self.observe().await?;
        let fell = {
            let mut history = self.history_mut();
            history.observe(&services, now_ms(), self.policy());
            history.fell_after_up(&services)
        };
        match fell {
            Some(broken) => Err(self.failure_of(broken).await),
            None => Ok(()),
        }
    }

    /// Before GREEN: every long-running service's newest task must have stayed up for the
    /// suite's `min_uptime` since its last (re)start, observed, while nothing fails.
    pub async fn stay_up_for_min_uptime(&mut self) -> Result<(), Failure> {
        let t = Instant::now();
        let min_ms = self.suite.min_uptime_secs as i64 * 1000;
        let bound =
            Duration::from_secs(self.suite.min_uptime_secs + self.suite.deploy_timeout_secs);
        let mut announced = false;
        let result = loop {
            let services = self.observe().await?;
            let now = now_ms();
            let judged = self.history_mut().judge(&services, now, self.policy());
            let left = readiness::uptime_shortfall(&services, now, min_ms);
            match (judged, left) {
                (Judgement::Broken(broken), _) => break Err(self.failure_of(broken).await),
                (Judgement::Converged, None) => break Ok(()),
                (_, left) if t.elapsed() >= bound => {
                    break Err(Failure {
                        message: format!(
                            "the app did not stay up for min_uptime ({} s): {}",
                            self.suite.min_uptime_secs,
                            left.map(|(s, _)| format!("service {s} keeps restarting"))
                                .unwrap_or_else(|| "the stack did not converge".into())
                        ),
                        ..Default::default()
                    })
                }
                (_, Some((service, left_ms))) if !announced => {
                    announced = true;
                    self.progress.line(&format!(
                        "   staying up: {service} needs {:.0} s more of min_uptime ({} s)",
                        left_ms as f64 / 1000.0,
                        self.suite.min_uptime_secs
                    ));
                }
                _ => {}
            }
            tokio::time::sleep(Duration::from_millis(1000)).await;
        };
        self.add_timing("min_uptime", t);
        result
    }

    pub async fn failure_of(&self, broken: readiness::Broken) -> Failure {
        let log_tail = self.log_tail(&broken.service, 30).await;
        Failure {
            rung: None,
            message: self.redactor.redact(&broken.reason),
            service: Some(broken.service),
            task_error: broken.task_error.map(|e| self.redactor.redact(&e)),
            log_tail,
        }
    }

    pub async fn log_tail(&self, service: &str, lines: usize) -> Vec<String> {
        let text = stack::service_logs(&self.app.service_name(service), Some(lines))
            .await
            .unwrap_or_default();
        text.lines().map(|l| self.redactor.redact(l)).collect()
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Which {
    Base,
    Head,
}

/// A failed `docker stack deploy` the recipe author can fix, explained in the recipe's terms
/// (file, compose key, fix) and followed by docker's own line; `None` keeps docker's text.
fn explain_deploy_error(err: &anyhow::Error, recipe: &Recipe, app: &App) -> Option<String> {
    let text = format!("{err:#}");
    let stderr = text.strip_prefix(&format!("docker stack deploy {} failed: ", app.stack))?;
    let compose_files = recipe
        .compose_files(&app.env)
        .ok()?
        .iter()
        .filter_map(|f| {
            let text = std::fs::read_to_string(f).ok()?;
            let name = f
                .strip_prefix(&recipe.dir)
                .unwrap_or(f)
                .display()
                .to_string();
            Some((name, text))
        })
        .collect();
    let facts = deploy_error::RecipeFacts {
        stack: app.stack.clone(),
        compose_files,
        abra_sh: std::fs::read_to_string(recipe.dir.join("abra.sh")).ok(),
        env_sample: std::fs::read_to_string(recipe.dir.join(".env.sample")).ok(),
    };
    deploy_error::explain(stderr, &facts).map(|e| e.message())
}

pub fn now_ms() -> i64 {
    (time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000) as i64
}

pub(crate) fn rfc3339(t: time::OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

pub(crate) fn new_hex6() -> String {
    use rand::Rng;
    format!("{:06x}", rand::rng().random_range(0..0x100_0000u32))
}

/// Loads the suite of a recipe deployed as it is (a live-warm app's release): its own
/// `.ccci/suite.toml` first, then the CI's suite tree, else defaults. A run under test
/// chooses its judging suite with [`crate::integrity::resolve`] instead.
pub fn load_suite(
    recipe: &Recipe,
    suites_dir: Option<&Path>,
) -> Result<(Suite, Option<PathBuf>), InputError> {
    let candidates = [
        Some(recipe.dir.join(".ccci")),
        suites_dir.map(|d| d.join(&recipe.name)),
    ];
    for dir in candidates.into_iter().flatten() {
        let file = dir.join("suite.toml");
        if file.is_file() {
            let text = std::fs::read_to_string(&file).map_err(|e| InputError::File {
                file: file.display().to_string(),
                message: format!("cannot read: {e}"),
            })?;
            let suite =
                Suite::parse(&file.display().to_string(), &text).map_err(|e| InputError::File {
                    file: e.file.clone(),
                    message: e
                        .line
                        .map(|l| format!("line {l}: {}", e.message))
                        .unwrap_or(e.message),
                })?;
            return Ok((suite, Some(dir)));
        }
        if dir.is_dir() && !dir.ends_with(".ccci") {
            return Ok((Suite::default(), Some(dir)));
        }
    }
    Ok((Suite::default(), None))
}

/// Runs one recipe cold, end to end. See the module docs.
pub async fn run(request: RunRequest, cancel: CancellationToken) -> Result<RunResults> {
    run_with_progress(request, cancel, Progress::stderr()).await
}

pub async fn run_with_progress(
    request: RunRequest,
    cancel: CancellationToken,
    progress: Progress,
) -> Result<RunResults> {
    run_role(request, cancel, progress, Role::Run).await
}

/// What a run is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// `ccci run`: cold, or the quick lane when `--quick` and a canonical exists.
    Run,
    /// `ccci warm seed`: a cold-style run of the latest release on the stable warm domain;
    /// green → it becomes the recipe's canonical (SPEC §5 promotion).
    Seed,
}

/// The warm side of a run, decided once the recipe is known.
enum WarmRole {
    Cold,
    Seed { old: Option<crate::warm::Record> },
    Quick(crate::warm::Record),
}

pub async fn run_role(
    request: RunRequest,
    cancel: CancellationToken,
    progress: Progress,
    role: Role,
) -> Result<RunResults> {
    if role == Role::Run && crate::lint::alone(&request) {
        // `--stages lint`: the lint alone; nothing is deployed, no engine is needed.
        return crate::lint::run_alone(request, progress);
    }
    let started = time::OffsetDateTime::now_utc();
    let t0 = Instant::now();
    let deadline = tokio::time::Instant::now() + request.rig.deadline;
    let run_id = request
        .run_id
        .clone()
        .unwrap_or_else(|| format!("{}-{}", started.unix_timestamp(), new_hex6()));
    std::fs::create_dir_all(&request.out_dir)
        .with_context(|| format!("creating {}", request.out_dir.display()))?;
    let mut rig = request.rig.clone();
    let work_dir = rig.state_dir.join("runs").join(&run_id);

    // Plan and preflight: nothing is created on the engine until all of this passed, and a
    // failure here leaves no working files either.
    let mut plan_guard = RemoveOnDrop(Some(work_dir.clone()));
    let t_create = Instant::now();
    let engine = Engine::connect().await?;
    engine.ensure_swarm_manager().await?;
    // Disk pressure (SPEC §6): above the threshold, prune before this run takes more disk
    // (and before it registers, so it does not count as a run in flight itself).
    for line in crate::janitor::prune_before_run(&engine, &rig).await {
        progress.line(&line);
    }
    if rig.service_vips.is_none() {
        rig.service_vips = Some(engine.service_vips_route());
    }
    let rig = &rig;
    let mut checkouts = source::prepare_head(&request, &work_dir)?;
    // Warm: the canonical is locked for the whole seed or quick run.
    let recipe_name = checkouts.head.recipe.name.clone();
    let mut _warm_lock = None;
    let mut warm_role = match role {
        Role::Seed => {
            if request.git_ref.is_some() {
                return Err(InputError::Other(
                    "a warm seed runs the latest release; it takes no --ref".into(),
                )
                .into());
            }
            let Some(latest) = checkouts.releases.last().cloned() else {
                return Err(InputError::Other(format!(
                    "{}: no release (annotated X.Y.Z+app tag) to seed a warm canonical from",
                    request.recipe_source
                ))
                .into());
            };
            if checkouts.head.commit.as_deref() != Some(latest.commit.as_str()) {
                let at_release = RunRequest {
                    git_ref: Some(latest.tag.clone()),
                    ..request.clone()
                };
                checkouts = source::prepare_head(&at_release, &work_dir)?;
            }
            _warm_lock = Some(crate::warm::lock(&rig.state_dir, &recipe_name, rig.deadline).await?);
            WarmRole::Seed {
                old: crate::warm::load(&rig.state_dir, &recipe_name)?,
            }
        }
        Role::Run if request.quick => {
            match crate::warm::load(&rig.state_dir, &recipe_name)? {
                Some(_) => {
                    _warm_lock =
                        Some(crate::warm::lock(&rig.state_dir, &recipe_name, rig.deadline).await?);
                    // Re-read under the lock: a seed may have replaced it meanwhile.
                    match crate::warm::load(&rig.state_dir, &recipe_name)? {
                        Some(rec) if checkouts.releases.iter().any(|r| r.tag == rec.version) => {
                            WarmRole::Quick(rec)
                        }
                        Some(rec) => {
                            progress.line(&format!(
                                "note: --quick: the canonical's version {} is not a release of this repository; running cold",
                                rec.version
                            ));
                            WarmRole::Cold
                        }
                        None => WarmRole::Cold,
                    }
                }
                None => WarmRole::Cold,
            }
        }
        Role::Run => WarmRole::Cold,
    };
    // Integrity: the CI's tree, else a release's own `.ccci/`, judges; never the change.
    let (suite, suite_dir, judged_by) =
        crate::integrity::resolve(&checkouts, rig.suites_dir.as_deref(), &work_dir)?;
    // Promotion (SPEC §5): a full cold run, no ref, of an enrolled recipe (`warm = true`)
    // whose head is its latest release runs on the warm domain and, if green, re-seeds the
    // canonical (the old one is replaced only after green).
    if role == Role::Run
        && !request.quick
        && request.git_ref.is_none()
        && request.stages.is_none()
        && suite.warm
        && checkouts.releases.last().map(|r| r.commit.as_str()) == checkouts.head.commit.as_deref()
        && checkouts.head.commit.is_some()
    {
        progress.line(&format!(
            "note: {recipe_name} is enrolled for warm and this is its latest release: a green run re-seeds its canonical"
        ));
        _warm_lock = Some(crate::warm::lock(&rig.state_dir, &recipe_name, rig.deadline).await?);
        warm_role = WarmRole::Seed {
            old: crate::warm::load(&rig.state_dir, &recipe_name)?,
        };
    }
    // A quick run upgrades from the canonical's known-good version.
    let base_override = match &warm_role {
        WarmRole::Quick(rec) => Some(rec.version.clone()),
        _ => suite.upgrade_base_version.clone(),
    };
    source::prepare_base(&mut checkouts, base_override.as_deref(), &work_dir)?;
    judged_by.announce(&progress);
    match &warm_role {
        WarmRole::Quick(rec) => progress.line(&format!(
            "quick lane (fast, never gates a merge): reattaching the warm canonical {} at {} and upgrading it to the head",
            rec.domain, rec.version
        )),
        // SPEC §5: a quick run without a canonical runs cold (always correct, authoritative).
        WarmRole::Cold if request.quick && role == Role::Run => {
            progress.line("note: --quick: no warm canonical of this recipe; running cold")
        }
        _ => {}
    }
    for tag in &checkouts.stray_tags {
        progress.line(&format!(
            "note: tag {tag} is a lightweight tag, not a release (releases are annotated tags); ignored"
        ));
    }
    let head = &checkouts.head;
    let mut selected = rungs::select(&request, &suite, checkouts.base.is_some());
    if matches!(warm_role, WarmRole::Quick(_)) {
        // The quick lane is reattach → upgrade in place → functional.
        selected.upgrade = checkouts.base.is_some();
        if selected.upgrade {
            selected.skipped.remove(&Rung::Upgrade);
        }
        if selected.backup_restore {
            selected.backup_restore = false;
            selected.skipped.insert(
                Rung::BackupRestore,
                (
                    ccci_core::ladder::SkipKind::Unintentional,
                    "quick lane: not run (the fast lane asserts upgrade + functional)".into(),
                ),
            );
        }
    }
    // L5: the lint, first, before anything is deployed; an error does not stop the rungs.
    let (lint_rung, lint_report) = crate::lint::run_rung(&checkouts, &selected, &progress);
    let first_version = match (&checkouts.base, selected.upgrade) {
        (Some(base), true) => base.version.clone(),
        _ => head.version.clone(),
    };
    let app_hex = new_hex6();
    let mut app = match &warm_role {
        WarmRole::Cold => App::plan(
            &head.recipe,
            &suite,
            suite_dir.as_deref(),
            rig,
            &first_version,
            &app_hex,
            &work_dir,
        )?,
        _ => App::plan_on_domain(
            &head.recipe,
            &suite,
            suite_dir.as_deref(),
            rig,
            &first_version,
            ccci_core::naming::warm_domain(&recipe_name, &rig.ci_domain),
            &work_dir,
        )?,
    };
    if let WarmRole::Quick(rec) = &warm_role {
        // The canonical's kept env and secrets, not fresh ones.
        let path = rec.env_path(&rig.state_dir);
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("reading the canonical's env {}", path.display()))?;
        app.env = ccci_core::envfile::EnvFile::parse(&text).map_err(|e| InputError::File {
            file: path.display().to_string(),
            message: format!("line {}: {}", e.line, e.message),
        })?;
        app.env
            .set("TYPE", format!("{}:{first_version}", app.recipe));
        let stored = crate::warm::read_secrets(rec, &rig.state_dir);
        app.secrets.retain_mut(|(spec, value)| {
            match stored.iter().find(|(n, _)| *n == spec.engine_name) {
                Some((_, v)) => {
                    *value = v.clone();
                    true
                }
                None => false,
            }
        });
    }
    let create_ms = t_create.elapsed().as_millis() as u64;
    // Preflight validates the compose files and makes every image present (pulling the
    // missing ones): the "pull" phase.
    let t_pull = Instant::now();
    let model = app.preflight(&engine, &head.recipe).await?;
    if let (Some(base), true) = (&checkouts.base, selected.upgrade) {
        app.preflight(&engine, &base.recipe).await?;
    }
    let mut secret_values: Vec<_> = app.secrets.iter().map(|(_, v)| v.clone()).collect();
    if let WarmRole::Quick(rec) = &warm_role {
        secret_values.extend(
            crate::warm::read_secrets(rec, &rig.state_dir)
                .into_iter()
                .map(|(_, v)| v),
        );
    }
    let redactor = Redactor::new(secret_values);
    let mut timings = BTreeMap::new();
    timings.insert("create".to_string(), create_ms);
    timings.insert("pull".to_string(), t_pull.elapsed().as_millis() as u64);

    // SSO (SPEC §4): the realm `<recipe>-<app hex>` is named now and registered with the
    // run, so teardown and the janitor can find it whatever happens after.
    let realm = match &rig.keycloak {
        Some(config)
            if suite
                .dependencies
                .iter()
                .any(|d| d == crate::keycloak::DEPENDENCY) =>
        {
            Some(crate::keycloak::RunRealm {
                config: config.clone(),
                realm: crate::keycloak::realm_name(&app.recipe, &app_hex),
                owner: crate::keycloak::owner_of(&rig.state_dir),
            })
        }
        _ => None,
    };
    plan_guard.0 = None;
    // Registered before the app exists, so the janitor can always attribute it.
    registry::register(
        &rig.state_dir,
        &registry::ActiveRun {
            run_id: run_id.clone(),
            domain: app.domain.clone(),
            stack: app.stack.clone(),
            recipe: app.recipe.clone(),
            pid: std::process::id(),
            pid_start: registry::process_start(std::process::id()),
            started_at: started.unix_timestamp(),
            work_dir: Some(work_dir.clone()),
            realm: realm.as_ref().map(|r| r.realm.clone()),
        },
    )?;
    app.realm = realm;
    for (network, external) in &model.networks {
        if *external {
            engine.ensure_rig_network(network).await?;
        }
    }
    progress.line(&format!(
        "run {run_id}: {} → {} (stack {})",
        app.recipe, app.domain, app.stack
    ));
    for a in &app.adaptations {
        progress.line(&format!(
            "rig adaptation: {} on {} — {}",
            a.kind,
            a.services.join(", "),
            a.reason
        ));
        for n in &a.not_applied {
            progress.line(&format!("   not applied to {n}"));
        }
    }
    if let WarmRole::Seed { old } = &warm_role {
        // A seed starts cold: the old canonical's engine objects go (it stays on disk —
        // record, snapshot, env, secrets — and is re-created if this seed is not green).
        let left = teardown(&engine, &app.stack).await;
        if !left.is_empty() {
            anyhow::bail!(
                "cannot clear the warm stack {} for the seed: {}",
                app.stack,
                left.describe()
            );
        }
        if let Some(old) = old {
            progress.line(&format!(
                "seeding over the canonical at {} (kept until this seed is green)",
                old.version
            ));
        }
    }
    let attached = match &warm_role {
        WarmRole::Quick(rec) => Some(crate::warm::Attached {
            record: rec.clone(),
            state_dir: rig.state_dir.clone(),
        }),
        _ => None,
    };

    let mut ctx = RunCtx {
        engine,
        app,
        suite,
        suite_dir,
        checkouts,
        out_dir: request.out_dir.clone(),
        progress,
        redactor,
        deploy_count: 0,
        timings,
        history: Default::default(),
        depends_on: BTreeMap::new(),
        head_version: None,
        first_failure: None,
        extra: request.extra,
        warm: attached,
        judged_by,
    };

    let mut results: Vec<RungResult> = Vec::new();
    let mut stopped = None;
    let walk = rungs::walk(&mut ctx, &selected, &mut results);
    tokio::select! {
        _ = walk => {}
        _ = cancel.cancelled() => stopped = Some(Stop::Interrupted),
        _ = tokio::time::sleep_until(deadline) => stopped = Some(Stop::Deadline),
    }
    if let Some(stop) = stopped {
        rungs::mark_stopped(&mut results, &selected, stop.message());
        ctx.progress.line(stop.message());
    }
    crate::lint::place(&mut results, lint_rung);

    // A picture of the landing page while the app is up (cosmetic, best effort).
    if stopped.is_none()
        && results
            .iter()
            .any(|r| r.name == Rung::Install && r.status == RungStatus::Pass)
    {
        if let Err(why) = crate::screenshot::take(&ctx, &ctx.out_dir).await {
            ctx.progress.line(&format!("note: no screenshot: {why}"));
        }
    }
    // Logs before teardown; teardown whatever happened.
    let app_printed_secret = capture_logs(&ctx).await;
    let outcomes: Vec<_> = results.iter().map(RungResult::outcome).collect();
    let expected_na: Vec<Rung> = ctx.suite.expected_na.keys().copied().collect();
    let dependency_unverified = !ctx.suite.dependencies.is_empty()
        && results
            .iter()
            .find(|r| r.name == Rung::Integration)
            .is_none_or(|r| r.status != RungStatus::Pass);
    let green = stopped.is_none()
        && ladder::verdict(&outcomes, dependency_unverified) == ladder::Verdict::Green;
    let t_teardown = Instant::now();
    let mut warm_failure: Option<String> = None;
    let leftovers = match &warm_role {
        WarmRole::Cold => {
            ctx.progress
                .line(&format!("tearing down {}", ctx.app.stack));
            teardown(&ctx.engine, &ctx.app.stack).await
        }
        WarmRole::Seed { old } => {
            let promoted = if green {
                promote(&ctx, &rig.state_dir).await
            } else {
                Err("the seed is not green".to_string())
            };
            match promoted {
                Ok(rec) => {
                    ctx.progress.line(&format!(
                        "warm canonical of {} is now {} at {} (undeployed, data kept)",
                        rec.recipe, rec.version, rec.domain
                    ));
                    StackObjects::default()
                }
                Err(why) => {
                    if green {
                        warm_failure = Some(format!("promoting the canonical failed: {why}"));
                    }
                    ctx.progress.line(&format!(
                        "not promoted ({why}); tearing down {}",
                        ctx.app.stack
                    ));
                    let left = teardown(&ctx.engine, &ctx.app.stack).await;
                    if let Some(old) = old {
                        match crate::warm::materialize(&ctx.engine, old, &rig.state_dir).await {
                            Ok(()) => ctx.progress.line(&format!(
                                "the canonical at {} is back in place",
                                old.version
                            )),
                            Err(e) => ctx.progress.line(&format!(
                                "re-creating the canonical at {} failed: {e}",
                                old.version
                            )),
                        }
                    }
                    left
                }
            }
        }
        WarmRole::Quick(rec) => {
            ctx.progress.line(&format!(
                "undeploying the canonical {} (data kept)",
                ctx.app.stack
            ));
            let mut left = StackObjects::default();
            match crate::warm::undeploy(&ctx.engine, &ctx.app.stack).await {
                Ok(()) if !green => {
                    ctx.progress
                        .line("quick run not green: restoring the canonical's snapshot");
                    if let Err(e) = crate::warm::restore(
                        &ctx.engine,
                        &ctx.app.stack,
                        &rec.snapshot_dir(&rig.state_dir),
                    )
                    .await
                    {
                        ctx.progress
                            .line(&format!("restoring the snapshot failed: {e}"));
                        warm_failure =
                            Some(format!("restoring the canonical's snapshot failed: {e}"));
                    }
                }
                Ok(()) => {}
                Err(e) => {
                    ctx.progress.line(&e);
                    left = ctx
                        .engine
                        .stack_objects(&ctx.app.stack)
                        .await
                        .unwrap_or_default();
                    left.volumes.clear();
                    left.secrets.clear();
                }
            }
            if let Err(e) = crate::warm::reset_env(rec, &rig.state_dir) {
                ctx.progress
                    .line(&format!("resetting the canonical's env: {e:#}"));
            }
            left
        }
    };
    if let Some(realm) = &ctx.app.realm {
        // After the app: the realm goes whatever happened (absent = never created).
        match crate::keycloak::Keycloak::new(&realm.config) {
            Ok(kc) => match kc.delete_realm(&realm.realm).await {
                Ok(()) => ctx
                    .progress
                    .line(&format!("keycloak realm {} deleted", realm.realm)),
                Err(e) => ctx.progress.line(&format!(
                    "deleting keycloak realm {} failed (the janitor reaps it): {}",
                    realm.realm,
                    ctx.redactor.redact(&e.to_string())
                )),
            },
            Err(e) => ctx.progress.line(&e.to_string()),
        }
    }
    let _ = std::fs::remove_dir_all(&work_dir);
    registry::unregister(&rig.state_dir, &ctx.app.stack);
    ctx.add_timing("teardown", t_teardown);
    if !leftovers.is_empty() {
        ctx.progress
            .line(&format!("teardown left: {}", leftovers.describe()));
    }
    let failure = ctx.first_failure.clone().or_else(|| {
        results
            .iter()
            .find(|r| r.status == RungStatus::Fail)
            .map(|r| Failure {
                rung: Some(r.name),
                message: r.reason.clone().unwrap_or_default(),
                ..Default::default()
            })
    });
    // Never green while the integration went unverified: say why on the card and comment.
    let failure = failure.or_else(|| {
        dependency_unverified.then(|| Failure {
            rung: Some(Rung::Integration),
            message: format!(
                "dependencies {} were not verified: {}",
                ctx.suite.dependencies.join(", "),
                results
                    .iter()
                    .find(|r| r.name == Rung::Integration)
                    .and_then(|r| r.reason.clone())
                    .unwrap_or_else(|| "the integration rung did not pass".into())
            ),
            ..Default::default()
        })
    });
    let finished = time::OffsetDateTime::now_utc();
    let mut run = RunResults {
        schema: SCHEMA_VERSION,
        run_id,
        recipe: ctx.app.recipe.clone(),
        source: request.recipe_source.clone(),
        head_ref: request.git_ref.clone(),
        head_commit: ctx.checkouts.head.commit.clone(),
        base_version: ctx
            .checkouts
            .base
            .as_ref()
            .filter(|_| selected.upgrade)
            .map(|b| b.version.clone()),
        head_version: ctx.head_version.clone(),
        mode: match warm_role {
            WarmRole::Quick(_) => RunMode::Quick,
            _ => RunMode::Cold,
        },
        domain: ctx.app.domain.clone(),
        stack: ctx.app.stack.clone(),
        verdict: ladder::verdict(&outcomes, dependency_unverified),
        level: ladder::level(&outcomes),
        expected_level: ladder::expected_level(&expected_na),
        rungs: results,
        failure,
        timings_ms: ctx.timings.clone(),
        deploy_count: ctx.deploy_count,
        rig_adaptations: ctx.app.adaptations.clone(),
        suite: Some(ctx.judged_by.record.clone()),
        lint: lint_report,
        flags: RunFlags {
            clean_teardown: leftovers.is_empty(),
            no_secret_leak: !app_printed_secret,
            interrupted: stopped.is_some(),
        },
        started_at: rfc3339(started),
        finished_at: rfc3339(finished),
        duration_ms: t0.elapsed().as_millis() as u64,
        run_url: request.run_url.clone(),
    };
    if stopped.is_some() {
        run.verdict = ladder::Verdict::Red;
    }
    if let Some(message) = warm_failure {
        run.verdict = ladder::Verdict::Red;
        run.failure.get_or_insert(Failure {
            message,
            ..Default::default()
        });
    }
    crate::artefacts::write(&request.out_dir, &mut run, &ctx.redactor)?;
    Ok(run)
}

/// A green seed becomes the canonical: undeploy keeping volumes and secrets, snapshot into a
/// new generation beside the old one, store env and secrets, then write the record (the
/// commit point) and drop the older generations.
async fn promote(ctx: &RunCtx, state_dir: &Path) -> Result<crate::warm::Record, String> {
    use crate::warm;
    warm::undeploy(&ctx.engine, &ctx.app.stack).await?;
    let now = time::OffsetDateTime::now_utc();
    let generation = format!("gen-{}", now.unix_timestamp_nanos() / 1_000_000);
    let head = &ctx.checkouts.head;
    let record = warm::Record {
        recipe: ctx.app.recipe.clone(),
        domain: ctx.app.domain.clone(),
        version: head.version.clone(),
        commit: head.commit.clone(),
        status: "green".into(),
        ts: rfc3339(now),
        stack: ctx.app.stack.clone(),
        generation: generation.clone(),
    };
    let gen_dir = record.gen_dir(state_dir);
    let written = async {
        warm::snapshot(&ctx.engine, &ctx.app.stack, &record.snapshot_dir(state_dir)).await?;
        let mut env = ctx.app.env.clone();
        env.set("TYPE", format!("{}:{}", record.recipe, record.version));
        warm::write_atomic(&record.env_path(state_dir), env.render().as_bytes(), None)
            .map_err(|e| format!("writing the env: {e}"))?;
        let secrets: Vec<_> = ctx
            .app
            .secrets
            .iter()
            .map(|(spec, v)| (spec.engine_name.clone(), v.clone()))
            .collect();
        warm::write_secrets(&record.secrets_path(state_dir), &secrets)
            .map_err(|e| format!("writing the secrets: {e}"))?;
        warm::write_record(state_dir, &record).map_err(|e| format!("writing the record: {e}"))
    }
    .await;
    match written {
        Ok(()) => {
            warm::prune_generations(state_dir, &record.recipe, &generation);
            Ok(record)
        }
        Err(e) => {
            let _ = std::fs::remove_dir_all(&gen_dir);
            Err(e)
        }
    }
}

/// Removes a directory when dropped, unless disarmed (set to `None`).
struct RemoveOnDrop(Option<PathBuf>);

impl Drop for RemoveOnDrop {
    fn drop(&mut self) {
        if let Some(dir) = self.0.take() {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

async fn wait_ready(ctx: &mut RunCtx) -> Result<(), Failure> {
    let timeout = Duration::from_secs(ctx.suite.deploy_timeout_secs);
    let start = Instant::now();
    /// How long a proxy may serve a wrong certificate for a converged app (it may still be
    /// picking up the app's labels).
    const CERT_PATIENCE: Duration = Duration::from_secs(15);
    let mut cert_error_since: Option<Instant> = None;
    let policy = ctx.policy();
    let mut last_seen;
    let mut last_health = String::from("not checked (stack not converged)");
    loop {
        let services = ctx.observe().await?;
        let judged = ctx.history_mut().judge(&services, now_ms(), policy);
        match judged {
            Judgement::Broken(broken) => return Err(ctx.failure_of(broken).await),
            Judgement::Waiting(lines) => last_seen = lines.join("; "),
            Judgement::Converged => {
                last_seen = services
                    .iter()
                    .map(|s| s.describe())
                    .collect::<Vec<_>>()
                    .join("; ");
                match ctx
                    .app
                    .route
                    .get(&ctx.suite.health_path, Duration::from_secs(5))
                    .await
                {
                    Ok(reply) if (200..300).contains(&reply.status) => {
                        match rungs::ready_probes(ctx).await {
                            Ok(()) => {
                                ctx.progress.line(&format!(
                                    "ready after {:.1} s: {last_seen}",
                                    start.elapsed().as_secs_f64()
                                ));
                                return Ok(());
                            }
                            Err(e) => last_health = format!("health ok; ready probe: {e}"),
                        }
                    }
                    Ok(reply) => {
                        last_health =
                            format!("GET {} answered {}", ctx.suite.health_path, reply.status)
                    }
                    Err(e) => {
                        // A certificate that stays wrong once the stack is up is the
                        // proxy's fallback, not a proxy still catching up: fail now.
                        let since = *cert_error_since.get_or_insert_with(Instant::now);
                        if !e.contains("certificate the proxy serves") {
                            cert_error_since = None;
                        } else if since.elapsed() >= CERT_PATIENCE {
                            return Err(Failure {
                                message: ctx.redactor.redact(&e),
                                service: Some(ctx.app.http_service.clone()),
                                ..Default::default()
                            });
                        }
                        last_health = e
                    }
                }
            }
        }
        ctx.progress.status(&format!(
            "[{:>3}s] {last_seen} | health: {last_health}",
            start.elapsed().as_secs()
        ));
        if start.elapsed() >= timeout {
            let service = services
                .iter()
                .find(|s| !s.converged())
                .map(|s| s.name.clone())
                .unwrap_or_else(|| ctx.app.http_service.clone());
            let log_tail = ctx.log_tail(&service, 30).await;
            return Err(Failure {
                rung: None,
                message: ctx.redactor.redact(&format!(
                    "not ready within DEPLOY_TIMEOUT ({} s): service {service} last showed: {last_seen}; health: {last_health}",
                    timeout.as_secs()
                )),
                service: Some(service),
                task_error: None,
                log_tail,
            });
        }
        tokio::time::sleep(Duration::from_millis(1000)).await;
    }
}

/// Writes each service's full log (redacted) to `<out>/logs/<service>.log`.
/// Returns whether the app printed a generated secret value (it is redacted all the same).
async fn capture_logs(ctx: &RunCtx) -> bool {
    let Ok(services) = ctx.engine.observe_stack(&ctx.app.stack).await else {
        return false;
    };
    let mut printed_secret = false;
    let dir = ctx.out_dir.join("logs");
    let _ = std::fs::create_dir_all(&dir);
    for svc in services {
        let text = stack::service_logs(&ctx.app.service_name(&svc.name), None)
            .await
            .unwrap_or_default();
        printed_secret |= ctx.redactor.leaks_in(&text);
        let _ = std::fs::write(
            dir.join(format!("{}.log", svc.name)),
            ctx.redactor.redact(&text),
        );
    }
    printed_secret
}

/// Removes the stack and everything it left (volumes, secrets, configs, networks), bounded
/// by 120 s. Returns what could not be removed (empty on a clean teardown). See
/// [`Engine::clear_stack`] for the order.
pub async fn teardown(engine: &Engine, stack_name: &str) -> StackObjects {
    engine
        .clear_stack(stack_name, Keep::Nothing, Duration::from_secs(120))
        .await
}
