//! `ccci serve`'s configuration: one TOML file plus `CCCI_*` environment overrides.
//!
//! Raw TOML is read into [`RawConfig`] (unknown keys are errors, so typos are caught), the
//! overrides are applied, and [`validate`] turns it into a [`Config`] — or into a
//! [`ConfigError`] that names the file, the line, the field, what is wrong and the fix.
//! Nothing downstream sees an unvalidated value. Tokens and webhook secrets are read from
//! files or environment variables into [`Secret`]s and never printed.
//!
//! ```toml
//! host_id = "ci-1"                       # CCCI_HOST_ID
//! listen = "0.0.0.0:8080"                # CCCI_LISTEN
//! public_url = "https://ci.example.org"  # CCCI_PUBLIC_URL
//! database = "sqlite:/var/lib/ccci/ccci.db"  # CCCI_DATABASE_URL; or postgres://…
//! capacity = 1                           # CCCI_CAPACITY
//! runs_dir = "/var/lib/ccci/runs"        # CCCI_RUNS_DIR
//! janitor_interval_secs = 600            # CCCI_JANITOR_INTERVAL; 0 = only at start
//!     # The janitor reaps what dead runs of this host left on the swarm (stacks of runs
//!     # registered in rig.state_dir whose owner died; stacks under rig.ci_domain with no
//!     # known owner once older than 2 h; never a live run or a warm canonical): once at
//!     # start, before the first claim, then every interval. A failure is logged, not fatal.
//!
//! [forge]
//! url = "https://git.coopcloud.tech"     # CCCI_FORGE_URL
//! token_file = "/etc/ccci/token"         # CCCI_FORGE_TOKEN_FILE, or the token in CCCI_FORGE_TOKEN
//! repos = ["coop-cloud/keycloak", { repo = "coop-cloud/n8n", recipe = "n8n" }]  # CCCI_REPOS=a/b,c/d
//! allow_list = ["alice"]                 # CCCI_ALLOW_LIST=alice,bob
//! bot_login = "cc-ci"                    # CCCI_BOT_LOGIN
//! poll_interval_secs = 30                # CCCI_POLL_INTERVAL
//!
//! [webhook]                              # optional: POST /webhook/gitea
//! secret_files = ["/etc/ccci/hook-secret", "/etc/ccci/hook-secret.old"]
//!                                        # CCCI_WEBHOOK_SECRET(_PREVIOUS) or CCCI_WEBHOOK_SECRET_FILE
//! [rig]
//! ci_domain = "ci.example.org"           # CCCI_CI_DOMAIN
//! suites_dir = "/srv/ccci/tests"         # CCCI_SUITES_DIR
//! state_dir = "/var/lib/ccci/state"      # CCCI_STATE_DIR
//! ingress = "127.0.0.1:443"              # CCCI_INGRESS; leave out when the rig has no proxy
//! ingress_https = true
//! ingress_ca = "/etc/ccci/rig-ca.pem"       # CCCI_INGRESS_CA; the CA the proxy's certificates
//!                                          # chain to (default: the public web roots)
//! deadline_secs = 3600
//! prune_threshold = 80                   # CCCI_PRUNE_THRESHOLD; disk use (%) from which a run
//!                                        # prunes first (old dangling images, containers, cache)
//!
//! [keycloak]                             # optional: the shared Keycloak of SSO dependencies
//! url = "https://sso.example.org"        # CCCI_KEYCLOAK_URL
//! admin_user = "admin"                   # CCCI_KEYCLOAK_ADMIN_USER (default "admin")
//! admin_password_file = "/etc/ccci/keycloak-admin"  # CCCI_KEYCLOAK_ADMIN_PASSWORD_FILE
//!     # Without [keycloak], a recipe whose suite declares `dependencies = ["keycloak"]` is
//!     # RED (the dependency went unverified). With it, each run gets its own realm, and the
//!     # janitor also reaps this rig's realms left by dead runs.
//!
//! [nightly]                              # optional: serve runs the nightly sweep itself
//! at = "03:00"                           # CCCI_NIGHTLY_AT; UTC, "HH:MM"
//!     # Once a day, at that time or up to 6 h later while this host has a run in flight:
//!     # live-warm reconcile, cold runs of the enrolled recipes, pruning (`ccci nightly`).
//!     # Needs rig.suites_dir. The day it last ran is kept in rig.state_dir.
//! ```

