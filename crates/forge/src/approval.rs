//! Which commit a `!testme` approved (docs/behaviour.md §2), pure: the comment, the forge's record
//! of pushes to the PR, the head cc-ci read and the commit the comment names in, a decision
//! out. The poller and the webhook both decide with [`approved_commit`], so the same facts
//! give the same answer whichever saw the comment first.
//!
//! # The rule
//!
//! A maintainer approves what the PR showed when they commented. So:
//!
//! - **No `--sha`:** the run tests the PR head, and only if the forge's record proves it is
//!   the head the comment saw. A push recorded after the comment means it is not: nothing
//!   runs, and the PR is told to review the new head and comment again. "After" compares
//!   creation times, and within the same second the event ids (Gitea's comments and timeline
//!   events share one id sequence). When the record has pushes before the comment, the last
//!   one's new head must be the head read now; if not, a push has moved the head but is not
//!   recorded yet (Gitea writes the record from a queue, a moment after the ref moved), and
//!   the run is refused the same way.
//! - **`--sha X`:** the run tests the commit X names, if it is a commit of the PR: the head
//!   read now, the head a signed webhook delivery carried, or a commit of a recorded push.
//!   A whole id names exactly one content and is tested wherever in the record it appears.
//!   A prefix is matched only against commits that existed when the comment was made, so a
//!   commit pushed later with a brute-forced matching prefix can never ride on it; a prefix
//!   that matches two commits is refused as ambiguous.
//! - **No record** (the token cannot read the timeline, Gitea answers 404 or 403, or it has
//!   more events than cc-ci pages through): the head is tested only when a signed webhook
//!   delivery showed the same head at comment time; otherwise the run is refused and the
//!   reply asks for `--sha` with a whole commit id. The PR's `updated_at` cannot stand in for
//!   the record: every comment moves it, the `!testme` itself included.

use crate::api::{PushActionContent, TimelineComment, PULL_PUSH};
use std::collections::BTreeSet;
use time::OffsetDateTime;

/// One push to the PR's head branch, as the forge recorded it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PushRecord {
    /// The event's id (the comment id sequence).
    pub id: u64,
    pub at: OffsetDateTime,
    /// The commits the push recorded; the last is the head it left. Empty when the record's
    /// body could not be read: the push still counts as a push at `at`.
    pub commit_ids: Vec<String>,
    /// A force push records `[old head, new head]`.
    pub force: bool,
}

impl PushRecord {
    /// The `pull_push` events of a timeline, in the order given.
    pub fn from_timeline(events: &[TimelineComment]) -> Vec<PushRecord> {
        events
            .iter()
            .filter(|e| e.kind == PULL_PUSH)
            .map(|e| {
                let content: PushActionContent = serde_json::from_str(&e.body).unwrap_or_default();
                PushRecord {
                    id: e.id,
                    at: e.created_at,
                    commit_ids: content
                        .commit_ids
                        .into_iter()
                        .map(|id| id.to_ascii_lowercase())
                        .collect(),
                    force: content.is_force_push,
                }
            })
            .collect()
    }

    /// The head this push left.
    pub fn new_head(&self) -> Option<&str> {
        self.commit_ids.last().map(String::as_str)
    }
}

/// What cc-ci knows when it decides on one `!testme`.
#[derive(Clone, Copy, Debug)]
pub struct ApprovalFacts<'a> {
    /// The comment's id and creation time, as the forge reports them.
    pub comment_id: u64,
    pub comment_at: OffsetDateTime,
    /// The pushes the forge recorded on the PR; `None` when the record could not be read.
    /// It must be read *after* `current_head`, so a push between the two reads shows here.
    pub pushes: Option<&'a [PushRecord]>,
    /// The PR head as cc-ci read it.
    pub current_head: &'a str,
    /// The PR head a signed webhook delivery carried: Gitea builds it when the comment is
    /// made. `None` when polled, or when the delivery had no pull request.
    pub delivered_head: Option<&'a str>,
    /// `--sha`: the commit the comment names (lowercase hex).
    pub named: Option<&'a str>,
}

/// The decision on one `!testme`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Approval {
    /// Test this commit (a whole id).
    Test(String),
    /// Run nothing; reply with the reason.
    Refuse(Refusal),
}

