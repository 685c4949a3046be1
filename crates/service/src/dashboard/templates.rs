//! The dashboard's markup: `maud` templates, checked at compile time, over the view models
//! of [`super::views`]. Every spliced value is HTML-escaped by the engine; nothing here
//! writes raw markup except the page's own stylesheet.

use super::views::{
    AlertRow, AlertsPage, Choice, KeptView, LevelChart, LevelChip, LivePanel, Pager, Pill,
    QueuePage, RecipePage, RunPage, RunRow, RungRow, RunsPage, TimelineRow,
};
use maud::{html, Markup, PreEscaped, DOCTYPE};

const STYLE: &str = include_str!("style.css");
/// The run page's only script: follows a running run's event stream.
const LIVE_SCRIPT: &str = include_str!("live.js");

/// The navigation entries: link and label.
const NAV: [(&str, &str); 4] = [
    ("/", "Runs"),
    ("/queue", "Queue"),
    ("/alerts", "Alerts"),
    ("/metrics", "Metrics"),
];

/// The page frame: head, styles, top bar (`active` highlighted), and `body`.
pub fn page(title: &str, active: &str, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · cc-ci" }
                style { (PreEscaped(STYLE)) }
            }
            body {
                header.top {
                    a.brand href="/" { span.logo { "◆" } " cc-ci" }
                    span.tagline { "Co-op Cloud recipes, proven on a real swarm" }
                    nav {
                        @for (href, label) in NAV {
                            a href=(href) class=[(label == active).then_some("active")] { (label) }
                        }
                    }
                }
                main { (body) }
                footer {
                    "cc-ci · " a href="/api/runs" { "JSON API" } " · " a href="/healthz" { "health" }
                }
            }
        }
    }
}

/// An error page.
pub fn error_page(status: &str, message: &str) -> Markup {
    page(
        "Error",
        "",
        html! { div.card { h1 { (status) } p { (message) } } },
    )
}

fn pill(p: Pill) -> Markup {
    html! { span class={ "pill " (p.class) } { (p.word) } }
}

fn level(chip: &LevelChip) -> Markup {
    html! { span class={ "level " (chip.class) } { (chip.text) } }
}

fn empty(text: &str) -> Markup {
    html! { div.empty { (text) } }
}

/// The runs table (run list, recipe page).
fn runs_table(rows: &[RunRow]) -> Markup {
    if rows.is_empty() {
        return empty("No runs match.");
    }
    html! {
        table.runs {
            thead { tr {
                th { "Run" } th { "Recipe" } th { "Status" } th { "Level" } th { "PR / commit" }
                th { "Flags" } th { "Queued" } th { "Duration" } th { "Host" }
            } }
            tbody {
                @for row in rows {
                    tr {
                        td { a.run-link href={ "/runs/" (row.id) } { "#" (row.id) } }
                        td { a href=(row.recipe_href) { (row.recipe) } }
                        td { (pill(row.pill)) }
                        td { (level(&row.level)) }
                        td.mono { (row.pr_and_sha) }
                        td.mono { (row.flags) }
                        td.muted { (row.queued) }
                        td { (row.duration) }
                        td.muted { (row.host) }
                    }
                }
            }
        }
    }
}

/// The links under a run table: older runs, and back to the newest.
fn pager(pager: &Pager) -> Markup {
    html! {
        @if pager.older.is_some() || pager.newest.is_some() {
            p.pager {
                @if let Some(href) = &pager.newest { a.newest href=(href) { "← Newest" } " " }
                @if let Some(href) = &pager.older { a.older href=(href) { "Older runs →" } }
            }
        }
    }
}

/// Alerts as a table (time, app, kind, message), in the order given.
fn alerts_table(rows: &[AlertRow]) -> Markup {
    if rows.is_empty() {
        return empty("No alerts.");
    }
    html! {
        table.alerts {
            thead { tr { th { "Time" } th { "App" } th { "Kind" } th { "Message" } } }
            tbody {
                @for alert in rows {
                    tr.alert {
                        td."muted mono" { (alert.time) }
                        td.mono { (alert.app) }
                        td { span."pill red" { (alert.kind) } }
                        td { (alert.message) }
                    }
                }
            }
        }
    }
}

