//! The active-run registry: one JSON file per live app, written *before* the app exists on
//! the engine and removed after teardown. The janitor reads it to tell a live run's app
//! (never touched) from a dead run's leftovers (reaped).

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActiveRun {
    pub run_id: String,
    pub domain: String,
    pub stack: String,
    pub recipe: String,
    pub pid: u32,
    /// The owner's process start time (clock ticks since boot, from /proc), so a recycled
    /// pid is not mistaken for the owner.
    pub pid_start: Option<u64>,
    /// Unix seconds.
    pub started_at: i64,
    /// Where the run keeps its working files (checkout, env), removed by the janitor.
    #[serde(default)]
    pub work_dir: Option<PathBuf>,
    /// The run's realm in the shared Keycloak, when it has one (SSO dependencies).
    #[serde(default)]
    pub realm: Option<String>,
    /// `--keep`: the run ended RED and left its app deployed until then (Unix seconds).
    /// Once set, the run is over and its owner no longer counts (the service's runs share
    /// its process): until then the app is live to the janitor, after it the janitor
    /// removes it all. Written (atomically) before the owner exits, so a run killed before
    /// it is written is reaped as a dead run's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kept_until: Option<i64>,
}

pub fn dir(state_dir: &Path) -> PathBuf {
    state_dir.join("active")
}

fn path_of(state_dir: &Path, stack: &str) -> PathBuf {
    dir(state_dir).join(format!("{stack}.json"))
}

pub fn register(state_dir: &Path, run: &ActiveRun) -> Result<()> {
    let dir = dir(state_dir);
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let path = path_of(state_dir, &run.stack);
    let tmp = path.with_extension("json.tmp");
    std::fs::write(&tmp, serde_json::to_vec_pretty(run)?)
        .with_context(|| format!("writing {}", tmp.display()))?;
    std::fs::rename(&tmp, &path).with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}

pub fn unregister(state_dir: &Path, stack: &str) {
    let _ = std::fs::remove_file(path_of(state_dir, stack));
}

pub fn list(state_dir: &Path) -> Vec<ActiveRun> {
    let Ok(entries) = std::fs::read_dir(dir(state_dir)) else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter(|e| e.path().extension().is_some_and(|x| x == "json"))
        .filter_map(|e| serde_json::from_slice(&std::fs::read(e.path()).ok()?).ok())
        .collect()
}

/// Is the run's app live at `now` (Unix seconds): its run in flight, or kept until later?
pub fn is_live(run: &ActiveRun, now: i64) -> bool {
    in_flight(run) || is_kept(run, now)
}

/// Is the run still running: its owner alive and the run not ended keeping its app?
pub fn in_flight(run: &ActiveRun) -> bool {
    run.kept_until.is_none() && owner_alive(run)
}

/// Is the run's app kept for debugging at `now` (its `kept_until` still ahead)?
pub fn is_kept(run: &ActiveRun, now: i64) -> bool {
    run.kept_until.is_some_and(|until| until > now)
}

/// The apps kept for debugging at `now` in this state dir (each holds a slot).
pub fn kept(state_dir: &Path, now: i64) -> Vec<ActiveRun> {
    list(state_dir)
        .into_iter()
        .filter(|run| is_kept(run, now))
        .collect()
}

/// This process's start time in clock ticks since boot (field 22 of /proc/<pid>/stat).
pub fn process_start(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name may contain spaces; fields resume after the last ')'.
    let rest = &stat[stat.rfind(')')? + 2..];
    rest.split_whitespace().nth(19)?.parse().ok()
}

/// Is the run's owner still alive (same pid *and* same start time)?
pub fn owner_alive(run: &ActiveRun) -> bool {
    match (process_start(run.pid), run.pid_start) {
        (Some(now), Some(then)) => now == then,
        (Some(_), None) => true,
        (None, _) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn register_list_unregister() {
        let dir = std::env::temp_dir().join(format!("ccci-reg-{}", std::process::id()));
        let run = ActiveRun {
            run_id: "r1".into(),
            domain: "fixt-abcdef.ci.local".into(),
            stack: "fixt-abcdef_ci_local".into(),
            recipe: "fixture-web".into(),
            pid: std::process::id(),
            pid_start: process_start(std::process::id()),
            started_at: 0,
            work_dir: None,
            realm: None,
            kept_until: None,
        };
        register(&dir, &run).unwrap();
        assert_eq!(list(&dir), vec![run.clone()]);
        assert!(owner_alive(&run));
        let dead = ActiveRun {
            pid_start: run.pid_start.map(|s| s + 1),
            ..run.clone()
        };
        assert!(!owner_alive(&dead));
        // Kept: live to the janitor until its time, whoever owns it.
        let kept_run = ActiveRun {
            kept_until: Some(1_000),
            ..dead.clone()
        };
        assert!(is_live(&kept_run, 999) && is_kept(&kept_run, 999));
        assert!(!is_live(&kept_run, 1_000) && !is_kept(&kept_run, 1_000));
        // The service's runs share its process: a kept entry's living owner does not count.
        let kept_by_a_live_owner = ActiveRun {
            kept_until: Some(1_000),
            ..run.clone()
        };
        assert!(!in_flight(&kept_by_a_live_owner) && in_flight(&run));
        assert!(!is_live(&kept_by_a_live_owner, 1_000));
        assert!(is_live(&run, 5_000) && !is_kept(&run, 5_000));
        register(&dir, &kept_run).unwrap();
        assert_eq!(kept(&dir, 999), vec![kept_run.clone()]);
        assert!(kept(&dir, 1_000).is_empty());
        unregister(&dir, &run.stack);
        assert!(list(&dir).is_empty());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
