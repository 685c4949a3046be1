//! "Where it broke" on a recipe's page: for a recipe that is red now, its last green run,
//! the first red after it, links to both, and what changed between their records
//! ([`ccci_core::history`]), a digest that moved under an unchanged tag included. The view
//! functions are pure; the handler reads the records.

use super::views::{level_chip, time, LevelChip};
use crate::job::{Job, JobId, JobState};
use ccci_core::history::{self, Breakage, Change};
use ccci_core::results::RunResults;
use maud::{html, Markup};

/// Where the current red streak began, from the recipe's jobs (newest first).
pub fn breakage_of(jobs: &[Job]) -> Option<Breakage> {
    let finished: Vec<(JobId, _)> = jobs
        .iter()
        .filter(|j| j.state == JobState::Done)
        .filter_map(|j| j.end.map(|end| (j.id, end)))
        .collect();
    history::breakage(&finished)
}

/// A run linked from the section.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RunLink {
    pub id: JobId,
    pub href: String,
    pub finished: String,
    pub level: LevelChip,
}

/// One row of the "what changed" table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChangeRow {
    pub what: String,
    pub before: String,
    pub after: String,
}

/// The section.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BrokeView {
    pub last_green: Option<RunLink>,
    pub first_red: RunLink,
    /// `None`: a record is missing (named in `missing`), so what changed is unknown.
    pub changes: Option<Vec<ChangeRow>>,
    pub missing: Vec<JobId>,
}

fn link(jobs: &[Job], id: JobId) -> RunLink {
    let job = jobs.iter().find(|j| j.id == id);
    RunLink {
        id,
        href: format!("/runs/{id}"),
        finished: job
            .and_then(|j| j.finished_at)
            .map_or_else(|| "—".into(), time),
        level: level_chip(job.and_then(|j| j.level)),
    }
}

fn row(what: String, change: &Change) -> ChangeRow {
    let shown = |v: &Option<String>| v.clone().unwrap_or_else(|| "—".into());
    ChangeRow {
        what,
        before: shown(&change.before),
        after: shown(&change.after),
    }
}

/// The rows of what changed: versions, images per service, digests that moved under an
/// unchanged tag, `.env` keys added and removed.
pub fn change_rows(green: &RunResults, red: &RunResults) -> Vec<ChangeRow> {
    let changes = history::changes(green, red);
    let mut rows: Vec<ChangeRow> = changes
        .versions
        .iter()
        .map(|c| row(c.what.clone(), c))
        .collect();
    rows.extend(
        changes
            .images
            .iter()
            .map(|c| row(format!("image of {}", c.what), c)),
    );
    rows.extend(changes.digests_moved.iter().map(|m| ChangeRow {
        what: format!(
            "{DIGEST_MOVED} {}: digest moved under the unchanged tag",
            m.service
        ),
        before: format!("{}@{}", m.tag, m.before),
        after: format!("{}@{}", m.tag, m.after),
    }));
    if !changes.env_added.is_empty() {
        rows.push(ChangeRow {
            what: ".env keys added".into(),
            before: "—".into(),
            after: changes.env_added.join(", "),
        });
    }
    if !changes.env_removed.is_empty() {
        rows.push(ChangeRow {
            what: ".env keys removed".into(),
            before: changes.env_removed.join(", "),
            after: "—".into(),
        });
    }
    rows
}

/// How a digest-moved row begins (the section explains it when one is shown).
pub const DIGEST_MOVED: &str = "image content of";

/// The section for `breakage`, with the two runs' records when they were read.
pub fn broke_view(
    jobs: &[Job],
    breakage: Breakage,
    green: Option<&RunResults>,
    red: Option<&RunResults>,
) -> BrokeView {
    let mut missing = Vec::new();
    if let (Some(id), None) = (breakage.last_green, green) {
        missing.push(id);
    }
    if red.is_none() {
        missing.push(breakage.first_red);
    }
    BrokeView {
        last_green: breakage.last_green.map(|id| link(jobs, id)),
        first_red: link(jobs, breakage.first_red),
        changes: green.zip(red).map(|(g, r)| change_rows(g, r)),
        missing,
    }
}

fn run_link(title: &str, run: &RunLink) -> Markup {
    html! {
        div { (title) ": " a href=(run.href) { "#" (run.id) } " "
            span class={ "level " (run.level.class) } { (run.level.text) } " "
            span.muted { (run.finished) } }
    }
}

pub fn broke_section(view: &BrokeView) -> Markup {
    html! {
        div."card where-it-broke" { h2 { "Where it broke" }
            @match &view.last_green {
                Some(green) => (run_link("Last green", green)),
                None => div { "Never green in the history shown." },
            }
            (run_link(if view.last_green.is_some() { "First red after it" } else { "First red" }, &view.first_red))
            @for id in &view.missing {
                p.muted { "Run #" (id) " has no results.json (removed by retention, or never written): what changed is unknown." }
            }
            @match &view.changes {
                Some(rows) if rows.is_empty() => p { "Versions, images and .env keys are the same: the change is elsewhere (the suite, the rig, flakiness)." },
                Some(rows) if rows.iter().any(|r| r.what.starts_with(DIGEST_MOVED)) => {
                    p { "A tag the recipe names was pushed again with other content: the recipe did not change, the image did. Pin the digest (image: name:tag@sha256:…) or look at what changed upstream." }
                    (changes_table(rows))
                },
                Some(rows) => (changes_table(rows)),
                None => {},
            }
        }
    }
}

fn changes_table(rows: &[ChangeRow]) -> Markup {
    html! {
        table.changes {
            thead { tr { th { "What changed" } th { "Last green" } th { "First red" } } }
            tbody { @for r in rows { tr {
                td { (r.what) } td.mono { (r.before) } td.mono { (r.after) }
            } } }
        }
    }
}
