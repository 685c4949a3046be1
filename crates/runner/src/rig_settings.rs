//! The rig's settings as the CLI and the service both give them, validated into one
//! [`Rig`] by one function, [`validate`].
//!
//! The service reads them from its TOML file (`[rig]`, `[keycloak]`) with `CCCI_*`
//! overrides ([`apply_env`]); the CLI from flags whose environment variables are the same
//! names ([`mod@env`]). Either way the raw values land in [`RawRig`] and [`RawKeycloak`], and
//! [`validate`] applies the defaults, checks every value and reads the Keycloak admin's
//! password — once, into a [`Secret`]. Each [`RigProblem`] names its [`RigField`], which
//! knows its TOML key, its flag and its variable, so each caller names the field the way
//! its user wrote it.

use crate::request::Rig;
use crate::request::DEFAULT_PRUNE_THRESHOLD;
use ccci_adapters::keycloak::KeycloakConfig;
use ccci_core::secret::Secret;
use serde::Deserialize;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The environment variables of the rig's settings (the CLI's flags and the service's
/// overrides read the same ones).
pub mod env {
    pub const CI_DOMAIN: &str = "CCCI_CI_DOMAIN";
    pub const SUITES_DIR: &str = "CCCI_SUITES_DIR";
    pub const STATE_DIR: &str = "CCCI_STATE_DIR";
    pub const INGRESS: &str = "CCCI_INGRESS";
    pub const INGRESS_HTTPS: &str = "CCCI_INGRESS_HTTPS";
    pub const INGRESS_CA: &str = "CCCI_INGRESS_CA";
    pub const SERVICE_VIPS: &str = "CCCI_SERVICE_VIPS";
    pub const DEADLINE_SECS: &str = "CCCI_DEADLINE_SECS";
    pub const PRUNE_THRESHOLD: &str = "CCCI_PRUNE_THRESHOLD";
    pub const PULL_TIMEOUT_SECS: &str = "CCCI_PULL_TIMEOUT_SECS";
    pub const SCREENSHOTS: &str = "CCCI_SCREENSHOTS";
    pub const KEYCLOAK_URL: &str = "CCCI_KEYCLOAK_URL";
    pub const KEYCLOAK_ADMIN_USER: &str = "CCCI_KEYCLOAK_ADMIN_USER";
    pub const KEYCLOAK_ADMIN_PASSWORD_FILE: &str = "CCCI_KEYCLOAK_ADMIN_PASSWORD_FILE";
}

/// Where the state lives unless told otherwise (CLI and service alike).
pub const DEFAULT_STATE_DIR: &str = "/var/lib/ccci/state";
/// The CI domain of a local swarm (the CLI's default; the service needs its real one).
pub const LOCAL_CI_DOMAIN: &str = "ci.local";
/// The default wall-clock limit of a run, in seconds.
pub const DEFAULT_DEADLINE_SECS: u64 = 3600;
/// The default Keycloak admin user.
pub const DEFAULT_KEYCLOAK_ADMIN: &str = "admin";
pub use crate::request::DEFAULT_PULL_TIMEOUT_SECS;

/// `[rig]` as written (TOML) or given (flags): nothing checked yet.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRig {
    pub ci_domain: Option<String>,
    pub suites_dir: Option<PathBuf>,
    pub state_dir: Option<PathBuf>,
    pub ingress: Option<String>,
    pub ingress_https: Option<bool>,
    pub ingress_ca: Option<PathBuf>,
    /// `auto` (detect), `yes` or `no`.
    pub service_vips: Option<String>,
    pub deadline_secs: Option<i64>,
    /// Disk use (percent) from which a run prunes first.
    pub prune_threshold: Option<i64>,
    /// The bound of one image pull, in seconds.
    pub pull_timeout_secs: Option<i64>,
    /// Whether a run photographs its app's landing page (default: yes).
    pub screenshots: Option<bool>,
}

/// `[keycloak]` as written or given: nothing checked yet.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawKeycloak {
    pub url: Option<String>,
    pub admin_user: Option<String>,
    pub admin_password_file: Option<PathBuf>,
}

