//! The HTML pages, the badge, `/metrics` and `/healthz`: each handler reads the store, the
//! run directory and the alerts dir, builds the page's view model ([`super::views`]) and
//! renders its template ([`super::templates`]).

use super::files::{has_card, results_of, run_files};
use super::{badge, templates, views};
use crate::app::App;
use crate::job::{now_millis, Job, JobFilter, JobId, JobState};
use crate::metrics::Snapshot;
use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::Json;
use ccci_adapters::alerts::{self, Alert};
use ccci_core::run_end::RunEnd;
use maud::Markup;
use serde_json::json;
use std::collections::HashMap;
use std::sync::Arc;

/// An error page; never a panic, never a stack trace.
pub struct Failure(StatusCode, String);

impl IntoResponse for Failure {
    fn into_response(self) -> Response {
        let page = templates::error_page(&self.0.to_string(), &self.1);
        (self.0, Html(page.into_string())).into_response()
    }
}

impl From<crate::store::StoreError> for Failure {
    fn from(e: crate::store::StoreError) -> Failure {
        tracing::warn!("dashboard: store: {e}");
        Failure(
            StatusCode::SERVICE_UNAVAILABLE,
            "the store is unavailable".into(),
        )
    }
}

fn html(markup: Markup) -> Html<String> {
    Html(markup.into_string())
}

/// The run list's filters from its query string; blank and unknown values are no filter.
pub fn filter_from(query: &HashMap<String, String>) -> JobFilter {
    let get = |k: &str| query.get(k).map(|v| v.trim()).filter(|v| !v.is_empty());
    JobFilter {
        recipe: get("recipe").map(String::from),
        end: get("verdict").and_then(RunEnd::parse),
        state: get("state").and_then(JobState::parse),
        limit: get("limit").and_then(|l| l.parse().ok()),
        before: get("before").and_then(|b| b.parse().ok()),
        ..JobFilter::default()
    }
}

/// How many of the newest jobs the run list's figures and recipe choices cover.
const RECENT_JOBS: u32 = 1000;

/// One page of `filter`'s jobs (its `limit`, else [`views::RUNS_PER_PAGE`]) and whether
/// older ones match: one row more than the page is read to know.
async fn page_of(app: &App, filter: &JobFilter) -> Result<(Vec<Job>, bool), Failure> {
    let size = filter.limit.unwrap_or(views::RUNS_PER_PAGE).clamp(1, 1000);
    let probe = JobFilter {
        limit: Some(size + 1),
        ..filter.clone()
    };
    let mut jobs = app.store.jobs(&probe).await?;
    let more = jobs.len() > size as usize;
    jobs.truncate(size as usize);
    Ok((jobs, more))
}

/// How many relayed (archived) alerts the alerts page and API show.
const RECENT_ARCHIVED: usize = 50;

/// This host's alerts (docs/behaviour.md §6), newest first: the pending ones and, with `archived`,
/// the most recent [`RECENT_ARCHIVED`] relayed ones. Read off the async runtime (file I/O); an
/// unreadable alerts dir reads as none.
pub async fn read_alerts(app: &App, archived: bool) -> (Vec<Alert>, Vec<Alert>) {
    let state = app.config.rig.state_dir.clone();
    tokio::task::spawn_blocking(move || {
        let mut pending = alerts::pending(&state);
        pending.reverse();
        let mut recent = if archived {
            alerts::archived(&state)
        } else {
            Vec::new()
        };
        recent.reverse();
        recent.truncate(RECENT_ARCHIVED);
        (pending, recent)
    })
    .await
    .unwrap_or_default()
}

pub async fn alerts_page(State(app): State<Arc<App>>) -> Html<String> {
    let (pending, archived) = read_alerts(&app, true).await;
    html(templates::alerts_page(&views::AlertsPage {
        pending: views::alert_rows(&pending),
        archived: views::alert_rows(&archived),
        archived_shown: RECENT_ARCHIVED,
    }))
}