/// Why a `!testme` runs nothing. `Display` is the reply on the PR (ids are validated hex).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error(
        "the PR head moved after this `!testme` (a push at {at}), so cc-ci tested nothing: it tests only the commit that was approved. Review the new head and comment `!testme` again."
    )]
    HeadMoved { at: String },
    #[error(
        "the PR head ({head}) is not the head the forge recorded when this `!testme` was made ({recorded}): a push may not be recorded yet, so cc-ci tested nothing. Comment `!testme` again, or name the commit with `--sha`."
    )]
    HeadUnproven { head: String, recorded: String },
    #[error(
        "`--sha {named}` is not a commit of this pull request that cc-ci can see (its head, or a commit of a push the forge recorded), so nothing was tested."
    )]
    NotInPull { named: String },
    #[error(
        "`--sha {named}` matches more than one commit of this pull request; give more digits of the one to test."
    )]
    Ambiguous { named: String },
    #[error(
        "`--sha {named}` matches only a commit pushed after this `!testme`; a short id approves only what existed when it was written. Name the commit in full (40 hex digits), or comment `!testme` again."
    )]
    PushedAfter { named: String },
    #[error(
        "cc-ci cannot read this pull request's push record (its timeline), so it cannot prove the head did not move after this `!testme`, and tested nothing. Comment `!testme --sha <the whole 40-digit commit id>` to test that commit."
    )]
    NoRecord,
}

/// Decides which commit a `!testme` approved (see the module docs for the rule).
pub fn approved_commit(facts: &ApprovalFacts<'_>) -> Approval {
    match facts.named {
        Some(named) => named_commit(facts, named),
        None => head_at_comment(facts),
    }
}

/// Whether a push was recorded before the comment was made.
fn before_comment(push: &PushRecord, facts: &ApprovalFacts<'_>) -> bool {
    (push.at, push.id) < (facts.comment_at, facts.comment_id)
}

fn head_at_comment(facts: &ApprovalFacts<'_>) -> Approval {
    let head = facts.current_head;
    let test = || Approval::Test(head.to_string());
    let Some(pushes) = facts.pushes else {
        return match facts.delivered_head == Some(head) {
            true => test(),
            false => Approval::Refuse(Refusal::NoRecord),
        };
    };
    if let Some(later) = pushes.iter().find(|p| !before_comment(p, facts)) {
        return Approval::Refuse(Refusal::HeadMoved {
            at: crate::api::rfc3339(later.at),
        });
    }
    // The heads the record and a delivery saw at comment time must be the head read now.
    // A last push whose record names no head cannot vouch for any.
    let last_push = pushes
        .iter()
        .max_by_key(|p| (p.at, p.id))
        .map(|p| p.new_head().unwrap_or(UNREADABLE));
    for recorded in [last_push, facts.delivered_head].into_iter().flatten() {
        if recorded != head {
            return Approval::Refuse(Refusal::HeadUnproven {
                head: short(head),
                recorded: short(recorded),
            });
        }
    }
    test()
}

fn named_commit(facts: &ApprovalFacts<'_>, named: &str) -> Approval {
    let refuse = |why: fn(String) -> Refusal| Approval::Refuse(why(named.to_string()));
    let (at_comment, later) = known_commits(facts);
    if named.len() == 40 || named.len() == 64 {
        return match at_comment.contains(named) || later.contains(named) {
            true => Approval::Test(named.to_string()),
            false => refuse(|named| Refusal::NotInPull { named }),
        };
    }
    if facts.pushes.is_none() && facts.delivered_head.is_none() {
        return Approval::Refuse(Refusal::NoRecord);
    }
    let matches: Vec<&String> = at_comment.iter().filter(|c| c.starts_with(named)).collect();
    match matches.as_slice() {
        [one] => Approval::Test(one.to_string()),
        [] if later.iter().any(|c| c.starts_with(named)) => {
            refuse(|named| Refusal::PushedAfter { named })
        }
        [] => refuse(|named| Refusal::NotInPull { named }),
        _ => refuse(|named| Refusal::Ambiguous { named }),
    }
}

