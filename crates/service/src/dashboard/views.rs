//! View models: what each page shows, built from store rows, results and alerts by pure
//! functions (no I/O, no markup). The templates turn them into HTML and escape every value.

use crate::job::{Job, JobState, Millis};
use crate::store::{QueueView, RecipeTally};
use ccci_adapters::alerts::Alert;
use ccci_core::ladder::{Rung, RungStatus, SkipKind, Verdict};
use ccci_core::results::{RunResults, UpgradePath};
use ccci_core::run_end::RunEnd;
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// Percent-encodes a value for a URL path segment or query value.
pub fn url_part(text: &str) -> String {
    let mut out = String::new();
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

pub fn time(ms: Millis) -> String {
    let Ok(t) = time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000) else {
        return "—".into();
    };
    let format =
        time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]:[second] UTC");
    t.format(&format).unwrap_or_else(|_| "—".into())
}

/// An alert's RFC 3339 time as the rest of the dashboard shows times; as given if unparsable.
pub fn alert_time(ts: &str) -> String {
    match time::OffsetDateTime::parse(ts, &time::format_description::well_known::Rfc3339) {
        Ok(t) => time((t.unix_timestamp_nanos() / 1_000_000) as Millis),
        Err(_) => ts.to_string(),
    }
}

pub fn duration(ms: i64) -> String {
    let s = ms.max(0) / 1000;
    match s {
        0..=59 => format!("{s}s"),
        60..=3599 => format!("{}m {:02}s", s / 60, s % 60),
        _ => format!("{}h {:02}m", s / 3600, (s % 3600) / 60),
    }
}

fn or_dash(value: Option<&str>) -> String {
    value.unwrap_or("—").to_string()
}

/// Where a job stands, as a pill: its CSS class and word.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Pill {
    pub class: &'static str,
    pub word: &'static str,
}

pub fn status_pill(job: &Job) -> Pill {
    let (class, word) = match (job.state, job.end) {
        (JobState::Done, Some(RunEnd::GREEN)) => ("green", "green"),
        (JobState::Done, Some(RunEnd::Cancelled)) => ("muted", "cancelled"),
        (JobState::Done, Some(RunEnd::Error)) => ("error", "cc-ci error"),
        (JobState::Done, _) => ("red", "red"),
        (JobState::Running, _) => ("running", "running"),
        (JobState::Queued, _) => ("queued", "queued"),
        (JobState::Superseded, _) => ("muted", "superseded"),
    };
    Pill { class, word }
}

/// A level chip: `L3` (class `l3`), or `—` (class `none`) without a level.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LevelChip {
    pub class: String,
    pub text: String,
}

pub fn level_chip(level: Option<u8>) -> LevelChip {
    match level {
        Some(l) => LevelChip {
            class: format!("l{l}"),
            text: format!("L{l}"),
        },
        None => LevelChip {
            class: "none".into(),
            text: "—".into(),
        },
    }
}

/// A job's level, shown only once it is done.
fn done_level(job: &Job) -> LevelChip {
    level_chip(job.level.filter(|_| job.state == JobState::Done))
}

/// One row of the runs table (run list, recipe page).
#[derive(Clone, Debug)]
pub struct RunRow {
    pub id: i64,
    pub recipe: String,
    pub recipe_href: String,
    pub pill: Pill,
    pub level: LevelChip,
    pub pr_and_sha: String,
    pub flags: String,
    pub queued: String,
    pub duration: String,
    pub host: String,
}

pub fn run_row(job: &Job, now: Millis) -> RunRow {
    let pr = job
        .request
        .pr_number
        .map_or_else(String::new, |n| format!("#{n} · "));
    let duration_ms = match (job.started_at, job.finished_at) {
        (Some(start), Some(end)) => Some(end - start),
        (Some(start), None) if job.state == JobState::Running => Some(now - start),
        _ => None,
    };
    RunRow {
        id: job.id,
        recipe: job.request.recipe.clone(),
        recipe_href: format!("/recipes/{}", url_part(&job.request.recipe)),
        pill: status_pill(job),
        level: done_level(job),
        pr_and_sha: format!("{pr}{}", job.short_sha()),
        flags: job.request.flags.describe(),
        queued: time(job.enqueued_at),
        duration: duration_ms.map_or_else(|| "—".into(), duration),
        host: or_dash(job.host.as_deref()),
    }
}

pub fn run_rows(jobs: &[Job], now: Millis) -> Vec<RunRow> {
    jobs.iter().map(|j| run_row(j, now)).collect()
}

/// One alert as a table row.
#[derive(Clone, Debug)]
pub struct AlertRow {
    pub time: String,
    pub app: String,
    pub kind: String,
    pub message: String,
}

