//! The container cc-ci itself runs in, when it does (the cc-ci recipe's service): found by
//! this host's name, which the engine sets to the container's ID. What the runner asks of
//! it: the networks it is attached to (is the forwarder reachable over `proxy`?) and its
//! mounts (does the engine see cc-ci's paths where cc-ci does?).

use super::Engine;
use std::path::PathBuf;

/// cc-ci's own container as the engine describes it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OwnContainer {
    pub id: String,
    /// The names of the networks it is attached to.
    pub networks: Vec<String>,
    /// Its mounts, as the core's doctor compares them.
    pub mounts: Vec<ccci_core::doctor::Mount>,
}

impl Engine {
    /// The container this process runs in, or `None` on a host (no container of the
    /// hostname's ID on this engine).
    pub async fn own_container(&self) -> Option<OwnContainer> {
        let host = std::fs::read_to_string("/proc/sys/kernel/hostname").ok()?;
        let host = host.trim();
        if host.len() < 12 || !host.chars().all(|c| c.is_ascii_hexdigit()) {
            return None;
        }
        let c = self.docker.inspect_container(host, None).await.ok()?;
        let id = c.id.unwrap_or_default();
        if !id.starts_with(host) {
            return None;
        }
        let networks = c
            .network_settings
            .and_then(|n| n.networks)
            .map(|n| n.into_keys().collect())
            .unwrap_or_default();
        let mounts = c
            .mounts
            .unwrap_or_default()
            .into_iter()
            .filter_map(|m| {
                Some(ccci_core::doctor::Mount {
                    source: PathBuf::from(m.source?),
                    destination: PathBuf::from(m.destination?),
                })
            })
            .collect();
        Some(OwnContainer {
            id,
            networks,
            mounts,
        })
    }

    /// Does cc-ci run in a container attached to `network`?
    pub async fn runs_on_network(&self, network: &str) -> bool {
        self.own_container()
            .await
            .is_some_and(|c| c.networks.iter().any(|n| n == network))
    }
}
