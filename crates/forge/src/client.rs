//! A small Gitea/Forgejo REST client: exactly the calls cc-ci makes.
//!
//! The token travels only in the `Authorization: token …` header; it is never part of a URL,
//! so it can't show up in a `reqwest` error, and any text the forge sends back is scrubbed of
//! it before it becomes part of an error.

use crate::api::rfc3339;
use crate::api::{
    permission_of, Comment, CommitStatus, Hook, PullRequest, RepoCollaboratorPermission, RepoName,
    StatusUpdate, TimelineComment,
};
use crate::approval::PushRecord;
use crate::hooks;
use crate::trigger::Permission;
use ccci_core::secret::{Redactor, Secret};
use reqwest::{Method, StatusCode};
use serde::de::DeserializeOwned;
use std::time::Duration;
use time::OffsetDateTime;
use url::Url;

/// Page size for list calls: Gitea caps `limit` at its `MAX_RESPONSE_ITEMS` (50 by default).
pub const PAGE_LIMIT: u32 = 50;
/// List calls stop after this many pages, so one call is bounded.
pub const MAX_PAGES: u32 = 20;

/// A failed forge call. Each names the endpoint (method and path, never the token).
#[derive(Debug, thiserror::Error)]
pub enum ForgeError {
    #[error("forge URL {url:?} is not usable: {reason}")]
    BadBaseUrl { url: String, reason: String },
    #[error("{endpoint}: HTTP {status}: {message}")]
    Status {
        endpoint: String,
        status: u16,
        message: String,
    },
    #[error("{endpoint}: no answer within {timeout:?}")]
    Timeout { endpoint: String, timeout: Duration },
    #[error("{endpoint}: request failed: {source}")]
    Transport {
        endpoint: String,
        #[source]
        source: reqwest::Error,
    },
    #[error("{endpoint}: answer is not the JSON expected: {reason}")]
    Decode { endpoint: String, reason: String },
}

impl ForgeError {
    /// The HTTP status the forge answered with, if it answered with an error.
    pub fn status(&self) -> Option<u16> {
        match self {
            ForgeError::Status { status, .. } => Some(*status),
            _ => None,
        }
    }
}

/// Talks to one Gitea or Forgejo instance with one token.
#[derive(Clone)]
pub struct GiteaClient {
    http: reqwest::Client,
    /// `https://host[/prefix]/api/v1/`.
    api: Url,
    token: Secret,
    redactor: Redactor,
    timeout: Duration,
}

impl std::fmt::Debug for GiteaClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GiteaClient")
            .field("api", &self.api.as_str())
            .field("token", &self.token)
            .field("timeout", &self.timeout)
            .finish()
    }
}

