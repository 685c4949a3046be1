//! The stand-in's repository webhooks, as Gitea's API and its hook handlers
//! (`routers/api/v1/utils/hook.go`) describe them:
//! - `GET    /repos/{owner}/{repo}/hooks?page=&limit=` → `[Hook]`
//! - `POST   /repos/{owner}/{repo}/hooks` `CreateHookOption` → 201 `Hook`; 422 for an unknown
//!   `type`, a `config` without `url` or `content_type`, a content type other than
//!   `json`/`form`, or a URL that is not http(s)
//! - `PATCH  /repos/{owner}/{repo}/hooks/{id}` `EditHookOption` → 200 `Hook`; like Gitea it
//!   replaces the events with the form's (none given: `push`) and ignores `config.secret`
//! - `DELETE /repos/{owner}/{repo}/hooks/{id}` → 204
//!
//! Each answers 403 unless the token's user administers the repository (Gitea's
//! `reqAdmin`), 404 for a missing repository or hook. Events are stored as Gitea stores
//! them: `pull_request` turns on its whole family (`pull_request_comment`, …), `issues`
//! the issue family. A `Hook` never shows the secret.
//!
//! Deliveries: [`Standin::deliver_comment`] sends a comment's event to every active hook
//! of its repository that subscribes to it (`pull_request_comment` for a comment on a PR,
//! `issue_comment` on an issue), signed with that hook's secret, as Gitea's delivery queue
//! would.

use super::{
    fmt_time, gitea_error, lock, not_found, now, page_of, paging, path_number, repo_key,
    unprocessable, Call, Issue, Reject, Reply, Repo, Standin, State, WebhookDelivery, Q,
};
use crate::api::RepoName;
use crate::trigger::Permission;
use axum::extract::{Path, Query};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::Json;
use ccci_core::secret::Secret;
use serde_json::{json, Value};
use std::time::Duration;
use time::OffsetDateTime;

/// A repository webhook as the stand-in holds it, secret included.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StandinHook {
    pub id: u64,
    pub kind: String,
    pub url: String,
    pub content_type: String,
    pub secret: String,
    /// As stored: families expanded.
    pub events: Vec<String>,
    pub active: bool,
    pub created: OffsetDateTime,
    pub updated: OffsetDateTime,
}

/// What one delivery to one hook came to: the receiver's HTTP status, or why none.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeliveryOutcome {
    pub hook_id: u64,
    pub status: Result<u16, String>,
}

/// Gitea's hook types (`webhook_module` task types).
const HOOK_TYPES: [&str; 10] = [
    "dingtalk",
    "discord",
    "gitea",
    "gogs",
    "msteams",
    "slack",
    "telegram",
    "feishu",
    "wechatwork",
    "packagist",
];

/// Events set only by their own name.
const PLAIN_EVENTS: [&str; 11] = [
    "create",
    "push",
    "delete",
    "fork",
    "repository",
    "wiki",
    "release",
    "package",
    "status",
    "workflow_run",
    "workflow_job",
];

/// The issue family: each set by its own name (the first by `issues_only`) or by `issues`.
const ISSUE_EVENTS: [(&str, &str); 5] = [
    ("issues", "issues_only"),
    ("issue_assign", "issue_assign"),
    ("issue_label", "issue_label"),
    ("issue_milestone", "issue_milestone"),
    ("issue_comment", "issue_comment"),
];

/// The pull request family: each set by its own name (the first by `pull_request_only`)
/// or by `pull_request`.
const PULL_EVENTS: [(&str, &str); 8] = [
    ("pull_request", "pull_request_only"),
    ("pull_request_assign", "pull_request_assign"),
    ("pull_request_label", "pull_request_label"),
    ("pull_request_milestone", "pull_request_milestone"),
    ("pull_request_comment", "pull_request_comment"),
    ("pull_request_review", "pull_request_review"),
    ("pull_request_review_request", "pull_request_review_request"),
    ("pull_request_sync", "pull_request_sync"),
];

/// The events a hook asked for `asked` is stored with (Gitea's `updateHookEvents`).
pub(super) fn stored_events(asked: &[String]) -> Vec<String> {
    let push = ["push".to_string()];
    let asked = if asked.is_empty() { &push[..] } else { asked };
    let has = |name: &str| asked.iter().any(|e| e.eq_ignore_ascii_case(name));
    let plain = PLAIN_EVENTS.into_iter().filter(|e| has(e));
    let issues = ISSUE_EVENTS
        .into_iter()
        .filter(|(_, by)| has(by) || has("issues"))
        .map(|(name, _)| name);
    let pulls = PULL_EVENTS
        .into_iter()
        .filter(|(_, by)| has(by) || has("pull_request"))
        .map(|(name, _)| name);
    plain
        .chain(issues)
        .chain(pulls)
        .map(str::to_string)
        .collect()
}

