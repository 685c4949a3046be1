//! A best-effort screenshot of the app's landing page. Cosmetic: it never changes or blocks
//! the verdict (a missing picture is a logged reason), and it is skipped when the page shows
//! any secret value.
//!
//! The page is the pull request's, so no browser runs on the CI host: headless Chromium runs
//! in a throwaway container of cc-ci's browser image (`ccci-browser`, Debian's chromium;
//! `images/debian/build.sh browser`) on the rig's `proxy` network, reaching the app's domain
//! the way the test sandbox does (the run's forwarder, or the ingress). The container is the
//! sandbox: uid 10001, no capabilities, no new privileges, a read-only root with tmpfs for
//! the profile, 1 GiB / 1 CPU / 512 pids, a hard time limit, one mount (an empty output
//! directory for the PNG), removed afterwards. Chromium runs with `--no-sandbox` inside it:
//! its own sandbox needs what the container withholds (user namespaces or a setuid helper),
//! and the container is the boundary.
//!
//! The page is loaded twice: `--dump-dom` first, whose DOM cc-ci checks on the host for any
//! secret value (a page that shows one is not photographed), then `--screenshot`.

use crate::ctx::RunCtx;
use ccci_adapters::probe::Route;
use ccci_adapters::rig_container::{docker, ever_started, output, rm, start, RigContainerError};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The browser image (`images/debian/build.sh browser` builds it).
pub const BROWSER_IMAGE: &str = "ccci-browser:latest";
const BROWSER_USER: &str = "10001:10001";
const BROWSER_UID: u32 = 10001;
/// Limits of one browser container.
const MEMORY: &str = "1g";
const CPUS: &str = "1";
const PIDS: &str = "512";
/// The hard time limit of one page load (the container is removed when it is reached).
const BOUND: Duration = Duration::from_secs(40);
/// Where the output directory is mounted inside the container.
const OUT_DIR: &str = "/out";

/// Why no screenshot was taken (cosmetic: logged, never a failure).
#[derive(Debug, thiserror::Error)]
pub enum ScreenshotError {
    /// The rig takes no screenshots (`[rig] screenshots = false`).
    #[error("this rig takes none ([rig] screenshots = false)")]
    Off,
    /// No address of the run's forwarder on `proxy` to point the app's domain at.
    #[error("the run's forwarder has no address on the proxy network")]
    NoForwarder,
    #[error("preparing {}: {cause}", dir.display())]
    OutDir { dir: PathBuf, cause: std::io::Error },
    /// The docker CLI could not be run, or did not answer in time.
    #[error("the browser container: {0}")]
    Docker(RigContainerError),
    /// `docker create` refused (most often: the browser image is not built).
    #[error(
        "cannot create the browser container ({BROWSER_IMAGE}; build it with images/debian/build.sh browser): {stderr}"
    )]
    CannotCreate { stderr: String },
    #[error("the browser container did not start: {stderr}")]
    NotStarted { stderr: String },
    #[error("chromium in the browser container did not load the page ({status})")]
    NoAnswer { status: String },
    /// The DOM shows a secret value: the picture is not taken.
    #[error("the landing page shows a secret; no screenshot")]
    ShowsSecret,
    #[error("chromium in the browser container wrote no screenshot")]
    NoPicture,
}

/// How the browser container reaches the app's domain.
#[derive(Debug, PartialEq, Eq)]
struct Reach {
    url: String,
    /// An `/etc/hosts` entry: the domain → the forwarder's address on `proxy`.
    host: Option<(String, String)>,
    /// Chromium's `--host-resolver-rules`, for an ingress at a given address.
    resolver_rule: Option<String>,
}

/// Where the domain points inside the container: the forwarder's address on `proxy` (it
/// listens on port 80 there); an ingress's address, unless that is the CI host's loopback
/// (unreachable from a container: the domain is then resolved by DNS, as in the sandbox).
fn reach(
    domain: &str,
    route: &Route,
    forwarder_ip: Option<&str>,
) -> Result<Reach, ScreenshotError> {
    match route {
        Route::Forwarded { .. } => {
            let ip = forwarder_ip.ok_or(ScreenshotError::NoForwarder)?;
            Ok(Reach {
                url: format!("http://{domain}/"),
                host: Some((domain.to_string(), ip.to_string())),
                resolver_rule: None,
            })
        }
        Route::Ingress { addr, https } => {
            let scheme = if *https { "https" } else { "http" };
            Ok(Reach {
                url: format!("{scheme}://{domain}/"),
                host: None,
                resolver_rule: (!addr.ip().is_loopback()).then(|| format!("MAP {domain} {addr}")),
            })
        }
    }
}

