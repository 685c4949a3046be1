//! One run: gather the facts → plan (the core's [`ccci_core::plan`]) → preflight → register
//! → deploy and walk the rungs → capture logs → the warm end or teardown → judge (the
//! core's [`ccci_core::judge`]) → results. Teardown runs whatever happened: a failed rung,
//! the deadline, or cancellation (Ctrl-C). A failing rung is a *result*, not an error;
//! `Err` means the run could not start (bad input, no engine) and nothing was created —
//! or a deploy's pull failed (bad input found once docker's document was judged), and
//! what the run created was removed first.
//!
//! This module performs the plan; it decides nothing the core decides.

use crate::app::{App, PROXY_NETWORK};
use crate::canonical::Attached;
use crate::ctx::RunCtx;
use crate::progress::Progress;
use crate::recipe::InputError;
use crate::request::{OnVerdict, Rig, RunRequest};
use crate::source::{self, Checkouts};
use crate::warm::{self, Hold};
use crate::{integrity, planning, rungs};
use anyhow::{Context, Result};
use ccci_adapters::clock::{new_hex6, rfc3339};
use ccci_adapters::engine::Engine;
use ccci_adapters::registry;
use ccci_core::judge::{self, Evidence, Stop};
use ccci_core::ladder::{Rung, RungStatus};
use ccci_core::lint::LintReport;
use ccci_core::plan::{RunPlan, WarmPlan};
use ccci_core::results::{
    ImageRan, QuickEnd, RunFlags, RunMode, RunResults, RungResult, SCHEMA_VERSION,
};
use ccci_core::secret::Redactor;
use ccci_core::suite::Suite;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;
use tokio_util::sync::CancellationToken;

pub use ccci_adapters::teardown::teardown;
pub use ccci_core::plan::Role;

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

/// When and as what a run started.
struct Started {
    run_id: String,
    at: time::OffsetDateTime,
    t0: Instant,
    deadline: tokio::time::Instant,
    /// What the run's record says was asked: the recipe's source, the ref, the run page.
    source: String,
    head_ref: Option<String>,
    run_url: Option<String>,
}

/// A run ready to walk its rungs: the app is planned, preflighted and registered.
struct Prepared {
    ctx: RunCtx,
    plan: RunPlan,
    hold: Hold,
    lint: (RungResult, Option<LintReport>),
    work_dir: PathBuf,
    state_dir: PathBuf,
    /// The upgrade paths beside the ladder's own (`[upgrade] from`), walked first.
    paths: Vec<crate::upgrade_paths::PathApp>,
}

/// What happened between the first deploy and teardown.
struct Walked {
    results: Vec<RungResult>,
    stopped: Option<Stop>,
    app_printed_secret: bool,
    /// What each service's running task ran at the end (digest, not tag), for the record.
    images_ran: BTreeMap<String, ImageRan>,
    /// The upgrade paths beside the ladder's own (`[upgrade] from`), each walked apart.
    upgrade_paths: Vec<ccci_core::results::UpgradePath>,
}

/// Runs one recipe as `role`. See the module docs.
pub async fn run_role(
    request: RunRequest,
    cancel: CancellationToken,
    progress: Progress,
    role: Role,
) -> Result<RunResults> {
    if role == Role::Run && crate::lint::alone(request.stages.as_deref()) {
        // `--stages lint`: the lint alone; nothing is deployed, no engine is needed.
        return crate::lint::run_alone(request, progress);
    }
    let at = time::OffsetDateTime::now_utc();
    let started = Started {
        run_id: request
            .run_id
            .clone()
            .unwrap_or_else(|| format!("{}-{}", at.unix_timestamp(), new_hex6())),
        at,
        t0: Instant::now(),
        deadline: tokio::time::Instant::now() + request.rig.deadline,
        source: request.recipe_source.clone(),
        head_ref: request.git_ref.clone(),
        run_url: request.run_url.clone(),
    };
    std::fs::create_dir_all(&request.out_dir)
        .with_context(|| format!("creating {}", request.out_dir.display()))?;
    let mut prepared = prepare(&request, role, progress, &started).await?;
    let walked = walk(&mut prepared, &cancel, &request.user_cancel, &started).await;
    conclude(prepared, walked, &request, &started).await
}

