//! A recipe's test suite metadata: `suite.toml`, in the CI's suite tree
//! (`<suites>/<recipe>/suite.toml`) or shipped in the recipe repo (`.ccci/suite.toml`).
//!
//! Keys are the names the docs use, in snake case: `health_path` (HEALTH_PATH), `deploy_timeout`
//! (DEPLOY_TIMEOUT), `ready_probes` (READY_PROBE), `upgrade_base_version`
//! (UPGRADE_BASE_VERSION), `expected_na` (EXPECTED_NA), `backup.verify` (BACKUP_VERIFY), …
//! A malformed file is an error naming the file, line and field.
//!
//! Readiness bounds, each a duration (`"90s"`, `"2m"`): `deploy_timeout` (default 5 m) for
//! the stack to converge and serve; `start_grace` (120 s) for a service without a
//! healthcheck to count as still starting; `min_uptime` (30 s) before GREEN; and
//! `serving_timeout` (60 s), how long a converged stack whose healthchecks pass may answer
//! `health_path` or an HTTP ready probe with a 5xx status before that is RED.
//!
//! `[upgrade] from = ["previous", "previous-minor", "1.0.0+1.2.3"]`: the releases the upgrade
//! is proven from (default: the previous release alone; see [`crate::upgrade_paths`]).
//!
//! `[host_access] allow = ["bind:/var/run/docker.sock"]` lets a recipe's compose files add
//! host access its base release did not have (keys: [`crate::host_access`]). It is obeyed
//! only from the CI's suite tree, never from the recipe's own `.ccci/`.

use crate::ladder::Rung;
use crate::upgrade_paths::UpgradeFrom;
use serde::Deserialize;
use std::collections::BTreeMap;
use thiserror::Error;

pub const DEFAULT_DEPLOY_TIMEOUT_SECS: u64 = 300;
/// How long the final app must have stayed up since its last (re)start before GREEN.
pub const DEFAULT_MIN_UPTIME_SECS: u64 = 30;
/// How long a service without a healthcheck counts as still starting (unless seen
/// listening sooner) while another service of its stack keeps restarting.
pub const DEFAULT_START_GRACE_SECS: u64 = 120;
/// How long a converged stack whose swarm healthchecks pass may answer `HEALTH_PATH` (or a
/// `READY_PROBE`) with a 5xx status before that is RED (`serving_timeout = "60s"`); bounded
/// on its own, not by `DEPLOY_TIMEOUT`.
pub const DEFAULT_SERVING_TIMEOUT_SECS: u64 = 60;

#[derive(Clone, Debug, Error, PartialEq, Eq)]
#[error("{file}{}: {message}", line.map(|l| format!(":{l}")).unwrap_or_default())]
pub struct SuiteError {
    pub file: String,
    pub line: Option<usize>,
    pub message: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Suite {
    pub health_path: String,
    pub deploy_timeout_secs: u64,
    pub ready_probes: Vec<ReadyProbe>,
    pub upgrade_base_version: Option<String>,
    /// Rungs declared not applicable, with the reason.
    pub expected_na: BTreeMap<Rung, String>,
    /// Overlay compose files (relative to the suite dir) added to `COMPOSE_FILE`.
    pub compose_overlays: Vec<String>,
    /// Extra app env set in `.env` before the first deploy.
    pub app_env: BTreeMap<String, String>,
    pub backup: BackupSettings,
    /// Hook executables (relative to the suite dir), by hook name.
    pub hooks: BTreeMap<String, String>,
    pub http_checks: Vec<HttpCheck>,
    /// Dependencies the recipe needs (e.g. `keycloak`); integration must verify them.
    pub dependencies: Vec<String>,
    /// `OIDC_AT_INSTALL`: the app reads its OIDC settings only at its first start, so they
    /// are in its `.env` before the single first deploy (names in [`Suite::oidc_env`]).
    pub oidc_at_install: bool,
    /// The app env names the OIDC settings go under.
    pub oidc_env: OidcEnv,
    /// Enrolled for warm canonicals and the nightly sweep.
    pub warm: bool,
    /// `min_uptime`: the final app must have stayed up this long since its last (re)start.
    pub min_uptime_secs: u64,
    /// `start_grace`: see [`DEFAULT_START_GRACE_SECS`].
    pub start_grace_secs: u64,
    /// `serving_timeout`: see [`DEFAULT_SERVING_TIMEOUT_SECS`].
    pub serving_timeout_secs: u64,
    /// `[upgrade] dropped_volumes`: volumes the head drops on purpose (a cache); their loss
    /// across the upgrade is reported as expected.
    pub dropped_volumes: Vec<String>,
    /// `[upgrade] from`: the upgrade paths to prove (default: `previous` alone).
    pub upgrade_from: Vec<UpgradeFrom>,
    /// `[host_access] allow`: host-access keys the operator allows for this recipe (obeyed
    /// only from the CI's suite tree).
    pub host_access_allow: Vec<String>,
}

/// `[host_access]`: host access the operator allows (see [`crate::host_access`]).
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HostAccessSettings {
    #[serde(default)]
    pub allow: Vec<String>,
}

/// `[upgrade]`: what the upgrade rung may expect of the head.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpgradeSettings {
    #[serde(default)]
    pub dropped_volumes: Vec<String>,
    /// Validated into [`Suite::upgrade_from`].
    #[serde(default)]
    pub from: Option<Vec<String>>,
}

