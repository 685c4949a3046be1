//! The upgrade paths beside the ladder's own (`[upgrade] from`, issue 23; which releases
//! and the rule are the core's [`ccci_core::upgrade_paths`]). Each path is a fresh app of
//! its own: that release installed as an operator has it (its own files, `.env` and grants:
//! the install rung's steps), upgraded to the head with its data checked (the upgrade
//! rung's steps), then torn down — all before the ladder's walk, so only one app of the run
//! is live at a time. Each path costs two deploys and its own wall time, both recorded.

use crate::app::App;
use crate::ctx::RunCtx;
use crate::progress::Progress;
use crate::recipe::InputError;
use crate::request::Rig;
use crate::rungs;
use crate::source::{self, Checkouts};
use ccci_adapters::registry;
use ccci_core::ladder::{Rung, RungStatus};
use ccci_core::plan::{RunPlan, Selected, WarmPlan};
use ccci_core::results::{Failure, RungResult, UpgradePath};
use ccci_core::secret::Secret;
use ccci_core::suite::Suite;
use ccci_core::upgrade_paths::{self as rule, PlannedPath};
use std::collections::BTreeMap;
use std::path::Path;
use std::time::Instant;

/// One extra path, planned: its release checked out beside the head, its app on a fresh
/// domain (nothing created on the engine yet).
pub struct PathApp {
    planned: PlannedPath,
    checkouts: Checkouts,
    app: App,
}

/// Plans the extra paths of a cold run that upgrades from a previous release. The default
/// (`previous` alone) plans none. An exact tag that is not an older release is bad input,
/// naming the suite file and the field.
#[allow(clippy::too_many_arguments)]
pub fn prepare(
    checkouts: &Checkouts,
    plan: &RunPlan,
    suite: &Suite,
    suite_dir: Option<&Path>,
    rig: &Rig,
    work_dir: &Path,
    progress: &Progress,
) -> Result<Vec<PathApp>, InputError> {
    if suite.upgrade_from == rule::default_from() || !plan.selected.upgrade {
        return Ok(Vec::new());
    }
    let (Some(previous), Some(head_commit)) = (&plan.base, checkouts.head.commit.as_deref()) else {
        progress.line("upgrade.from: no previous release to upgrade from: no upgrade path runs");
        return Ok(Vec::new());
    };
    if plan.warm != WarmPlan::Cold {
        progress.line("upgrade.from: the other upgrade paths run in cold runs only; this run upgrades from the previous release alone");
        return Ok(Vec::new());
    }
    let suite_file = suite_dir
        .map(|d| d.join("suite.toml").display().to_string())
        .unwrap_or_else(|| "suite.toml".into());
    let resolved = rule::resolve(
        &suite.upgrade_from,
        previous,
        &checkouts.releases,
        head_commit,
    )
    .map_err(|message| InputError::File {
        file: suite_file,
        message,
    })?;
    for note in &resolved.notes {
        progress.line(&format!("note: {note}"));
    }
    let mut paths = Vec::new();
    for (i, planned) in resolved.extra.into_iter().enumerate() {
        let dir = work_dir.join("paths").join(i.to_string());
        std::fs::create_dir_all(&dir).map_err(|e| InputError::WorkDir {
            dir: dir.display().to_string(),
            reason: e.to_string(),
        })?;
        let mut own = checkouts.clone();
        own.base = None;
        source::prepare_base(&mut own, Some(&planned.release), &dir)?;
        let base = own
            .base
            .as_ref()
            .expect("prepare_base checked the release out");
        let hex = ccci_adapters::clock::new_hex6();
        let mut app = App::plan(
            &base.recipe,
            suite,
            suite_dir,
            rig,
            &base.version,
            &hex,
            &dir,
        )?;
        app.plan_upgrade(&checkouts.head.recipe)?;
        paths.push(PathApp {
            planned,
            checkouts: own,
            app,
        });
    }
    if !paths.is_empty() {
        let names: Vec<String> = paths.iter().map(|p| label(&p.planned)).collect();
        progress.line(&format!(
            "upgrade paths beside the ladder's (from {}, previous): {} — each installed fresh as an operator has it, upgraded to the head, its data checked, torn down (2 deploys each)",
            previous.tag,
            names.join(", ")
        ));
    }
    Ok(paths)
}

