//! The claim loop: fills this host's slots from the shared queue, runs each job, keeps its
//! lease alive, records the outcome, and on shutdown gives unfinished jobs back.
//!
//! Shutdown flows through two tokens:
//! - `stop` (from the caller's shutdown future): no more claims; running runs go on;
//! - `runs_cancel` (fired by this loop once `shutdown_grace` has passed): every run is
//!   cancelled, tears down, and its job is released to the queue for another host or the
//!   next start. Runs get [`TEARDOWN_BOUND`] more to finish tearing down; past that they are
//!   dropped and their jobs released all the same. A run whose verdict was reported already
//!   (a quick run putting its canonical back, [`report_first`]) is recorded, not released.
//!
//! A person's cancel (`!testme cancel`, the run page) is a third, per-job token: the store
//! marks the job (`cancel_requested_by`), the heartbeat of whichever host runs it reads the
//! mark (every [`CANCEL_POLL`] at most) and fires the run's `user_cancel`; the run tears
//! down and is judged cancelled, never red.
//!
//! cc-ci's own failure (the runner's `Err` other than bad input, or a run judged
//! [`RunEnd::Error`]) is not the recipe's: the job is retried [`CCCI_ERROR_RETRIES`] time(s)
//! (counted in the store's `ccci_errors`), then ends as `error` and raises an alert.

use crate::app::App;
use crate::job::{now_millis, Job, JobFilter, JobState, Millis, Outcome};
use crate::reporter;
use crate::store::Heartbeat;
use ccci_core::results::RunResults;
use ccci_core::run_end::RunEnd;
use ccci_runner::recipe::InputError;
use ccci_runner::request::{OnVerdict, RunRequest};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

/// After cancelling, how long a run may take to tear down before it is abandoned.
pub const TEARDOWN_BOUND: Duration = Duration::from_secs(180);

/// The longest a person's cancel waits to be seen by the host running the job: the
/// heartbeat (which reads it) runs at least this often.
pub const CANCEL_POLL: Duration = Duration::from_secs(2);

/// How many times a job that ended in cc-ci's own error is run again before it reports
/// `error`.
pub const CCCI_ERROR_RETRIES: i64 = 1;

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
                    tracing::info!(run = job.id, recipe = %job.request.recipe, "claimed");
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
    ccci_adapters::registry::kept(&app.config.rig.state_dir, now).len()
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
        recipe_source: job.request.clone_url.clone(),
        git_ref: Some(job.request.head_sha.clone())
            .filter(|s| !s.is_empty())
            .or_else(|| job.request.git_ref.clone()),
        stages: job.request.flags.stages.clone(),
        quick: job.request.flags.quick,
        extra: job.request.flags.extra,
        out_dir: app.run_dir(job.id),
        rig: app.config.rig.clone(),
        run_url: Some(app.run_url(job.id)),
        run_id: Some(job.id.to_string()),
        user_cancel: CancellationToken::new(),
        keep: job.request.flags.keep_secs.map(Duration::from_secs),
        on_verdict: Default::default(),
    }
}

/// A verdict the runner told before it returned (see [`report_first`]).
type Told = Arc<std::sync::Mutex<Option<RunResults>>>;

/// The runner's hook on a run's verdict (docs/behaviour.md §6: a quick run reports before it puts
/// its canonical back and releases the recipe's lock): a GREEN or RED verdict goes to the
/// forge at once; the job is recorded in the store when the runner returns. Cancelled and
/// cc-ci's own error are reported then (a cancel note, or a retry).
fn report_first(app: Arc<App>, job: Job, told: Told) -> OnVerdict {
    OnVerdict::new(move |results| {
        let (app, job, told) = (app.clone(), job.clone(), told.clone());
        Box::pin(async move {
            if results.end.verdict().is_some() {
                reporter::finished(&app, &job, Some(&results), None).await;
                *told.lock().unwrap_or_else(|e| e.into_inner()) = Some(results);
            }
        })
    })
}

