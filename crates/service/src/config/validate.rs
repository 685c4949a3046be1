//! The raw file, overridden, validated into the [`Config`] the service uses: defaults
//! applied, secrets read from their files or variables, every problem collected with the
//! line it is at. The rig and the Keycloak are validated by the runner
//! ([`ccci_runner::rig_settings::validate`]), the same way as the CLI's flags.

use super::position::line_of;
use super::raw::{RawConfig, RawForge, RawNightly, RawRepo, RawRetention, RawWebhook};
use super::{Config, ForgeConfig, NightlyConfig, Problem, RepoConfig, WebhookConfig};
use ccci_core::secret::Secret;
use ccci_runner::request::Rig;
use ccci_runner::rig_settings::{self, Profile};
use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

type Lookup<'a> = &'a dyn Fn(&str) -> Option<String>;

/// The problems found so far, each placed at its line of the file's text.
struct Problems<'a> {
    text: &'a str,
    list: Vec<Problem>,
}

impl Problems<'_> {
    fn push(&mut self, field: (&str, &str), message: String, fix: &str) {
        self.list.push(Problem {
            line: line_of(self.text, field.0, field.1),
            field: dotted(field),
            message,
            fix: fix.to_string(),
        });
    }

    /// A number of seconds, at least `min`; `default` when unset (and after a problem).
    fn seconds(
        &mut self,
        value: Option<i64>,
        default: u64,
        min: u64,
        field: (&str, &str),
    ) -> Duration {
        match value {
            None => Duration::from_secs(default),
            Some(v) if v >= min as i64 => Duration::from_secs(v as u64),
            Some(v) => {
                self.push(
                    field,
                    format!("{v} is out of range"),
                    &format!("set a whole number of seconds, at least {min} (default {default})"),
                );
                Duration::from_secs(default)
            }
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

/// Everything the service needs, or every problem of the file.
pub(super) fn validate(raw: RawConfig, text: &str, env: Lookup) -> Result<Config, Vec<Problem>> {
    let mut problems = Problems {
        text,
        list: Vec::new(),
    };
    let server = server(&raw, &mut problems);
    let forge = raw.forge.map(|f| forge(f, env, &mut problems));
    let webhook = raw
        .webhook
        .map(|w| webhook(w, &server.public_url, env, &mut problems));
    if webhook.is_some() && forge.is_none() {
        problems.push(
            ("webhook", ""),
            "a webhook needs a [forge] to answer on".into(),
            "add a [forge] section with url, token_file and repos",
        );
    }
    let operator_token = operator_token(raw.operator_token_file.as_deref(), env, &mut problems);
    let mut rig = rig(raw.rig.unwrap_or_default(), raw.keycloak, &mut problems);
    // Every run redacts the host's own secrets too (docs/behaviour.md §7: the host is not the
    // recipe's).
    rig.host_secrets = forge
        .iter()
        .map(|f| f.token.clone())
        .chain(webhook.iter().flat_map(|w| w.secrets.iter().cloned()))
        .chain(operator_token.iter().cloned())
        .collect();
    let nightly = raw.nightly.map(|n| nightly(n, &rig, &mut problems));
    let retention = raw
        .retention
        .map(|r| retention(r, &mut problems))
        .unwrap_or_default();
    if !problems.list.is_empty() {
        return Err(problems.list);
    }
    Ok(Config {
        host_id: server.host_id,
        listen: server.listen,
        public_url: server.public_url,
        database_url: Secret::new(server.database_url),
        capacity: server.capacity,
        runs_dir: server.runs_dir,
        lease: server.lease,
        claim_interval: server.claim_interval,
        shutdown_grace: server.shutdown_grace,
        janitor_interval: server.janitor_interval,
        operator_token,
        forge,
        webhook,
        rig,
        nightly,
        retention,
    })
}

/// The top-level settings: who this host is, where it listens and stores, how it paces.
struct Server {
    host_id: String,
    listen: SocketAddr,
    public_url: String,
    database_url: String,
    capacity: u32,
    runs_dir: std::path::PathBuf,
    lease: Duration,
    claim_interval: Duration,
    shutdown_grace: Duration,
    janitor_interval: Option<Duration>,
}

fn server(raw: &RawConfig, problems: &mut Problems) -> Server {
    let host_id = host_id(raw.host_id.clone(), problems);
    let listen = listen(raw.listen.clone(), problems);
    let public_url = public_url(raw.public_url.clone(), listen, problems);
    let database_url = database_url(raw.database.clone(), problems);
    let capacity = capacity(raw.capacity, problems);
    Server {
        host_id,
        listen,
        public_url,
        database_url,
        capacity,
        runs_dir: raw
            .runs_dir
            .clone()
            .unwrap_or_else(|| "/var/lib/ccci/runs".into()),
        lease: problems.seconds(raw.lease_secs, 60, 3, ("", "lease_secs")),
        claim_interval: problems.seconds(
            raw.claim_interval_secs,
            5,
            1,
            ("", "claim_interval_secs"),
        ),
        shutdown_grace: problems.seconds(
            raw.shutdown_grace_secs,
            30,
            0,
            ("", "shutdown_grace_secs"),
        ),
        janitor_interval: match raw.janitor_interval_secs {
            Some(0) => None,
            other => Some(problems.seconds(other, 600, 10, ("", "janitor_interval_secs"))),
        },
    }
}

/// Where people reach the dashboard, without a trailing slash.
fn public_url(configured: Option<String>, listen: SocketAddr, problems: &mut Problems) -> String {
    let public_url = configured
        .unwrap_or_else(|| format!("http://{listen}"))
        .trim_end_matches('/')
        .to_string();
    if !(public_url.starts_with("http://") || public_url.starts_with("https://")) {
        problems.push(
            ("", "public_url"),
            format!("{public_url:?} is not an http(s) URL"),
            "write the dashboard's address as people reach it, e.g. \"https://ci.example.org\"",
        );
    }
    public_url
}

fn host_id(configured: Option<String>, problems: &mut Problems) -> String {
    let host_id = configured.unwrap_or_else(|| {
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
        problems.push(
            ("", "host_id"),
            format!("{host_id:?} is not a usable host id"),
            "use a short name without spaces, e.g. \"ci-1\"",
        );
    }
    host_id
}

fn listen(configured: Option<String>, problems: &mut Problems) -> SocketAddr {
    let listen_text = configured.unwrap_or_else(|| "127.0.0.1:8080".into());
    listen_text.parse::<SocketAddr>().unwrap_or_else(|_| {
        problems.push(
            ("", "listen"),
            format!("{listen_text:?} is not an address:port"),
            "write it like \"0.0.0.0:8080\" or \"127.0.0.1:8080\"",
        );
        SocketAddr::from(([127, 0, 0, 1], 8080))
    })
}

fn database_url(configured: Option<String>, problems: &mut Problems) -> String {
    let database_url = configured.unwrap_or_else(|| "sqlite:/var/lib/ccci/ccci.db".into());
    let db_ok = database_url
        .strip_prefix("sqlite:")
        .is_some_and(|p| !p.trim().is_empty())
        || database_url.starts_with("postgres://")
        || database_url.starts_with("postgresql://");
    if !db_ok {
        // Never echo a database URL: it may carry a password.
        problems.push(("", "database"), "is neither `sqlite:PATH` nor `postgres://…`".into(), "use \"sqlite:/var/lib/ccci/ccci.db\" (one host) or \"postgres://user@host/db\" (several hosts)");
    }
    database_url
}

fn capacity(configured: Option<i64>, problems: &mut Problems) -> u32 {
    match configured {
        None => 1,
        Some(n) if (1..=64).contains(&n) => n as u32,
        Some(n) => {
            problems.push(
                ("", "capacity"),
                format!("{n} is out of range"),
                "set how many runs this host runs at once, 1 to 64 (CCCI_CAPACITY)",
            );
            1
        }
    }
}

/// Reads a secret file: trimmed, non-empty.
/// The operator's token: from `operator_token_file`, else `CCCI_OPERATOR_TOKEN`, else none.
fn operator_token(file: Option<&Path>, env: Lookup, problems: &mut Problems) -> Option<Secret> {
    if let Some(file) = file {
        return match read_secret_file(file) {
            Ok(token) => Some(token),
            Err(e) => {
                problems.push(
                    ("operator_token_file", ""),
                    e,
                    "write a long random token into that file (e.g. `openssl rand -hex 32`)",
                );
                None
            }
        };
    }
    env("CCCI_OPERATOR_TOKEN")
        .filter(|v| !v.trim().is_empty())
        .map(|v| Secret::new(v.trim()))
}

fn read_secret_file(path: &Path) -> Result<Secret, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let value = text.trim();
    if value.is_empty() {
        return Err(format!("{} is empty", path.display()));
    }
    Ok(Secret::new(value))
}

fn forge(f: RawForge, env: Lookup, problems: &mut Problems) -> ForgeConfig {
    let url = f
        .url
        .clone()
        .unwrap_or_default()
        .trim_end_matches('/')
        .to_string();
    if !(url.starts_with("http://") || url.starts_with("https://")) {
        problems.push(
            ("forge", "url"),
            format!("{url:?} is not an http(s) URL"),
            "set the forge's web root, e.g. \"https://git.coopcloud.tech\" (CCCI_FORGE_URL)",
        );
    }
    let token = forge_token(&f, env, problems);
    let repos = repos(f.repos, &url, problems);
    let poll_interval =
        problems.seconds(f.poll_interval_secs, 30, 1, ("forge", "poll_interval_secs"));
    let webhook_poll_interval = problems.seconds(
        f.webhook_poll_interval_secs,
        300,
        1,
        ("forge", "webhook_poll_interval_secs"),
    );
    let request_timeout = problems.seconds(
        f.request_timeout_secs,
        20,
        1,
        ("forge", "request_timeout_secs"),
    );
    ForgeConfig {
        url,
        token,
        repos,
        allow_list: f.allow_list,
        bot_login: f.bot_login.unwrap_or_default(),
        poll_interval,
        poll: f.poll.unwrap_or(true),
        webhook_poll_interval,
        status_context: f.status_context.unwrap_or_else(|| "cc-ci".into()),
        request_timeout,
    }
}

/// The token from `token_file`, else `CCCI_FORGE_TOKEN`, else the variable `token_env` names.
fn forge_token(f: &RawForge, env: Lookup, problems: &mut Problems) -> Secret {
    if let Some(file) = &f.token_file {
        return read_secret_file(file).unwrap_or_else(|e| {
            problems.push(("forge", "token_file"), e, "write the forge token (read scope is enough for polling; issue comment and status write for reporting) into that file");
            Secret::new("")
        });
    }
    if let Some(value) = env("CCCI_FORGE_TOKEN").filter(|v| !v.trim().is_empty()) {
        return Secret::new(value.trim());
    }
    let Some(var) = &f.token_env else {
        problems.push(("forge", ""), "no token".into(), "set token_file = \"/etc/ccci/token\" in [forge], or CCCI_FORGE_TOKEN_FILE / CCCI_FORGE_TOKEN");
        return Secret::new("");
    };
    match env(var).filter(|v| !v.trim().is_empty()) {
        Some(value) => Secret::new(value.trim()),
        None => {
            problems.push(
                ("forge", "token_env"),
                format!("environment variable {var} is not set"),
                "export it, or use token_file",
            );
            Secret::new("")
        }
    }
}

fn repos(raw: Vec<RawRepo>, forge_url: &str, problems: &mut Problems) -> Vec<RepoConfig> {
    let mut repos = Vec::new();
    for r in raw {
        let (name, recipe, clone_url) = match r {
            RawRepo::Name(name) => (name, None, None),
            RawRepo::Table {
                repo,
                recipe,
                clone_url,
            } => (repo, recipe, clone_url),
        };
        let parts: Vec<&str> = name.split('/').collect();
        let valid = parts.len() == 2
            && parts.iter().all(|p| {
                !p.is_empty()
                    && p.chars()
                        .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
                    && *p != "."
                    && *p != ".."
            });
        if !valid {
            problems.push(
                ("forge", "repos"),
                format!("{name:?} is not owner/name"),
                "list repositories as \"owner/name\", e.g. \"coop-cloud/keycloak\"",
            );
            continue;
        }
        let recipe = recipe.unwrap_or_else(|| parts[1].to_string());
        let clone_url = clone_url.unwrap_or_else(|| format!("{forge_url}/{name}.git"));
        repos.push(RepoConfig {
            repo: name,
            recipe,
            clone_url,
        });
    }
    if repos.is_empty() {
        problems.push(
            ("forge", "repos"),
            "no repositories".into(),
            "list the recipe repositories to watch: repos = [\"coop-cloud/keycloak\"] (CCCI_REPOS)",
        );
    }
    repos
}

fn webhook(w: RawWebhook, public_url: &str, env: Lookup, problems: &mut Problems) -> WebhookConfig {
    let mut secrets = Vec::new();
    for file in &w.secret_files {
        match read_secret_file(file) {
            Ok(s) => secrets.push(s),
            Err(e) => problems.push(("webhook", "secret_files"), e, "write the webhook's secret into that file (the same as in the forge's hook settings)"),
        }
    }
    for var in &w.secret_env {
        match env(var).filter(|v| !v.trim().is_empty()) {
            Some(v) => secrets.push(Secret::new(v.trim())),
            None => problems.push(
                ("webhook", "secret_env"),
                format!("environment variable {var} is not set"),
                "export it, or use secret_files",
            ),
        }
    }
    if secrets.is_empty() || secrets.len() > 2 {
        problems.push(
            ("webhook", ""),
            format!("{} secrets given", secrets.len()),
            "give one secret, or two while rotating (secret_files, CCCI_WEBHOOK_SECRET[_PREVIOUS])",
        );
    }
    let url = w
        .url
        .map(|u| u.trim().to_string())
        .unwrap_or_else(|| format!("{public_url}/webhook/gitea"));
    let host = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"));
    if host.is_none_or(|h| h.is_empty() || h.starts_with('/')) {
        problems.push(
            ("webhook", "url"),
            format!("{url:?} is not an http(s) URL"),
            "set the URL the forge reaches cc-ci's webhook at, e.g. \"https://ci.example.org/webhook/gitea\" (CCCI_WEBHOOK_URL)",
        );
    }
    let delivery_grace = problems.seconds(
        w.delivery_grace_secs,
        120,
        1,
        ("webhook", "delivery_grace_secs"),
    );
    WebhookConfig {
        secrets,
        url,
        register: w.register.unwrap_or(true),
        delivery_grace,
    }
}

/// `[rig]` and `[keycloak]`, validated by the runner like the CLI's flags; each problem is
/// placed at its field's line.
fn rig(
    raw: rig_settings::RawRig,
    keycloak: Option<rig_settings::RawKeycloak>,
    problems: &mut Problems,
) -> Rig {
    let suites_dir = raw.suites_dir.clone();
    match rig_settings::validate(raw, keycloak, Profile::Service) {
        Ok(rig) => rig,
        Err(rig_problems) => {
            for p in rig_problems {
                problems.push(p.field.toml(), p.message, &p.fix);
            }
            // Only for the checks still to come (`[nightly]` needs the suites dir).
            Rig {
                suites_dir,
                ..Rig::local(rig_settings::DEFAULT_STATE_DIR.into())
            }
        }
    }
}

fn nightly(n: RawNightly, rig: &Rig, problems: &mut Problems) -> NightlyConfig {
    let at = n.at.unwrap_or_default();
    let time = parse_hh_mm(&at).unwrap_or_else(|| {
        problems.push(("nightly", "at"), format!("{at:?} is not a time of day"), "write the UTC time the sweep is due as \"HH:MM\", e.g. at = \"03:00\" (CCCI_NIGHTLY_AT), or remove [nightly]");
        time::Time::MIDNIGHT
    });
    if rig.suites_dir.is_none() {
        problems.push(
            ("rig", "suites_dir"),
            "not set, and [nightly] needs it".into(),
            "set suites_dir in [rig] (CCCI_SUITES_DIR): the sweep runs the recipes enrolled there",
        );
    }
    NightlyConfig { at: time }
}

/// Largest `max_gb` accepted: a petabyte (a typo, not a host).
const MAX_GB: f64 = 1_000_000.0;

/// `[retention]`: whole days, at most ten years; gigabytes, a fraction allowed. 0 = off.
fn retention(r: RawRetention, problems: &mut Problems) -> ccci_core::retention::Limits {
    let days = match r.days {
        None | Some(0) => None,
        Some(d) if (1..=3650).contains(&d) => Some(d as u32),
        Some(d) => {
            problems.push(
                ("retention", "days"),
                format!("{d} is out of range"),
                "keep run directories a whole number of days, 1 to 3650, e.g. days = 30 (CCCI_RETENTION_DAYS); 0 or leave it out for no age limit",
            );
            None
        }
    };
    let max_bytes = match r.max_gb {
        None => None,
        Some(0.0) => None,
        Some(gb) if gb.is_finite() && gb > 0.0 && gb <= MAX_GB => Some((gb * 1e9) as u64),
        Some(gb) => {
            problems.push(
                ("retention", "max_gb"),
                format!("{gb} is out of range"),
                "set the gigabytes all run directories may take, more than 0, e.g. max_gb = 20 (CCCI_RETENTION_MAX_GB); 0 or leave it out for no size limit",
            );
            None
        }
    };
    ccci_core::retention::Limits { days, max_bytes }
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
