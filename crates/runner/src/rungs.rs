//! The rungs of a cold run, in ladder order: install → upgrade → backup_restore →
//! functional, then integration beside the ladder. Each rung either passes or records a
//! [`Failure`]; a failure stops the climb (the rungs above are skipped as not reached).

use crate::ctx::{RunCtx, Which};
use crate::{backup, functional, hooks};
use ccci_core::compose::StackModel;
use ccci_core::judge::rung_of_tests;
use ccci_core::ladder::{Rung, RungStatus, SkipKind};
use ccci_core::results::{Failure, RungResult, TestCase};

use std::time::{Duration, Instant};

pub use ccci_core::plan::Selected;

fn result(rung: Rung, status: RungStatus, reason: Option<String>, since: Instant) -> RungResult {
    RungResult {
        name: rung,
        status,
        reason,
        skip: None,
        duration_ms: since.elapsed().as_millis() as u64,
        tests: Vec::new(),
    }
}

/// A rung that did not run, and why.
pub(crate) fn skip(rung: Rung, kind: SkipKind, reason: String) -> RungResult {
    RungResult {
        name: rung,
        status: RungStatus::Skip,
        reason: Some(reason),
        skip: Some(kind),
        duration_ms: 0,
        tests: Vec::new(),
    }
}

/// Walks the selected rungs, pushing each result as it completes (so a cancelled walk
/// leaves the finished rungs in `results`).
pub async fn walk(ctx: &mut RunCtx, selected: &Selected, results: &mut Vec<RungResult>) {
    let mut blocked: Option<Rung> = None;
    let (_watcher, mut fell) = StaysUpWatch::start(ctx);
    // The minimum uptime is waited out at the end of the last ladder rung that runs.
    let last = Rung::LADDER
        .iter()
        .copied()
        .filter(|r| *r != Rung::Lint)
        .rfind(|r| selected.runs(*r));
    for rung in selected.reported() {
        if let Some(failed) = blocked {
            results.push(skip(
                rung,
                SkipKind::Unintentional,
                format!("not reached: {failed} failed"),
            ));
            continue;
        }
        if !selected.runs(rung) {
            let (kind, reason) = selected
                .skipped
                .get(&rung)
                .cloned()
                .unwrap_or((SkipKind::Unintentional, "not run".into()));
            results.push(skip(rung, kind, reason));
            continue;
        }
        ctx.progress.line(&format!("── {rung}"));
        ctx.progress.rung_started(rung);
        let t = Instant::now();
        let outcome = tokio::select! {
            outcome = perform(ctx, selected, rung, last) => outcome,
            Ok(fell) = fell.wait_for(Option::is_some) => Err(Interrupted::Fell(fell.clone())),
        };
        let r = match outcome {
            Ok(tests) => judged(ctx, rung, tests, t),
            Err(Interrupted::Failed(failure)) => failed(ctx, rung, failure, t),
            Err(Interrupted::Fell(broken)) => {
                let failure = ctx.failure_of(broken.expect("waited for Some")).await;
                failed(ctx, rung, failure, t)
            }
        };
        if r.status == RungStatus::Fail {
            blocked = Some(rung);
        }
        ctx.progress.rung_finished(&r);
        results.push(r);
    }
}

/// A rung that ran to its end, judged from its tests (the core's rule), and said.
fn judged(ctx: &mut RunCtx, rung: Rung, tests: Vec<TestCase>, since: Instant) -> RungResult {
    let r = rung_of_tests(rung, tests, since.elapsed().as_millis() as u64);
    let reason = r.reason.clone().unwrap_or_default();
    match r.status {
        RungStatus::Skip => ctx.progress.line(&format!("   {rung}: skipped — {reason}")),
        status => {
            if status == RungStatus::Fail {
                ctx.rig_failure_failed(rung);
                ctx.first_failure.get_or_insert(Failure {
                    rung: Some(rung),
                    message: reason,
                    ..Default::default()
                });
            }
            ctx.progress.line(&format!(
                "   {rung}: {} ({:.1} s)",
                if status == RungStatus::Pass {
                    "pass"
                } else {
                    "FAIL"
                },
                r.duration_ms as f64 / 1000.0
            ));
        }
    }
    r
}

/// A rung that ended in a failure: recorded with its evidence as the run's first failure
/// (unless an earlier one is), and said.
fn failed(ctx: &mut RunCtx, rung: Rung, mut failure: Failure, since: Instant) -> RungResult {
    failure.rung = Some(rung);
    ctx.rig_failure_failed(rung);
    ctx.progress
        .line(&format!("   {rung}: FAIL — {}", failure.message));
    let r = result(rung, RungStatus::Fail, Some(failure.message.clone()), since);
    ctx.first_failure.get_or_insert(failure);
    r
}

/// Why a rung ended early: it failed, or the watcher saw a task that had been up fail.
enum Interrupted {
    Failed(Failure),
    Fell(Option<ccci_core::readiness::Broken>),
}

