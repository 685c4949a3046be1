//! When is a stack converged, and when is it broken? Pure rules over what the engine
//! reported (docs/behaviour.md §4). The engine adapter turns swarm services and tasks into
//! [`ServiceState`]s; everything here is a function of those snapshots and a clock reading.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Swarm's `UpdateStatus.State` of a service.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UpdateState {
    None,
    Updating,
    Paused,
    Completed,
    RollbackStarted,
    RollbackPaused,
    RollbackCompleted,
}

impl UpdateState {
    /// Only an update swarm is actively driving blocks convergence. `paused` and
    /// `rollback_paused` persist until the next update: waiting on them would hang forever.
    pub fn in_flight(self) -> bool {
        matches!(self, UpdateState::Updating | UpdateState::RollbackStarted)
    }

    pub fn parse(s: &str) -> UpdateState {
        match s {
            "updating" => UpdateState::Updating,
            "paused" => UpdateState::Paused,
            "completed" => UpdateState::Completed,
            "rollback_started" => UpdateState::RollbackStarted,
            "rollback_paused" => UpdateState::RollbackPaused,
            "rollback_completed" => UpdateState::RollbackCompleted,
            _ => UpdateState::None,
        }
    }
}

/// Swarm's task states, in lifecycle order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TaskPhase {
    New,
    Pending,
    Assigned,
    Accepted,
    Preparing,
    Ready,
    Starting,
    Running,
    Complete,
    Shutdown,
    Failed,
    Rejected,
    Remove,
    Orphaned,
}

impl TaskPhase {
    pub fn parse(s: &str) -> TaskPhase {
        match s {
            "new" => TaskPhase::New,
            "pending" => TaskPhase::Pending,
            "assigned" => TaskPhase::Assigned,
            "accepted" => TaskPhase::Accepted,
            "preparing" => TaskPhase::Preparing,
            "ready" => TaskPhase::Ready,
            "starting" => TaskPhase::Starting,
            "running" => TaskPhase::Running,
            "complete" => TaskPhase::Complete,
            "shutdown" => TaskPhase::Shutdown,
            "failed" => TaskPhase::Failed,
            "rejected" => TaskPhase::Rejected,
            "remove" => TaskPhase::Remove,
            _ => TaskPhase::Orphaned,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ServiceMode {
    Replicated,
    Global,
    ReplicatedJob,
    GlobalJob,
}

/// One swarm task as observed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskState {
    pub id: String,
    pub state: TaskPhase,
    pub desired: TaskPhase,
    /// The task's `Status.Err`.
    #[serde(default)]
    pub error: Option<String>,
    #[serde(default)]
    pub exit_code: Option<i64>,
    /// `Status.Timestamp`, milliseconds since the epoch.
    pub at_ms: i64,
    /// The task runs the service's current spec (not a leftover of the previous one).
    pub current: bool,
    /// The container's health (`State.Health.Status`); `None` without a healthcheck or
    /// before a container exists.
    #[serde(default)]
    pub health: Option<Health>,
    /// When the task's container started (`State.StartedAt`), ms since the epoch.
    #[serde(default)]
    pub started_ms: Option<i64>,
    /// Whether the container has opened a listening TCP socket; `None` when it cannot be
    /// seen (a remote engine, no container yet).
    #[serde(default)]
    pub listening: Option<bool>,
}

/// A container's health, as its healthcheck reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Health {
    Starting,
    Healthy,
    Unhealthy,
}

impl TaskState {
    /// The task ended badly: failed (non-zero exit, OOM, health), rejected, or completed
    /// with a non-zero exit code. `shutdown` is an ordinary replacement, not a failure.
    pub fn is_failure(&self) -> bool {
        if self.stopped_cleanly_by_swarm() {
            return false;
        }
        matches!(self.state, TaskPhase::Failed | TaskPhase::Rejected)
            || (self.state == TaskPhase::Complete && self.exit_code.is_some_and(|c| c != 0))
    }

    /// Swarm was stopping the task (a redeploy, a restart) and its process exited 0, but
    /// the engine marked it failed while cleaning up (Engine 20.10: "error while removing
    /// network"). The app did not fall over.
    fn stopped_cleanly_by_swarm(&self) -> bool {
        self.state == TaskPhase::Failed
            && self.exit_code == Some(0)
            && self.desired == TaskPhase::Shutdown
    }
}

/// One swarm service and its tasks, as observed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceState {
    /// The short name inside the stack (`app`), not `<stack>_app`.
    pub name: String,
    pub mode: ServiceMode,
    /// For replicated services the replicas asked for; for global ones the tasks swarm
    /// wants (`ServiceStatus.DesiredTasks`).
    pub desired: u64,
    pub update: UpdateState,
    /// `restart_policy.condition` is `none`: a failed task is never replaced.
    pub no_restart: bool,
    pub tasks: Vec<TaskState>,
    /// When swarm started the service's current update or rollback (`UpdateStatus`).
    #[serde(default)]
    pub update_started_ms: Option<i64>,
    /// Swarm's message about it ("update rolled back due to failure …").
    #[serde(default)]
    pub update_message: Option<String>,
    /// The services this one names in compose `depends_on` (swarm ignores it; cc-ci uses
    /// it to tell a dependency's failure from its dependent's).
    #[serde(default)]
    pub depends_on: Vec<String>,
}

impl ServiceState {
    pub fn running_current(&self) -> u64 {
        self.tasks
            .iter()
            .filter(|t| t.current && t.state == TaskPhase::Running)
            .count() as u64
    }

    /// A task of this service that ended badly. For a long-running service a task that
    /// *completed* is one too, even with exit code 0: it was meant to keep running (a
    /// container killed as unhealthy that exits cleanly on SIGTERM ends up `complete`).
    pub fn task_failed(&self, t: &TaskState) -> bool {
        t.is_failure() || (!self.is_one_shot() && t.state == TaskPhase::Complete)
    }

    /// One-shot services whose tasks exit 0 by design are exempt from "stays up".
    pub fn is_one_shot(&self) -> bool {
        matches!(
            self.mode,
            ServiceMode::ReplicatedJob | ServiceMode::GlobalJob
        ) || self.no_restart
            || (self.mode == ServiceMode::Replicated && self.desired == 0)
    }

    /// Converged: the replicas asked for are running the current spec and swarm is not
    /// driving an update. N/N alone is not enough: right after a redeploy the old task still
    /// runs while a stop-first update has not started; it is not `current`.
    pub fn converged(&self) -> bool {
        if self.update.in_flight() {
            return false;
        }
        match self.mode {
            // A one-shot (`restart_policy: none`) is done when its current tasks completed
            // cleanly: a migration still running is not done.
            ServiceMode::Replicated if self.no_restart && self.desired > 0 => {
                let current = || self.tasks.iter().filter(|t| t.current);
                let done = current()
                    .filter(|t| t.state == TaskPhase::Complete && t.exit_code.unwrap_or(0) == 0)
                    .count() as u64;
                done >= self.desired && current().all(|t| t.state >= TaskPhase::Complete)
            }
            ServiceMode::Replicated | ServiceMode::Global => self.running_current() >= self.desired,
            // Jobs converge when their tasks ran to completion.
            ServiceMode::ReplicatedJob | ServiceMode::GlobalJob => self
                .tasks
                .iter()
                .filter(|t| t.current)
                .all(|t| t.state == TaskPhase::Complete),
        }
    }

    /// A line for progress output and time-out messages.
    pub fn describe(&self) -> String {
        let mut s = format!(
            "{}: {}/{} running",
            self.name,
            self.running_current(),
            self.desired
        );
        if self.update != UpdateState::None {
            s.push_str(&format!(", update {:?}", self.update).to_lowercase());
        }
        let newest = self
            .tasks
            .iter()
            .filter(|t| t.current)
            .max_by_key(|t| t.at_ms);
        if let Some(t) = newest {
            s.push_str(&format!(", newest task {:?}", t.state).to_lowercase());
            if let Some(err) = &t.error {
                s.push_str(&format!(" ({err})"));
            }
        }
        s
    }
}