pub fn alert_rows(alerts: &[Alert]) -> Vec<AlertRow> {
    alerts
        .iter()
        .map(|a| AlertRow {
            time: alert_time(&a.ts),
            app: a.app.clone(),
            kind: a.kind.clone(),
            message: a.message.clone(),
        })
        .collect()
}

/// "1 pending alert", "3 pending alerts".
pub fn pending_alerts_title(n: usize) -> String {
    match n {
        1 => "1 pending alert".to_string(),
        n => format!("{n} pending alerts"),
    }
}

/// The alerts page.
#[derive(Clone, Debug)]
pub struct AlertsPage {
    pub pending: Vec<AlertRow>,
    pub archived: Vec<AlertRow>,
    pub archived_shown: usize,
}

/// One choice of a filter's `<select>`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Choice {
    pub value: String,
    pub selected: bool,
}

fn choices<'a>(values: impl IntoIterator<Item = &'a str>, have: Option<&str>) -> Vec<Choice> {
    values
        .into_iter()
        .map(|v| Choice {
            value: v.to_string(),
            selected: have == Some(v),
        })
        .collect()
}

/// The figures that open the run list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RunStats {
    pub running: usize,
    pub queued: usize,
    pub capacity: u32,
    pub finished: usize,
    /// `NN%` green of the finished runs, `—` without any.
    pub green_share: String,
    pub recipes: usize,
}

/// The run list: alerts banner, figures, filters and the table.
#[derive(Clone, Debug)]
pub struct RunsPage {
    pub pending_alerts: Vec<AlertRow>,
    /// What retention removed, in a line (`None`: nothing).
    pub retention: Option<String>,
    pub stats: RunStats,
    pub recipes: Vec<Choice>,
    pub verdicts: Vec<Choice>,
    pub states: Vec<Choice>,
    pub rows: Vec<RunRow>,
    pub pager: Pager,
}

/// What the run list is built from.
pub struct RunsInput<'a> {
    pub filter: &'a crate::job::JobFilter,
    /// One page of the filtered list, newest first (at most [`RUNS_PER_PAGE`] rows shown).
    pub jobs: &'a [Job],
    /// Whether older jobs match past this page.
    pub more: bool,
    pub queue: &'a QueueView,
    /// The recent history the figures and the recipe choices are taken from.
    pub recent: &'a [RecipeTally],
    pub pending_alerts: &'a [Alert],
    /// Retention's log.
    pub removed: &'a [crate::retention::Removed],
    pub now: Millis,
}

/// How many runs a page of the run list (and of a recipe's history) shows.
pub const RUNS_PER_PAGE: u32 = 50;

/// The paging links under a run table: to the next older page and back to the newest.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Pager {
    pub older: Option<String>,
    pub newest: Option<String>,
}

/// The links for a page of `filter`'s runs at `path` whose oldest row is `oldest`; `more`:
/// older runs exist. The filters carry over; `before` is the only cursor.
pub fn pager(path: &str, filter: &crate::job::JobFilter, oldest: Option<i64>, more: bool) -> Pager {
    let mut query = Vec::new();
    let mut keep = |key: &str, value: Option<String>| {
        if let Some(v) = value {
            query.push(format!("{key}={}", url_part(&v)));
        }
    };
    keep("recipe", filter.recipe.clone());
    keep("verdict", filter.end.map(|end| end.name().to_string()));
    keep("state", filter.state.map(|s| s.as_str().to_string()));
    keep("limit", filter.limit.map(|l| l.to_string()));
    let href = |extra: Option<String>| {
        let parts: Vec<String> = query.iter().cloned().chain(extra).collect();
        match parts.is_empty() {
            true => path.to_string(),
            false => format!("{path}?{}", parts.join("&")),
        }
    };
    Pager {
        older: oldest
            .filter(|_| more)
            .map(|id| href(Some(format!("before={id}")))),
        newest: filter.before.map(|_| href(None)),
    }
}

pub fn runs_page(input: &RunsInput) -> RunsPage {
    let finished: u64 = input.recent.iter().map(|t| t.finished).sum();
    let green: u64 = input.recent.iter().map(|t| t.green).sum();
    let recipes = input.recent.iter().map(|t| t.recipe.as_str());
    let filter = input.filter;
    let verdict = filter.end.map(RunEnd::name);
    let states = ["queued", "running", "done", "superseded"];
    RunsPage {
        pending_alerts: alert_rows(input.pending_alerts),
        retention: super::retention::runs_line(input.removed),
        stats: RunStats {
            running: input.queue.running.len(),
            queued: input.queue.queued.len(),
            capacity: input.queue.capacity,
            finished: finished as usize,
            green_share: match finished {
                0 => "—".to_string(),
                n => format!("{}%", green * 100 / n),
            },
            recipes: input.recent.len(),
        },
        recipes: choices(recipes, filter.recipe.as_deref()),
        verdicts: choices(["green", "red"], verdict),
        states: choices(states, filter.state.map(JobState::as_str)),
        pager: pager("/", filter, input.jobs.last().map(|j| j.id), input.more),
        rows: run_rows(input.jobs, input.now),
    }
}