/// Performs one rung; "stays up" is checked once more at its end and, on the last ladder
/// rung, the minimum uptime is waited out (overlapping what the rung itself took).
async fn perform(
    ctx: &mut RunCtx,
    selected: &Selected,
    rung: Rung,
    last: Option<Rung>,
) -> Result<Vec<TestCase>, Interrupted> {
    let tests = match rung {
        Rung::Install => install(ctx, selected).await,
        Rung::Upgrade => upgrade(ctx).await,
        Rung::BackupRestore => backup::backup_restore(ctx).await,
        Rung::Functional => functional::run(ctx).await,
        Rung::Integration => functional::integration(ctx).await,
        Rung::Lint | Rung::RecipeLocal => Ok(Vec::new()),
    }
    .map_err(Interrupted::Failed)?;
    ctx.check_stays_up().await.map_err(Interrupted::Failed)?;
    let passed = tests.iter().all(|t| t.status != RungStatus::Fail);
    if Some(rung) == last && passed {
        ctx.stay_up_for_min_uptime()
            .await
            .map_err(Interrupted::Failed)?;
    }
    Ok(tests)
}

/// "Stays up" between observations: polls the stack every 2 s while the rungs run, feeds
/// the run's [`ccci_core::readiness::History`] and reports the first task that had been up
/// (healthy, or past its start) and then failed. Stopped when dropped.
struct StaysUpWatch(tokio::task::JoinHandle<()>);

impl StaysUpWatch {
    fn start(
        ctx: &RunCtx,
    ) -> (
        StaysUpWatch,
        tokio::sync::watch::Receiver<Option<ccci_core::readiness::Broken>>,
    ) {
        let (tx, rx) = tokio::sync::watch::channel(None);
        let (engine, stack) = (ctx.engine.clone(), ctx.app.stack.clone());
        let (history, policy) = (ctx.history.clone(), ctx.policy());
        let handle = tokio::spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_secs(2)).await;
                let Ok(services) = engine.observe_stack(&stack).await else {
                    continue;
                };
                let fell = {
                    let mut h = history.lock().unwrap_or_else(|p| p.into_inner());
                    h.observe(&services, ccci_adapters::clock::now_ms(), policy);
                    h.fell_after_up(&services)
                };
                if fell.is_some() {
                    let _ = tx.send(fell);
                    return;
                }
            }
        });
        (StaysUpWatch(handle), rx)
    }
}