/// Plan and preflight: nothing is created on the engine until all of this passed, and a
/// failure here leaves no working files either.
async fn prepare(
    request: &RunRequest,
    role: Role,
    progress: Progress,
    started: &Started,
) -> Result<Prepared> {
    let work_dir = request.rig.state_dir.join("runs").join(&started.run_id);
    let mut plan_guard = RemoveOnDrop(Some(work_dir.clone()));
    let t_create = Instant::now();
    let (engine, rig) = connect(request, &progress).await?;
    let planned = gather_and_plan(request, role, &rig, &work_dir, &progress).await?;
    let mut timings = BTreeMap::new();
    timings.insert("create".to_string(), t_create.elapsed().as_millis() as u64);
    let app_hex = planned.app_hex.clone();
    let mut prepared = prepared(planned, engine, progress, request, &rig, work_dir, timings);
    preflight(&mut prepared, &rig).await?;
    plan_guard.0 = None;
    register(&mut prepared, &rig, started, &app_hex).await?;
    Ok(prepared)
}

/// What a run decided before it creates anything of its own on the engine.
struct Planned {
    checkouts: Checkouts,
    suite: Suite,
    suite_dir: Option<PathBuf>,
    judged_by: integrity::JudgedBy,
    plan: RunPlan,
    hold: Hold,
    lint: (RungResult, Option<LintReport>),
    app_hex: String,
    app: App,
    paths: Vec<crate::upgrade_paths::PathApp>,
}

/// The engine, checked to be a swarm manager, and the rig completed from what it shows
/// (whether service VIPs route, whether the forwarder runs on `proxy`).
async fn connect(request: &RunRequest, progress: &Progress) -> Result<(Engine, Rig)> {
    let engine = Engine::connect().await?;
    engine.ensure_swarm_manager().await?;
    let mut rig = request.rig.clone();
    // Disk pressure (docs/behaviour.md §8): above the threshold, prune before this run takes more disk
    // (and before it registers, so it does not count as a run in flight itself).
    for line in
        ccci_adapters::prune::prune_before_run(&engine, &rig.state_dir, rig.prune_threshold).await
    {
        progress.line(&line);
    }
    rig.service_vips.get_or_insert(engine.service_vips_route());
    if rig.forwarder_on_proxy.is_none() {
        rig.forwarder_on_proxy = Some(engine.runs_on_network(PROXY_NETWORK).await);
    }
    Ok((engine, rig))
}

/// The checkouts, the judging suite, the plan (announced), the canonical held, the lint
/// (L5, first, before anything is deployed; an error does not stop the rungs), the app and
/// the upgrade paths.
async fn gather_and_plan(
    request: &RunRequest,
    role: Role,
    rig: &Rig,
    work_dir: &Path,
    progress: &Progress,
) -> Result<Planned> {
    let (mut checkouts, quick) = check_out(request, role, rig, work_dir, progress).await?;
    let (suite, suite_dir, judged_by) =
        integrity::resolve(&checkouts, rig.suites_dir.as_deref(), work_dir)?;
    let canonical = quick.as_ref().map(|(rec, _)| rec.version.as_str());
    let plan = planning::plan_run(request, role, &suite, &checkouts, canonical)?;
    let recipe = checkouts.head.recipe.name.clone();
    let hold = warm::hold(&plan.warm, quick, &rig.state_dir, &recipe, rig.deadline).await?;
    source::prepare_base(&mut checkouts, plan.base.as_ref(), work_dir)?;
    judged_by.announce(progress);
    announce_plan(progress, &plan, &hold, &checkouts, rig);
    let lint = crate::lint::run_rung(&checkouts, &plan.selected, progress);
    let app_hex = new_hex6();
    let mut app = plan_app(
        &checkouts,
        &plan,
        &hold,
        &suite,
        suite_dir.as_deref(),
        rig,
        &app_hex,
        work_dir,
    )?;
    add_head_env_at_upgrade(&mut app, &checkouts, &plan, progress)?;
    let paths = crate::upgrade_paths::prepare(
        &checkouts,
        &plan,
        &suite,
        suite_dir.as_deref(),
        rig,
        work_dir,
        progress,
    )?;
    Ok(Planned {
        checkouts,
        suite,
        suite_dir,
        judged_by,
        plan,
        hold,
        lint,
        app_hex,
        app,
        paths,
    })
}

