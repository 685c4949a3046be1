//! The webhook cc-ci registers on a repository, pure: which of the repository's hooks are
//! cc-ci's, whether the one it keeps has drifted, and what to do ([`plan_hooks`]).
//!
//! **A hook is cc-ci's when its `config.url` is exactly cc-ci's webhook URL**, nothing
//! else: a hook at any other URL is someone else's and is never edited or deleted.
//!
//! **The secret.** Gitea never returns a hook's secret, and its `PATCH` ignores
//! `config.secret` (only `POST` sets one). So cc-ci cannot read or repair the secret of a
//! hook; it remembers instead which hook it created with which secret (the hook id and
//! [`secret_fingerprint`] of the secret, in its store). A hook at cc-ci's URL whose secret
//! cc-ci does not know to be the current one — made by hand, made before the secret was
//! rotated, or before the store was reset — is replaced: a new hook is created with the
//! current secret, then the old one is deleted (so there is no moment without a hook).

use crate::api::Hook;
use crate::webhook;
use ccci_core::secret::Secret;

/// The hook type cc-ci creates (Gitea's own payloads, signed with `X-Gitea-Signature`).
pub const HOOK_TYPE: &str = "gitea";
/// The body format cc-ci reads.
pub const CONTENT_TYPE: &str = "json";
/// The events cc-ci asks for: comments (the trigger) and pull requests. Gitea lists
/// `pull_request` back as its family of `pull_request_*` events.
pub const EVENTS: [&str; 2] = ["issue_comment", "pull_request"];

/// What to do with a repository's hooks so that exactly one is cc-ci's, right, and holds
/// the current secret.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HookPlan {
    pub action: HookAction,
    /// cc-ci's other hooks (duplicates, or the one replaced), deleted after `action`.
    pub delete: Vec<u64>,
    /// Why, for the log.
    pub reason: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HookAction {
    /// The hook is right: nothing to change.
    Keep(u64),
    /// The hook's URL is right but its events, content type or `active` drifted: `PATCH` it.
    Edit(u64),
    /// No usable hook: `POST` a new one with the current secret.
    Create,
}

/// Decides what to do with `hooks` (every hook of the repository) for cc-ci's webhook at
/// `url`. `known_secret` is the hook cc-ci created with the current secret, if it
/// remembers one.
pub fn plan_hooks(url: &str, hooks: &[Hook], known_secret: Option<u64>) -> HookPlan {
    let ours: Vec<&Hook> = hooks.iter().filter(|h| h.url() == url).collect();
    let all_ours = || ours.iter().map(|h| h.id).collect::<Vec<_>>();
    let keeper = ours
        .iter()
        .find(|h| Some(h.id) == known_secret && h.kind == HOOK_TYPE);
    let Some(keeper) = keeper else {
        let reason = match ours.as_slice() {
            [] => "no cc-ci hook yet: creating one".to_string(),
            some => format!(
                "replacing hook {}: its secret is not known to be the current one (Gitea never shows a secret and cannot change it)",
                list(&some.iter().map(|h| h.id).collect::<Vec<_>>())
            ),
        };
        return HookPlan {
            action: HookAction::Create,
            delete: all_ours(),
            reason,
        };
    };
    let delete: Vec<u64> = all_ours()
        .into_iter()
        .filter(|id| *id != keeper.id)
        .collect();
    let duplicates = if delete.is_empty() {
        String::new()
    } else {
        format!("; deleting duplicates {}", list(&delete))
    };
    match drift(keeper) {
        Some(what) => HookPlan {
            action: HookAction::Edit(keeper.id),
            delete,
            reason: format!("correcting hook {}: {what}{duplicates}", keeper.id),
        },
        None => HookPlan {
            action: HookAction::Keep(keeper.id),
            delete,
            reason: format!("hook {} is right{duplicates}", keeper.id),
        },
    }
}

/// How `hook` differs from what cc-ci wants (its URL aside), or `None`. Events: each of
/// [`EVENTS`] must be there, and nothing outside them and the `pull_request_*` family
/// Gitea expands `pull_request` into.
pub fn drift(hook: &Hook) -> Option<String> {
    let mut what = Vec::new();
    if !hook.active {
        what.push("inactive".to_string());
    }
    if hook.content_type() != CONTENT_TYPE {
        what.push(format!("content type {:?}, not json", hook.content_type()));
    }
    let has = |event: &str| hook.events.iter().any(|e| e.eq_ignore_ascii_case(event));
    let missing: Vec<&str> = EVENTS.into_iter().filter(|e| !has(e)).collect();
    if !missing.is_empty() {
        what.push(format!("events lack {}", missing.join(", ")));
    }
    let extra: Vec<&str> = hook
        .events
        .iter()
        .map(String::as_str)
        .filter(|e| !is_wanted_event(e))
        .collect();
    if !extra.is_empty() {
        what.push(format!("extra events {}", extra.join(", ")));
    }
    (!what.is_empty()).then(|| what.join(", "))
}

fn is_wanted_event(event: &str) -> bool {
    let event = event.to_ascii_lowercase();
    EVENTS.contains(&event.as_str()) || event.starts_with("pull_request_")
}

