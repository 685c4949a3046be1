//! The claim loop: fills this host's slots from the shared queue, runs each job, keeps its
//! lease alive, records the outcome, and on shutdown gives unfinished jobs back.
//!
//! Shutdown flows through two tokens:
//! - `stop` (from the caller's shutdown future): no more claims; running runs go on;
//! - `runs_cancel` (fired by this loop once `shutdown_grace` has passed): every run is
//!   cancelled, tears down, and its job is released to the queue for another host or the
//!   next start. Runs get [`TEARDOWN_BOUND`] more to finish tearing down; past that they are
//!   dropped and their jobs released all the same.

use crate::app::App;
use crate::job::{now_millis, Job, JobFilter, JobState, Millis, Outcome};
use crate::reporter;
use ccci_core::ladder::Verdict;
use ccci_core::results::RunResults;
use ccci_runner::request::RunRequest;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

/// After cancelling, how long a run may take to tear down before it is abandoned.
pub const TEARDOWN_BOUND: Duration = Duration::from_secs(180);

/// Runs the claim loop until `stop` fires and the running jobs are finished or released.
pub async fn run(app: Arc<App>, stop: CancellationToken) {
    let runs_cancel = CancellationToken::new();
    let mut runs: JoinSet<()> = JoinSet::new();
    let capacity = app.config.capacity;
    let lease_ms = app.config.lease.as_millis() as Millis;
    loop {
        if let Err(e) = app
            .store
            .register_host(&app.config.host_id, capacity, now_millis())
            .await
        {
            tracing::warn!("host not registered: {e}");
        }
        // Apps kept for debugging (`--keep`) hold their slots until the janitor removes them.
        let slots = crate::policy::slots_for_runs(capacity, kept_apps(&app));
        while runs.len() < slots as usize && !stop.is_cancelled() {
            // Held across the claim: see `App::sweeping`.
            let sweeping = app.sweeping.lock().await;
            if *sweeping {
                break;
            }
            match app
                .store
                .claim(&app.config.host_id, slots, lease_ms, now_millis())
                .await
            {
                Ok(Some(job)) => {
                    tracing::info!(run = job.id, recipe = %job.recipe, "claimed");
                    app.metrics.run_started(&job);
                    runs.spawn(run_job(app.clone(), job, runs_cancel.clone()));
                }
                Ok(None) => break,
                Err(e) => {
                    tracing::warn!("claim failed: {e}");
                    break;
                }
            }
        }
        tokio::select! {
            _ = stop.cancelled() => break,
            _ = app.wake.notified() => {}
            Some(_) = runs.join_next(), if !runs.is_empty() => {}
            _ = tokio::time::sleep(app.config.claim_interval) => {}
        }
    }

    if !runs.is_empty() {
        tracing::info!(running = runs.len(), grace = ?app.config.shutdown_grace, "shutting down: waiting for running runs");
        let drained = tokio::time::timeout(app.config.shutdown_grace, drain(&mut runs)).await;
        if drained.is_err() {
            tracing::info!("grace over: cancelling running runs");
            runs_cancel.cancel();
            if tokio::time::timeout(TEARDOWN_BOUND, drain(&mut runs))
                .await
                .is_err()
            {
                runs.abort_all();
                drain(&mut runs).await;
            }
        }
    }
    release_all(&app).await;
}

/// How many apps RED runs of this host keep for debugging now (its registry).
fn kept_apps(app: &App) -> usize {
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    ccci_runner::registry::kept(&app.config.rig.state_dir, now).len()
}

async fn drain(runs: &mut JoinSet<()>) {
    while runs.join_next().await.is_some() {}
}

/// The running jobs this host holds.
pub(crate) async fn held_by_this_host(app: &App) -> crate::store::StoreResult<Vec<Job>> {
    let running = app
        .store
        .jobs(&JobFilter {
            state: Some(JobState::Running),
            limit: Some(10_000),
            ..JobFilter::default()
        })
        .await?;
    Ok(running
        .into_iter()
        .filter(|j| j.host.as_deref() == Some(app.config.host_id.as_str()))
        .collect())
}

/// Gives every job still held by this host back to the queue.
async fn release_all(app: &App) {
    for job in &held_by_this_host(app).await.unwrap_or_default() {
        if let Ok(true) = app.store.release(job.id, &app.config.host_id).await {
            tracing::info!(run = job.id, "released to the queue");
            reporter::requeued(app, job, "the host shut down").await;
        }
    }
}