/// When repeated failures mean "broken", not "starting".
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CrashLoopPolicy {
    /// This many failed tasks ...
    pub failures: usize,
    /// ... inside this window, with no replica running, is a crash loop.
    pub window_ms: i64,
    /// How long a service without a healthcheck counts as "still starting" after its
    /// container started, unless it is seen listening on a TCP port sooner (suite
    /// `start_grace`).
    pub start_grace_ms: i64,
    /// Observations are a poll apart: a failure this close to the last moment another
    /// service was seen starting happened while it was starting.
    pub slack_ms: i64,
    /// A service that failed must show it stays up before the stack counts as converged: a
    /// task without a healthcheck that is not seen listening proves it by running this much
    /// longer than its failed tasks ran (at most the start grace).
    pub recover_ms: i64,
}

impl Default for CrashLoopPolicy {
    fn default() -> Self {
        CrashLoopPolicy {
            failures: 3,
            window_ms: 120_000,
            start_grace_ms: 120_000,
            slack_ms: 3_000,
            recover_ms: 10_000,
        }
    }
}

/// Why a service is judged broken.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Broken {
    pub service: String,
    pub reason: String,
    pub task_error: Option<String>,
    pub exit_code: Option<i64>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Judgement {
    Converged,
    /// Still on its way; each line says what a service last showed.
    Waiting(Vec<String>),
    Broken(Broken),
}

/// What earlier observations of a stack showed that one snapshot cannot: when each
/// service was last seen still starting, and which tasks had been up (healthy, or past
/// their start). Feed it every observation, in order ([`History::judge`]).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct History {
    /// Service → the last observation (ms) at which it was still starting, with no failure
    /// of its own: it may excuse any service's failures (patience).
    starting_seen_ms: BTreeMap<String, i64>,
    /// Service → the last observation (ms) at which it was starting again after failures of
    /// its own: it excuses only the services that declare they depend on it.
    restarting_seen_ms: BTreeMap<String, i64>,
    /// Task id → when its container started, for tasks seen up.
    up: BTreeMap<String, i64>,
    /// When cc-ci last deployed the stack: a rollback swarm starts after it is the deploy's.
    deployed_at_ms: Option<i64>,
}

/// The failures of `svc`'s current spec inside the crash-loop window.
pub fn recent_failures(
    svc: &ServiceState,
    now_ms: i64,
    policy: CrashLoopPolicy,
) -> Vec<&TaskState> {
    svc.tasks
        .iter()
        .filter(|t| t.current && svc.task_failed(t) && now_ms - t.at_ms <= policy.window_ms)
        .collect()
}

/// Is `svc` still coming up, as of `now_ms`? A running task whose healthcheck still says
/// `starting`; without a healthcheck, a task younger than the start grace that has not
/// been seen listening; a task not yet running (created, preparing); a one-shot still at
/// work. A service that is failing itself (as many failures as a crash loop) is not
/// starting, so two failing services never excuse each other.
pub fn still_starting(svc: &ServiceState, now_ms: i64, policy: CrashLoopPolicy) -> bool {
    if recent_failures(svc, now_ms, policy).len() >= policy.failures {
        return false;
    }
    let young = |t: &TaskState| now_ms - t.started_ms.unwrap_or(t.at_ms) < policy.start_grace_ms;
    svc.tasks
        .iter()
        .filter(|t| t.current && t.desired == TaskPhase::Running)
        .any(|t| match t.state {
            TaskPhase::Running if svc.is_one_shot() => true,
            TaskPhase::Running => match t.health {
                Some(Health::Starting) => true,
                Some(_) => false,
                None => young(t) && t.listening != Some(true),
            },
            s if s < TaskPhase::Running => young(t),
            _ => false,
        })
}

/// Did its healthcheck end this container: as many consecutive failed checks as the
/// healthcheck's `retries` (the engine's default, 3, when unset or 0)? The engine marks
/// every stopped container with a healthcheck `unhealthy`, even one whose process exited
/// on its own before a check failed (failing streak 0): that one crashed.
pub fn stopped_by_healthcheck(failing_streak: i64, retries: Option<i64>) -> bool {
    let retries = retries.filter(|r| *r > 0).unwrap_or(3);
    failing_streak >= retries
}

/// Has this running task been up: healthy, or (without a healthcheck) listening or past
/// the start grace?
fn is_up(t: &TaskState, now_ms: i64, policy: CrashLoopPolicy) -> bool {
    t.state == TaskPhase::Running
        && match t.health {
            Some(h) => h == Health::Healthy,
            None => {
                t.listening == Some(true)
                    || now_ms - t.started_ms.unwrap_or(t.at_ms) >= policy.start_grace_ms
            }
        }
}

impl History {
    /// cc-ci (re)deployed the stack at `now_ms`.
    pub fn deployed(&mut self, now_ms: i64) {
        self.deployed_at_ms = Some(now_ms);
    }

    /// Swarm rolled back an update cc-ci deployed (`failure_action: rollback`), or paused it
    /// (`failure_action: pause`, swarm's default): the update failed. Either is final until
    /// the next update — a paused update never goes on by itself, so waiting for it would
    /// hold the run for its whole DEPLOY_TIMEOUT. The evidence is the newest failed task of
    /// the spec swarm rolled back from (or of the paused spec itself).
    pub fn rolled_back(&self, services: &[ServiceState], slack_ms: i64) -> Option<Broken> {
        let deployed = self.deployed_at_ms?;
        let svc = services.iter().find(|s| {
            matches!(
                s.update,
                UpdateState::Paused
                    | UpdateState::RollbackStarted
                    | UpdateState::RollbackPaused
                    | UpdateState::RollbackCompleted
            ) && s
                .update_started_ms
                .is_some_and(|at| at + slack_ms >= deployed)
        })?;
        let paused = svc.update == UpdateState::Paused;
        let failed = svc
            .tasks
            .iter()
            .filter(|t| t.current == paused && svc.task_failed(t) && t.at_ms + slack_ms >= deployed)
            .max_by_key(|t| t.at_ms);
        if paused && !self.pause_is_final(svc, services, slack_ms) {
            return None;
        }
        let previous_runs = svc
            .tasks
            .iter()
            .any(|t| !t.current && t.state == TaskPhase::Running);
        let what_swarm_did = if paused && previous_runs {
            "swarm paused it (failure_action: pause), leaving the previous version running"
        } else if paused {
            "swarm paused it (failure_action: pause); no task of the previous version runs, \
             and swarm only restarts the failing new one"
        } else {
            "swarm rolled it back to the previous version"
        };
        Some(Broken {
            service: svc.name.clone(),
            reason: format!(
                "the update of service {} failed and {what_swarm_did}{}{}",
                svc.name,
                failed
                    .map(|t| format!(": the new task {}", self.ended_in_update(t)))
                    .unwrap_or_default(),
                svc.update_message
                    .as_deref()
                    .map(|m| format!(" (swarm: {m})"))
                    .unwrap_or_default()
            ),
            task_error: failed.and_then(|t| t.error.clone()),
            exit_code: failed.and_then(|t| t.exit_code),
        })
    }

    /// Swarm paused the update of `svc` after cc-ci's deploy; is it a failed update? A
    /// paused update goes on only when someone tells swarm to, whatever the restart policy
    /// does with the new task (`any` restarts one its healthcheck stopped; one that exits
    /// non-zero is restarted too). So it is final once a task of the new spec, failed after
    /// the deploy and not excused by a dependency still starting, was stopped by its
    /// healthcheck (it never turned healthy, or failed its checks: a restart waits out the
    /// start period again for the same end), whatever its exit code; or once two such tasks
    /// failed. One crash on its own is the restart's to fix (a first start that migrates
    /// and exits once): 1/1 healthy with a paused flag is converged (rule 1).
    fn pause_is_final(&self, svc: &ServiceState, services: &[ServiceState], slack_ms: i64) -> bool {
        let Some(deployed) = self.deployed_at_ms else {
            return false;
        };
        let failures: Vec<&TaskState> = svc
            .tasks
            .iter()
            .filter(|t| t.current && svc.task_failed(t) && t.at_ms + slack_ms >= deployed)
            .filter(|t| !self.excused(svc, t, services, slack_ms))
            .collect();
        failures.len() >= 2 || failures.iter().any(|t| t.health == Some(Health::Unhealthy))
    }

