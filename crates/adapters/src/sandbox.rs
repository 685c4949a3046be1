//! Suite code never runs on the CI host (docs/behaviour.md §7). Hooks, tests and `BACKUP_VERIFY`
//! run in a throwaway container of cc-ci's sandbox image (`ccci-sandbox`, Debian with sh, curl, jq,
//! python3 + pytest), attached to the rig's `proxy` network so tests reach the app the way
//! users do — by its domain (the run's forwarder, or the ingress) — with:
//! - no Docker socket and no host mount but the suite directory (read-only), an output
//!   directory, and the files the run hands tests (the app's `.env`, the dependency file,
//!   the backup to verify), each read-only;
//! - a non-root user, no capabilities, no new privileges, a read-only root file system;
//! - CPU, memory and process limits, and the suite's time limit: an overrun is a failure
//!   with a reason, never a hang. The container is removed afterwards.
//!
//! A service the rig runs on the CI host's loopback (a test Keycloak) is unreachable from a
//! container; such URLs are relayed in through a unix socket (see [`LoopbackRelay`]).

use crate::rig_container::{docker, ever_started, output, rm, start, RigContainerError};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The sandbox image (`images/debian/build.sh sandbox` builds it).
pub const SANDBOX_IMAGE: &str = "ccci-sandbox:latest";
/// The unprivileged user of the sandbox image.
pub const UID: u32 = 10001;
const SANDBOX_USER: &str = "10001:10001";
/// Limits of one sandboxed program.
const MEMORY: &str = "512m";
const CPUS: &str = "1";
const PIDS: &str = "256";

/// Where things are inside the sandbox.
pub const SUITE_DIR: &str = "/suite";
pub const OUT_DIR: &str = "/out";
pub const RUN_DIR: &str = "/run/ccci";

/// One program to run in the sandbox.
pub struct Program<'a> {
    /// Labels the container with the stack, so teardown and the janitor find it.
    pub stack: &'a str,
    /// Mounted read-only at [`SUITE_DIR`], the working directory.
    pub suite_dir: &'a Path,
    /// Mounted read-write at [`OUT_DIR`] (JUnit reports, anything a test leaves).
    pub out_dir: &'a Path,
    /// Host files mounted read-only under [`RUN_DIR`]: (host path, name inside).
    pub files: Vec<(PathBuf, String)>,
    /// The command line inside the sandbox.
    pub argv: Vec<String>,
    pub env: Vec<(String, String)>,
    /// `/etc/hosts` entries: the app's domain → the forwarder's address on `proxy`.
    pub hosts: Vec<(String, String)>,
    /// Loopback services of the CI host to relay in: (port, unix socket on the host).
    pub relays: Vec<(u16, PathBuf)>,
    pub network: &'a str,
    pub timeout: Duration,
}

/// Why a sandboxed program did not run to its end; `Display` is the message runs record.
#[derive(Debug, thiserror::Error)]
pub enum SandboxError {
    #[error("creating {}: {cause}", dir.display())]
    CreateOutDir { dir: PathBuf, cause: std::io::Error },
    #[error("opening {} to the sandbox: {cause}", dir.display())]
    OpenOutDir { dir: PathBuf, cause: std::io::Error },
    /// The docker CLI could not be run, or did not answer in time.
    #[error("{0}")]
    Docker(RigContainerError),
    /// `docker create` refused (most often: the sandbox image is not built).
    #[error(
        "cannot create the test sandbox ({SANDBOX_IMAGE}; build it with images/debian/build.sh sandbox): {stderr}"
    )]
    CannotCreate { stderr: String },
    /// The program overran the suite's time limit and was stopped.
    #[error("did not finish within {secs} s (the suite's deploy_timeout); stopped")]
    Overran { secs: u64 },
    /// The sandbox was created but the engine refused to start it (after the retries):
    /// the suite's program never ran.
    #[error("the test sandbox did not start: {stderr}")]
    NotStarted { stderr: String },
}

impl SandboxError {
    /// Whether cc-ci's own machinery failed (the sandbox could not be made or started),
    /// rather than the suite's program: such a failure is a cc-ci error, not RED.
    pub fn is_ccci_own(&self) -> bool {
        !matches!(self, SandboxError::Overran { .. })
    }
}

/// Output and exit status of one sandboxed program.
pub struct Ran {
    pub success: bool,
    pub output: String,
}

