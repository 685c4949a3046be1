//! Freeing disk (docs/behaviour.md §8): how full the engine's disk is, and the prune.
//!
//! Prune only ever removes dangling images, stopped containers and build cache older than
//! 24 h, only when the disk is at least the threshold full and no run is in flight. Never
//! all images (the local image store is the cache) and never volumes (warm data lives there).
//! `ccci prune` runs it on demand; every run runs it first, before it registers
//! ([`prune_before_run`]), on a host at or above the rig's threshold, and says so.

use crate::engine::Engine;
use crate::registry;
use anyhow::{Context, Result};
use std::fmt::Write as _;
use std::path::Path;

/// Percentage of the filesystem holding `path` that is used.
pub fn disk_used_percent(path: &Path) -> Result<u8> {
    use std::ffi::CString;
    use std::os::unix::ffi::OsStrExt;
    let c = CString::new(path.as_os_str().as_bytes())?;
    let mut s: libc::statvfs = unsafe { std::mem::zeroed() };
    // SAFETY: `c` is a valid NUL-terminated path and `s` a valid out-pointer.
    if unsafe { libc::statvfs(c.as_ptr(), &mut s) } != 0 {
        anyhow::bail!(
            "statvfs {}: {}",
            path.display(),
            std::io::Error::last_os_error()
        );
    }
    // As df(1) counts Use%: used / (used + available to users). Blocks reserved for root or
    // held back by the filesystem count as neither.
    let used = s.f_blocks.saturating_sub(s.f_bfree) as f64;
    let avail = s.f_bavail as f64;
    if used + avail == 0.0 {
        return Ok(0);
    }
    Ok(((used / (used + avail)) * 100.0).ceil() as u8)
}

/// Why the janitor does not prune now.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PruneSkip {
    #[error("{0} run(s) in flight; not pruning")]
    RunsInFlight(usize),
    #[error("disk {used_percent}% used, below {threshold}%; nothing to do")]
    DiskBelowThreshold { used_percent: u8, threshold: u8 },
}

/// The prune gates, pure: prune only when the disk is full enough and no run is in flight.
pub fn should_prune(
    used_percent: u8,
    threshold: u8,
    runs_in_flight: usize,
) -> Result<(), PruneSkip> {
    if runs_in_flight > 0 {
        return Err(PruneSkip::RunsInFlight(runs_in_flight));
    }
    if used_percent < threshold {
        return Err(PruneSkip::DiskBelowThreshold {
            used_percent,
            threshold,
        });
    }
    Ok(())
}

/// What prune runs, in order: each step removes only what is older than 24 h (dangling
/// images included: a layer a run dangled a minute ago may still be someone's cache).
pub const PRUNE_STEPS: [&[&str]; 3] = [
    &["image", "prune", "--force", "--filter", "until=24h"],
    &["container", "prune", "--force", "--filter", "until=24h"],
    &["builder", "prune", "--force", "--filter", "until=24h"],
];

/// The engine's data root and how full its disk is, and whether the gates let a prune run
/// (`Err`: why not).
async fn prune_gate(
    engine: &Engine,
    state_dir: &Path,
    threshold: u8,
) -> Result<(u8, Result<(), PruneSkip>)> {
    let root = engine.data_root().await?;
    let used = disk_used_percent(&root)?;
    let in_flight = registry::list(state_dir)
        .iter()
        .filter(|r| registry::in_flight(r))
        .count();
    Ok((used, should_prune(used, threshold, in_flight)))
}

/// Runs (or, dry, lists) the prune steps; one report line each.
async fn prune_steps(dry_run: bool) -> Result<String> {
    let mut report = String::new();
    for args in PRUNE_STEPS {
        if dry_run {
            let _ = writeln!(report, "would run: docker {}", args.join(" "));
            continue;
        }
        let out = tokio::process::Command::new("docker")
            .args(args)
            .output()
            .await
            .with_context(|| format!("running docker {}", args.join(" ")))?;
        let _ = writeln!(
            report,
            "docker {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stdout)
                .lines()
                .last()
                .unwrap_or("done")
        );
    }
    Ok(report)
}

/// `ccci prune`: the gates, then the steps (listed only, when `dry_run`).
pub async fn prune(state_dir: &Path, threshold: u8, dry_run: bool) -> Result<String> {
    let engine = Engine::connect().await?;
    let (used, gate) = prune_gate(&engine, state_dir, threshold).await?;
    if let Err(why) = gate {
        return Ok(format!("{why}\n"));
    }
    let mut report = format!("disk {used}% used (threshold {threshold}%)\n");
    report.push_str(&prune_steps(dry_run).await?);
    Ok(report)
}

/// Before a run registers (so it is not "in flight" itself): on a host at or above the rig's
/// prune threshold, prune first. Returns the lines for the run log; none while the disk is
/// below the threshold. Never fails the run: a prune that cannot run is reported.
pub async fn prune_before_run(engine: &Engine, state_dir: &Path, threshold: u8) -> Vec<String> {
    let (used, gate) = match prune_gate(engine, state_dir, threshold).await {
        Ok(checked) => checked,
        Err(e) => return vec![format!("disk check before the run failed: {e:#}")],
    };
    let head = format!("disk {used}% used (prune threshold {threshold}%)");
    match gate {
        Err(_) if used < threshold => Vec::new(),
        Err(why) => vec![format!("{head}: {why}")],
        Ok(()) => {
            let mut lines = vec![format!(
                "{head}: pruning first (dangling images, stopped containers and build cache older than 24 h)"
            )];
            match prune_steps(false).await {
                Ok(report) => lines.extend(report.lines().map(|l| format!("   {l}"))),
                Err(e) => lines.push(format!("   prune failed: {e:#}")),
            }
            lines
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prune_gates() {
        assert!(should_prune(90, 80, 0).is_ok());
        assert!(should_prune(79, 80, 0)
            .unwrap_err()
            .to_string()
            .contains("below"));
        assert!(should_prune(95, 80, 1)
            .unwrap_err()
            .to_string()
            .contains("in flight"));
    }
}