/// The banner the run list opens with while alerts are pending; nothing when none are.
pub fn alerts_banner(pending: &[AlertRow]) -> Markup {
    if pending.is_empty() {
        return html! {};
    }
    html! {
        div.card.alerts-banner role="alert" {
            h2 { "⚠ " (super::views::pending_alerts_title(pending.len())) }
            (alerts_table(pending))
            p.muted { a href="/alerts" { "All alerts" } " · relayed ones are archived" }
        }
    }
}

pub fn alerts_page(view: &AlertsPage) -> Markup {
    let body = html! {
        h1 { "Alerts" }
        p.sub {
            "What the live-warm reconciler and the nightly sweep need a person for, newest first. Pending alerts are relayed once ("
            span.mono { "ccci alerts --relay" } ") and then archived."
        }
        div.card.alerts-banner[!view.pending.is_empty()] #pending {
            h2 { "Pending (" (view.pending.len()) ")" }
            (alerts_table(&view.pending))
        }
        div.card #archived {
            h2 { "Relayed (last " (view.archived_shown) ")" }
            (alerts_table(&view.archived))
        }
        p.muted { a href="/api/alerts" { "JSON" } }
    };
    page("Alerts", "Alerts", body)
}

fn select(label: &str, name: &str, any: &str, choices: &[Choice]) -> Markup {
    html! {
        label { (label)
            select name=(name) {
                option value="" { (any) }
                @for c in choices {
                    option value=(c.value) selected[c.selected] { (c.value) }
                }
            }
        }
    }
}

fn stat(label: &str, value: impl maud::Render) -> Markup {
    html! { div.stat { div.k { (label) } div.n { (value) } } }
}

pub fn runs_page(view: &RunsPage) -> Markup {
    let s = &view.stats;
    let body = html! {
        (alerts_banner(&view.pending_alerts))
        h1 { "Runs" }
        p.sub { "Every " span.mono { "!testme" } " and its verdict, newest first." }
        div.stats {
            (stat("Running", s.running))
            (stat("Queued", s.queued))
            (stat("Capacity", s.capacity))
            (stat(&format!("Green (last {})", s.finished), &s.green_share))
            (stat("Recipes", s.recipes))
        }
        @if let Some(line) = &view.retention {
            p."muted retention-line" { (line) " " a href="/retention" { "What was removed" } }
        }
        div.card {
            form.filters method="get" action="/" {
                (select("Recipe", "recipe", "all", &view.recipes))
                (select("Verdict", "verdict", "any", &view.verdicts))
                (select("State", "state", "any", &view.states))
                button type="submit" { "Filter" }
            }
            (runs_table(&view.rows))
            (pager(&view.pager))
        }
    };
    page("Runs", "Runs", body)
}

fn rung_table(rows: &[RungRow]) -> Markup {
    html! {
        table.rungs {
            thead { tr {
                th { "Rung" } th { "Status" } th { "Duration" } th { "Timeline" } th { "Reason" }
            } }
            tbody {
                @for rung in rows {
                    tr.rung {
                        td.mono { (rung.name) }
                        td { span class={ "pill " (rung.status) } {
                            (rung.status) @if rung.intentional_skip { " (intentional)" }
                        } }
                        td { (rung.duration) }
                        td { div.bar { span class=(rung.status)
                            style={ "margin-left:" (rung.offset) "%;width:" (rung.width) "%" } {} } }
                        td.muted { (rung.reason) }
                    }
                }
            }
        }
    }
}

/// The heading of a run page: run, recipe, status, level, repository, PR, commit, flags.
fn run_heading(view: &RunPage) -> Markup {
    html! {
        h1 {
            "Run #" (view.id) " · " a href=(view.recipe_href) { (view.recipe) } " "
            (pill(view.pill)) " "
            @if let Some(chip) = &view.level { (level(chip)) }
        }
        p.sub {
            (view.repo)
            @if let Some(n) = view.pr_number { " · PR #" (n) }
            " · commit " span.mono { (view.short_sha) }
            @if let Some(flags) = &view.flags { " · " span.mono { (flags) } }
        }
    }
}

