//! Gitea webhooks, pure: signature check and the `issue_comment` payload.
//!
//! Gitea signs each delivery with `X-Gitea-Signature`: the hex HMAC-SHA256 of the raw body,
//! keyed with the hook's secret. [`verify_signature`] checks it in constant time, against
//! the current secret and optionally the previous one (rotation), **before** anything reads
//! the body. Only then does [`parse_issue_comment`] look at it.
//!
//! Delivery ids (`X-Gitea-Delivery`, a UUID per delivery, kept on redelivery) are returned as
//! [`DeliveryId`]; remembering them to drop replays is the caller's store's job.

use crate::api::{Comment, RepoName, User};
use ccci_core::secret::Secret;
use hmac::{Hmac, Mac};
use serde::Deserialize;
use sha2::Sha256;

pub const SIGNATURE_HEADER: &str = "X-Gitea-Signature";
pub const DELIVERY_HEADER: &str = "X-Gitea-Delivery";
/// `issue_comment` for comments on issues and PRs alike.
pub const EVENT_HEADER: &str = "X-Gitea-Event";
/// Finer: `pull_request_comment` for PR comments (Gitea 1.x); informational only.
pub const EVENT_TYPE_HEADER: &str = "X-Gitea-Event-Type";

type HmacSha256 = Hmac<Sha256>;

/// The secrets a delivery may be signed with: the current one, and during a rotation the
/// previous one.
#[derive(Clone, Debug)]
pub struct WebhookSecrets {
    pub current: Secret,
    pub previous: Option<Secret>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("no X-Gitea-Signature header")]
    Missing,
    #[error("X-Gitea-Signature is not a hex SHA-256 HMAC")]
    Malformed,
    #[error("X-Gitea-Signature does not match")]
    Mismatch,
}

/// Checks `signature` (the header's value) against `body` under each secret. Constant time
/// in the comparison (`Mac::verify_slice`); every secret is tried, so timing does not say
/// which matched.
pub fn verify_signature(
    secrets: &WebhookSecrets,
    body: &[u8],
    signature: Option<&str>,
) -> Result<(), SignatureError> {
    let signature = signature.ok_or(SignatureError::Missing)?.trim();
    // Gitea sends bare hex; accept GitHub's `sha256=` prefix too (Forgejo's compat header).
    let signature = signature.strip_prefix("sha256=").unwrap_or(signature);
    let tag = hex::decode(signature).map_err(|_| SignatureError::Malformed)?;
    if tag.len() != 32 {
        return Err(SignatureError::Malformed);
    }
    let mut matched = false;
    for secret in std::iter::once(&secrets.current).chain(secrets.previous.as_ref()) {
        if secret.expose().is_empty() {
            continue; // an empty secret would let anyone sign
        }
        let mut mac = HmacSha256::new_from_slice(secret.expose().as_bytes())
            .map_err(|_| SignatureError::Mismatch)?;
        mac.update(body);
        matched |= mac.verify_slice(&tag).is_ok();
    }
    if matched {
        Ok(())
    } else {
        Err(SignatureError::Mismatch)
    }
}

/// The hex signature Gitea would send for `body` under `secret`; for tests and the stand-in.
pub fn sign(secret: &Secret, body: &[u8]) -> String {
    // HMAC takes keys of any length, so this never fails; an empty string would never verify.
    match HmacSha256::new_from_slice(secret.expose().as_bytes()) {
        Ok(mut mac) => {
            mac.update(body);
            hex::encode(mac.finalize().into_bytes())
        }
        Err(_) => String::new(),
    }
}

/// `X-Gitea-Delivery`: the caller remembers these to ignore replays.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DeliveryId(pub String);

impl DeliveryId {
    /// From the header value; `None` when absent or not a plausible id (over 128 bytes or
    /// with control characters), so a hostile value never reaches the store.
    pub fn from_header(value: Option<&str>) -> Option<DeliveryId> {
        let value = value?.trim();
        (!value.is_empty() && value.len() <= 128 && !value.chars().any(char::is_control))
            .then(|| DeliveryId(value.to_string()))
    }
}

/// What an `issue_comment` delivery says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IssueCommentEvent {
    /// `created`, `edited` or `deleted`.
    pub action: String,
    /// Whether the issue is a pull request.
    pub is_pull: bool,
    pub repo: RepoName,
    pub issue_number: u64,
    pub comment: Comment,
    pub sender: User,
    /// The PR head in the payload, when Gitea included the pull request.
    pub head_sha: Option<String>,
}