use ccci_core::secret::Secret;
use serde::Deserialize;
use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// A validated configuration.
#[derive(Clone, Debug)]
pub struct Config {
    /// This host's name in the shared queue.
    pub host_id: String,
    pub listen: SocketAddr,
    /// Where people reach the dashboard, without a trailing slash (links in comments).
    pub public_url: String,
    /// `sqlite:PATH` or `postgres://…`. A secret: a PostgreSQL URL may carry a password.
    pub database_url: Secret,
    /// Runs this host runs at once.
    pub capacity: u32,
    /// Each run's artefacts go to `runs_dir/<run id>/`.
    pub runs_dir: PathBuf,
    /// A claimed job's lease; renewed every third of it while the run lives.
    pub lease: Duration,
    /// How often an idle host looks for work.
    pub claim_interval: Duration,
    /// On shutdown, how long running runs may take to finish before they are cancelled.
    pub shutdown_grace: Duration,
    /// How often the janitor reaps dead runs' leftovers after the sweep at start;
    /// `None` = only at start.
    pub janitor_interval: Option<Duration>,
    pub forge: Option<ForgeConfig>,
    pub webhook: Option<WebhookConfig>,
    pub rig: RigConfig,
    /// The shared Keycloak of SSO dependencies; `None` = none on this rig.
    pub keycloak: Option<KeycloakConfig>,
    /// The nightly sweep run by serve; `None` = not run by serve (cron may run `ccci nightly`).
    pub nightly: Option<NightlyConfig>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NightlyConfig {
    /// The time of day (UTC) the sweep is due from.
    pub at: time::Time,
}

/// The rig's shared Keycloak (see `ccci_runner::request::KeycloakConfig`).
#[derive(Clone, Debug)]
pub struct KeycloakConfig {
    /// The web root, without a trailing slash.
    pub url: String,
    /// An admin of the `master` realm.
    pub admin_user: String,
    /// The file the runner reads the admin's password from (checked readable here).
    pub admin_password_file: PathBuf,
    /// The password as read at validation; never printed.
    pub admin_password: Secret,
}

#[derive(Clone, Debug)]
pub struct ForgeConfig {
    pub url: String,
    pub token: Secret,
    pub repos: Vec<RepoConfig>,
    pub allow_list: Vec<String>,
    /// The bot's login: its own comments are never commands.
    pub bot_login: String,
    pub poll_interval: Duration,
    /// Polling off: only the webhook triggers.
    pub poll: bool,
    /// The commit status context shown on PRs.
    pub status_context: String,
    pub request_timeout: Duration,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RepoConfig {
    /// `owner/name`.
    pub repo: String,
    /// The recipe name (default: the repository name).
    pub recipe: String,
    /// Where the runner clones from (default: `<forge url>/<owner>/<name>.git`).
    pub clone_url: String,
}

#[derive(Clone, Debug)]
pub struct WebhookConfig {
    /// The current secret and, during a rotation, the previous one.
    pub secrets: Vec<Secret>,
}

/// The runner's host-wide settings (see `ccci_runner::request::Rig`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RigConfig {
    pub ci_domain: String,
    pub suites_dir: Option<PathBuf>,
    pub state_dir: PathBuf,
    /// The rig's ingress proxy (e.g. `127.0.0.1:443`); `None` = no proxy on this rig.
    pub ingress: Option<SocketAddr>,
    pub ingress_https: bool,
    /// The CA bundle the ingress's certificates must chain to.
    pub ingress_ca: Option<PathBuf>,
    /// Wall-clock limit of one run.
    pub deadline: Duration,
    /// Disk use (percent) from which a run prunes first.
    pub prune_threshold: u8,
}

/// One thing wrong with the configuration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    /// 1-based line in the file, when the problem is at one.
    pub line: Option<usize>,
    /// The field, dotted (`forge.repos`), or the environment variable that set it.
    pub field: String,
    pub message: String,
    pub fix: String,
}