fn label(p: &PlannedPath) -> String {
    match p.asked {
        rule::UpgradeFrom::Release(_) => p.release.tag.clone(),
        _ => format!("{} ({})", p.release.tag, p.asked.as_str()),
    }
}

/// Preflight of each path's release with its own `.env` (its images are pulled when its
/// install checks them), and its secrets for the redactor.
pub async fn preflight(
    engine: &ccci_adapters::engine::Engine,
    paths: &[PathApp],
    secrets: &mut Vec<Secret>,
) -> anyhow::Result<()> {
    for p in paths {
        let base = p.checkouts.base.as_ref().expect("planned with its base");
        p.app
            .preflight_with(engine, &base.recipe, &p.app.env)
            .await?;
        secrets.extend(p.app.secret_values());
    }
    Ok(())
}

/// The paths' walk so far: kept outside the walk's future, so a run stopped mid-path still
/// tears down the path's app ([`finish`]).
#[derive(Default)]
pub struct PathsWalk {
    /// (tag, asked) of every planned path, in order.
    planned: Vec<(String, String)>,
    done: Vec<UpgradePath>,
    /// The first failing path's failure, with its evidence.
    failure: Option<Failure>,
    /// The stack of the path app live now, if any, and when its path started.
    live: Option<(String, Instant)>,
    deploys: u32,
    /// The paths' wall time so far (the `upgrade_paths` timing).
    ms: u64,
}

impl PathsWalk {
    pub fn planned(paths: &[PathApp]) -> PathsWalk {
        PathsWalk {
            planned: paths
                .iter()
                .map(|p| {
                    (
                        p.planned.release.tag.clone(),
                        p.planned.asked.as_str().to_string(),
                    )
                })
                .collect(),
            ..Default::default()
        }
    }
}

/// Where the paths' apps are registered (the janitor's registry, as the run's own app).
pub struct Owner<'a> {
    pub state_dir: &'a Path,
    pub run_id: &'a str,
}

/// Walks each path in turn: install, upgrade, check, tear down.
pub async fn walk(ctx: &mut RunCtx, paths: Vec<PathApp>, owner: &Owner<'_>, walk: &mut PathsWalk) {
    for path in paths {
        if ctx.bad_input.is_some() {
            break; // the run ends as that error (`lifecycle::conclude`)
        }
        let t = Instant::now();
        let title = format!("upgrade from {}", label(&path.planned));
        ctx.progress.line(&format!("── {title}"));
        let stack = path.app.stack.clone();
        let registered = register(owner, &path.app);
        walk.live = Some((stack.clone(), t));
        let (outcome, deploys) = match registered {
            Ok(()) => one(ctx, path).await,
            Err(e) => (
                Err(Failure {
                    message: format!("registering its app: {e:#}"),
                    ..Default::default()
                }),
                0,
            ),
        };
        walk.deploys += deploys;
        let left = ccci_adapters::teardown::teardown(&ctx.engine, &stack).await;
        registry::unregister(owner.state_dir, &stack);
        walk.live = None;
        walk.ms += t.elapsed().as_millis() as u64;
        if !left.is_empty() {
            ctx.progress
                .line(&format!("teardown of {stack} left: {}", left.describe()));
        }
        let (tag, asked) = walk.planned[walk.done.len()].clone();
        let (status, reason) = match outcome {
            Ok(()) => (RungStatus::Pass, None),
            Err(f) => {
                let reason = f.message.clone();
                walk.failure.get_or_insert(f);
                (RungStatus::Fail, Some(reason))
            }
        };
        ctx.progress.line(&format!(
            "   {title}: {} ({:.1} s, {deploys} deploys){}",
            if status == RungStatus::Pass {
                "pass"
            } else {
                "FAIL"
            },
            t.elapsed().as_secs_f64(),
            reason
                .as_deref()
                .map(|r| format!(" — {r}"))
                .unwrap_or_default()
        ));
        walk.done.push(UpgradePath {
            from: tag,
            asked,
            status,
            reason,
            duration_ms: t.elapsed().as_millis() as u64,
            deploy_count: deploys,
        });
    }
}