impl IssueCommentEvent {
    /// Only a newly created comment on a pull request can trigger a run.
    pub fn is_new_pr_comment(&self) -> bool {
        self.action == "created" && self.is_pull
    }
}

#[derive(Debug, thiserror::Error)]
#[error("issue_comment payload: {0}")]
pub struct PayloadError(String);

#[derive(Deserialize)]
struct RawPayload {
    action: String,
    #[serde(default)]
    is_pull: bool,
    issue: RawIssue,
    comment: Comment,
    repository: RawRepository,
    sender: User,
    #[serde(default)]
    pull_request: Option<RawPull>,
}

#[derive(Deserialize)]
struct RawIssue {
    number: u64,
    #[serde(default)]
    pull_request: Option<serde_json::Value>,
}

#[derive(Deserialize)]
struct RawRepository {
    full_name: String,
}

#[derive(Deserialize)]
struct RawPull {
    head: crate::api::PrBranch,
}

/// Parses a verified `issue_comment` body.
pub fn parse_issue_comment(body: &[u8]) -> Result<IssueCommentEvent, PayloadError> {
    let raw: RawPayload = serde_json::from_slice(body).map_err(|e| PayloadError(e.to_string()))?;
    let repo =
        RepoName::parse(&raw.repository.full_name).map_err(|e| PayloadError(e.to_string()))?;
    Ok(IssueCommentEvent {
        action: raw.action,
        // Older Gitea versions lack `is_pull`; the issue's `pull_request` says it too.
        is_pull: raw.is_pull || raw.issue.pull_request.is_some_and(|p| !p.is_null()),
        repo,
        issue_number: raw.issue.number,
        comment: raw.comment,
        sender: raw.sender,
        head_sha: raw.pull_request.map(|p| p.head.sha),
    })
}

/// A delivery, verified and classified.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WebhookEvent {
    /// An `issue_comment` delivery.
    IssueComment(Box<IssueCommentEvent>),
    /// Any other event (`push`, `pull_request`, …): acknowledged, not acted on.
    Other(String),
}

#[derive(Debug, thiserror::Error)]
pub enum WebhookError {
    /// Answer 401, queue nothing.
    #[error(transparent)]
    Signature(#[from] SignatureError),
    /// Signed correctly but not understood: answer 400.
    #[error(transparent)]
    Payload(#[from] PayloadError),
}

/// The header values of one delivery.
#[derive(Clone, Copy, Debug, Default)]
pub struct WebhookHeaders<'a> {
    pub signature: Option<&'a str>,
    pub event: Option<&'a str>,
    pub delivery: Option<&'a str>,
}

/// Verifies a delivery's signature, then classifies and parses it. Returns the delivery id
/// (when present) for the caller's replay check.
pub fn verify_and_parse(
    secrets: &WebhookSecrets,
    headers: WebhookHeaders<'_>,
    body: &[u8],
) -> Result<(Option<DeliveryId>, WebhookEvent), WebhookError> {
    verify_signature(secrets, body, headers.signature)?;
    let delivery = DeliveryId::from_header(headers.delivery);
    let event = match headers.event.map(str::trim) {
        Some("issue_comment") => WebhookEvent::IssueComment(Box::new(parse_issue_comment(body)?)),
        other => WebhookEvent::Other(other.unwrap_or("").chars().take(64).collect()),
    };
    Ok((delivery, event))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secrets(current: &str, previous: Option<&str>) -> WebhookSecrets {
        WebhookSecrets {
            current: Secret::new(current),
            previous: previous.map(Secret::new),
        }
    }

    const BODY: &[u8] = br#"{"action":"created","is_pull":true,
        "issue":{"id":9,"number":7,"title":"t","pull_request":{"merged":false}},
        "pull_request":{"number":7,"state":"open","head":{"ref":"fix","sha":"abc123","label":"fix"}},
        "comment":{"id":42,"body":"!testme --quick","user":{"id":3,"login":"alice"},
            "html_url":"","issue_url":"","pull_request_url":"https://git.example/o/r/pulls/7",
            "created_at":"2024-05-01T12:00:00Z","updated_at":"2024-05-01T12:00:00Z"},
        "repository":{"id":1,"name":"r","full_name":"o/r","owner":{"id":1,"login":"o"}},
        "sender":{"id":3,"login":"alice"}}"#;

