//! Logging drivers: `logging: driver: syslog|gelf|fluentd|splunk|awslogs|journald|…` makes
//! the CI host's Docker daemon ship the app's logs out of the engine's own store — it opens
//! the connections the driver's options name (`syslog-address: tcp://…`, from the host's
//! network) or writes to the host's journal — on the recipe's behalf.
//!
//! Key: `logging:<driver>` as written (`logging:syslog`,
//! `logging:grafana/loki-docker-driver:2.9.2`). The drivers that keep the logs in the
//! engine's store (`json-file`, `local`) or nowhere (`none`), and a `logging:` without a
//! driver (the engine's default), are no grant, whatever their options (`max-size`, …). A
//! driver's options are not in the key: a base's driver kept with another address is no new
//! grant.

use serde_yaml_ng::Value;

/// Drivers that keep logs in the engine's own store, or drop them.
const STORE_DRIVERS: &[&str] = &["json-file", "local", "none"];

/// The logging grant of a service, as (key, needle).
pub(super) fn grant(svc: &Value) -> Option<(String, String)> {
    let driver = svc
        .get("logging")?
        .get("driver")
        .and_then(Value::as_str)?
        .trim();
    if driver.is_empty() || STORE_DRIVERS.contains(&driver) {
        return None;
    }
    Some((format!("logging:{driver}"), driver.to_string()))
}

/// Checks the value of an operator's `logging:` key.
pub(super) fn check_value(driver: &str) -> Result<(), &'static str> {
    if STORE_DRIVERS.contains(&driver) {
        Err("json-file, local and none keep the logs in the engine's store: they need no allowance")
    } else if driver.is_empty() || driver.trim() != driver || driver.contains(char::is_whitespace) {
        Err("give the driver's name as written, e.g. logging:syslog")
    } else {
        Ok(())
    }
}

/// What a logging grant gives the app, in a phrase.
pub(super) fn describe(driver: &str) -> String {
    let what = if driver == "journald" {
        "writes the app's logs to the host's journal"
    } else {
        "ships the app's logs out of the engine's store, connecting where the driver's options say"
    };
    format!("the logging driver {driver} (the CI host's Docker daemon {what})")
}

/// The line (index into `block`, a service's lines) of `driver: <driver>` in the service's
/// `logging:` section, or of `logging:` itself written on one line (`{driver: gelf}`).
pub(super) fn line_of(driver: &str, block: &[&str]) -> Option<usize> {
    let start = block
        .iter()
        .position(|l| !super::is_comment(l) && l.trim_start().starts_with("logging:"))?;
    let names_driver = |l: &str| {
        let l = l.split('#').next().unwrap_or("");
        l.contains("driver:") && super::contains_word(l, driver)
    };
    if names_driver(block[start]) {
        return Some(start);
    }
    let indent = super::indent(block[start]);
    block[start + 1..]
        .iter()
        .take_while(|l| l.trim().is_empty() || super::is_comment(l) || super::indent(l) > indent)
        .position(|l| !super::is_comment(l) && names_driver(l))
        .map(|i| start + 1 + i)
}

#[cfg(test)]
mod tests;
