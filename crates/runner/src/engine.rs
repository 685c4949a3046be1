//! The Docker Engine adapter: observes swarm services and tasks (bollard, with API version
//! negotiation) and manages the objects cc-ci creates beside a stack (secrets) and removes
//! after it (volumes, secrets, configs, networks).
//!
//! Stacks themselves are deployed and removed with the `docker` CLI (see [`crate::stack`]):
//! `docker stack deploy` owns compose interpretation, and no crate reimplements it.

use anyhow::{Context, Result};
use bollard::models::{SecretSpec, Service, Task, TaskSpec};
use bollard::query_parameters::{
    ListConfigsOptions, ListNetworksOptions, ListSecretsOptions, ListServicesOptions,
    ListTasksOptions, ListVolumesOptions,
};
use bollard::Docker;
use ccci_core::readiness::{Health, ServiceMode, ServiceState, TaskPhase, TaskState, UpdateState};
use ccci_core::secret::Secret;
use std::collections::HashMap;
use std::time::{Duration, Instant};

/// The label `docker stack deploy` puts on everything of a stack.
pub const STACK_LABEL: &str = "com.docker.stack.namespace";

#[derive(Clone)]
pub struct Engine {
    docker: Docker,
}

/// What is left of a stack on the engine.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StackObjects {
    pub services: Vec<String>,
    /// Swarm tasks still in the store (a removed service's tasks stay until they stop).
    pub tasks: Vec<String>,
    pub containers: Vec<String>,
    pub volumes: Vec<String>,
    pub secrets: Vec<String>,
    pub configs: Vec<String>,
    pub networks: Vec<String>,
}

impl StackObjects {
    pub fn is_empty(&self) -> bool {
        self.services.is_empty()
            && self.tasks.is_empty()
            && self.containers.is_empty()
            && self.volumes.is_empty()
            && self.secrets.is_empty()
            && self.configs.is_empty()
            && self.networks.is_empty()
    }

    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        for (kind, names) in [
            ("services", &self.services),
            ("tasks", &self.tasks),
            ("containers", &self.containers),
            ("volumes", &self.volumes),
            ("secrets", &self.secrets),
            ("configs", &self.configs),
            ("networks", &self.networks),
        ] {
            if !names.is_empty() {
                parts.push(format!("{kind}: {}", names.join(", ")));
            }
        }
        parts.join("; ")
    }
}

/// The engine as `ccci doctor` reports it.
#[derive(Clone, Debug)]
pub struct HostFacts {
    pub version: String,
    pub swarm_active: bool,
    pub manager: bool,
    /// The daemon's clock (RFC 3339).
    pub system_time: Option<String>,
}

/// What [`Engine::clear_stack`] leaves in place.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Keep {
    /// A cold run's teardown: everything goes.
    Nothing,
    /// Undeploying a warm app: its volumes and secrets stay.
    Data,
}

fn stack_filter(stack: &str) -> HashMap<String, Vec<String>> {
    HashMap::from([("label".to_string(), vec![format!("{STACK_LABEL}={stack}")])])
}

impl Engine {
    /// Connects to the local engine (DOCKER_HOST or the default socket) and negotiates the
    /// API version, so an older daemon is spoken to in its own version.
    pub async fn connect() -> Result<Engine> {
        let docker = Docker::connect_with_local_defaults()
            .context("cannot reach the Docker Engine (is it running? is DOCKER_HOST right?)")?
            .negotiate_version()
            .await
            .context("cannot negotiate an API version with the Docker Engine")?;
        Ok(Engine { docker })
    }

    pub fn docker(&self) -> &Docker {
        &self.docker
    }

    /// Fails with a clear message when the engine is not a swarm manager.
    pub async fn ensure_swarm_manager(&self) -> Result<()> {
        let info = self.docker.info().await.context("docker info failed")?;
        let swarm = info.swarm.unwrap_or_default();
        let active = swarm
            .local_node_state
            .map(|s| s.to_string() == "active")
            .unwrap_or(false);
        if !active || swarm.control_available != Some(true) {
            anyhow::bail!(
                "the Docker Engine is not a swarm manager; run `docker swarm init --advertise-addr 127.0.0.1` (or `.ci/run`, which does it)"
            );
        }
        Ok(())
    }