/// The PR's commits cc-ci can see, split into those that existed when the comment was made
/// and those that may not have.
fn known_commits(facts: &ApprovalFacts<'_>) -> (BTreeSet<String>, BTreeSet<String>) {
    let mut at_comment = BTreeSet::new();
    let mut later = BTreeSet::new();
    at_comment.extend(facts.delivered_head.map(str::to_string));
    let mut head_moved = facts.pushes.is_none();
    // The first push after the comment: a force push records the head it replaced, which
    // is the head the comment saw.
    let first_later = facts
        .pushes
        .unwrap_or_default()
        .iter()
        .filter(|p| !before_comment(p, facts))
        .min_by_key(|p| (p.at, p.id));
    if let Some(push) = first_later.filter(|p| p.force && p.commit_ids.len() == 2) {
        at_comment.insert(push.commit_ids[0].clone());
    }
    for push in facts.pushes.unwrap_or_default() {
        let into = match before_comment(push, facts) {
            true => &mut at_comment,
            false => {
                head_moved = true;
                &mut later
            }
        };
        into.extend(push.commit_ids.iter().cloned());
    }
    let head = facts.current_head.to_ascii_lowercase();
    if head_moved && facts.delivered_head != Some(facts.current_head) {
        later.insert(head);
    } else {
        at_comment.insert(head);
    }
    (at_comment, later)
}

/// What a reply says of a push record that names no head.
const UNREADABLE: &str = "unreadable";

