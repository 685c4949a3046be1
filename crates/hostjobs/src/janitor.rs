//! Host hygiene (docs/behaviour.md §8): the janitor reaps what dead runs left (pruning the disk is
//! [`ccci_adapters::prune`]).
//!
//! Janitor rule for each cc-ci stack (a stack under the CI domain, never a warm canonical
//! nor a live-warm app listed in `live-warm.toml`):
//! owner alive → never touched; kept for debugging (`--keep`, `kept_until` ahead) → never
//! touched, whether or not its owner lives; its keep over → reaped; owner dead → reaped now;
//! owner unknown (no registry entry: before the registry existed, or after a reboot wiped
//! it) → reaped once older than a limit. [`release`] removes a kept app before its time.

use anyhow::Result;
use ccci_adapters::engine::Engine;
use ccci_adapters::registry;
use ccci_adapters::teardown::teardown;
use ccci_core::keep::ReleaseError;
use ccci_runner::request::Rig;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Duration;

/// What the janitor decided about one stack.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Decision {
    /// Its run is alive: never touched.
    Live,
    /// Its run ended RED and keeps the app for debugging, this long still: never touched.
    Kept { left: Duration },
    /// Its keep is over: reaped.
    KeepOver,
    /// Its owner died: reaped.
    Dead,
    /// No owner known and older than the limit: reaped.
    UnknownOld,
    /// No owner known, still young: left for now.
    UnknownYoung,
}

/// The pure rule. `owner`: whether the registered owner lives (`None`: no registry entry);
/// `kept_left`: for an app kept with `--keep`, how long it is still kept (zero: over) —
/// it decides alone: the run that kept it is over.
pub fn decide(
    owner: Option<bool>,
    kept_left: Option<Duration>,
    age: Duration,
    unknown_after: Duration,
) -> Decision {
    match (owner, kept_left) {
        // Kept: the run is over; its owner (the service's process, or a dead CLI) no longer counts.
        (Some(_), Some(left)) if !left.is_zero() => Decision::Kept { left },
        (Some(_), Some(_)) => Decision::KeepOver,
        (Some(true), None) => Decision::Live,
        (Some(false), None) => Decision::Dead,
        (None, _) if age >= unknown_after => Decision::UnknownOld,
        (None, _) => Decision::UnknownYoung,
    }
}

/// Stacks on the engine that belong to cc-ci runs on this rig: under the CI domain, not a
/// warm canonical (`warm-<recipe>`), with their creation time (unix seconds).
async fn ci_stacks(engine: &Engine, rig: &Rig) -> Result<BTreeMap<String, i64>> {
    let suffix = format!("_{}", rig.ci_domain.replace('.', "_"));
    let mut stacks = engine.stacks_created().await?;
    stacks.retain(|stack, _| stack.ends_with(&suffix) && !stack.starts_with("warm-"));
    Ok(stacks)
}

/// Reaps leftovers of dead runs. Returns a human report, one line per stack.
pub async fn reap(rig: &Rig, unknown_after: Duration, dry_run: bool) -> Result<String> {
    let engine = Engine::connect().await?;
    let active = registry::list(&rig.state_dir);
    let mut stacks = ci_stacks(&engine, rig).await?;
    // Live-warm infra apps are long-lived by design: never reaped.
    for live in crate::livewarm::stacks(&rig.state_dir) {
        stacks.remove(&live);
    }
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let mut report = String::new();
    for (stack, created) in &stacks {
        let entry = active.iter().find(|a| &a.stack == stack);
        let owner = entry.map(registry::owner_alive);
        let kept_left = entry
            .and_then(|e| e.kept_until)
            .map(|until| Duration::from_secs(ccci_core::keep::seconds_left(until, now)));
        let age = Duration::from_secs((now - created).max(0) as u64);
        let verb = match (decide(owner, kept_left, age, unknown_after), dry_run) {
            (Decision::Live, _) => "live, left alone".to_string(),
            (Decision::Kept { left }, _) => format!(
                "kept for debugging, {} more: left alone",
                ccci_core::keep::format_keep(left)
            ),
            (Decision::UnknownYoung, _) => format!(
                "owner unknown, {} min old: left until {} min",
                age.as_secs() / 60,
                unknown_after.as_secs() / 60
            ),
            (_, true) => "would reap".to_string(),
            (Decision::Dead, false) => reap_stack(&engine, rig, stack, entry, "owner dead").await,
            (Decision::KeepOver, false) => {
                reap_stack(&engine, rig, stack, entry, "kept for debugging, time up").await
            }
            (Decision::UnknownOld, false) => {
                reap_stack(&engine, rig, stack, entry, "owner unknown, old").await
            }
        };
        let _ = writeln!(report, "{stack}: {verb}");
    }
    // Registry entries of dead owners whose stack is already gone — or is a warm canonical
    // whose seed or quick run died: put back to its known-good state, never left at a PR head.
    for entry in active {
        if stacks.contains_key(&entry.stack) || registry::in_flight(&entry) {
            continue;
        }
        let line = settle_dead_entry(&engine, rig, &entry, dry_run).await;
        let _ = writeln!(report, "{}: {line}", entry.stack);
    }
    // SSO realms of dead runs in the shared Keycloak (docs/behaviour.md §5).
    for line in ccci_adapters::keycloak::reap(rig.keycloak.as_ref(), &rig.state_dir, dry_run).await
    {
        let _ = writeln!(report, "{line}");
    }
    if report.is_empty() {
        report.push_str("nothing to reap\n");
    }
    Ok(report)
}

