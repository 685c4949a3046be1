//! Swarm services and their tasks, observed and mapped into the core's view
//! ([`ServiceState`]): what readiness, convergence and crash-loop rules judge.

use super::{stack_filter, Engine};
use anyhow::{Context, Result};
use bollard::models::{MountType, Service, ServiceSpecMode, Task, TaskSpec};
use bollard::query_parameters::{ListServicesOptions, ListTasksOptions};
use ccci_core::readiness::{
    stopped_by_healthcheck, Health, ServiceMode, ServiceState, TaskPhase, TaskState, UpdateState,
};
use ccci_core::volumes::Mounted;
use std::collections::HashMap;

impl Engine {
    /// Services of a stack, keyed by their short name.
    pub async fn observe_stack(&self, stack: &str) -> Result<Vec<ServiceState>> {
        let services = self
            .docker
            .list_services(Some(ListServicesOptions {
                filters: Some(stack_filter(stack)),
                status: Some(true),
            }))
            .await
            .with_context(|| format!("listing services of stack {stack}"))?;
        let mut states = Vec::new();
        for service in services {
            let Some(id) = service.id.clone() else {
                continue;
            };
            let tasks = self
                .docker
                .list_tasks(Some(ListTasksOptions {
                    filters: Some(HashMap::from([("service".to_string(), vec![id])])),
                }))
                .await
                .with_context(|| format!("listing tasks of stack {stack}"))?;
            let mut state = service_state(stack, &service, &tasks);
            self.observe_containers(&mut state, &tasks).await;
            states.push(state);
        }
        states.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(states)
    }

    /// Adds what only a task's container shows: its health, when it started and whether it
    /// listens. For tasks that are starting or running (the ones readiness asks about), and
    /// the health alone of tasks that ended (failed or completed): a task swarm stopped as
    /// unhealthy may exit 0, and only its container's health says why it ended. A container
    /// that cannot be inspected (just removed) leaves the fields unknown.
    async fn observe_containers(&self, state: &mut ServiceState, tasks: &[Task]) {
        for (seen, task) in state.tasks.iter_mut().zip(tasks) {
            let ended = matches!(seen.state, TaskPhase::Failed | TaskPhase::Complete);
            if !ended && !matches!(seen.state, TaskPhase::Starting | TaskPhase::Running) {
                continue;
            }
            let Some(status) = task
                .status
                .as_ref()
                .and_then(|s| s.container_status.as_ref())
            else {
                continue;
            };
            let Some(id) = status.container_id.as_deref().filter(|id| !id.is_empty()) else {
                continue;
            };
            let Ok(container) = self.docker.inspect_container(id, None).await else {
                continue;
            };
            let container_state = container.state.unwrap_or_default();
            if ended {
                // The engine marks every stopped container with a healthcheck `unhealthy`,
                // even one whose process exited on its own before any check failed: only
                // a failing streak that reached the retries is a healthcheck's doing.
                let streak = container_state
                    .health
                    .as_ref()
                    .and_then(|h| h.failing_streak)
                    .unwrap_or(0);
                let retries = container
                    .config
                    .as_ref()
                    .and_then(|c| c.healthcheck.as_ref())
                    .and_then(|h| h.retries);
                seen.health = stopped_by_healthcheck(streak, retries).then_some(Health::Unhealthy);
                continue;
            }
            seen.health = container_state.health.and_then(|h| h.status).and_then(|s| {
                match s.to_string().as_str() {
                    "starting" => Some(Health::Starting),
                    "healthy" => Some(Health::Healthy),
                    "unhealthy" => Some(Health::Unhealthy),
                    _ => None,
                }
            });
            seen.started_ms = container_state
                .started_at
                .as_deref()
                .and_then(|t| {
                    time::OffsetDateTime::parse(t, &time::format_description::well_known::Rfc3339)
                        .ok()
                })
                .map(|t| millis(Some(&t)))
                .filter(|ms| *ms > 0);
            seen.listening = crate::procnet::listening(status.pid.unwrap_or(0), id);
        }
    }