    /// How a task of a failed update ended. A task swarm stopped because its healthcheck
    /// failed exits as its process does on SIGTERM, often with 0: "exited with code 0" would
    /// hide why the update failed, so the health says it, and whether the task had ever
    /// been healthy (a head whose app never turns healthy within its start period).
    fn ended_in_update(&self, t: &TaskState) -> String {
        if t.health == Some(Health::Unhealthy) && !self.up.contains_key(&t.id) {
            return format!(
                "never turned healthy: its healthcheck still failed after the start period, \
                 so swarm stopped it{}",
                t.exit_code
                    .map(|c| format!(" (exit code {c})"))
                    .unwrap_or_default()
            );
        }
        ended(t)
    }

    /// Records what this observation shows about starting services and tasks that are up.
    pub fn observe(&mut self, services: &[ServiceState], now_ms: i64, policy: CrashLoopPolicy) {
        for svc in services {
            if still_starting(svc, now_ms, policy) {
                let seen = if recent_failures(svc, now_ms, policy).is_empty() {
                    &mut self.starting_seen_ms
                } else {
                    &mut self.restarting_seen_ms
                };
                seen.insert(svc.name.clone(), now_ms);
            }
            for t in svc.tasks.iter().filter(|t| is_up(t, now_ms, policy)) {
                self.up
                    .entry(t.id.clone())
                    .or_insert(t.started_ms.unwrap_or(t.at_ms));
            }
        }
    }

    /// Was `failure` of `svc` patience: did it happen while another service of the stack
    /// (not one that depends on `svc`) was still starting? A service that is failing itself
    /// excuses no one but the services that declare they depend on it (`depends_on`): two
    /// failing services never excuse each other, and a service never excuses itself.
    fn excused(
        &self,
        svc: &ServiceState,
        failure: &TaskState,
        services: &[ServiceState],
        slack_ms: i64,
    ) -> bool {
        services
            .iter()
            .filter(|d| d.name != svc.name && !d.depends_on.contains(&svc.name))
            .filter_map(|d| {
                let restarting = svc
                    .depends_on
                    .contains(&d.name)
                    .then(|| self.restarting_seen_ms.get(&d.name))
                    .flatten();
                self.starting_seen_ms.get(&d.name).max(restarting)
            })
            .any(|seen| failure.at_ms <= seen + slack_ms)
    }

    /// "Stays up": a task of a long-running service that had been up and then failed.
    pub fn fell_after_up(&self, services: &[ServiceState]) -> Option<Broken> {
        services
            .iter()
            .filter(|s| !s.is_one_shot())
            .flat_map(|s| s.tasks.iter().map(move |t| (s, t)))
            .filter(|(s, t)| s.task_failed(t))
            .filter_map(|(s, t)| Some((s, t, *self.up.get(&t.id)?)))
            .min_by_key(|(_, t, _)| t.at_ms)
            .map(|(s, t, started)| Broken {
                service: s.name.clone(),
                reason: format!(
                    "service {} stopped after it was up: its task ran {} s, then {}",
                    s.name,
                    (t.at_ms - t.started_ms.unwrap_or(started)).max(0) / 1000,
                    ended(t)
                ),
                task_error: t.error.clone(),
                exit_code: t.exit_code,
            })
    }

    /// Is this service crash-looping, counting only failures that were not patience?
    pub fn crash_loop(
        &self,
        svc: &ServiceState,
        services: &[ServiceState],
        now_ms: i64,
        policy: CrashLoopPolicy,
    ) -> Option<Broken> {
        let failures = recent_failures(svc, now_ms, policy);
        let newest = failures.iter().max_by_key(|t| t.at_ms)?;
        let broken = |reason: String| Broken {
            service: svc.name.clone(),
            reason,
            task_error: newest.error.clone(),
            exit_code: newest.exit_code,
        };
        // A rejected task (missing image, missing secret, bad mount) will not fix itself.
        if newest.state == TaskPhase::Rejected && svc.running_current() == 0 {
            return Some(broken(format!(
                "service {} cannot start: task rejected",
                svc.name
            )));
        }
        if svc.no_restart {
            return Some(broken(format!(
                "service {} {} and its restart policy is `none`",
                svc.name,
                ended(newest)
            )));
        }
        let counted = failures
            .iter()
            .filter(|t| !self.excused(svc, t, services, policy.slack_ms))
            .count();
        if counted >= policy.failures && svc.running_current() == 0 {
            return Some(failing(svc, &failures, policy));
        }
        None
    }

    /// Has `svc` failed and not yet shown that it stays up? A long-running service with
    /// failures of its current spec in the window is not converged until a running task of
    /// it is up: healthy, listening, or (quiet, without a healthcheck) running
    /// `recover_ms` longer than its failed tasks ran, at most the start grace. Otherwise a
    /// service that exits at every start reads as converged in each moment it runs.
    fn unproven(&self, svc: &ServiceState, now_ms: i64, policy: CrashLoopPolicy) -> Option<String> {
        let failures = recent_failures(svc, now_ms, policy);
        if failures.is_empty() || svc.is_one_shot() {
            return None;
        }
        let ran = |t: &TaskState| t.at_ms - t.started_ms.unwrap_or(t.at_ms);
        let proof_ms = (failures.iter().map(|t| ran(t)).max().unwrap_or(0) + policy.recover_ms)
            .min(policy.start_grace_ms);
        let proven = svc
            .tasks
            .iter()
            .filter(|t| t.current && t.state == TaskPhase::Running)
            .any(|t| {
                self.up.contains_key(&t.id)
                    || is_up(t, now_ms, policy)
                    || (t.health.is_none() && now_ms - t.started_ms.unwrap_or(t.at_ms) >= proof_ms)
            });
        let newest = failures.iter().max_by_key(|t| t.at_ms)?;
        (!proven).then(|| {
            format!(
                "{}: {} failure(s) in {} s (the last {}); waiting until a task stays up",
                svc.name,
                failures.len(),
                policy.window_ms / 1000,
                ended(newest)
            )
        })
    }

    /// The cause of a crash loop, on the evidence the run has, whichever service reached the
    /// failure count first (`None` while no service is broken). Of every service failing
    /// now (broken, or failed lately and not up again), the cause is, in this order: one another failing service declares it depends on
    /// (`depends_on`); one that the log tails of other failing services name (`logs`:
    /// service → its log lines; an app that exits saying it cannot reach `db`); one never
    /// seen up; one whose tasks lived shortest; then the first. The message names every
    /// other failing service and why it is not the cause.
    pub fn the_cause(
        &self,
        services: &[ServiceState],
        now_ms: i64,
        policy: CrashLoopPolicy,
        logs: &BTreeMap<String, Vec<String>>,
    ) -> Option<Broken> {
        let broken: Vec<Broken> = services
            .iter()
            .filter_map(|s| self.crash_loop(s, services, now_ms, policy))
            .collect();
        if broken.is_empty() {
            return None;
        }
        // Failing now: broken, or failed lately and not up again (a database that failed
        // once and runs healthy since is no cause, whatever the app's log says of it).
        let up_again = |s: &ServiceState| {
            s.tasks
                .iter()
                .any(|t| t.current && t.state == TaskPhase::Running && self.up.contains_key(&t.id))
        };
        let failing: Vec<&ServiceState> = services
            .iter()
            .filter(|s| {
                broken.iter().any(|b| b.service == s.name)
                    || (!recent_failures(s, now_ms, policy).is_empty() && !up_again(s))
            })
            .collect();
        let named_by = |c: &ServiceState| {
            failing
                .iter()
                .filter(|o| o.name != c.name)
                .filter(|o| naming_line(logs.get(&o.name), &c.name).is_some())
                .count()
        };
        let depended_on = |c: &ServiceState| failing.iter().any(|o| o.depends_on.contains(&c.name));
        let never_up = |c: &ServiceState| !c.tasks.iter().any(|t| self.up.contains_key(&t.id));
        let longest_run = |c: &ServiceState| {
            recent_failures(c, now_ms, policy)
                .iter()
                .map(|t| t.at_ms - t.started_ms.unwrap_or(t.at_ms))
                .max()
                .unwrap_or(0)
        };
        let (_, cause) = failing.iter().enumerate().min_by_key(|(i, c)| {
            let evidence = (depended_on(c), named_by(c), never_up(c));
            (std::cmp::Reverse(evidence), longest_run(c), *i)
        })?;
        let mut found = broken
            .iter()
            .find(|b| b.service == cause.name)
            .cloned()
            .unwrap_or_else(|| failing_now(cause, now_ms, policy));
        let others: Vec<String> = failing
            .iter()
            .filter(|o| o.name != cause.name)
            .map(|o| failing_too(o, &cause.name, logs))
            .collect();
        if !others.is_empty() {
            found
                .reason
                .push_str(&format!("; failing too: {}", others.join(", ")));
        }
        Some(found)
    }

