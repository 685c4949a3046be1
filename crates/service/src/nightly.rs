//! The nightly sweep run by `ccci serve` (docs/behaviour.md §6), when `[nightly] at = "HH:MM"` is set:
//! once a day, from that time (UTC) for up to [`CATCH_UP`], as soon as this host has no run
//! in flight, [`ccci_hostjobs::nightly::sweep`] runs (live-warm reconcile, cold runs of the
//! enrolled recipes, pruning).
//!
//! - **Once a day, across restarts**: the day of the slot it ran for is written to
//!   `<state_dir>/nightly.last` (atomically) *before* the sweep starts, so a restart never
//!   runs the same day's sweep twice (one cut short by a restart is not repeated; the next
//!   day's runs). A sweep that skipped itself (a run appeared) gives the day back.
//! - **Never beside a run**: deciding to sweep and the scheduler's claim are serialised by
//!   `App::sweeping`: the sweep starts only if no job is running on this host and no run is
//!   registered, and while it runs the scheduler claims nothing.
//! - **Bounded and cancellable**: the sweep gets [`SWEEP_BOUND`]; past it, or on shutdown,
//!   it is cancelled (its current run tears down) and given [`TEARDOWN_BOUND`] to end.
//!
//! [`due`] is the pure decision; everything else is I/O around it.

use crate::app::App;
use crate::scheduler::TEARDOWN_BOUND;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use time::{Date, Month, OffsetDateTime, Time};
use tokio_util::sync::CancellationToken;

/// How long after its time a day's sweep may still start (while runs are in flight, or the
/// host was down at that time). Past it, that day's sweep is missed.
pub const CATCH_UP: Duration = Duration::from_secs(6 * 60 * 60);

/// How often the loop asks whether the sweep is due.
const TICK: Duration = Duration::from_secs(30);

/// The longest a sweep may run before it is cancelled.
pub const SWEEP_BOUND: Duration = Duration::from_secs(12 * 60 * 60);

/// Whether the sweep is due at `now` (UTC) for a sweep at `at` each day, given the day of
/// the slot it last ran for. `Some(day)`: due, for the slot of that day (the latest `at` at
/// or before `now`, which is yesterday's when `now` is before `at`); `None`: not due
/// (already ran for that slot, or more than [`CATCH_UP`] past it).
pub fn due(now: OffsetDateTime, at: Time, last: Option<Date>) -> Option<Date> {
    let now = now.to_offset(time::UtcOffset::UTC);
    let today = now.date();
    let slot_day = if now.time() >= at {
        today
    } else {
        today.previous_day()?
    };
    let slot = slot_day.with_time(at).assume_utc();
    let late = now - slot;
    if late < time::Duration::ZERO || late >= CATCH_UP {
        return None;
    }
    (last != Some(slot_day)).then_some(slot_day)
}

/// Where the day of the last sweep is kept.
pub fn last_file(state_dir: &Path) -> PathBuf {
    state_dir.join("nightly.last")
}

/// The day of the last sweep's slot, if recorded and readable (`YYYY-MM-DD`).
pub fn read_last(state_dir: &Path) -> Option<Date> {
    let text = std::fs::read_to_string(last_file(state_dir)).ok()?;
    parse_day(text.trim())
}

fn parse_day(text: &str) -> Option<Date> {
    let mut parts = text.splitn(3, '-');
    let year: i32 = parts.next()?.parse().ok()?;
    let month: u8 = parts.next()?.parse().ok()?;
    let day: u8 = parts.next()?.parse().ok()?;
    Date::from_calendar_date(year, Month::try_from(month).ok()?, day).ok()
}

fn format_day(day: Date) -> String {
    format!(
        "{:04}-{:02}-{:02}\n",
        day.year(),
        u8::from(day.month()),
        day.day()
    )
}

/// Records (or, with `None`, forgets) the day of the last sweep, atomically.
fn write_last(state_dir: &Path, day: Option<Date>) -> std::io::Result<()> {
    let path = last_file(state_dir);
    match day {
        Some(day) => ccci_adapters::atomic::write_atomic(&path, format_day(day).as_bytes(), None),
        None => match std::fs::remove_file(&path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        },
    }
}