fn register(owner: &Owner<'_>, app: &App) -> anyhow::Result<()> {
    registry::register(
        owner.state_dir,
        &registry::ActiveRun {
            run_id: owner.run_id.to_string(),
            domain: app.domain.clone(),
            stack: app.stack.clone(),
            recipe: app.recipe.clone(),
            pid: std::process::id(),
            pid_start: registry::process_start(std::process::id()),
            started_at: time::OffsetDateTime::now_utc().unix_timestamp(),
            work_dir: Some(app.work_dir.clone()),
            realm: None,
            kept_until: None,
        },
    )
}

/// One path on its own app: the release installed (the install rung's steps), upgraded to
/// the head (the upgrade rung's: markers, deploy, ready, data, version moved), still up.
/// Its failure names the path and the fix. Returns the deploys it made.
async fn one(main: &mut RunCtx, path: PathApp) -> (Result<(), Failure>, u32) {
    let PathApp {
        planned,
        checkouts,
        app,
    } = path;
    let previous = main.checkouts.base.as_ref().map(|b| b.version.clone());
    let mut guard = PathCtx::new(main, checkouts, app);
    let ctx = &mut guard.ctx;
    let selected = Selected {
        upgrade: true,
        ..Default::default()
    };
    let outcome = match rungs::install(ctx, &selected).await {
        Err(mut f) => {
            f.message = format!(
                "upgrade from {}: installing it as an operator has it failed: {}",
                planned.release.tag, f.message
            );
            Err(f)
        }
        Ok(_) => {
            let upgraded = match rungs::upgrade(ctx).await {
                Ok(_) => ctx.check_stays_up().await,
                Err(f) => Err(f),
            };
            upgraded.map_err(|mut f| {
                f.message = path_failure(&planned, previous.as_deref(), &f.message);
                f
            })
        }
    };
    let deploys = ctx.deploy_count;
    let rig_failure = ctx
        .rig_failure
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .clone();
    let bad_input = ctx.bad_input.take();
    drop(guard);
    if let Some(rig) = rig_failure {
        main.record_rig_failure(rig.message);
    }
    if let Some(bad) = bad_input {
        main.bad_input.get_or_insert(bad);
    }
    (
        outcome.map_err(|mut f| {
            f.rung = Some(Rung::Upgrade);
            f
        }),
        deploys,
    )
}

/// What went wrong on a path, who it hurts and the fix.
fn path_failure(planned: &PlannedPath, previous: Option<&str>, message: &str) -> String {
    let tag = &planned.release.tag;
    let through = previous
        .map(|p| format!(" to upgrade through {p} first"))
        .unwrap_or_default();
    format!(
        "upgrade from {tag}: {message}. Operators still on {tag} who upgrade straight to the head hit this. Fix: make the head upgrade from {tag} too (e.g. keep the migration a later release added), or, if that upgrade is not supported, remove \"{}\" from [upgrade] from and tell operators in the release notes{through}",
        planned.asked.as_str()
    )
}

/// A run context of its own for a path's app, lending it the run's progress (given back
/// when dropped, also when a stopped run drops the path mid-way).
struct PathCtx<'a> {
    ctx: RunCtx,
    main_progress: &'a mut Progress,
}

