//! `ccci doctor`: what is wrong with a host, one line each, and what to fix. The checks are
//! gathered by adapters; this module holds the verdict and the rendering.

use serde::Serialize;
use std::path::{Path, PathBuf};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Ok,
    /// Worth knowing, never a failure (e.g. an engine without IPVS: cc-ci adapts).
    Warn,
    Fail,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Check {
    pub name: String,
    pub status: Status,
    pub detail: String,
    /// What to do about it (empty when nothing is to be done).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub fix: String,
}

impl Check {
    pub fn ok(name: &str, detail: impl Into<String>) -> Check {
        Check::new(name, Status::Ok, detail, "")
    }
    pub fn warn(name: &str, detail: impl Into<String>, fix: impl Into<String>) -> Check {
        Check::new(name, Status::Warn, detail, fix)
    }
    pub fn fail(name: &str, detail: impl Into<String>, fix: impl Into<String>) -> Check {
        Check::new(name, Status::Fail, detail, fix)
    }
    fn new(name: &str, status: Status, detail: impl Into<String>, fix: impl Into<String>) -> Check {
        Check {
            name: name.into(),
            status,
            detail: detail.into(),
            fix: fix.into(),
        }
    }
}

/// Whether any check failed (warnings never fail).
pub fn failed(checks: &[Check]) -> bool {
    checks.iter().any(|c| c.status == Status::Fail)
}

/// 0 when nothing failed (warnings included), 1 otherwise (`ccci doctor` maps
/// [`failed`] through its own exit type).
pub fn exit_code(checks: &[Check]) -> u8 {
    u8::from(failed(checks))
}

/// One line a check: `ok   docker      Engine 20.10.24`, with the fix after a failure or warning.
pub fn text(checks: &[Check]) -> String {
    let width = checks.iter().map(|c| c.name.len()).max().unwrap_or(0);
    let mut out = String::new();
    for c in checks {
        let mark = match c.status {
            Status::Ok => "ok  ",
            Status::Warn => "warn",
            Status::Fail => "FAIL",
        };
        out.push_str(&format!("{mark}  {:width$}  {}", c.name, c.detail));
        if !c.fix.is_empty() {
            out.push_str(&format!(" — fix: {}", c.fix));
        }
        out.push('\n');
    }
    out
}

/// The disk check: a warning from the prune threshold on, a failure when nearly full.
pub fn disk(used_percent: u8, threshold: u8) -> Check {
    let detail = format!("{used_percent}% used (prune threshold {threshold}%)");
    match used_percent {
        p if p >= 95 => Check::fail(
            "disk",
            detail,
            "free disk: `ccci prune --apply`, or remove old images and volumes by hand",
        ),
        p if p >= threshold => Check::warn(
            "disk",
            detail,
            "`ccci prune --apply` frees dangling images, stopped containers and old build cache",
        ),
        _ => Check::ok("disk", detail),
    }
}

/// The clock: the engine's and this host's time must agree (leases, timestamps, TLS).
pub fn clock(skew_secs: i64) -> Check {
    let detail = format!("engine and host clocks differ by {} s", skew_secs.abs());
    if skew_secs.abs() > 5 {
        Check::fail(
            "clock",
            detail,
            "synchronise the clock (systemd-timesyncd or chrony)",
        )
    } else {
        Check::ok("clock", detail)
    }
}

/// A mount of the container cc-ci runs in: the host's `source` seen at `destination`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mount {
    pub source: PathBuf,
    pub destination: PathBuf,
}

/// In a container, a path cc-ci hands to the engine (a sandbox's bind-mount source, a
/// volume's data under the engine's data root) is resolved on the **host**: the mount that
/// holds `path` must map it to the same path there. `what` names the path for the operator.
pub fn same_path(what: &str, path: &Path, mounts: &[Mount]) -> Check {
    let shown = path.display();
    let fix = format!("mount it at the same path in the service: `- {shown}:{shown}`");
    let holder = mounts
        .iter()
        .filter(|m| path.starts_with(&m.destination))
        .max_by_key(|m| m.destination.components().count());
    let Some(mount) = holder else {
        return Check::fail(
            "same path",
            format!("{what} {shown} is not mounted from the host, so the engine cannot see it"),
            fix,
        );
    };
    let rest = path
        .strip_prefix(&mount.destination)
        .unwrap_or(Path::new(""));
    let on_host = mount.source.join(rest);
    if on_host == path {
        Check::ok(
            "same path",
            format!("{what} {shown} is the same path on the host"),
        )
    } else {
        Check::fail(
            "same path",
            format!("{what} {shown} is {} on the host", on_host.display()),
            fix,
        )
    }
}

/// How a registry's API root (`/v2/`) answered the doctor's probe.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RegistryAnswer {
    /// An HTTP answer with this status.
    Status(u16),
    /// No answer: refused, unresolvable, a TLS failure (the client's words).
    Failed(String),
    /// No answer within the probe's bound (seconds).
    TimedOut(u64),
}

/// The check of one registry the recipes' images name: `url` is what was probed, `images`
/// the images it serves (shown).
pub fn registry(registry: &str, url: &str, images: &[String], answer: &RegistryAnswer) -> Check {
    let named = format!("{registry} (for {})", images.join(", "));
    let fix = format!("start the registry, or correct `{registry}` in the image names; pulls of these images fail until `curl -sI {url}` answers from this host");
    match answer {
        RegistryAnswer::Status(200) => Check::ok("registry", format!("{named} answers at {url}")),
        RegistryAnswer::Status(401) => Check::ok(
            "registry",
            format!("{named} answers at {url} and wants credentials (`docker login {registry}` on this host for private images)"),
        ),
        RegistryAnswer::Status(status) => Check::warn(
            "registry",
            format!("{named}: {url} answered {status}, not a registry's API root"),
            format!("check `{registry}` is a registry (its /v2/ answers 200 or 401)"),
        ),
        RegistryAnswer::Failed(why) => {
            Check::fail("registry", format!("{named} does not answer at {url}: {why}"), fix)
        }
        RegistryAnswer::TimedOut(secs) => Check::fail(
            "registry",
            format!("{named} did not answer at {url} within {secs}s"),
            fix,
        ),
    }
}

