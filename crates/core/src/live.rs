//! A run in flight, as its run directory shows it while it happens: the runner appends the
//! (redacted) log to [`LIVE_LOG`] line by line and one [`RungEvent`] per line to
//! [`LIVE_RUNGS`]; [`timeline`] folds those events into the rung timeline the run page
//! shows. Pure: the files are read and written by the runner and the service.

use crate::ladder::{Rung, RungStatus};
use serde::{Deserialize, Serialize};
use std::fmt;

/// The run's log as it happens: every line redacted before it is written, append-only.
pub const LIVE_LOG: &str = "live.log";
/// The rung events as they happen: one JSON [`RungEvent`] per line, append-only.
pub const LIVE_RUNGS: &str = "live-rungs.jsonl";

/// What the runner says about a rung as the run goes. Later events about a rung replace
/// what earlier ones said (a rung's `Finished` may be said twice: as it ends, and in the
/// final account after the walk).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum RungEvent {
    /// The rungs this run reports, in order, before any of them starts.
    Planned { rungs: Vec<Rung> },
    /// A rung started, at this Unix time (milliseconds).
    Started { rung: Rung, at_ms: u64 },
    Finished {
        rung: Rung,
        status: RungStatus,
        duration_ms: u64,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason: Option<String>,
    },
}

/// Where a rung stands on the timeline.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    Pending,
    Running,
    Pass,
    Fail,
    Skip,
}

impl Phase {
    pub fn name(self) -> &'static str {
        match self {
            Phase::Pending => "pending",
            Phase::Running => "running",
            Phase::Pass => "pass",
            Phase::Fail => "fail",
            Phase::Skip => "skip",
        }
    }
}

impl fmt::Display for Phase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl From<RungStatus> for Phase {
    fn from(status: RungStatus) -> Phase {
        match status {
            RungStatus::Pass => Phase::Pass,
            RungStatus::Fail => Phase::Fail,
            RungStatus::Skip => Phase::Skip,
        }
    }
}

/// One rung on the timeline. `duration_ms`: how long it took (finished) or has taken so far
/// (running); `None` while pending.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TimelineEntry {
    pub rung: Rung,
    pub phase: Phase,
    pub duration_ms: Option<u64>,
    pub reason: Option<String>,
}

/// The events of a [`LIVE_RUNGS`] file; a line that does not parse (the last one, half
/// written) is left out.
pub fn parse_events(text: &str) -> Vec<RungEvent> {
    text.lines()
        .filter_map(|line| serde_json::from_str(line).ok())
        .collect()
}

/// The timeline at `now_ms`: planned rungs in their order, then any other rung in the order
/// it was first mentioned.
pub fn timeline(events: &[RungEvent], now_ms: u64) -> Vec<TimelineEntry> {
    let mut entries: Vec<(TimelineEntry, Option<u64>)> = Vec::new();
    fn slot(entries: &mut Vec<(TimelineEntry, Option<u64>)>, rung: Rung) -> usize {
        entries
            .iter()
            .position(|(e, _)| e.rung == rung)
            .unwrap_or_else(|| {
                entries.push((
                    TimelineEntry {
                        rung,
                        phase: Phase::Pending,
                        duration_ms: None,
                        reason: None,
                    },
                    None,
                ));
                entries.len() - 1
            })
    }
    for event in events {
        match event {
            RungEvent::Planned { rungs } => {
                for rung in rungs {
                    slot(&mut entries, *rung);
                }
            }
            RungEvent::Started { rung, at_ms } => {
                let i = slot(&mut entries, *rung);
                entries[i].0.phase = Phase::Running;
                entries[i].1 = Some(*at_ms);
            }
            RungEvent::Finished {
                rung,
                status,
                duration_ms,
                reason,
            } => {
                let i = slot(&mut entries, *rung);
                entries[i].0.phase = Phase::from(*status);
                entries[i].0.duration_ms = Some(*duration_ms);
                entries[i].0.reason = reason.clone();
            }
        }
    }
    entries
        .into_iter()
        .map(|(mut entry, started)| {
            if let (Phase::Running, Some(at)) = (entry.phase, started) {
                entry.duration_ms = Some(now_ms.saturating_sub(at));
            }
            entry
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use Rung::*;

    fn started(rung: Rung, at_ms: u64) -> RungEvent {
        RungEvent::Started { rung, at_ms }
    }

    fn finished(rung: Rung, status: RungStatus, duration_ms: u64) -> RungEvent {
        RungEvent::Finished {
            rung,
            status,
            duration_ms,
            reason: (status != RungStatus::Pass).then(|| format!("{rung} said why")),
        }
    }

    fn planned(rungs: &[Rung]) -> RungEvent {
        RungEvent::Planned {
            rungs: rungs.to_vec(),
        }
    }

    /// `(rung, phase, duration)` for each entry of the timeline at t = 10 000 ms.
    fn check(events: &[RungEvent], expect: &[(Rung, Phase, Option<u64>)]) {
        let got: Vec<_> = timeline(events, 10_000)
            .into_iter()
            .map(|e| (e.rung, e.phase, e.duration_ms))
            .collect();
        assert_eq!(got, expect, "events: {events:?}");
    }

    #[test]
    fn the_timeline_folds_the_events() {
        use Phase as P;
        use RungStatus as S;
        let ladder = [Install, Upgrade, BackupRestore, Functional];
        check(&[], &[]);
        check(
            &[planned(&ladder)],
            &[
                (Install, P::Pending, None),
                (Upgrade, P::Pending, None),
                (BackupRestore, P::Pending, None),
                (Functional, P::Pending, None),
            ],
        );
        // A running rung's duration is the time so far.
        check(
            &[planned(&ladder[..2]), started(Install, 4_000)],
            &[
                (Install, P::Running, Some(6_000)),
                (Upgrade, P::Pending, None),
            ],
        );
        check(
            &[
                planned(&ladder[..3]),
                started(Install, 1_000),
                finished(Install, S::Pass, 2_500),
                started(Upgrade, 3_500),
                finished(Upgrade, S::Fail, 1_200),
            ],
            &[
                (Install, P::Pass, Some(2_500)),
                (Upgrade, P::Fail, Some(1_200)),
                (BackupRestore, P::Pending, None),
            ],
        );
        // The final account (skips, the lint) fills in and appends; a restated rung keeps
        // its place.
        check(
            &[
                planned(&ladder[..2]),
                started(Install, 1_000),
                finished(Install, S::Pass, 2_500),
                finished(Install, S::Pass, 2_500),
                finished(Upgrade, S::Skip, 0),
                finished(Lint, S::Pass, 300),
            ],
            &[
                (Install, P::Pass, Some(2_500)),
                (Upgrade, P::Skip, Some(0)),
                (Lint, P::Pass, Some(300)),
            ],
        );
        // A start the clock says is in the future reads as 0, never a panic.
        check(
            &[started(Functional, 20_000)],
            &[(Functional, P::Running, Some(0))],
        );
    }

    #[test]
    fn events_round_trip_and_a_half_written_line_is_left_out() {
        let events = vec![
            planned(&[Install, Upgrade]),
            started(Install, 12),
            finished(Install, RungStatus::Fail, 34),
        ];
        let mut text: String = events
            .iter()
            .map(|e| serde_json::to_string(e).unwrap() + "\n")
            .collect();
        assert!(text.starts_with(r#"{"event":"planned","rungs":["install","upgrade"]}"#));
        text.push_str(r#"{"event":"started","ru"#);
        assert_eq!(parse_events(&text), events);
    }
}