/// What one load of the page does.
enum Load {
    /// Print the DOM on stdout.
    DumpDom,
    /// Write `/out/screenshot.png`.
    Screenshot,
}

/// Chromium's command line inside the container.
fn chromium_argv(reach: &Reach, load: &Load) -> Vec<String> {
    let mut argv: Vec<String> = [
        "chromium",
        "--headless",
        // The container is the sandbox (see the module's doc).
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--no-first-run",
        "--hide-scrollbars",
        "--ignore-certificate-errors",
        "--user-data-dir=/tmp/profile",
    ]
    .map(String::from)
    .to_vec();
    if let Some(rule) = &reach.resolver_rule {
        argv.push(format!("--host-resolver-rules={rule}"));
    }
    match load {
        Load::DumpDom => argv.push("--dump-dom".into()),
        Load::Screenshot => argv.extend([
            format!("--screenshot={OUT_DIR}/screenshot.png"),
            "--window-size=1280,800".into(),
        ]),
    }
    argv.push(reach.url.clone());
    argv
}

/// The isolation every browser container gets.
fn isolation() -> Vec<String> {
    ccci_adapters::rig_container::locked_down(&ccci_adapters::rig_container::Limits {
        user: BROWSER_USER,
        memory: MEMORY,
        cpus: CPUS,
        pids: PIDS,
        tmp: "512m",
    })
}

/// Writes `<out>/screenshot.png`; returns why not when it could not or should not.
pub async fn take(ctx: &RunCtx, out: &Path) -> Result<(), ScreenshotError> {
    if !ctx.app.screenshots {
        return Err(ScreenshotError::Off);
    }
    let forwarder_ip = match ctx.app.route.route {
        Route::Forwarded { .. } => ccci_adapters::stack::forwarder_address(&ctx.app.stack).await,
        Route::Ingress { .. } => None,
    };
    let reach = reach(
        &ctx.app.domain,
        &ctx.app.route.route,
        forwarder_ip.as_deref(),
    )?;
    let dom = load(&ctx.app.stack, &reach, Load::DumpDom, None).await?;
    if ctx.redactor.leaks_in(&dom) {
        return Err(ScreenshotError::ShowsSecret);
    }
    let shots = ctx.app.work_dir.join("browser-out");
    let taken = photograph(&ctx.app.stack, &reach, &shots, out).await;
    let _ = std::fs::remove_dir_all(&shots);
    taken?;
    ctx.progress.line(&format!(
        "screenshot: taken by headless Chromium in the browser container ({BROWSER_IMAGE})"
    ));
    Ok(())
}

/// The screenshot load, into a fresh `shots` directory, moved to `<out>/screenshot.png`.
async fn photograph(
    stack: &str,
    reach: &Reach,
    shots: &Path,
    out: &Path,
) -> Result<(), ScreenshotError> {
    prepare_dir(shots)?;
    load(stack, reach, Load::Screenshot, Some(shots)).await?;
    let png = shots.join("screenshot.png");
    if !png.is_file() {
        return Err(ScreenshotError::NoPicture);
    }
    let file = out.join("screenshot.png");
    std::fs::copy(&png, &file).map_err(|cause| ScreenshotError::OutDir {
        dir: out.to_path_buf(),
        cause,
    })?;
    Ok(())
}

/// Loads the page once in a fresh browser container (removed afterwards): its stdout.
async fn load(
    stack: &str,
    reach: &Reach,
    what: Load,
    shots: Option<&Path>,
) -> Result<String, ScreenshotError> {
    let name = format!("ccci-shot-{stack}-{:08x}", rand::random::<u32>());
    let mut cmd = docker();
    cmd.args(["create", "--name", &name]).args(isolation());
    cmd.args(["--network", ccci_core::rig::PROXY_NETWORK]);
    cmd.args([
        "--label",
        &format!("{}={stack}", ccci_adapters::engine::STACK_LABEL),
    ]);
    cmd.args(["--label", "ccci.browser=true"]);
    if let Some(dir) = shots {
        cmd.arg("--volume")
            .arg(format!("{}:{OUT_DIR}:rw", dir.display()));
    }
    if let Some((host, ip)) = &reach.host {
        cmd.args(["--add-host", &format!("{host}:{ip}")]);
    }
    cmd.arg(BROWSER_IMAGE).args(chromium_argv(reach, &what));
    let created = output(cmd, Duration::from_secs(60))
        .await
        .map_err(ScreenshotError::Docker)?;
    if !created.status.success() {
        return Err(ScreenshotError::CannotCreate {
            stderr: String::from_utf8_lossy(&created.stderr).trim().to_string(),
        });
    }
    let ran = attend(&name).await;
    let _ = output(rm(&name), Duration::from_secs(30)).await;
    ran
}