/// The notes under the heading: quick lane, what a queued run waits for, the job's note.
fn run_notes(view: &RunPage) -> Markup {
    html! {
        @if let Some(context) = &view.quick {
            div."note quick-note" {
                "Quick run: the fast lane on the warm canonical. It does not gate the merge"
                @if let Some(context) = context {
                    " (commit status " span.mono { (context) } ")"
                }
                "."
            }
        }
        @if let Some(reason) = &view.wait_reason { div."note wait-reason" { (reason) } }
        @if let Some(note) = &view.note { div.note { (note) } }
        @if let Some(note) = &view.removed_note { div."note retention-note" { (note) } }
        @if let Some(href) = &view.cancel_href {
            form.cancel method="post" action=(href) {
                input type="password" name="token" placeholder="operator token" autocomplete="off" required;
                " "
                button type="submit" { "Cancel" }
            }
        }
        @if let Some(kept) = &view.kept { (kept_note(kept)) }
    }
}

/// `--keep`: until when the app stays, how to reach it, its logs, the early release.
fn kept_note(kept: &KeptView) -> Markup {
    html! {
        @if kept.deployed {
            div."note kept" {
                "App kept for debugging until " span.kept-until { (kept.until) }
                "; the janitor removes it after that."
                ul {
                    li { "Reach it (on the CI host): " a.kept-url href=(kept.url) { (kept.url) }
                        " — " span.mono { (kept.reach) } }
                    @for logs in &kept.logs { li { "Logs: " span.mono { (logs) } } }
                    li { "Release it early: " span.mono { (kept.release) } }
                }
            }
        } @else {
            div."note kept-removed" {
                "App was kept for debugging until " (kept.until) "; removed by the janitor."
            }
        }
    }
}

fn run_details(view: &RunPage) -> Markup {
    let d = &view.details;
    html! {
        div.card { h2 { "Details" } div.kv {
            div { "State" } div { (d.state) }
            div { "Requested by" } div { (d.requested_by) }
            div { "Queued" } div { (d.queued) }
            div { "Started" } div { (d.started) }
            div { "Finished" } div { (d.finished) }
            div { "Host" } div { (d.host) }
            div { "Attempts" } div { (d.attempts) }
            @if let Some(r) = &d.results {
                div { "Versions" } div.mono { (r.versions) }
                div { "Domain" } div.mono { (r.domain) }
                div { "Deploys" } div { (r.deploys) }
                div { "Clean teardown" } div { (r.clean_teardown) }
                div { "Rig adaptations" } div {
                    @if r.adaptations.is_empty() { "none: deployed as the recipe says" }
                    @for (i, a) in r.adaptations.iter().enumerate() {
                        @if i > 0 { br; }
                        span.mono { (a.kind) } " on " (a.services) " " span.muted { "(" (a.reason) ")" }
                    }
                }
            }
        } }
    }
}

fn run_results(view: &RunPage) -> Markup {
    html! {
        div.card { h2 { "Rungs" }
            @match &view.rungs {
                Some(rows) => (rung_table(rows)),
                None => (empty("No results yet.")),
            }
        }
        @if let Some(failure) = &view.failure {
            div.card { h2 { "Failure" } p { (failure.message) }
                @if let Some(log) = &failure.log_tail { pre.log { (log) } }
            }
        }
    }
}

fn run_files(view: &RunPage) -> Markup {
    html! {
        div.card { h2 { "Artefacts and logs" }
            @if view.files.is_empty() { (empty("No files.")) } @else {
                table { tbody { @for f in &view.files {
                    tr { td.mono { a href=(f.href) { (f.path) } } td.muted { (f.size) " bytes" } }
                } } }
            }
            p.muted { a href={ "/api/runs/" (view.id) } { "JSON" } }
        }
    }
}