impl<'a> PathCtx<'a> {
    fn new(main: &'a mut RunCtx, checkouts: Checkouts, app: App) -> PathCtx<'a> {
        let ctx = RunCtx {
            engine: main.engine.clone(),
            app,
            suite: main.suite.clone(),
            suite_dir: main.suite_dir.clone(),
            checkouts,
            out_dir: main.out_dir.clone(),
            progress: Progress::quiet(),
            redactor: main.redactor.clone(),
            deploy_count: 0,
            timings: BTreeMap::new(),
            history: Default::default(),
            depends_on: BTreeMap::new(),
            head_version: None,
            first_failure: None,
            rig_failure: Default::default(),
            extra: main.extra,
            warm: None,
            judged_by: main.judged_by.clone(),
            base_grants: None,
            bad_input: None,
        };
        let mut guard = PathCtx {
            ctx,
            main_progress: &mut main.progress,
        };
        std::mem::swap(guard.main_progress, &mut guard.ctx.progress);
        guard
    }
}

impl Drop for PathCtx<'_> {
    fn drop(&mut self) {
        std::mem::swap(self.main_progress, &mut self.ctx.progress);
    }
}

/// After the walk (done or stopped): a path app still live torn down, paths not reached
/// recorded as such, the upgrade rung folded with every path (the core's rule), the costs
/// added to the run's. Returns every path, the ladder's own (`previous`) first — or none
/// when the run had no extra path.
pub async fn finish(
    ctx: &mut RunCtx,
    mut walk: PathsWalk,
    state_dir: &Path,
    results: &mut [RungResult],
) -> Vec<UpgradePath> {
    if walk.planned.is_empty() {
        return Vec::new();
    }
    if let Some((stack, since)) = walk.live.take() {
        ctx.progress.line(&format!("tearing down {stack}"));
        let _ = ccci_adapters::teardown::teardown(&ctx.engine, &stack).await;
        registry::unregister(state_dir, &stack);
        walk.ms += since.elapsed().as_millis() as u64;
    }
    for (tag, asked) in walk.planned.iter().skip(walk.done.len()) {
        walk.done.push(UpgradePath {
            from: tag.clone(),
            asked: asked.clone(),
            status: RungStatus::Skip,
            reason: Some("not reached: run stopped".into()),
            duration_ms: 0,
            deploy_count: 0,
        });
    }
    ctx.deploy_count += walk.deploys;
    *ctx.timings.entry("upgrade_paths".into()).or_default() += walk.ms;
    let own = ladders_own(ctx, results);
    if let Some(rung) = results.iter_mut().find(|r| r.name == Rung::Upgrade) {
        rule::fold(rung, &walk.done);
    }
    let upgrade_failed_first = ctx
        .first_failure
        .as_ref()
        .is_none_or(|f| f.rung.is_none_or(|r| r > Rung::Upgrade));
    if let (Some(f), true) = (walk.failure, upgrade_failed_first) {
        ctx.first_failure = Some(f);
    }
    own.into_iter().chain(walk.done).collect()
}

/// The ladder's own path (`previous`), as its install and upgrade rungs went.
fn ladders_own(ctx: &RunCtx, results: &[RungResult]) -> Option<UpgradePath> {
    let base = ctx.checkouts.base.as_ref()?;
    let rung = |name| results.iter().find(|r| r.name == name);
    let ran = |r: Option<&RungResult>| r.is_some_and(|r| r.status != RungStatus::Skip);
    let (install, upgrade) = (rung(Rung::Install), rung(Rung::Upgrade)?);
    Some(UpgradePath {
        from: base.version.clone(),
        asked: "previous".into(),
        status: upgrade.status,
        reason: upgrade.reason.clone(),
        duration_ms: install.map_or(0, |r| r.duration_ms) + upgrade.duration_ms,
        deploy_count: ran(install) as u32 + ran(Some(upgrade)) as u32,
    })
}