    /// The whole stack, after recording this observation: broken if a service is (the
    /// dependency first when several are), converged if all are, else waiting.
    pub fn judge(
        &mut self,
        services: &[ServiceState],
        now_ms: i64,
        policy: CrashLoopPolicy,
    ) -> Judgement {
        if services.is_empty() {
            return Judgement::Waiting(vec!["no services yet".into()]);
        }
        self.observe(services, now_ms, policy);
        if let Some(fell) = self.fell_after_up(services) {
            return Judgement::Broken(fell);
        }
        if let Some(rollback) = self.rolled_back(services, policy.slack_ms) {
            return Judgement::Broken(rollback);
        }
        if let Some(cause) = self.the_cause(services, now_ms, policy, &BTreeMap::new()) {
            return Judgement::Broken(cause);
        }
        let waiting: Vec<String> = services
            .iter()
            .filter_map(|s| match s.converged() {
                false => Some(s.describe()),
                true => self.unproven(s, now_ms, policy),
            })
            .collect();
        if waiting.is_empty() {
            Judgement::Converged
        } else {
            Judgement::Waiting(waiting)
        }
    }
}

/// A service that keeps failing, as a crash loop: how many failures in the window, whether
/// any replica runs, how the newest ended.
fn failing(svc: &ServiceState, failures: &[&TaskState], policy: CrashLoopPolicy) -> Broken {
    let newest = failures.iter().max_by_key(|t| t.at_ms);
    let how = match newest.map(|t| (t.state, t.exit_code)) {
        Some((TaskPhase::Complete, Some(0) | None)) => {
            ", each stopped (unhealthy, or exited though it should run)".to_string()
        }
        Some((_, Some(code))) => format!(", last exit code {code}"),
        _ => String::new(),
    };
    let running = match svc.running_current() {
        0 => "none running".to_string(),
        n => format!("{n} running"),
    };
    Broken {
        service: svc.name.clone(),
        reason: format!(
            "service {} is crash-looping: {} task failures in {} s, {running}{how}",
            svc.name,
            failures.len(),
            policy.window_ms / 1000
        ),
        task_error: newest.and_then(|t| t.error.clone()),
        exit_code: newest.and_then(|t| t.exit_code),
    }
}

/// [`failing`] over `svc`'s recent failures.
fn failing_now(svc: &ServiceState, now_ms: i64, policy: CrashLoopPolicy) -> Broken {
    failing(svc, &recent_failures(svc, now_ms, policy), policy)
}

/// A service failing beside the cause, and why it is not the cause.
fn failing_too(svc: &ServiceState, cause: &str, logs: &BTreeMap<String, Vec<String>>) -> String {
    if svc.depends_on.iter().any(|d| d == cause) {
        return format!("{} (which depends on {cause})", svc.name);
    }
    match naming_line(logs.get(&svc.name), cause) {
        Some(line) => format!("{} (its log names {cause}: \"{line}\")", svc.name),
        None => svc.name.clone(),
    }
}

/// The newest of `lines` (a service's log, as docker prints it) whose message names
/// `service` as a word (`db` in `cannot reach db:5432`, `postgres://u@db/x` or `stack_db`,
/// not in `fixture-db` or `dbname`), trimmed to its message and 120 characters.
pub fn naming_line<'a>(lines: Option<&'a Vec<String>>, service: &str) -> Option<&'a str> {
    let word = |c: char| c.is_ascii_alphanumeric() || c == '-' || c == '_';
    lines?
        .iter()
        .rev()
        .map(|l| log_message(l))
        .find(|m| {
            m.split(|c: char| !word(c)).any(|w| {
                w == service
                    || w.strip_suffix(service)
                        .is_some_and(|stack| stack.ends_with('_') && stack.len() > 1)
            })
        })
        .map(|m| match m.char_indices().nth(120) {
            Some((at, _)) => &m[..at],
            None => m,
        })
}

/// A log line without docker's prefix: `<time> <task>@<node> | message` → `message`.
fn log_message(line: &str) -> &str {
    match line.split_once(" | ") {
        Some((_, message)) => message.trim(),
        None => line.split_once(' ').map_or(line, |(_, m)| m).trim(),
    }
}

/// How a task ended, for messages: `exited with code 1`, `failed: <error>`.
fn ended(t: &TaskState) -> String {
    match (t.state, t.exit_code) {
        (TaskPhase::Rejected, _) => "was rejected".into(),
        // Swarm stops an unhealthy task; its exit code is only how it took the SIGTERM.
        (_, code) if t.health == Some(Health::Unhealthy) => format!(
            "failed its healthcheck and swarm stopped it{}",
            code.map(|c| format!(" (exit code {c})"))
                .unwrap_or_default()
        ),
        (_, Some(code)) => format!("exited with code {code}"),
        (TaskPhase::Complete, None) => "exited".into(),
        _ => "failed".into(),
    }
}

/// Is this service crash-looping (or failed for good), as of `now_ms`? One snapshot, no
/// history: every failure counts.
pub fn crash_loop(svc: &ServiceState, now_ms: i64, policy: CrashLoopPolicy) -> Option<Broken> {
    History::default().crash_loop(svc, std::slice::from_ref(svc), now_ms, policy)
}

/// The whole stack judged from one snapshot alone (no history of earlier observations).
pub fn judge(services: &[ServiceState], now_ms: i64, policy: CrashLoopPolicy) -> Judgement {
    History::default().judge(services, now_ms, policy)
}

/// A short excerpt of an HTTP body for a message: markup tags dropped, whitespace
/// collapsed, at most `max_chars` characters (then `…`). The caller redacts first.
pub fn body_excerpt(body: &str, max_chars: usize) -> String {
    let mut text = String::new();
    let mut in_tag = false;
    for c in body.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => {
                in_tag = false;
                text.push(' ');
            }
            _ if in_tag => {}
            _ => text.push(c),
        }
    }
    let words = text.split_whitespace().collect::<Vec<_>>().join(" ");
    match words.char_indices().nth(max_chars) {
        Some((at, _)) => format!("{}…", &words[..at]),
        None => words,
    }
}

/// The minimum uptime before GREEN: the long-running service whose newest running task
/// has been up the shortest, and how much longer it must stay up (`None` when every one
/// has reached `min_uptime_ms`). Observed from container start times, never assumed.
pub fn uptime_shortfall(
    services: &[ServiceState],
    now_ms: i64,
    min_uptime_ms: i64,
) -> Option<(String, i64)> {
    services
        .iter()
        .filter(|s| !s.is_one_shot())
        .filter_map(|s| {
            let up = s
                .tasks
                .iter()
                .filter(|t| t.current && t.state == TaskPhase::Running)
                .map(|t| now_ms - t.started_ms.unwrap_or(t.at_ms))
                .min()?;
            (up < min_uptime_ms).then(|| (s.name.clone(), min_uptime_ms - up))
        })
        .max_by_key(|(_, left)| *left)
}

#[cfg(test)]
mod tests {
    use super::*;
    use TaskPhase::*;

    fn task(state: TaskPhase, current: bool, at_ms: i64) -> TaskState {
        TaskState {
            id: format!("t{at_ms}"),
            state,
            desired: if matches!(state, Running | Starting) {
                Running
            } else {
                Shutdown
            },
            error: (state == Failed).then(|| "task: non-zero exit (1)".to_string()),
            exit_code: (state == Failed).then_some(1),
            at_ms,
            current,
            health: None,
            started_ms: None,
            listening: None,
        }
    }

    fn svc(update: UpdateState, desired: u64, tasks: Vec<TaskState>) -> ServiceState {
        ServiceState {
            name: "app".into(),
            mode: ServiceMode::Replicated,
            desired,
            update,
            no_restart: false,
            tasks,
            update_started_ms: None,
            update_message: None,
            depends_on: Vec::new(),
        }
    }

