//! The parts of Gitea's API objects cc-ci reads and writes (Gitea and Forgejo share them).
//! Field names follow Gitea's swagger definitions (`Comment`, `PullRequest`, `PRBranchInfo`,
//! `RepoCollaboratorPermission`, `CreateStatusOption`, `CommitStatus`, `User`); fields cc-ci
//! does not use are not modelled and are ignored when present.

use crate::trigger::Permission;
use serde::{Deserialize, Serialize};
use std::fmt;
use time::OffsetDateTime;

/// A repository, `owner/name`, validated so it can only ever be two URL path segments.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RepoName {
    owner: String,
    name: String,
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("invalid repository {0:?}: expected owner/name (letters, digits, '-', '_', '.')")]
pub struct BadRepoName(pub String);

impl RepoName {
    pub fn new(owner: &str, name: &str) -> Result<RepoName, BadRepoName> {
        let valid = |s: &str| {
            !s.is_empty()
                && s != "."
                && s != ".."
                && s.len() <= 100
                && s.chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        };
        if valid(owner) && valid(name) {
            Ok(RepoName {
                owner: owner.to_string(),
                name: name.to_string(),
            })
        } else {
            Err(BadRepoName(format!("{owner}/{name}")))
        }
    }

    /// Parses `owner/name` (Gitea's `full_name`).
    pub fn parse(full_name: &str) -> Result<RepoName, BadRepoName> {
        match full_name.trim().split_once('/') {
            Some((owner, name)) => {
                RepoName::new(owner, name).map_err(|_| BadRepoName(full_name.to_string()))
            }
            None => Err(BadRepoName(full_name.to_string())),
        }
    }

    pub fn owner(&self) -> &str {
        &self.owner
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// `owner/name`.
    pub fn full_name(&self) -> String {
        format!("{}/{}", self.owner, self.name)
    }
}

impl fmt::Display for RepoName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.owner, self.name)
    }
}

impl Serialize for RepoName {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.full_name())
    }
}

impl<'de> Deserialize<'de> for RepoName {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        RepoName::parse(&text).map_err(serde::de::Error::custom)
    }
}

/// Gitea's `User`, the fields cc-ci reads.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    pub id: i64,
    pub login: String,
}

/// Gitea's `Comment` (an issue or PR conversation comment).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Comment {
    pub id: u64,
    #[serde(default)]
    pub body: String,
    pub user: User,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
    #[serde(default)]
    pub html_url: String,
    /// Web URL of the issue, ending in its number (`…/owner/repo/issues/7`); Gitea leaves it
    /// empty for comments on pull requests.
    #[serde(default)]
    pub issue_url: String,
    /// Web URL of the PR (`…/owner/repo/pulls/7`); empty for comments on plain issues.
    #[serde(default)]
    pub pull_request_url: String,
}

impl Comment {
    /// The number of the issue or PR the comment is on, read from the tail of its URLs.
    pub fn issue_number(&self) -> Option<u64> {
        [&self.issue_url, &self.pull_request_url]
            .into_iter()
            .find_map(|url| url.trim_end_matches('/').rsplit('/').next()?.parse().ok())
    }

    /// Whether the comment is on a pull request (Gitea fills `pull_request_url` only then).
    pub fn is_on_pull(&self) -> bool {
        !self.pull_request_url.is_empty()
    }
}

/// Gitea's `TimelineComment` (`GET /repos/{o}/{r}/issues/{index}/timeline`): one event of
/// an issue or PR (a comment, a label change, a push to the PR's head branch…), the fields
/// cc-ci reads.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TimelineComment {
    /// Events share the id sequence of comments: within one second, the smaller id was
    /// recorded first.
    pub id: u64,
    /// `pull_push`, `comment`, … Gitea before 1.16 sent the number (29 for a push); it is
    /// read as the name.
    #[serde(rename = "type", deserialize_with = "timeline_type")]
    pub kind: String,
    /// For a `pull_push`: Gitea's `PushActionContent` as JSON text
    /// (`{"is_force_push": bool, "commit_ids": [...]}`).
    #[serde(default)]
    pub body: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