/// Why the sweep cannot take the host now.
#[derive(Debug, thiserror::Error)]
enum Busy {
    #[error("the store is unavailable: {0}")]
    StoreUnavailable(crate::store::StoreError),
    #[error("{0} run(s) of this host in flight")]
    JobsRunning(usize),
    #[error("{0} registered run(s) in flight")]
    RunsRegistered(usize),
}

/// Takes this host for the sweep if nothing runs on it: no job of this host running in the
/// store, no run in the runner's registry. Under `App::sweeping`, so no claim slips in
/// between the check and the flag. `Err`: what is in flight.
async fn begin(app: &App) -> Result<(), Busy> {
    let mut sweeping = app.sweeping.lock().await;
    let ours = crate::scheduler::held_by_this_host(app)
        .await
        .map_err(Busy::StoreUnavailable)?
        .len();
    if ours > 0 {
        return Err(Busy::JobsRunning(ours));
    }
    let state_dir = app.config.rig.state_dir.clone();
    let registered =
        tokio::task::spawn_blocking(move || ccci_hostjobs::nightly::in_flight(&state_dir).len())
            .await
            .unwrap_or(0);
    if registered > 0 {
        return Err(Busy::RunsRegistered(registered));
    }
    *sweeping = true;
    Ok(())
}

/// Gives the host back to the scheduler.
async fn end(app: &App) {
    *app.sweeping.lock().await = false;
    app.wake.notify_one();
}

/// Runs the sweep, bounded by [`SWEEP_BOUND`] and cancelled on `stop`; after a cancel it
/// gets [`TEARDOWN_BOUND`] to end, then is dropped. `None`: it did not end in time.
async fn bounded_sweep(
    app: &App,
    stop: &CancellationToken,
) -> Option<anyhow::Result<ccci_hostjobs::nightly::Summary>> {
    let cancel = stop.child_token();
    let rig = app.config.rig.clone();
    let sweep = ccci_hostjobs::nightly::sweep(&rig, cancel.clone());
    tokio::pin!(sweep);
    tokio::select! {
        result = &mut sweep => return Some(result),
        _ = stop.cancelled() => tracing::info!("nightly: shutting down: cancelling the sweep"),
        _ = tokio::time::sleep(SWEEP_BOUND) => {
            tracing::warn!("nightly: the sweep ran past {SWEEP_BOUND:?}: cancelling it");
        }
    }
    cancel.cancel();
    tokio::time::timeout(TEARDOWN_BOUND, sweep).await.ok()
}

/// At start and then every [`TICK`] until `stop`: when [`due`] and the host is free, record
/// the day and sweep.
pub async fn run(app: Arc<App>, stop: CancellationToken) {
    let Some(nightly) = app.config.nightly else {
        return;
    };
    tracing::info!(at = %nightly.at, "nightly sweep scheduled (UTC)");
    let mut waiting_logged = false;
    loop {
        tick(&app, &stop, nightly.at, &mut waiting_logged).await;
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tokio::time::sleep(TICK) => {}
        }
    }
}