/// A run that upgrades: the variables the head's `.env.sample` adds go into the app's
/// `.env` at the upgrade, and the run says so.
fn add_head_env_at_upgrade(
    app: &mut App,
    checkouts: &Checkouts,
    plan: &RunPlan,
    progress: &Progress,
) -> Result<()> {
    if let (Some(_), true) = (&checkouts.base, plan.selected.upgrade) {
        let added = app.plan_upgrade(&checkouts.head.recipe)?;
        if !added.is_empty() {
            progress.line(&format!(
                "the head's .env.sample adds {}: added to the app's .env at the upgrade (abra keeps the operator's .env; release notes ask the operator to add them)",
                added.join(", ")
            ));
        }
    }
    Ok(())
}

/// The run ready for preflight: its context from what was planned, nothing deployed,
/// nothing failed yet.
fn prepared(
    planned: Planned,
    engine: Engine,
    progress: Progress,
    request: &RunRequest,
    rig: &Rig,
    work_dir: PathBuf,
    timings: BTreeMap<String, u64>,
) -> Prepared {
    let warm = match &planned.hold {
        Hold::Quick { record, .. } => Some(Attached {
            record: record.clone(),
            state_dir: rig.state_dir.clone(),
        }),
        _ => None,
    };
    let ctx = RunCtx {
        engine,
        app: planned.app,
        suite: planned.suite,
        suite_dir: planned.suite_dir,
        checkouts: planned.checkouts,
        out_dir: request.out_dir.clone(),
        progress,
        redactor: Redactor::new(Vec::new()),
        deploy_count: 0,
        timings,
        history: Default::default(),
        depends_on: BTreeMap::new(),
        head_version: None,
        first_failure: None,
        rig_failure: Default::default(),
        extra: request.extra,
        warm,
        judged_by: planned.judged_by,
        base_grants: None,
        bad_input: None,
    };
    Prepared {
        ctx,
        plan: planned.plan,
        hold: planned.hold,
        lint: planned.lint,
        work_dir,
        state_dir: rig.state_dir.clone(),
        paths: planned.paths,
    }
}

/// The head checked out (a seed: at the latest release) and, for a quick run, the
/// recipe's canonical held under its lock.
async fn check_out(
    request: &RunRequest,
    role: Role,
    rig: &Rig,
    work_dir: &Path,
    progress: &Progress,
) -> Result<(Checkouts, Option<(warm::Record, warm::Lock)>)> {
    let src = &request.recipe_source;
    let mut checkouts = source::prepare_head(src, request.git_ref.as_deref(), work_dir)?;
    let asked = planning::asked(request);
    if role == Role::Seed {
        let latest =
            ccci_core::plan::seed_release(&asked, &checkouts.releases, &request.recipe_source)
                .map_err(InputError::from)?;
        if checkouts.head.commit.as_deref() != Some(latest.commit.as_str()) {
            checkouts = source::prepare_head(src, Some(&latest.tag), work_dir)?;
        }
    }
    let quick = if ccci_core::plan::wants_canonical(role, &asked) {
        let recipe = &checkouts.head.recipe.name;
        warm::hold_canonical(&rig.state_dir, recipe, rig.deadline, progress).await?
    } else {
        None
    };
    Ok((checkouts, quick))
}

/// The plan's notes, the quick lane's reattachment and stray tags, before anything runs.
fn announce_plan(
    progress: &Progress,
    plan: &RunPlan,
    hold: &Hold,
    checkouts: &Checkouts,
    rig: &Rig,
) {
    for note in &plan.notes {
        progress.line(note);
    }
    if let Hold::Quick { record, .. } = hold {
        progress.line(&format!(
            "quick lane (fast, never gates a merge): reattaching the warm canonical {} at {} and upgrading it to the head",
            ccci_core::naming::warm_domain(&record.recipe, &rig.ci_domain),
            record.version
        ));
    }
    for tag in &checkouts.stray_tags {
        progress.line(&format!(
            "note: tag {tag} is a lightweight tag, not a release (releases are annotated tags); ignored"
        ));
    }
}