    #[test]
    fn convergence_table() {
        use UpdateState as U;
        let cases: Vec<(&str, ServiceState, bool)> = vec![
            (
                "fresh 1/1",
                svc(U::None, 1, vec![task(Running, true, 1)]),
                true,
            ),
            (
                "starting (health pending)",
                svc(U::None, 1, vec![task(Starting, true, 1)]),
                false,
            ),
            ("0 replicas", svc(U::None, 0, vec![]), true),
            (
                "stale paused flag, 1/1",
                svc(U::Paused, 1, vec![task(Running, true, 1)]),
                true,
            ),
            (
                "stale rollback_paused, 1/1",
                svc(U::RollbackPaused, 1, vec![task(Running, true, 1)]),
                true,
            ),
            (
                "completed update",
                svc(
                    U::Completed,
                    1,
                    vec![task(Running, true, 2), task(Shutdown, false, 1)],
                ),
                true,
            ),
            (
                "rollback completed",
                svc(U::RollbackCompleted, 1, vec![task(Running, true, 2)]),
                true,
            ),
            (
                "updating",
                svc(U::Updating, 1, vec![task(Running, true, 2)]),
                false,
            ),
            (
                "rollback started",
                svc(U::RollbackStarted, 1, vec![task(Running, true, 2)]),
                false,
            ),
            // Right after a redeploy: the old task still shows 1/1, the stop-first update
            // has not started and UpdateStatus is not set yet.
            (
                "redeploy not started: old task 1/1",
                svc(U::None, 1, vec![task(Running, false, 1)]),
                false,
            ),
            (
                "2 of 3",
                svc(
                    U::None,
                    3,
                    vec![
                        task(Running, true, 1),
                        task(Running, true, 2),
                        task(Starting, true, 3),
                    ],
                ),
                false,
            ),
        ];
        for (name, s, want) in cases {
            assert_eq!(s.converged(), want, "{name}: {}", s.describe());
        }
    }

    #[test]
    fn jobs_converge_on_completion() {
        let mut s = svc(UpdateState::None, 1, vec![task(Complete, true, 1)]);
        s.mode = ServiceMode::ReplicatedJob;
        assert!(s.converged());
        s.tasks = vec![task(Running, true, 1)];
        assert!(!s.converged());
    }

    #[test]
    fn crash_loop_table() {
        let p = CrashLoopPolicy::default();
        let now = 100_000;
        let cases: Vec<(&str, ServiceState, bool)> = vec![
            (
                "one failure is not a loop",
                svc(
                    UpdateState::None,
                    1,
                    vec![task(Failed, true, now - 1000), task(Starting, true, now)],
                ),
                false,
            ),
            (
                "three failures, none running",
                svc(
                    UpdateState::None,
                    1,
                    vec![
                        task(Failed, true, now - 9000),
                        task(Failed, true, now - 5000),
                        task(Failed, true, now - 1000),
                    ],
                ),
                true,
            ),
            (
                "three failures but a replica runs",
                svc(
                    UpdateState::None,
                    2,
                    vec![
                        task(Failed, true, now - 9000),
                        task(Failed, true, now - 5000),
                        task(Failed, true, now - 1000),
                        task(Running, true, now - 20000),
                    ],
                ),
                false,
            ),
            (
                "old failures outside the window",
                svc(
                    UpdateState::None,
                    1,
                    vec![
                        task(Failed, true, now - 500_000),
                        task(Failed, true, now - 400_000),
                        task(Failed, true, now - 300_000),
                    ],
                ),
                false,
            ),
            (
                "failures of the previous spec do not count",
                svc(
                    UpdateState::None,
                    1,
                    vec![
                        task(Failed, false, now - 9000),
                        task(Failed, false, now - 5000),
                        task(Failed, false, now - 1000),
                    ],
                ),
                false,
            ),
        ];
        for (name, s, want) in cases {
            assert_eq!(crash_loop(&s, now, p).is_some(), want, "{name}");
        }
    }

    #[test]
    fn a_long_running_task_that_completes_counts_as_a_failure() {
        let now = 100_000;
        let done = |at| {
            let mut t = task(Complete, true, at);
            t.exit_code = Some(0);
            t
        };
        let s = svc(
            UpdateState::None,
            1,
            vec![done(now - 9000), done(now - 5000), done(now - 1000)],
        );
        assert!(crash_loop(&s, now, CrashLoopPolicy::default()).is_some());
        let mut job = s.clone();
        job.mode = ServiceMode::ReplicatedJob;
        assert!(crash_loop(&job, now, CrashLoopPolicy::default()).is_none());
    }

    #[test]
    fn rejected_and_no_restart_fail_at_once() {
        let now = 10_000;
        let mut rejected = task(Rejected, true, now);
        rejected.error = Some("No such image: nope:1".into());
        let s = svc(UpdateState::None, 1, vec![rejected]);
        let broken = crash_loop(&s, now, CrashLoopPolicy::default()).unwrap();
        assert_eq!(broken.task_error.as_deref(), Some("No such image: nope:1"));

        let mut once = svc(UpdateState::None, 1, vec![task(Failed, true, now)]);
        once.no_restart = true;
        assert!(crash_loop(&once, now, CrashLoopPolicy::default()).is_some());
    }

    #[test]
    fn judge_reports_what_it_waits_for() {
        let services = vec![svc(UpdateState::Updating, 1, vec![task(Starting, true, 1)])];
        match judge(&services, 10, CrashLoopPolicy::default()) {
            Judgement::Waiting(lines) => {
                assert_eq!(
                    lines,
                    vec!["app: 0/1 running, update updating, newest task starting"]
                )
            }
            other => panic!("expected waiting, got {other:?}"),
        }
    }

    // ── Patience: a dependency still starting, over a sequence of observations ──

    fn running(
        id: &str,
        started_ms: i64,
        health: Option<Health>,
        listening: Option<bool>,
    ) -> TaskState {
        TaskState {
            id: id.into(),
            state: Running,
            desired: Running,
            error: None,
            exit_code: None,
            at_ms: started_ms,
            current: true,
            health,
            started_ms: Some(started_ms),
            listening,
        }
    }

    fn failed(id: &str, started_ms: i64, at_ms: i64) -> TaskState {
        TaskState {
            id: id.into(),
            state: Failed,
            desired: Shutdown,
            error: Some("task: non-zero exit (1)".into()),
            exit_code: Some(1),
            at_ms,
            current: true,
            health: None,
            started_ms: Some(started_ms),
            listening: None,
        }
    }

    fn named(name: &str, tasks: Vec<TaskState>, depends_on: &[&str]) -> ServiceState {
        ServiceState {
            name: name.into(),
            depends_on: depends_on.iter().map(|d| d.to_string()).collect(),
            ..svc(UpdateState::None, 1, tasks)
        }
    }

    /// An app that exits every 3 s until its dependency is ready at `ready_s` (then it
    /// runs), as swarm shows it at second `t`.
    fn waiting_app(t: i64, ready_s: Option<i64>) -> ServiceState {
        let mut tasks = Vec::new();
        let mut start = 0;
        while start < t && ready_s.is_none_or(|r| start + 1 < r) {
            tasks.push(failed(
                &format!("app{start}"),
                start * 1000,
                (start + 1) * 1000,
            ));
            start += 3;
        }
        if start <= t {
            // A start that will fail is never healthy; the one after the dependency is.
            let lasts = ready_s.is_some_and(|r| start + 1 >= r);
            let health = if lasts && t > start {
                Health::Healthy
            } else {
                Health::Starting
            };
            tasks.push(running(
                &format!("app{start}"),
                start * 1000,
                Some(health),
                None,
            ));
        }
        named("app", tasks, &["db"])
    }

    /// Replays observations one second apart and returns each judgement's kind.
    fn replay(
        seconds: std::ops::RangeInclusive<i64>,
        at: impl Fn(i64) -> Vec<ServiceState>,
    ) -> Vec<(i64, Judgement)> {
        let mut history = History::default();
        seconds
            .map(|t| {
                (
                    t,
                    history.judge(&at(t), t * 1000, CrashLoopPolicy::default()),
                )
            })
            .collect()
    }

    fn first_broken(j: &[(i64, Judgement)]) -> Option<(i64, Broken)> {
        j.iter().find_map(|(t, j)| match j {
            Judgement::Broken(b) => Some((*t, b.clone())),
            _ => None,
        })
    }

