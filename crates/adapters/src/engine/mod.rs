//! The Docker Engine adapter, and the only module that speaks the Engine API (bollard, with
//! API version negotiation). Callers get the runner's and the core's own types, never
//! bollard's.
//!
//! - [`info`]: the engine itself (swarm role, version, clock, data root, images, networks).
//! - [`services`]: swarm services and their tasks, mapped into the core's [`ServiceState`].
//! - [`containers`]: volumes and containers (mountpoints, exec in a service's container).
//! - [`own`]: the container cc-ci itself runs in, if any (its networks and mounts).
//! - [`objects`]: what a stack owns beside its services (secrets, rig networks) and its
//!   teardown.
//! - [`events`]: the engine's event stream for one stack, as a wake-up for readiness waits.
//! - [`images_ran`]: the image (digest, ID) each service's running task actually ran.
//! - [`error`]: [`EngineError`], an engine call that failed, in the engine's words.
//!
//! Stacks themselves are deployed and removed with the `docker` CLI (see [`crate::stack`]):
//! `docker stack deploy` owns compose interpretation, and no crate reimplements it.
//!
//! [`ServiceState`]: ccci_core::readiness::ServiceState

mod containers;
mod error;
mod events;
mod images_ran;
mod info;
mod objects;
mod own;
mod services;

pub use error::EngineError;
pub use events::StackEvents;
pub use info::HostFacts;
pub use objects::{Keep, StackObjects};
pub use own::OwnContainer;

use anyhow::{Context, Result};
use bollard::Docker;
use std::collections::HashMap;

/// The label `docker stack deploy` puts on everything of a stack.
pub const STACK_LABEL: &str = "com.docker.stack.namespace";

#[derive(Clone)]
pub struct Engine {
    docker: Docker,
}

/// The engine's filter for everything of one stack.
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
}