pub fn run_page(view: &RunPage) -> Markup {
    let body = html! {
        (run_heading(view))
        (run_notes(view))
        div.grid2 {
            (run_details(view))
            div.card { h2 { "Result card" }
                @match &view.card_href {
                    Some(href) => { img.card-img alt="result card" src=(href); }
                    None => (empty("No card yet.")),
                }
            }
        }
        (run_results(view))
        @if let Some(live) = &view.live { (live_panel(live)) }
        (run_files(view))
    };
    page(&format!("Run {}", view.id), "Runs", body)
}

/// Level over time as a small step chart.
fn level_chart(chart: &LevelChart) -> Markup {
    html! {
        svg.level-chart viewBox={ "0 0 " (chart.width) " " (chart.height) }
            preserveAspectRatio="xMinYMid meet" width="100%" height=(chart.height) {
            @for line in &chart.grid {
                line x1="24" x2=(chart.right) y1=(line.y) y2=(line.y) stroke="#e4e7ec" {}
                text x="2" y=(line.label_y) font-size="10" fill="#6b7385" { "L" (line.level) }
            }
            path d=(chart.path) fill="none" stroke="#3b5bdb" stroke-width="2" {}
            @for dot in &chart.dots {
                circle cx=(dot.x) cy=(dot.y) r="4" fill=(dot.color) {}
            }
        }
    }
}

pub fn recipe_page(view: &RecipePage) -> Markup {
    let body = html! {
        h1 { (view.name) }
        p.sub {
            "Recipe history · badge: "
            img alt="badge" src=(view.badge_href) style="vertical-align:middle";
            " " span.mono { (view.public_url) (view.badge_href) }
        }
        div.card { h2 { "Level over time" }
            @match &view.chart {
                Some(chart) => (level_chart(chart)),
                None => (empty("No finished runs yet.")),
            }
        }
        @if let Some(broke) = &view.broke { (super::history::broke_section(broke)) }
        div.card { h2 { "Runs" } (runs_table(&view.rows)) (pager(&view.pager)) }
    };
    page(&view.name, "Runs", body)
}

fn queue_running(view: &QueuePage) -> Markup {
    html! {
        div.card { h2 { "Running" }
            @if view.running.is_empty() { (empty("Nothing running.")) } @else {
                table {
                    thead { tr { th { "Run" } th { "Recipe" } th { "Host" } th { "Running for" } th { "Lease" } } }
                    tbody { @for j in &view.running { tr {
                        td { a href={ "/runs/" (j.id) } { "#" (j.id) } }
                        td { (j.recipe) } td { (j.host) } td { (j.running_for) }
                        td.muted { (j.lease) }
                    } } }
                }
            }
        }
    }
}

/// How each watched repository's `!testme`s reach this host.
fn queue_triggers(view: &QueuePage) -> Markup {
    html! {
        div.card #triggers { h2 { "Triggers on this host" }
            @if view.triggers.is_empty() { (empty("No forge is configured.")) } @else {
                table {
                    thead { tr { th { "Repository" } th { "By" } th { "Why" } } }
                    tbody { @for t in &view.triggers { tr {
                        td.mono { (t.repo) }
                        td { span class={ "pill " (t.pill.class) } { (t.pill.word) } }
                        td.muted { (t.detail) }
                    } } }
                }
            }
        }
    }
}

fn queue_waiting(view: &QueuePage) -> Markup {
    html! {
        div.card { h2 { "Waiting" }
            @if view.waiting.is_empty() { (empty("The queue is empty.")) } @else {
                table {
                    thead { tr { th { "Run" } th { "Recipe" } th { "Waiting for" } th { "Queued" } th { "Why" } } }
                    tbody { @for j in &view.waiting { tr {
                        td { a href={ "/runs/" (j.id) } { "#" (j.id) } }
                        td { (j.recipe) } td { (j.waiting_for) } td.muted { (j.queued) }
                        td.wait-reason { (j.why) }
                    } } }
                }
            }
        }
    }
}