    #[test]
    fn an_app_waiting_for_a_database_without_healthcheck_is_patience_then_green() {
        // The database opens its port at 35 s; the app exits until then.
        let at = |t: i64| {
            let db = named("db", vec![running("db0", 0, None, Some(t >= 35))], &[]);
            vec![waiting_app(t, Some(36)), db]
        };
        let judged = replay(0..=45, at);
        assert_eq!(first_broken(&judged), None, "{judged:?}");
        assert_eq!(judged.last().unwrap().1, Judgement::Converged);
    }

    #[test]
    fn an_app_waiting_for_a_healthchecked_database_is_patience_then_green() {
        let at = |t: i64| {
            let health = if t >= 30 {
                Health::Healthy
            } else {
                Health::Starting
            };
            let db = named("db", vec![running("db0", 0, Some(health), None)], &[]);
            vec![waiting_app(t, Some(31)), db]
        };
        let judged = replay(0..=40, at);
        assert_eq!(first_broken(&judged), None, "{judged:?}");
        assert_eq!(judged.last().unwrap().1, Judgement::Converged);
    }

    #[test]
    fn an_app_that_keeps_failing_once_its_database_is_ready_is_red() {
        // The database is ready at 10 s; the app never recovers.
        let at = |t: i64| {
            let db = named("db", vec![running("db0", 0, None, Some(t >= 10))], &[]);
            vec![waiting_app(t, None), db]
        };
        let (t, broken) = first_broken(&replay(0..=60, at)).expect("red");
        assert_eq!(broken.service, "app");
        // Three fresh failures after the database turned ready (at 13, 16, 19 s).
        assert!((19..=22).contains(&t), "red at {t} s");
    }

    #[test]
    fn a_crash_looping_database_is_named_as_the_cause() {
        // The database exits 2 s after each start; the app, which depends on it, too.
        let at = |t: i64| {
            let mut tasks = Vec::new();
            let mut start = 0;
            while start + 2 <= t {
                tasks.push(failed(
                    &format!("db{start}"),
                    start * 1000,
                    (start + 2) * 1000,
                ));
                start += 3;
            }
            if start <= t {
                tasks.push(running(
                    &format!("db{start}"),
                    start * 1000,
                    None,
                    Some(false),
                ));
            }
            vec![waiting_app(t, None), named("db", tasks, &[])]
        };
        let (t, broken) = first_broken(&replay(0..=60, at)).expect("red");
        assert_eq!(broken.service, "db");
        assert!(broken.reason.contains("crash-looping"), "{}", broken.reason);
        assert!(
            broken.reason.contains("app (which depends on db)"),
            "{}",
            broken.reason
        );
        assert!(t <= 10, "red at {t} s");
    }

    #[test]
    fn a_dependent_still_starting_does_not_excuse_its_dependency() {
        // The app waits in-process (health starting) while its database crash-loops.
        let at = |t: i64| {
            let app = named(
                "app",
                vec![running("app0", 0, Some(Health::Starting), None)],
                &["db"],
            );
            let db_fails = (0..t / 3)
                .map(|i| failed(&format!("db{i}"), i * 3000, i * 3000 + 2000))
                .collect();
            vec![app, named("db", db_fails, &[])]
        };
        let (t, broken) = first_broken(&replay(0..=30, at)).expect("red");
        assert_eq!(broken.service, "db");
        assert!(t <= 9, "red at {t} s");
    }

    #[test]
    fn a_lone_crash_loop_is_red_at_its_third_failure() {
        let at = |t: i64| vec![named("app", waiting_app(t, None).tasks, &[])];
        let (t, broken) = first_broken(&replay(0..=30, at)).expect("red");
        assert_eq!(broken.service, "app");
        assert_eq!(t, 7);
    }

    #[test]
    fn a_silent_worker_excuses_only_until_its_start_grace() {
        // A worker without a healthcheck that never listens, beside an app that is broken.
        let at = |t: i64| {
            let worker = named("worker", vec![running("w0", 0, None, Some(false))], &[]);
            vec![named("app", waiting_app(t, None).tasks, &[]), worker]
        };
        let (t, broken) = first_broken(&replay(0..=200, at)).expect("red");
        assert_eq!(broken.service, "app");
        let grace = CrashLoopPolicy::default().start_grace_ms / 1000;
        assert!(t > grace && t <= grace + 10, "red at {t} s");
    }

    /// A service that runs `runs_s` seconds from each start and then exits 1, restarted
    /// every `every_s` seconds from `from_s`, until `ready_s` (then it keeps running), as
    /// swarm shows it at second `t`; `health`: its healthcheck, if it has one.
    fn restarting(
        name: &str,
        t: i64,
        (from_s, every_s, runs_s): (i64, i64, i64),
        ready_s: Option<i64>,
        health: Option<Health>,
    ) -> ServiceState {
        let mut tasks = Vec::new();
        let mut start = from_s;
        while start <= t {
            let id = format!("{name}{start}");
            let lasts = ready_s.is_some_and(|r| start + runs_s >= r);
            if !lasts && start + runs_s <= t {
                tasks.push(failed(&id, start * 1000, (start + runs_s) * 1000));
            } else {
                tasks.push(running(&id, start * 1000, health, Some(false)));
                break;
            }
            start += every_s;
        }
        named(name, tasks, &[])
    }

    fn web(t: i64, healthy_at_s: i64) -> ServiceState {
        let health = if t >= healthy_at_s {
            Health::Healthy
        } else {
            Health::Starting
        };
        let mut task = running("web0", 0, Some(health), None);
        if health == Health::Starting {
            // Swarm shows a task whose healthcheck has not passed yet as `starting`.
            task.state = Starting;
        }
        named("web", vec![task], &[])
    }

    #[test]
    fn a_worker_that_exits_at_every_start_beside_a_healthy_web_is_red_and_never_converged() {
        // The worker (no healthcheck) runs 1 s at each start, swarm restarts it every 3 s.
        let at = |t: i64| vec![web(t, 5), restarting("worker", t, (0, 3, 1), None, None)];
        let judged = replay(0..=60, at);
        assert!(
            !judged.iter().any(|(_, j)| *j == Judgement::Converged),
            "converged in a moment the worker ran: {judged:?}"
        );
        let (t, broken) = first_broken(&judged).expect("red");
        assert_eq!(broken.service, "worker");
        assert_eq!(broken.exit_code, Some(1));
        assert!(broken.reason.contains("crash-looping"), "{}", broken.reason);
        // Its failures while web was starting were patience; three after it are not.
        assert!(t <= 20, "red at {t} s");
    }

    #[test]
    fn a_failing_service_excuses_no_one_nor_itself() {
        // Two services failing beside each other, no depends_on: neither one's restarts are
        // "still starting" for the other, so the crash loop is found at its third failure.
        let at = |t: i64| {
            vec![
                restarting("a", t, (0, 3, 1), None, None),
                restarting("b", t, (1, 3, 1), None, None),
            ]
        };
        let (t, _) = first_broken(&replay(0..=60, at)).expect("red");
        assert!(t <= 12, "red at {t} s");
    }

    #[test]
    fn a_quiet_worker_waiting_for_its_database_is_patience_then_green() {
        // No healthcheck, no port, no depends_on: it exits every 3 s until the database
        // listens at 20 s, then runs; it must run a while before the stack converges.
        let at = |t: i64| {
            let db = named("db", vec![running("db0", 0, None, Some(t >= 20))], &[]);
            vec![
                web(t, 5),
                restarting("worker", t, (0, 3, 1), Some(21), None),
                db,
            ]
        };
        let judged = replay(0..=60, at);
        assert_eq!(first_broken(&judged), None, "{judged:?}");
        let converged = judged
            .iter()
            .find(|(_, j)| *j == Judgement::Converged)
            .map(|(t, _)| *t);
        // The worker's last start is at 21 s: up once it ran 1 s + recover_ms longer.
        assert_eq!(converged, Some(32), "{judged:?}");
    }