impl Drop for StaysUpWatch {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// After a stop: the rung that was running fails with `message`, the rest are skipped.
pub fn mark_stopped(results: &mut Vec<RungResult>, selected: &Selected, message: &str) {
    let mut failed_one = false;
    for rung in selected.reported() {
        if results.iter().any(|r| r.name == rung) {
            continue;
        }
        if selected.runs(rung) && !failed_one {
            results.push(RungResult {
                name: rung,
                status: RungStatus::Fail,
                reason: Some(message.to_string()),
                skip: None,
                duration_ms: 0,
                tests: Vec::new(),
            });
            failed_one = true;
        } else {
            results.push(skip(
                rung,
                SkipKind::Unintentional,
                "not reached: run stopped".into(),
            ));
        }
    }
}

pub(crate) async fn install(
    ctx: &mut RunCtx,
    selected: &Selected,
) -> Result<Vec<TestCase>, Failure> {
    let which = if selected.upgrade && ctx.checkouts.base.is_some() {
        Which::Base
    } else {
        Which::Head
    };
    // Before anything exists (realm, secrets, volumes, services): what the head (and the
    // base, when it is installed first) would deploy. Every deploy checks again, after the
    // hooks.
    crate::host_access::check_before_install(ctx, which == Which::Base).await?;
    provision_dependencies(ctx).await?;
    if let Some(warm) = ctx.warm.clone() {
        // Quick lane: reattach the canonical — its kept volumes and secrets (re-created from
        // the snapshot and stored values if missing), its known-good version (the base).
        crate::warm::materialize(&ctx.engine, &warm.record, &warm.state_dir)
            .await
            .map_err(|e| Failure {
                message: format!("reattaching the warm canonical: {e}"),
                ..Default::default()
            })?;
    } else {
        hooks::run_hook(ctx, "install_steps").await?;
        ctx.app
            .create_secrets(&ctx.engine)
            .await
            .map_err(|e| Failure {
                message: format!("creating secrets: {e:#}"),
                ..Default::default()
            })?;
    }
    ctx.deploy(which).await?;
    ctx.wait_ready().await?;
    hooks::run_hook(ctx, "post_install").await?;
    Ok(Vec::new())
}

/// SSO (docs/behaviour.md §5): the run's realm and the app's OIDC client in the shared Keycloak,
/// the dependency file tests read, and — with `oidc_at_install` — the OIDC settings in the
/// app's env before its single first deploy. The client secret is redacted everywhere.
async fn provision_dependencies(ctx: &mut RunCtx) -> Result<(), Failure> {
    let Some(realm) = ctx.app.realm.clone() else {
        return Ok(());
    };
    let fail = |e: ccci_adapters::keycloak::KeycloakError| Failure {
        message: format!("provisioning the keycloak realm {}: {e}", realm.realm),
        ..Default::default()
    };
    let kc = ccci_adapters::keycloak::Keycloak::new(&realm.config).map_err(fail)?;
    let client_id = ctx.app.recipe.clone();
    let provisioned = kc
        .provision(&realm.realm, &realm.owner, &client_id, &ctx.app.domain)
        .await
        .map_err(fail)?;
    ctx.redactor.add(provisioned.client_secret.clone());
    ctx.progress.arm(&ctx.redactor);
    ctx.progress.line(&format!(
        "   keycloak realm {} with client {} (issuer {})",
        provisioned.realm, provisioned.client_id, provisioned.issuer
    ));
    // The dependency file lives in the run's work dir (never in the artefacts) and goes
    // with it; it carries the client secret so tests can sign in through the realm.
    let file = serde_json::json!({
        "keycloak": {
            "url": provisioned.url,
            "realm": provisioned.realm,
            "client_id": provisioned.client_id,
            "client_secret": provisioned.client_secret.expose(),
            "issuer": provisioned.issuer,
        }
    });
    write_private(
        &ctx.app.work_dir.join("dependencies.json"),
        format!("{file:#}\n").as_bytes(),
    )
    .map_err(|e| Failure {
        message: format!("writing the dependency file: {e}"),
        ..Default::default()
    })?;
    if ctx.suite.oidc_at_install {
        let names = ctx.suite.oidc_env.clone();
        ctx.app.env.set(&names.issuer, provisioned.issuer.clone());
        ctx.app
            .env
            .set(&names.client_id, provisioned.client_id.clone());
        ctx.app
            .env
            .set(&names.client_secret, provisioned.client_secret.expose());
    }
    Ok(())
}

/// Writes a file readable by its owner only.
fn write_private(path: &std::path::Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write as _;
    use std::os::unix::fs::OpenOptionsExt;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?;
    f.write_all(bytes)
}

pub(crate) async fn upgrade(ctx: &mut RunCtx) -> Result<Vec<TestCase>, Failure> {
    hooks::run_hook(ctx, "pre_upgrade").await?;
    // As `abra app upgrade` then `abra app secret generate`: the app's `.env` kept (with the
    // head's new variables added), the secrets the head adds created. Before the markers:
    // they compare the base's volumes with the head's, as the head loads with this `.env`.
    ctx.app
        .begin_upgrade(&ctx.engine, &ctx.checkouts.head.recipe)
        .await
        .map_err(|e| Failure {
            message: format!("creating the secrets the head adds: {e:#}"),
            ..Default::default()
        })?;
    let markers = crate::upgrade_data::write(ctx).await?;
    let kept = {
        let set_by_ci: Vec<&str> = ctx.suite.app_env.keys().map(String::as_str).collect();
        ccci_core::upgrade_env::kept_otherwise(
            &ctx.app.env,
            &ctx.checkouts.head.recipe.env_sample,
            &set_by_ci,
        )
    };
    let name_kept = |mut f: Failure| {
        if !kept.is_empty() {
            f.message.push_str(&format!(
                " (the app's .env keeps {} as the operator has it — abra app upgrade does not change an app's .env — while the head's .env.sample gives another value: if the head needs the new value, existing apps will not get it; make the head work with the old one or say in its release notes what to change)",
                kept.join(", ")
            ));
        }
        f
    };
    let head = ctx.deploy(Which::Head).await.map_err(name_kept)?;
    ctx.wait_ready().await.map_err(|mut f| {
        f.message = format!("after upgrading to the head: {}", f.message);
        name_kept(f)
    })?;
    let survived = crate::upgrade_data::check(ctx, markers).await?;
    version_moved(ctx, &head).await?;
    hooks::run_hook(ctx, "post_upgrade").await?;
    Ok(vec![survived])
}

/// "Version moved", measured on the engine rather than on the labels cc-ci stamps: every
/// running task of each service the head names runs the image the head's compose files
/// name with the app's `.env` (`head`: the stack as deployed; a paused or rolled-back
/// update leaves the old spec running).
async fn version_moved(ctx: &RunCtx, head: &StackModel) -> Result<(), Failure> {
    let named: std::collections::BTreeMap<String, String> = head
        .services
        .iter()
        .map(|(name, svc)| (name.clone(), svc.image.clone()))
        .collect();
    let running = ctx
        .engine
        .running_images(&ctx.app.stack)
        .await
        .map_err(|e| Failure {
            message: format!("reading what the upgraded services run: {e:#}"),
            ..Default::default()
        })?;
    match ccci_core::version::not_moved(&named, &running) {
        None => Ok(()),
        Some(stale) => Err(Failure {
            message: stale.to_string(),
            service: Some(stale.service.clone()),
            ..Default::default()
        }),
    }
}
