//! **A Gitea stand-in for tests** (feature `standin`). Gitea cannot run on the build
//! machine, so tests of the forge client and of the service talk to this instead: an HTTP
//! server on `127.0.0.1:0` that implements exactly the routes cc-ci calls, with Gitea's
//! paths, query parameters, status codes and JSON shapes as Gitea's published API (its
//! swagger definitions and API handlers) describes them, over in-memory state. It is not
//! Gitea: behaviour cc-ci does not use is absent. `tests/standin_openapi.rs` holds it to
//! Gitea's swagger description with a client generated from it: a route, field or status
//! code added here must pass there (and a call cc-ci starts making must be added there).
//!
//! Routes (under `/api/v1`), each requiring `Authorization: token …` of a known token:
//! - `GET  /repos/{owner}/{repo}/pulls?state=&page=&limit=`
//! - `GET  /repos/{owner}/{repo}/pulls/{index}`
//! - `GET  /repos/{owner}/{repo}/issues/comments?since=&before=&page=&limit=` — comments
//!   *updated* at/after `since`, oldest *created* first, like Gitea
//! - `GET  /repos/{owner}/{repo}/issues/{index}/comments?since=&before=`
//! - `GET  /repos/{owner}/{repo}/issues/{index}/timeline?page=&limit=` — the issue's
//!   comments (`comment`) and the pushes to a PR's head branch (`pull_push`, body Gitea's
//!   `PushActionContent`), oldest first, as `TimelineComment`s
//! - `POST /repos/{owner}/{repo}/issues/{index}/comments` `{"body"}` → 201
//! - `PATCH /repos/{owner}/{repo}/issues/comments/{id}` `{"body"}` → 200
//! - `GET  /repos/{owner}/{repo}/collaborators/{user}/permission` — 403 unless the token's
//!   user is a repo admin/owner or asks about themself, like Gitea
//! - `POST /repos/{owner}/{repo}/statuses/{sha}` `CreateStatusOption` → 201
//! - `GET|POST /repos/{owner}/{repo}/hooks`, `PATCH|DELETE /repos/{owner}/{repo}/hooks/{id}`
//!   — repository webhooks, admins only (module `hooks`); registered hooks receive
//!   deliveries ([`Standin::deliver_comment`])
//!
//! And clones, without a token, at the repository's `clone_url` (`/{owner}/{repo}.git`),
//! over git's "dumb" HTTP protocol from a local repository given to [`Standin::serve_git`]
//! (Gitea speaks the smart protocol there; a git client uses either).
//!
//! Test controls are methods on [`Standin`]: add repos, PRs, comments (with chosen creation
//! times), permissions and tokens; push a new head (recorded on the PR's timeline, as Gitea
//! records a push); edit or delete a comment as a user would;
//! read statuses, comments and the bot's edits; make the next requests fail; build a signed
//! `issue_comment` webhook delivery for a comment, or send one to the registered hooks;
//! add a hand-made hook or change a hook's secret as a person would in the web UI.
//!
//! Times are emitted in UTC+02:00, as a Gitea host in that zone would, so clients must
//! honour offsets.

use crate::api::{BadRepoName, RepoName};
use crate::trigger::Permission;
use crate::webhook;
use axum::extract::{FromRequestParts, Path, Query};
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, patch, post};
use axum::{Json, Router};
use ccci_core::secret::Secret;
use ccci_standin_http::{Listener, Server};
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::convert::Infallible;
use std::sync::{Arc, Mutex, MutexGuard};
use time::format_description::well_known::Rfc3339;
use time::{OffsetDateTime, UtcOffset};

mod hooks;
pub use hooks::{DeliveryOutcome, StandinHook};

/// A running stand-in. Dropping it stops the server.
pub struct Standin {
    server: Server,
    state: Shared,
}

/// The state the HTTP handlers and the test controls share. A plain mutex: every critical
/// section is short and never held across an `.await`.
type Shared = Arc<Mutex<State>>;

/// A comment as the stand-in holds it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StandinComment {
    pub id: u64,
    pub repo: String,
    pub number: u64,
    pub author: String,
    pub body: String,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
}

/// A push to a PR's head branch as the stand-in records it on the PR's timeline.
#[derive(Clone, Debug, PartialEq, Eq)]
struct StandinPush {
    id: u64,
    repo: String,
    number: u64,
    pusher: String,
    commit_ids: Vec<String>,
    is_force_push: bool,
    created_at: OffsetDateTime,
}

/// A commit status as posted to the stand-in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StandinStatus {
    pub id: i64,
    pub sha: String,
    pub state: String,
    pub context: String,
    pub description: String,
    pub target_url: String,
    pub creator: String,
}

/// One `PATCH` of a comment through the API.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StandinEdit {
    pub comment_id: u64,
    pub by: String,
    pub old_body: String,
    pub new_body: String,
}