/// The timeline type of a push to the PR's head branch (`CommentTypePullRequestPush`).
pub const PULL_PUSH: &str = "pull_push";
/// Its number in Gitea before 1.16.
const PULL_PUSH_NUMBER: u64 = 29;

fn timeline_type<'de, D: serde::Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    Ok(match serde_json::Value::deserialize(d)? {
        serde_json::Value::String(name) => name,
        serde_json::Value::Number(n) if n.as_u64() == Some(PULL_PUSH_NUMBER) => PULL_PUSH.into(),
        other => other.to_string(),
    })
}

/// Gitea's `PushActionContent`, the body of a `pull_push` event. A force push records
/// `[old head, new head]`; a fast-forward the commits it added, oldest first. Either way the
/// last id is the head the push left.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PushActionContent {
    #[serde(default)]
    pub is_force_push: bool,
    #[serde(default)]
    pub commit_ids: Vec<String>,
}

/// Gitea's `PullRequest`, the fields cc-ci reads.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PullRequest {
    pub number: u64,
    /// `open` or `closed`.
    pub state: String,
    #[serde(default)]
    pub title: String,
    #[serde(default)]
    pub html_url: String,
    pub head: PrBranch,
    #[serde(default)]
    pub merged: bool,
}

impl PullRequest {
    pub fn is_open(&self) -> bool {
        self.state == "open"
    }
}

/// Gitea's `PRBranchInfo`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PrBranch {
    #[serde(rename = "ref", default)]
    pub branch: String,
    pub sha: String,
    #[serde(default)]
    pub label: String,
}

/// Gitea's `RepoCollaboratorPermission`.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub(crate) struct RepoCollaboratorPermission {
    pub permission: String,
}

/// A commit status state (`CommitStatusState`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StatusState {
    Pending,
    Success,
    Failure,
    Error,
    Warning,
}

impl StatusState {
    pub fn name(self) -> &'static str {
        match self {
            StatusState::Pending => "pending",
            StatusState::Success => "success",
            StatusState::Failure => "failure",
            StatusState::Error => "error",
            StatusState::Warning => "warning",
        }
    }
}

/// Gitea's `CreateStatusOption`: what `POST /repos/{o}/{r}/statuses/{sha}` takes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusUpdate {
    pub state: StatusState,
    /// The status's name on the PR, e.g. `cc-ci`. One status per context: a newer post
    /// replaces what the PR shows.
    pub context: String,
    pub description: String,
    /// The run page.
    pub target_url: String,
}

/// Gitea's `CommitStatus`, as returned after posting one.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommitStatus {
    pub id: i64,
    /// Gitea names the state `status` in responses.
    pub status: StatusState,
    #[serde(default)]
    pub context: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub target_url: String,
}

/// Gitea's `Hook` (a repository webhook), the fields cc-ci reads. Gitea never returns a
/// hook's secret, and `PATCH` cannot change it (only `POST` sets one): see
/// [`crate::hooks`] for what cc-ci does about that.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hook {
    pub id: u64,
    /// `gitea`, `slack`, … (fixed at creation).
    #[serde(rename = "type", default)]
    pub kind: String,
    /// `url` and `content_type` (`json` or `form`); never `secret`.
    #[serde(default, deserialize_with = "null_as_default")]
    pub config: std::collections::BTreeMap<String, String>,
    /// As Gitea lists them: `pull_request` comes back expanded into its family
    /// (`pull_request_assign`, `pull_request_sync`, …).
    #[serde(default, deserialize_with = "null_as_default")]
    pub events: Vec<String>,
    #[serde(default)]
    pub active: bool,
}

impl Hook {
    /// Where the hook delivers (`config.url`).
    pub fn url(&self) -> &str {
        self.config.get("url").map_or("", String::as_str)
    }