/// One rung of the run page's timeline.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RungRow {
    pub name: String,
    /// `pass`, `fail` or `skip`: the pill's and the bar's class and word.
    pub status: &'static str,
    pub intentional_skip: bool,
    pub duration: String,
    /// Where the bar starts and how wide it is, in percent of the run.
    pub offset: u64,
    pub width: u64,
    pub reason: String,
}

pub fn rung_rows(results: &RunResults) -> Vec<RungRow> {
    // The other upgrade paths ran first, each on its own app, before the ladder.
    let extra: Vec<&UpgradePath> = results.upgrade_paths.iter().skip(1).collect();
    let extra_ms: u64 = extra.iter().map(|p| p.duration_ms).sum();
    let total: u64 = (results.rungs.iter().map(|r| r.duration_ms).sum::<u64>() + extra_ms).max(1);
    let mut offsets = BTreeMap::new();
    let mut at = 0u64;
    for p in &extra {
        offsets.insert(p.from.clone(), at);
        at += p.duration_ms;
    }
    let mut elapsed = extra_ms;
    let mut rows = Vec::new();
    for rung in &results.rungs {
        // The lint (L5) tops the ladder but runs first, before anything is deployed.
        let first = rung.name == Rung::Lint;
        let offset = if first { 0 } else { elapsed * 100 / total };
        if rung.name == Rung::Install {
            // The ladder's own path (`previous`) starts with its install.
            if let Some(own) = results.upgrade_paths.first() {
                offsets.insert(own.from.clone(), elapsed);
            }
        }
        if !first {
            elapsed += rung.duration_ms;
        }
        rows.push(RungRow {
            name: rung.name.name().to_string(),
            status: status_word(rung.status),
            intentional_skip: rung.skip == Some(SkipKind::Intentional),
            duration: duration(rung.duration_ms as i64),
            offset,
            width: bar_width(rung.duration_ms, total),
            reason: rung.reason.clone().unwrap_or_default(),
        });
        if rung.name == Rung::Upgrade {
            for p in &results.upgrade_paths {
                rows.push(RungRow {
                    name: format!("↳ {}", p.title()),
                    status: status_word(p.status),
                    intentional_skip: false,
                    duration: format!(
                        "{} · {} deploys",
                        duration(p.duration_ms as i64),
                        p.deploy_count
                    ),
                    offset: offsets.get(&p.from).copied().unwrap_or(0) * 100 / total,
                    width: bar_width(p.duration_ms, total),
                    reason: p.reason.clone().unwrap_or_default(),
                });
            }
        }
    }
    rows
}

fn status_word(status: RungStatus) -> &'static str {
    match status {
        RungStatus::Pass => "pass",
        RungStatus::Fail => "fail",
        RungStatus::Skip => "skip",
    }
}

/// A bar's width in percent of the run; anything that took time shows.
fn bar_width(ms: u64, total: u64) -> u64 {
    let min_width = if ms > 0 { 2 } else { 0 };
    (ms * 100 / total).max(min_width)
}

/// What cc-ci changed on the stack for the rig's sake.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Adaptation {
    pub kind: String,
    pub services: String,
    pub reason: String,
}

/// The run page's details that come from `results.json`.
#[derive(Clone, Debug)]
pub struct ResultDetails {
    pub versions: String,
    pub domain: String,
    pub deploys: u32,
    pub clean_teardown: &'static str,
    /// Empty: deployed as the recipe says.
    pub adaptations: Vec<Adaptation>,
}

/// `--keep`: the RED run's app kept for debugging, or removed since.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeptView {
    /// `2026-12-01 22:40:00 UTC`.
    pub until: String,
    /// Still deployed (its registry entry is there); `false`: the janitor removed it.
    pub deployed: bool,
    pub url: String,
    pub reach: String,
    pub logs: Vec<String>,
    pub release: String,
}

fn kept_view(kept: &ccci_core::results::Kept, deployed: bool) -> KeptView {
    KeptView {
        until: ccci_report::text::kept_until(kept),
        deployed,
        url: kept.url.clone(),
        reach: kept.reach.clone(),
        logs: kept.logs.clone(),
        release: kept.release.clone(),
    }
}