/// Starts the container and waits for it within [`BOUND`]. Chromium's own output is not
/// repeated in any message: it may quote the page.
async fn attend(name: &str) -> Result<String, ScreenshotError> {
    let out = start(name, true, BOUND)
        .await
        .map_err(ScreenshotError::Docker)?;
    if out.status.success() {
        return Ok(String::from_utf8_lossy(&out.stdout).into_owned());
    }
    if !ever_started(name).await {
        return Err(ScreenshotError::NotStarted {
            stderr: String::from_utf8_lossy(&out.stderr).trim().to_string(),
        });
    }
    Err(ScreenshotError::NoAnswer {
        status: match out.status.code() {
            Some(code) => format!("exit {code}"),
            None => "killed".to_string(),
        },
    })
}

/// An empty directory the browser's user may write to.
fn prepare_dir(dir: &Path) -> Result<(), ScreenshotError> {
    let failed = |cause| ScreenshotError::OutDir {
        dir: dir.to_path_buf(),
        cause,
    };
    let _ = std::fs::remove_dir_all(dir);
    std::fs::create_dir_all(dir).map_err(failed)?;
    std::os::unix::fs::chown(dir, Some(BROWSER_UID), Some(BROWSER_UID)).or_else(|_| {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o777)).map_err(failed)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ingress(addr: &str, https: bool) -> Route {
        Route::Ingress {
            addr: addr.parse().unwrap(),
            https,
        }
    }

    /// The domain reaches the app inside the container the way the test sandbox reaches it.
    #[test]
    fn the_domain_points_where_the_sandbox_points_it() {
        let fwd = Route::Forwarded {
            addr: "127.0.0.1:41234".into(),
        };
        let rows: [(Route, Option<&str>, Reach); 3] = [
            (
                fwd.clone(),
                Some("10.201.0.7"),
                Reach {
                    url: "http://ab-1.ci.local/".into(),
                    host: Some(("ab-1.ci.local".into(), "10.201.0.7".into())),
                    resolver_rule: None,
                },
            ),
            (
                ingress("127.0.0.1:443", true),
                None,
                Reach {
                    url: "https://ab-1.ci.local/".into(),
                    host: None,
                    resolver_rule: None,
                },
            ),
            (
                ingress("10.0.0.5:8080", false),
                None,
                Reach {
                    url: "http://ab-1.ci.local/".into(),
                    host: None,
                    resolver_rule: Some("MAP ab-1.ci.local 10.0.0.5:8080".into()),
                },
            ),
        ];
        for (route, ip, want) in rows {
            assert_eq!(
                reach("ab-1.ci.local", &route, ip).unwrap(),
                want,
                "{route:?}"
            );
        }
        assert!(matches!(
            reach("ab-1.ci.local", &fwd, None),
            Err(ScreenshotError::NoForwarder)
        ));
    }

    #[test]
    fn the_dom_is_dumped_before_the_picture_is_written_to_the_mount() {
        let r = Reach {
            url: "http://d/".into(),
            host: None,
            resolver_rule: Some("MAP d 10.0.0.5:80".into()),
        };
        let dump = chromium_argv(&r, &Load::DumpDom);
        assert!(dump.contains(&"--dump-dom".to_string()), "{dump:?}");
        assert!(dump.contains(&"--host-resolver-rules=MAP d 10.0.0.5:80".to_string()));
        assert_eq!(dump.last().unwrap(), "http://d/");
        let shot = chromium_argv(&r, &Load::Screenshot);
        assert!(
            shot.contains(&"--screenshot=/out/screenshot.png".to_string()),
            "{shot:?}"
        );
        assert!(!shot.contains(&"--dump-dom".to_string()));
        assert!(shot.contains(&"--user-data-dir=/tmp/profile".to_string()));
    }

    #[test]
    fn the_container_is_locked_down() {
        let args = isolation().join(" ");
        for want in [
            "--user 10001:10001",
            "--cap-drop ALL",
            "--security-opt no-new-privileges",
            "--read-only",
            "--memory 1g",
            "--pids-limit 512",
        ] {
            assert!(args.contains(want), "{want} missing: {args}");
        }
    }
}