impl GiteaClient {
    /// `base_url` is the forge's web root (`https://git.coopcloud.tech`); a trailing
    /// `/api/v1` is accepted too. `timeout` bounds every request from connect to last byte.
    pub fn new(
        base_url: &str,
        token: Secret,
        timeout: Duration,
    ) -> Result<GiteaClient, ForgeError> {
        let bad = |reason: &str| ForgeError::BadBaseUrl {
            url: base_url.to_string(),
            reason: reason.to_string(),
        };
        let mut api = Url::parse(base_url.trim()).map_err(|e| bad(&e.to_string()))?;
        if !matches!(api.scheme(), "http" | "https") || api.cannot_be_a_base() {
            return Err(bad("expected an http(s) URL"));
        }
        if !api.username().is_empty() || api.password().is_some() {
            return Err(bad("credentials belong in the token, not the URL"));
        }
        api.set_query(None);
        api.set_fragment(None);
        let path = api.path().trim_end_matches('/').to_string();
        let path = path.strip_suffix("/api/v1").unwrap_or(&path).to_string();
        api.set_path(&format!("{path}/api/v1/"));
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout)
            .user_agent(concat!("cc-ci/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| bad(&format!("HTTP client: {e}")))?;
        Ok(GiteaClient {
            http,
            api,
            redactor: Redactor::new([token.clone()]),
            token,
            timeout,
        })
    }

    /// Open pull requests of a repository (all pages, up to [`MAX_PAGES`]).
    pub async fn list_open_pulls(&self, repo: &RepoName) -> Result<Vec<PullRequest>, ForgeError> {
        let segments = ["repos", repo.owner(), repo.name(), "pulls"];
        self.list_pages(&segments, &[("state", "open".to_string())])
            .await
    }

    /// One pull request; its `head.sha` is the commit a run is bound to.
    pub async fn get_pull(&self, repo: &RepoName, number: u64) -> Result<PullRequest, ForgeError> {
        let n = number.to_string();
        let url = self.url(&["repos", repo.owner(), repo.name(), "pulls", &n], &[]);
        self.send(Method::GET, url, None::<&()>).await
    }

    /// One page of the repository's issue and PR comments updated at or after `since`,
    /// oldest created first (`GET /repos/{o}/{r}/issues/comments`). `page` is 1-based.
    pub async fn list_repo_comments(
        &self,
        repo: &RepoName,
        since: Option<OffsetDateTime>,
        page: u32,
        limit: u32,
    ) -> Result<Vec<Comment>, ForgeError> {
        let mut query = vec![("page", page.to_string()), ("limit", limit.to_string())];
        if let Some(since) = since {
            query.push(("since", rfc3339(since)));
        }
        let url = self.url(
            &["repos", repo.owner(), repo.name(), "issues", "comments"],
            &query,
        );
        self.send(Method::GET, url, None::<&()>).await
    }

    /// All comments of one issue or PR updated at or after `since` (Gitea does not page
    /// this one).
    pub async fn list_issue_comments(
        &self,
        repo: &RepoName,
        number: u64,
        since: Option<OffsetDateTime>,
    ) -> Result<Vec<Comment>, ForgeError> {
        let n = number.to_string();
        let query: Vec<_> = since.map(|s| ("since", rfc3339(s))).into_iter().collect();
        let url = self.url(
            &["repos", repo.owner(), repo.name(), "issues", &n, "comments"],
            &query,
        );
        self.send(Method::GET, url, None::<&()>).await
    }

    /// One page of an issue's or PR's timeline, oldest first
    /// (`GET /repos/{o}/{r}/issues/{index}/timeline`). `page` is 1-based.
    pub async fn list_timeline(
        &self,
        repo: &RepoName,
        number: u64,
        page: u32,
        limit: u32,
    ) -> Result<Vec<TimelineComment>, ForgeError> {
        let n = number.to_string();
        let query = [("page", page.to_string()), ("limit", limit.to_string())];
        let url = self.url(
            &["repos", repo.owner(), repo.name(), "issues", &n, "timeline"],
            &query,
        );
        self.send(Method::GET, url, None::<&()>).await
    }

    /// Every push the forge recorded on PR `number` (its timeline's `pull_push` events).
    /// `Ok(None)` when there is no complete record to read: the forge answers 404 or 403
    /// (a Gitea without the timeline API, or a token that may not read it), or the timeline
    /// is longer than [`MAX_PAGES`] pages. Other errors are errors (try again later).
    pub async fn pull_pushes(
        &self,
        repo: &RepoName,
        number: u64,
    ) -> Result<Option<Vec<PushRecord>>, ForgeError> {
        let mut pushes = Vec::new();
        for page in 1..=MAX_PAGES {
            let batch = match self.list_timeline(repo, number, page, PAGE_LIMIT).await {
                Ok(batch) => batch,
                Err(e) if matches!(e.status(), Some(403 | 404)) => return Ok(None),
                Err(e) => return Err(e),
            };
            pushes.extend(PushRecord::from_timeline(&batch));
            if batch.len() < PAGE_LIMIT as usize {
                return Ok(Some(pushes));
            }
        }
        Ok(None)
    }

    /// A user's permission on the repository. Gitea answers 403 unless the token's user is
    /// a site admin, a repo admin, or the user asked about: the bot's account needs admin
    /// on the repo for this, or trusted users go on the allow-list.
    pub async fn permission(&self, repo: &RepoName, user: &str) -> Result<Permission, ForgeError> {
        let url = self.url(
            &[
                "repos",
                repo.owner(),
                repo.name(),
                "collaborators",
                user,
                "permission",
            ],
            &[],
        );
        let answer: RepoCollaboratorPermission = self.send(Method::GET, url, None::<&()>).await?;
        Ok(permission_of(&answer))
    }

    /// Posts a comment on an issue or PR; returns it (its `id` is what later edits target).
    pub async fn post_comment(
        &self,
        repo: &RepoName,
        number: u64,
        body: &str,
    ) -> Result<Comment, ForgeError> {
        let n = number.to_string();
        let url = self.url(
            &["repos", repo.owner(), repo.name(), "issues", &n, "comments"],
            &[],
        );
        self.send(
            Method::POST,
            url,
            Some(&serde_json::json!({ "body": body })),
        )
        .await
    }

    /// Replaces a comment's body (the sticky run comment).
    pub async fn edit_comment(
        &self,
        repo: &RepoName,
        comment_id: u64,
        body: &str,
    ) -> Result<Comment, ForgeError> {
        let id = comment_id.to_string();
        let url = self.url(
            &[
                "repos",
                repo.owner(),
                repo.name(),
                "issues",
                "comments",
                &id,
            ],
            &[],
        );
        self.send(
            Method::PATCH,
            url,
            Some(&serde_json::json!({ "body": body })),
        )
        .await
    }

    /// Sets a commit status on `sha`.
    pub async fn set_status(
        &self,
        repo: &RepoName,
        sha: &str,
        status: &StatusUpdate,
    ) -> Result<CommitStatus, ForgeError> {
        let url = self.url(&["repos", repo.owner(), repo.name(), "statuses", sha], &[]);
        self.send(Method::POST, url, Some(status)).await
    }

    /// Every hook of the repository (`GET /repos/{o}/{r}/hooks`, all pages up to
    /// [`MAX_PAGES`]). Gitea answers 403 unless the token's user administers the
    /// repository (or the site).
    pub async fn list_hooks(&self, repo: &RepoName) -> Result<Vec<Hook>, ForgeError> {
        let segments = ["repos", repo.owner(), repo.name(), "hooks"];
        self.list_pages(&segments, &[]).await
    }

    /// Creates cc-ci's hook (Gitea's `CreateHookOption`: type `gitea`, `config` with `url`,
    /// `content_type` `json` and the secret, [`hooks::EVENTS`], active). The only call
    /// that can set a hook's secret.
    pub async fn create_hook(
        &self,
        repo: &RepoName,
        url: &str,
        secret: &Secret,
    ) -> Result<Hook, ForgeError> {
        let endpoint = self.url(&["repos", repo.owner(), repo.name(), "hooks"], &[]);
        let body = serde_json::json!({
            "type": hooks::HOOK_TYPE,
            "config": {"url": url, "content_type": hooks::CONTENT_TYPE, "secret": secret.expose()},
            "events": hooks::EVENTS,
            "active": true,
        });
        self.send(Method::POST, endpoint, Some(&body)).await
    }

    /// Puts a drifted hook right (Gitea's `EditHookOption`: `config` url and content type,
    /// [`hooks::EVENTS`], active). Gitea ignores a secret here, so none is sent.
    pub async fn edit_hook(&self, repo: &RepoName, id: u64, url: &str) -> Result<Hook, ForgeError> {
        let id = id.to_string();
        let endpoint = self.url(&["repos", repo.owner(), repo.name(), "hooks", &id], &[]);
        let body = serde_json::json!({
            "config": {"url": url, "content_type": hooks::CONTENT_TYPE},
            "events": hooks::EVENTS,
            "active": true,
        });
        self.send(Method::PATCH, endpoint, Some(&body)).await
    }

    /// Deletes a hook (`204 No Content`). A hook already gone (404) counts as deleted.
    pub async fn delete_hook(&self, repo: &RepoName, id: u64) -> Result<(), ForgeError> {
        let id = id.to_string();
        let endpoint = self.url(&["repos", repo.owner(), repo.name(), "hooks", &id], &[]);
        match self.send_empty(Method::DELETE, endpoint).await {
            Err(e) if e.status() == Some(404) => Ok(()),
            other => other,
        }
    }

    /// Every page of a list call (`page`, `limit` = [`PAGE_LIMIT`]), up to [`MAX_PAGES`].
    async fn list_pages<T: DeserializeOwned>(
        &self,
        segments: &[&str],
        query: &[(&str, String)],
    ) -> Result<Vec<T>, ForgeError> {
        let mut all = Vec::new();
        for page in 1..=MAX_PAGES {
            let mut paged = query.to_vec();
            paged.push(("page", page.to_string()));
            paged.push(("limit", PAGE_LIMIT.to_string()));
            let batch: Vec<T> = self
                .send(Method::GET, self.url(segments, &paged), None::<&()>)
                .await?;
            let short = batch.len() < PAGE_LIMIT as usize;
            all.extend(batch);
            if short {
                break;
            }
        }
        Ok(all)
    }

    /// The API URL for path segments (each percent-encoded, so a `/` in a value can't reach
    /// another route) and query pairs.
    fn url(&self, segments: &[&str], query: &[(&str, String)]) -> Url {
        let mut url = self.api.clone();
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty().extend(segments);
        }
        if !query.is_empty() {
            url.query_pairs_mut()
                .extend_pairs(query.iter().map(|(k, v)| (*k, v.as_str())));
        }
        url
    }

