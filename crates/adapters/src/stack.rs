//! `docker stack deploy` and service logs, through the `docker` CLI (removal is the
//! engine adapter's: see `teardown`).
//!
//! The deploy runs in a clean environment built from the app's env: nothing of the host's
//! environment leaks into interpolation except what the CLI needs to reach the engine.

use anyhow::{bail, Context, Result};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;
use tokio::process::Command;

/// Host variables the docker CLI itself needs; everything else is dropped.
const PASSTHROUGH: &[&str] = &[
    "PATH",
    "HOME",
    "DOCKER_HOST",
    "DOCKER_CONFIG",
    "DOCKER_CONTEXT",
    "DOCKER_CERT_PATH",
    "DOCKER_TLS_VERIFY",
];

/// Bound on one CLI call; a hung daemon must not hang a run.
const CLI_TIMEOUT: Duration = Duration::from_secs(180);

pub struct DeployPlan<'a> {
    pub stack: &'a str,
    /// Where relative paths in the compose files resolve (the recipe checkout).
    pub workdir: &'a Path,
    pub compose_files: &'a [PathBuf],
    /// The app env: the only variables interpolation sees.
    pub env: &'a BTreeMap<String, String>,
}

/// The docker CLI with the deploy's exact environment and working directory.
fn docker_for(plan: &DeployPlan<'_>) -> Command {
    let mut cmd = Command::new("docker");
    cmd.env_clear();
    for key in PASSTHROUGH {
        if let Ok(v) = std::env::var(key) {
            cmd.env(key, v);
        }
    }
    cmd.envs(plan.env);
    cmd.current_dir(plan.workdir);
    cmd
}

pub async fn deploy(plan: &DeployPlan<'_>) -> Result<()> {
    let mut cmd = docker_for(plan);
    cmd.args(["stack", "deploy"]);
    if cli_has_detach().await {
        cmd.arg("--detach=true");
    }
    cmd.args(["--resolve-image", "never"]);
    for file in plan.compose_files {
        cmd.arg("--compose-file").arg(file);
    }
    cmd.arg(plan.stack);
    let out = run(cmd).await.context("docker stack deploy")?;
    if !out.status.success() {
        bail!(
            "docker stack deploy {} failed: {}",
            plan.stack,
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(())
}

/// What `docker stack deploy` would deploy for `plan`: `docker stack config` with the same
/// files, environment and working directory (docker's own YAML, merge and interpolation).
/// The document holds the app's environment: callers never print it.
pub async fn config(plan: &DeployPlan<'_>) -> Result<String> {
    let mut cmd = docker_for(plan);
    cmd.args(["stack", "config"]);
    for file in plan.compose_files {
        cmd.arg("--compose-file").arg(file);
    }
    let out = run(cmd).await.context("docker stack config")?;
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr);
        if stderr.contains("unknown command") || stderr.contains("is not a docker command") {
            bail!(
                "this docker CLI cannot show what it would deploy (`docker stack config` needs \
                 CLI 24 or later); cc-ci never deploys a stack it has not checked: install a newer \
                 docker CLI"
            );
        }
        bail!(
            "docker stack deploy {} failed: {}",
            plan.stack,
            stderr.trim()
        );
    }
    String::from_utf8(out.stdout).context("docker stack config printed text that is not UTF-8")
}

/// Does this `docker stack deploy` know `--detach`? CLIs from 25.0 do, and without
/// `--detach=true` would wait for convergence (cc-ci waits itself, bounded); older ones
/// (Debian bookworm's 20.10, in the `ccci` image) never wait and refuse the flag. Asked
/// once per process.
async fn cli_has_detach() -> bool {
    static HAS: tokio::sync::OnceCell<bool> = tokio::sync::OnceCell::const_new();
    *HAS.get_or_init(|| async {
        let mut help = Command::new("docker");
        help.args(["stack", "deploy", "--help"]);
        run(help)
            .await
            .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).contains("--detach"))
    })
    .await
}

/// The image of cc-ci's forwarder (`images/build.sh` builds it).
pub const FORWARDER_IMAGE: &str = "ccci-forwarder:latest";

/// A run's forwarder: how cc-ci reaches the app the way the proxy does when the rig has no
/// proxy. A container on the rig's proxy network, labelled with the stack (teardown and the
/// janitor remove it with the stack's other objects), published on loopback only — or not
/// at all when cc-ci reaches it over the proxy network itself.
pub struct Forwarder<'a> {
    pub stack: &'a str,
    pub network: &'a str,
    /// The host loopback port it is published on; `None`: not published.
    pub loopback_port: Option<u16>,
    /// `tasks.<stack>_<service>:<port>`: the service's tasks, as traefik reaches them.
    pub upstream: String,
}