/// The app under test: a fresh domain for a cold run, the recipe's warm domain otherwise;
/// a quick run's app takes the canonical's kept env and secrets.
#[allow(clippy::too_many_arguments)]
fn plan_app(
    checkouts: &Checkouts,
    plan: &RunPlan,
    hold: &Hold,
    suite: &Suite,
    suite_dir: Option<&Path>,
    rig: &Rig,
    app_hex: &str,
    work_dir: &Path,
) -> Result<App> {
    let head = &checkouts.head;
    // The checkout installed first (the base release when the run upgrades) is installed
    // from its own files: its `.env.sample`, `COMPOSE_FILE`, secrets.
    let first = match &checkouts.base {
        Some(base) if plan.selected.upgrade => base,
        _ => head,
    };
    let first_version = first.version.clone();
    let mut app = if plan.on_warm_domain() {
        let domain = ccci_core::naming::warm_domain(&head.recipe.name, &rig.ci_domain);
        App::plan_on_domain(
            &first.recipe,
            suite,
            suite_dir,
            rig,
            &first_version,
            domain,
            work_dir,
        )?
    } else {
        App::plan(
            &first.recipe,
            suite,
            suite_dir,
            rig,
            &first_version,
            app_hex,
            work_dir,
        )?
    };
    if let Hold::Quick { record, .. } = hold {
        warm::reattach(&mut app, record, &rig.state_dir, &first_version)?;
    }
    Ok(app)
}

/// Preflight validates the compose files and arms the redactor with every secret value the
/// run knows. It pulls nothing: images are pulled from the document docker will deploy,
/// once judged (`RunCtx::check` / `RunCtx::deploy`).
async fn preflight(prepared: &mut Prepared, rig: &Rig) -> Result<()> {
    let ctx = &mut prepared.ctx;
    // Each checkout with the `.env` it is deployed with: the base with its own, the head
    // with the upgraded one.
    if let (Some(base), true) = (&ctx.checkouts.base, prepared.plan.selected.upgrade) {
        ctx.app
            .preflight_with(&ctx.engine, &base.recipe, &ctx.app.env)
            .await?;
    }
    let head = &ctx.checkouts.head;
    let model = match ctx
        .app
        .preflight_with(&ctx.engine, &head.recipe, ctx.app.head_env())
        .await
    {
        Ok(model) => model,
        // A head that loads on its own but not with the app's upgraded `.env` breaks the
        // operators' upgrade: RED at upgrade, not bad input. A head broken on its own is.
        Err(upgraded) if ctx.app.upgraded_env.is_some() => {
            let own =
                crate::app::operator_env(&head.recipe, &head.version, &ctx.app.domain, &ctx.suite);
            let model = ctx
                .app
                .preflight_with(&ctx.engine, &head.recipe, &own)
                .await?;
            ctx.progress.line(&format!(
                "the head does not load with the app's upgraded .env ({upgraded}): its upgrade will fail"
            ));
            model
        }
        Err(e) => return Err(e.into()),
    };
    let mut secret_values = ctx.app.secret_values();
    crate::upgrade_paths::preflight(&ctx.engine, &prepared.paths, &mut secret_values).await?;
    if let Hold::Quick { record, .. } = &prepared.hold {
        let kept = warm::read_secrets(record, &rig.state_dir);
        secret_values.extend(kept.into_iter().map(|(_, v)| v));
    }
    // The host's own secrets too: a recipe that read one must not post it anywhere.
    secret_values.extend(rig.host_secrets.iter().cloned());
    secret_values.extend(rig.keycloak.iter().map(|k| k.admin_password.clone()));
    ctx.redactor = Redactor::new(secret_values);
    ctx.progress.arm(&ctx.redactor);
    // The rig's own network only: any other external network is the operator's to allow
    // and to provide (checked before every deploy); cc-ci creates none that outlives a run.
    if model
        .networks
        .iter()
        .any(|(network, external)| *external && network == PROXY_NETWORK)
    {
        ctx.engine.ensure_rig_network(PROXY_NETWORK).await?;
    }
    Ok(())
}

/// Registers the run before the app exists, so the janitor can always attribute it; names
/// its SSO realm (`<recipe>-<app hex>`, docs/behaviour.md §5) so teardown and the janitor find it; a
/// seed clears the old canonical's engine objects (its files stay until the seed is green).
async fn register(
    prepared: &mut Prepared,
    rig: &Rig,
    started: &Started,
    app_hex: &str,
) -> Result<()> {
    let ctx = &mut prepared.ctx;
    ctx.app.realm = run_realm(rig, &ctx.suite, &ctx.app.recipe, app_hex);
    registry::register(
        &rig.state_dir,
        &registry::ActiveRun {
            run_id: started.run_id.clone(),
            domain: ctx.app.domain.clone(),
            stack: ctx.app.stack.clone(),
            recipe: ctx.app.recipe.clone(),
            pid: std::process::id(),
            pid_start: registry::process_start(std::process::id()),
            started_at: started.at.unix_timestamp(),
            work_dir: Some(prepared.work_dir.clone()),
            realm: ctx.app.realm.as_ref().map(|r| r.realm.clone()),
            kept_until: None,
        },
    )?;
    announce_run(ctx, &started.run_id);
    if let Hold::Seed { old, .. } = &prepared.hold {
        let left = teardown(&ctx.engine, &ctx.app.stack).await;
        if !left.is_empty() {
            anyhow::bail!(
                "cannot clear the warm stack {} for the seed: {}",
                ctx.app.stack,
                left.describe()
            );
        }
        if let Some(old) = old {
            ctx.progress.line(&format!(
                "seeding over the canonical at {} (kept until this seed is green)",
                old.version
            ));
        }
    }
    Ok(())
}