    #[test]
    fn signatures() {
        let good = sign(&Secret::new("s3cret-current"), BODY);
        let old = sign(&Secret::new("s3cret-previous"), BODY);
        let both = secrets("s3cret-current", Some("s3cret-previous"));
        let only_current = secrets("s3cret-current", None);
        let mut tampered = BODY.to_vec();
        tampered[12] ^= 1;
        let upper = good.to_uppercase();
        let prefixed = format!("sha256={good}");
        type Row<'a> = (
            &'a WebhookSecrets,
            &'a [u8],
            Option<&'a str>,
            Result<(), SignatureError>,
        );
        let rows: Vec<Row> = vec![
            (&both, BODY, Some(&good), Ok(())),
            (&both, BODY, Some(&upper), Ok(())),
            (&both, BODY, Some(&prefixed), Ok(())),
            (&both, BODY, Some(&old), Ok(())),
            (
                &only_current,
                BODY,
                Some(&old),
                Err(SignatureError::Mismatch),
            ),
            (&both, &tampered, Some(&good), Err(SignatureError::Mismatch)),
            (&both, BODY, None, Err(SignatureError::Missing)),
            (&both, BODY, Some("zz"), Err(SignatureError::Malformed)),
            (&both, BODY, Some("abcd"), Err(SignatureError::Malformed)),
            (
                &both,
                BODY,
                Some(&good[..63]),
                Err(SignatureError::Malformed),
            ),
        ];
        for (secrets, body, signature, want) in rows {
            assert_eq!(
                verify_signature(secrets, body, signature),
                want,
                "{signature:?}"
            );
        }
        // An empty configured secret never verifies anything, even a matching signature.
        let empty = secrets("", None);
        let by_empty = sign(&Secret::new(""), BODY);
        assert_eq!(
            verify_signature(&empty, BODY, Some(&by_empty)),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn parses_a_pr_comment_delivery() {
        let both = secrets("s3cret-current", Some("s3cret-previous"));
        let headers = WebhookHeaders {
            signature: Some(&sign(&Secret::new("s3cret-current"), BODY)),
            event: Some("issue_comment"),
            delivery: Some("f6266f16-1bf3-46a5-9ea4-602e06ead473"),
        };
        let (delivery, event) = verify_and_parse(&both, headers, BODY).unwrap();
        assert_eq!(
            delivery,
            Some(DeliveryId("f6266f16-1bf3-46a5-9ea4-602e06ead473".into()))
        );
        let WebhookEvent::IssueComment(event) = event else {
            panic!("{event:?}")
        };
        assert!(event.is_new_pr_comment());
        assert_eq!(event.repo.full_name(), "o/r");
        assert_eq!(event.issue_number, 7);
        assert_eq!(event.comment.id, 42);
        assert_eq!(event.comment.body, "!testme --quick");
        assert_eq!(event.sender.login, "alice");
        assert_eq!(event.head_sha.as_deref(), Some("abc123"));
    }

    #[test]
    fn a_bad_signature_is_rejected_before_the_body_is_read() {
        let both = secrets("s3cret-current", None);
        let headers = WebhookHeaders {
            signature: Some(&sign(&Secret::new("wrong"), b"not json at all")),
            event: Some("issue_comment"),
            delivery: Some("d1"),
        };
        let err = verify_and_parse(&both, headers, b"not json at all").unwrap_err();
        assert!(matches!(
            err,
            WebhookError::Signature(SignatureError::Mismatch)
        ));
    }

    #[test]
    fn other_events_and_odd_payloads() {
        let s = secrets("k-current", None);
        let sig = sign(&Secret::new("k-current"), b"{}");
        let headers = WebhookHeaders {
            signature: Some(&sig),
            event: Some("push"),
            delivery: None,
        };
        assert_eq!(
            verify_and_parse(&s, headers, b"{}").unwrap(),
            (None, WebhookEvent::Other("push".into()))
        );
        let headers = WebhookHeaders {
            event: Some("issue_comment"),
            ..headers
        };
        assert!(matches!(
            verify_and_parse(&s, headers, b"{}"),
            Err(WebhookError::Payload(_))
        ));
        // An edit or a plain-issue comment is parsed but does not trigger.
        let edited = String::from_utf8_lossy(BODY).replace("\"created\"", "\"edited\"");
        assert!(!parse_issue_comment(edited.as_bytes())
            .unwrap()
            .is_new_pr_comment());
        assert_eq!(DeliveryId::from_header(Some("a\nb")), None);
        assert_eq!(DeliveryId::from_header(Some(&"x".repeat(200))), None);
    }
}