/// The failure card: the message and the log tail.
#[derive(Clone, Debug)]
pub struct FailureView {
    pub message: String,
    pub log_tail: Option<String>,
}

/// One file of the run directory.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileRow {
    pub path: String,
    pub href: String,
    pub size: u64,
}

fn result_details(r: &RunResults) -> ResultDetails {
    ResultDetails {
        versions: format!(
            "{} → {}",
            or_dash(r.base_version.as_deref()),
            or_dash(r.head_version.as_deref())
        ),
        domain: r.domain.clone(),
        deploys: r.deploy_count,
        clean_teardown: if r.flags.clean_teardown { "yes" } else { "no" },
        adaptations: r
            .rig_adaptations
            .iter()
            .map(|a| Adaptation {
                kind: a.kind.clone(),
                services: a.services.join(", "),
                reason: a.reason.clone(),
            })
            .collect(),
    }
}

/// The "Details" card of a run.
#[derive(Clone, Debug)]
pub struct RunDetails {
    pub state: String,
    pub requested_by: String,
    pub queued: String,
    pub started: String,
    pub finished: String,
    pub host: String,
    pub attempts: i64,
    pub results: Option<ResultDetails>,
}

/// One run's page.
#[derive(Clone, Debug)]
pub struct RunPage {
    pub id: i64,
    pub recipe: String,
    pub recipe_href: String,
    pub pill: Pill,
    /// Shown once the run is done.
    pub level: Option<LevelChip>,
    pub repo: String,
    pub pr_number: Option<i64>,
    pub short_sha: String,
    pub flags: Option<String>,
    /// A quick run: `Some(commit status context)` (`Some(None)` without a forge).
    pub quick: Option<Option<String>>,
    pub wait_reason: Option<String>,
    pub note: Option<String>,
    /// "Artefacts removed on … by retention (…)", when they were.
    pub removed_note: Option<String>,
    pub details: RunDetails,
    pub card_href: Option<String>,
    /// `None`: no results yet.
    pub rungs: Option<Vec<RungRow>>,
    pub failure: Option<FailureView>,
    pub files: Vec<FileRow>,
    /// The live log and timeline, when the run directory has them (set by the handler).
    pub live: Option<LivePanel>,
    /// The operator's Cancel (a form posting to this URL): while the job is queued or
    /// running and the service has an operator token.
    pub cancel_href: Option<String>,
    /// `--keep`: the app kept for debugging (or removed since).
    pub kept: Option<KeptView>,
}

/// What a run page is built from (read by the handler).
pub struct RunInput<'a> {
    pub job: &'a Job,
    pub results: Option<&'a RunResults>,
    /// The quick lane's commit status context, when a forge is configured.
    pub quick_context: Option<String>,
    pub wait_reason: Option<String>,
    pub card_file: Option<&'a str>,
    pub files: &'a [(String, u64)],
    /// Retention's record of this run, when it removed the run's directory.
    pub removed: Option<&'a crate::retention::Removed>,
    /// The service has an operator token (operator actions are offered).
    pub operator_actions: bool,
    /// A kept app (`results.kept`) is still deployed: its registry entry is there.
    pub kept_deployed: bool,
}

pub fn run_page(input: &RunInput) -> RunPage {
    let job = input.job;
    let describe = job.request.flags.describe();
    RunPage {
        id: job.id,
        recipe: job.request.recipe.clone(),
        recipe_href: format!("/recipes/{}", url_part(&job.request.recipe)),
        pill: status_pill(job),
        level: (job.state == JobState::Done).then(|| level_chip(job.level)),
        repo: job.request.repo.clone(),
        pr_number: job.request.pr_number,
        short_sha: job.short_sha().to_string(),
        flags: (!describe.is_empty()).then_some(describe),
        quick: job.request.flags.quick.then(|| input.quick_context.clone()),
        wait_reason: input.wait_reason.clone(),
        note: cancel_note(job).or_else(|| job.note.clone()),
        removed_note: input.removed.map(super::retention::removed_note),
        details: run_details(job, input.results),
        card_href: input
            .card_file
            .map(|file| format!("/runs/{}/files/{file}", job.id)),
        rungs: input.results.map(rung_rows),
        failure: input
            .results
            .and_then(|r| r.failure.as_ref())
            .map(|f| FailureView {
                message: f.message.clone(),
                log_tail: (!f.log_tail.is_empty()).then(|| f.log_tail.join("\n")),
            }),
        files: file_rows(job.id, input.files),
        live: None,
        cancel_href: (input.operator_actions
            && matches!(job.state, JobState::Queued | JobState::Running))
        .then(|| format!("/runs/{}/cancel", job.id)),
        kept: input
            .results
            .and_then(|r| r.kept.as_ref())
            .map(|k| kept_view(k, input.kept_deployed)),
    }
}

