//! The dashboard's JSON twin under `/api`: the same data as the pages, as JSON.

use super::files::results_of;
use super::handlers::{filter_from, read_alerts, Failure};
use crate::app::App;
use crate::job::{now_millis, JobFilter, JobId, JobState};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;
use std::collections::HashMap;
use std::sync::Arc;

fn no_such_run() -> Response {
    (StatusCode::NOT_FOUND, Json(json!({"error": "no such run"}))).into_response()
}

pub async fn api_alerts(State(app): State<Arc<App>>) -> Response {
    let (pending, archived) = read_alerts(&app, true).await;
    Json(json!({ "pending": pending, "archived": archived })).into_response()
}

pub async fn api_runs(
    State(app): State<Arc<App>>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    match app.store.jobs(&filter_from(&query)).await {
        Ok(jobs) => Json(json!({ "runs": jobs })).into_response(),
        Err(e) => Failure::from(e).into_response(),
    }
}

pub async fn api_run(State(app): State<Arc<App>>, Path(id): Path<String>) -> Response {
    let Ok(id) = id.parse::<JobId>() else {
        return no_such_run();
    };
    match app.store.job(id).await {
        Ok(Some(job)) => {
            let wait = if job.state == JobState::Queued {
                app.store
                    .queue(now_millis())
                    .await
                    .ok()
                    .and_then(|v| v.wait_reason(id))
                    .map(|r| json!({"reason": r.to_string(), "detail": r}))
            } else {
                None
            };
            Json(json!({ "run": job, "waiting": wait, "results": results_of(&app, id), "url": app.run_url(id) })).into_response()
        }
        Ok(None) => no_such_run(),
        Err(e) => Failure::from(e).into_response(),
    }
}

pub async fn api_queue(State(app): State<Arc<App>>) -> Response {
    match app.store.queue(now_millis()).await {
        Ok(view) => {
            let queued: Vec<_> = view
                .queued
                .iter()
                .map(|j| json!({ "run": j, "waiting": view.wait_reason(j.id).map(|r| r.to_string()) }))
                .collect();
            Json(json!({ "running": view.running, "queued": queued, "capacity": view.capacity }))
                .into_response()
        }
        Err(e) => Failure::from(e).into_response(),
    }
}

pub async fn api_recipe(State(app): State<Arc<App>>, Path(name): Path<String>) -> Response {
    let filter = JobFilter {
        recipe: Some(name.clone()),
        limit: Some(200),
        ..JobFilter::default()
    };
    match app.store.jobs(&filter).await {
        Ok(jobs) => {
            let levels: Vec<_> = jobs
                .iter()
                .filter(|j| j.state == JobState::Done)
                .map(|j| json!({ "run": j.id, "finished_at": j.finished_at, "level": j.level, "verdict": j.end }))
                .collect();
            Json(json!({ "recipe": name, "runs": jobs, "levels": levels })).into_response()
        }
        Err(e) => Failure::from(e).into_response(),
    }
}

/// How each watched repository's `!testme`s reach this host: `webhook` (with its hook
/// id), `polling` (with the reason) or `broken` (with the evidence).
pub async fn api_triggers(State(app): State<Arc<App>>) -> Response {
    Json(json!({ "host": app.config.host_id, "repos": app.triggers.snapshot() })).into_response()
}