/// Who validates: the service (a long-lived host reporting on PRs) is stricter than a
/// local `ccci` command.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Profile {
    /// `rig.ci_domain` is required; a deadline is at least 60 s.
    Service,
    /// The CI domain defaults to [`LOCAL_CI_DOMAIN`]; any deadline goes (tests use short ones).
    Local,
}

/// One setting of the rig, by each of its names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RigField {
    CiDomain,
    SuitesDir,
    StateDir,
    Ingress,
    IngressHttps,
    IngressCa,
    ServiceVips,
    DeadlineSecs,
    PruneThreshold,
    PullTimeoutSecs,
    Screenshots,
    /// The `[keycloak]` section as a whole.
    Keycloak,
    KeycloakUrl,
    KeycloakAdminUser,
    KeycloakAdminPasswordFile,
}

impl RigField {
    /// `(section, key)` in the service's TOML file (`key` empty: the whole section).
    pub fn toml(self) -> (&'static str, &'static str) {
        match self {
            RigField::CiDomain => ("rig", "ci_domain"),
            RigField::SuitesDir => ("rig", "suites_dir"),
            RigField::StateDir => ("rig", "state_dir"),
            RigField::Ingress => ("rig", "ingress"),
            RigField::IngressHttps => ("rig", "ingress_https"),
            RigField::IngressCa => ("rig", "ingress_ca"),
            RigField::ServiceVips => ("rig", "service_vips"),
            RigField::DeadlineSecs => ("rig", "deadline_secs"),
            RigField::PruneThreshold => ("rig", "prune_threshold"),
            RigField::PullTimeoutSecs => ("rig", "pull_timeout_secs"),
            RigField::Screenshots => ("rig", "screenshots"),
            RigField::Keycloak => ("keycloak", ""),
            RigField::KeycloakUrl => ("keycloak", "url"),
            RigField::KeycloakAdminUser => ("keycloak", "admin_user"),
            RigField::KeycloakAdminPasswordFile => ("keycloak", "admin_password_file"),
        }
    }

    /// The CLI's flag.
    pub fn flag(self) -> &'static str {
        match self {
            RigField::CiDomain => "--domain",
            RigField::SuitesDir => "--suites",
            RigField::StateDir => "--state-dir",
            RigField::Ingress => "--ingress",
            RigField::IngressHttps => "--ingress-https",
            RigField::IngressCa => "--ingress-ca",
            RigField::ServiceVips => "--service-vips",
            RigField::DeadlineSecs => "--deadline-secs",
            RigField::PruneThreshold => "--prune-threshold",
            RigField::PullTimeoutSecs => "--pull-timeout-secs",
            RigField::Screenshots => "--screenshots",
            RigField::Keycloak | RigField::KeycloakUrl => "--keycloak-url",
            RigField::KeycloakAdminUser => "--keycloak-admin-user",
            RigField::KeycloakAdminPasswordFile => "--keycloak-admin-password-file",
        }
    }
}

/// One thing wrong with the rig's settings: the field, what is wrong, and the fix.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RigProblem {
    pub field: RigField,
    pub message: String,
    pub fix: String,
}

/// Every problem of the rig's settings, each naming the CLI flag (the service names the
/// TOML field and line itself, from [`RigProblem::field`]).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub struct RigError {
    pub problems: Vec<RigProblem>,
}

impl std::fmt::Display for RigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (i, p) in self.problems.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{}: {}\n  fix: {}", p.field.flag(), p.message, p.fix)?;
        }
        Ok(())
    }
}