/// Starts the stack's forwarder unless one runs already with the same port and upstream
/// (every deploy calls this; a live-warm app redeployed later plans a new port).
pub async fn ensure_forwarder(f: &Forwarder<'_>) -> Result<()> {
    let name = forwarder_name(f.stack);
    let published = f.loopback_port.map(|p| p.to_string());
    let spec = format!(
        "{}|{}",
        published.as_deref().unwrap_or("unpublished"),
        f.upstream
    );
    let mut check = Command::new("docker");
    check.args([
        "container",
        "inspect",
        "--format",
        "{{.State.Running}} {{index .Config.Labels \"ccci.forwarder.spec\"}}",
        &name,
    ]);
    let state = run(check).await?;
    let seen = String::from_utf8_lossy(&state.stdout).trim().to_string();
    if seen == format!("true {spec}") {
        return Ok(());
    }
    if state.status.success() {
        let mut rm = Command::new("docker");
        rm.args(["rm", "-f", &name]);
        run(rm).await?;
    }
    let mut cmd = Command::new("docker");
    cmd.args([
        "create",
        "--name",
        &name,
        "--network",
        f.network,
        "--label",
        &format!("{}={}", crate::engine::STACK_LABEL, f.stack),
        "--label",
        "ccci.forwarder=true",
        "--label",
        &format!("ccci.forwarder.spec={spec}"),
        "--env",
        &format!("UPSTREAM={}", f.upstream),
        "--env",
        "LISTEN=0.0.0.0:80",
        "--memory",
        "64m",
    ]);
    if let Some(port) = f.loopback_port {
        cmd.args(["--publish", &format!("127.0.0.1:{port}:80")]);
    }
    cmd.arg(FORWARDER_IMAGE);
    let created = run(cmd).await.context("creating the forwarder")?;
    let started = if created.status.success() {
        crate::rig_container::start(&name, false, CLI_TIMEOUT).await?
    } else {
        created
    };
    if !started.status.success() {
        // cc-ci's own container, not the recipe's: a distinct outcome (cc-ci error).
        return Err(crate::rig_container::RigContainerError::NotStarted {
            what: "forwarder",
            name: name.clone(),
            stderr: format!(
                "{} ({FORWARDER_IMAGE}; build it with images/build.sh)",
                String::from_utf8_lossy(&started.stderr).trim()
            ),
        }
        .into());
    }
    Ok(())
}

/// The forwarder's container name: resolvable by the engine's DNS on the proxy network.
pub fn forwarder_name(stack: &str) -> String {
    format!("ccci-fwd-{stack}")
}

/// The forwarder's address on the proxy network: where the app's domain points inside
/// the test sandbox (`http://<domain>` reaches the app as through the proxy).
pub async fn forwarder_address(stack: &str) -> Option<String> {
    let mut cmd = Command::new("docker");
    cmd.args([
        "container",
        "inspect",
        "--format",
        "{{range .NetworkSettings.Networks}}{{.IPAddress}} {{end}}",
        &forwarder_name(stack),
    ]);
    let out = run(cmd).await.ok()?;
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .next()
        .map(str::to_string)
}

/// The last `tail` lines of a service's log (stdout and stderr, interleaved), never the
/// CLI's own errors: where `docker service logs` broke off, its containers' logs instead.
pub async fn service_logs(service: &str, tail: Option<usize>) -> Result<String> {
    let mut cmd = Command::new("docker");
    cmd.args(["service", "logs", "--no-task-ids", "--timestamps"]);
    if let Some(n) = tail {
        cmd.args(["--tail", &n.to_string()]);
    }
    cmd.arg(service);
    let out = run(cmd).await.context("docker service logs")?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    let (own, cli_errors) = ccci_core::service_log::split_cli_errors(&stderr);
    let mut text = String::from_utf8_lossy(&out.stdout).into_owned();
    for line in own {
        text.push_str(line);
        text.push('\n');
    }
    // The stream broke (swarm pruned a task of a crash-looping service while its logs were
    // read: "task … not found"), or the service logs showed nothing: its containers' own
    // logs, which the engine keeps as long as the task history.
    if !cli_errors.is_empty() || text.trim().is_empty() {
        if let Ok(from_containers) = container_logs(service, tail).await {
            if !from_containers.trim().is_empty() {
                return Ok(from_containers);
            }
        }
    }
    Ok(text)
}

/// The logs of every container of `service` (running or ended), stamped and prefixed as
/// `docker service logs` prints them.
async fn container_logs(service: &str, tail: Option<usize>) -> Result<String> {
    let mut cmd = Command::new("docker");
    cmd.args(["ps", "--all", "--format", "{{.ID}} {{.Names}}", "--filter"])
        .arg(format!("label=com.docker.swarm.service.name={service}"));
    let out = run(cmd).await.context("docker ps")?;
    let mut text = String::new();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let Some((id, name)) = line.split_once(' ') else {
            continue;
        };
        let mut cmd = Command::new("docker");
        cmd.args(["logs", "--timestamps"]);
        if let Some(n) = tail {
            cmd.args(["--tail", &n.to_string()]);
        }
        cmd.arg(id);
        let out = run(cmd).await.context("docker logs")?;
        for stream in [&out.stdout, &out.stderr] {
            let lines = String::from_utf8_lossy(stream);
            text.push_str(&ccci_core::service_log::as_service_lines(name, &lines));
        }
    }
    Ok(text)
}

/// `docker service update --force`, detached: the service's tasks restart (the caller waits
/// for readiness itself).
pub async fn force_update(service: &str) -> Result<()> {
    let mut cmd = Command::new("docker");
    cmd.args([
        "service",
        "update",
        "--force",
        "--detach=true",
        "--quiet",
        service,
    ]);
    let out = run(cmd).await?;
    if !out.status.success() {
        bail!("{}", String::from_utf8_lossy(&out.stderr).trim());
    }
    Ok(())
}

async fn run(mut cmd: Command) -> Result<std::process::Output> {
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let child = cmd
        .spawn()
        .context("cannot run `docker` (is the CLI installed?)")?;
    match tokio::time::timeout(CLI_TIMEOUT, child.wait_with_output()).await {
        Ok(out) => Ok(out?),
        Err(_) => bail!("the docker CLI did not finish within {CLI_TIMEOUT:?}"),
    }
}
