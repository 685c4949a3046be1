//! Retention's adapter: measures this host's run directories (`runs_dir/<run id>/`), asks
//! the pure planner ([`ccci_core::retention::plan`]) which go, removes them and appends
//! each removal to `rig.state_dir/retention.jsonl`, which the dashboard reads. Run by the
//! janitor's sweep. The job rows stay (history); only the directories go.
//!
//! **Invariant:** never a queued or running run's directory, never a recipe's newest
//! finished run, its newest green one or the first red after it (the planner's rules); a
//! directory whose run the store does not know is left alone (not this service's to judge).

use crate::app::App;
use crate::job::{now_millis, JobId, JobState, Millis};
use ccci_core::retention::{self, Removal, RunDir};
use serde::{Deserialize, Serialize};
use std::io::Write as _;
use std::path::{Path, PathBuf};

/// The log of removals, one JSON object a line, in `rig.state_dir`.
pub const LOG_FILE: &str = "retention.jsonl";

/// One run directory removed by retention.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Removed {
    pub id: JobId,
    pub recipe: String,
    pub bytes: u64,
    /// Why, in words: `older than 30 days`, `runs over 20.0 GB`.
    pub reason: String,
    /// When (Unix ms).
    pub at: Millis,
    pub host: String,
}

/// One sweep: removes what the limits say; returns what it removed (nothing when both
/// limits are off).
pub async fn sweep(app: &App) -> anyhow::Result<Vec<Removed>> {
    let limits = app.config.retention;
    if limits.is_off() {
        return Ok(Vec::new());
    }
    let runs_dir = app.config.runs_dir.clone();
    let sizes = tokio::task::spawn_blocking(move || dir_sizes(&runs_dir)).await?;
    let mut dirs = Vec::new();
    for (id, bytes) in sizes {
        let Some(job) = app.store.job(id).await? else {
            continue;
        };
        let finished_at = match job.state {
            JobState::Done | JobState::Superseded => job.finished_at,
            JobState::Queued | JobState::Running => None,
        };
        dirs.push(RunDir {
            id,
            recipe: job.request.recipe,
            finished_at,
            bytes,
            green: job.end == Some(ccci_core::run_end::RunEnd::GREEN),
        });
    }
    let now = now_millis();
    let plan = retention::plan(&dirs, &limits, now);
    if plan.is_empty() {
        return Ok(Vec::new());
    }
    let runs_dir = app.config.runs_dir.clone();
    let log = app.config.rig.state_dir.join(LOG_FILE);
    let host = app.config.host_id.clone();
    let removed =
        tokio::task::spawn_blocking(move || remove(&runs_dir, &log, &host, plan, now)).await?;
    Ok(removed)
}

/// Each `runs_dir/<run id>/` and the bytes of the files under it.
fn dir_sizes(runs_dir: &Path) -> Vec<(JobId, u64)> {
    let Ok(entries) = std::fs::read_dir(runs_dir) else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
        .filter_map(|e| {
            let id = e.file_name().to_str()?.parse::<JobId>().ok()?;
            Some((id, tree_bytes(&e.path())))
        })
        .collect()
}

/// The bytes of the regular files under `dir` (symbolic links are not followed).
fn tree_bytes(dir: &Path) -> u64 {
    let mut total = 0;
    let mut stack = vec![dir.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            match entry.file_type() {
                Ok(t) if t.is_dir() => stack.push(entry.path()),
                Ok(t) if t.is_file() => total += entry.metadata().map_or(0, |m| m.len()),
                _ => {}
            }
        }
    }
    total
}

/// Removes the planned directories and logs each one removed; a directory that cannot be
/// removed is reported and tried again next sweep.
fn remove(
    runs_dir: &Path,
    log: &Path,
    host: &str,
    plan: Vec<Removal>,
    now: Millis,
) -> Vec<Removed> {
    let mut removed = Vec::new();
    for planned in plan {
        let dir: PathBuf = runs_dir.join(planned.id.to_string());
        if let Err(e) = std::fs::remove_dir_all(&dir) {
            tracing::warn!("retention: cannot remove {}: {e}", dir.display());
            continue;
        }
        let entry = Removed {
            id: planned.id,
            recipe: planned.recipe,
            bytes: planned.bytes,
            reason: planned.reason.to_string(),
            at: now,
            host: host.to_string(),
        };
        if let Err(e) = append(log, &entry) {
            tracing::warn!("retention: cannot log to {}: {e}", log.display());
        }
        removed.push(entry);
    }
    removed
}

fn append(log: &Path, entry: &Removed) -> std::io::Result<()> {
    if let Some(parent) = log.parent() {
        std::fs::create_dir_all(parent)?;
    }
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)?;
    let line = serde_json::to_string(entry).map_err(std::io::Error::other)?;
    writeln!(file, "{line}")
}

/// Every removal logged in `state_dir`, oldest first; an unreadable log or line reads as
/// none.
pub fn read_log(state_dir: &Path) -> Vec<Removed> {
    std::fs::read_to_string(state_dir.join(LOG_FILE))
        .unwrap_or_default()
        .lines()
        .filter_map(|line| serde_json::from_str(line).ok())
        .collect()
}
