//! The janitor in the serve loop (docs/behaviour.md §8): reaps what dead runs of *this host* left on the
//! swarm — once at start, before the first claim (a host that died mid-run left its app up),
//! then every `janitor_interval`. The rules are the runner's ([`ccci_hostjobs::janitor`]):
//! a live run is never touched, a dead owner's stack is reaped now, a stack with no known
//! owner only once older than [`UNKNOWN_AFTER`]. With a `[keycloak]` configured it also
//! reaps this rig's realms whose run is gone. Then retention ([`crate::retention`]) removes
//! the run directories past `[retention]`'s limits. A failure is logged, never fatal.

use crate::app::App;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::oneshot;
use tokio_util::sync::CancellationToken;

/// Age after which a cc-ci stack with no known owner is reaped.
pub const UNKNOWN_AFTER: Duration = Duration::from_secs(2 * 60 * 60);

/// One sweep; the report goes to the log.
pub async fn sweep(app: &App) {
    match ccci_hostjobs::janitor::reap(&app.config.rig, UNKNOWN_AFTER, false).await {
        Ok(report) if report.trim().is_empty() => tracing::debug!("janitor: nothing to reap"),
        Ok(report) => {
            for line in report.lines().filter(|l| !l.trim().is_empty()) {
                tracing::info!("janitor: {line}");
            }
        }
        Err(e) => tracing::warn!("janitor failed (will retry next interval): {e:#}"),
    }
    match crate::retention::sweep(app).await {
        Ok(removed) => {
            for r in removed {
                tracing::info!(
                    "retention: removed run {} of {} ({})",
                    r.id,
                    r.recipe,
                    r.reason
                );
            }
        }
        Err(e) => tracing::warn!("retention failed (will retry next interval): {e:#}"),
    }
}

/// Sweeps at once, reports that on `first_done` (the scheduler waits for it before its
/// first claim), then sweeps every interval until `stop` fires. A sweep in progress is
/// abandoned on `stop`: each teardown it would do is repeated by the next start's sweep.
pub async fn run(app: Arc<App>, stop: CancellationToken, first_done: oneshot::Sender<()>) {
    tokio::select! {
        _ = stop.cancelled() => return,
        _ = sweep(&app) => {}
    }
    let _ = first_done.send(());
    let Some(every) = app.config.janitor_interval else {
        return;
    };
    loop {
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tokio::time::sleep(every) => {}
        }
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = sweep(&app) => {}
        }
    }
}