fn list(ids: &[u64]) -> String {
    ids.iter()
        .map(u64::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// A one-way fingerprint of a webhook secret, to remember which secret a hook was made
/// with without storing it: the HMAC of a fixed text keyed with the secret, 16 hex digits.
pub fn secret_fingerprint(secret: &Secret) -> String {
    let mut tag = webhook::sign(secret, b"cc-ci webhook secret fingerprint");
    tag.truncate(16);
    tag
}

#[cfg(test)]
mod tests {
    use super::*;

    const URL: &str = "https://ci.example/webhook/gitea";

    fn hook(id: u64, url: &str, events: &[&str], content: &str, active: bool) -> Hook {
        Hook {
            id,
            kind: HOOK_TYPE.into(),
            config: [("url", url), ("content_type", content)]
                .into_iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            events: events.iter().map(|e| e.to_string()).collect(),
            active,
        }
    }

    /// As Gitea lists a hook created with [`EVENTS`].
    const LISTED: &[&str] = &[
        "issue_comment",
        "pull_request",
        "pull_request_assign",
        "pull_request_label",
        "pull_request_milestone",
        "pull_request_comment",
        "pull_request_review_approved",
        "pull_request_review_rejected",
        "pull_request_review_comment",
        "pull_request_sync",
        "pull_request_review_request",
    ];

    fn right(id: u64) -> Hook {
        hook(id, URL, LISTED, "json", true)
    }

    #[test]
    fn what_to_do_with_a_repositorys_hooks() {
        let other = hook(1, "https://chat.example/hook", &["push"], "form", false);
        let slack = Hook {
            kind: "slack".into(),
            ..right(9)
        };
        type Row = (&'static str, Vec<Hook>, Option<u64>, HookAction, Vec<u64>);
        let rows: Vec<Row> = vec![
            ("none at all", vec![], None, HookAction::Create, vec![]),
            (
                "only someone else's",
                vec![other.clone()],
                None,
                HookAction::Create,
                vec![],
            ),
            (
                "ours, secret known",
                vec![other.clone(), right(2)],
                Some(2),
                HookAction::Keep(2),
                vec![],
            ),
            (
                "ours, secret unknown",
                vec![right(2)],
                None,
                HookAction::Create,
                vec![2],
            ),
            (
                "ours, another hook's secret known",
                vec![right(2)],
                Some(7),
                HookAction::Create,
                vec![2],
            ),
            (
                "duplicates",
                vec![right(3), right(2), right(4)],
                Some(2),
                HookAction::Keep(2),
                vec![3, 4],
            ),
            (
                "duplicates, none known",
                vec![right(3), right(4)],
                None,
                HookAction::Create,
                vec![3, 4],
            ),
            (
                "inactive",
                vec![hook(2, URL, LISTED, "json", false)],
                Some(2),
                HookAction::Edit(2),
                vec![],
            ),
            (
                "form body",
                vec![hook(2, URL, LISTED, "form", true)],
                Some(2),
                HookAction::Edit(2),
                vec![],
            ),
            (
                "push only",
                vec![hook(2, URL, &["push"], "json", true)],
                Some(2),
                HookAction::Edit(2),
                vec![],
            ),
            (
                "a missing event",
                vec![hook(2, URL, &["issue_comment"], "json", true)],
                Some(2),
                HookAction::Edit(2),
                vec![],
            ),
            (
                "an extra event",
                vec![hook(
                    2,
                    URL,
                    &["issue_comment", "pull_request", "push"],
                    "json",
                    true,
                )],
                Some(2),
                HookAction::Edit(2),
                vec![],
            ),
            (
                "as asked, unexpanded",
                vec![hook(2, URL, &EVENTS, "json", true)],
                Some(2),
                HookAction::Keep(2),
                vec![],
            ),
            (
                "our URL but another type",
                vec![slack],
                Some(9),
                HookAction::Create,
                vec![9],
            ),
            (
                "a URL that only looks like ours",
                vec![hook(5, &format!("{URL}/"), LISTED, "json", true)],
                Some(5),
                HookAction::Create,
                vec![],
            ),
            (
                "drifted duplicate of a known one",
                vec![right(2), hook(3, URL, &["push"], "json", false)],
                Some(2),
                HookAction::Keep(2),
                vec![3],
            ),
        ];
        for (label, hooks, known, action, delete) in rows {
            let plan = plan_hooks(URL, &hooks, known);
            assert_eq!(
                (plan.action, plan.delete),
                (action, delete),
                "{label}: {}",
                plan.reason
            );
        }
    }

    #[test]
    fn reasons_say_what_drifted() {
        let plan = plan_hooks(
            URL,
            &[hook(2, URL, &["push"], "form", false), right(3)],
            Some(2),
        );
        assert_eq!(
            plan.reason,
            "correcting hook 2: inactive, content type \"form\", not json, events lack issue_comment, pull_request, extra events push; deleting duplicates 3"
        );
        assert!(plan_hooks(URL, &[right(4)], None)
            .reason
            .contains("secret is not known"));
    }

    #[test]
    fn the_fingerprint_tells_secrets_apart_and_hides_them() {
        let a = secret_fingerprint(&Secret::new("s3cret-one"));
        assert_eq!(a, secret_fingerprint(&Secret::new("s3cret-one")));
        assert_ne!(a, secret_fingerprint(&Secret::new("s3cret-two")));
        assert_eq!(a.len(), 16);
        assert!(!a.contains("s3cret"));
    }
}