/// `CCCI_*` variables win over what `rig` and `keycloak` hold. The admin user alone does
/// not make a `[keycloak]` (it has a default); the URL or the password file do.
pub fn apply_env(
    rig: &mut RawRig,
    keycloak: &mut Option<RawKeycloak>,
    lookup: &dyn Fn(&str) -> Option<String>,
) {
    let get = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());
    let number = |v: String| v.trim().parse().unwrap_or(-1);
    if let Some(v) = get(env::CI_DOMAIN) {
        rig.ci_domain = Some(v);
    }
    if let Some(v) = get(env::SUITES_DIR) {
        rig.suites_dir = Some(v.into());
    }
    if let Some(v) = get(env::STATE_DIR) {
        rig.state_dir = Some(v.into());
    }
    if let Some(v) = get(env::INGRESS) {
        rig.ingress = Some(v);
    }
    if let Some(v) = get(env::INGRESS_HTTPS) {
        rig.ingress_https = Some(truthy(&v));
    }
    if let Some(v) = get(env::INGRESS_CA) {
        rig.ingress_ca = Some(v.into());
    }
    if let Some(v) = get(env::SERVICE_VIPS) {
        rig.service_vips = Some(v);
    }
    if let Some(v) = get(env::DEADLINE_SECS) {
        rig.deadline_secs = Some(number(v));
    }
    if let Some(v) = get(env::PRUNE_THRESHOLD) {
        rig.prune_threshold = Some(number(v));
    }
    if let Some(v) = get(env::PULL_TIMEOUT_SECS) {
        rig.pull_timeout_secs = Some(number(v));
    }
    if let Some(v) = get(env::SCREENSHOTS) {
        rig.screenshots = Some(truthy(&v));
    }
    if get(env::KEYCLOAK_URL).is_some() || get(env::KEYCLOAK_ADMIN_PASSWORD_FILE).is_some() {
        keycloak.get_or_insert_with(RawKeycloak::default);
    }
    if let Some(keycloak) = keycloak.as_mut() {
        if let Some(v) = get(env::KEYCLOAK_URL) {
            keycloak.url = Some(v);
        }
        if let Some(v) = get(env::KEYCLOAK_ADMIN_USER) {
            keycloak.admin_user = Some(v);
        }
        if let Some(v) = get(env::KEYCLOAK_ADMIN_PASSWORD_FILE) {
            keycloak.admin_password_file = Some(v.into());
        }
    }
}

/// A flag's value in the environment as clap reads it: false only for the usual "no"s.
fn truthy(value: &str) -> bool {
    !matches!(
        value.trim().to_ascii_lowercase().as_str(),
        "n" | "no" | "f" | "false" | "off" | "0"
    )
}

/// The one way to a [`Rig`]: defaults applied, every value checked, the Keycloak admin's
/// password read (once). Problems are collected, not stopped at.
pub fn validate(
    raw: RawRig,
    keycloak: Option<RawKeycloak>,
    profile: Profile,
) -> Result<Rig, Vec<RigProblem>> {
    let mut problems = Vec::new();
    let mut problem = |field, message: String, fix: &str| {
        problems.push(RigProblem {
            field,
            message,
            fix: fix.to_string(),
        })
    };
    let ci_domain = checked_ci_domain(raw.ci_domain, profile, &mut problem);
    let ingress = checked_ingress(raw.ingress.as_deref(), &mut problem);
    let service_vips = checked_service_vips(raw.service_vips.as_deref(), &mut problem);
    let deadline = checked_deadline(raw.deadline_secs, profile, &mut problem);
    let prune_threshold = checked_prune_threshold(raw.prune_threshold, &mut problem);
    let pull_timeout = checked_pull_timeout(raw.pull_timeout_secs, &mut problem);
    check_ingress_ca(raw.ingress_ca.as_deref(), &mut problem);
    let keycloak = keycloak.map(|k| validate_keycloak(k, &mut problem));
    let state_dir = raw.state_dir.unwrap_or_else(|| DEFAULT_STATE_DIR.into());
    let rig = Rig {
        ci_domain,
        // Canonical and absolute: deploys run the docker CLI from the recipe's checkout.
        suites_dir: raw.suites_dir.map(|s| s.canonicalize().unwrap_or(s)),
        state_dir: std::path::absolute(&state_dir).unwrap_or(state_dir),
        ingress,
        ingress_https: raw.ingress_https.unwrap_or(false),
        ingress_ca: raw.ingress_ca,
        service_vips,
        forwarder_on_proxy: None,
        deadline,
        prune_threshold,
        pull_timeout,
        screenshots: raw.screenshots.unwrap_or(true),
        keycloak,
        host_secrets: Vec::new(),
    };
    if problems.is_empty() {
        Ok(rig)
    } else {
        Err(problems)
    }
}

