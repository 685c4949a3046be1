//! The one call the scheduler makes into the runner, behind a trait so scheduling can be
//! tested on its own. [`RunnerExecutor`] is the real one.

use ccci_core::results::RunResults;
use ccci_runner::request::RunRequest;
use std::future::Future;
use std::pin::Pin;
use tokio_util::sync::CancellationToken;

pub type RunFuture = Pin<Box<dyn Future<Output = anyhow::Result<RunResults>> + Send>>;

/// Runs one recipe and returns its results. Writes `results.json`, logs and the other
/// artefacts into `request.out_dir`. On `cancel` it tears down and returns (a red result or
/// an error) promptly.
pub trait Executor: Send + Sync + 'static {
    fn run(&self, request: RunRequest, cancel: CancellationToken) -> RunFuture;
}

/// The real runner: a cold (or quick) run on this host's swarm.
#[derive(Clone, Copy, Debug, Default)]
pub struct RunnerExecutor;

impl Executor for RunnerExecutor {
    fn run(&self, request: RunRequest, cancel: CancellationToken) -> RunFuture {
        // Not on a terminal: the service runs several runs at once. Progress goes to the
        // service's log and, redacted, to the run directory's live files the run page streams.
        let progress = ccci_runner::progress::Progress::live(&request.out_dir);
        Box::pin(ccci_runner::lifecycle::run_with_progress(
            request, cancel, progress,
        ))
    }
}