    /// `json` or `form` (`config.content_type`).
    pub fn content_type(&self) -> &str {
        self.config.get("content_type").map_or("", String::as_str)
    }
}

/// Go's nil slices and maps arrive as `null`.
fn null_as_default<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

/// A repository permission as the forge reported it.
pub(crate) fn permission_of(p: &RepoCollaboratorPermission) -> Permission {
    Permission::parse(&p.permission)
}

/// RFC 3339 in UTC, whole seconds (rounded down, so nothing is left out), as Gitea's
/// `since` parameter takes it.
pub(crate) fn rfc3339(t: OffsetDateTime) -> String {
    use time::format_description::well_known::Rfc3339;
    let t = t.to_offset(time::UtcOffset::UTC);
    t.replace_nanosecond(0)
        .unwrap_or(t)
        .format(&Rfc3339)
        .unwrap_or_else(|_| "1970-01-01T00:00:00Z".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repo_names_are_two_safe_segments() {
        assert_eq!(
            RepoName::parse("coop-cloud/traefik").map(|r| r.full_name()),
            Ok("coop-cloud/traefik".to_string())
        );
        for bad in [
            "", "a", "a/", "/b", "a/b/c", "../b", "a/..", "a b/c", "a/b?x", "a/%2e",
        ] {
            assert!(RepoName::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn reads_a_gitea_comment() {
        let json = r#"{"id":42,"html_url":"https://git.example/o/r/pulls/7#issuecomment-42",
            "pull_request_url":"https://git.example/o/r/pulls/7",
            "issue_url":"",
            "user":{"id":3,"login":"alice","full_name":"","email":"a@x"},
            "original_author":"","original_author_id":0,"body":"!testme","assets":[],
            "created_at":"2024-05-01T12:00:00+02:00","updated_at":"2024-05-01T10:00:00Z"}"#;
        let c: Comment = serde_json::from_str(json).unwrap();
        assert_eq!(c.issue_number(), Some(7));
        assert!(c.is_on_pull());
        assert_eq!(c.created_at, c.updated_at);
        assert_eq!(c.user.login, "alice");
    }

    #[test]
    fn reads_a_gitea_hook_and_go_nulls() {
        let json = r#"{"id":12,"type":"gitea","name":"","branch_filter":"",
            "config":{"url":"https://ci.example/webhook/gitea","content_type":"json"},
            "events":["issue_comment","pull_request","pull_request_sync"],
            "authorization_header":"","active":true,
            "created_at":"2024-05-01T12:00:00+02:00","updated_at":"2024-05-01T12:00:00+02:00"}"#;
        let hook: Hook = serde_json::from_str(json).unwrap();
        assert_eq!(hook.url(), "https://ci.example/webhook/gitea");
        assert_eq!(hook.content_type(), "json");
        assert_eq!(hook.events.len(), 3);
        assert!(hook.active);
        let bare: Hook = serde_json::from_str(r#"{"id":1,"config":null,"events":null}"#).unwrap();
        assert_eq!((bare.url(), bare.events.len(), bare.active), ("", 0, false));
    }

    #[test]
    fn reads_timeline_events_new_and_old() {
        let json = r#"[{"id":7,"type":"pull_push","body":"{\"is_force_push\":true,\"commit_ids\":[\"a\",\"b\"]}",
              "created_at":"2024-05-01T12:00:00+02:00","user":null,"label":null},
            {"id":8,"type":29,"body":"","created_at":"2024-05-01T10:00:01Z"},
            {"id":9,"type":0,"body":"hi","created_at":"2024-05-01T10:00:02Z"}]"#;
        let events: Vec<TimelineComment> = serde_json::from_str(json).unwrap();
        let kinds: Vec<&str> = events.iter().map(|e| e.kind.as_str()).collect();
        assert_eq!(kinds, ["pull_push", "pull_push", "0"]);
        let push: PushActionContent = serde_json::from_str(&events[0].body).unwrap();
        assert!(push.is_force_push);
        assert_eq!(push.commit_ids, ["a", "b"]);
    }
}