/// The CI domain: the service has no default, the CLI a local one.
fn checked_ci_domain(
    raw: Option<String>,
    profile: Profile,
    problem: &mut impl FnMut(RigField, String, &str),
) -> String {
    let ci_domain = raw.unwrap_or_else(|| match profile {
        Profile::Service => String::new(),
        Profile::Local => LOCAL_CI_DOMAIN.into(),
    });
    if ci_domain.is_empty() || ci_domain.contains('/') || ci_domain.contains(' ') {
        problem(RigField::CiDomain, format!("{ci_domain:?} is not a domain"), "set the wildcard domain apps under test live under, e.g. \"ci.example.org\" (CCCI_CI_DOMAIN)");
    }
    ci_domain
}

/// The proxy's `address:port`, when the rig has one.
fn checked_ingress(
    raw: Option<&str>,
    problem: &mut impl FnMut(RigField, String, &str),
) -> Option<SocketAddr> {
    raw.and_then(|text| {
        text.parse::<SocketAddr>().map_or_else(
            |_| {
                problem(RigField::Ingress, format!("{text:?} is not an address:port"), "write the proxy's address like \"127.0.0.1:443\", or leave it out when the rig has no proxy");
                None
            },
            Some,
        )
    })
}

/// Whether service VIPs route: `None` to detect.
fn checked_service_vips(
    raw: Option<&str>,
    problem: &mut impl FnMut(RigField, String, &str),
) -> Option<bool> {
    service_vips(raw).unwrap_or_else(|other| {
        problem(RigField::ServiceVips, format!("{other:?} is neither auto, yes nor no"), "say whether service VIPs route on this engine: auto (detect), yes or no (CCCI_SERVICE_VIPS)");
        None
    })
}

/// The run's deadline, at least the profile's minimum.
fn checked_deadline(
    raw: Option<i64>,
    profile: Profile,
    problem: &mut impl FnMut(RigField, String, &str),
) -> Duration {
    deadline(raw, profile).unwrap_or_else(|(v, min)| {
        problem(
            RigField::DeadlineSecs,
            format!("{v} is out of range"),
            &format!(
                "set a whole number of seconds, at least {min} (default {DEFAULT_DEADLINE_SECS})"
            ),
        );
        Duration::from_secs(DEFAULT_DEADLINE_SECS)
    })
}

/// The disk use (a percentage) above which a run prunes first.
fn checked_prune_threshold(
    raw: Option<i64>,
    problem: &mut impl FnMut(RigField, String, &str),
) -> u8 {
    match raw {
        None => DEFAULT_PRUNE_THRESHOLD,
        Some(p) => u8::try_from(p)
            .ok()
            .filter(|p| *p <= 100)
            .unwrap_or_else(|| {
                problem(
                    RigField::PruneThreshold,
                    format!("{p} is not a percentage"),
                    &format!(
                        "set a whole number from 0 to 100 (default {DEFAULT_PRUNE_THRESHOLD})"
                    ),
                );
                DEFAULT_PRUNE_THRESHOLD
            }),
    }
}

/// How long one image pull may take, above zero.
fn checked_pull_timeout(
    raw: Option<i64>,
    problem: &mut impl FnMut(RigField, String, &str),
) -> Duration {
    match raw {
        None => Duration::from_secs(DEFAULT_PULL_TIMEOUT_SECS),
        Some(s) if s > 0 => Duration::from_secs(s.unsigned_abs()),
        Some(s) => {
            problem(
                RigField::PullTimeoutSecs,
                format!("{s} is out of range"),
                &format!(
                    "set a whole number of seconds above 0 (default {DEFAULT_PULL_TIMEOUT_SECS})"
                ),
            );
            Duration::from_secs(DEFAULT_PULL_TIMEOUT_SECS)
        }
    }
}

