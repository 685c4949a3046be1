//! `ccci serve`: open the store, start the poller, the hook registration, the janitor, the nightly sweep (when
//! configured), the scheduler and the HTTP server, and run until `shutdown` resolves.

use crate::app::{App, Forge};
use crate::config::Config;
use crate::executor::{Executor, RunnerExecutor};
use crate::metrics::Metrics;
use crate::store::Store;
use anyhow::Context as _;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// How long the HTTP server may take to close its connections after shutdown.
const HTTP_CLOSE_BOUND: Duration = Duration::from_secs(10);

/// Runs the service with the real runner until `shutdown` resolves, then stops claiming,
/// lets running runs finish within `shutdown_grace` (then cancels them and re-queues their
/// jobs), and returns.
pub async fn serve(
    config: Config,
    shutdown: impl Future<Output = ()> + Send,
) -> anyhow::Result<()> {
    serve_with(config, Arc::new(RunnerExecutor), shutdown).await
}

/// [`serve`] with a chosen executor (tests; embedding).
pub async fn serve_with(
    config: Config,
    executor: Arc<dyn Executor>,
    shutdown: impl Future<Output = ()> + Send,
) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("cannot listen on {}", config.listen))?;
    serve_on(config, executor, listener, shutdown).await
}

/// [`serve_with`] on an already bound listener (tests bind port 0 and read the address).
pub async fn serve_on(
    config: Config,
    executor: Arc<dyn Executor>,
    listener: tokio::net::TcpListener,
    shutdown: impl Future<Output = ()> + Send,
) -> anyhow::Result<()> {
    std::fs::create_dir_all(&config.runs_dir)
        .with_context(|| format!("cannot create runs_dir {}", config.runs_dir.display()))?;
    let store = Store::open(config.database_url.expose())
        .await
        .context("cannot open the database")?;
    let forge = config.forge.as_ref().map(Forge::new).transpose()?;
    let metrics = Metrics::load(&store, &config.host_id)
        .await
        .context("cannot count the finished runs")?;
    let app = Arc::new(App {
        config,
        store,
        forge,
        executor,
        metrics,
        wake: tokio::sync::Notify::new(),
        sticky: tokio::sync::Mutex::new(std::collections::HashMap::new()),
        sweeping: tokio::sync::Mutex::new(false),
        triggers: crate::triggers::Triggers::new(crate::job::now_millis()),
    });
    tracing::info!(
        host = %app.config.host_id,
        listen = %listener.local_addr().map(|a| a.to_string()).unwrap_or_default(),
        store = app.store.backend(),
        capacity = app.config.capacity,
        keycloak = app.config.rig.keycloak.as_ref().map_or("none", |k| k.url.as_str()),
        "ccci serve started"
    );

    // `stop` fans the caller's shutdown out to every task.
    let stop = CancellationToken::new();
    let poller = tokio::spawn(crate::intake::poll_loop(app.clone(), stop.clone()));
    let hooks = tokio::spawn(crate::hooks::run(app.clone(), stop.clone()));
    // The janitor's first sweep reaps what a dead run of this host left before the
    // scheduler claims anything (so a re-run never meets its own predecessor's app).
    let (swept, first_sweep) = tokio::sync::oneshot::channel();
    let janitor = tokio::spawn(crate::janitor::run(app.clone(), stop.clone(), swept));
    let nightly = tokio::spawn(crate::nightly::run(app.clone(), stop.clone()));
    let scheduler = {
        let (app, stop) = (app.clone(), stop.clone());
        tokio::spawn(async move {
            // Err: the janitor stopped before its first sweep ended (shutdown); the
            // scheduler then claims nothing and only releases.
            let _ = first_sweep.await;
            crate::scheduler::run(app, stop).await
        })
    };
    let http = {
        let stop = stop.clone();
        let router = crate::dashboard::router(app.clone());
        tokio::spawn(async move {
            axum::serve(listener, router)
                .with_graceful_shutdown(async move { stop.cancelled().await })
                .await
        })
    };

    shutdown.await;
    tracing::info!("shutdown requested: no more claims");
    stop.cancel();
    let _ = poller.await;
    let _ = hooks.await;
    let _ = janitor.await;
    // The sweep bounds itself too (its cancel + teardown bound), alongside the scheduler's.
    let _ = nightly.await;
    // The scheduler bounds itself (grace + teardown bound).
    let _ = scheduler.await;
    match tokio::time::timeout(HTTP_CLOSE_BOUND, http).await {
        Ok(Ok(Ok(()))) => {}
        Ok(Ok(Err(e))) => tracing::warn!("HTTP server ended with: {e}"),
        Ok(Err(e)) => tracing::warn!("HTTP server task failed: {e}"),
        Err(_) => tracing::warn!("HTTP connections still open after {HTTP_CLOSE_BOUND:?}; leaving"),
    }
    tracing::info!("ccci serve stopped");
    Ok(())
}