fn request_for(app: &App, job: &Job) -> RunRequest {
    RunRequest {
        recipe_source: job.clone_url.clone(),
        git_ref: Some(job.head_sha.clone())
            .filter(|s| !s.is_empty())
            .or_else(|| job.git_ref.clone()),
        stages: job.flags.stages.clone(),
        quick: job.flags.quick,
        extra: job.flags.extra,
        out_dir: app.run_dir(job.id),
        rig: app.config.rig.clone(),
        run_url: Some(app.run_url(job.id)),
        run_id: Some(job.id.to_string()),
        keep: job.flags.keep_secs.map(Duration::from_secs),
    }
}

/// One claimed job from start to recorded outcome.
async fn run_job(app: Arc<App>, job: Job, runs_cancel: CancellationToken) {
    let host = app.config.host_id.clone();
    let cancel = runs_cancel.child_token();
    let lost_lease = Arc::new(AtomicBool::new(false));

    reporter::running(&app, &job).await;

    // Heartbeat: renew the lease every third of it. If the store says the job is no longer
    // ours (the lease expired and another host took it), stop the run.
    let heartbeat = {
        let app = app.clone();
        let cancel = cancel.clone();
        let lost = lost_lease.clone();
        let id = job.id;
        let host = host.clone();
        tokio::spawn(async move {
            let every = app.config.lease / 3;
            loop {
                tokio::select! {
                    _ = cancel.cancelled() => return,
                    _ = tokio::time::sleep(every) => {}
                }
                let until = now_millis() + app.config.lease.as_millis() as Millis;
                match app.store.heartbeat(id, &host, until).await {
                    Ok(true) => {}
                    Ok(false) => {
                        tracing::warn!(run = id, "lease lost: stopping the run");
                        lost.store(true, Ordering::SeqCst);
                        cancel.cancel();
                        return;
                    }
                    // A store hiccup: keep running; the lease covers two more tries.
                    Err(e) => tracing::warn!(run = id, "heartbeat failed: {e}"),
                }
            }
        })
    };

    let request = request_for(&app, &job);
    if let Err(e) = std::fs::create_dir_all(&request.out_dir) {
        tracing::warn!(
            run = job.id,
            "cannot create {}: {e}",
            request.out_dir.display()
        );
    }
    // The runner enforces the run's deadline itself; this outer bound only guards against a
    // runner that does not return: past deadline + teardown bound it is cancelled, and past
    // one more teardown bound abandoned as red.
    let outer = app.config.rig.deadline + TEARDOWN_BOUND;
    let mut run = app.executor.run(request, cancel.clone());
    let result = match tokio::time::timeout(outer, &mut run).await {
        Ok(result) => result,
        Err(_) => {
            tracing::warn!(run = job.id, "runner overran its deadline: cancelling");
            cancel.cancel();
            match tokio::time::timeout(TEARDOWN_BOUND, run).await {
                Ok(result) => result,
                Err(_) => Err(anyhow::anyhow!(
                    "the run did not end within its deadline and teardown bound"
                )),
            }
        }
    };
    heartbeat.abort();

    if lost_lease.load(Ordering::SeqCst) {
        return; // another host owns the job now
    }
    if runs_cancel.is_cancelled() {
        // Shutdown cut the run short: not a verdict on the recipe. Re-queue it.
        if let Ok(true) = app.store.release(job.id, &host).await {
            reporter::requeued(&app, &job, "the host shut down").await;
        }
        return;
    }
    let (outcome, results) = outcome_of(result);
    if results.is_none() {
        // The runner failed before writing results: keep its error beside the logs.
        let note = outcome.note.clone().unwrap_or_default();
        if let Err(e) = std::fs::write(app.run_dir(job.id).join("error.txt"), note) {
            tracing::debug!(run = job.id, "error note not written: {e}");
        }
    }
    let finished_at = now_millis();
    match app.store.finish(job.id, &host, &outcome, finished_at).await {
        Ok(true) => {
            app.metrics.run_finished(&job, outcome.verdict, finished_at);
            tracing::info!(run = job.id, verdict = %outcome.verdict, level = outcome.level, "finished");
            reporter::finished(&app, &job, results.as_ref(), outcome.note.as_deref()).await;
        }
        Ok(false) => tracing::warn!(run = job.id, "finished, but the job was no longer ours"),
        Err(e) => tracing::warn!(run = job.id, "outcome not recorded: {e}"),
    }
    app.wake.notify_one();
}

fn outcome_of(result: anyhow::Result<RunResults>) -> (Outcome, Option<RunResults>) {
    match result {
        Ok(results) => (
            Outcome {
                verdict: results.verdict,
                level: results.level,
                note: results
                    .failure
                    .as_ref()
                    .map(|f| f.message.chars().take(300).collect()),
            },
            Some(results),
        ),
        Err(e) => (
            Outcome {
                verdict: Verdict::Red,
                level: 0,
                note: Some(format!("{e:#}").chars().take(300).collect()),
            },
            None,
        ),
    }
}