    /// The volumes the stack's services mount, from their specs (what their tasks get):
    /// service, path and the engine's volume name.
    pub async fn volume_mounts(&self, stack: &str) -> Result<Vec<Mounted>> {
        let services = self
            .docker
            .list_services(Some(ListServicesOptions {
                filters: Some(stack_filter(stack)),
                status: Some(false),
            }))
            .await
            .with_context(|| format!("listing services of stack {stack}"))?;
        let mut out = Vec::new();
        for service in services {
            let spec = service.spec.unwrap_or_default();
            let full = spec.name.unwrap_or_default();
            let name = full.strip_prefix(&format!("{stack}_")).unwrap_or(&full);
            let mounts = spec
                .task_template
                .and_then(|t| t.container_spec)
                .and_then(|c| c.mounts)
                .unwrap_or_default();
            for mount in mounts {
                if mount.typ != Some(MountType::VOLUME) {
                    continue;
                }
                if let (Some(volume), Some(target)) = (mount.source, mount.target) {
                    out.push(Mounted {
                        service: name.to_string(),
                        target,
                        volume,
                    });
                }
            }
        }
        out.sort();
        Ok(out)
    }

    /// The images the running tasks of a stack run, by service short name (the task's own
    /// `ContainerSpec.Image`: swarm pins the digest it resolved). Services with no running
    /// task map to an empty list.
    pub async fn running_images(
        &self,
        stack: &str,
    ) -> Result<std::collections::BTreeMap<String, Vec<String>>> {
        let (tasks, services) = self.tasks_and_services(stack).await?;
        let mut images = std::collections::BTreeMap::new();
        for service in services {
            let (Some(id), Some(name)) = (
                service.id.clone(),
                service.spec.as_ref().and_then(|s| s.name.clone()),
            ) else {
                continue;
            };
            let short = name
                .strip_prefix(&format!("{stack}_"))
                .unwrap_or(&name)
                .to_string();
            let running: Vec<String> = tasks
                .iter()
                .filter(|t| t.service_id.as_deref() == Some(id.as_str()))
                .filter(|t| {
                    t.status
                        .as_ref()
                        .and_then(|s| s.state)
                        .is_some_and(|s| s.to_string() == "running")
                })
                .filter_map(|t| t.spec.as_ref()?.container_spec.as_ref()?.image.clone())
                .collect();
            images.insert(short, running);
        }
        Ok(images)
    }

    /// A deploy label of a service (`Spec.Labels`), if set.
    pub async fn service_label(&self, service: &str, label: &str) -> Result<Option<String>> {
        let svc = self
            .docker
            .inspect_service(service, None)
            .await
            .with_context(|| format!("inspecting service {service}"))?;
        Ok(svc
            .spec
            .and_then(|s| s.labels)
            .and_then(|mut l| l.remove(label)))
    }
}

fn millis(date: Option<&time::OffsetDateTime>) -> i64 {
    date.map(|d| (d.unix_timestamp_nanos() / 1_000_000) as i64)
        .unwrap_or(0)
}

