//! `ccci serve`'s configuration: one TOML file plus `CCCI_*` environment overrides.
//!
//! One job per module: [`raw`] is the file as read from TOML (unknown keys are errors, so
//! typos are caught), `env` the `CCCI_*` overrides, `validate` the checks that turn it
//! into a [`Config`] — or into a [`ConfigError`] that names the file, the line
//! (`position`), the field, what is wrong and the fix. Nothing downstream sees an
//! unvalidated value. `[rig]` and `[keycloak]` are the runner's settings, validated into a
//! [`Rig`] by [`ccci_runner::rig_settings`] — the same names, defaults and checks as the
//! CLI's flags. Tokens, webhook secrets and the Keycloak admin's password are read from
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
//! operator_token_file = "/etc/ccci/operator-token"  # or the token in CCCI_OPERATOR_TOKEN;
//!     # the operator's actions on the dashboard (Cancel on a run page) ask for it; without
//!     # one they are refused
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
//! webhook_poll_interval_secs = 300       # repositories on a working webhook are polled
//!                                        # this often anyway (a hook that stops delivering
//!                                        # is noticed); the others every poll_interval_secs
//!
//! [webhook]                              # optional: POST /webhook/gitea
//! secret_files = ["/etc/ccci/hook-secret", "/etc/ccci/hook-secret.old"]
//!                                        # CCCI_WEBHOOK_SECRET(_PREVIOUS) or CCCI_WEBHOOK_SECRET_FILE
//! url = "https://ci.example.org/webhook/gitea"  # CCCI_WEBHOOK_URL; default public_url + /webhook/gitea
//! register = true                        # CCCI_WEBHOOK_REGISTER; serve keeps one hook at `url`
//!                                        # on each watched repository where the token may
//!                                        # administer hooks (docs/webhooks.md); polling elsewhere
//! delivery_grace_secs = 120              # a !testme undelivered this long: the hook is broken
//! [rig]
//! ci_domain = "ci.example.org"           # CCCI_CI_DOMAIN
//! suites_dir = "/srv/ccci/tests"         # CCCI_SUITES_DIR
//! state_dir = "/var/lib/ccci/state"      # CCCI_STATE_DIR (the default, as for `ccci`)
//! ingress = "127.0.0.1:443"              # CCCI_INGRESS; leave out when the rig has no proxy
//! ingress_https = true                  # CCCI_INGRESS_HTTPS
//! ingress_ca = "/etc/ccci/rig-ca.pem"       # CCCI_INGRESS_CA; the CA the proxy's certificates
//!                                          # chain to (default: the public web roots)
//! service_vips = "auto"                  # CCCI_SERVICE_VIPS; auto (detect), yes or no
//! deadline_secs = 3600                   # CCCI_DEADLINE_SECS; at least 60
//! prune_threshold = 80                   # CCCI_PRUNE_THRESHOLD; disk use (%) from which a run
//!                                        # prunes first (old dangling images, containers, cache)
//! pull_timeout_secs = 600                # CCCI_PULL_TIMEOUT_SECS; the bound of one image pull
//! screenshots = true                     # CCCI_SCREENSHOTS; false: no picture of the landing
//!                                        # page (saves a browser container per run)
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
//!
//! [retention]                            # optional: artefacts kept N days and/or M GB
//! days = 30                              # CCCI_RETENTION_DAYS; 0 or absent = no age limit
//! max_gb = 20                            # CCCI_RETENTION_MAX_GB; 0 or absent = no size limit
//!     # The janitor removes run directories (under runs_dir) finished longer ago than
//!     # `days`, then the oldest while all of them together are over `max_gb`: never a queued
//!     # or running run's, never a recipe's newest finished run, its newest green one or
//!     # the first red after it. The job rows stay; what was removed is logged in
//!     # rig.state_dir/retention.jsonl and shown on the dashboard.
//! ```

mod env;
mod position;
pub mod raw;
mod validate;

use ccci_core::secret::Secret;
pub use ccci_runner::request::Rig;
use position::line_at;
pub use raw::RawConfig;
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
    /// The operator's token: the dashboard's operator actions (Cancel) need it; `None` =
    /// no operator actions.
    pub operator_token: Option<Secret>,
    pub forge: Option<ForgeConfig>,
    pub webhook: Option<WebhookConfig>,
    /// The runner's settings for this host's runs and janitor (`[rig]`; its shared
    /// Keycloak of SSO dependencies from `[keycloak]`, `None` = none on this rig).
    pub rig: Rig,
    /// The nightly sweep run by serve; `None` = not run by serve (cron may run `ccci nightly`).
    pub nightly: Option<NightlyConfig>,
    /// How long run directories are kept (`[retention]`); both limits off by default.
    pub retention: ccci_core::retention::Limits,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NightlyConfig {
    /// The time of day (UTC) the sweep is due from.
    pub at: time::Time,
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
    /// How often a repository whose registered webhook works is polled anyway (to notice
    /// a hook that stopped delivering); others are polled every `poll_interval`.
    pub webhook_poll_interval: Duration,
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
    /// Where the forge delivers: cc-ci's hooks are exactly the hooks at this URL.
    pub url: String,
    /// Serve registers (creates, corrects, de-duplicates) its hook on each watched
    /// repository where the token may administer hooks (`docs/webhooks.md`).
    pub register: bool,
    /// A `!testme` the poller found that the hook has not delivered this long after it was
    /// made marks the hook broken.
    pub delivery_grace: Duration,
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
    env::apply_env(&mut raw, env);
    validate::validate(raw, text, env).map_err(fail)
}

#[cfg(test)]
mod tests;