impl State {
    /// The repository, when `login` administers it: 404 without it, 403 when not admin.
    fn admin_repo(&mut self, key: &str, login: &str) -> Result<&mut Repo, Reject> {
        let r = self.repos.get(key).ok_or_else(not_found)?;
        if self.permission_of(r, login) < Permission::Admin {
            return Err(gitea_error(
                StatusCode::FORBIDDEN,
                "user should be an owner or a collaborator with admin write of a repository",
            )
            .into());
        }
        self.repos.get_mut(key).ok_or_else(not_found)
    }
}

/// Gitea's `Hook` for `h`: every field its definition names.
fn hook_json(h: &StandinHook) -> Value {
    json!({
        "id": h.id,
        "type": h.kind,
        "name": "",
        "branch_filter": "",
        "config": {"url": h.url, "content_type": h.content_type},
        "events": h.events,
        "authorization_header": "",
        "active": h.active,
        "created_at": fmt_time(h.created),
        "updated_at": fmt_time(h.updated),
    })
}

fn config_field<'a>(form: &'a Value, name: &str) -> Option<&'a str> {
    form.get("config")?.get(name)?.as_str()
}

fn events_of(form: &Value) -> Vec<String> {
    form.get("events")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

/// Gitea's checks of a hook's `config.content_type` and `config.url`.
fn check_config(content_type: Option<&str>, url: Option<&str>) -> Result<(), Reject> {
    if content_type.is_some_and(|c| !matches!(c, "json" | "form")) {
        return Err(unprocessable("Invalid content type"));
    }
    let valid_url = |u: &str| {
        url::Url::parse(u).is_ok_and(|u| matches!(u.scheme(), "http" | "https") && u.has_host())
    };
    if url.is_some_and(|u| !valid_url(u)) {
        return Err(unprocessable("Invalid url"));
    }
    Ok(())
}

pub(super) async fn list_hooks(
    call: Call,
    Path((owner, repo)): Path<(String, String)>,
    Query(q): Q,
) -> Reply {
    let (mut s, login) = call.begin()?;
    let r = s.admin_repo(&repo_key(&owner, &repo), &login)?;
    let total = r.hooks.len();
    let body: Vec<Value> = page_of(r.hooks.clone(), paging(&q))
        .map(|h| hook_json(&h))
        .collect();
    Ok(([("X-Total-Count", total.to_string())], Json(body)).into_response())
}

pub(super) async fn create_hook(
    call: Call,
    Path((owner, repo)): Path<(String, String)>,
    Json(form): Json<Value>,
) -> Reply {
    let (mut s, login) = call.begin()?;
    let key = repo_key(&owner, &repo);
    s.admin_repo(&key, &login)?;
    let kind = form.get("type").and_then(Value::as_str).unwrap_or("");
    if !HOOK_TYPES.contains(&kind) {
        return Err(unprocessable(&format!("Invalid hook type: {kind}")));
    }
    let (url, content_type) = (
        config_field(&form, "url"),
        config_field(&form, "content_type"),
    );
    for (name, value) in [("url", url), ("content_type", content_type)] {
        if value.is_none() {
            return Err(unprocessable(&format!("Missing config option: {name}")));
        }
    }
    check_config(content_type, url)?;
    s.next_hook_id += 1;
    let t = now();
    let hook = StandinHook {
        id: s.next_hook_id,
        kind: kind.to_string(),
        url: url.unwrap_or("").to_string(),
        content_type: content_type.unwrap_or("").to_string(),
        secret: config_field(&form, "secret").unwrap_or("").to_string(),
        events: stored_events(&events_of(&form)),
        // `CreateHookOption.active` defaults to false.
        active: form.get("active").and_then(Value::as_bool).unwrap_or(false),
        created: t,
        updated: t,
    };
    let body = hook_json(&hook);
    s.admin_repo(&key, &login)?.hooks.push(hook);
    Ok((StatusCode::CREATED, Json(body)).into_response())
}

pub(super) async fn edit_hook(
    call: Call,
    Path((owner, repo, id)): Path<(String, String, String)>,
    Json(form): Json<Value>,
) -> Reply {
    let (mut s, login) = call.begin()?;
    let r = s.admin_repo(&repo_key(&owner, &repo), &login)?;
    let id = path_number(&id);
    let hook = r
        .hooks
        .iter_mut()
        .find(|h| h.id == id)
        .ok_or_else(not_found)?;
    let (url, content_type) = (
        config_field(&form, "url"),
        config_field(&form, "content_type"),
    );
    check_config(content_type, url)?;
    if let Some(url) = url {
        hook.url = url.to_string();
    }
    if let Some(content_type) = content_type {
        hook.content_type = content_type.to_string();
    }
    // Like Gitea: the events are replaced whether given or not; the secret is not editable.
    hook.events = stored_events(&events_of(&form));
    if let Some(active) = form.get("active").and_then(Value::as_bool) {
        hook.active = active;
    }
    hook.updated = now();
    Ok(Json(hook_json(hook)).into_response())
}

pub(super) async fn delete_hook(
    call: Call,
    Path((owner, repo, id)): Path<(String, String, String)>,
) -> Reply {
    let (mut s, login) = call.begin()?;
    let r = s.admin_repo(&repo_key(&owner, &repo), &login)?;
    let id = path_number(&id);
    let before = r.hooks.len();
    r.hooks.retain(|h| h.id != id);
    if r.hooks.len() == before {
        return Err(not_found());
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// The hook event a comment on `issue` fires.
fn comment_event(issue: &Issue) -> &'static str {
    if issue.is_pull {
        "pull_request_comment"
    } else {
        "issue_comment"
    }
}

impl Standin {
    /// The hooks of `repo`, secrets included, in creation order.
    pub fn hooks(&self, repo: &RepoName) -> Vec<StandinHook> {
        lock(&self.state)
            .repos
            .get(&repo.full_name())
            .map(|r| r.hooks.clone())
            .unwrap_or_default()
    }

    /// A hook made by hand in the web UI (`events` as asked, expanded as Gitea stores
    /// them); returns its id.
    pub fn add_hook(
        &self,
        repo: &RepoName,
        url: &str,
        secret: &str,
        events: &[&str],
        active: bool,
    ) -> u64 {
        let mut s = lock(&self.state);
        s.next_hook_id += 1;
        let id = s.next_hook_id;
        let t = now();
        let asked: Vec<String> = events.iter().map(|e| e.to_string()).collect();
        if let Some(r) = s.repos.get_mut(&repo.full_name()) {
            r.hooks.push(StandinHook {
                id,
                kind: "gitea".into(),
                url: url.into(),
                content_type: "json".into(),
                secret: secret.into(),
                events: stored_events(&asked),
                active,
                created: t,
                updated: t,
            });
        }
        id
    }

    /// Someone changes hook `id`'s secret in the web UI.
    pub fn set_hook_secret(&self, repo: &RepoName, id: u64, secret: &str) {
        let mut s = lock(&self.state);
        let hooks = s.repos.get_mut(&repo.full_name()).map(|r| &mut r.hooks);
        if let Some(h) = hooks.and_then(|hooks| hooks.iter_mut().find(|h| h.id == id)) {
            h.secret = secret.into();
        }
    }

    /// Delivers comment `id` (action `created`) to every active hook of its repository
    /// that subscribes to its event, each signed with the hook's own secret, and returns
    /// what each receiver answered. Each POST is bounded (10 s).
    pub async fn deliver_comment(&self, id: u64) -> Vec<DeliveryOutcome> {
        let targets: Vec<(u64, String, WebhookDelivery)> = {
            let mut s = lock(&self.state);
            let Some(c) = s.comments.iter().find(|c| c.id == id).cloned() else {
                return Vec::new();
            };
            let Some(event) = s.issue(&c.repo, c.number).map(comment_event) else {
                return Vec::new();
            };
            let hooks: Vec<StandinHook> = s
                .repos
                .get(&c.repo)
                .map(|r| r.hooks.clone())
                .unwrap_or_default();
            hooks
                .into_iter()
                .filter(|h| h.active && h.events.iter().any(|e| e == event))
                .filter_map(|h| {
                    let delivery = s.comment_delivery(&c, &Secret::new(h.secret.clone()))?;
                    Some((h.id, h.url, delivery))
                })
                .collect()
        };
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build();
        let mut outcomes = Vec::new();
        for (hook_id, url, delivery) in targets {
            let status = match &client {
                Ok(client) => post_delivery(client, &url, delivery).await,
                Err(e) => Err(e.to_string()),
            };
            outcomes.push(DeliveryOutcome { hook_id, status });
        }
        outcomes
    }
}

async fn post_delivery(
    client: &reqwest::Client,
    url: &str,
    delivery: WebhookDelivery,
) -> Result<u16, String> {
    let mut request = client.post(url);
    for (name, value) in &delivery.headers {
        request = request.header(*name, value);
    }
    let answer = request.body(delivery.body).send().await;
    answer
        .map(|r| r.status().as_u16())
        .map_err(|e| e.without_url().to_string())
}
