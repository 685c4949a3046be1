//! `ccci doctor`: what is wrong with a host, one line each, and what to fix. The checks are
//! gathered by adapters; this module holds the verdict and the rendering.

use serde::Serialize;

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

#[cfg(test)]
mod tests {
    use super::*;

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