pub fn queue_page(view: &QueuePage) -> Markup {
    let body = html! {
        h1 { "Queue" }
        p.sub {
            (view.running.len()) " running · " (view.waiting.len()) " queued · " (view.capacity)
            " slots on live hosts. The oldest runnable job starts first; a recipe already running is skipped, not waited on."
        }
        (queue_running(view))
        (queue_waiting(view))
        div.card { h2 { "Hosts" } table {
            thead { tr { th { "Host" } th { "Slots" } th { "Last seen" } } }
            tbody { @for h in &view.hosts {
                tr { td { (h.host) } td { (h.capacity) } td.muted { (h.last_seen_ago) " ago" } }
            } }
        } }
        (queue_triggers(view))
    };
    page("Queue", "Queue", body)
}

/// The live rung timeline; also the body of the stream's `timeline` events.
pub fn live_timeline(rows: &[TimelineRow]) -> Markup {
    html! {
        @if rows.is_empty() { (empty("No rung has started yet.")) } @else {
            table.timeline { tbody {
                @for row in rows {
                    tr class={ "rung " (row.phase) } {
                        td.mono { (row.name) }
                        td { span class={ "pill " (row.phase) } { (row.phase) } }
                        td { (row.duration) }
                        td.muted { (row.reason) }
                    }
                }
            } }
        }
    }
}

/// The log so far and, while the run goes on, the timeline and the script that follows it.
fn live_panel(live: &LivePanel) -> Markup {
    html! {
        div.card #live {
            @if live.stream_href.is_some() {
                h2 { "Live" }
                div #live-timeline { (live_timeline(&live.timeline)) }
            }
            h2 { "Run log" }
            @if live.skipped > 0 {
                p.muted { (live.skipped) " earlier bytes not shown: "
                    a href=(live.log_href) { "the whole log" } }
            }
            pre.log #live-log data-stream=[live.stream_href.as_deref()] { (live.log) }
            @if live.stream_href.is_some() { script { (PreEscaped(LIVE_SCRIPT)) } }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ccci_adapters::alerts::Alert;

    /// Text spliced into a template comes out escaped (`'` needs no escape: every attribute
    /// is double-quoted).
    #[test]
    fn escaping_table() {
        let rows = [
            ("plain", "plain"),
            ("<script>&\"'", "&lt;script&gt;&amp;&quot;'"),
            ("a b/c", "a b/c"),
            ("ünï", "ünï"),
        ];
        for (input, want) in rows {
            let text = html! { p title=(input) { (input) } }.into_string();
            assert_eq!(text, format!("<p title=\"{want}\">{want}</p>"), "{input}");
        }
    }

    #[test]
    fn alerts_render_escaped_and_the_banner_only_when_pending() {
        let alert = Alert {
            id: "1-proxy-held-000001".into(),
            ts: "2026-11-23T20:00:00Z".into(),
            app: "<b>proxy</b>".into(),
            kind: "held\"".into(),
            message: "major bump 1.0.0 → 2.0.0 <script>alert(1)</script>".into(),
        };
        let rows = |alerts: &[Alert]| super::super::views::alert_rows(alerts);
        assert_eq!(alerts_banner(&[]).into_string(), "");
        let banner = alerts_banner(&rows(std::slice::from_ref(&alert))).into_string();
        for want in [
            "1 pending alert<",
            "&lt;b&gt;proxy&lt;/b&gt;",
            "held&quot;",
            "major bump 1.0.0 → 2.0.0 &lt;script&gt;alert(1)&lt;/script&gt;",
            "2026-11-23 20:00:00 UTC",
            "href=\"/alerts\"",
        ] {
            assert!(banner.contains(want), "{want} missing from {banner}");
        }
        assert!(!banner.contains("<script>") && !banner.contains("<b>"));
        let two = alerts_banner(&rows(&[alert.clone(), alert])).into_string();
        assert!(two.contains("2 pending alerts"));
        assert!(alerts_table(&[]).into_string().contains("No alerts."));
    }

    #[test]
    fn the_run_link_and_the_active_tab_are_marked() {
        let text = page("T", "Queue", html! {}).into_string();
        assert!(text.starts_with("<!DOCTYPE html>"), "{text}");
        assert!(
            text.contains(r#"<a href="/queue" class="active">Queue</a>"#),
            "{text}"
        );
        assert!(text.contains(r#"<a href="/">Runs</a>"#), "{text}");
    }
}