    /// An app beside a database that crash-loops (it exits at once), no `depends_on`; the
    /// app exits saying it cannot reach `db`. `app_from_s`: when the app's first exit is.
    fn app_and_crashing_db(t: i64, app_from_s: i64) -> Vec<ServiceState> {
        vec![
            restarting("app", t, (app_from_s, 3, 1), None, Some(Health::Starting)),
            restarting("db", t, (0, 3, 0), None, None),
        ]
    }

    fn logs() -> BTreeMap<String, Vec<String>> {
        let line = |svc: &str, m: &str| format!("2026-12-07T10:00:00.1Z st_{svc}.1@n1    | {m}");
        BTreeMap::from([
            (
                "app".to_string(),
                vec![line(
                    "app",
                    "fixture-app: cannot reach db:5432: failed to lookup address",
                )],
            ),
            (
                "db".to_string(),
                vec![line(
                    "db",
                    "fixture-app 1.2.0: fatal: CRASH_AT_START is set",
                )],
            ),
        ])
    }

    #[test]
    fn the_cause_is_the_service_the_others_logs_name_whichever_fails_first() {
        // (the app's first exit, s): the app reaching the failure count first or last.
        for app_from_s in [0, 1, 2, 5] {
            let mut history = History::default();
            let policy = CrashLoopPolicy::default();
            let (t, services) = (0..=60)
                .map(|t| (t, app_and_crashing_db(t, app_from_s)))
                .find(|(t, s)| matches!(history.judge(s, t * 1000, policy), Judgement::Broken(_)))
                .expect("red");
            let cause = history
                .the_cause(&services, t * 1000, policy, &logs())
                .expect("a cause");
            assert_eq!(
                cause.service, "db",
                "app from {app_from_s} s: {}",
                cause.reason
            );
            assert!(cause.reason.contains("crash-looping"), "{}", cause.reason);
            assert!(
                cause.reason.contains(
                    "failing too: app (its log names db: \"fixture-app: cannot reach db:5432"
                ),
                "{}",
                cause.reason
            );
            assert!(t <= 15, "app from {app_from_s} s: red at {t} s");
        }
    }

    #[test]
    fn the_cause_without_logs_is_the_one_depended_on_else_never_up_else_shortest_lived() {
        let policy = CrashLoopPolicy::default();
        let none = BTreeMap::new();
        // (case, services at 30 s, the cause)
        let mut declared = app_and_crashing_db(30, 0);
        declared[0].depends_on = vec!["db".into()];
        let mut db_was_up = app_and_crashing_db(30, 0);
        let history_with_db_up = {
            let mut h = History::default();
            let up = running(&db_was_up[1].tasks[0].id, 0, None, Some(true));
            h.observe(&[named("db", vec![up], &[])], 0, policy);
            h
        };
        db_was_up[1].depends_on = Vec::new();
        let cases: Vec<(&str, History, Vec<ServiceState>, &str)> = vec![
            ("depends_on", History::default(), declared, "db"),
            (
                "shortest lived (db exits at once)",
                History::default(),
                app_and_crashing_db(30, 0),
                "db",
            ),
            (
                "never up (db was up once)",
                history_with_db_up,
                db_was_up,
                "app",
            ),
        ];
        for (case, history, services, want) in cases {
            let cause = history
                .the_cause(&services, 30_000, policy, &none)
                .expect(case);
            assert_eq!(cause.service, want, "{case}: {}", cause.reason);
        }
    }

    #[test]
    fn a_service_up_again_is_no_cause_whatever_the_logs_say_of_it() {
        // The app crash-loops for a reason of its own, logging its database's address at
        // every start; the database failed once and has been healthy since.
        let policy = CrashLoopPolicy::default();
        let mut history = History::default();
        let db_up = running("db1", 5_000, Some(Health::Healthy), None);
        let db = named("db", vec![failed("db0", 0, 2_000), db_up], &[]);
        history.observe(std::slice::from_ref(&db), 10_000, policy);
        let app = restarting("app", 30, (20, 3, 1), None, None);
        let logs = BTreeMap::from([(
            "app".to_string(),
            vec![
                "2026-12-07T10:00:00Z st_app.1@n1 | connecting to db:5432, then: bad config".into(),
            ],
        )]);
        let cause = history
            .the_cause(&[app, db], 30_000, policy, &logs)
            .expect("a cause");
        assert_eq!(cause.service, "app", "{}", cause.reason);
        assert!(!cause.reason.contains("failing too"), "{}", cause.reason);
    }

    #[test]
    fn a_body_excerpt_is_short_text() {
        let cases: &[(&str, usize, &str)] = &[
            ("Internal Server Error", 40, "Internal Server Error"),
            (
                "<html><body><h1>500</h1>\n  <p>db   gone</p></body></html>",
                40,
                "500 db gone",
            ),
            ("abcdefghij", 4, "abcd…"),
            ("", 10, ""),
        ];
        for (body, max, want) in cases {
            assert_eq!(body_excerpt(body, *max), *want, "{body:?}");
        }
    }

    #[test]
    fn a_log_line_names_a_service_only_as_a_word() {
        let lines = |m: &str| vec![format!("2026-12-07T10:00:00Z st_app.1@n1 | {m}")];
        // (message, service, named)
        let cases: &[(&str, &str, bool)] = &[
            ("cannot reach db:5432", "db", true),
            ("connect postgres://user@db/app failed", "db", true),
            ("no route to st_db", "db", true),
            ("fixture-db is not ready", "db", false),
            ("dbname missing", "db", false),
            ("the database is down", "db", false),
            ("fixture-app 1.2.0: fatal", "app", false),
        ];
        for (message, service, want) in cases {
            let log = lines(message);
            assert_eq!(
                naming_line(Some(&log), service).is_some(),
                *want,
                "{message:?} names {service}"
            );
        }
    }

    #[test]
    fn a_task_that_was_up_and_then_fails_is_broken_at_once() {
        // Healthy from 5 s, exits at 25 s.
        let at = |t: i64| {
            let task = if t < 25 {
                let h = if t >= 5 {
                    Health::Healthy
                } else {
                    Health::Starting
                };
                running("a0", 0, Some(h), None)
            } else {
                failed("a0", 0, 25_000)
            };
            let mut tasks = vec![task];
            if t >= 27 {
                tasks.push(running("a1", 27_000, Some(Health::Starting), None));
            }
            vec![named("app", tasks, &[])]
        };
        let (t, broken) = first_broken(&replay(0..=40, at)).expect("red");
        assert_eq!(t, 25);
        assert!(broken.reason.contains("ran 25 s"), "{}", broken.reason);
        assert_eq!(broken.exit_code, Some(1));
    }

    #[test]
    fn one_shots_converge_when_done_and_fail_at_once() {
        let mut migrate = named("migrate", vec![running("m0", 0, None, None)], &[]);
        migrate.no_restart = true;
        assert!(
            !migrate.converged(),
            "a migration still running is not done"
        );
        let mut done = failed("m0", 0, 2000);
        done.state = Complete;
        done.exit_code = Some(0);
        done.error = None;
        migrate.tasks = vec![done];
        assert!(migrate.converged());
        assert!(crash_loop(&migrate, 3000, CrashLoopPolicy::default()).is_none());
        migrate.tasks = vec![failed("m0", 0, 2000)];
        let broken = crash_loop(&migrate, 3000, CrashLoopPolicy::default()).expect("broken");
        assert!(
            broken.reason.contains("exited with code 1"),
            "{}",
            broken.reason
        );
        let mut zero = svc(UpdateState::None, 0, vec![]);
        zero.no_restart = true;
        assert!(zero.converged(), "replicas: 0");
    }

    #[test]
    fn uptime_shortfall_names_the_youngest_long_running_service() {
        let services = vec![
            named("app", vec![running("a", 10_000, None, None)], &[]),
            named("db", vec![running("d", 0, None, None)], &[]),
        ];
        assert_eq!(
            uptime_shortfall(&services, 30_000, 30_000),
            Some(("app".into(), 10_000))
        );
        assert_eq!(uptime_shortfall(&services, 40_000, 30_000), None);
    }