/// The run's realm in the shared Keycloak, when the suite depends on it and the rig has one.
fn run_realm(
    rig: &Rig,
    suite: &Suite,
    recipe: &str,
    app_hex: &str,
) -> Option<ccci_adapters::keycloak::RunRealm> {
    let config = rig.keycloak.as_ref()?;
    suite
        .dependencies
        .iter()
        .any(|d| d == ccci_adapters::keycloak::DEPENDENCY)
        .then(|| ccci_adapters::keycloak::RunRealm {
            config: config.clone(),
            realm: ccci_adapters::keycloak::realm_name(recipe, app_hex),
            owner: ccci_adapters::keycloak::owner_of(&rig.state_dir),
        })
}

fn announce_run(ctx: &RunCtx, run_id: &str) {
    let app = &ctx.app;
    ctx.progress.line(&format!(
        "run {run_id}: {} → {} (stack {})",
        app.recipe, app.domain, app.stack
    ));
    let route = app.route_record();
    ctx.progress.line(&format!(
        "route to the app: {:?} at {}",
        route.via, route.addr
    ));
    for a in &app.adaptations {
        ctx.progress.line(&format!(
            "rig adaptation: {} on {} — {}",
            a.kind,
            a.services.join(", "),
            a.reason
        ));
        for n in &a.not_applied {
            ctx.progress.line(&format!("   not applied to {n}"));
        }
    }
}

/// Deploys and walks the rungs until done, Ctrl-C, a person's cancel or the deadline; then, with the app
/// still up, a best-effort screenshot and every service's log.
async fn walk(
    prepared: &mut Prepared,
    cancel: &CancellationToken,
    user_cancel: &CancellationToken,
    started: &Started,
) -> Walked {
    let selected = &prepared.plan.selected;
    let ctx = &mut prepared.ctx;
    let mut results: Vec<RungResult> = Vec::new();
    let mut stopped = None;
    ctx.progress.rungs_planned(&selected.reported());
    let paths = std::mem::take(&mut prepared.paths);
    let mut paths_walk = crate::upgrade_paths::PathsWalk::planned(&paths);
    let owner = crate::upgrade_paths::Owner {
        state_dir: &prepared.state_dir,
        run_id: &started.run_id,
    };
    tokio::select! {
        // The other upgrade paths first, each on its own app torn down after it; then the
        // ladder on the run's app.
        _ = async {
            crate::upgrade_paths::walk(ctx, paths, &owner, &mut paths_walk).await;
            if ctx.bad_input.is_none() {
                rungs::walk(ctx, selected, &mut results).await
            }
        } => {}
        _ = cancel.cancelled() => stopped = Some(Stop::Interrupted),
        _ = user_cancel.cancelled() => stopped = Some(Stop::Cancelled),
        _ = tokio::time::sleep_until(started.deadline) => stopped = Some(Stop::Deadline),
    }
    if let Some(stop) = stopped {
        rungs::mark_stopped(&mut results, selected, stop.message());
        ctx.progress.line(stop.message());
    }
    let upgrade_paths =
        crate::upgrade_paths::finish(ctx, paths_walk, &prepared.state_dir, &mut results).await;
    crate::lint::place(&mut results, prepared.lint.0.clone());
    // The final account: skipped and stopped rungs, and the lint, on the live timeline.
    for r in &results {
        ctx.progress.rung_finished(r);
    }
    let installed = results
        .iter()
        .any(|r| r.name == Rung::Install && r.status == RungStatus::Pass);
    // A picture of the landing page while the app is up (cosmetic, best effort; a rig
    // may go without).
    if stopped.is_none() && installed {
        if let Err(why) = crate::screenshot::take(ctx, &ctx.out_dir).await {
            ctx.progress.line(&format!("note: no screenshot: {why}"));
        }
    }
    let images_ran = ctx
        .engine
        .images_ran(&ctx.app.stack)
        .await
        .inspect_err(|e| {
            ctx.progress
                .line(&format!("note: the images run not read: {e:#}"))
        })
        .unwrap_or_default();
    Walked {
        results,
        stopped,
        app_printed_secret: capture_logs(ctx).await,
        images_ran,
        upgrade_paths,
    }
}

