//! The rows every renderer shows: the four ladder rungs always (a rung missing from the
//! results is shown as not run), then the rungs beside the ladder that ran. Under the
//! upgrade rung, one row per upgrade path when the suite asked for several
//! (`results.upgrade_paths`): "upgrade from 1.0.0+1.2.3", its status, time and deploys.

use ccci_core::ladder::{Rung, RungStatus, SkipKind, Verdict};
use ccci_core::results::{RunResults, RungResult, UpgradePath};
use ccci_core::run_end::RunEnd;

/// How a row reads: the six states a maintainer must tell apart at a glance.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RowState {
    Pass,
    Fail,
    /// Declared not applicable by the suite (`EXPECTED_NA`).
    NotApplicable,
    /// Skipped though the suite expected it: `--stages`, a lower rung failed, no tests.
    Skipped,
    /// The lint found errors, every one already at the base release: not this change's
    /// failure, but the level stops below L5 until they are fixed.
    Inherited,
    /// Absent from the results.
    NotRun,
}

impl RowState {
    pub fn word(self) -> &'static str {
        match self {
            RowState::Pass => "passed",
            RowState::Fail => "failed",
            RowState::NotApplicable => "n/a",
            RowState::Skipped => "skipped",
            RowState::Inherited => "at base",
            RowState::NotRun => "not run",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Row<'a> {
    pub rung: Rung,
    /// `L1`…`L4` for ladder rungs.
    pub step: Option<String>,
    pub state: RowState,
    pub reason: Option<&'a str>,
    pub duration_ms: Option<u64>,
    pub result: Option<&'a RungResult>,
    /// For an upgrade path's row (under the upgrade rung): the path.
    pub path: Option<&'a UpgradePath>,
}

impl Row<'_> {
    /// What the row is called: the rung's name, or `upgrade from <tag>` for a path.
    pub fn title(&self) -> String {
        match self.path {
            Some(path) => path.title(),
            None => self.rung.name().to_string(),
        }
    }
}

pub fn rows(results: &RunResults) -> Vec<Row<'_>> {
    let ladder = Rung::LADDER.into_iter().enumerate().map(|(i, rung)| {
        let mut row = match results.rung(rung) {
            Some(result) => row(result),
            None => Row {
                rung,
                step: None,
                state: RowState::NotRun,
                reason: None,
                duration_ms: None,
                result: None,
                path: None,
            },
        };
        row.step = Some(format!("L{}", i + 1));
        let paths = results
            .upgrade_paths
            .iter()
            .filter(move |_| rung == Rung::Upgrade)
            .map(path_row);
        std::iter::once(row).chain(paths)
    });
    let beside = results
        .rungs
        .iter()
        .filter(|r| !r.name.on_ladder())
        .map(row);
    ladder.flatten().chain(beside).collect()
}

fn path_row(path: &UpgradePath) -> Row<'_> {
    let state = match path.status {
        RungStatus::Pass => RowState::Pass,
        RungStatus::Fail => RowState::Fail,
        RungStatus::Skip => RowState::Skipped,
    };
    Row {
        rung: Rung::Upgrade,
        step: None,
        state,
        // The row names the path: its reason need not again.
        reason: path
            .reason
            .as_deref()
            .map(|r| r.strip_prefix(&format!("{}: ", path.title())).unwrap_or(r))
            .filter(|r| !r.trim().is_empty()),
        duration_ms: (path.duration_ms > 0).then_some(path.duration_ms),
        result: None,
        path: Some(path),
    }
}

fn row(result: &RungResult) -> Row<'_> {
    let state = match (result.status, result.skip) {
        (RungStatus::Pass, _) => RowState::Pass,
        (RungStatus::Fail, _) => RowState::Fail,
        (RungStatus::Skip, Some(SkipKind::Intentional)) => RowState::NotApplicable,
        (RungStatus::Skip, Some(SkipKind::Inherited)) => RowState::Inherited,
        (RungStatus::Skip, _) => RowState::Skipped,
    };
    Row {
        rung: result.name,
        step: None,
        state,
        reason: result.reason.as_deref().filter(|r| !r.trim().is_empty()),
        // A skip that took no time shows no time.
        duration_ms: (result.status != RungStatus::Skip || result.duration_ms > 0)
            .then_some(result.duration_ms),
        result: Some(result),
        path: None,
    }
}

/// How a run ended, in the words a card and a comment shout.
pub fn end_word(end: RunEnd) -> &'static str {
    match end {
        RunEnd::Judged(Verdict::Green) => "GREEN",
        RunEnd::Judged(Verdict::Red) => "RED",
        RunEnd::Cancelled => "CANCELLED",
        RunEnd::Error => "CC-CI ERROR",
    }
}

/// `1.2.0+3.4 → 1.3.0+3.5`, or just the head when there was no upgrade.
pub fn versions(results: &RunResults) -> Option<String> {
    match (&results.base_version, &results.head_version) {
        (Some(base), Some(head)) if base != head => Some(format!("{base} → {head}")),
        (_, Some(head)) => Some(head.clone()),
        (Some(base), None) => Some(base.clone()),
        (None, None) => None,
    }
}