    /// Do service VIPs route on this engine? They need IPVS in the host's kernel; without
    /// it dockerd logs "Native loadbalancing will not work" and a VIP answers "no route to
    /// host". Seen from this host's kernel when the engine is local; a remote engine
    /// (`DOCKER_HOST` over TCP or SSH) is assumed to be a production host, where they do.
    pub fn service_vips_route(&self) -> bool {
        let local = std::env::var("DOCKER_HOST")
            .map(|h| h.is_empty() || h.starts_with("unix://"))
            .unwrap_or(true);
        !local
            || std::path::Path::new("/proc/net/ip_vs").exists()
            || std::path::Path::new("/sys/module/ip_vs").exists()
    }

    /// What `ccci doctor` asks of the engine: its version, swarm state, and clock.
    pub async fn host_facts(&self) -> Result<HostFacts> {
        let info = self.docker.info().await.context("docker info failed")?;
        let swarm = info.swarm.unwrap_or_default();
        Ok(HostFacts {
            version: info.server_version.unwrap_or_default(),
            swarm_active: swarm
                .local_node_state
                .map(|s| s.to_string() == "active")
                .unwrap_or(false),
            manager: swarm.control_available == Some(true),
            system_time: info.system_time,
        })
    }

    /// Does a network of this name exist, and is it an attachable overlay?
    pub async fn network_kind(&self, name: &str) -> Option<(String, bool)> {
        let n = self
            .docker
            .inspect_network(
                name,
                None::<bollard::query_parameters::InspectNetworkOptions>,
            )
            .await
            .ok()?;
        Some((n.driver.unwrap_or_default(), n.attachable.unwrap_or(false)))
    }