/// One look at the clock; sweeps if due and the host is free.
async fn tick(app: &App, stop: &CancellationToken, at: Time, waiting_logged: &mut bool) {
    let state_dir = &app.config.rig.state_dir;
    let last = read_last(state_dir);
    let Some(day) = due(OffsetDateTime::now_utc(), at, last) else {
        *waiting_logged = false;
        return;
    };
    if let Err(busy) = begin(app).await {
        if !*waiting_logged {
            tracing::info!("nightly: due, waiting: {busy}");
            *waiting_logged = true;
        }
        return;
    }
    *waiting_logged = false;
    if let Err(e) = write_last(state_dir, Some(day)) {
        // Unrecorded, a restart could sweep twice: do not sweep.
        tracing::warn!(
            "nightly: not run: cannot write {}: {e}",
            last_file(state_dir).display()
        );
        end(app).await;
        return;
    }
    tracing::info!(%day, "nightly: sweep starts");
    match bounded_sweep(app, stop).await {
        Some(Ok(summary)) => {
            if summary.skipped.is_some() {
                // It found a run in flight after all: the day's sweep is still owed.
                if let Err(e) = write_last(state_dir, last) {
                    tracing::warn!("nightly: {e}");
                }
            }
            for line in summary.text().lines().filter(|l| !l.trim().is_empty()) {
                tracing::info!("nightly: {line}");
            }
            for error in &summary.errors {
                tracing::warn!("nightly: {error}");
            }
        }
        Some(Err(e)) => tracing::warn!("nightly: the sweep failed: {e:#}"),
        None => tracing::warn!(
            "nightly: the sweep did not end within {TEARDOWN_BOUND:?} of its cancel: abandoned (the janitor reaps what it left)"
        ),
    }
    end(app).await;
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::{date, datetime, time};

    #[test]
    fn due_once_per_slot_within_the_catch_up_window() {
        let at = time!(03:00);
        // (now UTC, last recorded slot day, the slot it is due for)
        let rows: &[(OffsetDateTime, Option<Date>, Option<Date>)] = &[
            // Before the time: yesterday's slot is long past its window.
            (datetime!(2026-11-23 02:59 UTC), None, None),
            // At the time, never run: due for today.
            (
                datetime!(2026-11-23 03:00 UTC),
                None,
                Some(date!(2026 - 11 - 23)),
            ),
            // Later that morning while runs kept it waiting: still due.
            (
                datetime!(2026-11-23 08:59 UTC),
                Some(date!(2026 - 11 - 22)),
                Some(date!(2026 - 11 - 23)),
            ),
            // Already ran today (a restart): not again.
            (
                datetime!(2026-11-23 03:01 UTC),
                Some(date!(2026 - 11 - 23)),
                None,
            ),
            // Past the catch-up window: the day is missed, not run in the evening.
            (
                datetime!(2026-11-23 09:00 UTC),
                Some(date!(2026 - 11 - 22)),
                None,
            ),
            (datetime!(2026-11-23 23:00 UTC), None, None),
            // The next day: due again.
            (
                datetime!(2026-11-24 03:00 UTC),
                Some(date!(2026 - 11 - 23)),
                Some(date!(2026 - 11 - 24)),
            ),
            // `now` in another offset is the same instant.
            (
                datetime!(2026-11-23 04:30 +01:00),
                None,
                Some(date!(2026 - 11 - 23)),
            ),
            (datetime!(2026-11-23 03:30 +01:00), None, None),
        ];
        for (now, last, want) in rows {
            assert_eq!(due(*now, at, *last), *want, "now {now}, last {last:?}");
        }
    }

    #[test]
    fn a_late_evening_slot_is_due_past_midnight_for_the_day_it_belongs_to() {
        let at = time!(22:30);
        let rows: &[(OffsetDateTime, Option<Date>, Option<Date>)] = &[
            (datetime!(2026-11-23 22:29 UTC), None, None),
            (
                datetime!(2026-11-23 22:30 UTC),
                None,
                Some(date!(2026 - 11 - 23)),
            ),
            // After midnight, still within 6 h of yesterday's slot.
            (
                datetime!(2026-11-24 04:29 UTC),
                Some(date!(2026 - 11 - 22)),
                Some(date!(2026 - 11 - 23)),
            ),
            (
                datetime!(2026-11-24 04:29 UTC),
                Some(date!(2026 - 11 - 23)),
                None,
            ),
            (datetime!(2026-11-24 04:30 UTC), None, None),
            // New year.
            (
                datetime!(2027-01-01 01:00 UTC),
                Some(date!(2026 - 12 - 30)),
                Some(date!(2026 - 12 - 31)),
            ),
        ];
        for (now, last, want) in rows {
            assert_eq!(due(*now, at, *last), *want, "now {now}, last {last:?}");
        }
    }

    #[test]
    fn the_last_day_round_trips_and_a_garbled_record_reads_as_none() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(read_last(dir.path()), None);
        write_last(dir.path(), Some(date!(2026 - 02 - 03))).unwrap();
        assert_eq!(
            std::fs::read_to_string(last_file(dir.path())).unwrap(),
            "2026-02-03\n"
        );
        assert_eq!(read_last(dir.path()), Some(date!(2026 - 02 - 03)));
        write_last(dir.path(), None).unwrap();
        assert_eq!(read_last(dir.path()), None);
        write_last(dir.path(), None).unwrap();
        for garbled in ["", "yesterday", "2026-13-01", "2026-02-30", "2026-02"] {
            std::fs::write(last_file(dir.path()), garbled).unwrap();
            assert_eq!(read_last(dir.path()), None, "{garbled:?}");
        }
    }
}
