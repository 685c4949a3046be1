//! Which image each service's running task actually ran: the digest, not the tag. A tag
//! pushed again under the same name is the most common reason a recipe that did not change
//! turns red overnight, and only the content identifies it.

use super::{stack_filter, Engine};
use anyhow::{Context, Result};
use bollard::models::{Service, Task};
use bollard::query_parameters::{ListServicesOptions, ListTasksOptions};
use ccci_core::results::ImageRan;
use std::collections::BTreeMap;

impl Engine {
    /// For each service of `stack` (by short name): the image its running task runs (where
    /// none runs — a crash loop — its latest task's). Its digest comes from the task's spec
    /// when swarm pinned one, else from the image's `RepoDigests` (a deploy with
    /// `--resolve-image never` pins none); its ID from the task's container.
    pub async fn images_ran(&self, stack: &str) -> Result<BTreeMap<String, ImageRan>> {
        let (tasks, services) = self.tasks_and_services(stack).await?;
        let mut ran = BTreeMap::new();
        for service in services {
            let (Some(id), Some(name)) = (service.id, service.spec.and_then(|s| s.name)) else {
                continue;
            };
            let Some(task) = latest_task(&tasks, &id) else {
                continue;
            };
            let image = task
                .spec
                .as_ref()
                .and_then(|s| s.container_spec.as_ref())
                .and_then(|c| c.image.clone());
            let container = container_id(task);
            let (Some(image), Some(container)) = (image, container) else {
                continue;
            };
            if let Some(found) = self.image_of(&image, &container).await {
                let short = name.strip_prefix(&format!("{stack}_")).unwrap_or(&name);
                ran.insert(short.to_string(), found);
            }
        }
        Ok(ran)
    }

    /// Every task and service of `stack`.
    pub(super) async fn tasks_and_services(
        &self,
        stack: &str,
    ) -> Result<(Vec<Task>, Vec<Service>)> {
        let tasks = self
            .docker
            .list_tasks(Some(ListTasksOptions {
                filters: Some(stack_filter(stack)),
            }))
            .await
            .with_context(|| format!("listing tasks of stack {stack}"))?;
        let services = self
            .docker
            .list_services(Some(ListServicesOptions {
                filters: Some(stack_filter(stack)),
                status: None,
            }))
            .await
            .with_context(|| format!("listing services of stack {stack}"))?;
        Ok((tasks, services))
    }

    async fn image_of(&self, image: &str, container: &str) -> Option<ImageRan> {
        let id = self
            .docker
            .inspect_container(container, None)
            .await
            .ok()?
            .image?;
        let repo_digests = self
            .docker
            .inspect_image(&id)
            .await
            .ok()
            .and_then(|i| i.repo_digests)
            .unwrap_or_default();
        Some(ImageRan {
            digest: pinned_digest(image).or_else(|| repo_digest(image, &repo_digests)),
            image: image.to_string(),
            id,
        })
    }
}

/// A running task of the service, else its latest one with a container.
fn latest_task<'a>(tasks: &'a [Task], service_id: &str) -> Option<&'a Task> {
    let of_service = || {
        tasks
            .iter()
            .filter(move |t| t.service_id.as_deref() == Some(service_id))
            .filter(|t| container_id(t).is_some())
    };
    let running = |t: &&Task| {
        t.status
            .as_ref()
            .and_then(|s| s.state)
            .is_some_and(|s| s.to_string() == "running")
    };
    of_service().find(running).or_else(|| {
        of_service().max_by_key(|t| t.version.as_ref().and_then(|v| v.index).unwrap_or(0))
    })
}

fn container_id(task: &Task) -> Option<String> {
    task.status
        .as_ref()
        .and_then(|s| s.container_status.as_ref())
        .and_then(|c| c.container_id.clone())
        .filter(|id| !id.is_empty())
}

/// `sha256:…` of a reference pinned by digest (`name:tag@sha256:…`).
fn pinned_digest(image: &str) -> Option<String> {
    image.split_once('@').map(|(_, d)| d.to_string())
}

/// The digest among `repo_digests` (`repository@sha256:…`) of `image`'s repository.
fn repo_digest(image: &str, repo_digests: &[String]) -> Option<String> {
    let repository = repository_of(image);
    repo_digests.iter().find_map(|rd| {
        let (repo, digest) = rd.split_once('@')?;
        (repo == repository).then(|| digest.to_string())
    })
}

/// `host:port/name` of `host:port/name:tag` (a `:` after the last `/` starts the tag).
fn repository_of(image: &str) -> &str {
    let name = image.split('@').next().unwrap_or(image);
    let last_slash = name.rfind('/').map_or(0, |i| i + 1);
    match name[last_slash..].rfind(':') {
        Some(colon) => &name[..last_slash + colon],
        None => name,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_digest_is_the_pinned_one_else_the_repositorys() {
        assert_eq!(
            repository_of("127.0.0.1:5000/a/app:1"),
            "127.0.0.1:5000/a/app"
        );
        assert_eq!(repository_of("app"), "app");
        assert_eq!(repository_of("app:1@sha256:x"), "app");
        assert_eq!(pinned_digest("app:1@sha256:x").as_deref(), Some("sha256:x"));
        let digests = [
            "127.0.0.1:5000/a/other@sha256:o".to_string(),
            "127.0.0.1:5000/a/app@sha256:d".to_string(),
        ];
        assert_eq!(
            repo_digest("127.0.0.1:5000/a/app:1", &digests).as_deref(),
            Some("sha256:d")
        );
        assert_eq!(repo_digest("app:1", &digests), None);
    }
}
