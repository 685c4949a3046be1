//! When is a stack converged, and when is it broken? Pure rules over what the engine
//! reported (SPEC §3). The engine adapter turns swarm services and tasks into
//! [`ServiceState`]s; everything here is a function of those snapshots and a clock reading.

use serde::{Deserialize, Serialize};

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
}

impl TaskState {
    /// The task ended badly: failed (non-zero exit, OOM, health), rejected, or completed
    /// with a non-zero exit code. `shutdown` is an ordinary replacement, not a failure.
    pub fn is_failure(&self) -> bool {
        matches!(self.state, TaskPhase::Failed | TaskPhase::Rejected)
            || (self.state == TaskPhase::Complete && self.exit_code.is_some_and(|c| c != 0))
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
}

impl Default for CrashLoopPolicy {
    fn default() -> Self {
        CrashLoopPolicy {
            failures: 3,
            window_ms: 120_000,
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

/// Is this service crash-looping (or failed for good), as of `now_ms`?
pub fn crash_loop(svc: &ServiceState, now_ms: i64, policy: CrashLoopPolicy) -> Option<Broken> {
    let failures: Vec<&TaskState> = svc
        .tasks
        .iter()
        .filter(|t| t.current && svc.task_failed(t) && now_ms - t.at_ms <= policy.window_ms)
        .collect();
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
            "service {} failed and its restart policy is `none`",
            svc.name
        )));
    }
    if failures.len() >= policy.failures && svc.running_current() == 0 {
        let how = match (newest.state, newest.exit_code) {
            (TaskPhase::Complete, Some(0) | None) => {
                ", each stopped (unhealthy, or exited though it should run)".to_string()
            }
            (_, Some(code)) => format!(", last exit code {code}"),
            _ => String::new(),
        };
        return Some(broken(format!(
            "service {} is crash-looping: {} task failures in {} s, none running{how}",
            svc.name,
            failures.len(),
            policy.window_ms / 1000
        )));
    }
    None
}

/// The whole stack: broken if any service is, converged if all are, else waiting.
pub fn judge(services: &[ServiceState], now_ms: i64, policy: CrashLoopPolicy) -> Judgement {
    if services.is_empty() {
        return Judgement::Waiting(vec!["no services yet".into()]);
    }
    for svc in services {
        if let Some(broken) = crash_loop(svc, now_ms, policy) {
            return Judgement::Broken(broken);
        }
    }
    let waiting: Vec<String> = services
        .iter()
        .filter(|s| !s.converged())
        .map(ServiceState::describe)
        .collect();
    if waiting.is_empty() {
        Judgement::Converged
    } else {
        Judgement::Waiting(waiting)
    }
}

/// "Stays up": task failures of long-running services since `since_ms` (readiness).
/// One-shot services are exempt.
pub fn failures_since(services: &[ServiceState], since_ms: i64) -> Vec<Broken> {
    services
        .iter()
        .filter(|s| !s.is_one_shot())
        .flat_map(|s| {
            s.tasks
                .iter()
                .filter(move |t| s.task_failed(t) && t.at_ms > since_ms)
                .map(move |t| Broken {
                    service: s.name.clone(),
                    reason: format!(
                        "service {} had a task fail after it was ready{}",
                        s.name,
                        t.exit_code
                            .map(|c| format!(" (exit code {c})"))
                            .unwrap_or_default()
                    ),
                    task_error: t.error.clone(),
                    exit_code: t.exit_code,
                })
        })
        .collect()
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

    #[test]
    fn stays_up_counts_failures_after_readiness_only() {
        let ready_at = 50;
        let mut services = vec![svc(
            UpdateState::None,
            1,
            vec![task(Failed, false, 10), task(Running, true, 40)],
        )];
        assert!(failures_since(&services, ready_at).is_empty());
        services[0].tasks.push(task(Failed, true, 75));
        let failures = failures_since(&services, ready_at);
        assert_eq!(failures.len(), 1);
        assert!(failures[0].reason.contains("after it was ready"));
        // One-shot helpers are exempt.
        services[0].mode = ServiceMode::ReplicatedJob;
        assert!(failures_since(&services, ready_at).is_empty());
    }
}
