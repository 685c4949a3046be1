//! cc-ci's own containers on the rig's attachable `proxy` network (the forwarder, test
//! sandboxes), through the `docker` CLI: created, then started.
//!
//! Starting one can fail on the engine's overlay attach race
//! ([`ccci_core::rig::is_overlay_attach_race`]) while other runs' containers come and go on
//! the same network: the program never ran, so the start is repeated, a bounded number of
//! times. Any other failure is returned at once.

use ccci_core::rig::is_overlay_attach_race;
use std::process::{Output, Stdio};
use std::time::Duration;
use tokio::process::Command;

/// Starts tried before the race is reported as the failure it is.
pub const START_ATTEMPTS: u32 = 5;

/// A `docker` command with piped output, killed if dropped.
pub fn docker() -> Command {
    let mut cmd = Command::new("docker");
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    cmd
}

/// `docker rm --force --volumes NAME`.
pub fn rm(name: &str) -> Command {
    let mut cmd = docker();
    cmd.args(["rm", "--force", "--volumes", name]);
    cmd
}

/// Why a docker CLI call about a rig container gave no output.
#[derive(Debug, thiserror::Error)]
pub enum RigContainerError {
    #[error("cannot run docker: {0}")]
    Spawn(#[source] std::io::Error),
    #[error("{0}")]
    Wait(#[source] std::io::Error),
    #[error("did not finish within {secs} s")]
    TimedOut { secs: u64 },
    /// The container was refused a start (after the retries) and its program never ran:
    /// cc-ci's own machinery failed, not the recipe.
    #[error("cc-ci's {what} {name} did not start: {stderr}")]
    NotStarted {
        what: &'static str,
        name: String,
        stderr: String,
    },
}

/// Runs `cmd` to its end within `timeout`.
pub async fn output(mut cmd: Command, timeout: Duration) -> Result<Output, RigContainerError> {
    let child = cmd.spawn().map_err(RigContainerError::Spawn)?;
    match tokio::time::timeout(timeout, child.wait_with_output()).await {
        Ok(out) => out.map_err(RigContainerError::Wait),
        Err(_) => Err(RigContainerError::TimedOut {
            secs: timeout.as_secs(),
        }),
    }
}

/// Starts the created container `name` (attached: waits for it to exit and returns its
/// output), repeating a start the overlay attach race refused before anything ran.
pub async fn start(
    name: &str,
    attach: bool,
    timeout: Duration,
) -> Result<Output, RigContainerError> {
    let mut attempt = 1;
    loop {
        let mut cmd = docker();
        cmd.arg("start");
        if attach {
            cmd.arg("--attach");
        }
        cmd.arg(name);
        let out = output(cmd, timeout).await?;
        let refused = !out.status.success()
            && is_overlay_attach_race(&String::from_utf8_lossy(&out.stderr))
            && !ever_started(name).await;
        if !refused || attempt == START_ATTEMPTS {
            return Ok(out);
        }
        tokio::time::sleep(Duration::from_millis(500 * u64::from(attempt))).await;
        attempt += 1;
    }
}

/// Whether the container's program ever ran (the engine records a start time).
pub async fn ever_started(name: &str) -> bool {
    let mut cmd = docker();
    cmd.args(["inspect", "--format", "{{.State.StartedAt}}", name]);
    output(cmd, Duration::from_secs(30)).await.is_ok_and(|o| {
        let at = String::from_utf8_lossy(&o.stdout);
        !at.trim().is_empty() && !at.trim().starts_with("0001-")
    })
}

/// The limits of one of cc-ci's locked-down containers (the sandbox, the browser).
pub struct Limits {
    pub user: &'static str,
    pub memory: &'static str,
    pub cpus: &'static str,
    pub pids: &'static str,
    /// The size of its writable `/tmp`.
    pub tmp: &'static str,
}

/// `docker create` flags for a container that runs code cc-ci does not trust: a non-root
/// user, no capabilities, no new privileges, a read-only root with a small writable `/tmp`
/// and home, and the limits.
pub fn locked_down(l: &Limits) -> Vec<String> {
    let tmp = format!("/tmp:rw,nosuid,nodev,size={}", l.tmp);
    let home = format!(
        "/home/ccci:rw,nosuid,nodev,size=64m,uid={0},gid={0}",
        l.user.split(':').next().unwrap_or("10001")
    );
    [
        "--user",
        l.user,
        "--cap-drop",
        "ALL",
        "--security-opt",
        "no-new-privileges",
        "--read-only",
        "--tmpfs",
        &tmp,
        "--tmpfs",
        &home,
        "--memory",
        l.memory,
        "--memory-swap",
        l.memory,
        "--cpus",
        l.cpus,
        "--pids-limit",
        l.pids,
    ]
    .map(String::from)
    .to_vec()
}