/// Maps one engine service and its tasks into the core's view.
fn service_state(stack: &str, service: &Service, tasks: &[Task]) -> ServiceState {
    let spec = service.spec.clone().unwrap_or_default();
    let full_name = spec.name.clone().unwrap_or_default();
    let name = full_name
        .strip_prefix(&format!("{stack}_"))
        .unwrap_or(&full_name)
        .to_string();
    let mode_spec = spec.mode.clone().unwrap_or_default();
    let mode = service_mode(&mode_spec);
    let update_status = service.update_status.clone().unwrap_or_default();
    let template = spec.task_template.clone().unwrap_or_default();
    let no_restart = template
        .restart_policy
        .as_ref()
        .and_then(|r| r.condition)
        .is_some_and(|c| c.to_string() == "none");
    ServiceState {
        name,
        mode,
        desired: desired_tasks(service, mode, mode_spec),
        update: update_status
            .state
            .map(|s| UpdateState::parse(s.as_ref()))
            .unwrap_or(UpdateState::None),
        no_restart,
        tasks: tasks.iter().map(|t| task_state(t, &template)).collect(),
        update_started_ms: update_status
            .started_at
            .as_ref()
            .map(|t| millis(Some(t)))
            .filter(|ms| *ms > 0),
        update_message: update_status.message.filter(|m| !m.is_empty()),
        depends_on: Vec::new(),
    }
}

fn service_mode(mode_spec: &ServiceSpecMode) -> ServiceMode {
    if mode_spec.global.is_some() {
        ServiceMode::Global
    } else if mode_spec.replicated_job.is_some() {
        ServiceMode::ReplicatedJob
    } else if mode_spec.global_job.is_some() {
        ServiceMode::GlobalJob
    } else {
        ServiceMode::Replicated
    }
}

/// How many tasks the service wants: its replicas, or for global services and jobs what
/// the swarm says it wants.
fn desired_tasks(service: &Service, mode: ServiceMode, mode_spec: ServiceSpecMode) -> u64 {
    match mode {
        ServiceMode::Replicated => mode_spec
            .replicated
            .and_then(|r| r.replicas)
            .unwrap_or(1)
            .max(0) as u64,
        _ => service
            .service_status
            .as_ref()
            .and_then(|s| s.desired_tasks)
            .unwrap_or(1),
    }
}

/// One task as the core sees it; what only its container shows is added by
/// [`Engine::observe_containers`].
fn task_state(task: &Task, template: &TaskSpec) -> TaskState {
    let status = task.status.clone().unwrap_or_default();
    TaskState {
        id: task.id.clone().unwrap_or_default(),
        state: status
            .state
            .map(|s| TaskPhase::parse(&s.to_string()))
            .unwrap_or(TaskPhase::New),
        desired: task
            .desired_state
            .map(|s| TaskPhase::parse(&s.to_string()))
            .unwrap_or(TaskPhase::Running),
        error: status.err.filter(|e| !e.is_empty()),
        exit_code: status
            .container_status
            .and_then(|c| c.exit_code)
            .filter(|c| *c != 0 || status.state.is_some()),
        at_ms: millis(status.timestamp.as_ref()),
        current: task
            .spec
            .as_ref()
            .is_some_and(|s| runs_template(s, template)),
        health: None,
        started_ms: None,
        listening: None,
    }
}

/// Does a task run the service's current template? The daemon fills defaults into specs at
/// different times, so whole specs differ spuriously; compare what a redeploy changes.
fn runs_template(task: &TaskSpec, template: &TaskSpec) -> bool {
    fn key(spec: &TaskSpec) -> serde_json::Value {
        let c = spec.container_spec.clone().unwrap_or_default();
        let mut env = c.env.unwrap_or_default();
        env.sort();
        let secrets: Vec<_> = c
            .secrets
            .unwrap_or_default()
            .into_iter()
            .map(|s| (s.secret_name, s.file.and_then(|f| f.name)))
            .collect();
        let configs: Vec<_> = c
            .configs
            .unwrap_or_default()
            .into_iter()
            .map(|s| (s.config_name, s.file.and_then(|f| f.name)))
            .collect();
        let mounts: Vec<_> = c
            .mounts
            .unwrap_or_default()
            .into_iter()
            .map(|m| (m.source, m.target))
            .collect();
        serde_json::json!({
            "image": c.image,
            "env": env,
            "args": c.args,
            "command": c.command,
            "secrets": secrets,
            "configs": configs,
            "mounts": mounts,
            "force": spec.force_update,
        })
    }
    key(task) == key(template)
}
