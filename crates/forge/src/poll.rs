//! Polling the forge for new PR comments, each returned once across restarts.
//!
//! # The cursor contract
//!
//! [`poll_new_comments`] takes the cursor the caller last persisted and returns the new
//! comments together with the cursor that covers them. It never stores anything itself.
//! The caller must:
//!
//! 1. act on the returned comments (queue the runs, post refusals) durably, **then**
//! 2. persist the returned cursor, and pass it to the next poll.
//!
//! A crash after 1 and before 2 makes the next poll return the same comments again, so the
//! caller makes step 1 idempotent by keying its work on `(repo, comment id)` — or does 1 and 2
//! in one database transaction. With either, a restart neither misses nor repeats a comment:
//! nothing is lost because the cursor only moves past comments once they are acted on, and
//! nothing repeats because a persisted cursor remembers them.
//!
//! # How the cursor is exact
//!
//! Gitea's `GET /repos/{o}/{r}/issues/comments?since=T` returns comments *updated* at or after
//! `T`, oldest *created* first, and ids need not be in creation order across concurrent
//! writers. So a cursor of "last id" alone can lose a comment committed late with a smaller
//! id. Instead each repository keeps a `floor` (comments created before it are old) and the
//! ids of the comments at or above the floor that were already handled. The floor trails the
//! newest comment seen by [`SLACK`], so a comment that commits late but within the slack is
//! still above it; the ids make the overlap harmless. Edited old comments come back from the
//! query (their update time moved) but were created below the floor or are already in the id
//! set: only newly created comments count.

use crate::api::{Comment, PullRequest, RepoName};
use crate::client::{ForgeError, GiteaClient, MAX_PAGES, PAGE_LIMIT};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use time::OffsetDateTime;

/// How far behind the newest comment seen the floor stays: longer than any forge write
/// takes to commit after taking its timestamp, and than the clock skew between forge nodes.
pub const SLACK: time::Duration = time::Duration::minutes(5);

/// Per repository (`owner/name`), where polling stands. Serializable: persist it as JSON.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PollCursor {
    pub repos: BTreeMap<String, RepoCursor>,
}

/// Where polling of one repository stands.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RepoCursor {
    /// Comments created before this are never new.
    #[serde(with = "time::serde::rfc3339")]
    pub floor: OffsetDateTime,
    /// Comments created at or after `floor` that were already returned or passed over
    /// (not on a pull request, or on a closed one), by id, with their creation time so they
    /// can be forgotten once the floor passes them.
    pub handled: BTreeMap<u64, i64>,
    /// The highest comment id handled so far (for people reading the cursor).
    pub last_comment_id: u64,
}

impl RepoCursor {
    /// A repository polled for the first time: comments created from `start` on are new.
    pub fn starting_at(start: OffsetDateTime) -> RepoCursor {
        RepoCursor {
            floor: start,
            handled: BTreeMap::new(),
            last_comment_id: 0,
        }
    }
}

/// A newly created comment on an open pull request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PolledComment {
    pub repo: RepoName,
    pub pr_number: u64,
    /// The PR head when the comment was polled. Which commit a `!testme` approved is
    /// decided later, from a fresh head read and the push record ([`crate::approval`]).
    pub head_sha: String,
    pub comment: Comment,
}

/// One repository that could not be polled this time. Its cursor entry is unchanged, so
/// its comments come with a later poll.
#[derive(Debug)]
pub struct RepoPollError {
    pub repo: RepoName,
    pub error: ForgeError,
}

#[derive(Debug)]
pub struct PollOutcome {
    /// New comments, per repository in creation order.
    pub comments: Vec<PolledComment>,
    /// The cursor to persist once `comments` are acted on.
    pub cursor: PollCursor,
    pub errors: Vec<RepoPollError>,
}