/// Who cancelled the run (or asked to, while it tears down).
fn cancel_note(job: &Job) -> Option<String> {
    let by = job.cancel_requested_by.as_deref()?;
    match (job.state, job.end) {
        (JobState::Done, Some(RunEnd::Cancelled)) => Some(format!("cancelled by {by}; no verdict")),
        (JobState::Running, _) => Some(format!("cancel requested by {by}; tearing down")),
        _ => None,
    }
}

fn run_details(job: &Job, results: Option<&RunResults>) -> RunDetails {
    RunDetails {
        state: job.state.to_string(),
        requested_by: or_dash(job.request.requested_by.as_deref()),
        queued: time(job.enqueued_at),
        started: job.started_at.map_or_else(|| "—".into(), time),
        finished: job.finished_at.map_or_else(|| "—".into(), time),
        host: or_dash(job.host.as_deref()),
        attempts: job.attempts + 1,
        results: results.map(result_details),
    }
}

fn file_rows(id: i64, files: &[(String, u64)]) -> Vec<FileRow> {
    files
        .iter()
        .map(|(path, size)| FileRow {
            path: path.clone(),
            href: format!(
                "/runs/{id}/files/{}",
                path.split('/').map(url_part).collect::<Vec<_>>().join("/")
            ),
            size: *size,
        })
        .collect()
}

/// A horizontal line of the level chart, with its label.
#[derive(Clone, Debug, PartialEq)]
pub struct GridLine {
    pub level: u8,
    pub y: String,
    pub label_y: String,
}

/// One finished run on the level chart.
#[derive(Clone, Debug, PartialEq)]
pub struct Dot {
    pub x: String,
    pub y: String,
    pub color: &'static str,
}

/// Level over time as a small step chart (SVG geometry, formatted).
#[derive(Clone, Debug, PartialEq)]
pub struct LevelChart {
    pub width: f64,
    pub height: f64,
    pub right: f64,
    pub grid: Vec<GridLine>,
    pub path: String,
    pub dots: Vec<Dot>,
}

/// The chart of `history` (newest first); `None` without any run.
pub fn level_chart(history: &[&Job]) -> Option<LevelChart> {
    if history.is_empty() {
        return None;
    }
    let (w, h, pad) = (720.0_f64, 140.0_f64, 24.0_f64);
    let step = match history.len() {
        1 => 0.0,
        n => (w - 2.0 * pad) / (n - 1) as f64,
    };
    let y = |level: u8| h - pad - f64::from(level) * (h - 2.0 * pad) / 5.0;
    let mut path = String::new();
    let mut dots = Vec::new();
    for (i, job) in history.iter().rev().enumerate() {
        let (x, level) = (pad + step * i as f64, job.level.unwrap_or(0));
        let mark = if path.is_empty() { "M" } else { "L" };
        let _ = write!(path, "{mark}{x:.1},{:.1} ", y(level));
        dots.push(Dot {
            x: format!("{x:.1}"),
            y: format!("{:.1}", y(level)),
            color: match job.end {
                Some(RunEnd::GREEN) => "#40c057",
                Some(RunEnd::Cancelled | RunEnd::Error) => "#adb5bd",
                _ => "#fa5252",
            },
        });
    }
    let grid = (0..=5u8)
        .map(|level| GridLine {
            level,
            y: format!("{:.1}", y(level)),
            label_y: format!("{:.1}", y(level) + 3.0),
        })
        .collect();
    Some(LevelChart {
        width: w,
        height: h,
        right: w - pad,
        grid,
        path,
        dots,
    })
}

/// A recipe's history page.
#[derive(Clone, Debug)]
pub struct RecipePage {
    pub name: String,
    pub badge_href: String,
    pub public_url: String,
    pub chart: Option<LevelChart>,
    /// For a recipe red now: where it broke (set by the handler, which reads the records).
    pub broke: Option<super::history::BrokeView>,
    pub rows: Vec<RunRow>,
    pub pager: Pager,
}

/// What a recipe's page is built from.
pub struct RecipeInput<'a> {
    pub name: &'a str,
    pub public_url: &'a str,
    /// Its newest finished runs, newest first: the chart takes the first 50.
    pub finished: &'a [Job],
    /// One page of its runs, newest first; `more`: older ones exist.
    pub page: &'a [Job],
    pub more: bool,
    /// Where the page starts (`None`: the newest run).
    pub before: Option<i64>,
    pub now: Millis,
}

