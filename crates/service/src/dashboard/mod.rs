//! The dashboard (server-rendered HTML), its JSON twin under `/api`, `/metrics`, `/healthz`,
//! the run artefacts, and the webhook route.

mod badge;
pub mod html;
mod metrics;

use crate::app::App;
use crate::job::{now_millis, parse_verdict, Job, JobFilter, JobId, JobState};
use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use ccci_core::ladder::{RungStatus, Verdict};
use ccci_core::results::RunResults;
use ccci_runner::alerts::{self, Alert};
use html::{esc, url_part};
use serde_json::json;
use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::Arc;

pub fn router(app: Arc<App>) -> Router {
    Router::new()
        .route("/", get(runs_page))
        .route("/runs/{id}", get(run_page))
        .route("/runs/{id}/files/{*path}", get(run_file))
        .route("/recipes/{name}", get(recipe_page))
        .route("/recipes/{name}/badge.svg", get(recipe_badge))
        .route("/queue", get(queue_page))
        .route("/alerts", get(alerts_page))
        .route("/api/runs", get(api_runs))
        .route("/api/runs/{id}", get(api_run))
        .route("/api/queue", get(api_queue))
        .route("/api/alerts", get(api_alerts))
        .route("/api/recipes/{name}", get(api_recipe))
        .route("/metrics", get(metrics_text))
        .route("/healthz", get(healthz))
        .route("/webhook/gitea", post(crate::webhook::gitea))
        .with_state(app)
}

/// An error page or JSON error; never a panic, never a stack trace.
struct Failure(StatusCode, String);