/// The warm end or teardown, the realm and the registry entry gone, then the judgement
/// and the artefacts; the caller is told the verdict last. A quick run reverses that: its
/// verdict first, then its canonical put back ([`conclude_quick`]).
async fn conclude(
    mut prepared: Prepared,
    walked: Walked,
    request: &RunRequest,
    started: &Started,
) -> Result<RunResults> {
    if let Some(bad) = prepared.ctx.bad_input.take() {
        return Err(end_on_bad_input(prepared, bad, started).await);
    }
    if let Hold::Quick { record, .. } = &prepared.hold {
        let record = record.clone();
        return conclude_quick(prepared, &record, walked, request, started).await;
    }
    let Prepared {
        mut ctx,
        plan,
        hold,
        lint,
        work_dir,
        state_dir,
        ..
    } = prepared;
    let green = judge::rungs_green(&walked.results, walked.stopped, &ctx.suite.dependencies);
    let ending = crate::keep::Ending {
        green,
        warm: !matches!(hold, Hold::Cold),
        interrupted: walked.stopped.is_some(),
    };
    let kept = crate::keep::keep_if_asked(&ctx, &request.rig, request.keep, &ending).await;
    let t_teardown = Instant::now();
    let end = end_app(&ctx, &hold, kept.is_some(), green, &state_dir).await;
    let _ = std::fs::remove_dir_all(&work_dir);
    if kept.is_none() {
        delete_realm(&ctx).await;
        registry::unregister(&state_dir, &ctx.app.stack);
    }
    ctx.add_timing("teardown", t_teardown);
    if !end.leftovers.is_empty() {
        ctx.progress
            .line(&format!("teardown left: {}", end.leftovers.describe()));
    }
    let mut run = verdict(&ctx, &plan, walked, lint.1, &end, started);
    run.kept = kept;
    crate::artefacts::write(&request.out_dir, &mut run, &ctx.redactor)?;
    tell_verdict(&ctx, &request.on_verdict, &run).await;
    Ok(run)
}

/// A deploy's pull failed (bad input met after the run registered: `RunCtx::bad_input`).
/// The app ends as a red run's does (torn down, a seed's old canonical or a quick run's
/// canonical put back), its realm and registry entry go, and the run ends as that error —
/// no verdict, no artefacts — as a preflight failure does.
async fn end_on_bad_input(prepared: Prepared, bad: InputError, started: &Started) -> anyhow::Error {
    let Prepared {
        ctx,
        hold,
        work_dir,
        state_dir,
        ..
    } = prepared;
    let end = end_app(&ctx, &hold, false, false, &state_dir).await;
    let _ = std::fs::remove_dir_all(&work_dir);
    delete_realm(&ctx).await;
    match (&hold, &end.failure) {
        (Hold::Quick { record, .. }, Some(why)) => {
            let outcome = "it ended on bad input (no verdict)";
            not_restored(&ctx, record, &state_dir, (&started.run_id, outcome), why)
        }
        _ => registry::unregister(&state_dir, &ctx.app.stack),
    }
    if !end.leftovers.is_empty() {
        ctx.progress
            .line(&format!("teardown left: {}", end.leftovers.describe()));
    }
    drop(hold);
    bad.into()
}