/// The proxy's CA file, when named, must be readable.
fn check_ingress_ca(raw: Option<&Path>, problem: &mut impl FnMut(RigField, String, &str)) {
    if let Some(ca) = raw {
        if let Err(e) = std::fs::read(ca) {
            problem(RigField::IngressCa, format!("cannot read {}: {e}", ca.display()), "name the PEM file of the CA the proxy's certificates chain to (CCCI_INGRESS_CA), or leave it out for the public web roots");
        }
    }
}

/// `auto` (or unset) detects, `yes`/`no` say; anything else is returned as the error.
fn service_vips(value: Option<&str>) -> Result<Option<bool>, String> {
    match value.map(str::trim) {
        None | Some("auto") => Ok(None),
        Some("yes") => Ok(Some(true)),
        Some("no") => Ok(Some(false)),
        Some(other) => Err(other.to_string()),
    }
}

/// The run's deadline, or the bad value and the minimum.
fn deadline(secs: Option<i64>, profile: Profile) -> Result<Duration, (i64, u64)> {
    let min = match profile {
        Profile::Service => 60,
        Profile::Local => 0,
    };
    match secs {
        None => Ok(Duration::from_secs(DEFAULT_DEADLINE_SECS)),
        Some(v) => u64::try_from(v)
            .ok()
            .filter(|v| *v >= min)
            .map(Duration::from_secs)
            .ok_or((v, min)),
    }
}

fn validate_keycloak(
    k: RawKeycloak,
    problem: &mut impl FnMut(RigField, String, &str),
) -> KeycloakConfig {
    let url = k
        .url
        .unwrap_or_default()
        .trim()
        .trim_end_matches('/')
        .to_string();
    if !(url.starts_with("http://") || url.starts_with("https://")) || url.contains(' ') {
        problem(RigField::KeycloakUrl, format!("{url:?} is not an http(s) URL"), "set the shared Keycloak's web root, e.g. \"https://sso.example.org\" (CCCI_KEYCLOAK_URL), or remove [keycloak]");
    }
    let admin_user = k
        .admin_user
        .unwrap_or_else(|| DEFAULT_KEYCLOAK_ADMIN.into())
        .trim()
        .to_string();
    if admin_user.is_empty() {
        problem(RigField::KeycloakAdminUser, "is empty".into(), "name an admin of Keycloak's master realm, or leave it out for \"admin\" (CCCI_KEYCLOAK_ADMIN_USER)");
    }
    let (admin_password_file, admin_password) = match k.admin_password_file {
        Some(file) => {
            let password = read_password_file(&file).unwrap_or_else(|e| {
                problem(RigField::KeycloakAdminPasswordFile, e, "write the Keycloak admin's password into that file, readable by the user running ccci (chmod 600)");
                Secret::new("")
            });
            (file, password)
        }
        None => {
            problem(RigField::Keycloak, "no admin_password_file".into(), "set admin_password_file = \"/etc/ccci/keycloak-admin\" in [keycloak] (CCCI_KEYCLOAK_ADMIN_PASSWORD_FILE), a file holding the admin's password");
            (PathBuf::new(), Secret::new(""))
        }
    };
    KeycloakConfig {
        url,
        admin_user,
        admin_password_file,
        admin_password,
    }
}

