//! The engine itself: its swarm role, version and clock, where it keeps its data, and the
//! images and networks it has.

use super::Engine;
use anyhow::{Context, Result};
use std::path::PathBuf;

/// The engine as `ccci doctor` reports it.
#[derive(Clone, Debug)]
pub struct HostFacts {
    pub version: String,
    pub swarm_active: bool,
    pub manager: bool,
    /// The daemon's clock (RFC 3339).
    pub system_time: Option<String>,
}

impl Engine {
    /// Fails with a clear message when the engine is not a swarm manager.
    pub async fn ensure_swarm_manager(&self) -> Result<()> {
        let facts = self.host_facts().await?;
        if !facts.swarm_active || !facts.manager {
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

    /// The directory the engine keeps its images, containers and volumes in (Docker's
    /// `DockerRootDir`, `/var/lib/docker` when it does not say).
    pub async fn data_root(&self) -> Result<PathBuf> {
        let info = self.docker.info().await?;
        Ok(PathBuf::from(
            info.docker_root_dir
                .unwrap_or_else(|| "/var/lib/docker".into()),
        ))
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
}