/// Where the doctor probes a registry's API root, as the engine would reach it: plain
/// HTTP for a loopback registry (the engine allows it there by default), HTTPS otherwise;
/// Docker Hub's API lives at `registry-1.docker.io`.
pub fn registry_api_url(registry: &str) -> String {
    let host = registry.rsplit_once(':').map_or(registry, |(h, _)| h);
    let loopback = host == "localhost" || host == "[::1]" || host.starts_with("127.");
    match registry {
        "docker.io" => "https://registry-1.docker.io/v2/".to_string(),
        _ if loopback => format!("http://{registry}/v2/"),
        _ => format!("https://{registry}/v2/"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_registry_is_probed_as_the_engine_reaches_it_and_judged_by_its_answer() {
        let urls = [
            ("127.0.0.1:5000", "http://127.0.0.1:5000/v2/"),
            ("localhost:5000", "http://localhost:5000/v2/"),
            ("git.coopcloud.tech", "https://git.coopcloud.tech/v2/"),
            ("docker.io", "https://registry-1.docker.io/v2/"),
        ];
        for (registry, url) in urls {
            assert_eq!(registry_api_url(registry), url, "{registry}");
        }
        let images = ["127.0.0.1:5000/a:1".to_string()];
        let url = "http://127.0.0.1:5000/v2/";
        let rows = [
            (RegistryAnswer::Status(200), Status::Ok, "answers at"),
            (
                RegistryAnswer::Status(401),
                Status::Ok,
                "docker login 127.0.0.1:5000",
            ),
            (
                RegistryAnswer::Status(404),
                Status::Warn,
                "not a registry's API root",
            ),
            (
                RegistryAnswer::Failed("connection refused".into()),
                Status::Fail,
                "connection refused",
            ),
            (RegistryAnswer::TimedOut(5), Status::Fail, "within 5s"),
        ];
        for (answer, status, says) in rows {
            let check = registry("127.0.0.1:5000", url, &images, &answer);
            assert_eq!(check.status, status, "{answer:?}");
            assert!(check.detail.contains(says), "{check:?}");
            assert!(check.detail.contains("127.0.0.1:5000/a:1"), "{check:?}");
            if status == Status::Fail {
                assert!(
                    check.fix.contains("curl -sI http://127.0.0.1:5000/v2/"),
                    "{check:?}"
                );
            }
        }
    }

    fn mount(source: &str, destination: &str) -> Mount {
        Mount {
            source: source.into(),
            destination: destination.into(),
        }
    }

    #[test]
    fn same_path_is_judged_by_the_deepest_mount_holding_the_path() {
        let volumes = "/var/lib/docker/volumes";
        let state = "/var/lib/docker/volumes/ci_state/_data";
        let table: &[(&str, &[Mount], Status, &str)] = &[
            (
                state,
                &[mount(volumes, volumes), mount(state, state)],
                Status::Ok,
                "is the same path on the host",
            ),
            (
                volumes,
                &[mount(volumes, volumes)],
                Status::Ok,
                "is the same path on the host",
            ),
            (
                "/var/lib/ccci/runs",
                &[mount("/srv/ccci", "/var/lib/ccci")],
                Status::Fail,
                "is /srv/ccci/runs on the host",
            ),
            (
                state,
                &[mount("/srv/docker/volumes", volumes)],
                Status::Fail,
                "is /srv/docker/volumes/ci_state/_data on the host",
            ),
            (
                volumes,
                &[mount("/var/lib/ccci", "/var/lib/ccci")],
                Status::Fail,
                "is not mounted from the host",
            ),
            (volumes, &[], Status::Fail, "is not mounted from the host"),
        ];
        for (path, mounts, status, says) in table {
            let check = same_path("the path", Path::new(path), mounts);
            assert_eq!(check.status, *status, "{path} with {mounts:?}: {check:?}");
            assert!(check.detail.contains(says), "{path}: {check:?}");
            if *status == Status::Fail {
                assert_eq!(
                    check.fix,
                    format!("mount it at the same path in the service: `- {path}:{path}`")
                );
            }
        }
    }

    #[test]
    fn warnings_never_fail_and_failures_do() {
        let ok = Check::ok("docker", "Engine 20.10");
        let warn = Check::warn("ipvs", "no IPVS", "nothing: cc-ci adapts");
        assert_eq!(exit_code(&[ok.clone(), warn.clone()]), 0);
        assert_eq!(
            exit_code(&[ok, warn, Check::fail("proxy", "missing", "create it")]),
            1
        );
    }

    #[test]
    fn disk_and_clock_table() {
        assert_eq!(disk(50, 80).status, Status::Ok);
        assert_eq!(disk(85, 80).status, Status::Warn);
        assert_eq!(disk(97, 80).status, Status::Fail);
        assert_eq!(clock(2).status, Status::Ok);
        assert_eq!(clock(-30).status, Status::Fail);
    }

    #[test]
    fn text_names_the_fix() {
        let t = text(&[Check::fail(
            "proxy",
            "no `proxy` network",
            "docker network create …",
        )]);
        assert!(
            t.starts_with("FAIL  proxy  no `proxy` network — fix: docker network create"),
            "{t}"
        );
    }
}