/// Runs `program` in a fresh sandbox container and removes it. `Err` when it could not
/// run at all or overran its time; a non-zero exit is `Ok` with `success: false`.
pub async fn run(program: &Program<'_>) -> Result<Ran, SandboxError> {
    prepare_out_dir(program.out_dir)?;
    let name = format!("ccci-sbx-{}-{:08x}", program.stack, rand::random::<u32>());
    let mut cmd = docker();
    cmd.args(["create", "--name", &name]).args(isolation());
    cmd.args(["--network", program.network]);
    cmd.args([
        "--label",
        &format!("{}={}", crate::engine::STACK_LABEL, program.stack),
    ]);
    cmd.args(["--label", "ccci.sandbox=true"]);
    cmd.arg("--volume")
        .arg(format!("{}:{SUITE_DIR}:ro", program.suite_dir.display()));
    cmd.arg("--volume")
        .arg(format!("{}:{OUT_DIR}:rw", program.out_dir.display()));
    for (host, inside) in &program.files {
        cmd.arg("--volume")
            .arg(format!("{}:{RUN_DIR}/{inside}:ro", host.display()));
    }
    for (i, (_, socket)) in program.relays.iter().enumerate() {
        cmd.arg("--volume")
            .arg(format!("{}:{RUN_DIR}/relay-{i}.sock", socket.display()));
    }
    for (host, ip) in &program.hosts {
        cmd.args(["--add-host", &format!("{host}:{ip}")]);
    }
    for (k, v) in &program.env {
        cmd.args(["--env", &format!("{k}={v}")]);
    }
    cmd.args(["--workdir", SUITE_DIR, SANDBOX_IMAGE]);
    cmd.args(entry(&program.relays, &program.argv));
    let created = output(cmd, Duration::from_secs(60))
        .await
        .map_err(SandboxError::Docker)?;
    if !created.status.success() {
        return Err(SandboxError::CannotCreate {
            stderr: String::from_utf8_lossy(&created.stderr).trim().to_string(),
        });
    }
    let ran = attend(&name, program.timeout).await;
    let _ = output(rm(&name), Duration::from_secs(30)).await;
    ran
}

/// Starts the container, waits for it within `timeout` and reads its output and fate.
async fn attend(name: &str, timeout: Duration) -> Result<Ran, SandboxError> {
    match start(name, true, timeout).await {
        Err(RigContainerError::TimedOut { .. }) => {
            let _ = output(rm(name), Duration::from_secs(30)).await;
            Err(SandboxError::Overran {
                secs: timeout.as_secs(),
            })
        }
        Err(e) => Err(SandboxError::Docker(e)),
        Ok(out) if !out.status.success() && !ever_started(name).await => {
            Err(SandboxError::NotStarted {
                stderr: String::from_utf8_lossy(&out.stderr).trim().to_string(),
            })
        }
        Ok(out) => {
            let mut text = String::from_utf8_lossy(&out.stdout).into_owned();
            text.push_str(&String::from_utf8_lossy(&out.stderr));
            if oom_killed(name).await {
                text.push_str(&format!(
                    "\nkilled: out of memory (the sandbox allows {MEMORY})\n"
                ));
            }
            Ok(Ran {
                success: out.status.success(),
                output: text,
            })
        }
    }
}

/// The isolation every sandbox gets.
fn isolation() -> Vec<String> {
    crate::rig_container::locked_down(&crate::rig_container::Limits {
        user: SANDBOX_USER,
        memory: MEMORY,
        cpus: CPUS,
        pids: PIDS,
        tmp: "256m",
    })
}

/// The command line: with relays, first start one socat per loopback port (inside the
/// sandbox's own loopback) towards its unix socket, then exec the program.
fn entry(relays: &[(u16, PathBuf)], argv: &[String]) -> Vec<String> {
    if relays.is_empty() {
        return argv.to_vec();
    }
    let mut script = String::new();
    for (i, (port, _)) in relays.iter().enumerate() {
        script.push_str(&format!(
            "socat TCP-LISTEN:{port},bind=127.0.0.1,fork,reuseaddr UNIX-CONNECT:{RUN_DIR}/relay-{i}.sock & "
        ));
    }
    script.push_str("sleep 0.2; exec \"$@\"");
    let mut out = vec![
        "/bin/sh".to_string(),
        "-c".to_string(),
        script,
        "sandbox".to_string(),
    ];
    out.extend(argv.iter().cloned());
    out
}

/// What the sandbox's program wrote into its output directory (`name` relative to it: a
/// JUnit report), read without following any link the program planted there.
pub fn read_output(dir: &Path, name: &str) -> Result<String, crate::beneath::BeneathError> {
    use crate::beneath::{Links, Root};
    Root::open(dir, Links::None, "the sandbox's output directory")?.read_to_string(Path::new(name))
}

/// The output directory, writable by the sandbox's user.
fn prepare_out_dir(dir: &Path) -> Result<(), SandboxError> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::create_dir_all(dir).map_err(|cause| SandboxError::CreateOutDir {
        dir: dir.to_path_buf(),
        cause,
    })?;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o777)).map_err(|cause| {
        SandboxError::OpenOutDir {
            dir: dir.to_path_buf(),
            cause,
        }
    })
}