/// A quick run's end (docs/behaviour.md §6): judged and its artefacts written with the app still on
/// the canonical; the caller told (the CLI's summary, the service's PR report); then,
/// PASS or FAIL, the canonical put back to its known-good data and env — and only then the
/// recipe's lock released. A failure to put it back leaves the verdict as it is: it is an
/// alert, and the canonical is left to the janitor. `results.json` is rewritten once more
/// with the end (`quick_end`).
async fn conclude_quick(
    prepared: Prepared,
    record: &warm::Record,
    walked: Walked,
    request: &RunRequest,
    started: &Started,
) -> Result<RunResults> {
    let Prepared {
        mut ctx,
        plan,
        hold,
        lint,
        work_dir,
        state_dir,
        ..
    } = prepared;
    let (mut run, written) = quick_verdict(&ctx, &plan, walked, lint.1, request, started).await;
    let verdict_ms = started.t0.elapsed().as_millis() as u64;
    let t_teardown = Instant::now();
    let end = warm::end_quick(&ctx, record, &state_dir).await;
    let _ = std::fs::remove_dir_all(&work_dir);
    delete_realm(&ctx).await;
    match &end.failure {
        None => registry::unregister(&state_dir, &ctx.app.stack),
        Some(why) => {
            let outcome = format!("its verdict ({}) stands", run.end);
            not_restored(&ctx, record, &state_dir, (&run.run_id, &outcome), why)
        }
    }
    ctx.add_timing("teardown", t_teardown);
    drop(hold);
    let lock_released_ms = started.t0.elapsed().as_millis() as u64;
    ctx.progress.line(&format!(
        "the recipe's warm lock released {:.1} s after the verdict",
        (lock_released_ms - verdict_ms) as f64 / 1000.0
    ));
    written?;
    run.quick_end = Some(QuickEnd {
        restored: end.failure.is_none(),
        verdict_ms,
        lock_released_ms,
        error: end.failure.clone(),
    });
    run.flags.clean_teardown = end.leftovers.is_empty();
    run.timings_ms = ctx.timings.clone();
    run.finished_at = rfc3339(time::OffsetDateTime::now_utc());
    run.duration_ms = started.t0.elapsed().as_millis() as u64;
    crate::artefacts::write(&request.out_dir, &mut run, &ctx.redactor)?;
    Ok(run)
}

/// A quick run's verdict, with its app still on the canonical: judged, its artefacts
/// written and the caller told. The write's outcome is returned, not raised: the canonical
/// is put back whatever happens to the artefacts.
async fn quick_verdict(
    ctx: &RunCtx,
    plan: &RunPlan,
    walked: Walked,
    lint: Option<LintReport>,
    request: &RunRequest,
    started: &Started,
) -> (RunResults, Result<()>) {
    let ending = crate::keep::Ending {
        green: judge::rungs_green(&walked.results, walked.stopped, &ctx.suite.dependencies),
        warm: true,
        interrupted: walked.stopped.is_some(),
    };
    // A quick run never keeps its app; this only says so when `--keep` asked.
    let _ = crate::keep::keep_if_asked(ctx, &request.rig, request.keep, &ending).await;
    let none = warm::End::default();
    let mut run = verdict(ctx, plan, walked, lint, &none, started);
    let written = crate::artefacts::write(&request.out_dir, &mut run, &ctx.redactor);
    if written.is_ok() {
        tell_verdict(ctx, &request.on_verdict, &run).await;
    }
    (run, written)
}

/// The canonical could not be put back after the verdict: the verdict stands; an alert
/// says so, and the run's registry entry is left to the janitor, whose `warm::recover`
/// puts the canonical back on its next sweep.
fn not_restored(
    ctx: &RunCtx,
    record: &warm::Record,
    state_dir: &Path,
    (run_id, outcome): (&str, &str),
    why: &str,
) {
    let message = ctx.redactor.redact(&format!(
        "quick run {run_id} of {}: {outcome}, but the canonical {} could not be put back to its known-good {}: {why}; the janitor puts it back on its next sweep (`ccci janitor`)",
        record.recipe, record.stack, record.version
    ));
    ctx.progress.line(&message);
    if let Err(e) = ccci_adapters::alerts::raise(
        state_dir,
        &record.recipe,
        ccci_adapters::alerts::NOT_RESTORED,
        &message,
    ) {
        ctx.progress
            .line(&format!("the alert was not raised: {e:#}"));
    }
    if let Err(e) = warm::leave_to_janitor(state_dir, &ctx.app.stack) {
        ctx.progress.line(&format!(
            "the run's registry entry was not left to the janitor ({e:#}); it recovers the canonical once this process has ended"
        ));
    }
}

/// Tells the caller the verdict ([`crate::request::OnVerdict`]), bounded.
async fn tell_verdict(ctx: &RunCtx, on_verdict: &OnVerdict, run: &RunResults) {
    if !on_verdict.call(run).await {
        ctx.progress.line(&format!(
            "reporting the verdict took longer than {} s; going on",
            OnVerdict::BOUND.as_secs()
        ));
    }
}

