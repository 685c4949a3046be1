//! Volumes and containers: where a volume's data lives, creating a stack's volume, and
//! running a command in a service's running container.

use super::{Engine, EngineError, STACK_LABEL};
use futures_util::StreamExt;
use std::collections::HashMap;
use std::path::PathBuf;

impl Engine {
    /// Where a volume's data lives on this host, if the volume exists.
    pub async fn volume_mountpoint(&self, volume: &str) -> Option<PathBuf> {
        self.volume_path(volume).await.ok()
    }

    /// Where a volume's data lives on this host (`/var/lib/docker/volumes/<v>/_data`), or
    /// why the engine cannot say.
    pub async fn volume_path(&self, volume: &str) -> Result<PathBuf, EngineError> {
        let v = self.docker.inspect_volume(volume).await?;
        Ok(PathBuf::from(v.mountpoint))
    }

    pub async fn volume_exists(&self, volume: &str) -> bool {
        self.docker.inspect_volume(volume).await.is_ok()
    }

    /// Creates a volume labelled as part of the stack, so teardown finds it.
    pub async fn create_stack_volume(&self, stack: &str, volume: &str) -> Result<(), EngineError> {
        self.docker
            .create_volume(bollard::models::VolumeCreateRequest {
                name: Some(volume.to_string()),
                labels: Some(HashMap::from([(
                    STACK_LABEL.to_string(),
                    stack.to_string(),
                )])),
                ..Default::default()
            })
            .await?;
        Ok(())
    }

    /// The running container of a swarm service (its full name), if it has one now.
    pub async fn running_container(&self, service: &str) -> Result<Option<String>, EngineError> {
        let filters = HashMap::from([
            (
                "label".to_string(),
                vec![format!("com.docker.swarm.service.name={service}")],
            ),
            ("status".to_string(), vec!["running".to_string()]),
        ]);
        let found = self
            .docker
            .list_containers(Some(bollard::query_parameters::ListContainersOptions {
                filters: Some(filters),
                ..Default::default()
            }))
            .await?;
        Ok(found.into_iter().find_map(|c| c.id))
    }

    /// Runs `sh -c cmd` in `container`: (exit code, stdout and stderr). A container that
    /// stopped or went away under the exec answers [`EngineError::container_gone`].
    pub async fn exec_shell(
        &self,
        container: &str,
        cmd: &str,
    ) -> Result<(i64, String), EngineError> {
        let exec = self
            .docker
            .create_exec(
                container,
                bollard::exec::CreateExecOptions {
                    cmd: Some(vec!["sh", "-c", cmd]),
                    attach_stdout: Some(true),
                    attach_stderr: Some(true),
                    ..Default::default()
                },
            )
            .await?;
        let mut text = String::new();
        if let bollard::exec::StartExecResults::Attached { mut output, .. } =
            self.docker.start_exec(&exec.id, None).await?
        {
            while let Some(chunk) = output.next().await {
                text.push_str(&chunk?.to_string());
            }
        }
        let code = self
            .docker
            .inspect_exec(&exec.id)
            .await?
            .exit_code
            .unwrap_or(-1);
        Ok((code, text))
    }
}