/// One claimed job from start to recorded outcome.
async fn run_job(app: Arc<App>, job: Job, runs_cancel: CancellationToken) {
    let host = app.config.host_id.clone();
    let cancel = runs_cancel.child_token();
    let lost_lease = Arc::new(AtomicBool::new(false));

    reporter::running(&app, &job).await;

    let told = Told::default();
    let mut request = request_for(&app, &job);
    request.on_verdict = report_first(app.clone(), job.clone(), told.clone());
    let heartbeat = tokio::spawn(heartbeat(
        app.clone(),
        job.id,
        cancel.clone(),
        request.user_cancel.clone(),
        lost_lease.clone(),
    ));
    if let Err(e) = std::fs::create_dir_all(&request.out_dir) {
        tracing::warn!(
            run = job.id,
            "cannot create {}: {e}",
            request.out_dir.display()
        );
    }
    let result = run_bounded(&app, &job, request, &cancel).await;
    heartbeat.abort();
    // A verdict already reported stands, whatever came after it (a quick run's restore).
    let told = told.lock().unwrap_or_else(|e| e.into_inner()).take();
    let reported = told.is_some();
    let result = match (result, told) {
        (Err(e), Some(told)) => {
            tracing::warn!(run = job.id, "after its verdict: {e:#}");
            Ok(told)
        }
        (result, _) => result,
    };

    if lost_lease.load(Ordering::SeqCst) {
        return; // another host owns the job now
    }
    if runs_cancel.is_cancelled() && !reported {
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
    if outcome.end == RunEnd::Error && job.ccci_errors < CCCI_ERROR_RETRIES {
        retry_after_ccci_error(&app, &job, &outcome).await;
    } else {
        record(&app, &job, &outcome, results.as_ref(), reported).await;
    }
    app.wake.notify_one();
}

/// Renews the job's lease every third of it (at least every [`CANCEL_POLL`]): if the store
/// says the job is no longer ours (the lease expired and another host took it), stops the
/// run; if someone asked to cancel it, fires the run's `user_cancel`.
async fn heartbeat(
    app: Arc<App>,
    id: crate::job::JobId,
    cancel: CancellationToken,
    user_cancel: CancellationToken,
    lost: Arc<AtomicBool>,
) {
    let every = (app.config.lease / 3).min(CANCEL_POLL);
    loop {
        tokio::select! {
            _ = cancel.cancelled() => return,
            _ = tokio::time::sleep(every) => {}
        }
        let until = now_millis() + app.config.lease.as_millis() as Millis;
        match app.store.heartbeat(id, &app.config.host_id, until).await {
            Ok(Heartbeat::Held {
                cancel_requested_by: Some(by),
            }) if !user_cancel.is_cancelled() => {
                tracing::info!(run = id, by, "cancel requested: stopping the run");
                user_cancel.cancel();
            }
            Ok(Heartbeat::Held { .. }) => {}
            Ok(Heartbeat::Lost) => {
                tracing::warn!(run = id, "lease lost: stopping the run");
                lost.store(true, Ordering::SeqCst);
                cancel.cancel();
                return;
            }
            // A store hiccup: keep running; the lease covers two more tries.
            Err(e) => tracing::warn!(run = id, "heartbeat failed: {e}"),
        }
    }
}

/// Runs the job through the executor. The runner enforces the run's deadline itself; this
/// outer bound only guards against a runner that does not return: past deadline + teardown
/// bound it is cancelled, and past one more teardown bound abandoned as cc-ci's error.
async fn run_bounded(
    app: &App,
    job: &Job,
    request: RunRequest,
    cancel: &CancellationToken,
) -> anyhow::Result<RunResults> {
    let outer = app.config.rig.deadline + TEARDOWN_BOUND;
    let mut run = app.executor.run(request, cancel.clone());
    match tokio::time::timeout(outer, &mut run).await {
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
    }
}

/// cc-ci failed, not the recipe: the job goes back to the queue for its one retry.
async fn retry_after_ccci_error(app: &App, job: &Job, outcome: &Outcome) {
    let why = outcome.note.as_deref().unwrap_or("cc-ci failed");
    let note: String = format!("cc-ci error (not the recipe), retrying: {why}")
        .chars()
        .take(300)
        .collect();
    match app
        .store
        .retry_after_ccci_error(job.id, &app.config.host_id, &note)
        .await
    {
        Ok(true) => {
            tracing::warn!(run = job.id, "cc-ci error, retrying once: {why}");
            reporter::requeued(app, job, "cc-ci failed (not the recipe); retrying once").await;
        }
        Ok(false) => tracing::warn!(run = job.id, "cc-ci error, but the job was no longer ours"),
        Err(e) => tracing::warn!(run = job.id, "retry not recorded: {e}"),
    }
}

/// Records the job's end and reports it (unless its verdict was reported already); a cc-ci
/// error (after its retry) alerts the operator.
async fn record(
    app: &App,
    job: &Job,
    outcome: &Outcome,
    results: Option<&RunResults>,
    reported: bool,
) {
    let finished_at = now_millis();
    match app
        .store
        .finish(job.id, &app.config.host_id, outcome, finished_at)
        .await
    {
        Ok(true) => {
            app.metrics.run_finished(job, outcome.end, finished_at);
            tracing::info!(run = job.id, verdict = %outcome.end, level = outcome.level, "finished");
            if outcome.end == RunEnd::Error {
                alert_ccci_error(app, job, outcome);
            }
            if reported {
                return;
            }
            // Who cancelled, as the store recorded it.
            let job = match app.store.job(job.id).await {
                Ok(Some(now)) => now,
                _ => job.clone(),
            };
            reporter::finished(app, &job, results, outcome.note.as_deref()).await;
        }
        Ok(false) => tracing::warn!(run = job.id, "finished, but the job was no longer ours"),
        Err(e) => tracing::warn!(run = job.id, "outcome not recorded: {e}"),
    }
}

/// An alert for the operator (shown on the dashboard, relayed once): cc-ci failed a run
/// twice, not the recipe.
fn alert_ccci_error(app: &App, job: &Job, outcome: &Outcome) {
    let message = format!(
        "run {} of {} ended in cc-ci's own error after {} retry: {}",
        job.id,
        job.request.recipe,
        CCCI_ERROR_RETRIES,
        outcome.note.as_deref().unwrap_or("no detail")
    );
    if let Err(e) = ccci_adapters::alerts::raise(
        &app.config.rig.state_dir,
        &job.request.recipe,
        "ccci-error",
        &message,
    ) {
        tracing::warn!(run = job.id, "alert not raised: {e:#}");
    }
}

fn outcome_of(result: anyhow::Result<RunResults>) -> (Outcome, Option<RunResults>) {
    match result {
        Ok(results) => (
            Outcome {
                end: results.end,
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
                end: end_of_error(&e),
                level: 0,
                note: Some(format!("{e:#}").chars().take(300).collect()),
            },
            None,
        ),
    }
}

/// A runner `Err` is cc-ci's own failure (the engine, git, the host), unless it is bad
/// input: the recipe's own mistake (no `DOMAIN`, malformed compose, a missing image) stays
/// RED.
fn end_of_error(error: &anyhow::Error) -> RunEnd {
    if error
        .downcast_ref::<InputError>()
        .is_some_and(InputError::is_the_recipes)
    {
        RunEnd::RED
    } else {
        RunEnd::Error
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_runner_error_is_cc_ci_s_unless_it_is_the_recipe_s_bad_input() {
        let input = anyhow::Error::from(InputError::UnknownStage { name: "x".into() })
            .context("preparing the run");
        let rows = [
            (input, RunEnd::RED),
            (
                anyhow::anyhow!("cannot connect to the Docker engine"),
                RunEnd::Error,
            ),
            (
                anyhow::Error::from(InputError::RigPull {
                    service: "app".into(),
                    image: "127.0.0.1:1/app:1".into(),
                    reason: "the registry 127.0.0.1:1 does not answer".into(),
                }),
                RunEnd::Error,
            ),
        ];
        for (error, want) in rows {
            let (outcome, results) = outcome_of(Err(error));
            assert_eq!(outcome.end, want, "{:?}", outcome.note);
            assert!(results.is_none());
        }
    }
}
