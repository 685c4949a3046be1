//! The dashboard (server-rendered HTML), its JSON twin under `/api`, `/metrics`, `/healthz`,
//! the run artefacts, and the webhook route.
//!
//! # Layout
//! - [`handlers`]: the pages' axum handlers: store and file reads → view model → template.
//! - [`views`]: pure view models, built from jobs, results and alerts (no I/O, no markup).
//! - [`templates`]: the markup (`maud`, compile-time checked, every value escaped).
//! - [`retention`]: what retention removed (`/retention`, the run list's line, a run's note).
//! - [`history`]: "where it broke" on a recipe's page (last green, first red, what changed).
//! - [`badge`]: the recipe badge SVG. [`api`]: the JSON twin. [`files`]: a run's directory.
//! - [`live`]: a run while it happens: the live panel and the log's event stream.

mod api;
mod badge;
mod files;
mod handlers;
pub mod history;
mod live;
pub mod retention;
pub mod templates;
pub mod views;

use crate::app::App;
use axum::routing::{get, post};
use axum::Router;
use std::sync::Arc;

pub fn router(app: Arc<App>) -> Router {
    Router::new()
        .route("/", get(handlers::runs_page))
        .route("/runs/{id}", get(handlers::run_page))
        .route("/runs/{id}/cancel", post(handlers::cancel_run))
        .route("/runs/{id}/files/{*path}", get(files::run_file))
        .route("/runs/{id}/log/stream", get(live::log_stream))
        .route("/recipes/{name}", get(handlers::recipe_page))
        .route("/recipes/{name}/badge.svg", get(handlers::recipe_badge))
        .route("/queue", get(handlers::queue_page))
        .route("/alerts", get(handlers::alerts_page))
        .route("/retention", get(retention::page_handler))
        .route("/api/runs", get(api::api_runs))
        .route("/api/runs/{id}", get(api::api_run))
        .route("/api/queue", get(api::api_queue))
        .route("/api/alerts", get(api::api_alerts))
        .route("/api/triggers", get(api::api_triggers))
        .route("/api/recipes/{name}", get(api::api_recipe))
        .route("/metrics", get(handlers::metrics_text))
        .route("/healthz", get(handlers::healthz))
        .route("/webhook/gitea", post(crate::webhook::gitea))
        .with_state(app)
}