/// `[oidc_env]`: the names of the app's env variables for its OIDC settings.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OidcEnv {
    pub issuer: String,
    pub client_id: String,
    pub client_secret: String,
}

impl Default for OidcEnv {
    fn default() -> Self {
        OidcEnv {
            issuer: "OIDC_ISSUER".into(),
            client_id: "OIDC_CLIENT_ID".into(),
            client_secret: "OIDC_CLIENT_SECRET".into(),
        }
    }
}

impl Default for Suite {
    fn default() -> Self {
        Suite {
            health_path: "/".into(),
            deploy_timeout_secs: DEFAULT_DEPLOY_TIMEOUT_SECS,
            ready_probes: Vec::new(),
            upgrade_base_version: None,
            expected_na: BTreeMap::new(),
            compose_overlays: Vec::new(),
            app_env: BTreeMap::new(),
            backup: BackupSettings::default(),
            hooks: BTreeMap::new(),
            http_checks: Vec::new(),
            dependencies: Vec::new(),
            oidc_at_install: false,
            oidc_env: OidcEnv::default(),
            warm: false,
            min_uptime_secs: DEFAULT_MIN_UPTIME_SECS,
            start_grace_secs: DEFAULT_START_GRACE_SECS,
            serving_timeout_secs: DEFAULT_SERVING_TIMEOUT_SECS,
            dropped_volumes: Vec::new(),
            upgrade_from: crate::upgrade_paths::default_from(),
            host_access_allow: Vec::new(),
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BackupSettings {
    /// A read-only probe run after each backup take; non-zero exit = capture is bad.
    pub verify: Option<String>,
    /// The URL path of the data marker (default `/data/ccci-marker` on the fixture app);
    /// suites of real apps write and check their marker with hooks instead.
    pub marker_path: Option<String>,
    /// Takes before giving up when `verify` keeps failing.
    pub attempts: Option<u32>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ReadyProbe {
    Http { url: String, status: u16 },
    Tcp { addr: String, connects: u32 },
}

#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpCheck {
    pub path: String,
    #[serde(default = "ok_status")]
    pub status: u16,
    pub body_contains: Option<String>,
    pub body_equals: Option<String>,
    pub name: Option<String>,
}

fn ok_status() -> u16 {
    200
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSuite {
    health_path: Option<String>,
    deploy_timeout: Option<toml::Value>,
    #[serde(default)]
    ready_probes: Vec<RawProbe>,
    upgrade_base_version: Option<String>,
    #[serde(default)]
    expected_na: BTreeMap<String, String>,
    #[serde(default)]
    compose_overlays: Vec<String>,
    #[serde(default)]
    app_env: BTreeMap<String, String>,
    #[serde(default)]
    backup: BackupSettings,
    #[serde(default)]
    hooks: BTreeMap<String, String>,
    #[serde(default)]
    http_checks: Vec<HttpCheck>,
    #[serde(default)]
    dependencies: Vec<String>,
    #[serde(default)]
    oidc_at_install: bool,
    #[serde(default)]
    oidc_env: OidcEnv,
    #[serde(default)]
    warm: bool,
    min_uptime: Option<toml::Value>,
    start_grace: Option<toml::Value>,
    serving_timeout: Option<toml::Value>,
    #[serde(default)]
    upgrade: UpgradeSettings,
    #[serde(default)]
    host_access: HostAccessSettings,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawProbe {
    http: Option<String>,
    status: Option<u16>,
    tcp: Option<String>,
    connects: Option<u32>,
}

/// Hook names a suite may define, in lifecycle order.
pub const HOOKS: &[&str] = &[
    "install_steps",
    "post_install",
    "pre_upgrade",
    "post_upgrade",
    "pre_backup",
    "post_backup",
    "pre_restore",
    "post_restore",
];

/// Parses a duration: whole seconds (`90`) or a number with `s`, `m` or `h` (`5m`).
pub fn parse_duration_secs(text: &str) -> Option<u64> {
    let t = text.trim();
    let (num, mult) = match t.char_indices().last()? {
        (i, 's') => (&t[..i], 1),
        (i, 'm') => (&t[..i], 60),
        (i, 'h') => (&t[..i], 3600),
        _ => (t, 1),
    };
    // A number too large for its unit is not a duration (not an overflow panic).
    num.trim().parse::<u64>().ok()?.checked_mul(mult)
}

/// The 1-based line holding byte `offset` of `text` (a parse error's span), within the file.
fn line_at(text: &str, offset: usize) -> usize {
    let before = &text.as_bytes()[..offset.min(text.len())];
    let line = before.iter().filter(|b| **b == b'\n').count() + 1;
    line.min(text.lines().count().max(1))
}

/// The readiness bounds of a suite, each in seconds (see the module docs).
struct ReadinessBounds {
    deploy_timeout_secs: u64,
    min_uptime_secs: u64,
    start_grace_secs: u64,
    serving_timeout_secs: u64,
}

/// The `suite.toml` being parsed, for errors that name its file and the line of a field.
struct SuiteText<'a> {
    file: &'a str,
    text: &'a str,
}

impl SuiteText<'_> {
    fn error(&self, line: Option<usize>, message: String) -> SuiteError {
        SuiteError {
            file: self.file.to_string(),
            line,
            message,
        }
    }

    /// The first line (1-based) starting with `needle` once indentation is trimmed.
    fn line_starting(&self, needle: &str) -> Option<usize> {
        self.text
            .lines()
            .position(|l| l.trim_start().starts_with(needle))
            .map(|i| i + 1)
    }

    /// The first line (1-based) holding `value` in double or single quotes.
    fn line_quoting(&self, value: &str) -> Option<usize> {
        let (double, single) = (format!("\"{value}\""), format!("'{value}'"));
        self.text
            .lines()
            .position(|l| l.contains(&double) || l.contains(&single))
            .map(|i| i + 1)
    }

    fn raw_suite(&self) -> Result<RawSuite, SuiteError> {
        toml::from_str(self.text).map_err(|e| {
            let line = e.span().map(|s| line_at(self.text, s.start));
            self.error(line, e.message().to_string())
        })
    }

    /// `key`'s duration in seconds, `default` when absent; zero only when `zero_ok`.
    fn duration(
        &self,
        key: &str,
        value: &Option<toml::Value>,
        default: u64,
        zero_ok: bool,
    ) -> Result<u64, SuiteError> {
        // The value is not echoed: messages name the field and the fix, never content.
        let bad = || {
            self.error(
                self.line_starting(key),
                format!("{key} is not a duration; write seconds (300) or \"5m\""),
            )
        };
        match value {
            None => Ok(default),
            Some(toml::Value::Integer(n)) if *n > 0 || (zero_ok && *n == 0) => Ok(*n as u64),
            Some(toml::Value::String(s)) => parse_duration_secs(s)
                .filter(|n| *n > 0 || zero_ok)
                .ok_or_else(bad),
            Some(_) => Err(bad()),
        }
    }

    fn readiness_bounds(&self, raw: &RawSuite) -> Result<ReadinessBounds, SuiteError> {
        Ok(ReadinessBounds {
            deploy_timeout_secs: self.duration(
                "deploy_timeout",
                &raw.deploy_timeout,
                DEFAULT_DEPLOY_TIMEOUT_SECS,
                false,
            )?,
            min_uptime_secs: self.duration(
                "min_uptime",
                &raw.min_uptime,
                DEFAULT_MIN_UPTIME_SECS,
                true,
            )?,
            start_grace_secs: self.duration(
                "start_grace",
                &raw.start_grace,
                DEFAULT_START_GRACE_SECS,
                false,
            )?,
            serving_timeout_secs: self.duration(
                "serving_timeout",
                &raw.serving_timeout,
                DEFAULT_SERVING_TIMEOUT_SECS,
                false,
            )?,
        })
    }

    /// `[expected_na]`: rungs that may be N/A (not `install`), each with a reason.
    fn expected_na(
        &self,
        entries: BTreeMap<String, String>,
    ) -> Result<BTreeMap<Rung, String>, SuiteError> {
        let mut expected_na = BTreeMap::new();
        for (name, reason) in entries {
            let rung = Rung::parse(&name).filter(|r| r.on_ladder() && *r != Rung::Install).ok_or_else(|| {
                self.error(
                    self.line_starting(&name),
                    format!("expected_na: `{name}` is not a rung that can be N/A; use upgrade, backup_restore, functional or lint"),
                )
            })?;
            if reason.trim().is_empty() {
                return Err(self.error(
                    self.line_starting(&name),
                    format!("expected_na.{name}: give the reason it does not apply"),
                ));
            }
            expected_na.insert(rung, reason);
        }
        Ok(expected_na)
    }

    /// `[[ready_probes]]`: each exactly one of an HTTP path or a TCP `host:port`.
    fn ready_probes(&self, raw: Vec<RawProbe>) -> Result<Vec<ReadyProbe>, SuiteError> {
        raw.into_iter()
            .enumerate()
            .map(|(i, p)| match (p.http, p.tcp) {
                (Some(url), None) => Ok(ReadyProbe::Http { url, status: p.status.unwrap_or(200) }),
                (None, Some(addr)) if !addr.contains(':') => {
                    Err(self.error(None, format!("ready_probes[{i}]: tcp must be host:port")))
                }
                (None, Some(addr)) => Ok(ReadyProbe::Tcp { addr, connects: p.connects.unwrap_or(3) }),
                _ => Err(self.error(
                    None,
                    format!("ready_probes[{i}]: give exactly one of `http = \"/path\"` or `tcp = \"host:port\"`"),
                )),
            })
            .collect()
    }

    /// `[hooks]`: only the names in [`HOOKS`].
    fn check_hooks(&self, hooks: &BTreeMap<String, String>) -> Result<(), SuiteError> {
        match hooks.keys().find(|name| !HOOKS.contains(&name.as_str())) {
            None => Ok(()),
            Some(name) => Err(self.error(
                self.line_starting(name),
                format!(
                    "hooks.{name} is not a known hook; known hooks: {}",
                    HOOKS.join(", ")
                ),
            )),
        }
    }

    /// `health_path`, `/` when absent; a path from the root.
    fn health_path(&self, raw: Option<String>) -> Result<String, SuiteError> {
        let health_path = raw.unwrap_or_else(|| "/".into());
        if !health_path.starts_with('/') {
            return Err(self.error(
                self.line_starting("health_path"),
                "health_path must start with /".to_string(),
            ));
        }
        Ok(health_path)
    }

    /// `[host_access] allow`: each an engine-object key or a host-access key.
    fn check_host_access(&self, settings: &HostAccessSettings) -> Result<(), SuiteError> {
        for key in &settings.allow {
            crate::deployed::validate_object_key(key)
                .unwrap_or_else(|| crate::host_access::validate_key(key))
                .map_err(|message| {
                    self.error(
                        self.line_quoting(key),
                        format!("host_access.allow: {message}"),
                    )
                })?;
        }
        Ok(())
    }

    /// `[upgrade] from`, the previous release alone when absent.
    fn upgrade_from(&self, settings: &UpgradeSettings) -> Result<Vec<UpgradeFrom>, SuiteError> {
        match &settings.from {
            None => Ok(crate::upgrade_paths::default_from()),
            Some(entries) => crate::upgrade_paths::parse_from(entries)
                .map_err(|m| self.error(self.line_starting("from"), m)),
        }
    }

    /// `oidc_at_install` needs Keycloak among the dependencies.
    fn check_oidc_at_install(
        &self,
        oidc_at_install: bool,
        dependencies: &[String],
    ) -> Result<(), SuiteError> {
        if oidc_at_install && !dependencies.iter().any(|d| d == "keycloak") {
            return Err(self.error(
                self.line_starting("oidc_at_install"),
                "oidc_at_install = true needs dependencies = [\"keycloak\"]".into(),
            ));
        }
        Ok(())
    }
}

impl Suite {
    pub fn parse(file: &str, text: &str) -> Result<Suite, SuiteError> {
        let source = SuiteText { file, text };
        let raw = source.raw_suite()?;
        let bounds = source.readiness_bounds(&raw)?;
        let expected_na = source.expected_na(raw.expected_na)?;
        let ready_probes = source.ready_probes(raw.ready_probes)?;
        source.check_hooks(&raw.hooks)?;
        let health_path = source.health_path(raw.health_path)?;
        source.check_host_access(&raw.host_access)?;
        let upgrade_from = source.upgrade_from(&raw.upgrade)?;
        source.check_oidc_at_install(raw.oidc_at_install, &raw.dependencies)?;
        Ok(Suite {
            health_path,
            deploy_timeout_secs: bounds.deploy_timeout_secs,
            ready_probes,
            upgrade_base_version: raw.upgrade_base_version,
            expected_na,
            compose_overlays: raw.compose_overlays,
            app_env: raw.app_env,
            backup: raw.backup,
            hooks: raw.hooks,
            http_checks: raw.http_checks,
            dependencies: raw.dependencies,
            oidc_at_install: raw.oidc_at_install,
            oidc_env: raw.oidc_env,
            warm: raw.warm,
            min_uptime_secs: bounds.min_uptime_secs,
            start_grace_secs: bounds.start_grace_secs,
            serving_timeout_secs: bounds.serving_timeout_secs,
            dropped_volumes: raw.upgrade.dropped_volumes,
            upgrade_from,
            host_access_allow: raw.host_access.allow,
        })
    }

    /// The keys of `suite.toml` on which `other` differs from this suite (`expected_na`
    /// rung by rung), e.g. `["deploy_timeout", "expected_na.backup_restore"]`.
    pub fn differences(&self, other: &Suite) -> Vec<String> {
        let mut out = Vec::new();
        let mut field = |name: &str, differs: bool| {
            if differs {
                out.push(name.to_string());
            }
        };
        field("health_path", self.health_path != other.health_path);
        field(
            "deploy_timeout",
            self.deploy_timeout_secs != other.deploy_timeout_secs,
        );
        field("ready_probes", self.ready_probes != other.ready_probes);
        field(
            "upgrade_base_version",
            self.upgrade_base_version != other.upgrade_base_version,
        );
        field(
            "compose_overlays",
            self.compose_overlays != other.compose_overlays,
        );
        field("app_env", self.app_env != other.app_env);
        field("backup", self.backup != other.backup);
        field("hooks", self.hooks != other.hooks);
        field("http_checks", self.http_checks != other.http_checks);
        field("dependencies", self.dependencies != other.dependencies);
        field(
            "oidc_at_install",
            self.oidc_at_install != other.oidc_at_install,
        );
        field("oidc_env", self.oidc_env != other.oidc_env);
        field("warm", self.warm != other.warm);
        field("min_uptime", self.min_uptime_secs != other.min_uptime_secs);
        field(
            "start_grace",
            self.start_grace_secs != other.start_grace_secs,
        );
        field(
            "serving_timeout",
            self.serving_timeout_secs != other.serving_timeout_secs,
        );
        field(
            "upgrade.dropped_volumes",
            self.dropped_volumes != other.dropped_volumes,
        );
        field("upgrade.from", self.upgrade_from != other.upgrade_from);
        field(
            "host_access.allow",
            self.host_access_allow != other.host_access_allow,
        );
        let rungs: std::collections::BTreeSet<&Rung> = self
            .expected_na
            .keys()
            .chain(other.expected_na.keys())
            .collect();
        for rung in rungs {
            if self.expected_na.get(rung) != other.expected_na.get(rung) {
                out.push(format!("expected_na.{rung}"));
            }
        }
        if out.is_empty() && self != other {
            out.push("other keys".into());
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_full_suite() {
        let text = r#"
health_path = "/health"
deploy_timeout = "2m"
upgrade_base_version = "1.0.0+1.0.0"
compose_overlays = ["compose.ccci.yml"]
dependencies = []
warm = true

[expected_na]
backup_restore = "stateless: nothing to back up"
lint = "linted upstream"

[app_env]
GREETING = "hi"

[backup]
verify = "verify-backup"

[hooks]
pre_upgrade = "hooks/pre-upgrade"

[[ready_probes]]
http = "/version"
status = 200

[[ready_probes]]
tcp = "127.0.0.1:5432"
connects = 2

[[http_checks]]
path = "/"
body_contains = "fixture"
"#;
        let s = Suite::parse("suite.toml", text).unwrap();
        assert_eq!(s.health_path, "/health");
        assert_eq!(s.deploy_timeout_secs, 120);
        assert_eq!(
            s.expected_na.get(&Rung::BackupRestore).unwrap(),
            "stateless: nothing to back up"
        );
        assert_eq!(s.expected_na.get(&Rung::Lint).unwrap(), "linted upstream");
        assert_eq!(s.ready_probes.len(), 2);
        assert_eq!(
            s.ready_probes[1],
            ReadyProbe::Tcp {
                addr: "127.0.0.1:5432".into(),
                connects: 2
            }
        );
        assert_eq!(s.http_checks[0].status, 200);
        assert_eq!(s.backup.verify.as_deref(), Some("verify-backup"));
        assert!(s.warm);
        assert!(!s.oidc_at_install);
        assert_eq!(s.oidc_env, OidcEnv::default());
        assert_eq!(s.serving_timeout_secs, DEFAULT_SERVING_TIMEOUT_SECS);
    }

    #[test]
    fn upgrade_from_defaults_to_the_previous_release_and_names_bad_values() {
        let s = Suite::parse("suite.toml", "").unwrap();
        assert_eq!(s.upgrade_from, [UpgradeFrom::Previous]);
        let s = Suite::parse(
            "suite.toml",
            "[upgrade]\nfrom = [\"previous\", \"previous-minor\", \"1.0.0+1.2\"]\n",
        )
        .unwrap();
        assert_eq!(s.upgrade_from.len(), 3);
        let e = Suite::parse(
            "suites/web/suite.toml",
            "warm = true\n[upgrade]\nfrom = [\"previous\", \"last-year\"]\n",
        )
        .unwrap_err();
        assert_eq!(e.file, "suites/web/suite.toml");
        assert_eq!(e.line, Some(3), "{e}");
        assert!(
            e.to_string()
                .contains("upgrade.from: `last-year` is not an upgrade path; write \"previous\""),
            "{e}"
        );
        let e = Suite::parse("suite.toml", "[upgrade]\nfrom = [\"previous-minor\"]\n").unwrap_err();
        assert!(e.message.contains("must include \"previous\""), "{e}");
    }

    #[test]
    fn serving_timeout_is_a_duration_of_its_own() {
        let s = Suite::parse("suite.toml", "serving_timeout = \"90s\"\n").unwrap();
        assert_eq!(s.serving_timeout_secs, 90);
        assert_eq!(s.deploy_timeout_secs, DEFAULT_DEPLOY_TIMEOUT_SECS);
        let e = Suite::parse("suite.toml", "serving_timeout = \"soon\"\n").unwrap_err();
        assert!(e.message.contains("serving_timeout"), "{e}");
    }

    #[test]
    fn oidc_settings() {
        let text = "dependencies = [\"keycloak\"]\noidc_at_install = true\n[oidc_env]\nissuer = \"SSO_ISSUER\"\n";
        let s = Suite::parse("suite.toml", text).unwrap();
        assert!(s.oidc_at_install);
        assert_eq!(s.oidc_env.issuer, "SSO_ISSUER");
        assert_eq!(s.oidc_env.client_id, "OIDC_CLIENT_ID");
        assert_eq!(s.oidc_env.client_secret, "OIDC_CLIENT_SECRET");
    }

    #[test]
    fn errors_name_file_line_and_field() {
        let cases: &[(&str, Option<usize>, &str)] = &[
            (
                "health_path = \"/\"\nhelth_path = 1\n",
                Some(2),
                "unknown field `helth_path`",
            ),
            (
                "deploy_timeout = \"soon\"\n",
                Some(1),
                "deploy_timeout is not a duration",
            ),
            (
                "[expected_na]\ninstall = \"no\"\n",
                Some(2),
                "not a rung that can be N/A",
            ),
            (
                "[expected_na]\nfunctional = \"\"\n",
                Some(2),
                "give the reason",
            ),
            ("[hooks]\npre_party = \"x\"\n", Some(2), "not a known hook"),
            ("[[ready_probes]]\nstatus = 200\n", None, "exactly one of"),
            ("health_path = \"health\"\n", Some(1), "must start with /"),
            ("oidc_at_install = true\n", Some(1), "needs dependencies"),
            (
                "dependencies = [\"keycloak\"]\n[oidc_env]\nissuer_url = \"X\"\n",
                Some(3),
                "unknown field `issuer_url`",
            ),
            ("health_path = \n", Some(1), ""),
            (
                "[host_access]\nallow = [\n  \"pid:host\",\n  \"docker.sock\",\n]\n",
                Some(4),
                "host_access.allow: `docker.sock` is not a host-access key",
            ),
            (
                "[host_access]\ndeny = []\n",
                Some(2),
                "unknown field `deny`",
            ),
        ];
        for (text, line, needle) in cases {
            let e = Suite::parse("suites/x/suite.toml", text).unwrap_err();
            for value in ["soon", "\"health\""] {
                assert!(!e.message.contains(value), "{text:?} echoes a value: {e}");
            }
            assert_eq!(e.file, "suites/x/suite.toml");
            assert_eq!(e.line, *line, "{text:?}: {e}");
            assert!(e.message.contains(needle), "{text:?}: {e}");
        }
    }

    #[test]
    fn host_access_allow_and_differences() {
        let ci = Suite::parse(
            "suites/web/suite.toml",
            "deploy_timeout = \"2m\"\n[host_access]\nallow = [\"bind:/var/run/docker.sock\", \"cap_add:NET_ADMIN\"]\n",
        )
        .unwrap();
        assert_eq!(
            ci.host_access_allow,
            ["bind:/var/run/docker.sock", "cap_add:NET_ADMIN"]
        );
        assert!(ci.differences(&ci.clone()).is_empty());
        let head = Suite::parse(
            ".ccci/suite.toml",
            "deploy_timeout = \"30m\"\n[expected_na]\nbackup_restore = \"not needed\"\n",
        )
        .unwrap();
        assert_eq!(
            ci.differences(&head),
            [
                "deploy_timeout",
                "host_access.allow",
                "expected_na.backup_restore"
            ]
        );
    }

    /// Found by fuzzing: a TOML error whose span starts inside a multi-byte character
    /// panicked while finding its line.
    #[test]
    fn an_error_at_a_multibyte_character_names_its_line() {
        for (text, line) in [("ዂ=", 1), ("¡ = 1.5\n", 1), ("warm = true\né = 1\n", 2)] {
            let err = Suite::parse("suite.toml", text).unwrap_err();
            assert_eq!(err.line, Some(line), "{text:?}: {err}");
            assert!(!err.message.is_empty());
        }
    }

    /// Found by fuzzing: a number too large for its unit overflowed (a panic in debug
    /// builds, a wrong timeout in release).
    #[test]
    fn a_duration_too_large_for_its_unit_is_not_a_duration() {
        assert_eq!(parse_duration_secs("307445734561825861h"), None);
        assert_eq!(parse_duration_secs("18446744073709551615s"), Some(u64::MAX));
        let err =
            Suite::parse("suite.toml", "deploy_timeout = \"307445734561825861m\"\n").unwrap_err();
        assert!(err.message.contains("is not a duration"), "{err}");
    }

    #[test]
    fn durations() {
        for (t, want) in [
            ("90", Some(90)),
            ("5m", Some(300)),
            ("1h", Some(3600)),
            ("2 s", Some(2)),
            ("x", None),
            ("", None),
        ] {
            assert_eq!(parse_duration_secs(t), want, "{t}");
        }
    }
}
