//! Scheduling policy: which queued job a host starts next, and what a queued job waits behind.
//!
//! **Architecture invariant:** pure. The store gathers a snapshot of the queue inside its
//! claim transaction and asks [`next_to_start`]; the dashboard and the PR comment ask
//! [`wait_reason`]. Both are tested with data tables, no database.
//!
//! The rules (docs/behaviour.md §8, §9):
//! - a host never runs more than its capacity, and an app kept for debugging (`--keep`)
//!   holds a slot of its host until the janitor removes it ([`slots_for_runs`]);
//! - two runs of one recipe never overlap, on any host (they would share a recipe's warm
//!   state and its domain prefix);
//! - the oldest *runnable* job starts first: a job whose recipe is already running is skipped,
//!   not waited on, so one slow or wedged recipe never blocks the others (no head-of-line
//!   blocking).

use crate::job::JobId;
use serde::Serialize;
use std::fmt;

/// A queued job, as the policy sees it. Order of the slice = queue order (oldest first).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Queued {
    pub id: JobId,
    pub recipe: String,
}

/// A job holding a slot on some host.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Running {
    pub id: JobId,
    pub recipe: String,
    pub host: String,
}

/// The queue as one host sees it while it claims.
#[derive(Clone, Debug, Default)]
pub struct Snapshot<'a> {
    pub queued: &'a [Queued],
    pub running: &'a [Running],
}

/// The job `host` (with `capacity` slots) should start now, if any.
pub fn next_to_start(snapshot: &Snapshot<'_>, host: &str, capacity: u32) -> Option<JobId> {
    let mine = snapshot.running.iter().filter(|r| r.host == host).count();
    if mine >= capacity as usize {
        return None;
    }
    snapshot
        .queued
        .iter()
        .find(|q| !snapshot.running.iter().any(|r| r.recipe == q.recipe))
        .map(|q| q.id)
}

/// The slots a host with `capacity` has for runs while `kept` apps (RED runs' apps kept
/// for debugging, `--keep`) stay deployed on it: each kept app holds one slot until the
/// janitor removes it.
pub fn slots_for_runs(capacity: u32, kept: usize) -> u32 {
    capacity.saturating_sub(u32::try_from(kept).unwrap_or(u32::MAX))
}

/// What a queued job waits for.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum WaitReason {
    /// A run of the same recipe holds the recipe (running, or queued ahead of it).
    BehindRun { run: JobId, recipe: String },
    /// Every slot is busy.
    NoFreeSlot { running: u32, capacity: u32 },
    /// Nothing blocks it: a host will pick it up at its next claim.
    Next,
}

impl fmt::Display for WaitReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WaitReason::BehindRun { run, recipe } => {
                write!(f, "queued behind run {run} (recipe {recipe})")
            }
            WaitReason::NoFreeSlot { running, capacity } => {
                write!(
                    f,
                    "waiting for a free slot: {running} of {capacity} running"
                )
            }
            WaitReason::Next => f.write_str("starting shortly"),
        }
    }
}