/// The admin's password: the file without its line end; one of only blanks is empty.
fn read_password_file(path: &Path) -> Result<Secret, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let password = text.trim_end_matches(['\n', '\r']);
    if password.trim().is_empty() {
        return Err(format!("{} is empty", path.display()));
    }
    Ok(Secret::new(password))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn no_env(_: &str) -> Option<String> {
        None
    }

    #[test]
    fn local_defaults_and_service_requirements() {
        let local = validate(RawRig::default(), None, Profile::Local).unwrap();
        assert_eq!(local.ci_domain, LOCAL_CI_DOMAIN);
        assert_eq!(local.state_dir, PathBuf::from(DEFAULT_STATE_DIR));
        assert_eq!(local.deadline, Duration::from_secs(3600));
        assert!(local.keycloak.is_none() && local.service_vips.is_none());
        assert_eq!(local.pull_timeout, Duration::from_secs(600));
        assert!(
            local.screenshots,
            "a rig photographs the landing page unless told not to"
        );
        let problems = validate(RawRig::default(), None, Profile::Service).unwrap_err();
        assert_eq!(problems.len(), 1);
        assert_eq!(problems[0].field, RigField::CiDomain);
        let short = RawRig {
            deadline_secs: Some(12),
            ..RawRig::default()
        };
        let rig = validate(short.clone(), None, Profile::Local).unwrap();
        assert_eq!(rig.deadline, Duration::from_secs(12));
        let problems = validate(
            RawRig {
                ci_domain: Some("x.org".into()),
                ..short
            },
            None,
            Profile::Service,
        )
        .unwrap_err();
        assert_eq!(problems[0].field, RigField::DeadlineSecs);
        assert!(problems[0].fix.contains("at least 60"), "{problems:?}");
    }

    #[test]
    fn environment_names_are_shared_and_win() {
        let dir = tempfile_dir();
        let pw = dir.join("pw");
        std::fs::write(&pw, "s3cret-pw\n").unwrap();
        let pw_text = pw.display().to_string();
        let lookup = |name: &str| match name {
            "CCCI_CI_DOMAIN" => Some("ci.example.org".to_string()),
            "CCCI_INGRESS_HTTPS" => Some("true".into()),
            "CCCI_SERVICE_VIPS" => Some("no".into()),
            "CCCI_DEADLINE_SECS" => Some("120".into()),
            "CCCI_PULL_TIMEOUT_SECS" => Some("45".into()),
            "CCCI_SCREENSHOTS" => Some("false".into()),
            "CCCI_KEYCLOAK_URL" => Some("https://sso.example.org/".into()),
            "CCCI_KEYCLOAK_ADMIN_PASSWORD_FILE" => Some(pw_text.clone()),
            _ => None,
        };
        let mut raw = RawRig {
            ci_domain: Some("file.org".into()),
            ..RawRig::default()
        };
        let mut keycloak = None;
        apply_env(&mut raw, &mut keycloak, &lookup);
        let rig = validate(raw, keycloak, Profile::Service).unwrap();
        assert_eq!(rig.ci_domain, "ci.example.org");
        assert!(rig.ingress_https);
        assert_eq!(rig.service_vips, Some(false));
        assert_eq!(rig.deadline, Duration::from_secs(120));
        assert_eq!(rig.pull_timeout, Duration::from_secs(45));
        assert!(!rig.screenshots);
        let kc = rig.keycloak.expect("keycloak from the environment");
        assert_eq!(kc.url, "https://sso.example.org");
        assert_eq!(kc.admin_user, "admin");
        assert_eq!(kc.admin_password.expose(), "s3cret-pw");
        let mut untouched = RawRig::default();
        let mut no_keycloak = None;
        apply_env(&mut untouched, &mut no_keycloak, &no_env);
        assert!(untouched.ci_domain.is_none() && no_keycloak.is_none());
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn problems_name_the_flag_and_the_fix() {
        let raw = RawRig {
            ingress: Some("nope".into()),
            service_vips: Some("maybe".into()),
            pull_timeout_secs: Some(0),
            ..RawRig::default()
        };
        let keycloak = RawKeycloak {
            url: Some("https://sso.example.org".into()),
            admin_password_file: Some("/nonexistent/kc-pw".into()),
            ..RawKeycloak::default()
        };
        let problems = validate(raw, Some(keycloak), Profile::Local).unwrap_err();
        let shown = RigError { problems }.to_string();
        for fragment in [
            "--ingress: \"nope\" is not an address:port",
            "--service-vips: \"maybe\" is neither auto, yes nor no",
            "--pull-timeout-secs: 0 is out of range",
            "--keycloak-admin-password-file: cannot read /nonexistent/kc-pw",
            "fix: write the Keycloak admin's password into that file",
        ] {
            assert!(shown.contains(fragment), "{shown:?} lacks {fragment:?}");
        }
    }

    fn tempfile_dir() -> PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "ccci-rig-settings-{}-{:?}",
            std::process::id(),
            std::thread::current().id()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }
}