/// A signed webhook delivery, ready to POST: headers and raw body.
#[derive(Clone, Debug)]
pub struct WebhookDelivery {
    pub headers: Vec<(&'static str, String)>,
    pub body: Vec<u8>,
}

#[derive(Default)]
struct State {
    base_url: String,
    next_comment_id: u64,
    next_status_id: i64,
    next_delivery: u64,
    next_hook_id: u64,
    /// token → login
    tokens: HashMap<String, String>,
    /// lowercase login → (id, login)
    users: BTreeMap<String, (i64, String)>,
    repos: BTreeMap<String, Repo>,
    comments: Vec<StandinComment>,
    /// Pushes to PR heads; their ids come from the comments' sequence, as in Gitea.
    pushes: Vec<StandinPush>,
    edits: Vec<StandinEdit>,
    fail_next: VecDeque<u16>,
    requests: Vec<String>,
}

struct Repo {
    id: i64,
    owner: String,
    name: String,
    next_index: u64,
    issues: BTreeMap<u64, Issue>,
    /// lowercase login → permission
    permissions: HashMap<String, Permission>,
    statuses: Vec<StandinStatus>,
    /// The `.git` directory clones are served from.
    git_dir: Option<std::path::PathBuf>,
    hooks: Vec<StandinHook>,
}

impl Repo {
    fn full_name(&self) -> String {
        repo_key(&self.owner, &self.name)
    }
}

struct Issue {
    id: i64,
    is_pull: bool,
    open: bool,
    title: String,
    author: String,
    branch: String,
    head_sha: String,
    created: OffsetDateTime,
    updated: OffsetDateTime,
}

fn lock(state: &Shared) -> MutexGuard<'_, State> {
    state
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Gitea stores whole seconds.
fn now() -> OffsetDateTime {
    let t = OffsetDateTime::now_utc();
    t.replace_nanosecond(0).unwrap_or(t)
}

fn fmt_time(t: OffsetDateTime) -> String {
    let zone = UtcOffset::from_hms(2, 0, 0).unwrap_or(UtcOffset::UTC);
    t.to_offset(zone)
        .format(&Rfc3339)
        .unwrap_or_else(|_| "1970-01-01T00:00:00Z".into())
}

impl Standin {
    /// Starts the stand-in on `127.0.0.1:0`.
    pub async fn start() -> std::io::Result<Standin> {
        Standin::start_on(std::net::Ipv4Addr::LOCALHOST.into()).await
    }

    /// Starts the stand-in on a free port of `ip` (e.g. a gateway address containers
    /// reach this host on).
    pub async fn start_on(ip: std::net::IpAddr) -> std::io::Result<Standin> {
        let listener = Listener::bind(ip).await?;
        let state: Shared = Arc::new(Mutex::new(State {
            base_url: listener.base_url(),
            next_comment_id: 1000,
            next_status_id: 1,
            ..State::default()
        }));
        let server = listener.serve(router(state.clone()));
        Ok(Standin { server, state })
    }

    /// The web root, `http://127.0.0.1:PORT` (give it to `GiteaClient::new`).
    pub fn base_url(&self) -> String {
        self.server.base_url()
    }

    pub fn addr(&self) -> std::net::SocketAddr {
        self.server.addr()
    }

    /// Stops the server, letting requests in flight finish for at most 5 s.
    pub async fn stop(self) {
        self.server.stop().await;
    }

    /// Lets `token` act as `login` (created if new).
    pub fn add_token(&self, token: &str, login: &str) {
        let mut s = lock(&self.state);
        s.user(login);
        s.tokens.insert(token.to_string(), login.to_string());
    }

    /// Creates a repository `owner/name`; its owner gets the `owner` permission.
    pub fn add_repo(&self, full_name: &str) -> Result<RepoName, BadRepoName> {
        let repo = RepoName::parse(full_name)?;
        let mut s = lock(&self.state);
        s.user(repo.owner());
        let id = s.repos.len() as i64 + 1;
        s.repos.entry(repo.full_name()).or_insert_with(|| Repo {
            id,
            owner: repo.owner().to_string(),
            name: repo.name().to_string(),
            next_index: 1,
            issues: BTreeMap::new(),
            permissions: HashMap::from([(repo.owner().to_lowercase(), Permission::Owner)]),
            statuses: Vec::new(),
            git_dir: None,
            hooks: Vec::new(),
        });
        Ok(repo)
    }

    /// Serves clones of `repo` from the local repository whose `.git` directory is
    /// `git_dir`. The dumb protocol reads its index files: run `git update-server-info`
    /// in the repository after every change to its refs.
    pub fn serve_git(&self, repo: &RepoName, git_dir: &std::path::Path) {
        if let Some(r) = lock(&self.state).repos.get_mut(&repo.full_name()) {
            r.git_dir = Some(git_dir.to_path_buf());
        }
    }

    /// Makes `login` a collaborator with `permission` (`Permission::None` removes them).
    pub fn set_permission(&self, repo: &RepoName, login: &str, permission: Permission) {
        let mut s = lock(&self.state);
        s.user(login);
        if let Some(r) = s.repos.get_mut(&repo.full_name()) {
            if permission == Permission::None {
                r.permissions.remove(&login.to_lowercase());
            } else {
                r.permissions.insert(login.to_lowercase(), permission);
            }
        }
    }

    /// Opens a pull request from `branch` at `head_sha`; returns its number.
    pub fn open_pull(&self, repo: &RepoName, branch: &str, head_sha: &str) -> u64 {
        self.new_issue(repo, true, branch, head_sha)
    }

