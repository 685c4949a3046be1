//! A run's directory as the dashboard reads it: `results.json`, the file list, and serving
//! one file (only plain relative paths inside the run directory, never anything a browser
//! would execute).

use crate::app::App;
use crate::job::JobId;
use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use ccci_core::results::RunResults;
use std::sync::Arc;

/// The run's `results.json`, when it exists and parses.
pub fn results_of(app: &App, id: JobId) -> Option<RunResults> {
    let text =
        std::fs::read_to_string(app.run_dir(id).join(ccci_report::artefacts::RESULTS_JSON)).ok()?;
    serde_json::from_str(&text).ok()
}

/// Whether the run has its card.
pub fn has_card(app: &App, id: JobId) -> bool {
    app.run_dir(id)
        .join(ccci_report::artefacts::CARD_PNG)
        .exists()
}

/// The files of a run directory, relative paths, at most two levels deep.
pub fn run_files(app: &App, id: JobId) -> Vec<(String, u64)> {
    let root = app.run_dir(id);
    let mut files = Vec::new();
    let mut stack = vec![(root.clone(), 0)];
    while let Some((dir, depth)) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            let Ok(meta) = entry.metadata() else { continue };
            if meta.is_dir() && depth < 2 {
                stack.push((path, depth + 1));
            } else if meta.is_file() {
                if let Ok(rel) = path.strip_prefix(&root) {
                    files.push((rel.to_string_lossy().into_owned(), meta.len()));
                }
            }
            if files.len() >= 500 {
                break;
            }
        }
    }
    files.sort();
    files
}

/// Only plain relative components: no `..`, no absolute paths, no hidden files.
fn is_plain_relative(path: &str) -> bool {
    !path.is_empty()
        && path.split('/').all(|c| {
            !c.is_empty() && c != "." && c != ".." && !c.starts_with('.') && !c.contains('\\')
        })
}

/// Anything that a browser would execute is served as text.
fn content_type(path: &std::path::Path) -> &'static str {
    match path.extension().and_then(|e| e.to_str()).unwrap_or("") {
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "json" => "application/json",
        "svg" => "image/svg+xml",
        _ => "text/plain; charset=utf-8",
    }
}

pub async fn run_file(
    State(app): State<Arc<App>>,
    Path((id, path)): Path<(String, String)>,
) -> Response {
    let not_found = || (StatusCode::NOT_FOUND, "not found\n").into_response();
    let Ok(id) = id.parse::<JobId>() else {
        return not_found();
    };
    if !is_plain_relative(&path) {
        return not_found();
    }
    let root = app.run_dir(id);
    let full = root.join(&path);
    let (Ok(root), Ok(full)) = (root.canonicalize(), full.canonicalize()) else {
        return not_found();
    };
    if !full.starts_with(&root) || !full.is_file() {
        return not_found();
    }
    let Ok(bytes) = tokio::fs::read(&full).await else {
        return not_found();
    };
    (
        [
            (header::CONTENT_TYPE, content_type(&full)),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            (
                header::CONTENT_SECURITY_POLICY,
                "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'",
            ),
        ],
        bytes,
    )
        .into_response()
}
