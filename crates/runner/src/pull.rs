//! The pre-deploy pull (docs/behaviour.md §3): an image the stack names that is not present locally is
//! pulled before anything is deployed, its progress on the run's log, bounded by the rig's
//! pull time-out; a failure is explained with its fix ([`ccci_core::pull_error`]), never a
//! convergence time-out later.
//!
//! Through the `docker` CLI, not the Engine API: the CLI brings the host's `docker login`
//! credentials (and credential helpers) the way an operator's own pulls do.

use crate::progress::Progress;
use ccci_core::pull_error::{self, PullFailure};
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