    /// Opens a plain issue (shares numbering with PRs, as in Gitea); returns its number.
    pub fn open_issue(&self, repo: &RepoName, title: &str) -> u64 {
        self.new_issue(repo, false, title, "")
    }

    fn new_issue(&self, repo: &RepoName, is_pull: bool, branch: &str, sha: &str) -> u64 {
        let mut s = lock(&self.state);
        let Some(r) = s.repos.get_mut(&repo.full_name()) else {
            return 0;
        };
        let number = r.next_index;
        r.next_index += 1;
        let t = now();
        let id = r.id * 10_000 + number as i64;
        let author = r.owner.clone();
        r.issues.insert(
            number,
            Issue {
                id,
                is_pull,
                open: true,
                title: branch.to_string(),
                author,
                branch: branch.to_string(),
                head_sha: sha.to_string(),
                created: t,
                updated: t,
            },
        );
        number
    }

    /// Closes a PR or issue.
    pub fn close(&self, repo: &RepoName, number: u64) {
        if let Some(i) = lock(&self.state).issue_mut(repo, number) {
            i.open = false;
            i.updated = now();
        }
    }

    /// A new push to the PR's branch, now: the head moves to `sha` and the PR's timeline
    /// records a `pull_push` (a fast-forward adding `sha`). Returns the event's id.
    pub fn push_head(&self, repo: &RepoName, number: u64, sha: &str) -> u64 {
        self.push_head_at(repo, number, sha, now())
    }

    /// [`Standin::push_head`] with a chosen record time (Gitea keeps whole seconds).
    pub fn push_head_at(&self, repo: &RepoName, number: u64, sha: &str, at: OffsetDateTime) -> u64 {
        self.record_push(repo, number, sha, at, false)
    }

    /// A force push (the old head is no ancestor of `sha`): Gitea records
    /// `[old head, new head]`.
    pub fn force_push_head_at(
        &self,
        repo: &RepoName,
        number: u64,
        sha: &str,
        at: OffsetDateTime,
    ) -> u64 {
        self.record_push(repo, number, sha, at, true)
    }

    fn record_push(
        &self,
        repo: &RepoName,
        number: u64,
        sha: &str,
        at: OffsetDateTime,
        is_force_push: bool,
    ) -> u64 {
        let mut s = lock(&self.state);
        let Some(i) = s.issue_mut(repo, number).filter(|i| i.is_pull) else {
            return 0;
        };
        let old = std::mem::replace(&mut i.head_sha, sha.to_string());
        i.updated = now();
        let pusher = i.author.clone();
        let commit_ids = match is_force_push {
            true => vec![old, sha.to_string()],
            false => vec![sha.to_string()],
        };
        s.next_comment_id += 1;
        let id = s.next_comment_id;
        s.pushes.push(StandinPush {
            id,
            repo: repo.full_name(),
            number,
            pusher,
            commit_ids,
            is_force_push,
            created_at: at,
        });
        id
    }

    /// The PR's current head.
    pub fn head(&self, repo: &RepoName, number: u64) -> Option<String> {
        lock(&self.state)
            .repos
            .get(&repo.full_name())?
            .issues
            .get(&number)
            .map(|i| i.head_sha.clone())
    }

    /// `author` comments now; returns the comment id (0 if the issue does not exist).
    pub fn add_comment(&self, repo: &RepoName, number: u64, author: &str, body: &str) -> u64 {
        self.add_comment_at(repo, number, author, body, now())
    }

    /// A comment with a chosen creation time: for comments that commit late, with a
    /// timestamp older than ones already visible.
    pub fn add_comment_at(
        &self,
        repo: &RepoName,
        number: u64,
        author: &str,
        body: &str,
        created: OffsetDateTime,
    ) -> u64 {
        lock(&self.state).add_comment(repo, number, author, body, created)
    }

    /// The author edits a comment in the web UI: new body, `updated_at` moves to now.
    pub fn edit_comment_in_ui(&self, id: u64, body: &str) {
        let mut s = lock(&self.state);
        if let Some(c) = s.comments.iter_mut().find(|c| c.id == id) {
            c.body = body.to_string();
            c.updated_at = now();
        }
    }

    pub fn delete_comment(&self, id: u64) {
        lock(&self.state).comments.retain(|c| c.id != id);
    }

    /// The comments of one issue or PR, oldest first.
    pub fn comments(&self, repo: &RepoName, number: u64) -> Vec<StandinComment> {
        let key = repo.full_name();
        lock(&self.state)
            .comments
            .iter()
            .filter(|c| c.repo == key && c.number == number)
            .cloned()
            .collect()
    }