pub fn recipe_page(input: &RecipeInput) -> RecipePage {
    let done: Vec<&Job> = input.finished.iter().take(50).collect();
    let path = format!("/recipes/{}", url_part(input.name));
    let filter = crate::job::JobFilter {
        before: input.before,
        ..crate::job::JobFilter::default()
    };
    RecipePage {
        name: input.name.to_string(),
        badge_href: format!("{path}/badge.svg"),
        public_url: input.public_url.to_string(),
        chart: level_chart(&done),
        broke: None,
        rows: run_rows(input.page, input.now),
        pager: pager(&path, &filter, input.page.last().map(|j| j.id), input.more),
    }
}

/// A running job on the queue page.
#[derive(Clone, Debug)]
pub struct RunningRow {
    pub id: i64,
    pub recipe: String,
    pub host: String,
    pub running_for: String,
    pub lease: String,
}

/// A queued job on the queue page.
#[derive(Clone, Debug)]
pub struct WaitingRow {
    pub id: i64,
    pub recipe: String,
    pub waiting_for: String,
    pub queued: String,
    pub why: String,
}

/// A host sharing the queue.
#[derive(Clone, Debug)]
pub struct HostRow {
    pub host: String,
    pub capacity: u32,
    pub last_seen_ago: String,
}

/// How one watched repository's triggers reach this host.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TriggerRow {
    pub repo: String,
    pub pill: Pill,
    pub detail: String,
}

/// Webhook (green), polling (muted) or a broken webhook (red), with why.
pub fn trigger_rows(triggers: &[crate::triggers::RepoTrigger]) -> Vec<TriggerRow> {
    use crate::triggers::Mode;
    let row = |t: &crate::triggers::RepoTrigger| {
        let class = match t.mode {
            Mode::Webhook { .. } => "green",
            Mode::Polling { .. } => "muted",
            Mode::Broken { .. } => "red",
        };
        TriggerRow {
            repo: t.repo.clone(),
            pill: Pill {
                class,
                word: t.mode.word(),
            },
            detail: t.mode.detail(),
        }
    };
    triggers.iter().map(row).collect()
}

/// The queue page.
#[derive(Clone, Debug)]
pub struct QueuePage {
    pub capacity: u32,
    pub running: Vec<RunningRow>,
    pub waiting: Vec<WaitingRow>,
    pub hosts: Vec<HostRow>,
    /// This host's triggers, per watched repository.
    pub triggers: Vec<TriggerRow>,
}

pub fn queue_page(
    view: &QueueView,
    hosts: &[crate::job::HostInfo],
    triggers: &[crate::triggers::RepoTrigger],
    now: Millis,
) -> QueuePage {
    let running = view.running.iter().map(|j| RunningRow {
        id: j.id,
        recipe: j.request.recipe.clone(),
        host: or_dash(j.host.as_deref()),
        running_for: duration(now - j.started_at.unwrap_or(now)),
        lease: j.lease_expires_at.map_or_else(
            || "—".into(),
            |t| format!("renews, expires in {}", duration(t - now)),
        ),
    });
    let waiting = view.queued.iter().map(|j| WaitingRow {
        id: j.id,
        recipe: j.request.recipe.clone(),
        waiting_for: duration(now - j.enqueued_at),
        queued: time(j.enqueued_at),
        why: view
            .wait_reason(j.id)
            .map(|r| r.to_string())
            .unwrap_or_default(),
    });
    let hosts = hosts.iter().map(|h| HostRow {
        host: h.host.clone(),
        capacity: h.capacity,
        last_seen_ago: duration(now - h.last_seen),
    });
    QueuePage {
        capacity: view.capacity,
        running: running.collect(),
        waiting: waiting.collect(),
        hosts: hosts.collect(),
        triggers: trigger_rows(triggers),
    }
}

/// The recipe badge: its message and colour.
/// The badge of a recipe from its latest finished runs, newest first: the newest *verdict*
/// (a cancelled run or a cc-ci error says nothing about the recipe and is passed over).
pub fn badge(finished: &[Job]) -> (String, &'static str) {
    let latest = finished
        .iter()
        .find_map(|j| Some((j.level.unwrap_or(0), j.end?.verdict()?)));
    match latest {
        Some((level, Verdict::Green)) => (format!("L{level} green"), "#2b8a3e"),
        Some((level, Verdict::Red)) => (format!("L{level} red"), "#c92a2a"),
        None => ("no runs".to_string(), "#868e96"),
    }
}

/// The run page's live section: the log so far (its tail) and the rung timeline, and, while
/// the run is not done, where the page's script subscribes for more.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LivePanel {
    pub log: String,
    /// Bytes of the log before the tail shown (0: all of it is shown).
    pub skipped: u64,
    pub log_href: String,
    /// `Some(url)` while the run is queued or running: the event stream, from the end of
    /// the log shown.
    pub stream_href: Option<String>,
    pub timeline: Vec<TimelineRow>,
}