    async fn send<T: DeserializeOwned>(
        &self,
        method: Method,
        url: Url,
        body: Option<&impl serde::Serialize>,
    ) -> Result<T, ForgeError> {
        let (endpoint, text) = self.exchange(method, url, body).await?;
        serde_json::from_str(&text).map_err(|e| ForgeError::Decode {
            endpoint,
            reason: e.to_string(),
        })
    }

    /// A call whose success has no body (`204`).
    async fn send_empty(&self, method: Method, url: Url) -> Result<(), ForgeError> {
        self.exchange(method, url, None::<&()>).await.map(|_| ())
    }

    /// One request; the endpoint's name and the body of a successful answer.
    async fn exchange(
        &self,
        method: Method,
        url: Url,
        body: Option<&impl serde::Serialize>,
    ) -> Result<(String, String), ForgeError> {
        let endpoint = format!("{method} {}", endpoint_path(&url));
        let mut request = self
            .http
            .request(method, url)
            .header(
                reqwest::header::AUTHORIZATION,
                format!("token {}", self.token.expose()),
            )
            .header(reqwest::header::ACCEPT, "application/json");
        if let Some(body) = body {
            request = request.json(body);
        }
        let transport = |e: reqwest::Error, endpoint: &str| {
            if e.is_timeout() {
                ForgeError::Timeout {
                    endpoint: endpoint.to_string(),
                    timeout: self.timeout,
                }
            } else {
                ForgeError::Transport {
                    endpoint: endpoint.to_string(),
                    source: e.without_url(),
                }
            }
        };
        let response = request.send().await.map_err(|e| transport(e, &endpoint))?;
        let status = response.status();
        let text = response.text().await.map_err(|e| transport(e, &endpoint))?;
        if !status.is_success() {
            return Err(ForgeError::Status {
                endpoint,
                status: status.as_u16(),
                message: self.error_message(status, &text),
            });
        }
        Ok((endpoint, text))
    }