/// Returns the comments created on open PRs of `repos` since `cursor`, and the cursor after
/// them (see the module docs for the contract). `start` is where a repository without a
/// cursor entry begins: the caller passes the time it first started polling (persisted with
/// the cursor), so a fresh install does not replay a repository's history.
///
/// Requests: one comment page per repository when nothing happened, plus one PR lookup per
/// PR that got new comments. Every request is bounded by the client's timeout.
pub async fn poll_new_comments(
    client: &GiteaClient,
    repos: &[RepoName],
    cursor: &PollCursor,
    start: OffsetDateTime,
) -> PollOutcome {
    let mut outcome = PollOutcome {
        comments: Vec::new(),
        cursor: cursor.clone(),
        errors: Vec::new(),
    };
    for repo in repos {
        let key = repo.full_name();
        let previous = cursor
            .repos
            .get(&key)
            .cloned()
            .unwrap_or_else(|| RepoCursor::starting_at(start));
        match poll_repo(client, repo, &previous).await {
            Ok((comments, next)) => {
                outcome.comments.extend(comments);
                outcome.cursor.repos.insert(key, next);
            }
            Err(error) => outcome.errors.push(RepoPollError {
                repo: repo.clone(),
                error,
            }),
        }
    }
    outcome
}

async fn poll_repo(
    client: &GiteaClient,
    repo: &RepoName,
    previous: &RepoCursor,
) -> Result<(Vec<PolledComment>, RepoCursor), ForgeError> {
    let mut pages = Vec::new();
    for page in 1..=MAX_PAGES {
        let batch = client
            .list_repo_comments(repo, Some(previous.floor), page, PAGE_LIMIT)
            .await?;
        let short = batch.len() < PAGE_LIMIT as usize;
        pages.push(batch);
        if short {
            break;
        }
    }
    let step = advance(previous, &pages);

    // PR state is looked up after the comments were listed, so a PR opened just before its
    // comment is seen as open.
    let mut pulls: HashMap<u64, Option<PullRequest>> = HashMap::new();
    let mut found = Vec::new();
    for comment in step.new_comments {
        let Some(number) = comment.issue_number().filter(|_| comment.is_on_pull()) else {
            continue;
        };
        let pull = match pulls.get(&number) {
            Some(known) => known.clone(),
            None => {
                let looked_up = match client.get_pull(repo, number).await {
                    Ok(pull) => Some(pull),
                    Err(e) if e.status() == Some(404) => None,
                    Err(e) => return Err(e),
                };
                pulls.insert(number, looked_up.clone());
                looked_up
            }
        };
        if let Some(pull) = pull.filter(PullRequest::is_open) {
            found.push(PolledComment {
                repo: repo.clone(),
                pr_number: number,
                head_sha: pull.head.sha,
                comment,
            });
        }
    }
    Ok((found, step.cursor))
}

/// One poll's decision, pure: which fetched comments are new, and the next cursor.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Step {
    pub new_comments: Vec<Comment>,
    pub cursor: RepoCursor,
}

