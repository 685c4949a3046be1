//! Keeps cc-ci's webhook registered: at start and then every [`REGISTER_INTERVAL`], one
//! hook at `[webhook] url` on each watched repository (created if missing, corrected if
//! drifted, duplicates deleted — `ccci_forge::hooks::plan_hooks` decides), and none left on
//! a repository no longer watched. Where the token may not administer hooks (403/404),
//! the repository stays on polling and [`crate::triggers`] says so.
//!
//! cc-ci remembers, per repository, the hook it made and a fingerprint of the secret it
//! made it with (one store row per webhook URL, so hosts with their own URLs keep their own
//! record): Gitea never shows a secret and cannot change one, so a hook whose secret is not
//! known to be the current one is replaced (see `ccci_forge::hooks`).

use crate::app::{App, Forge};
use crate::config::WebhookConfig;
use crate::job::now_millis;
use crate::triggers::Mode;
use ccci_core::secret::Secret;
use ccci_forge::hooks::{plan_hooks, secret_fingerprint, HookAction};
use ccci_forge::{ForgeError, RepoName};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// How often the hooks are checked again after start (drift made by hand, a broken hook
/// replaced, a registration that failed on a passing error).
pub const REGISTER_INTERVAL: Duration = Duration::from_secs(3600);

/// What cc-ci made: per repository (`owner/name`), its hook.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
struct Registered {
    repos: BTreeMap<String, RegisteredHook>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
struct RegisteredHook {
    hook_id: u64,
    /// [`secret_fingerprint`] of the secret the hook was created with.
    secret: String,
}

fn record_key(url: &str) -> String {
    format!("(webhooks) {url}")
}

/// Registers at start, then every [`REGISTER_INTERVAL`], until `stop`.
pub async fn run(app: Arc<App>, stop: CancellationToken) {
    loop {
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = register_all(&app) => {}
        }
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tokio::time::sleep(REGISTER_INTERVAL) => {}
        }
    }
}

/// One pass over the watched repositories (and those cc-ci registered before that are no
/// longer watched). Failures are logged and leave the repository on polling.
pub async fn register_all(app: &App) {
    let Some(forge) = app.forge.as_ref() else {
        return;
    };
    let hook = match app.config.webhook.as_ref() {
        Some(hook) if hook.register => hook,
        other => {
            let reason = match other {
                None => "no [webhook] configured",
                Some(_) => "hook registration is off ([webhook] register = false); a hook made by hand still triggers",
            };
            for (repo, _) in &forge.repos {
                let reason = reason.to_string();
                app.triggers
                    .set(&repo.full_name(), Mode::Polling { reason });
            }
            return;
        }
    };
    let mut record = load(app, &hook.url).await;
    let Some(secret) = hook.secrets.first() else {
        return;
    };
    let fingerprint = secret_fingerprint(secret);
    for (repo, _) in &forge.repos {
        let key = repo.full_name();
        let known = record
            .repos
            .get(&key)
            .filter(|r| r.secret == fingerprint)
            .map(|r| r.hook_id);
        match ensure(forge, repo, &hook.url, secret, known).await {
            Ok(hook_id) => {
                let made = RegisteredHook {
                    hook_id,
                    secret: fingerprint.clone(),
                };
                record.repos.insert(key.clone(), made);
                keep_broken_or(app, &key, Mode::Webhook { hook_id });
            }
            Err(e) => app.triggers.set(&key, polling_because(&e, forge)),
        }
    }
    forget_unwatched(forge, &hook.url, &mut record).await;
    save(app, hook, &record).await;
}

/// Sets `mode`, except over a broken hook that is still the same hook (it stays broken
/// until it delivers again).
fn keep_broken_or(app: &App, repo: &str, mode: Mode) {
    let same_broken = matches!(
        (app.triggers.mode(repo), &mode),
        (Some(Mode::Broken { hook_id: a, .. }), Mode::Webhook { hook_id: b }) if a == *b
    );
    if !same_broken {
        app.triggers.set(repo, mode);
    }
}