/// Tears a dead run's stack down and forgets its run. Returns the report's verb.
async fn reap_stack(
    engine: &Engine,
    rig: &Rig,
    stack: &str,
    entry: Option<&registry::ActiveRun>,
    why: &str,
) -> String {
    let left = teardown(engine, stack).await;
    if let Some(e) = entry {
        forget(rig, e);
    }
    if left.is_empty() {
        format!("reaped ({why})")
    } else {
        format!("reaped ({why}), but left: {}", left.describe())
    }
}

/// A dead run's registry entry whose stack is gone: removed; a warm canonical's is first put
/// back to its known-good state (kept for the next sweep when that fails). Returns the line.
async fn settle_dead_entry(
    engine: &Engine,
    rig: &Rig,
    entry: &registry::ActiveRun,
    dry_run: bool,
) -> String {
    if entry.stack.starts_with("warm-") {
        if dry_run {
            return "would put the warm canonical back to its known-good state".to_string();
        }
        return match ccci_runner::warm::recover(engine, &rig.state_dir, &entry.recipe, &entry.stack)
            .await
        {
            Ok(done) => {
                forget(rig, entry);
                format!("its run died; {done}")
            }
            Err(e) => format!(
                "its run died; recovering the canonical failed (kept for the next sweep): {e}"
            ),
        };
    }
    if dry_run {
        return "registry entry of a dead run would be removed".to_string();
    }
    forget(rig, entry);
    "registry entry of a dead run removed".to_string()
}

/// `ccci janitor --release STACK`: removes an app kept for debugging before its time, as
/// the janitor would after it (services, volumes, secrets, configs, networks, the
/// forwarder, the realm, the registry entry). Returns the report.
pub async fn release(rig: &Rig, stack: &str) -> Result<String> {
    let active = registry::list(&rig.state_dir);
    let entry = active.iter().find(|a| a.stack == stack);
    match entry {
        Some(e) if e.kept_until.is_some() => {}
        Some(e) if registry::in_flight(e) => {
            return Err(
                ccci_runner::recipe::InputError::from(ReleaseError::StillRunning {
                    stack: stack.to_string(),
                    pid: e.pid,
                })
                .into(),
            )
        }
        _ => {
            let kept: Vec<&str> = active
                .iter()
                .filter(|a| a.kept_until.is_some())
                .map(|a| a.stack.as_str())
                .collect();
            let kept = match kept.is_empty() {
                true => "none".to_string(),
                false => kept.join(", "),
            };
            let stack = stack.to_string();
            return Err(
                ccci_runner::recipe::InputError::from(ReleaseError::NotKept { stack, kept }).into(),
            );
        }
    }
    let engine = Engine::connect().await?;
    let mut report = format!(
        "{stack}: {}\n",
        reap_stack(&engine, rig, stack, entry, "kept, released").await
    );
    // Its realm: no live run matches it any more.
    for line in ccci_adapters::keycloak::reap(rig.keycloak.as_ref(), &rig.state_dir, false).await {
        let _ = writeln!(report, "{line}");
    }
    Ok(report)
}

/// Removes a run's work dir and its registry entry.
fn forget(rig: &Rig, entry: &registry::ActiveRun) {
    if let Some(dir) = &entry.work_dir {
        let _ = std::fs::remove_dir_all(dir);
    }
    registry::unregister(&rig.state_dir, &entry.stack);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn janitor_rule_table() {
        let two_h = Duration::from_secs(7200);
        let secs = Duration::from_secs;
        // (owner alive, kept for how much longer, age, decision)
        let cases = [
            (Some(true), None, 99_999, Decision::Live),
            (Some(false), None, 1, Decision::Dead),
            (None, None, 7200, Decision::UnknownOld),
            (None, None, 7199, Decision::UnknownYoung),
            // Kept: left alone after its owner exited (or was killed), until its time.
            (
                Some(false),
                Some(secs(20)),
                1,
                Decision::Kept { left: secs(20) },
            ),
            (Some(false), Some(secs(0)), 1, Decision::KeepOver),
            // The service's runs share its (living) process: the keep decides alone.
            (
                Some(true),
                Some(secs(5)),
                1,
                Decision::Kept { left: secs(5) },
            ),
            (Some(true), Some(secs(0)), 1, Decision::KeepOver),
            // No registry entry: the keep is unknown, the age rule holds.
            (None, Some(secs(20)), 7200, Decision::UnknownOld),
        ];
        for (owner, kept_left, age, want) in cases {
            assert_eq!(
                decide(owner, kept_left, secs(age), two_h),
                want,
                "{owner:?} {kept_left:?} {age}"
            );
        }
    }
}