/// The judgement of what happened, as the run's record (artefacts not yet written).
fn verdict(
    ctx: &RunCtx,
    plan: &RunPlan,
    walked: Walked,
    lint: Option<LintReport>,
    end: &warm::End,
    started: &Started,
) -> RunResults {
    let expected_na: Vec<Rung> = ctx.suite.expected_na.keys().copied().collect();
    let rig_failure = ctx
        .rig_failure
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .clone();
    if let Some(rig) = &rig_failure {
        ctx.progress.line(&format!(
            "cc-ci's own machinery failed (not the recipe): {}",
            rig.message
        ));
    }
    let judged = judge::judge(&Evidence {
        rungs: &walked.results,
        stopped: walked.stopped,
        dependencies: &ctx.suite.dependencies,
        first_failure: ctx.first_failure.as_ref(),
        warm_failure: end.failure.as_deref(),
        expected_na: &expected_na,
        rig_failure: rig_failure.as_ref(),
    });
    let flags = RunFlags {
        clean_teardown: end.leftovers.is_empty(),
        no_secret_leak: !walked.app_printed_secret,
        interrupted: walked.stopped.is_some(),
    };
    let upgrade_paths = walked.upgrade_paths;
    let mut run = results(ctx, plan, judged, walked.results, lint, flags, started);
    run.images_ran = walked.images_ran;
    run.upgrade_paths = upgrade_paths;
    run
}

/// The app's end: torn down (a cold run), left for the janitor (kept, `--keep`), or the
/// warm end of a seed or quick run.
async fn end_app(
    ctx: &RunCtx,
    hold: &Hold,
    kept: bool,
    green: bool,
    state_dir: &Path,
) -> warm::End {
    match hold {
        // Kept: the janitor tears it down (and deletes its realm) after its time.
        Hold::Cold if kept => warm::End {
            leftovers: Default::default(),
            failure: None,
        },
        Hold::Cold => {
            ctx.progress
                .line(&format!("tearing down {}", ctx.app.stack));
            warm::End {
                leftovers: teardown(&ctx.engine, &ctx.app.stack).await,
                failure: None,
            }
        }
        Hold::Seed { old, .. } => warm::end_seed(ctx, old.as_ref(), green, state_dir).await,
        // (A quick run ends in `conclude_quick`, after its verdict.)
        Hold::Quick { record, .. } => warm::end_quick(ctx, record, state_dir).await,
    }
}

/// After the app: the realm goes whatever happened (absent = never created).
async fn delete_realm(ctx: &RunCtx) {
    let Some(realm) = &ctx.app.realm else {
        return;
    };
    match ccci_adapters::keycloak::Keycloak::new(&realm.config) {
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

/// The run's record, as judged.
fn results(
    ctx: &RunCtx,
    plan: &RunPlan,
    judged: judge::Judged,
    rungs: Vec<RungResult>,
    lint: Option<LintReport>,
    flags: RunFlags,
    started: &Started,
) -> RunResults {
    let (images, env_keys) = match ctx.deploy_count {
        0 => Default::default(),
        _ => ctx.app.recorded_inputs(&ctx.checkouts.head.recipe),
    };
    RunResults {
        schema: SCHEMA_VERSION,
        run_id: started.run_id.clone(),
        recipe: ctx.app.recipe.clone(),
        source: started.source.clone(),
        head_ref: started.head_ref.clone(),
        head_commit: ctx.checkouts.head.commit.clone(),
        base_version: plan.base_tag().map(str::to_string),
        head_version: ctx.head_version.clone(),
        mode: match plan.warm {
            WarmPlan::Quick { .. } => RunMode::Quick,
            _ => RunMode::Cold,
        },
        domain: ctx.app.domain.clone(),
        stack: ctx.app.stack.clone(),
        end: judged.end,
        level: judged.level,
        expected_level: judged.expected_level,
        rungs,
        upgrade_paths: Vec::new(),
        failure: judged.failure,
        timings_ms: ctx.timings.clone(),
        deploy_count: ctx.deploy_count,
        images,
        images_ran: BTreeMap::new(),
        env_keys,
        rig_adaptations: ctx.app.adaptations.clone(),
        route: Some(ctx.app.route_record()),
        suite: Some(ctx.judged_by.record.clone()),
        lint,
        flags,
        started_at: rfc3339(started.at),
        finished_at: rfc3339(time::OffsetDateTime::now_utc()),
        duration_ms: started.t0.elapsed().as_millis() as u64,
        run_url: started.run_url.clone(),
        kept: None,
        quick_end: None,
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
        let text = ccci_adapters::stack::service_logs(&ctx.app.service_name(&svc.name), None)
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