/// Everything wrong with a configuration file, each naming file, line, field and fix.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub struct ConfigError {
    pub file: PathBuf,
    pub problems: Vec<Problem>,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, p) in self.problems.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            match p.line {
                Some(line) => write!(f, "{}:{line}: ", self.file.display())?,
                None => write!(f, "{}: ", self.file.display())?,
            }
            write!(f, "{}: {}\n  fix: {}", p.field, p.message, p.fix)?;
        }
        Ok(())
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawConfig {
    pub host_id: Option<String>,
    pub listen: Option<String>,
    pub public_url: Option<String>,
    pub database: Option<String>,
    pub capacity: Option<i64>,
    pub runs_dir: Option<PathBuf>,
    pub lease_secs: Option<i64>,
    pub claim_interval_secs: Option<i64>,
    pub shutdown_grace_secs: Option<i64>,
    pub janitor_interval_secs: Option<i64>,
    pub forge: Option<RawForge>,
    pub webhook: Option<RawWebhook>,
    pub rig: Option<RawRig>,
    pub keycloak: Option<RawKeycloak>,
    pub nightly: Option<RawNightly>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawNightly {
    pub at: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawKeycloak {
    pub url: Option<String>,
    pub admin_user: Option<String>,
    pub admin_password_file: Option<PathBuf>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawForge {
    pub url: Option<String>,
    pub token_file: Option<PathBuf>,
    /// The name of an environment variable holding the token.
    pub token_env: Option<String>,
    #[serde(default)]
    pub repos: Vec<RawRepo>,
    #[serde(default)]
    pub allow_list: Vec<String>,
    pub bot_login: Option<String>,
    pub poll_interval_secs: Option<i64>,
    pub poll: Option<bool>,
    pub status_context: Option<String>,
    pub request_timeout_secs: Option<i64>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum RawRepo {
    Name(String),
    Table {
        repo: String,
        recipe: Option<String>,
        clone_url: Option<String>,
    },
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawWebhook {
    #[serde(default)]
    pub secret_files: Vec<PathBuf>,
    /// Names of environment variables holding secrets.
    #[serde(default)]
    pub secret_env: Vec<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRig {
    pub ci_domain: Option<String>,
    pub suites_dir: Option<PathBuf>,
    pub state_dir: Option<PathBuf>,
    pub ingress: Option<String>,
    pub ingress_https: Option<bool>,
    pub ingress_ca: Option<PathBuf>,
    pub deadline_secs: Option<i64>,
    pub prune_threshold: Option<i64>,
}

/// Reads, overrides from the process environment, and validates `path`.
pub fn check(path: &Path) -> Result<Config, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|e| ConfigError {
        file: path.to_path_buf(),
        problems: vec![Problem {
            line: None,
            field: "(file)".into(),
            message: format!("cannot read the file: {e}"),
            fix: "pass the path of a readable TOML file".into(),
        }],
    })?;
    from_str(&text, path, &|name| std::env::var(name).ok())
}

/// Like [`check`], with the file's text given and the environment as a lookup (for tests).
pub fn from_str(
    text: &str,
    path: &Path,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Config, ConfigError> {
    let fail = |problems| ConfigError {
        file: path.to_path_buf(),
        problems,
    };
    let mut raw: RawConfig = toml::from_str(text).map_err(|e| {
        let line = e.span().map(|s| line_at(text, s.start));
        let field = e
            .span()
            .and_then(|s| text.get(s))
            .map(|s| s.trim().trim_matches('"').to_string())
            .filter(|s| !s.is_empty() && s.len() < 60 && !s.contains('\n'))
            .unwrap_or_else(|| "(syntax)".into());
        fail(vec![Problem {
            line,
            field,
            message: e.message().to_string(),
            fix: "correct the TOML at that line (see the example in `ccci config check --help`)"
                .into(),
        }])
    })?;
    apply_env(&mut raw, env);
    validate(raw, text, env).map_err(fail)
}

fn line_at(text: &str, offset: usize) -> usize {
    text.get(..offset)
        .map_or(1, |t| t.matches('\n').count() + 1)
}

/// The line of `key = …` in `[section]` (or the top when `section` is empty).
fn line_of(text: &str, section: &str, key: &str) -> Option<usize> {
    let mut current = String::new();
    for (i, line) in text.lines().enumerate() {
        let trimmed = line.trim();
        if let Some(name) = trimmed.strip_prefix('[').and_then(|t| t.split(']').next()) {
            current = name.trim().to_string();
            if key.is_empty() && current == section {
                return Some(i + 1);
            }
            continue;
        }
        if current == section {
            if let Some((k, _)) = trimmed.split_once('=') {
                if k.trim() == key {
                    return Some(i + 1);
                }
            }
        }
    }
    None
}

fn split_list(value: &str) -> Vec<String> {
    value
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(String::from)
        .collect()
}

/// `CCCI_*` variables win over the file.
fn apply_env(raw: &mut RawConfig, env: &dyn Fn(&str) -> Option<String>) {
    let get = |name: &str| env(name).filter(|v| !v.trim().is_empty());
    if let Some(v) = get("CCCI_HOST_ID") {
        raw.host_id = Some(v);
    }
    if let Some(v) = get("CCCI_LISTEN") {
        raw.listen = Some(v);
    }
    if let Some(v) = get("CCCI_PUBLIC_URL") {
        raw.public_url = Some(v);
    }
    if let Some(v) = get("CCCI_DATABASE_URL") {
        raw.database = Some(v);
    }
    if let Some(v) = get("CCCI_CAPACITY") {
        raw.capacity = Some(v.trim().parse().unwrap_or(-1));
    }
    if let Some(v) = get("CCCI_RUNS_DIR") {
        raw.runs_dir = Some(v.into());
    }
    if let Some(v) = get("CCCI_JANITOR_INTERVAL") {
        raw.janitor_interval_secs = Some(v.trim().parse().unwrap_or(-1));
    }
    let forge_vars = [
        "CCCI_FORGE_URL",
        "CCCI_FORGE_TOKEN_FILE",
        "CCCI_REPOS",
        "CCCI_ALLOW_LIST",
        "CCCI_BOT_LOGIN",
        "CCCI_POLL_INTERVAL",
    ];
    if forge_vars.iter().any(|v| get(v).is_some()) {
        let forge = raw.forge.get_or_insert_with(RawForge::default);
        if let Some(v) = get("CCCI_FORGE_URL") {
            forge.url = Some(v);
        }
        if let Some(v) = get("CCCI_FORGE_TOKEN_FILE") {
            forge.token_file = Some(v.into());
            forge.token_env = None;
        }
        if let Some(v) = get("CCCI_REPOS") {
            forge.repos = split_list(&v).into_iter().map(RawRepo::Name).collect();
        }
        if let Some(v) = get("CCCI_ALLOW_LIST") {
            forge.allow_list = split_list(&v);
        }
        if let Some(v) = get("CCCI_BOT_LOGIN") {
            forge.bot_login = Some(v);
        }
        if let Some(v) = get("CCCI_POLL_INTERVAL") {
            forge.poll_interval_secs = Some(v.trim().parse().unwrap_or(-1));
        }
    }
    if let Some(v) = get("CCCI_WEBHOOK_SECRET_FILE") {
        raw.webhook
            .get_or_insert_with(RawWebhook::default)
            .secret_files = vec![v.into()];
    }
    if get("CCCI_WEBHOOK_SECRET").is_some() {
        let hook = raw.webhook.get_or_insert_with(RawWebhook::default);
        hook.secret_files.clear();
        hook.secret_env = vec!["CCCI_WEBHOOK_SECRET".into()];
        if get("CCCI_WEBHOOK_SECRET_PREVIOUS").is_some() {
            hook.secret_env.push("CCCI_WEBHOOK_SECRET_PREVIOUS".into());
        }
    }
    let rig_vars = [
        "CCCI_CI_DOMAIN",
        "CCCI_SUITES_DIR",
        "CCCI_STATE_DIR",
        "CCCI_INGRESS",
        "CCCI_INGRESS_CA",
        "CCCI_PRUNE_THRESHOLD",
    ];
    if rig_vars.iter().any(|v| get(v).is_some()) {
        let rig = raw.rig.get_or_insert_with(RawRig::default);
        if let Some(v) = get("CCCI_CI_DOMAIN") {
            rig.ci_domain = Some(v);
        }
        if let Some(v) = get("CCCI_SUITES_DIR") {
            rig.suites_dir = Some(v.into());
        }
        if let Some(v) = get("CCCI_STATE_DIR") {
            rig.state_dir = Some(v.into());
        }
        if let Some(v) = get("CCCI_INGRESS") {
            rig.ingress = Some(v);
        }
        if let Some(v) = get("CCCI_INGRESS_CA") {
            rig.ingress_ca = Some(v.into());
        }
        if let Some(v) = get("CCCI_PRUNE_THRESHOLD") {
            rig.prune_threshold = Some(v.trim().parse().unwrap_or(-1));
        }
    }
    if let Some(v) = get("CCCI_NIGHTLY_AT") {
        raw.nightly.get_or_insert_with(RawNightly::default).at = Some(v);
    }
    // The same variables `ccci run` reads. The user alone does not make a section (it has a
    // default); the URL or the password file do.
    if get("CCCI_KEYCLOAK_URL").is_some() || get("CCCI_KEYCLOAK_ADMIN_PASSWORD_FILE").is_some() {
        raw.keycloak.get_or_insert_with(RawKeycloak::default);
    }
    if let Some(keycloak) = raw.keycloak.as_mut() {
        if let Some(v) = get("CCCI_KEYCLOAK_URL") {
            keycloak.url = Some(v);
        }
        if let Some(v) = get("CCCI_KEYCLOAK_ADMIN_USER") {
            keycloak.admin_user = Some(v);
        }
        if let Some(v) = get("CCCI_KEYCLOAK_ADMIN_PASSWORD_FILE") {
            keycloak.admin_password_file = Some(v.into());
        }
    }
}

/// Reads a secret file: trimmed, non-empty.
fn read_secret_file(path: &Path) -> Result<Secret, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let value = text.trim();
    if value.is_empty() {
        return Err(format!("{} is empty", path.display()));
    }
    Ok(Secret::new(value))
}

fn seconds(
    value: Option<i64>,
    default: u64,
    min: u64,
    field: (&str, &str),
    text: &str,
    problems: &mut Vec<Problem>,
) -> Duration {
    match value {
        None => Duration::from_secs(default),
        Some(v) if v >= min as i64 => Duration::from_secs(v as u64),
        Some(v) => {
            problems.push(Problem {
                line: line_of(text, field.0, field.1),
                field: dotted(field),
                message: format!("{v} is out of range"),
                fix: format!("set a whole number of seconds, at least {min} (default {default})"),
            });
            Duration::from_secs(default)
        }
    }
}

fn dotted((section, key): (&str, &str)) -> String {
    if section.is_empty() {
        key.to_string()
    } else if key.is_empty() {
        section.to_string()
    } else {
        format!("{section}.{key}")
    }
}

fn validate(
    raw: RawConfig,
    text: &str,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Config, Vec<Problem>> {
    let mut problems = Vec::new();
    let problem = |field: (&str, &str), message: String, fix: &str| Problem {
        line: line_of(text, field.0, field.1),
        field: dotted(field),
        message,
        fix: fix.to_string(),
    };

    let host_id = raw.host_id.unwrap_or_else(|| {
        std::fs::read_to_string("/etc/hostname")
            .ok()
            .map(|h| h.trim().to_string())
            .filter(|h| !h.is_empty())
            .unwrap_or_else(|| "ccci".into())
    });
    if host_id.is_empty()
        || host_id.len() > 64
        || host_id.chars().any(|c| c.is_whitespace() || c.is_control())
    {
        problems.push(problem(
            ("", "host_id"),
            format!("{host_id:?} is not a usable host id"),
            "use a short name without spaces, e.g. \"ci-1\"",
        ));
    }

    let listen_text = raw.listen.unwrap_or_else(|| "127.0.0.1:8080".into());
    let listen = match listen_text.parse::<SocketAddr>() {
        Ok(addr) => addr,
        Err(_) => {
            problems.push(problem(
                ("", "listen"),
                format!("{listen_text:?} is not an address:port"),
                "write it like \"0.0.0.0:8080\" or \"127.0.0.1:8080\"",
            ));
            SocketAddr::from(([127, 0, 0, 1], 8080))
        }
    };

    let public_url = raw
        .public_url
        .unwrap_or_else(|| format!("http://{listen}"))
        .trim_end_matches('/')
        .to_string();
    if !(public_url.starts_with("http://") || public_url.starts_with("https://")) {
        problems.push(problem(
            ("", "public_url"),
            format!("{public_url:?} is not an http(s) URL"),
            "write the dashboard's address as people reach it, e.g. \"https://ci.example.org\"",
        ));
    }

    let database_url = raw
        .database
        .unwrap_or_else(|| "sqlite:/var/lib/ccci/ccci.db".into());
    let db_ok = database_url
        .strip_prefix("sqlite:")
        .is_some_and(|p| !p.trim().is_empty())
        || database_url.starts_with("postgres://")
        || database_url.starts_with("postgresql://");
    if !db_ok {
        // Never echo a database URL: it may carry a password.
        problems.push(problem(("", "database"), "is neither `sqlite:PATH` nor `postgres://…`".into(), "use \"sqlite:/var/lib/ccci/ccci.db\" (one host) or \"postgres://user@host/db\" (several hosts)"));
    }

    let capacity = match raw.capacity {
        None => 1,
        Some(n) if (1..=64).contains(&n) => n as u32,
        Some(n) => {
            problems.push(problem(
                ("", "capacity"),
                format!("{n} is out of range"),
                "set how many runs this host runs at once, 1 to 64 (CCCI_CAPACITY)",
            ));
            1
        }
    };

    let runs_dir = raw.runs_dir.unwrap_or_else(|| "/var/lib/ccci/runs".into());
    let lease = seconds(
        raw.lease_secs,
        60,
        3,
        ("", "lease_secs"),
        text,
        &mut problems,
    );
    let claim_interval = seconds(
        raw.claim_interval_secs,
        5,
        1,
        ("", "claim_interval_secs"),
        text,
        &mut problems,
    );
    let shutdown_grace = seconds(
        raw.shutdown_grace_secs,
        30,
        0,
        ("", "shutdown_grace_secs"),
        text,
        &mut problems,
    );

    let janitor_interval = match raw.janitor_interval_secs {
        Some(0) => None,
        other => Some(seconds(
            other,
            600,
            10,
            ("", "janitor_interval_secs"),
            text,
            &mut problems,
        )),
    };

    let forge = raw.forge.map(|f| {
        let url = f.url.unwrap_or_default().trim_end_matches('/').to_string();
        if !(url.starts_with("http://") || url.starts_with("https://")) {
            problems.push(problem(("forge", "url"), format!("{url:?} is not an http(s) URL"), "set the forge's web root, e.g. \"https://git.coopcloud.tech\" (CCCI_FORGE_URL)"));
        }
        let token = if let Some(file) = &f.token_file {
            read_secret_file(file).unwrap_or_else(|e| {
                problems.push(problem(("forge", "token_file"), e, "write the forge token (read scope is enough for polling; issue comment and status write for reporting) into that file"));
                Secret::new("")
            })
        } else if let Some(value) = env("CCCI_FORGE_TOKEN").filter(|v| !v.trim().is_empty()) {
            Secret::new(value.trim())
        } else if let Some(var) = &f.token_env {
            match env(var).filter(|v| !v.trim().is_empty()) {
                Some(value) => Secret::new(value.trim()),
                None => {
                    problems.push(problem(("forge", "token_env"), format!("environment variable {var} is not set"), "export it, or use token_file"));
                    Secret::new("")
                }
            }
        } else {
            problems.push(problem(("forge", ""), "no token".into(), "set token_file = \"/etc/ccci/token\" in [forge], or CCCI_FORGE_TOKEN_FILE / CCCI_FORGE_TOKEN"));
            Secret::new("")
        };
        let mut repos = Vec::new();
        for r in f.repos {
            let (name, recipe, clone_url) = match r {
                RawRepo::Name(name) => (name, None, None),
                RawRepo::Table { repo, recipe, clone_url } => (repo, recipe, clone_url),
            };
            let parts: Vec<&str> = name.split('/').collect();
            let valid = parts.len() == 2
                && parts.iter().all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c)) && *p != "." && *p != "..");
            if !valid {
                problems.push(problem(("forge", "repos"), format!("{name:?} is not owner/name"), "list repositories as \"owner/name\", e.g. \"coop-cloud/keycloak\""));
                continue;
            }
            let recipe = recipe.unwrap_or_else(|| parts[1].to_string());
            let clone_url = clone_url.unwrap_or_else(|| format!("{url}/{name}.git"));
            repos.push(RepoConfig { repo: name, recipe, clone_url });
        }
        if repos.is_empty() {
            problems.push(problem(("forge", "repos"), "no repositories".into(), "list the recipe repositories to watch: repos = [\"coop-cloud/keycloak\"] (CCCI_REPOS)"));
        }
        let poll_interval = seconds(f.poll_interval_secs, 30, 1, ("forge", "poll_interval_secs"), text, &mut problems);
        let request_timeout = seconds(f.request_timeout_secs, 20, 1, ("forge", "request_timeout_secs"), text, &mut problems);
        ForgeConfig {
            url,
            token,
            repos,
            allow_list: f.allow_list,
            bot_login: f.bot_login.unwrap_or_default(),
            poll_interval,
            poll: f.poll.unwrap_or(true),
            status_context: f.status_context.unwrap_or_else(|| "cc-ci".into()),
            request_timeout,
        }
    });

    let webhook = raw.webhook.map(|w| {
        let mut secrets = Vec::new();
        for file in &w.secret_files {
            match read_secret_file(file) {
                Ok(s) => secrets.push(s),
                Err(e) => problems.push(problem(("webhook", "secret_files"), e, "write the webhook's secret into that file (the same as in the forge's hook settings)")),
            }
        }
        for var in &w.secret_env {
            match env(var).filter(|v| !v.trim().is_empty()) {
                Some(v) => secrets.push(Secret::new(v.trim())),
                None => problems.push(problem(("webhook", "secret_env"), format!("environment variable {var} is not set"), "export it, or use secret_files")),
            }
        }
        if secrets.is_empty() || secrets.len() > 2 {
            problems.push(problem(("webhook", ""), format!("{} secrets given", secrets.len()), "give one secret, or two while rotating (secret_files, CCCI_WEBHOOK_SECRET[_PREVIOUS])"));
        }
        WebhookConfig { secrets }
    });
    if webhook.is_some() && forge.is_none() {
        problems.push(problem(
            ("webhook", ""),
            "a webhook needs a [forge] to answer on".into(),
            "add a [forge] section with url, token_file and repos",
        ));
    }

    let raw_rig = raw.rig.unwrap_or_default();
    let ci_domain = raw_rig.ci_domain.unwrap_or_default();
    if ci_domain.is_empty() || ci_domain.contains('/') || ci_domain.contains(' ') {
        problems.push(problem(("rig", "ci_domain"), format!("{ci_domain:?} is not a domain"), "set the wildcard domain apps under test live under, e.g. \"ci.example.org\" (CCCI_CI_DOMAIN)"));
    }
    let ingress = match raw_rig.ingress.as_deref() {
        None => None,
        Some(text) => match text.parse::<SocketAddr>() {
            Ok(addr) => Some(addr),
            Err(_) => {
                problems.push(problem(("rig", "ingress"), format!("{text:?} is not an address:port"), "write the proxy's address like \"127.0.0.1:443\", or leave it out when the rig has no proxy"));
                None
            }
        },
    };
    let deadline = seconds(
        raw_rig.deadline_secs,
        3600,
        60,
        ("rig", "deadline_secs"),
        text,
        &mut problems,
    );
    let prune_threshold = match raw_rig.prune_threshold {
        None => ccci_runner::request::DEFAULT_PRUNE_THRESHOLD,
        Some(p) => u8::try_from(p)
            .ok()
            .filter(|p| *p <= 100)
            .unwrap_or_else(|| {
                problems.push(Problem {
                    line: line_of(text, "rig", "prune_threshold"),
                    field: "rig.prune_threshold".into(),
                    message: format!("{p} is not a percentage"),
                    fix: "set a whole number from 0 to 100 (default 80)".into(),
                });
                ccci_runner::request::DEFAULT_PRUNE_THRESHOLD
            }),
    };
    let rig = RigConfig {
        ci_domain,
        suites_dir: raw_rig.suites_dir,
        state_dir: raw_rig
            .state_dir
            .unwrap_or_else(|| "/var/lib/ccci/state".into()),
        ingress,
        ingress_https: raw_rig.ingress_https.unwrap_or(false),
        ingress_ca: raw_rig.ingress_ca,
        deadline,
        prune_threshold,
    };
    if let Some(ca) = &rig.ingress_ca {
        if let Err(e) = std::fs::read(ca) {
            problems.push(problem(
                ("rig", "ingress_ca"),
                format!("cannot read {}: {e}", ca.display()),
                "name the PEM file of the CA the proxy's certificates chain to (CCCI_INGRESS_CA), or leave it out for the public web roots",
            ));
        }
    }

    let keycloak = raw.keycloak.map(|k| {
        let url = k.url.unwrap_or_default().trim().trim_end_matches('/').to_string();
        if !(url.starts_with("http://") || url.starts_with("https://")) || url.contains(' ') {
            problems.push(problem(("keycloak", "url"), format!("{url:?} is not an http(s) URL"), "set the shared Keycloak's web root, e.g. \"https://sso.example.org\" (CCCI_KEYCLOAK_URL), or remove [keycloak]"));
        }
        let admin_user = k.admin_user.unwrap_or_else(|| "admin".into()).trim().to_string();
        if admin_user.is_empty() {
            problems.push(problem(("keycloak", "admin_user"), "is empty".into(), "name an admin of Keycloak's master realm, or leave it out for \"admin\" (CCCI_KEYCLOAK_ADMIN_USER)"));
        }
        let (admin_password_file, admin_password) = match k.admin_password_file {
            Some(file) => {
                let password = read_secret_file(&file).unwrap_or_else(|e| {
                    problems.push(problem(("keycloak", "admin_password_file"), e, "write the Keycloak admin's password into that file, readable by the user running ccci (chmod 600)"));
                    Secret::new("")
                });
                (file, password)
            }
            None => {
                problems.push(problem(("keycloak", ""), "no admin_password_file".into(), "set admin_password_file = \"/etc/ccci/keycloak-admin\" in [keycloak] (CCCI_KEYCLOAK_ADMIN_PASSWORD_FILE), a file holding the admin's password"));
                (PathBuf::new(), Secret::new(""))
            }
        };
        KeycloakConfig { url, admin_user, admin_password_file, admin_password }
    });

    let nightly = raw.nightly.map(|n| {
        let at = n.at.unwrap_or_default();
        let time = parse_hh_mm(&at).unwrap_or_else(|| {
            problems.push(problem(("nightly", "at"), format!("{at:?} is not a time of day"), "write the UTC time the sweep is due as \"HH:MM\", e.g. at = \"03:00\" (CCCI_NIGHTLY_AT), or remove [nightly]"));
            time::Time::MIDNIGHT
        });
        if rig.suites_dir.is_none() {
            problems.push(problem(("rig", "suites_dir"), "not set, and [nightly] needs it".into(), "set suites_dir in [rig] (CCCI_SUITES_DIR): the sweep runs the recipes enrolled there"));
        }
        NightlyConfig { at: time }
    });

    if !problems.is_empty() {
        return Err(problems);
    }
    Ok(Config {
        host_id,
        listen,
        public_url,
        database_url: Secret::new(database_url),
        capacity,
        runs_dir,
        lease,
        claim_interval,
        shutdown_grace,
        janitor_interval,
        forge,
        webhook,
        rig,
        keycloak,
        nightly,
    })
}

/// `"HH:MM"` (24-hour) as a time of day.
fn parse_hh_mm(text: &str) -> Option<time::Time> {
    let (h, m) = text.trim().split_once(':')?;
    let digits = |s: &str| s.len() == 2 && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(h) || !digits(m) {
        return None;
    }
    time::Time::from_hms(h.parse().ok()?, m.parse().ok()?, 0).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn no_env(_: &str) -> Option<String> {
        None
    }

    const GOOD: &str = r#"
host_id = "ci-1"
listen = "127.0.0.1:8099"
public_url = "https://ci.example.org/"
database = "sqlite:/tmp/x.db"
capacity = 2

[forge]
url = "https://git.example.org"
token_env = "MY_TOKEN"
repos = ["coop-cloud/keycloak", { repo = "coop-cloud/n8n", recipe = "n8n-x" }]
allow_list = ["alice"]

[rig]
ci_domain = "ci.example.org"
"#;

    #[test]
    fn a_good_file_validates() {
        let env = |name: &str| (name == "MY_TOKEN").then(|| "tok-123456".to_string());
        let config = from_str(GOOD, Path::new("ccci.toml"), &env).unwrap();
        assert_eq!(config.capacity, 2);
        assert_eq!(config.public_url, "https://ci.example.org");
        let forge = config.forge.unwrap();
        assert_eq!(forge.token.expose(), "tok-123456");
        assert_eq!(forge.repos[0].recipe, "keycloak");
        assert_eq!(
            forge.repos[0].clone_url,
            "https://git.example.org/coop-cloud/keycloak.git"
        );
        assert_eq!(forge.repos[1].recipe, "n8n-x");
        assert!(
            !format!("{forge:?}").contains("tok-123456"),
            "the token never prints"
        );
    }

    #[test]
    fn environment_overrides_the_file() {
        let env = |name: &str| match name {
            "MY_TOKEN" => Some("tok-123456".to_string()),
            "CCCI_CAPACITY" => Some("3".into()),
            "CCCI_REPOS" => Some("a/b, c/d".into()),
            "CCCI_DATABASE_URL" => Some("postgres://ci@db/ccci".into()),
            _ => None,
        };
        let config = from_str(GOOD, Path::new("ccci.toml"), &env).unwrap();
        assert_eq!(config.capacity, 3);
        assert_eq!(config.database_url.expose(), "postgres://ci@db/ccci");
        let repos: Vec<_> = config
            .forge
            .unwrap()
            .repos
            .into_iter()
            .map(|r| r.repo)
            .collect();
        assert_eq!(repos, ["a/b", "c/d"]);
    }

    /// Each row: a file, and fragments the error must contain (file:line, field, fix).
    #[test]
    fn errors_name_file_line_field_and_fix() {
        let rows: &[(&str, &[&str])] = &[
            ("capcity = 2\n[rig]\nci_domain = \"x.org\"\n", &["ccci.toml:1:", "capcity", "unknown field"]),
            ("capacity = 0\n[rig]\nci_domain = \"x.org\"\n", &["ccci.toml:1:", "capacity:", "fix: set how many runs"]),
            ("\n\nlisten = \"nope\"\n[rig]\nci_domain = \"x.org\"\n", &["ccci.toml:3:", "listen:", "fix:"]),
            ("database = \"mysql://x\"\n[rig]\nci_domain = \"x.org\"\n", &["ccci.toml:1:", "database:", "sqlite:"]),
            ("capacity = \"two\"\n", &["ccci.toml:1:", "invalid type"]),
            ("[rig]\n", &["rig.ci_domain", "CCCI_CI_DOMAIN"]),
            (
                "[forge]\nurl = \"https://g.org\"\ntoken_file = \"/nonexistent/token\"\nrepos = [\"bad\"]\n[rig]\nci_domain = \"x.org\"\n",
                &["ccci.toml:3: forge.token_file: cannot read /nonexistent/token", "ccci.toml:4: forge.repos: \"bad\" is not owner/name"],
            ),
            (
                "[forge]\nurl = \"https://g.org\"\ntoken_env = \"T\"\nrepos = [\"a/b\"]\npoll_interval_secs = 0\n[rig]\nci_domain = \"x.org\"\n",
                &["ccci.toml:3: forge.token_env: environment variable T is not set", "ccci.toml:5: forge.poll_interval_secs"],
            ),
        ];
        for (text, fragments) in rows {
            let err = from_str(text, Path::new("ccci.toml"), &no_env).expect_err(text);
            let shown = err.to_string();
            for fragment in *fragments {
                assert!(
                    shown.contains(fragment),
                    "{text:?}: {shown:?} lacks {fragment:?}"
                );
            }
        }
    }

    #[test]
    fn check_names_an_unreadable_file() {
        let err = check(Path::new("/nonexistent/ccci.toml")).unwrap_err();
        let shown = err.to_string();
        assert!(
            shown.starts_with("/nonexistent/ccci.toml: (file): cannot read the file"),
            "{shown}"
        );
        assert!(shown.contains("fix:"), "{shown}");
    }

    #[test]
    fn janitor_interval_defaults_to_ten_minutes_and_zero_means_only_at_start() {
        let base = "[rig]\nci_domain = \"x.org\"\n";
        let interval = |text: &str, env: &dyn Fn(&str) -> Option<String>| {
            from_str(text, Path::new("c.toml"), env)
                .unwrap()
                .janitor_interval
        };
        assert_eq!(interval(base, &no_env), Some(Duration::from_secs(600)));
        let zero = format!("janitor_interval_secs = 0\n{base}");
        assert_eq!(interval(&zero, &no_env), None);
        let env = |name: &str| (name == "CCCI_JANITOR_INTERVAL").then(|| "120".to_string());
        assert_eq!(interval(&zero, &env), Some(Duration::from_secs(120)));
        let short = format!("janitor_interval_secs = 5\n{base}");
        let err = from_str(&short, Path::new("c.toml"), &no_env).unwrap_err();
        assert!(
            err.to_string().contains("c.toml:1: janitor_interval_secs"),
            "{err}"
        );
    }

    #[test]
    fn prune_threshold_defaults_to_80_percent_with_env_override_and_a_named_problem() {
        let threshold = |text: &str, env: &dyn Fn(&str) -> Option<String>| {
            from_str(text, Path::new("c.toml"), env)
                .map(|c| c.rig.prune_threshold)
                .map_err(|e| e.to_string())
        };
        let base = "[rig]\nci_domain = \"x.org\"\n";
        assert_eq!(threshold(base, &no_env), Ok(80));
        let set = format!("{base}prune_threshold = 5\n");
        assert_eq!(threshold(&set, &no_env), Ok(5));
        let env = |name: &str| (name == "CCCI_PRUNE_THRESHOLD").then(|| "0".to_string());
        assert_eq!(threshold(&set, &env), Ok(0));
        let bad = format!("{base}prune_threshold = 101\n");
        let err = threshold(&bad, &no_env).unwrap_err();
        assert!(
            err.contains("c.toml:3: rig.prune_threshold: 101 is not a percentage"),
            "{err}"
        );
    }

    enum Want<'a> {
        /// No Keycloak on the rig.
        None,
        /// (url, admin user, password file name) after validation.
        Keycloak(&'a str, &'a str, &'a str),
        /// Fragments the error must contain.
        Problems(&'a [&'a str]),
    }

    /// Each row: the `[keycloak]` section (`{dir}` = a directory holding `admin-pw` with a
    /// password and an empty `empty-pw`), the environment, and what validation makes of it.
    #[test]
    fn keycloak_section_validates_with_env_overrides_and_named_problems() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("admin-pw"), "kc-pass-98765\n").unwrap();
        std::fs::write(dir.path().join("empty-pw"), "  \n").unwrap();
        let d = dir.path().display().to_string();
        type Row<'a> = (&'a str, &'a [(&'a str, &'a str)], Want<'a>);
        let rows: &[Row] = &[
            ("", &[], Want::None),
            (
                "[keycloak]\nurl = \"https://sso.example.org/\"\nadmin_password_file = \"{dir}/admin-pw\"\n",
                &[],
                Want::Keycloak("https://sso.example.org", "admin", "admin-pw"),
            ),
            (
                "[keycloak]\nurl = \"https://sso.example.org\"\nadmin_user = \"root\"\nadmin_password_file = \"{dir}/admin-pw\"\n",
                &[("CCCI_KEYCLOAK_URL", "http://kc.local:8080"), ("CCCI_KEYCLOAK_ADMIN_USER", "ops")],
                Want::Keycloak("http://kc.local:8080", "ops", "admin-pw"),
            ),
            (
                "",
                &[("CCCI_KEYCLOAK_URL", "https://sso.x.org"), ("CCCI_KEYCLOAK_ADMIN_PASSWORD_FILE", "{dir}/admin-pw")],
                Want::Keycloak("https://sso.x.org", "admin", "admin-pw"),
            ),
            // The user alone (it has a default) does not conjure a Keycloak.
            ("", &[("CCCI_KEYCLOAK_ADMIN_USER", "ops")], Want::None),
            (
                "[keycloak]\nurl = \"https://sso.example.org\"\nadmin_password_file = \"{dir}/missing-pw\"\n",
                &[],
                Want::Problems(&["c.toml:5: keycloak.admin_password_file: cannot read", "missing-pw", "fix: write the Keycloak admin's password into that file"]),
            ),
            (
                "[keycloak]\nurl = \"https://sso.example.org\"\nadmin_password_file = \"{dir}/empty-pw\"\n",
                &[],
                Want::Problems(&["c.toml:5: keycloak.admin_password_file:", "empty-pw is empty", "fix:"]),
            ),
            (
                "[keycloak]\nurl = \"https://sso.example.org\"\n",
                &[],
                Want::Problems(&["c.toml:3: keycloak: no admin_password_file", "CCCI_KEYCLOAK_ADMIN_PASSWORD_FILE"]),
            ),
            (
                "[keycloak]\nurl = \"sso.example.org\"\nadmin_user = \"\"\nadmin_password_file = \"{dir}/admin-pw\"\n",
                &[],
                Want::Problems(&["c.toml:4: keycloak.url: \"sso.example.org\" is not an http(s) URL", "c.toml:5: keycloak.admin_user: is empty"]),
            ),
            (
                "[keycloak]\nurl = \"https://sso.example.org\"\npassword = \"x\"\n",
                &[],
                Want::Problems(&["c.toml:5:", "unknown field"]),
            ),
        ];
        for (section, env, want) in rows {
            let text = format!(
                "[rig]\nci_domain = \"x.org\"\n{}",
                section.replace("{dir}", &d)
            );
            let env: Vec<(String, String)> = env
                .iter()
                .map(|(k, v)| (k.to_string(), v.replace("{dir}", &d)))
                .collect();
            let lookup = |name: &str| env.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
            let result = from_str(&text, Path::new("c.toml"), &lookup);
            match want {
                Want::None => assert!(result.unwrap().keycloak.is_none(), "{text}"),
                Want::Keycloak(url, user, file) => {
                    let config = result.unwrap_or_else(|e| panic!("{text}: {e}"));
                    let keycloak = config.keycloak.clone().expect(&text);
                    assert_eq!(keycloak.url, *url, "{text}");
                    assert_eq!(keycloak.admin_user, *user, "{text}");
                    assert_eq!(keycloak.admin_password_file, dir.path().join(file));
                    assert_eq!(keycloak.admin_password.expose(), "kc-pass-98765");
                    assert!(
                        !format!("{config:?}").contains("kc-pass-98765"),
                        "the password never prints"
                    );
                }
                Want::Problems(fragments) => {
                    let shown = result.expect_err(&text).to_string();
                    for fragment in *fragments {
                        assert!(
                            shown.contains(fragment),
                            "{text:?}: {shown:?} lacks {fragment:?}"
                        );
                    }
                    assert!(!shown.contains("kc-pass-98765"));
                }
            }
        }
    }

    /// Each row: the `[nightly]` section (after a `[rig]` with a suites dir unless the row
    /// says otherwise), the environment, and the time, or fragments of the error.
    #[test]
    fn nightly_at_is_a_utc_time_of_day_and_needs_the_suites_dir() {
        type Row<'a> = (
            &'a str,
            bool,
            Option<&'a str>,
            Result<Option<(u8, u8)>, &'a [&'a str]>,
        );
        let rows: &[Row] = &[
            ("", true, None, Ok(None)),
            ("[nightly]\nat = \"03:00\"\n", true, None, Ok(Some((3, 0)))),
            (
                "[nightly]\nat = \"23:59\"\n",
                true,
                None,
                Ok(Some((23, 59))),
            ),
            ("", true, Some("00:30"), Ok(Some((0, 30)))),
            (
                "[nightly]\nat = \"03:00\"\n",
                true,
                Some("04:15"),
                Ok(Some((4, 15))),
            ),
            (
                "[nightly]\nat = \"24:00\"\n",
                true,
                None,
                Err(&[
                    "c.toml:5: nightly.at: \"24:00\" is not a time of day",
                    "fix: write the UTC time",
                ]),
            ),
            (
                "[nightly]\nat = \"3:00\"\n",
                true,
                None,
                Err(&["c.toml:5: nightly.at:"]),
            ),
            (
                "[nightly]\nat = \"03:00 pm\"\n",
                true,
                None,
                Err(&["nightly.at:"]),
            ),
            (
                "[nightly]\n",
                true,
                None,
                Err(&["nightly.at: \"\" is not a time of day"]),
            ),
            (
                "[nightly]\nat = \"03:00\"\n",
                false,
                None,
                Err(&[
                    "rig.suites_dir: not set, and [nightly] needs it",
                    "CCCI_SUITES_DIR",
                ]),
            ),
            (
                "[nightly]\nwhen = \"03:00\"\n",
                true,
                None,
                Err(&["unknown field"]),
            ),
        ];
        for (section, suites, env_at, want) in rows {
            let suites = if *suites {
                "suites_dir = \"/srv/suites\"\n"
            } else {
                ""
            };
            let text = format!("[rig]\nci_domain = \"x.org\"\n{suites}{section}");
            let env = |name: &str| {
                env_at
                    .filter(|_| name == "CCCI_NIGHTLY_AT")
                    .map(String::from)
            };
            let result = from_str(&text, Path::new("c.toml"), &env);
            match want {
                Ok(at) => {
                    let got = result
                        .unwrap_or_else(|e| panic!("{text}: {e}"))
                        .nightly
                        .map(|n| (n.at.hour(), n.at.minute()));
                    assert_eq!(got, *at, "{text}");
                }
                Err(fragments) => {
                    let shown = result.expect_err(&text).to_string();
                    for fragment in *fragments {
                        assert!(
                            shown.contains(fragment),
                            "{text:?}: {shown:?} lacks {fragment:?}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn database_passwords_are_not_echoed() {
        let text = "database = \"mysql://u:hunter2@x\"\n[rig]\nci_domain = \"x.org\"\n";
        let err = from_str(text, Path::new("c.toml"), &no_env).unwrap_err();
        assert!(!err.to_string().contains("hunter2"));
    }
}