    /// Gitea's `{"message": …}` if present, else the start of the body; scrubbed of the token.
    fn error_message(&self, status: StatusCode, text: &str) -> String {
        let message = serde_json::from_str::<serde_json::Value>(text)
            .ok()
            .and_then(|v| v.get("message")?.as_str().map(str::to_string))
            .unwrap_or_else(|| text.chars().take(200).collect());
        let message = self.redactor.redact(message.trim());
        if message.is_empty() {
            status.canonical_reason().unwrap_or("").to_string()
        } else {
            message
        }
    }
}

/// The path below `/api/v1`, for naming an endpoint in errors.
fn endpoint_path(url: &Url) -> String {
    let path = url.path();
    match path.find("/api/v1/") {
        Some(i) => path[i + "/api/v1".len()..].to_string(),
        None => path.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client(base: &str) -> GiteaClient {
        GiteaClient::new(base, Secret::new("tok-123456"), Duration::from_secs(5)).unwrap()
    }

    #[test]
    fn builds_api_urls_from_the_web_root() {
        let repo = RepoName::parse("o/r").unwrap();
        for base in [
            "https://git.example",
            "https://git.example/",
            "https://git.example/api/v1",
            "https://git.example/api/v1/",
        ] {
            let c = client(base);
            let url = c.url(&["repos", repo.owner(), repo.name(), "pulls", "3"], &[]);
            assert_eq!(
                url.as_str(),
                "https://git.example/api/v1/repos/o/r/pulls/3",
                "{base}"
            );
        }
        let c = client("http://127.0.0.1:3000/gitea");
        let url = c.url(
            &["repos", "o", "r", "collaborators", "a/b", "permission"],
            &[],
        );
        assert_eq!(
            url.as_str(),
            "http://127.0.0.1:3000/gitea/api/v1/repos/o/r/collaborators/a%2Fb/permission"
        );
        assert_eq!(
            endpoint_path(&url),
            "/repos/o/r/collaborators/a%2Fb/permission"
        );
    }

    #[test]
    fn rejects_unusable_base_urls() {
        for base in [
            "",
            "git.example",
            "ftp://git.example",
            "https://u:p@git.example",
        ] {
            assert!(
                GiteaClient::new(base, Secret::new("t"), Duration::from_secs(1)).is_err(),
                "{base}"
            );
        }
    }

    #[test]
    fn debug_hides_the_token() {
        let shown = format!("{:?}", client("https://git.example"));
        assert!(!shown.contains("tok-123456"), "{shown}");
    }
}