/// A commit id as a reply shows it.
fn short(sha: &str) -> String {
    sha.chars().take(10).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    const A: &str = "aaaaaaa1aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    const B: &str = "bbbbbbb2bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";
    const C: &str = "ccccccc3cccccccccccccccccccccccccccccccc";
    /// Shares A's first seven digits: a brute-forced look-alike.
    const A2: &str = "aaaaaaa1ffffffffffffffffffffffffffffffff";
    const COMMENT: u64 = 500;
    const T: OffsetDateTime = datetime!(2024-05-01 12:00:30 UTC);

    fn push(id: u64, seconds: i64, commits: &[&str]) -> PushRecord {
        PushRecord {
            id,
            at: T + time::Duration::seconds(seconds),
            commit_ids: commits.iter().map(|c| c.to_string()).collect(),
            force: false,
        }
    }

    fn force_push(id: u64, seconds: i64, old: &str, new: &str) -> PushRecord {
        PushRecord {
            force: true,
            ..push(id, seconds, &[old, new])
        }
    }

    fn test(sha: &str) -> Approval {
        Approval::Test(sha.to_string())
    }

    fn refused(why: Refusal) -> Approval {
        Approval::Refuse(why)
    }

    /// One row: pushes (None: unreadable), current head, delivered head, named, decision.
    type Row = (
        &'static str,
        Option<Vec<PushRecord>>,
        &'static str,
        Option<&'static str>,
        Option<&'static str>,
        Approval,
    );

    #[test]
    fn decides_which_commit_a_testme_approved() {
        let moved = |s: &str| refused(Refusal::HeadMoved { at: s.to_string() });
        let named = |s: &str| s.to_string();
        let rows: Vec<Row> = vec![
            ("untouched PR", Some(vec![]), A, None, None, test(A)),
            (
                "a push before the comment: the look-alike",
                Some(vec![push(400, -60, &[A])]),
                A,
                None,
                None,
                test(A),
            ),
            (
                "a push after the comment",
                Some(vec![push(400, -60, &[A]), push(501, 5, &[B])]),
                B,
                None,
                None,
                moved("2024-05-01T12:00:35Z"),
            ),
            (
                "a push in the same second, recorded after the comment",
                Some(vec![push(501, 0, &[B])]),
                B,
                None,
                None,
                moved("2024-05-01T12:00:30Z"),
            ),
            (
                "a push in the same second, recorded before the comment",
                Some(vec![push(499, 0, &[A])]),
                A,
                None,
                None,
                test(A),
            ),
            (
                "the head moved but its push is not recorded yet",
                Some(vec![push(400, -60, &[A])]),
                B,
                None,
                None,
                refused(Refusal::HeadUnproven {
                    head: short(B),
                    recorded: short(A),
                }),
            ),
            (
                "the last push's record names no head",
                Some(vec![push(400, -60, &[])]),
                A,
                None,
                None,
                refused(Refusal::HeadUnproven {
                    head: short(A),
                    recorded: UNREADABLE.into(),
                }),
            ),
            (
                "a delivery saw another head than the one read now",
                Some(vec![]),
                B,
                Some(A),
                None,
                refused(Refusal::HeadUnproven {
                    head: short(B),
                    recorded: short(A),
                }),
            ),
            (
                "no record, polled",
                None,
                A,
                None,
                None,
                refused(Refusal::NoRecord),
            ),
            (
                "no record, the delivery's head is still the head",
                None,
                A,
                Some(A),
                None,
                test(A),
            ),
            (
                "no record, the delivery's head moved",
                None,
                B,
                Some(A),
                None,
                refused(Refusal::NoRecord),
            ),
            (
                "named: the head, by prefix",
                Some(vec![]),
                A,
                None,
                Some("aaaaaaa1"),
                test(A),
            ),
            (
                "named: an earlier commit of a push before the comment",
                Some(vec![push(400, -60, &[C, A])]),
                A,
                None,
                Some("ccccccc"),
                test(C),
            ),
            (
                "named: the approved head although a push came after",
                Some(vec![push(400, -60, &[A]), push(501, 5, &[B])]),
                B,
                None,
                Some("aaaaaaa"),
                test(A),
            ),
            (
                "named: a prefix matching only a later push",
                Some(vec![push(400, -60, &[A]), push(501, 5, &[B])]),
                B,
                None,
                Some("bbbbbbb"),
                refused(Refusal::PushedAfter {
                    named: named("bbbbbbb"),
                }),
            ),
            (
                "named: a later look-alike of the approved prefix is never tested",
                Some(vec![push(400, -60, &[A]), push(501, 5, &[A2])]),
                A2,
                None,
                Some("aaaaaaa1"),
                test(A),
            ),
            (
                "named: a whole id pushed after the comment",
                Some(vec![push(400, -60, &[A]), push(501, 5, &[B])]),
                B,
                None,
                Some(B),
                test(B),
            ),
            (
                "named: the approved head, replaced by a force push after the comment",
                Some(vec![force_push(501, 5, A, B)]),
                B,
                None,
                Some("aaaaaaa1"),
                test(A),
            ),
            (
                "named: the head a second force push replaced is not the approved one",
                Some(vec![force_push(501, 5, A, C), force_push(502, 6, C, B)]),
                B,
                None,
                Some("ccccccc"),
                refused(Refusal::PushedAfter {
                    named: named("ccccccc"),
                }),
            ),
            (
                "named: a prefix of two commits",
                Some(vec![push(400, -60, &[A, A2])]),
                A2,
                None,
                Some("aaaaaaa"),
                refused(Refusal::Ambiguous {
                    named: named("aaaaaaa"),
                }),
            ),
            (
                "named: not a commit of the PR",
                Some(vec![push(400, -60, &[A])]),
                A,
                None,
                Some("ddddddd"),
                refused(Refusal::NotInPull {
                    named: named("ddddddd"),
                }),
            ),
            (
                "named: a whole id not of the PR",
                Some(vec![]),
                A,
                None,
                Some(C),
                refused(Refusal::NotInPull { named: named(C) }),
            ),
            (
                "named, no record: a whole id of the head",
                None,
                A,
                None,
                Some(A),
                test(A),
            ),
            (
                "named, no record: a prefix proves nothing",
                None,
                A,
                None,
                Some("aaaaaaa"),
                refused(Refusal::NoRecord),
            ),
            (
                "named, no record: a prefix of the delivered head",
                None,
                A,
                Some(A),
                Some("aaaaaaa"),
                test(A),
            ),
        ];
        for (what, pushes, head, delivered, named, want) in rows {
            let facts = ApprovalFacts {
                comment_id: COMMENT,
                comment_at: T,
                pushes: pushes.as_deref(),
                current_head: head,
                delivered_head: delivered,
                named,
            };
            assert_eq!(approved_commit(&facts), want, "{what}");
        }
    }

    #[test]
    fn reads_pushes_from_a_timeline() {
        let event = |id: u64, kind: &str, body: &str| TimelineComment {
            id,
            kind: kind.to_string(),
            body: body.to_string(),
            created_at: T,
        };
        let events = [
            event(1, "comment", "!testme"),
            event(
                2,
                PULL_PUSH,
                r#"{"is_force_push":false,"commit_ids":["C","A"]}"#,
            ),
            event(3, PULL_PUSH, "not json"),
        ];
        let pushes = PushRecord::from_timeline(&events);
        assert_eq!(pushes.len(), 2);
        assert_eq!(pushes[0].new_head(), Some("a"));
        assert_eq!(pushes[1].new_head(), None, "still a push, with no commits");
    }

    #[test]
    fn replies_name_the_way_forward() {
        let text = Refusal::HeadMoved { at: "t".into() }.to_string();
        assert!(text.contains("comment `!testme` again"), "{text}");
        assert!(Refusal::NoRecord.to_string().contains("--sha"));
    }
}
