//! The configuration file as read from TOML: every field optional, unknown keys refused
//! (typos are caught). `[rig]` and `[keycloak]` are the runner's own raw types, shared with
//! the CLI's flags ([`ccci_runner::rig_settings`]).

pub use ccci_runner::rig_settings::{RawKeycloak, RawRig};
use serde::Deserialize;
use std::path::PathBuf;

/// The whole file.
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
    /// A file holding the operator's token (the run page's Cancel asks for it).
    pub operator_token_file: Option<PathBuf>,
    pub forge: Option<RawForge>,
    pub webhook: Option<RawWebhook>,
    pub rig: Option<RawRig>,
    pub keycloak: Option<RawKeycloak>,
    pub nightly: Option<RawNightly>,
    pub retention: Option<RawRetention>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawNightly {
    pub at: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRetention {
    pub days: Option<i64>,
    /// Gigabytes (10^9 bytes); a fraction is allowed (`0.5`).
    pub max_gb: Option<f64>,
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
    /// How often repositories on a working webhook are polled anyway (to notice a hook that
    /// stopped delivering).
    pub webhook_poll_interval_secs: Option<i64>,
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
    /// Where the forge delivers (default `<public_url>/webhook/gitea`): cc-ci's hooks are
    /// the ones at this URL.
    pub url: Option<String>,
    /// Whether serve registers its hook on each watched repository (default true).
    pub register: Option<bool>,
    /// How long a `!testme` may go undelivered before the hook counts as broken.
    pub delivery_grace_secs: Option<i64>,
}