/// Why `job` has not started. `capacity` is the total over live hosts.
///
/// The answer simulates the policy: walking the queue oldest first, each job that could start
/// takes a free slot; `job` waits behind the first thing that stops it.
pub fn wait_reason(snapshot: &Snapshot<'_>, job: JobId, capacity: u32) -> Option<WaitReason> {
    let running = snapshot.running.len() as u32;
    let mut free = capacity.saturating_sub(running);
    // Recipes taken by a running job or by a job ahead in the queue that will start first.
    let mut holders: Vec<(&str, JobId)> = snapshot
        .running
        .iter()
        .map(|r| (r.recipe.as_str(), r.id))
        .collect();
    for q in snapshot.queued {
        let holder = holders.iter().find(|(recipe, _)| *recipe == q.recipe);
        if q.id == job {
            return Some(match holder {
                Some((recipe, run)) => WaitReason::BehindRun {
                    run: *run,
                    recipe: recipe.to_string(),
                },
                None if free == 0 => WaitReason::NoFreeSlot { running, capacity },
                None => WaitReason::Next,
            });
        }
        if holder.is_none() {
            // Ahead of `job` and runnable: it claims the recipe, and a slot if one is free.
            holders.push((q.recipe.as_str(), q.id));
            free = free.saturating_sub(1);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `queue` = "id:recipe ..." oldest first; `running` = "id:recipe@host ...".
    fn parse(queue: &str, running: &str) -> (Vec<Queued>, Vec<Running>) {
        let queued = queue
            .split_whitespace()
            .map(|item| {
                let (id, recipe) = item.split_once(':').unwrap();
                Queued {
                    id: id.parse().unwrap(),
                    recipe: recipe.into(),
                }
            })
            .collect();
        let running = running
            .split_whitespace()
            .map(|item| {
                let (id, rest) = item.split_once(':').unwrap();
                let (recipe, host) = rest.split_once('@').unwrap();
                Running {
                    id: id.parse().unwrap(),
                    recipe: recipe.into(),
                    host: host.into(),
                }
            })
            .collect();
        (queued, running)
    }

    #[test]
    fn next_to_start_table() {
        // (queue, running, host, capacity, expected)
        let cases: &[(&str, &str, &str, u32, Option<JobId>)] = &[
            ("", "", "a", 1, None),
            ("1:x", "", "a", 1, Some(1)),
            ("1:x 2:y", "", "a", 1, Some(1)),
            // Capacity reached on this host.
            ("2:y", "1:x@a", "a", 1, None),
            // Another host's run does not use this host's slot.
            ("2:y", "1:x@b", "a", 1, Some(2)),
            // Same recipe running elsewhere: skipped, not waited on.
            ("2:x 3:y", "1:x@b", "a", 1, Some(3)),
            // A crash-looping recipe first in the queue does not block the next recipe.
            ("2:wedged 3:wedged 4:ok", "1:wedged@a", "a", 2, Some(4)),
            // Everything queued belongs to a running recipe.
            ("2:x 3:x", "1:x@a", "a", 4, None),
            // Capacity 0 never starts anything.
            ("1:x", "", "a", 0, None),
            // Oldest first among the runnable ones.
            ("5:z 6:y 7:w", "1:x@a", "a", 3, Some(5)),
        ];
        for (queue, running, host, capacity, want) in cases {
            let (q, r) = parse(queue, running);
            let snap = Snapshot {
                queued: &q,
                running: &r,
            };
            assert_eq!(
                next_to_start(&snap, host, *capacity),
                *want,
                "queue [{queue}] running [{running}] host {host} capacity {capacity}"
            );
        }
    }

    #[test]
    fn kept_apps_hold_slots() {
        // (queue, running, capacity, kept apps on this host, expected next job)
        let cases: &[(&str, &str, u32, usize, Option<JobId>)] = &[
            ("1:x", "", 1, 0, Some(1)),
            // The only slot is held by a kept app: nothing starts until the janitor frees it.
            ("1:x", "", 1, 1, None),
            ("2:y", "", 2, 1, Some(2)),
            ("3:z", "1:x@a", 2, 1, None),
            ("3:z", "1:x@a", 3, 1, Some(3)),
            // More kept apps than slots (the capacity was lowered): none, never underflow.
            ("1:x", "", 1, 5, None),
        ];
        for (queue, running, capacity, kept, want) in cases {
            let (q, r) = parse(queue, running);
            let snap = Snapshot {
                queued: &q,
                running: &r,
            };
            let slots = slots_for_runs(*capacity, *kept);
            assert_eq!(
                next_to_start(&snap, "a", slots),
                *want,
                "queue [{queue}] running [{running}] capacity {capacity} kept {kept}"
            );
        }
    }

    #[test]
    fn wait_reason_table() {
        // (queue, running, total capacity, job, expected text)
        let cases: &[(&str, &str, u32, JobId, &str)] = &[
            ("2:x", "1:x@a", 1, 2, "queued behind run 1 (recipe x)"),
            (
                "2:y",
                "1:x@a",
                1,
                2,
                "waiting for a free slot: 1 of 1 running",
            ),
            ("2:y", "1:x@a", 2, 2, "starting shortly"),
            // Behind an older queued job of the same recipe that will start first.
            ("2:y 3:y", "", 2, 3, "queued behind run 2 (recipe y)"),
            // The older y takes the last free slot, so z waits for a slot.
            (
                "2:y 3:z",
                "1:x@a",
                2,
                3,
                "waiting for a free slot: 1 of 2 running",
            ),
            // A blocked job ahead (same recipe as a running one) takes no slot.
            ("2:x 3:z", "1:x@a", 2, 3, "starting shortly"),
            ("2:x 3:z", "1:x@a", 2, 2, "queued behind run 1 (recipe x)"),
        ];
        for (queue, running, capacity, job, want) in cases {
            let (q, r) = parse(queue, running);
            let snap = Snapshot {
                queued: &q,
                running: &r,
            };
            let got = wait_reason(&snap, *job, *capacity).map(|w| w.to_string());
            assert_eq!(
                got.as_deref(),
                Some(*want),
                "queue [{queue}] running [{running}] capacity {capacity} job {job}"
            );
        }
        let (q, r) = parse("2:x", "");
        let snap = Snapshot {
            queued: &q,
            running: &r,
        };
        assert_eq!(wait_reason(&snap, 99, 1), None, "not queued: no reason");
    }
}