pub async fn runs_page(
    State(app): State<Arc<App>>,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Html<String>, Failure> {
    let filter = filter_from(&query);
    let (jobs, more) = page_of(&app, &filter).await?;
    let now = now_millis();
    let queue = app.store.queue(now).await?;
    let recent = app.store.recent_by_recipe(RECENT_JOBS).await?;
    let (pending_alerts, _) = read_alerts(&app, false).await;
    let removed = super::retention::read_log(&app).await;
    let view = views::runs_page(&views::RunsInput {
        filter: &filter,
        jobs: &jobs,
        more,
        queue: &queue,
        recent: &recent,
        pending_alerts: &pending_alerts,
        removed: &removed,
        now,
    });
    Ok(html(templates::runs_page(&view)))
}

fn no_such_run(what: String) -> Failure {
    Failure(StatusCode::NOT_FOUND, what)
}

pub async fn run_page(
    State(app): State<Arc<App>>,
    Path(id): Path<String>,
) -> Result<Html<String>, Failure> {
    let id: JobId = id.parse().map_err(|_| no_such_run("no such run".into()))?;
    let job = app
        .store
        .job(id)
        .await?
        .ok_or_else(|| no_such_run(format!("run {id} does not exist")))?;
    let wait_reason = if job.state == JobState::Queued {
        let queue = app.store.queue(now_millis()).await?;
        queue.wait_reason(id).map(|r| r.to_string())
    } else {
        None
    };
    let quick_context = app
        .forge
        .as_ref()
        .map(|f| crate::reporter::status_context(&f.config.status_context, &job.request.flags));
    let results = results_of(&app, id);
    let files = run_files(&app, id);
    // Retention's log is read only for a run whose directory is gone.
    let log = match files.is_empty() {
        true => super::retention::read_log(&app).await,
        false => Vec::new(),
    };
    let removed = log.iter().rev().find(|r| r.id == id);
    let mut view = views::run_page(&views::RunInput {
        job: &job,
        results: results.as_ref(),
        quick_context,
        wait_reason,
        card_file: has_card(&app, id).then_some(ccci_report::artefacts::CARD_PNG),
        files: &files,
        removed,
        operator_actions: app.config.operator_token.is_some(),
        kept_deployed: results
            .as_ref()
            .is_some_and(|r| kept_deployed(&app, &r.stack)),
    });
    view.live = super::live::panel(&app, id, job.state);
    Ok(html(templates::run_page(&view)))
}

/// The operator's Cancel (`POST /runs/{id}/cancel`, form field `token`): with the
/// operator token, the job is cancelled (queued: never runs; running: stopped by its
/// host's next heartbeat) and the browser goes back to the run page. Without it: 403.
pub async fn cancel_run(
    State(app): State<Arc<App>>,
    Path(id): Path<JobId>,
    axum::Form(form): axum::Form<HashMap<String, String>>,
) -> Result<Response, Failure> {
    let given = form.get("token").map(String::as_str).unwrap_or("");
    let allowed = app
        .config
        .operator_token
        .as_ref()
        .is_some_and(|token| same_secret(token.expose(), given));
    if !allowed {
        return Err(Failure(
            StatusCode::FORBIDDEN,
            "cancelling needs the operator token (operator_token_file in the service's configuration)".into(),
        ));
    }
    let Some(job) = app.store.job(id).await? else {
        return Err(Failure(StatusCode::NOT_FOUND, format!("no run {id}")));
    };
    crate::intake::cancel_job(&app, &job, "an operator")
        .await
        .map_err(|e| {
            tracing::warn!(run = id, "cancel failed: {e:#}");
            Failure(
                StatusCode::SERVICE_UNAVAILABLE,
                "the store is unavailable".into(),
            )
        })?;
    Ok(axum::response::Redirect::to(&format!("/runs/{id}")).into_response())
}

/// Compares a secret with what was given in constant time (`subtle`: no early exit on the
/// first differing byte). An empty secret never matches.
fn same_secret(secret: &str, given: &str) -> bool {
    use subtle::ConstantTimeEq as _;
    !secret.is_empty() && bool::from(secret.as_bytes().ct_eq(given.as_bytes()))
}

/// Is the app a run kept (`--keep`) still deployed: the janitor has not removed its
/// registry entry yet.
fn kept_deployed(app: &App, stack: &str) -> bool {
    ccci_adapters::registry::list(&app.config.rig.state_dir)
        .iter()
        .any(|e| e.stack == stack && e.kept_until.is_some())
}

/// How many of a recipe's newest finished runs its chart and "where it broke" look at.
const RECIPE_FINISHED: u32 = 100;

pub async fn recipe_page(
    State(app): State<Arc<App>>,
    Path(name): Path<String>,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Html<String>, Failure> {
    let before = query.get("before").and_then(|b| b.trim().parse().ok());
    let recipe = Some(name.clone());
    let (page, more) = page_of(
        &app,
        &JobFilter {
            recipe: recipe.clone(),
            before,
            ..JobFilter::default()
        },
    )
    .await?;
    let finished = app
        .store
        .jobs(&JobFilter {
            recipe,
            state: Some(JobState::Done),
            limit: Some(RECIPE_FINISHED),
            ..JobFilter::default()
        })
        .await?;
    let mut view = views::recipe_page(&views::RecipeInput {
        name: &name,
        public_url: &app.config.public_url,
        finished: &finished,
        page: &page,
        more,
        before,
        now: now_millis(),
    });
    view.broke = super::history::breakage_of(&finished).map(|b| {
        let green = b.last_green.and_then(|id| results_of(&app, id));
        let red = results_of(&app, b.first_red);
        super::history::broke_view(&finished, b, green.as_ref(), red.as_ref())
    });
    Ok(html(templates::recipe_page(&view)))
}

pub async fn recipe_badge(State(app): State<Arc<App>>, Path(name): Path<String>) -> Response {
    let filter = JobFilter {
        recipe: Some(name),
        state: Some(JobState::Done),
        limit: Some(50),
        ..JobFilter::default()
    };
    let finished = app.store.jobs(&filter).await.unwrap_or_default();
    let (message, color) = views::badge(&finished);
    (
        [
            (header::CONTENT_TYPE, "image/svg+xml"),
            (header::CACHE_CONTROL, "no-cache, max-age=0"),
        ],
        badge::svg("cc-ci", &message, color).into_string(),
    )
        .into_response()
}

pub async fn queue_page(State(app): State<Arc<App>>) -> Result<Html<String>, Failure> {
    let now = now_millis();
    let view = app.store.queue(now).await?;
    let hosts = app.store.hosts().await?;
    let triggers = app.triggers.snapshot();
    Ok(html(templates::queue_page(&views::queue_page(
        &view, &hosts, &triggers, now,
    ))))
}

/// `/metrics`: the counters as they stand, the gauges from two counting queries and the
/// alerts dir. No job is loaded.
pub async fn metrics_text(State(app): State<Arc<App>>) -> Result<Response, Failure> {
    let active = app.store.active_counts().await?;
    let capacity = app.store.live_capacity(now_millis()).await?;
    let alerts_pending = read_alerts(&app, false).await.0.len();
    let text = app.metrics.render(&Snapshot {
        active,
        capacity,
        alerts_pending,
    });
    Ok(([(header::CONTENT_TYPE, crate::metrics::CONTENT_TYPE)], text).into_response())
}

pub async fn healthz(State(app): State<Arc<App>>) -> Response {
    match app.store.hosts().await {
        Ok(_) => (
            StatusCode::OK,
            Json(json!({"status": "ok", "host": app.config.host_id, "store": app.store.backend()})),
        )
            .into_response(),
        Err(e) => {
            tracing::warn!("healthz: store: {e}");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(json!({"status": "store unavailable"})),
            )
                .into_response()
        }
    }
}
