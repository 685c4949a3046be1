//! What retention removed, on the dashboard: the `/retention` page, the line on the run
//! list and the note on a removed run's page. The view functions are pure; the handler
//! reads the log ([`crate::retention::read_log`]).

use super::templates::page;
use super::views::{time, url_part};
use crate::app::App;
use crate::retention::Removed;
use axum::extract::State;
use axum::response::Html;
use ccci_core::retention::human_bytes;
use maud::{html, Markup};
use std::sync::Arc;

/// The note on a removed run's page.
pub fn removed_note(removed: &Removed) -> String {
    format!(
        "Artefacts removed on {} by retention ({}).",
        time(removed.at),
        removed.reason
    )
}

/// The run list's line: how many directories retention removed, how much, the last when.
pub fn runs_line(log: &[Removed]) -> Option<String> {
    let last = log.iter().max_by_key(|r| r.at)?;
    let bytes: u64 = log.iter().map(|r| r.bytes).sum();
    let dirs = match log.len() {
        1 => "1 run directory".to_string(),
        n => format!("{n} run directories"),
    };
    Some(format!(
        "Retention removed {dirs} ({}), the last on {}.",
        human_bytes(bytes),
        time(last.at)
    ))
}

/// One removal on the `/retention` page.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RemovedRow {
    pub id: i64,
    pub recipe: String,
    pub recipe_href: String,
    pub at: String,
    pub size: String,
    pub reason: String,
}

/// The log, newest first, as rows.
pub fn removed_rows(log: &[Removed]) -> Vec<RemovedRow> {
    log.iter()
        .rev()
        .map(|r| RemovedRow {
            id: r.id,
            recipe: r.recipe.clone(),
            recipe_href: format!("/recipes/{}", url_part(&r.recipe)),
            at: time(r.at),
            size: human_bytes(r.bytes),
            reason: r.reason.clone(),
        })
        .collect()
}

pub fn retention_page(rows: &[RemovedRow]) -> Markup {
    let body = html! {
        h1 { "Retention" }
        p.sub { "Run directories removed for the age and size limits ([retention]), newest first. \
                 The runs stay in the history; a recipe's last run is never removed." }
        div.card {
            @if rows.is_empty() { div.empty { "Nothing removed." } } @else {
                table.retention {
                    thead { tr { th { "Run" } th { "Recipe" } th { "Removed" } th { "Size" } th { "Why" } } }
                    tbody { @for r in rows { tr {
                        td { a href={ "/runs/" (r.id) } { "#" (r.id) } }
                        td { a href=(r.recipe_href) { (r.recipe) } }
                        td.muted { (r.at) } td { (r.size) } td { (r.reason) }
                    } } }
                }
            }
        }
    };
    page("Retention", "Runs", body)
}

/// The log of this host's state dir, read off the async runtime.
pub async fn read_log(app: &App) -> Vec<Removed> {
    let state_dir = app.config.rig.state_dir.clone();
    tokio::task::spawn_blocking(move || crate::retention::read_log(&state_dir))
        .await
        .unwrap_or_default()
}

pub async fn page_handler(State(app): State<Arc<App>>) -> Html<String> {
    let log = read_log(&app).await;
    Html(retention_page(&removed_rows(&log)).into_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn removed(id: i64, bytes: u64, at: i64) -> Removed {
        Removed {
            id,
            recipe: "a b".into(),
            bytes,
            reason: "older than 30 days".into(),
            at,
            host: "ci-1".into(),
        }
    }

    #[test]
    fn the_log_reads_as_a_note_a_line_and_rows() {
        let log = [removed(1, 1500, 0), removed(2, 500, 86_400_000)];
        assert_eq!(
            removed_note(&log[0]),
            "Artefacts removed on 1970-01-01 00:00:00 UTC by retention (older than 30 days)."
        );
        assert_eq!(
            runs_line(&log).unwrap(),
            "Retention removed 2 run directories (2.0 KB), the last on 1970-01-02 00:00:00 UTC."
        );
        assert_eq!(runs_line(&[]), None);
        let rows = removed_rows(&log);
        assert_eq!((rows[0].id, rows[0].size.as_str()), (2, "500 B"));
        assert_eq!(rows[1].recipe_href, "/recipes/a%20b");
    }
}