async fn oom_killed(name: &str) -> bool {
    let mut cmd = docker();
    cmd.args(["inspect", "--format", "{{.State.OOMKilled}}", name]);
    output(cmd, Duration::from_secs(30))
        .await
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "true")
}

/// Relays a TCP service on the CI host's loopback into sandboxes through a unix socket
/// (a container cannot reach the host's loopback). Stops when dropped.
pub struct LoopbackRelay {
    pub port: u16,
    pub socket: PathBuf,
    task: tokio::task::JoinHandle<()>,
}

impl LoopbackRelay {
    /// Listens on `socket` and passes each connection to `127.0.0.1:port`.
    pub fn start(port: u16, socket: PathBuf) -> std::io::Result<LoopbackRelay> {
        use std::os::unix::fs::PermissionsExt;
        let _ = std::fs::remove_file(&socket);
        let listener = tokio::net::UnixListener::bind(&socket)?;
        // The sandbox's user connects to it.
        std::fs::set_permissions(&socket, std::fs::Permissions::from_mode(0o666))?;
        let task = tokio::spawn(async move {
            while let Ok((mut inside, _)) = listener.accept().await {
                tokio::spawn(async move {
                    if let Ok(mut host) = tokio::net::TcpStream::connect(("127.0.0.1", port)).await
                    {
                        let _ = tokio::io::copy_bidirectional(&mut inside, &mut host).await;
                    }
                });
            }
        });
        Ok(LoopbackRelay { port, socket, task })
    }
}

impl Drop for LoopbackRelay {
    fn drop(&mut self) {
        self.task.abort();
        let _ = std::fs::remove_file(&self.socket);
    }
}

/// The loopback port of a URL (`http://127.0.0.1:8081/…` → 8081), if it is on loopback.
pub fn loopback_port(url: &str) -> Option<u16> {
    let rest = url.split_once("://")?.1;
    let authority = rest.split('/').next()?;
    let (host, port) = authority.rsplit_once(':')?;
    let loopback = host == "localhost" || host.starts_with("127.") || host == "[::1]";
    loopback.then(|| port.parse().ok()).flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Only the suite's own overrun is the recipe's side; a sandbox cc-ci could not make or
    /// start is cc-ci's failure (a cc-ci error, not RED).
    #[test]
    fn which_sandbox_failures_are_cc_ci_s_own() {
        let rows = [
            (SandboxError::Overran { secs: 5 }, false),
            (
                SandboxError::NotStarted {
                    stderr: "network not found".into(),
                },
                true,
            ),
            (
                SandboxError::CannotCreate {
                    stderr: "no such image".into(),
                },
                true,
            ),
            (
                SandboxError::Docker(RigContainerError::TimedOut { secs: 60 }),
                true,
            ),
            (
                SandboxError::CreateOutDir {
                    dir: "/x".into(),
                    cause: std::io::Error::other("read-only"),
                },
                true,
            ),
        ];
        for (error, own) in rows {
            assert_eq!(error.is_ccci_own(), own, "{error}");
        }
    }

    #[test]
    fn loopback_urls_are_recognised() {
        assert_eq!(loopback_port("http://127.0.0.1:8081/realms"), Some(8081));
        assert_eq!(loopback_port("http://localhost:9000"), Some(9000));
        assert_eq!(loopback_port("https://sso.example.org/realms"), None);
        assert_eq!(loopback_port("https://sso.example.org:8443"), None);
    }

    #[test]
    fn relays_start_before_the_program() {
        let argv = vec!["pytest".to_string(), "-q".to_string()];
        assert_eq!(entry(&[], &argv), argv);
        let with = entry(&[(8081, PathBuf::from("/x.sock"))], &argv);
        assert_eq!(with[0], "/bin/sh");
        assert!(
            with[2].contains("TCP-LISTEN:8081,bind=127.0.0.1"),
            "{}",
            with[2]
        );
        assert!(with[2].contains("UNIX-CONNECT:/run/ccci/relay-0.sock"));
        assert_eq!(&with[4..], &argv[..]);
    }

    #[test]
    fn an_out_dir_that_cannot_be_made_is_named() {
        let file = std::env::temp_dir().join(format!("ccci-sbx-file-{}", std::process::id()));
        std::fs::write(&file, b"not a directory").unwrap();
        let dir = file.join("out");
        let err = prepare_out_dir(&dir).unwrap_err();
        let _ = std::fs::remove_file(&file);
        assert!(matches!(err, SandboxError::CreateOutDir { .. }), "{err:?}");
        assert!(
            err.to_string()
                .starts_with(&format!("creating {}: ", dir.display())),
            "{err}"
        );
    }

    #[test]
    fn an_overrun_says_so_in_the_words_runs_record() {
        let err = SandboxError::Overran { secs: 300 };
        assert_eq!(
            err.to_string(),
            "did not finish within 300 s (the suite's deploy_timeout); stopped"
        );
    }
}