impl IntoResponse for Failure {
    fn into_response(self) -> Response {
        let body = html::page(
            "Error",
            "",
            &format!(
                r#"<div class="card"><h1>{}</h1><p>{}</p></div>"#,
                self.0,
                esc(&self.1)
            ),
        );
        (self.0, Html(body)).into_response()
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

fn filter_from(query: &HashMap<String, String>) -> JobFilter {
    let get = |k: &str| query.get(k).map(|v| v.trim()).filter(|v| !v.is_empty());
    JobFilter {
        recipe: get("recipe").map(String::from),
        verdict: get("verdict").and_then(parse_verdict),
        state: get("state").and_then(JobState::parse),
        limit: get("limit").and_then(|l| l.parse().ok()),
        ..JobFilter::default()
    }
}

fn results_of(app: &App, id: JobId) -> Option<RunResults> {
    let text =
        std::fs::read_to_string(app.run_dir(id).join(ccci_report::artefacts::RESULTS_JSON)).ok()?;
    serde_json::from_str(&text).ok()
}

/// How many relayed (archived) alerts the alerts page and API show.
const RECENT_ARCHIVED: usize = 50;

/// This host's alerts (SPEC §5), newest first: the pending ones and, with `archived`, the
/// most recent [`RECENT_ARCHIVED`] relayed ones. Read off the async runtime (file I/O); an
/// unreadable alerts dir reads as none.
async fn read_alerts(app: &App, archived: bool) -> (Vec<Alert>, Vec<Alert>) {
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

async fn alerts_page(State(app): State<Arc<App>>) -> Html<String> {
    let (pending, archived) = read_alerts(&app, true).await;
    let mut body = String::from(
        r#"<h1>Alerts</h1><p class="sub">What the live-warm reconciler and the nightly sweep need a person for, newest first. Pending alerts are relayed once (<span class="mono">ccci alerts --relay</span>) and then archived.</p>"#,
    );
    let _ = write!(
        body,
        r#"<div class="card{banner}" id="pending"><h2>Pending ({n})</h2>{table}</div>"#,
        banner = if pending.is_empty() {
            ""
        } else {
            " alerts-banner"
        },
        n = pending.len(),
        table = html::alerts_table(&pending),
    );
    let _ = write!(
        body,
        r#"<div class="card" id="archived"><h2>Relayed (last {RECENT_ARCHIVED})</h2>{}</div>"#,
        html::alerts_table(&archived),
    );
    body.push_str(r#"<p class="muted"><a href="/api/alerts">JSON</a></p>"#);
    Html(html::page("Alerts", "Alerts", &body))
}

async fn api_alerts(State(app): State<Arc<App>>) -> Response {
    let (pending, archived) = read_alerts(&app, true).await;
    Json(json!({ "pending": pending, "archived": archived })).into_response()
}

async fn runs_page(
    State(app): State<Arc<App>>,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Html<String>, Failure> {
    let filter = filter_from(&query);
    let jobs = app.store.jobs(&filter).await?;
    let now = now_millis();
    let queue = app.store.queue(now).await?;
    let all = app
        .store
        .jobs(&JobFilter {
            limit: Some(1000),
            ..JobFilter::default()
        })
        .await?;
    let done: Vec<&Job> = all.iter().filter(|j| j.state == JobState::Done).collect();
    let green = done
        .iter()
        .filter(|j| j.verdict == Some(Verdict::Green))
        .count();
    let mut recipes: Vec<&str> = all.iter().map(|j| j.recipe.as_str()).collect();
    recipes.sort_unstable();
    recipes.dedup();

    let (pending_alerts, _) = read_alerts(&app, false).await;
    let mut body = html::alerts_banner(&pending_alerts);
    let _ = write!(
        body,
        r#"<h1>Runs</h1><p class="sub">Every <span class="mono">!testme</span> and its verdict, newest first.</p>
<div class="stats"><div class="stat"><div class="k">Running</div><div class="n">{}</div></div>
<div class="stat"><div class="k">Queued</div><div class="n">{}</div></div>
<div class="stat"><div class="k">Capacity</div><div class="n">{}</div></div>
<div class="stat"><div class="k">Green (last {})</div><div class="n">{}</div></div>
<div class="stat"><div class="k">Recipes</div><div class="n">{}</div></div></div>"#,
        queue.running.len(),
        queue.queued.len(),
        queue.capacity,
        done.len(),
        if done.is_empty() {
            "—".to_string()
        } else {
            format!("{}%", green * 100 / done.len())
        },
        recipes.len()
    );
    let selected =
        |have: Option<&str>, value: &str| if have == Some(value) { " selected" } else { "" };
    let recipe_options: String = recipes
        .iter()
        .map(|r| {
            format!(
                r#"<option value="{v}"{s}>{v}</option>"#,
                v = esc(r),
                s = selected(filter.recipe.as_deref(), r)
            )
        })
        .collect();
    let verdict = filter.verdict.map(crate::job::verdict_str);
    let state = filter.state.map(JobState::as_str);
    let _ = write!(
        body,
        r#"<div class="card"><form class="filters" method="get" action="/">
<label>Recipe<select name="recipe"><option value="">all</option>{recipe_options}</select></label>
<label>Verdict<select name="verdict"><option value="">any</option><option value="green"{g}>green</option><option value="red"{r}>red</option></select></label>
<label>State<select name="state"><option value="">any</option><option value="queued"{q}>queued</option><option value="running"{ru}>running</option><option value="done"{d}>done</option><option value="superseded"{su}>superseded</option></select></label>
<button type="submit">Filter</button></form>{table}</div>"#,
        g = selected(verdict, "green"),
        r = selected(verdict, "red"),
        q = selected(state, "queued"),
        ru = selected(state, "running"),
        d = selected(state, "done"),
        su = selected(state, "superseded"),
        table = html::runs_table(&jobs, now),
    );
    Ok(Html(html::page("Runs", "Runs", &body)))
}

/// The files of a run directory, relative paths, at most two levels deep.
fn run_files(app: &App, id: JobId) -> Vec<(String, u64)> {
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

fn rung_timeline(results: &RunResults) -> String {
    let total: u64 = results
        .rungs
        .iter()
        .map(|r| r.duration_ms)
        .sum::<u64>()
        .max(1);
    let mut s = String::from(
        r#"<table class="rungs"><thead><tr><th>Rung</th><th>Status</th><th>Duration</th><th>Timeline</th><th>Reason</th></tr></thead><tbody>"#,
    );
    let mut elapsed = 0u64;
    for rung in &results.rungs {
        // The lint (L5) tops the ladder but runs first, before anything is deployed.
        let first = rung.name == ccci_core::ladder::Rung::Lint;
        let offset = if first { 0 } else { elapsed * 100 / total };
        if !first {
            elapsed += rung.duration_ms;
        }
        let (class, word) = match rung.status {
            RungStatus::Pass => ("pass", "pass"),
            RungStatus::Fail => ("fail", "fail"),
            RungStatus::Skip => ("skip", "skip"),
        };
        let skip = match rung.skip {
            Some(ccci_core::ladder::SkipKind::Intentional) => " (intentional)",
            Some(ccci_core::ladder::SkipKind::Unintentional) => "",
            None => "",
        };
        let width = (rung.duration_ms * 100 / total).max(if rung.duration_ms > 0 { 2 } else { 0 });
        let _ = write!(
            s,
            r#"<tr class="rung"><td class="mono">{name}</td><td><span class="pill {class}">{word}{skip}</span></td><td>{dur}</td><td><div class="bar"><span class="{class}" style="margin-left:{offset}%;width:{width}%"></span></div></td><td class="muted">{reason}</td></tr>"#,
            name = esc(rung.name.name()),
            dur = html::duration(rung.duration_ms as i64),
            reason = esc(rung.reason.as_deref().unwrap_or("")),
        );
    }
    s.push_str("</tbody></table>");
    s
}

/// What cc-ci changed on the stack for the rig's sake, for the run page.
fn adaptations(r: &ccci_core::results::RunResults) -> String {
    if r.rig_adaptations.is_empty() {
        return "none: deployed as the recipe says".into();
    }
    r.rig_adaptations
        .iter()
        .map(|a| {
            format!(
                "<span class=\"mono\">{}</span> on {} <span class=\"muted\">({})</span>",
                esc(&a.kind),
                esc(&a.services.join(", ")),
                esc(&a.reason)
            )
        })
        .collect::<Vec<_>>()
        .join("<br>")
}

async fn run_page(
    State(app): State<Arc<App>>,
    Path(id): Path<String>,
) -> Result<Html<String>, Failure> {
    let id: JobId = id
        .parse()
        .map_err(|_| Failure(StatusCode::NOT_FOUND, "no such run".into()))?;
    let job = app
        .store
        .job(id)
        .await?
        .ok_or_else(|| Failure(StatusCode::NOT_FOUND, format!("run {id} does not exist")))?;
    let now = now_millis();
    let results = results_of(&app, id);
    let mut body = String::new();
    let _ = write!(
        body,
        r#"<h1>Run #{id} · <a href="/recipes/{ru}">{recipe}</a> {pill} {level}</h1><p class="sub">{repo}{pr} · commit <span class="mono">{sha}</span>{flags}</p>"#,
        ru = url_part(&job.recipe),
        recipe = esc(&job.recipe),
        pill = html::status_pill(&job),
        level = if job.state == JobState::Done {
            html::level_chip(job.level)
        } else {
            String::new()
        },
        repo = esc(&job.repo),
        pr = job
            .pr_number
            .map_or_else(String::new, |n| format!(" · PR #{n}")),
        sha = esc(job.short_sha()),
        flags = if job.flags.describe().is_empty() {
            String::new()
        } else {
            format!(
                r#" · <span class="mono">{}</span>"#,
                esc(&job.flags.describe())
            )
        },
    );
    if job.flags.quick {
        let status = app.forge.as_ref().map_or_else(String::new, |f| {
            format!(
                " (commit status <span class=\"mono\">{}</span>)",
                esc(&crate::reporter::status_context(
                    &f.config.status_context,
                    &job.flags
                ))
            )
        });
        let _ = write!(
            body,
            r#"<div class="note quick-note">Quick run: the fast lane on the warm canonical. It does not gate the merge{status}.</div>"#
        );
    }
    if job.state == JobState::Queued {
        let view = app.store.queue(now).await?;
        if let Some(reason) = view.wait_reason(id) {
            let _ = write!(
                body,
                r#"<div class="note wait-reason">{}</div>"#,
                esc(&reason.to_string())
            );
        }
    }
    if let Some(note) = &job.note {
        let _ = write!(body, r#"<div class="note">{}</div>"#, esc(note));
    }
    let _ = write!(
        body,
        r#"<div class="grid2"><div class="card"><h2>Details</h2><div class="kv">
<div>State</div><div>{state}</div><div>Requested by</div><div>{by}</div><div>Queued</div><div>{queued}</div>
<div>Started</div><div>{started}</div><div>Finished</div><div>{finished}</div><div>Host</div><div>{host}</div>
<div>Attempts</div><div>{attempts}</div>{extra}</div></div>"#,
        state = job.state,
        by = esc(job.requested_by.as_deref().unwrap_or("—")),
        queued = html::time(job.enqueued_at),
        started = job.started_at.map_or_else(|| "—".into(), html::time),
        finished = job.finished_at.map_or_else(|| "—".into(), html::time),
        host = esc(job.host.as_deref().unwrap_or("—")),
        attempts = job.attempts + 1,
        extra = match &results {
            Some(r) => format!(
                "<div>Versions</div><div class=\"mono\">{} → {}</div><div>Domain</div><div class=\"mono\">{}</div><div>Deploys</div><div>{}</div><div>Clean teardown</div><div>{}</div><div>Rig adaptations</div><div>{}</div>",
                esc(r.base_version.as_deref().unwrap_or("—")),
                esc(r.head_version.as_deref().unwrap_or("—")),
                esc(&r.domain),
                r.deploy_count,
                if r.flags.clean_teardown { "yes" } else { "no" },
                adaptations(r)
            ),
            None => String::new(),
        },
    );
    let card_exists = app
        .run_dir(id)
        .join(ccci_report::artefacts::CARD_PNG)
        .exists();
    if card_exists {
        let _ = write!(
            body,
            r#"<div class="card"><h2>Result card</h2><img class="card-img" alt="result card" src="/runs/{id}/files/{}"></div></div>"#,
            ccci_report::artefacts::CARD_PNG
        );
    } else {
        body.push_str(r#"<div class="card"><h2>Result card</h2><div class="empty">No card yet.</div></div></div>"#);
    }
    match &results {
        Some(r) => {
            let _ = write!(
                body,
                r#"<div class="card"><h2>Rungs</h2>{}</div>"#,
                rung_timeline(r)
            );
            if let Some(failure) = &r.failure {
                let _ = write!(
                    body,
                    r#"<div class="card"><h2>Failure</h2><p>{}</p>"#,
                    esc(&failure.message)
                );
                if !failure.log_tail.is_empty() {
                    let _ = write!(
                        body,
                        r#"<pre class="log">{}</pre>"#,
                        esc(&failure.log_tail.join("\n"))
                    );
                }
                body.push_str("</div>");
            }
        }
        None => body.push_str(
            r#"<div class="card"><h2>Rungs</h2><div class="empty">No results yet.</div></div>"#,
        ),
    }
    let files = run_files(&app, id);
    body.push_str(r#"<div class="card"><h2>Artefacts and logs</h2>"#);
    if files.is_empty() {
        body.push_str(r#"<div class="empty">No files.</div>"#);
    } else {
        body.push_str("<table><tbody>");
        for (path, size) in &files {
            let href = path.split('/').map(url_part).collect::<Vec<_>>().join("/");
            let _ = write!(
                body,
                r#"<tr><td class="mono"><a href="/runs/{id}/files/{href}">{}</a></td><td class="muted">{} bytes</td></tr>"#,
                esc(path),
                size
            );
        }
        body.push_str("</tbody></table>");
    }
    let _ = write!(
        body,
        r#"<p class="muted"><a href="/api/runs/{id}">JSON</a></p></div>"#
    );
    Ok(Html(html::page(&format!("Run {id}"), "Runs", &body)))
}

async fn run_file(
    State(app): State<Arc<App>>,
    Path((id, path)): Path<(String, String)>,
) -> Response {
    let not_found = || (StatusCode::NOT_FOUND, "not found\n").into_response();
    let Ok(id) = id.parse::<JobId>() else {
        return not_found();
    };
    // Only plain relative components: no `..`, no absolute paths, no hidden files.
    let safe = !path.is_empty()
        && path.split('/').all(|c| {
            !c.is_empty() && c != "." && c != ".." && !c.starts_with('.') && !c.contains('\\')
        });
    if !safe {
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
    // Anything that a browser would execute is served as text.
    let content_type = match full.extension().and_then(|e| e.to_str()).unwrap_or("") {
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "json" => "application/json",
        "svg" => "image/svg+xml",
        _ => "text/plain; charset=utf-8",
    };
    (
        [
            (header::CONTENT_TYPE, content_type),
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

/// Level over time as a small step chart.
fn level_chart(history: &[&Job]) -> String {
    let points: Vec<(usize, u8, bool)> = history
        .iter()
        .rev()
        .enumerate()
        .map(|(i, j)| (i, j.level.unwrap_or(0), j.verdict == Some(Verdict::Green)))
        .collect();
    if points.is_empty() {
        return r#"<div class="empty">No finished runs yet.</div>"#.into();
    }
    let (w, h, pad) = (720.0_f64, 140.0_f64, 24.0_f64);
    let step = if points.len() > 1 {
        (w - 2.0 * pad) / (points.len() - 1) as f64
    } else {
        0.0
    };
    let y = |level: u8| h - pad - f64::from(level) * (h - 2.0 * pad) / 5.0;
    let mut path = String::new();
    let mut dots = String::new();
    for (i, level, green) in &points {
        let x = pad + step * *i as f64;
        let _ = write!(
            path,
            "{}{x:.1},{:.1} ",
            if path.is_empty() { "M" } else { "L" },
            y(*level)
        );
        let color = if *green { "#40c057" } else { "#fa5252" };
        let _ = write!(
            dots,
            r#"<circle cx="{x:.1}" cy="{:.1}" r="4" fill="{color}"/>"#,
            y(*level)
        );
    }
    let mut grid = String::new();
    for level in 0..=5u8 {
        let _ = write!(
            grid,
            r##"<line x1="{pad}" x2="{}" y1="{y:.1}" y2="{y:.1}" stroke="#e4e7ec"/><text x="2" y="{:.1}" font-size="10" fill="#6b7385">L{level}</text>"##,
            w - pad,
            y(level) + 3.0,
            y = y(level)
        );
    }
    format!(
        r##"<svg class="level-chart" viewBox="0 0 {w} {h}" preserveAspectRatio="xMinYMid meet" width="100%" height="{h}">{grid}<path d="{path}" fill="none" stroke="#3b5bdb" stroke-width="2"/>{dots}</svg>"##
    )
}

async fn recipe_page(
    State(app): State<Arc<App>>,
    Path(name): Path<String>,
) -> Result<Html<String>, Failure> {
    let jobs = app
        .store
        .jobs(&JobFilter {
            recipe: Some(name.clone()),
            limit: Some(200),
            ..JobFilter::default()
        })
        .await?;
    let done: Vec<&Job> = jobs.iter().filter(|j| j.state == JobState::Done).collect();
    let now = now_millis();
    let badge = format!("/recipes/{}/badge.svg", url_part(&name));
    let body = format!(
        r#"<h1>{n}</h1><p class="sub">Recipe history · badge: <img alt="badge" src="{badge}" style="vertical-align:middle"> <span class="mono">{public}{badge}</span></p>
<div class="card"><h2>Level over time</h2>{chart}</div><div class="card"><h2>Runs</h2>{table}</div>"#,
        n = esc(&name),
        public = esc(&app.config.public_url),
        chart = level_chart(&done.iter().take(50).copied().collect::<Vec<_>>()),
        table = html::runs_table(&jobs, now),
    );
    Ok(Html(html::page(&name, "Runs", &body)))
}

async fn recipe_badge(State(app): State<Arc<App>>, Path(name): Path<String>) -> Response {
    let latest = app
        .store
        .jobs(&JobFilter {
            recipe: Some(name),
            state: Some(JobState::Done),
            limit: Some(1),
            ..JobFilter::default()
        })
        .await
        .ok()
        .and_then(|j| j.into_iter().next());
    let (message, color) = match latest {
        Some(j) if j.verdict == Some(Verdict::Green) => {
            (format!("L{} green", j.level.unwrap_or(0)), "#2b8a3e")
        }
        Some(j) => (format!("L{} red", j.level.unwrap_or(0)), "#c92a2a"),
        None => ("no runs".to_string(), "#868e96"),
    };
    (
        [
            (header::CONTENT_TYPE, "image/svg+xml"),
            (header::CACHE_CONTROL, "no-cache, max-age=0"),
        ],
        badge::svg("cc-ci", &message, color),
    )
        .into_response()
}

async fn queue_page(State(app): State<Arc<App>>) -> Result<Html<String>, Failure> {
    let now = now_millis();
    let view = app.store.queue(now).await?;
    let hosts = app.store.hosts().await?;
    let mut body = format!(
        r#"<h1>Queue</h1><p class="sub">{} running · {} queued · {} slots on live hosts. The oldest runnable job starts first; a recipe already running is skipped, not waited on.</p>"#,
        view.running.len(),
        view.queued.len(),
        view.capacity
    );
    body.push_str(r#"<div class="card"><h2>Running</h2>"#);
    if view.running.is_empty() {
        body.push_str(r#"<div class="empty">Nothing running.</div>"#);
    } else {
        body.push_str("<table><thead><tr><th>Run</th><th>Recipe</th><th>Host</th><th>Running for</th><th>Lease</th></tr></thead><tbody>");
        for j in &view.running {
            let _ = write!(
                body,
                r#"<tr><td><a href="/runs/{id}">#{id}</a></td><td>{r}</td><td>{h}</td><td>{d}</td><td class="muted">{l}</td></tr>"#,
                id = j.id,
                r = esc(&j.recipe),
                h = esc(j.host.as_deref().unwrap_or("—")),
                d = html::duration(now - j.started_at.unwrap_or(now)),
                l = j.lease_expires_at.map_or_else(
                    || "—".into(),
                    |t| format!("renews, expires in {}", html::duration(t - now))
                ),
            );
        }
        body.push_str("</tbody></table>");
    }
    body.push_str(r#"</div><div class="card"><h2>Waiting</h2>"#);
    if view.queued.is_empty() {
        body.push_str(r#"<div class="empty">The queue is empty.</div>"#);
    } else {
        body.push_str("<table><thead><tr><th>Run</th><th>Recipe</th><th>Waiting for</th><th>Queued</th><th>Why</th></tr></thead><tbody>");
        for j in &view.queued {
            let reason = view
                .wait_reason(j.id)
                .map(|r| r.to_string())
                .unwrap_or_default();
            let _ = write!(
                body,
                r#"<tr><td><a href="/runs/{id}">#{id}</a></td><td>{r}</td><td>{w}</td><td class="muted">{q}</td><td class="wait-reason">{why}</td></tr>"#,
                id = j.id,
                r = esc(&j.recipe),
                w = html::duration(now - j.enqueued_at),
                q = html::time(j.enqueued_at),
                why = esc(&reason),
            );
        }
        body.push_str("</tbody></table>");
    }
    body.push_str(r#"</div><div class="card"><h2>Hosts</h2><table><thead><tr><th>Host</th><th>Slots</th><th>Last seen</th></tr></thead><tbody>"#);
    for h in &hosts {
        let _ = write!(
            body,
            "<tr><td>{}</td><td>{}</td><td class=\"muted\">{} ago</td></tr>",
            esc(&h.host),
            h.capacity,
            html::duration(now - h.last_seen)
        );
    }
    body.push_str("</tbody></table></div>");
    Ok(Html(html::page("Queue", "Queue", &body)))
}

async fn api_runs(
    State(app): State<Arc<App>>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    match app.store.jobs(&filter_from(&query)).await {
        Ok(jobs) => Json(json!({ "runs": jobs })).into_response(),
        Err(e) => Failure::from(e).into_response(),
    }
}

async fn api_run(State(app): State<Arc<App>>, Path(id): Path<String>) -> Response {
    let Ok(id) = id.parse::<JobId>() else {
        return (StatusCode::NOT_FOUND, Json(json!({"error": "no such run"}))).into_response();
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
        Ok(None) => (StatusCode::NOT_FOUND, Json(json!({"error": "no such run"}))).into_response(),
        Err(e) => Failure::from(e).into_response(),
    }
}

async fn api_queue(State(app): State<Arc<App>>) -> Response {
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

async fn api_recipe(State(app): State<Arc<App>>, Path(name): Path<String>) -> Response {
    match app
        .store
        .jobs(&JobFilter {
            recipe: Some(name.clone()),
            limit: Some(200),
            ..JobFilter::default()
        })
        .await
    {
        Ok(jobs) => {
            let levels: Vec<_> = jobs
                .iter()
                .filter(|j| j.state == JobState::Done)
                .map(|j| json!({ "run": j.id, "finished_at": j.finished_at, "level": j.level, "verdict": j.verdict }))
                .collect();
            Json(json!({ "recipe": name, "runs": jobs, "levels": levels })).into_response()
        }
        Err(e) => Failure::from(e).into_response(),
    }
}

async fn metrics_text(State(app): State<Arc<App>>) -> Response {
    let jobs = app
        .store
        .jobs(&JobFilter {
            limit: Some(10_000),
            ..JobFilter::default()
        })
        .await;
    let queue = app.store.queue(now_millis()).await;
    let (pending_alerts, _) = read_alerts(&app, false).await;
    match (jobs, queue) {
        (Ok(jobs), Ok(queue)) => (
            [(
                header::CONTENT_TYPE,
                "text/plain; version=0.0.4; charset=utf-8",
            )],
            format!(
                "{}# HELP ccci_alerts_pending Alerts not yet relayed.\n# TYPE ccci_alerts_pending gauge\nccci_alerts_pending {}\n",
                metrics::render(&jobs, &queue),
                pending_alerts.len()
            ),
        )
            .into_response(),
        (Err(e), _) | (_, Err(e)) => Failure::from(e).into_response(),
    }
}

async fn healthz(State(app): State<Arc<App>>) -> Response {
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