    #[test]
    fn a_rollback_after_our_deploy_fails_at_once_and_an_old_one_does_not() {
        let mut head_task = failed("new", 10_000, 12_000);
        head_task.current = false;
        let mut s = named(
            "app",
            vec![running("old", 0, Some(Health::Healthy), None), head_task],
            &[],
        );
        s.update = UpdateState::RollbackStarted;
        s.update_started_ms = Some(12_500);
        s.update_message =
            Some("update rolled back due to failure or early termination of task new".into());
        let mut history = History::default();
        history.deployed(10_000);
        let broken = history
            .rolled_back(std::slice::from_ref(&s), 3_000)
            .expect("rollback");
        assert!(
            broken.reason.contains("swarm rolled it back"),
            "{}",
            broken.reason
        );
        assert!(
            broken.reason.contains("exited with code 1"),
            "{}",
            broken.reason
        );
        assert_eq!(broken.exit_code, Some(1));
        // A rollback from before this deploy (a stale state) is not this deploy's.
        history.deployed(60_000);
        assert_eq!(history.rolled_back(std::slice::from_ref(&s), 3_000), None);
    }

    /// Engine 20.10: a task of the current spec that swarm stopped because its healthcheck
    /// failed, whose process exits 0 on SIGTERM, is `complete` with exit code 0, no error.
    fn stopped_unhealthy(id: &str) -> TaskState {
        let mut t = failed(id, 10_000, 70_000);
        t.state = Complete;
        t.exit_code = Some(0);
        t.error = None;
        t.health = Some(Health::Unhealthy);
        t
    }

    #[test]
    fn an_update_swarm_paused_after_our_deploy_fails_at_once_and_an_older_pause_does_not() {
        // failure_action: pause (swarm's default): the new task of the current spec failed,
        // the old task still runs, and swarm will not go on by itself.
        let head_task = stopped_unhealthy("new");
        let mut old = running("old", 0, Some(Health::Healthy), None);
        old.current = false;
        let mut s = named("app", vec![old, head_task], &[]);
        s.update = UpdateState::Paused;
        s.update_started_ms = Some(10_200);
        s.update_message =
            Some("update paused due to failure or early termination of task new".into());
        let mut history = History::default();
        history.deployed(10_000);
        let broken = history
            .rolled_back(std::slice::from_ref(&s), 3_000)
            .expect("a paused update is a failed one");
        assert_eq!(broken.service, "app");
        for want in [
            "swarm paused it",
            "never turned healthy",
            "update paused due to failure",
        ] {
            assert!(broken.reason.contains(want), "{want}: {}", broken.reason);
        }
        // A failure while another service was still starting is patience, paused or not:
        // swarm restarts the new task by its restart policy.
        let mut patient = history.clone();
        let db = named(
            "db",
            vec![running("d", 0, Some(Health::Starting), None)],
            &[],
        );
        patient.observe(
            std::slice::from_ref(&db),
            69_000,
            CrashLoopPolicy::default(),
        );
        assert_eq!(patient.rolled_back(&[s.clone(), db], 3_000), None);
        // Stopped by its healthcheck, a new task is restarted under `restart_policy: any`,
        // and one exits non-zero on SIGTERM: the update stays paused all the same, RED at
        // once (a restart waits out the start period again for the same end).
        let mut restarting = s.clone();
        restarting
            .tasks
            .push(running("newer", 71_000, Some(Health::Starting), None));
        assert!(history.rolled_back(&[restarting], 3_000).is_some());
        let mut sigterm_exit = s.clone();
        sigterm_exit.tasks[1] = failed("new", 10_000, 70_000);
        sigterm_exit.tasks[1].health = Some(Health::Unhealthy);
        sigterm_exit.tasks[1].exit_code = Some(143);
        let broken = history.rolled_back(&[sigterm_exit], 3_000).expect("paused");
        assert!(
            broken.reason.contains("never turned healthy"),
            "{}",
            broken.reason
        );
        assert_eq!(broken.exit_code, Some(143));
        // One crash on its own (a first start that exits once) is the restart's to fix: a
        // healthy restarted task makes 1/1 with a paused flag, converged.
        let mut crashed_once = s.clone();
        crashed_once.tasks[1] = failed("new", 10_000, 12_000);
        crashed_once
            .tasks
            .push(running("newer", 15_000, Some(Health::Healthy), None));
        assert_eq!(
            history.rolled_back(std::slice::from_ref(&crashed_once), 3_000),
            None
        );
        // Twice is not once: the new spec keeps failing and nothing will resume the update.
        let mut crashed_twice = crashed_once.clone();
        crashed_twice.tasks[2] = failed("newer", 15_000, 17_000);
        let broken = history
            .rolled_back(&[crashed_twice], 3_000)
            .expect("paused");
        assert!(
            broken.reason.contains("exited with code 1"),
            "{}",
            broken.reason
        );
        // A pause left from an update before this deploy is stale: not this deploy's.
        history.deployed(60_000);
        assert_eq!(history.rolled_back(std::slice::from_ref(&s), 3_000), None);
    }

    #[test]
    fn a_container_ended_by_its_healthcheck_has_a_failing_streak_of_its_retries() {
        // (failing streak, healthcheck retries, ended by the healthcheck)
        let cases: &[(i64, Option<i64>, bool)] = &[
            (0, Some(3), false), // crashed on its own: the engine still says `unhealthy`
            (2, Some(3), false),
            (3, Some(3), true),
            (1, Some(1), true),
            (3, None, true), // the engine's default retries, 3
            (2, Some(0), false),
            (4, Some(0), true),
        ];
        for (streak, retries, want) in cases {
            assert_eq!(
                stopped_by_healthcheck(*streak, *retries),
                *want,
                "streak {streak}, retries {retries:?}"
            );
        }
    }

    #[test]
    fn a_rolled_back_task_that_swarm_stopped_as_unhealthy_says_so_not_exit_0() {
        let cases: &[(&str, bool, Option<Health>, &str)] = &[
            // (case, the task was seen up before, its last health, the reason says)
            (
                "never healthy",
                false,
                Some(Health::Unhealthy),
                "the new task never turned healthy: its healthcheck still failed after the \
                 start period, so swarm stopped it (exit code 0)",
            ),
            (
                "healthy, then unhealthy",
                true,
                Some(Health::Unhealthy),
                "the new task failed its healthcheck and swarm stopped it (exit code 0)",
            ),
            (
                "no health seen",
                false,
                None,
                "the new task exited with code 0",
            ),
        ];
        for (case, was_up, health, want) in cases {
            let mut head_task = stopped_unhealthy("new");
            head_task.current = false;
            head_task.health = *health;
            let mut history = History::default();
            history.deployed(10_000);
            if *was_up {
                let mut up = head_task.clone();
                up.state = Running;
                up.health = Some(Health::Healthy);
                history.observe(
                    &[named("app", vec![up], &[])],
                    30_000,
                    CrashLoopPolicy::default(),
                );
            }
            let mut s = named(
                "app",
                vec![running("old", 0, Some(Health::Healthy), None), head_task],
                &[],
            );
            s.update = UpdateState::RollbackCompleted;
            s.update_started_ms = Some(71_000);
            s.update_message = Some("rollback completed".into());
            let broken = history
                .rolled_back(std::slice::from_ref(&s), 3_000)
                .unwrap_or_else(|| panic!("{case}: no rollback"));
            assert_eq!(broken.service, "app", "{case}");
            assert!(broken.reason.contains(want), "{case}: {}", broken.reason);
            assert!(
                broken.reason.contains("swarm rolled it back"),
                "{case}: {}",
                broken.reason
            );
        }
    }

    #[test]
    fn an_engine_clean_up_error_while_swarm_stops_a_task_is_not_the_apps_failure() {
        let mut stopped = failed("old", 0, 30_000);
        stopped.exit_code = Some(0);
        stopped.error =
            Some("error while removing network: network x id y has active endpoints".into());
        assert!(!stopped.is_failure());
        let mut history = History::default();
        let up = running("old", 0, Some(Health::Healthy), None);
        history.judge(
            &[named("app", vec![up], &[])],
            10_000,
            CrashLoopPolicy::default(),
        );
        let services = vec![named(
            "app",
            vec![
                stopped.clone(),
                running("new", 29_000, Some(Health::Healthy), None),
            ],
            &[],
        )];
        assert_eq!(history.fell_after_up(&services), None);
        // A real crash (non-zero exit) of a task that was up still is.
        let mut crashed = stopped;
        crashed.exit_code = Some(1);
        let services = vec![named("app", vec![crashed], &[])];
        assert!(history.fell_after_up(&services).is_some());
    }
}