/// One rung on the live timeline.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TimelineRow {
    pub name: String,
    /// `pending`, `running`, `pass`, `fail` or `skip`: the pill's class and word.
    pub phase: &'static str,
    /// How long it took, or has taken so far; blank while pending.
    pub duration: String,
    pub reason: String,
}

pub fn timeline_rows(timeline: &[ccci_core::live::TimelineEntry]) -> Vec<TimelineRow> {
    timeline
        .iter()
        .map(|entry| TimelineRow {
            name: entry.rung.to_string(),
            phase: entry.phase.name(),
            duration: entry
                .duration_ms
                .map_or_else(String::new, |ms| duration(ms as i64)),
            reason: entry.reason.clone().unwrap_or_default(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The run page shows each upgrade path under the upgrade rung, with its time and
    /// deploys, its bar where it ran (the other paths before the ladder).
    #[test]
    fn the_run_page_shows_each_upgrade_path_with_its_time_and_deploys() {
        let results = ccci_report::fixtures::red_upgrade_path();
        let rows = rung_rows(&results);
        let names: Vec<&str> = rows.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(
            names[..4],
            [
                "install",
                "upgrade",
                "↳ upgrade from 1.1.0+1.1.0",
                "↳ upgrade from 1.0.0+1.0.0"
            ]
        );
        let other = &rows[3];
        assert_eq!(other.status, "fail");
        assert!(other.duration.ends_with("· 2 deploys"), "{other:?}");
        assert!(other.reason.contains("data did not survive"), "{other:?}");
        // The other path ran first; the ladder's own path starts with the install.
        assert_eq!(other.offset, 0);
        assert_eq!(rows[2].offset, rows[0].offset);
        assert!(rows[0].offset > 0);
        // Without paths, the rows are the rungs.
        assert_eq!(
            rung_rows(&ccci_report::fixtures::green_l5()).len(),
            ccci_report::fixtures::green_l5().rungs.len()
        );
    }

    #[test]
    fn triggers_say_webhook_polling_or_broken_and_why() {
        use crate::triggers::{Mode, RepoTrigger};
        let row = |repo: &str, mode: Mode| RepoTrigger {
            repo: repo.into(),
            mode,
        };
        let rows = trigger_rows(&[
            row("o/a", Mode::Webhook { hook_id: 4 }),
            row(
                "o/b",
                Mode::Polling {
                    reason: "the token may not administer this repository's hooks (HTTP 403: …)"
                        .into(),
                },
            ),
            row(
                "o/c",
                Mode::Broken {
                    hook_id: 9,
                    evidence: "!testme comment 77 (found by polling)".into(),
                },
            ),
        ]);
        let shown: Vec<(&str, &str, &str)> = rows
            .iter()
            .map(|r| (r.pill.class, r.pill.word, r.detail.as_str()))
            .collect();
        assert_eq!(
            shown,
            [
                ("green", "webhook", "hook 4 registered by cc-ci"),
                ("muted", "polling", "the token may not administer this repository's hooks (HTTP 403: …)"),
                ("red", "broken webhook", "hook 9 did not deliver !testme comment 77 (found by polling); polling meanwhile"),
            ]
        );
    }

    #[test]
    fn the_badge_shows_the_newest_verdict_not_a_cancel_or_a_cc_ci_error() {
        let job = |end: RunEnd, level: u8| Job {
            end: Some(end),
            level: Some(level),
            ..Job::sample(JobState::Done)
        };
        let rows: Vec<(Vec<Job>, &str)> = vec![
            (vec![job(RunEnd::GREEN, 4)], "L4 green"),
            (vec![job(RunEnd::RED, 1)], "L1 red"),
            (
                vec![job(RunEnd::Cancelled, 0), job(RunEnd::GREEN, 5)],
                "L5 green",
            ),
            (
                vec![
                    job(RunEnd::Error, 0),
                    job(RunEnd::Cancelled, 0),
                    job(RunEnd::RED, 2),
                ],
                "L2 red",
            ),
            (vec![job(RunEnd::Cancelled, 0)], "no runs"),
            (vec![], "no runs"),
        ];
        for (jobs, want) in rows {
            assert_eq!(badge(&jobs).0, want);
        }
    }

    #[test]
    fn url_parts_are_percent_encoded() {
        let rows = [
            ("plain", "plain"),
            ("<script>&\"'", "%3Cscript%3E%26%22%27"),
            ("a b/c", "a%20b%2Fc"),
            ("ünï", "%C3%BCn%C3%AF"),
        ];
        for (input, url) in rows {
            assert_eq!(url_part(input), url, "{input}");
        }
    }

    #[test]
    fn times_read_like_the_rest_of_the_dashboard() {
        assert_eq!(
            alert_time("2026-11-23T20:13:02.52217Z"),
            "2026-11-23 20:13:02 UTC"
        );
        assert_eq!(alert_time("yesterday"), "yesterday");
        assert_eq!(pending_alerts_title(1), "1 pending alert");
        assert_eq!(pending_alerts_title(2), "2 pending alerts");
    }

    #[test]
    fn the_live_timeline_reads_phase_duration_and_reason() {
        use ccci_core::ladder::{Rung, RungStatus};
        use ccci_core::live::{timeline, RungEvent};
        let events = [
            RungEvent::Planned {
                rungs: vec![Rung::Install, Rung::Upgrade, Rung::Functional],
            },
            RungEvent::Started {
                rung: Rung::Install,
                at_ms: 1_000,
            },
            RungEvent::Finished {
                rung: Rung::Install,
                status: RungStatus::Pass,
                duration_ms: 61_000,
                reason: None,
            },
            RungEvent::Started {
                rung: Rung::Upgrade,
                at_ms: 62_000,
            },
        ];
        let rows = |now| -> Vec<(String, &str, String)> {
            timeline_rows(&timeline(&events, now))
                .into_iter()
                .map(|r| (r.name, r.phase, r.duration))
                .collect()
        };
        let row = |name: &str, phase, duration: &str| (name.to_string(), phase, duration.into());
        assert_eq!(
            rows(74_000),
            [
                row("install", "pass", "1m 01s"),
                row("upgrade", "running", "12s"),
                row("functional", "pending", ""),
            ]
        );
        // The running rung's time grows with the clock; the others stay.
        assert_eq!(rows(80_000)[1], row("upgrade", "running", "18s"));
        let mut failed = events.to_vec();
        failed.push(RungEvent::Finished {
            rung: Rung::Upgrade,
            status: RungStatus::Fail,
            duration_ms: 5_000,
            reason: Some("the head did not converge".into()),
        });
        let rows = timeline_rows(&timeline(&failed, 90_000));
        assert_eq!((rows[1].phase, rows[1].duration.as_str()), ("fail", "5s"));
        assert_eq!(rows[1].reason, "the head did not converge");
    }

    #[test]
    fn durations_read_like_a_person_would_say_them() {
        for (ms, want) in [
            (0, "0s"),
            (59_999, "59s"),
            (60_000, "1m 00s"),
            (3_725_000, "1h 02m"),
            (-5, "0s"),
        ] {
            assert_eq!(duration(ms), want);
        }
    }

    #[test]
    fn levels_and_file_links() {
        assert_eq!(level_chip(Some(3)).text, "L3");
        assert_eq!(level_chip(None).class, "none");
        let files = file_rows(7, &[("logs/a b.txt".into(), 12)]);
        assert_eq!(files[0].href, "/runs/7/files/logs/a%20b.txt");
        assert!(level_chart(&[]).is_none());
    }

    #[test]
    fn pager_links_keep_the_filters_and_move_the_cursor() {
        use crate::job::JobFilter;
        let red_of = JobFilter {
            recipe: Some("a b".into()),
            end: Some(RunEnd::RED),
            limit: Some(5),
            ..JobFilter::default()
        };
        let from = |before| JobFilter {
            before,
            ..red_of.clone()
        };
        let cases = [
            // (path, filter, oldest row, more, older, newest)
            (
                "/",
                JobFilter::default(),
                Some(51),
                true,
                Some("/?before=51"),
                None,
            ),
            ("/", JobFilter::default(), Some(51), false, None, None),
            ("/", JobFilter::default(), None, false, None, None),
            (
                "/",
                from(None),
                Some(9),
                true,
                Some("/?recipe=a%20b&verdict=red&limit=5&before=9"),
                None,
            ),
            (
                "/",
                from(Some(20)),
                Some(9),
                false,
                None,
                Some("/?recipe=a%20b&verdict=red&limit=5"),
            ),
            (
                "/recipes/r",
                JobFilter {
                    before: Some(60),
                    ..JobFilter::default()
                },
                Some(10),
                true,
                Some("/recipes/r?before=10"),
                Some("/recipes/r"),
            ),
        ];
        for (path, filter, oldest, more, older, newest) in cases {
            let got = pager(path, &filter, oldest, more);
            let want = Pager {
                older: older.map(String::from),
                newest: newest.map(String::from),
            };
            assert_eq!(got, want, "{path} {filter:?} oldest {oldest:?} more {more}");
        }
    }
}
