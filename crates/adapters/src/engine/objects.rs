//! What a stack owns on the engine beside its services (secrets, volumes, configs,
//! networks), the rig's own networks, and a stack's teardown.

use super::{stack_filter, Engine, STACK_LABEL};
use anyhow::{Context, Result};
use bollard::models::SecretSpec;
use bollard::query_parameters::{
    ListConfigsOptions, ListContainersOptions, ListNetworksOptions, ListSecretsOptions,
    ListServicesOptions, ListTasksOptions, ListVolumesOptions,
};
use ccci_core::secret::Secret;
use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

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

/// What [`Engine::clear_stack`] leaves in place.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Keep {
    /// A cold run's teardown: everything goes.
    Nothing,
    /// Undeploying a warm app: its volumes and secrets stay.
    Data,
}

impl Engine {
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
            .list_containers(Some(ListContainersOptions {
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

    /// Every stack with a service, volume, secret or container on the engine (a run's
    /// forwarder container carries the stack label too), with the creation time of its
    /// oldest such object (unix seconds; 0 when the engine does not say).
    pub async fn stacks_created(&self) -> Result<BTreeMap<String, i64>> {
        let filters = HashMap::from([("label".to_string(), vec![STACK_LABEL.to_string()])]);
        let mut stacks: BTreeMap<String, i64> = BTreeMap::new();
        let mut note = |labels: Option<&HashMap<String, String>>, created: i64| {
            if let Some(stack) = labels.and_then(|l| l.get(STACK_LABEL)) {
                let e = stacks.entry(stack.clone()).or_insert(created);
                *e = (*e).min(created);
            }
        };
        let services = self
            .docker
            .list_services(Some(ListServicesOptions {
                filters: Some(filters.clone()),
                status: None,
            }))
            .await
            .context("listing services")?;
        for s in services {
            let created = s.created_at.map(|t| t.unix_timestamp()).unwrap_or(0);
            note(s.spec.as_ref().and_then(|s| s.labels.as_ref()), created);
        }
        let volumes = self
            .docker
            .list_volumes(Some(ListVolumesOptions {
                filters: Some(filters.clone()),
            }))
            .await
            .context("listing volumes")?;
        for v in volumes.volumes.unwrap_or_default() {
            let created = v.created_at.map(|t| t.unix_timestamp()).unwrap_or(0);
            note(Some(&v.labels), created);
        }
        let secrets = self
            .docker
            .list_secrets(Some(ListSecretsOptions {
                filters: Some(filters.clone()),
            }))
            .await
            .context("listing secrets")?;
        for s in secrets {
            let created = s.created_at.map(|t| t.unix_timestamp()).unwrap_or(0);
            note(s.spec.as_ref().and_then(|s| s.labels.as_ref()), created);
        }
        // A run killed mid-teardown may have left only configs or networks.
        let configs = self
            .docker
            .list_configs(Some(bollard::query_parameters::ListConfigsOptions {
                filters: Some(filters.clone()),
            }))
            .await
            .context("listing configs")?;
        for c in configs {
            let created = c.created_at.map(|t| t.unix_timestamp()).unwrap_or(0);
            note(c.spec.as_ref().and_then(|s| s.labels.as_ref()), created);
        }
        let networks = self
            .docker
            .list_networks(Some(bollard::query_parameters::ListNetworksOptions {
                filters: Some(filters.clone()),
            }))
            .await
            .context("listing networks")?;
        for n in networks {
            let created = n.created.map(|t| t.unix_timestamp()).unwrap_or(0);
            note(n.labels.as_ref(), created);
        }
        let containers = self
            .docker
            .list_containers(Some(ListContainersOptions {
                all: true,
                filters: Some(filters),
                ..Default::default()
            }))
            .await
            .context("listing containers")?;
        for c in containers {
            note(c.labels.as_ref(), c.created.unwrap_or(0));
        }
        Ok(stacks)
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

    /// Removes these volumes and secrets (e.g. those a quick run's head added to a warm
    /// canonical). Returns the ones the engine refused, with why; one already gone is not
    /// an error.
    pub async fn remove_data(&self, volumes: &[String], secrets: &[String]) -> Vec<String> {
        let gone = |e: &bollard::errors::Error| {
            matches!(
                e,
                bollard::errors::Error::DockerResponseServerError {
                    status_code: 404,
                    ..
                }
            )
        };
        let mut refused = Vec::new();
        for v in volumes {
            let removed = self
                .docker
                .remove_volume(v, None::<bollard::query_parameters::RemoveVolumeOptions>)
                .await;
            if let Err(e) = removed {
                if !gone(&e) {
                    refused.push(format!("volume {v}: {e}"));
                }
            }
        }
        for s in secrets {
            if let Err(e) = self.docker.delete_secret(s).await {
                if !gone(&e) {
                    refused.push(format!("secret {s}: {e}"));
                }
            }
        }
        refused
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
