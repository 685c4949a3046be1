//! The pre-deploy pull (docs/pulls.md): each image of the document docker will deploy
//! (`docker stack config`'s, once judged: [`ccci_core::deployed::Deployed::images`]) that is
//! not present locally is pulled just before the deploy, its progress on the run's log,
//! bounded by the rig's pull time-out; a failure is explained with its fix
//! ([`ccci_core::pull_error`]), never a convergence time-out later. cc-ci's own reading of
//! the compose files never chooses what is pulled.
//!
//! Through the `docker` CLI, not the Engine API: the CLI brings the host's `docker login`
//! credentials (and credential helpers) the way an operator's own pulls do.

use crate::input_error::InputError;
use crate::progress::Progress;
use ccci_adapters::engine::Engine;
use ccci_core::pull_error::{self, PullFailure, Whose};
use std::collections::BTreeMap;
use std::process::Stdio;
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader};
use tokio::process::Command;

/// Pulls `image`, each progress line docker prints shown on `progress`; stopped after
/// `bound` (the child is killed, so the engine cancels the pull).
pub async fn pull(image: &str, bound: Duration, progress: &Progress) -> Result<(), PullFailure> {
    progress.line(&format!("pulling {image} (not present locally)"));
    let started = Instant::now();
    let mut child = Command::new("docker")
        .args(["pull", image])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| pull_error::explain(image, &format!("cannot run `docker`: {e}")))?;
    let (Some(stdout), Some(mut stderr)) = (child.stdout.take(), child.stderr.take()) else {
        return Err(pull_error::explain(image, "docker pull: no output pipes"));
    };
    let mut last: Option<String> = None;
    let watched = async {
        let mut lines = BufReader::new(stdout).lines();
        let mut err = String::new();
        let (_, _) = tokio::join!(
            async {
                while let Ok(Some(line)) = lines.next_line().await {
                    progress.status(&format!("pull {image}: {line}"));
                    last = Some(line);
                }
            },
            stderr.read_to_string(&mut err)
        );
        (child.wait().await, err)
    };
    let outcome = tokio::time::timeout(bound, watched).await;
    let (status, err) = match outcome {
        Ok(done) => done,
        Err(_) => {
            return Err(pull_error::timed_out(
                image,
                bound.as_secs(),
                last.as_deref(),
            ))
        }
    };
    match status {
        Ok(s) if s.success() => {
            progress.line(&format!(
                "pulled {image} in {:.1}s",
                started.elapsed().as_secs_f64()
            ));
            Ok(())
        }
        _ => Err(pull_error::explain(image, &err)),
    }
}

/// Makes each of `images` (service → image, of a judged document) present: a present one
/// costs no network, a missing one is [`pull`]ed. A failed pull is the recipe's
/// ([`InputError::MissingImage`], naming `file`, the compose file of the deploy) or the
/// rig's ([`InputError::RigPull`]).
pub async fn present_or_pulled(
    engine: &Engine,
    images: &BTreeMap<String, String>,
    file: &str,
    bound: Duration,
    progress: &Progress,
) -> Result<(), InputError> {
    for (service, image) in images {
        if engine.image_present(image).await {
            continue;
        }
        let Err(failure) = pull(image, bound, progress).await else {
            continue;
        };
        let (service, image, reason) = (service.clone(), image.clone(), failure.message());
        return Err(match failure.whose() {
            Whose::Recipe => InputError::MissingImage {
                file: file.to_string(),
                service,
                image,
                reason,
            },
            Whose::Rig => InputError::RigPull {
                service,
                image,
                reason,
            },
        });
    }
    Ok(())
}