/// Why a repository is on polling after `error`.
fn polling_because(error: &ForgeError, forge: &Forge) -> Mode {
    let every = forge.config.poll_interval.as_secs();
    let reason = match error.status() {
        Some(status @ (403 | 404)) => format!(
            "the token may not administer this repository's hooks (HTTP {status}: {error}); polling every {every} s"
        ),
        _ => format!("registering the hook failed ({error}); polling every {every} s, trying again within the hour"),
    };
    Mode::Polling { reason }
}

/// Makes `repo` hold exactly one right cc-ci hook; returns its id.
async fn ensure(
    forge: &Forge,
    repo: &RepoName,
    url: &str,
    secret: &Secret,
    known: Option<u64>,
) -> Result<u64, ForgeError> {
    let hooks = forge.client.list_hooks(repo).await?;
    let plan = plan_hooks(url, &hooks, known);
    let id = match plan.action {
        HookAction::Keep(id) => id,
        HookAction::Edit(id) => forge.client.edit_hook(repo, id, url).await?.id,
        HookAction::Create => forge.client.create_hook(repo, url, secret).await?.id,
    };
    for old in &plan.delete {
        forge.client.delete_hook(repo, *old).await?;
    }
    if !matches!(plan.action, HookAction::Keep(_)) || !plan.delete.is_empty() {
        tracing::info!(%repo, hook = id, "webhook: {}", plan.reason);
    }
    Ok(id)
}

/// Deletes cc-ci's hooks (by URL) from repositories it registered before that are no
/// longer watched, and forgets them. One it may no longer reach is forgotten too.
async fn forget_unwatched(forge: &Forge, url: &str, record: &mut Registered) {
    let unwatched: Vec<String> = record
        .repos
        .keys()
        .filter(|name| forge.repo(name).is_none())
        .cloned()
        .collect();
    for name in unwatched {
        let Ok(repo) = RepoName::parse(&name) else {
            record.repos.remove(&name);
            continue;
        };
        match remove_ours(forge, &repo, url).await {
            Ok(n) => tracing::info!(%repo, "no longer watched: {n} cc-ci hook(s) deleted"),
            Err(e) if matches!(e.status(), Some(403 | 404)) => {
                tracing::warn!(%repo, "no longer watched; its hook could not be deleted: {e}")
            }
            Err(e) => {
                tracing::warn!(%repo, "no longer watched; deleting its hook failed, trying again later: {e}");
                continue;
            }
        }
        record.repos.remove(&name);
    }
}

async fn remove_ours(forge: &Forge, repo: &RepoName, url: &str) -> Result<usize, ForgeError> {
    let hooks = forge.client.list_hooks(repo).await?;
    let ours: Vec<u64> = hooks
        .iter()
        .filter(|h| h.url() == url)
        .map(|h| h.id)
        .collect();
    for id in &ours {
        forge.client.delete_hook(repo, *id).await?;
    }
    Ok(ours.len())
}

/// Forgets the hook of `repo` (it did not deliver), so the next pass replaces it.
pub async fn forget(app: &App, repo: &str) {
    let Some(hook) = app.config.webhook.as_ref() else {
        return;
    };
    let mut record = load(app, &hook.url).await;
    if record.repos.remove(repo).is_some() {
        save(app, hook, &record).await;
    }
}

async fn load(app: &App, url: &str) -> Registered {
    match app.store.cursor(&record_key(url)).await {
        Ok(Some(text)) => serde_json::from_str(&text).unwrap_or_else(|e| {
            tracing::warn!("the record of registered hooks is unreadable, starting over: {e}");
            Registered::default()
        }),
        Ok(None) => Registered::default(),
        Err(e) => {
            tracing::warn!("cannot read the record of registered hooks: {e}");
            Registered::default()
        }
    }
}

async fn save(app: &App, hook: &WebhookConfig, record: &Registered) {
    let text = match serde_json::to_string(record) {
        Ok(text) => text,
        Err(e) => {
            tracing::warn!("cannot write the record of registered hooks: {e}");
            return;
        }
    };
    let key = record_key(&hook.url);
    if let Err(e) = app.store.set_cursor(&key, &text, now_millis()).await {
        tracing::warn!("cannot save the record of registered hooks: {e}");
    }
}