    /// Statuses posted for `sha`, oldest first.
    pub fn statuses(&self, repo: &RepoName, sha: &str) -> Vec<StandinStatus> {
        lock(&self.state)
            .repos
            .get(&repo.full_name())
            .map(|r| {
                r.statuses
                    .iter()
                    .filter(|st| st.sha == sha)
                    .cloned()
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Every comment edit made through the API, in order.
    pub fn edits(&self) -> Vec<StandinEdit> {
        lock(&self.state).edits.clone()
    }

    /// `METHOD /path?query` of every request received, in order.
    pub fn requests(&self) -> Vec<String> {
        lock(&self.state).requests.clone()
    }

    /// The next `count` requests get `status` with a Gitea-style error body.
    pub fn fail_next_requests(&self, status: u16, count: usize) {
        let mut s = lock(&self.state);
        s.fail_next.extend(std::iter::repeat_n(status, count));
    }

    /// The `issue_comment` delivery Gitea would send for comment `id` (action `created`),
    /// signed with `secret`. `None` if there is no such comment.
    pub fn issue_comment_delivery(&self, id: u64, secret: &Secret) -> Option<WebhookDelivery> {
        let mut s = lock(&self.state);
        let c = s.comments.iter().find(|c| c.id == id)?.clone();
        s.comment_delivery(&c, secret)
    }
}

impl State {
    fn user(&mut self, login: &str) -> (i64, String) {
        let next = self.users.len() as i64 + 1;
        self.users
            .entry(login.to_lowercase())
            .or_insert_with(|| (next, login.to_string()))
            .clone()
    }

    /// The repository `owner/name`; 404 when there is none.
    fn repo(&self, key: &str) -> Result<&Repo, Reject> {
        self.repos.get(key).ok_or_else(not_found)
    }

    /// Issue or PR `number` of the repository `owner/name`.
    fn issue(&self, key: &str, number: u64) -> Option<&Issue> {
        self.repos.get(key)?.issues.get(&number)
    }

    /// The comments `keep` selects, oldest created first, as Gitea lists them.
    fn comments_oldest_first(
        &self,
        keep: impl Fn(&StandinComment) -> bool,
    ) -> Vec<&StandinComment> {
        let mut found: Vec<&StandinComment> = self.comments.iter().filter(|c| keep(c)).collect();
        found.sort_by_key(|c| (c.created_at, c.id));
        found
    }

    fn issue_mut(&mut self, repo: &RepoName, number: u64) -> Option<&mut Issue> {
        self.repos
            .get_mut(&repo.full_name())?
            .issues
            .get_mut(&number)
    }

    fn add_comment(
        &mut self,
        repo: &RepoName,
        number: u64,
        author: &str,
        body: &str,
        created: OffsetDateTime,
    ) -> u64 {
        let key = repo.full_name();
        if self.issue(&key, number).is_none() {
            return 0;
        }
        let (_, login) = self.user(author);
        self.next_comment_id += 1;
        let id = self.next_comment_id;
        self.comments.push(StandinComment {
            id,
            repo: key,
            number,
            author: login,
            body: body.to_string(),
            created_at: created,
            updated_at: created,
        });
        id
    }

    /// The `issue_comment` delivery Gitea sends for comment `c` (action `created`), signed
    /// with `secret`; each gets a new delivery id.
    fn comment_delivery(&mut self, c: &StandinComment, secret: &Secret) -> Option<WebhookDelivery> {
        let r = self.repos.get(&c.repo)?;
        let issue = r.issues.get(&c.number)?;
        let payload = json!({
            "action": "created",
            "issue": self.issue_json(r, c.number, issue),
            "pull_request": if issue.is_pull { self.pull_json(r, c.number, issue) } else { Value::Null },
            "comment": self.comment_json(c),
            "repository": self.repo_json(r),
            "sender": self.user_json(&c.author),
            "is_pull": issue.is_pull,
        });
        let event_type = if issue.is_pull {
            "pull_request_comment"
        } else {
            "issue_comment"
        };
        self.next_delivery += 1;
        let delivery = format!("00000000-0000-4000-8000-{:012x}", self.next_delivery);
        let body = serde_json::to_vec(&payload).ok()?;
        Some(WebhookDelivery {
            headers: vec![
                ("Content-Type", "application/json".into()),
                (webhook::EVENT_HEADER, "issue_comment".into()),
                (webhook::EVENT_TYPE_HEADER, event_type.into()),
                (webhook::DELIVERY_HEADER, delivery),
                (webhook::SIGNATURE_HEADER, webhook::sign(secret, &body)),
            ],
            body,
        })
    }

    fn permission_of(&self, r: &Repo, login: &str) -> Permission {
        r.permissions
            .get(&login.to_lowercase())
            .copied()
            // Repositories here are public: everyone else may read.
            .unwrap_or(Permission::Read)
    }

    fn user_json(&self, login: &str) -> Value {
        let (id, login) = self
            .users
            .get(&login.to_lowercase())
            .cloned()
            .unwrap_or((-1, login.to_string()));
        json!({
            "id": id,
            "login": login,
            "login_name": "",
            "source_id": 0,
            "full_name": "",
            "email": format!("{}@noreply.localhost", login.to_lowercase()),
            "avatar_url": format!("{}/avatars/{id}", self.base_url),
            "html_url": format!("{}/{login}", self.base_url),
            "language": "",
            "is_admin": false,
            "last_login": "0001-01-01T00:00:00Z",
            "created": "2024-01-01T00:00:00Z",
            "restricted": false,
            "active": true,
            "prohibit_login": false,
            "location": "",
            "website": "",
            "description": "",
            "visibility": "public",
            "followers_count": 0,
            "following_count": 0,
            "starred_repos_count": 0,
        })
    }

    fn repo_html(&self, r: &Repo) -> String {
        format!("{}/{}/{}", self.base_url, r.owner, r.name)
    }

    fn issue_html(&self, r: &Repo, number: u64, is_pull: bool) -> String {
        let kind = if is_pull { "pulls" } else { "issues" };
        format!("{}/{kind}/{number}", self.repo_html(r))
    }

    fn repo_json(&self, r: &Repo) -> Value {
        json!({
            "id": r.id,
            "owner": self.user_json(&r.owner),
            "name": r.name,
            "full_name": r.full_name(),
            "description": "",
            "private": false,
            "fork": false,
            "html_url": self.repo_html(r),
            "clone_url": format!("{}.git", self.repo_html(r)),
            "default_branch": "main",
        })
    }

    fn comment_json(&self, c: &StandinComment) -> Value {
        let Some(r) = self.repos.get(&c.repo) else {
            return Value::Null;
        };
        let is_pull = r.issues.get(&c.number).is_some_and(|i| i.is_pull);
        let html = self.issue_html(r, c.number, is_pull);
        json!({
            "id": c.id,
            "html_url": format!("{html}#issuecomment-{}", c.id),
            "pull_request_url": if is_pull { html.clone() } else { String::new() },
            "issue_url": if is_pull { String::new() } else { html.clone() },
            "user": self.user_json(&c.author),
            "original_author": "",
            "original_author_id": 0,
            "body": c.body,
            "assets": [],
            "created_at": fmt_time(c.created_at),
            "updated_at": fmt_time(c.updated_at),
        })
    }

    /// Gitea's `TimelineComment` for a comment or event `c` of type `kind`: every field the
    /// definition names, unset ones as Gitea leaves them (zero, empty, `null`).
    fn timeline_json(&self, c: &StandinComment, kind: &str, user: &str, body: &str) -> Value {
        let comment = self.comment_json(c);
        json!({
            "id": c.id,
            "type": kind,
            "html_url": comment["html_url"],
            "pull_request_url": comment["pull_request_url"],
            "issue_url": comment["issue_url"],
            "user": self.user_json(user),
            "body": body,
            "created_at": fmt_time(c.created_at),
            "updated_at": fmt_time(c.updated_at),
            "old_project_id": 0,
            "project_id": 0,
            "old_milestone": null,
            "milestone": null,
            "tracked_time": null,
            "old_title": "",
            "new_title": "",
            "old_ref": "",
            "new_ref": "",
            "ref_issue": null,
            "ref_comment": null,
            "ref_action": "none",
            "ref_commit_sha": "",
            "review_id": 0,
            "label": null,
            "assignee": null,
            "assignee_team": null,
            "removed_assignee": false,
            "resolve_doer": null,
            "dependent_issue": null,
        })
    }

    fn issue_json(&self, r: &Repo, number: u64, i: &Issue) -> Value {
        json!({
            "id": i.id,
            "url": format!("{}/api/v1/repos/{}/{}/issues/{number}", self.base_url, r.owner, r.name),
            "html_url": self.issue_html(r, number, i.is_pull),
            "number": number,
            "user": self.user_json(&i.author),
            "title": i.title,
            "body": "",
            "state": if i.open { "open" } else { "closed" },
            "comments": self.comments.iter().filter(|c| c.number == number && c.repo == r.full_name()).count(),
            "created_at": fmt_time(i.created),
            "updated_at": fmt_time(i.updated),
            "pull_request": if i.is_pull { json!({"merged": false, "merged_at": null, "draft": false, "html_url": self.issue_html(r, number, true)}) } else { Value::Null },
            "repository": {"id": r.id, "name": r.name, "owner": r.owner, "full_name": r.full_name()},
        })
    }

    fn pull_json(&self, r: &Repo, number: u64, i: &Issue) -> Value {
        let html = self.issue_html(r, number, true);
        json!({
            "id": i.id,
            "url": html,
            "number": number,
            "user": self.user_json(&i.author),
            "title": i.title,
            "body": "",
            "labels": [],
            "milestone": null,
            "assignee": null,
            "assignees": null,
            "requested_reviewers": null,
            "requested_reviewers_teams": null,
            "state": if i.open { "open" } else { "closed" },
            "draft": false,
            "is_locked": false,
            "comments": 0,
            "review_comments": 0,
            "additions": 0,
            "deletions": 0,
            "changed_files": 0,
            "content_version": 0,
            "html_url": html,
            "diff_url": format!("{html}.diff"),
            "patch_url": format!("{html}.patch"),
            "mergeable": true,
            "merged": false,
            "merged_at": null,
            "merge_commit_sha": null,
            "merged_by": null,
            "allow_maintainer_edit": false,
            "base": {"label": "main", "ref": "main", "sha": "0000000000000000000000000000000000000000", "repo_id": r.id, "repo": self.repo_json(r)},
            "head": {"label": i.branch, "ref": i.branch, "sha": i.head_sha, "repo_id": r.id, "repo": self.repo_json(r)},
            "merge_base": "0000000000000000000000000000000000000000",
            "due_date": null,
            "created_at": fmt_time(i.created),
            "updated_at": fmt_time(i.updated),
            "closed_at": null,
            "pin_order": 0,
        })
    }
}

fn router(state: Shared) -> Router {
    Router::new()
        .route("/api/v1/repos/{owner}/{repo}/pulls", get(list_pulls))
        .route("/api/v1/repos/{owner}/{repo}/pulls/{index}", get(get_pull))
        .route(
            "/api/v1/repos/{owner}/{repo}/issues/comments",
            get(list_repo_comments),
        )
        .route(
            "/api/v1/repos/{owner}/{repo}/issues/comments/{id}",
            patch(edit_comment),
        )
        .route(
            "/api/v1/repos/{owner}/{repo}/issues/{index}/comments",
            get(list_issue_comments).post(create_comment),
        )
        .route(
            "/api/v1/repos/{owner}/{repo}/issues/{index}/timeline",
            get(list_timeline),
        )
        .route(
            "/api/v1/repos/{owner}/{repo}/collaborators/{user}/permission",
            get(get_permission),
        )
        .route(
            "/api/v1/repos/{owner}/{repo}/statuses/{sha}",
            post(create_status),
        )
        .route(
            "/api/v1/repos/{owner}/{repo}/hooks",
            get(hooks::list_hooks).post(hooks::create_hook),
        )
        .route(
            "/api/v1/repos/{owner}/{repo}/hooks/{id}",
            patch(hooks::edit_hook).delete(hooks::delete_hook),
        )
        .route("/{owner}/{repo}/{*path}", get(git_file))
        .fallback(|| async { gitea_error(StatusCode::NOT_FOUND, "not found") })
        .with_state(state)
}

/// A file of a served repository's `.git` directory (git's dumb HTTP protocol): `info/refs`,
/// `HEAD`, `objects/…`. Anything outside it, or of a repository not served, is a 404.
async fn git_file(
    axum::extract::State(state): axum::extract::State<Shared>,
    Path((owner, repo, path)): Path<(String, String, String)>,
) -> Response {
    let not_found = || gitea_error(StatusCode::NOT_FOUND, "not found");
    let Some(name) = repo.strip_suffix(".git") else {
        return not_found();
    };
    let dir = lock(&state)
        .repos
        .get(&repo_key(&owner, name))
        .and_then(|r| r.git_dir.clone());
    let safe = std::path::Path::new(&path)
        .components()
        .all(|c| matches!(c, std::path::Component::Normal(_)));
    let (Some(dir), true) = (dir, safe) else {
        return not_found();
    };
    // A test repository's small files: read in place (no tokio `fs` in this crate).
    match std::fs::read(dir.join(&path)) {
        Ok(bytes) => bytes.into_response(),
        Err(_) => not_found(),
    }
}

/// Gitea's `APIError` body.
fn gitea_error(status: StatusCode, message: &str) -> Response {
    (
        status,
        Json(json!({"message": message, "url": "https://docs.gitea.com/api"})),
    )
        .into_response()
}

type Q = Query<HashMap<String, String>>;

/// A handler's answer: the response, or an early error response (`?` on any step).
type Reply = Result<Response, Reject>;

/// An error response ending a handler early; boxed, as a `Response` is large.
struct Reject(Box<Response>);

impl From<Response> for Reject {
    fn from(response: Response) -> Reject {
        Reject(Box::new(response))
    }
}

impl IntoResponse for Reject {
    fn into_response(self) -> Response {
        *self.0
    }
}

/// What every route needs to `begin`: the state and the request line and headers. Taken
/// without side effects, so a request whose body does not parse is rejected before it is
/// logged or counted against an injected failure.
struct Call {
    state: Shared,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
}

impl FromRequestParts<Shared> for Call {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &Shared) -> Result<Call, Infallible> {
        Ok(Call {
            state: state.clone(),
            method: parts.method.clone(),
            uri: parts.uri.clone(),
            headers: parts.headers.clone(),
        })
    }
}

impl Call {
    /// Logs the request, applies an injected failure, checks the token. Returns the locked
    /// state and the token's login.
    fn begin(&self) -> Result<(MutexGuard<'_, State>, String), Reject> {
        let mut s = lock(&self.state);
        s.requests.push(format!("{} {}", self.method, self.uri));
        if let Some(code) = s.fail_next.pop_front() {
            let status = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            return Err(gitea_error(status, "injected failure").into());
        }
        let token = self
            .headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| {
                v.strip_prefix("token ")
                    .or_else(|| v.strip_prefix("Bearer "))
            })
            .map(str::trim);
        match token.and_then(|t| s.tokens.get(t)).cloned() {
            Some(login) => Ok((s, login)),
            None => Err(gitea_error(StatusCode::UNAUTHORIZED, "token is required").into()),
        }
    }
}

fn repo_key(owner: &str, repo: &str) -> String {
    format!("{owner}/{repo}")
}

/// An issue index or comment id from the path; 0 (which names nothing) when not a number.
fn path_number(text: &str) -> u64 {
    text.parse::<u64>().unwrap_or(0)
}

fn not_found() -> Reject {
    gitea_error(StatusCode::NOT_FOUND, "The target couldn't be found.").into()
}

fn unprocessable(message: &str) -> Reject {
    gitea_error(StatusCode::UNPROCESSABLE_ENTITY, message).into()
}

/// Gitea's `page`/`limit` (default 30, capped at 50; page 1-based).
fn paging(q: &HashMap<String, String>) -> (usize, usize) {
    let page = q
        .get("page")
        .and_then(|p| p.parse::<usize>().ok())
        .filter(|p| *p > 0)
        .unwrap_or(1);
    let limit = q
        .get("limit")
        .and_then(|l| l.parse::<usize>().ok())
        .filter(|l| *l > 0)
        .unwrap_or(30)
        .min(50);
    (page, limit)
}

/// One page of `items`, as `paging` reads it.
fn page_of<T>(items: Vec<T>, (page, limit): (usize, usize)) -> impl Iterator<Item = T> {
    items.into_iter().skip((page - 1) * limit).take(limit)
}

/// Gitea's `since`/`before` (RFC 3339); 422 when unparseable.
type TimeRange = (Option<OffsetDateTime>, Option<OffsetDateTime>);

fn since_before(q: &HashMap<String, String>) -> Result<TimeRange, Reject> {
    let parse = |key: &str| -> Result<Option<OffsetDateTime>, Reject> {
        match q.get(key).filter(|v| !v.is_empty()) {
            None => Ok(None),
            Some(v) => OffsetDateTime::parse(v, &Rfc3339)
                .map(Some)
                .map_err(|e| unprocessable(&format!("{key}: {e}"))),
        }
    };
    Ok((parse("since")?, parse("before")?))
}

async fn list_pulls(call: Call, Path((owner, repo)): Path<(String, String)>, Query(q): Q) -> Reply {
    let (s, _) = call.begin()?;
    let r = s.repo(&repo_key(&owner, &repo))?;
    let want = q.get("state").map(String::as_str).unwrap_or("open");
    let pulls: Vec<(&u64, &Issue)> = r
        .issues
        .iter()
        .rev()
        .filter(|(_, i)| i.is_pull)
        .filter(|(_, i)| match want {
            "all" => true,
            "closed" => !i.open,
            _ => i.open,
        })
        .collect();
    let body: Vec<Value> = page_of(pulls, paging(&q))
        .map(|(n, i)| s.pull_json(r, *n, i))
        .collect();
    Ok(Json(body).into_response())
}

async fn get_pull(call: Call, Path((owner, repo, index)): Path<(String, String, String)>) -> Reply {
    let (s, _) = call.begin()?;
    let r = s.repo(&repo_key(&owner, &repo))?;
    let number = path_number(&index);
    let i = r
        .issues
        .get(&number)
        .filter(|i| i.is_pull)
        .ok_or_else(not_found)?;
    Ok(Json(s.pull_json(r, number, i)).into_response())
}

fn in_range(c: &StandinComment, (since, before): TimeRange) -> bool {
    since.is_none_or(|t| c.updated_at >= t) && before.is_none_or(|t| c.updated_at < t)
}

async fn list_repo_comments(
    call: Call,
    Path((owner, repo)): Path<(String, String)>,
    Query(q): Q,
) -> Reply {
    let (s, _) = call.begin()?;
    let key = repo_key(&owner, &repo);
    s.repo(&key)?;
    let range = since_before(&q)?;
    let found = s.comments_oldest_first(|c| c.repo == key && in_range(c, range));
    let total = found.len();
    let body: Vec<Value> = page_of(found, paging(&q))
        .map(|c| s.comment_json(c))
        .collect();
    Ok(([("X-Total-Count", total.to_string())], Json(body)).into_response())
}

async fn list_issue_comments(
    call: Call,
    Path((owner, repo, index)): Path<(String, String, String)>,
    Query(q): Q,
) -> Reply {
    let (s, _) = call.begin()?;
    let (_, _, comments) = issue_comments(&s, &repo_key(&owner, &repo), &index, &q)?;
    let body: Vec<Value> = comments.into_iter().map(|c| s.comment_json(c)).collect();
    Ok(Json(body).into_response())
}

/// `…/issues/{index}/…?since=&before=`: the issue's number (404 when there is no such
/// issue), the range asked for (422 when unparseable) and the issue's comments updated in
/// it, oldest created first.
fn issue_comments<'s>(
    s: &'s State,
    key: &str,
    index: &str,
    q: &HashMap<String, String>,
) -> Result<(u64, TimeRange, Vec<&'s StandinComment>), Reject> {
    let number = path_number(index);
    s.issue(key, number).ok_or_else(not_found)?;
    let range = since_before(q)?;
    let comments =
        s.comments_oldest_first(|c| c.repo == key && c.number == number && in_range(c, range));
    Ok((number, range, comments))
}

/// One timeline event as the stand-in lists it: (created, id) to order by, and its JSON.
type TimelineEntry = ((OffsetDateTime, u64), Value);

async fn list_timeline(
    call: Call,
    Path((owner, repo, index)): Path<(String, String, String)>,
    Query(q): Q,
) -> Reply {
    let (s, _) = call.begin()?;
    let key = repo_key(&owner, &repo);
    let (number, range, comments) = issue_comments(&s, &key, &index, &q)?;
    let mut events: Vec<TimelineEntry> = comments
        .into_iter()
        .map(|c| {
            (
                (c.created_at, c.id),
                s.timeline_json(c, "comment", &c.author, &c.body),
            )
        })
        .collect();
    for p in s
        .pushes
        .iter()
        .filter(|p| p.repo == key && p.number == number)
    {
        let since_ok = range.0.is_none_or(|t| p.created_at >= t);
        if !since_ok || range.1.is_some_and(|t| p.created_at >= t) {
            continue;
        }
        let body = json!({"is_force_push": p.is_force_push, "commit_ids": p.commit_ids});
        let as_comment = StandinComment {
            id: p.id,
            repo: p.repo.clone(),
            number,
            author: p.pusher.clone(),
            body: body.to_string(),
            created_at: p.created_at,
            updated_at: p.created_at,
        };
        let event = s.timeline_json(&as_comment, "pull_push", &p.pusher, &as_comment.body);
        events.push(((p.created_at, p.id), event));
    }
    events.sort_by_key(|(order, _)| *order);
    let body: Vec<Value> = page_of(events, paging(&q)).map(|(_, e)| e).collect();
    Ok(Json(body).into_response())
}

/// The `{"body": …}` of `CreateIssueCommentOption` / `EditIssueCommentOption`; 422 without.
fn comment_body(form: &Value) -> Result<String, Reject> {
    form.get("body")
        .and_then(Value::as_str)
        .map(str::to_string)
        .ok_or_else(|| unprocessable("Body: Required"))
}

async fn create_comment(
    call: Call,
    Path((owner, repo, index)): Path<(String, String, String)>,
    Json(form): Json<Value>,
) -> Reply {
    let (mut s, login) = call.begin()?;
    let text = comment_body(&form)?;
    let repo = RepoName::new(&owner, &repo).map_err(|_| not_found())?;
    let id = s.add_comment(&repo, path_number(&index), &login, &text, now());
    let c = s
        .comments
        .iter()
        .find(|c| c.id == id)
        .ok_or_else(not_found)?;
    Ok((StatusCode::CREATED, Json(s.comment_json(c))).into_response())
}

async fn edit_comment(
    call: Call,
    Path((owner, repo, id)): Path<(String, String, String)>,
    Json(form): Json<Value>,
) -> Reply {
    let (mut s, login) = call.begin()?;
    let text = comment_body(&form)?;
    let key = repo_key(&owner, &repo);
    let id = path_number(&id);
    let pos = s
        .comments
        .iter()
        .position(|c| c.id == id && c.repo == key)
        .ok_or_else(not_found)?;
    let author = s.comments[pos].author.clone();
    let may_write = s
        .repos
        .get(&key)
        .is_some_and(|r| s.permission_of(r, &login).can_trigger());
    if !author.eq_ignore_ascii_case(&login) && !may_write {
        return Err(StatusCode::FORBIDDEN.into_response().into());
    }
    let old_body = std::mem::replace(&mut s.comments[pos].body, text.clone());
    if old_body != text {
        s.comments[pos].updated_at = now();
    }
    s.edits.push(StandinEdit {
        comment_id: id,
        by: login,
        old_body,
        new_body: text,
    });
    Ok(Json(s.comment_json(&s.comments[pos])).into_response())
}

async fn get_permission(
    call: Call,
    Path((owner, repo, user)): Path<(String, String, String)>,
) -> Reply {
    let (s, login) = call.begin()?;
    let r = s.repo(&repo_key(&owner, &repo))?;
    if !login.eq_ignore_ascii_case(&user) && s.permission_of(r, &login) < Permission::Admin {
        return Err(gitea_error(
            StatusCode::FORBIDDEN,
            "Only admins can query all permissions, repo admins can query all repo permissions, collaborators can query only their own",
        )
        .into());
    }
    if !s.users.contains_key(&user.to_lowercase()) {
        return Err(gitea_error(StatusCode::NOT_FOUND, "user does not exist").into());
    }
    let permission = s.permission_of(r, &user);
    Ok(Json(json!({
        "permission": permission.name(),
        "role_name": permission.name(),
        "user": s.user_json(&user),
    }))
    .into_response())
}

async fn create_status(
    call: Call,
    Path((owner, repo, sha)): Path<(String, String, String)>,
    Json(form): Json<Value>,
) -> Reply {
    let (mut s, login) = call.begin()?;
    let key = repo_key(&owner, &repo);
    let field = |name: &str| {
        form.get(name)
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string()
    };
    let state_word = field("state");
    if !matches!(
        state_word.as_str(),
        "pending" | "success" | "error" | "failure" | "warning"
    ) {
        return Err(unprocessable("State: invalid"));
    }
    // Taken before the repository is looked up: a 404 still uses up an id.
    let id = s.next_status_id;
    s.next_status_id += 1;
    let status = StandinStatus {
        id,
        sha: sha.clone(),
        state: state_word,
        context: field("context"),
        description: field("description"),
        target_url: field("target_url"),
        creator: login.clone(),
    };
    let base = s.base_url.clone();
    let creator = s.user_json(&login);
    let r = s.repos.get_mut(&key).ok_or_else(not_found)?;
    r.statuses.push(status.clone());
    let t = fmt_time(now());
    Ok((
        StatusCode::CREATED,
        Json(json!({
            "id": status.id,
            "status": status.state,
            "target_url": status.target_url,
            "description": status.description,
            "url": format!("{base}/api/v1/repos/{key}/statuses/{sha}"),
            "context": status.context,
            "creator": creator,
            "created_at": t,
            "updated_at": t,
        })),
    )
        .into_response())
}