    pub async fn image_present(&self, image: &str) -> bool {
        self.docker.inspect_image(image).await.is_ok()
    }

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
    /// listens. Only for tasks that are starting or running (the ones readiness asks about);
    /// a container that cannot be inspected (just removed) leaves the fields unknown.
    async fn observe_containers(&self, state: &mut ServiceState, tasks: &[Task]) {
        for (seen, task) in state.tasks.iter_mut().zip(tasks) {
            if !matches!(seen.state, TaskPhase::Starting | TaskPhase::Running) {
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

    /// Where a volume's data lives on this host, if the volume exists.
    pub async fn volume_mountpoint(&self, volume: &str) -> Option<std::path::PathBuf> {
        let v = self.docker.inspect_volume(volume).await.ok()?;
        Some(std::path::PathBuf::from(v.mountpoint))
    }

    /// Creates an attachable overlay network the rig provides (e.g. `proxy`) if missing.
    /// It belongs to the rig, not to any stack, and is never removed by teardown.
    pub async fn ensure_rig_network(&self, name: &str) -> Result<()> {
        if self
            .docker
            .inspect_network(
                name,
                None::<bollard::query_parameters::InspectNetworkOptions>,
            )
            .await
            .is_ok()
        {
            return Ok(());
        }
        let out = tokio::process::Command::new("docker")
            .args([
                "network",
                "create",
                "--driver",
                "overlay",
                "--attachable",
                "--label",
                "ccci.rig=true",
                name,
            ])
            .output()
            .await
            .context("docker network create")?;
        let err = String::from_utf8_lossy(&out.stderr);
        if !out.status.success() && !err.contains("already exists") {
            anyhow::bail!("creating the rig network {name}: {}", err.trim());
        }
        Ok(())
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

    /// Creates a swarm secret labelled as part of the stack, so teardown finds it.
    pub async fn create_secret(&self, stack: &str, name: &str, value: &Secret) -> Result<()> {
        use base64::Engine as _;
        let spec = SecretSpec {
            name: Some(name.to_string()),
            labels: Some(HashMap::from([(
                STACK_LABEL.to_string(),
                stack.to_string(),
            )])),
            data: Some(base64::engine::general_purpose::STANDARD.encode(value.expose())),
            ..Default::default()
        };
        self.docker
            .create_secret(spec)
            .await
            .with_context(|| format!("creating secret {name}"))?;
        Ok(())
    }

    /// Everything of the stack still on the engine.
    pub async fn stack_objects(&self, stack: &str) -> Result<StackObjects> {
        let filter = stack_filter(stack);
        let services = self
            .docker
            .list_services(Some(ListServicesOptions {
                filters: Some(filter.clone()),
                status: None,
            }))
            .await?
            .into_iter()
            .filter_map(|s| s.spec?.name)
            .collect();
        let tasks = self
            .docker
            .list_tasks(Some(ListTasksOptions {
                filters: Some(filter.clone()),
            }))
            .await?
            .into_iter()
            .filter_map(|t| t.id)
            .collect();
        let containers = self
            .docker
            .list_containers(Some(bollard::query_parameters::ListContainersOptions {
                all: true,
                filters: Some(filter.clone()),
                ..Default::default()
            }))
            .await?
            .into_iter()
            .filter_map(|c| c.id)
            .collect();
        let volumes = self
            .docker
            .list_volumes(Some(ListVolumesOptions {
                filters: Some(filter.clone()),
            }))
            .await?
            .volumes
            .unwrap_or_default()
            .into_iter()
            .map(|v| v.name)
            .collect();
        let secrets = self
            .docker
            .list_secrets(Some(ListSecretsOptions {
                filters: Some(filter.clone()),
            }))
            .await?
            .into_iter()
            .filter_map(|s| s.spec?.name)
            .collect();
        let configs = self
            .docker
            .list_configs(Some(ListConfigsOptions {
                filters: Some(filter.clone()),
            }))
            .await?
            .into_iter()
            .filter_map(|c| c.spec?.name)
            .collect();
        let networks = self
            .docker
            .list_networks(Some(ListNetworksOptions {
                filters: Some(filter),
            }))
            .await?
            .into_iter()
            .filter_map(|n| n.name)
            .collect();
        Ok(StackObjects {
            services,
            tasks,
            containers,
            volumes,
            secrets,
            configs,
            networks,
        })
    }

    /// Removes a stack, bounded by `bound`, leaving what `keep` says. Returns what could not
    /// be removed (empty when clean), without what `keep` leaves.
    ///
    /// Services go first; networks and the rest only once every task of the stack is gone
    /// from the swarm and its containers are removed. Removing an overlay network while a
    /// removed service's task still shuts down races the swarm's load-balancer bookkeeping,
    /// and on Engine 20.10 that can leave the network on the node for good ("network … not
    /// found" on every later removal) — which `docker stack rm` did under load.
    pub async fn clear_stack(&self, stack: &str, keep: Keep, bound: Duration) -> StackObjects {
        /// How long a task's container may take to stop before it is force-removed (a
        /// service's default stop grace period is 10 s).
        const STOP_GRACE: Duration = Duration::from_secs(30);
        let end = Instant::now() + bound;
        // Until the engine answers, nothing is known to be clean.
        let mut last_seen = StackObjects {
            services: vec![format!("{stack} (the engine did not list it)")],
            ..Default::default()
        };
        // Clean means seen empty twice in a row: the engine removes networks and containers
        // asynchronously, and a listing that fails (a loaded daemon) proves nothing.
        let mut empty_in_a_row = 0;
        let mut stopping_since: Option<Instant> = None;
        let mut ghosts: Vec<String> = Vec::new();
        loop {
            let listed = self.stack_objects(stack).await.map(|mut o| {
                o.networks.retain(|n| !ghosts.contains(n));
                if keep == Keep::Data {
                    o.volumes.clear();
                    o.secrets.clear();
                }
                o
            });
            match listed {
                Ok(objects) if objects.is_empty() => {
                    empty_in_a_row += 1;
                    last_seen = objects;
                    if empty_in_a_row >= 2 {
                        return last_seen;
                    }
                }
                Ok(objects) => {
                    empty_in_a_row = 0;
                    if !objects.services.is_empty() {
                        self.remove_services(&objects.services).await;
                    } else if !objects.tasks.is_empty() {
                        let since = *stopping_since.get_or_insert_with(Instant::now);
                        if since.elapsed() >= STOP_GRACE {
                            self.remove_containers(&objects.containers).await;
                        }
                    } else if !objects.containers.is_empty() {
                        // The swarm has let go of its tasks: their exited containers wait
                        // only for the agent's lazy clean-up (seconds), so remove them now.
                        self.remove_containers(&objects.containers).await;
                    } else {
                        for ghost in self.remove_leftovers(&objects).await {
                            tracing::warn!(
                                "network {ghost}: the swarm has removed it but this node still \
                                 lists it (a Docker Engine bug; a daemon restart clears it)"
                            );
                            ghosts.push(ghost);
                        }
                    }
                    last_seen = objects;
                }
                Err(_) => empty_in_a_row = 0,
            }
            if Instant::now() >= end {
                return last_seen;
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }

    /// Removes services by name (a service already gone is not an error).
    async fn remove_services(&self, names: &[String]) {
        for name in names {
            let _ = self.docker.delete_service(name).await;
        }
    }

    /// Force-removes containers by id: for task containers the swarm agent has let go of
    /// but not yet removed.
    async fn remove_containers(&self, ids: &[String]) {
        for id in ids {
            let _ = self
                .docker
                .remove_container(
                    id,
                    Some(bollard::query_parameters::RemoveContainerOptions {
                        force: true,
                        v: false,
                        link: false,
                    }),
                )
                .await;
        }
    }

    /// Removes a stack's volumes, secrets, configs and networks. Call it only once the
    /// stack's tasks and containers are gone (see [`Engine::clear_stack`]); objects still in
    /// use are reported by the next [`Engine::stack_objects`].
    ///
    /// Returns the networks the engine lists but the swarm no longer knows (removal answers
    /// 404): an Engine 20.10 bug leaves such a network on the node when it was removed while
    /// a task still stopped. Nothing can remove it short of a daemon restart.
    async fn remove_leftovers(&self, objects: &StackObjects) -> Vec<String> {
        for v in &objects.volumes {
            let _ = self
                .docker
                .remove_volume(v, None::<bollard::query_parameters::RemoveVolumeOptions>)
                .await;
        }
        for s in &objects.secrets {
            let _ = self.docker.delete_secret(s).await;
        }
        for c in &objects.configs {
            let _ = self.docker.delete_config(c).await;
        }
        let mut ghosts = Vec::new();
        for n in &objects.networks {
            if let Err(bollard::errors::Error::DockerResponseServerError {
                status_code: 404, ..
            }) = self.docker.remove_network(n).await
            {
                ghosts.push(n.clone());
            }
        }
        ghosts
    }
}

fn millis(date: Option<&time::OffsetDateTime>) -> i64 {
    date.map(|d| (d.unix_timestamp_nanos() / 1_000_000) as i64)
        .unwrap_or(0)
}

/// Maps one bollard service and its tasks into the core's view.
fn service_state(stack: &str, service: &Service, tasks: &[Task]) -> ServiceState {
    let spec = service.spec.clone().unwrap_or_default();
    let full_name = spec.name.clone().unwrap_or_default();
    let name = full_name
        .strip_prefix(&format!("{stack}_"))
        .unwrap_or(&full_name)
        .to_string();
    let mode_spec = spec.mode.clone().unwrap_or_default();
    let mode = if mode_spec.global.is_some() {
        ServiceMode::Global
    } else if mode_spec.replicated_job.is_some() {
        ServiceMode::ReplicatedJob
    } else if mode_spec.global_job.is_some() {
        ServiceMode::GlobalJob
    } else {
        ServiceMode::Replicated
    };
    let desired = match mode {
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
    };
    let update_status = service.update_status.clone().unwrap_or_default();
    let update = update_status
        .state
        .map(|s| UpdateState::parse(s.as_ref()))
        .unwrap_or(UpdateState::None);
    let template = spec.task_template.clone().unwrap_or_default();
    let no_restart = template
        .restart_policy
        .as_ref()
        .and_then(|r| r.condition)
        .is_some_and(|c| c.to_string() == "none");
    let tasks = tasks
        .iter()
        .map(|t| {
            let status = t.status.clone().unwrap_or_default();
            TaskState {
                id: t.id.clone().unwrap_or_default(),
                state: status
                    .state
                    .map(|s| TaskPhase::parse(&s.to_string()))
                    .unwrap_or(TaskPhase::New),
                desired: t
                    .desired_state
                    .map(|s| TaskPhase::parse(&s.to_string()))
                    .unwrap_or(TaskPhase::Running),
                error: status.err.filter(|e| !e.is_empty()),
                exit_code: status
                    .container_status
                    .and_then(|c| c.exit_code)
                    .filter(|c| *c != 0 || status.state.is_some()),
                at_ms: millis(status.timestamp.as_ref()),
                current: t.spec.as_ref().is_some_and(|s| runs_template(s, &template)),
                health: None,
                started_ms: None,
                listening: None,
            }
        })
        .collect();
    ServiceState {
        name,
        mode,
        desired,
        update,
        no_restart,
        tasks,
        update_started_ms: update_status
            .started_at
            .as_ref()
            .map(|t| millis(Some(t)))
            .filter(|ms| *ms > 0),
        update_message: update_status.message.filter(|m| !m.is_empty()),
        depends_on: Vec::new(),
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