/// `pages` are the pages the comment listing returned, in order.
pub(crate) fn advance(previous: &RepoCursor, pages: &[Vec<Comment>]) -> Step {
    let mut cursor = previous.clone();
    let mut new_comments = Vec::new();
    for comment in pages.iter().flatten() {
        if comment.created_at < previous.floor || previous.handled.contains_key(&comment.id) {
            continue; // old, or handled before (edited since, or in the overlap)
        }
        if cursor
            .handled
            .insert(comment.id, comment.created_at.unix_timestamp())
            .is_none()
        {
            new_comments.push(comment.clone());
            cursor.last_comment_id = cursor.last_comment_id.max(comment.id);
        }
    }

    // Raise the floor to SLACK below the newest comment seen. When the listing took more
    // than one page, a comment deleted meanwhile may have shifted one comment across a page
    // boundary unseen; all such comments were created after the last of the first page, so
    // the floor stays at or below it and the next poll reads them.
    let newest = pages.iter().flatten().map(|c| c.created_at).max();
    if let Some(newest) = newest {
        let mut target = newest - SLACK;
        if pages.len() > 1 {
            if let Some(last_of_first) = pages[0].last() {
                target = target.min(last_of_first.created_at);
            }
        }
        if target > cursor.floor {
            cursor.floor = target;
        }
    }
    let floor = cursor.floor.unix_timestamp();
    cursor.handled.retain(|_, created| *created >= floor);
    Step {
        new_comments,
        cursor,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::User;
    use time::macros::datetime;

    fn comment(id: u64, created: OffsetDateTime, updated: OffsetDateTime) -> Comment {
        Comment {
            id,
            body: "!testme".into(),
            user: User {
                id: 1,
                login: "alice".into(),
            },
            created_at: created,
            updated_at: updated,
            html_url: String::new(),
            issue_url: String::new(),
            pull_request_url: "https://git.example/o/r/pulls/1".into(),
        }
    }

    fn ids(step: &Step) -> Vec<u64> {
        step.new_comments.iter().map(|c| c.id).collect()
    }

    const T0: OffsetDateTime = datetime!(2024-05-01 12:00 UTC);

    #[test]
    fn first_poll_skips_history_before_start() {
        let start = RepoCursor::starting_at(T0);
        let old = comment(
            1,
            T0 - time::Duration::hours(1),
            T0 + time::Duration::minutes(1),
        );
        let new = comment(
            2,
            T0 + time::Duration::seconds(5),
            T0 + time::Duration::seconds(5),
        );
        let pages = vec![vec![old, new]];
        let step = advance(&start, &pages);
        assert_eq!(ids(&step), vec![2]);
        assert_eq!(step.cursor.floor, T0, "floor never falls below start");
        assert_eq!(step.cursor.last_comment_id, 2);
    }

    #[test]
    fn the_overlap_repeats_nothing_and_a_late_commit_is_not_lost() {
        let t = |s: i64| T0 + time::Duration::seconds(s);
        let first = vec![vec![comment(10, t(90), t(90)), comment(12, t(200), t(200))]];
        let step1 = advance(&RepoCursor::starting_at(T0), &first);
        assert_eq!(ids(&step1), vec![10, 12]);
        // Comment 11 took its timestamp before 12 but committed after the first poll.
        let second = vec![vec![
            comment(10, t(90), t(90)),
            comment(11, t(150), t(150)),
            comment(12, t(200), t(200)),
            comment(13, t(400), t(400)),
        ]];
        let step2 = advance(&step1.cursor, &second);
        assert_eq!(ids(&step2), vec![11, 13]);
        assert_eq!(step2.cursor.floor, t(400) - SLACK);
        // Ids below the floor are forgotten; the floor alone keeps them out now.
        assert!(step2.cursor.handled.keys().all(|id| *id >= 11));
    }

    #[test]
    fn an_edited_old_comment_does_not_count_again() {
        let t = |s: i64| T0 + time::Duration::seconds(s);
        let step1 = advance(
            &RepoCursor::starting_at(T0),
            &[vec![comment(5, t(10), t(10))]],
        );
        // Edited one minute later (still above the floor) and again much later (below it).
        let step2 = advance(&step1.cursor, &[vec![comment(5, t(10), t(70))]]);
        assert!(ids(&step2).is_empty());
        let late = advance(
            &RepoCursor {
                floor: t(3600),
                ..step2.cursor.clone()
            },
            &[vec![comment(5, t(10), t(4000))]],
        );
        assert!(ids(&late).is_empty());
    }

    #[test]
    fn a_multi_page_listing_keeps_the_floor_within_the_first_page() {
        let t = |s: i64| T0 + time::Duration::seconds(s);
        let page1: Vec<_> = (0..3)
            .map(|i| comment(i, t(i as i64), t(i as i64)))
            .collect();
        let page2 = vec![comment(100, t(3600), t(3600))];
        let step = advance(&RepoCursor::starting_at(T0), &[page1, page2]);
        assert_eq!(step.new_comments.len(), 4);
        assert_eq!(step.cursor.floor, t(2));
    }
}
