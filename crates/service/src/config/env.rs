//! `CCCI_*` environment overrides: a variable that is set and not blank wins over the file.
//! The rig's and the Keycloak's variables are the runner's
//! ([`ccci_runner::rig_settings::apply_env`]), the same the CLI's flags read.

use super::raw::{RawConfig, RawForge, RawNightly, RawRepo, RawRetention, RawWebhook};

type Lookup<'a> = &'a dyn Fn(&str) -> Option<String>;

/// `CCCI_*` variables win over the file.
pub(super) fn apply_env(raw: &mut RawConfig, env: Lookup) {
    apply_server(raw, env);
    apply_forge(raw, env);
    apply_webhook(raw, env);
    ccci_runner::rig_settings::apply_env(
        raw.rig.get_or_insert_with(Default::default),
        &mut raw.keycloak,
        env,
    );
    if let Some(v) = set(env, "CCCI_NIGHTLY_AT") {
        raw.nightly.get_or_insert_with(RawNightly::default).at = Some(v);
    }
    apply_retention(raw, env);
}

fn apply_retention(raw: &mut RawConfig, env: Lookup) {
    if let Some(v) = set(env, "CCCI_RETENTION_DAYS") {
        raw.retention.get_or_insert_with(RawRetention::default).days = Some(number(&v));
    }
    if let Some(v) = set(env, "CCCI_RETENTION_MAX_GB") {
        // Not a number reads as -1 (out of range), like the other numbers.
        let gb = v.trim().parse().unwrap_or(-1.0);
        raw.retention
            .get_or_insert_with(RawRetention::default)
            .max_gb = Some(gb);
    }
}

/// The variable's value when it is set and not blank.
fn set(env: Lookup, name: &str) -> Option<String> {
    env(name).filter(|v| !v.trim().is_empty())
}

/// A number of the file; a variable that is not one reads as -1 (out of range).
fn number(value: &str) -> i64 {
    value.trim().parse().unwrap_or(-1)
}

fn apply_server(raw: &mut RawConfig, env: Lookup) {
    if let Some(v) = set(env, "CCCI_HOST_ID") {
        raw.host_id = Some(v);
    }
    if let Some(v) = set(env, "CCCI_LISTEN") {
        raw.listen = Some(v);
    }
    if let Some(v) = set(env, "CCCI_PUBLIC_URL") {
        raw.public_url = Some(v);
    }
    if let Some(v) = set(env, "CCCI_DATABASE_URL") {
        raw.database = Some(v);
    }
    if let Some(v) = set(env, "CCCI_CAPACITY") {
        raw.capacity = Some(number(&v));
    }
    if let Some(v) = set(env, "CCCI_RUNS_DIR") {
        raw.runs_dir = Some(v.into());
    }
    if let Some(v) = set(env, "CCCI_JANITOR_INTERVAL") {
        raw.janitor_interval_secs = Some(number(&v));
    }
}

const FORGE_VARS: [&str; 6] = [
    "CCCI_FORGE_URL",
    "CCCI_FORGE_TOKEN_FILE",
    "CCCI_REPOS",
    "CCCI_ALLOW_LIST",
    "CCCI_BOT_LOGIN",
    "CCCI_POLL_INTERVAL",
];

fn apply_forge(raw: &mut RawConfig, env: Lookup) {
    if !FORGE_VARS.iter().any(|v| set(env, v).is_some()) {
        return;
    }
    let forge = raw.forge.get_or_insert_with(RawForge::default);
    if let Some(v) = set(env, "CCCI_FORGE_URL") {
        forge.url = Some(v);
    }
    if let Some(v) = set(env, "CCCI_FORGE_TOKEN_FILE") {
        forge.token_file = Some(v.into());
        forge.token_env = None;
    }
    if let Some(v) = set(env, "CCCI_REPOS") {
        forge.repos = split_list(&v).into_iter().map(RawRepo::Name).collect();
    }
    if let Some(v) = set(env, "CCCI_ALLOW_LIST") {
        forge.allow_list = split_list(&v);
    }
    if let Some(v) = set(env, "CCCI_BOT_LOGIN") {
        forge.bot_login = Some(v);
    }
    if let Some(v) = set(env, "CCCI_POLL_INTERVAL") {
        forge.poll_interval_secs = Some(number(&v));
    }
}

fn apply_webhook(raw: &mut RawConfig, env: Lookup) {
    if let Some(v) = set(env, "CCCI_WEBHOOK_URL") {
        raw.webhook.get_or_insert_with(RawWebhook::default).url = Some(v);
    }
    if let Some(v) = set(env, "CCCI_WEBHOOK_REGISTER") {
        let on = !matches!(
            v.trim().to_ascii_lowercase().as_str(),
            "0" | "false" | "no" | "off"
        );
        raw.webhook.get_or_insert_with(RawWebhook::default).register = Some(on);
    }
    if let Some(v) = set(env, "CCCI_WEBHOOK_SECRET_FILE") {
        raw.webhook
            .get_or_insert_with(RawWebhook::default)
            .secret_files = vec![v.into()];
    }
    if set(env, "CCCI_WEBHOOK_SECRET").is_some() {
        let hook = raw.webhook.get_or_insert_with(RawWebhook::default);
        hook.secret_files.clear();
        hook.secret_env = vec!["CCCI_WEBHOOK_SECRET".into()];
        if set(env, "CCCI_WEBHOOK_SECRET_PREVIOUS").is_some() {
            hook.secret_env.push("CCCI_WEBHOOK_SECRET_PREVIOUS".into());
        }
    }
}

fn split_list(value: &str) -> Vec<String> {
    value
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(String::from)
        .collect()
}
