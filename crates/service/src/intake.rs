//! Where runs come from: comments found by polling (the primary trigger) or delivered by the
//! webhook. Both go through [`handle_comment`], keyed on `(repo, comment id)` in the store,
//! so a comment seen by both, or seen again after a restart, triggers at most once.

use crate::app::{App, Forge};
use crate::config::RepoConfig;
use crate::job::{now_millis, JobFlags, NewJob};
use crate::reporter;
use crate::store::{Cancelled, Enqueued};
use ccci_forge::{decide, Comment, Decision, PollCursor, RepoCursor, RepoName};
use std::sync::Arc;
use time::OffsetDateTime;

/// The cursor row that remembers when polling first started (comments before it are history).
pub const START_KEY: &str = "(poll-start)";

/// Acts on one newly created PR comment. Errors are store errors: the caller must not move
/// its cursor past this comment.
pub async fn handle_comment(
    app: &App,
    forge: &Forge,
    repo: &RepoName,
    repo_config: &RepoConfig,
    pr: u64,
    head_sha: &str,
    comment: &Comment,
) -> anyhow::Result<()> {
    let repo_key = repo.full_name();
    let comment_id = comment.id as i64;
    if app
        .store
        .is_comment_processed(&repo_key, comment_id)
        .await?
    {
        return Ok(());
    }
    let author = comment.user.login.as_str();
    let permission = if forge.policy.needs_permission(author, &comment.body) {
        match forge.client.permission(repo, author).await {
            Ok(p) => Some(p),
            Err(e) => {
                // Unknown is untrusted (fail closed).
                tracing::warn!(%repo, author, "permission lookup failed: {e}");
                None
            }
        }
    } else {
        None
    };
    // "Already refused" is settled by the store's insert below: false here, and a refusal
    // is posted only when the insert was new.
    match decide(&forge.policy, author, &comment.body, permission, false) {
        Decision::Ignore(_) => {}
        Decision::Run(trigger) => {
            let job = NewJob {
                recipe: repo_config.recipe.clone(),
                repo: repo_key.clone(),
                pr_number: Some(pr as i64),
                head_sha: head_sha.to_string(),
                git_ref: Some(format!("refs/pull/{pr}/head")),
                clone_url: repo_config.clone_url.clone(),
                flags: JobFlags {
                    quick: trigger.quick,
                    extra: trigger.extra,
                    stages: trigger.stages,
                    keep_secs: trigger.keep.map(|k| k.as_secs()),
                },
                requested_by: Some(author.to_string()),
                trigger_comment_id: Some(comment_id),
            };
            match app.store.enqueue(&job, now_millis()).await? {
                Enqueued::AlreadyProcessed => {}
                Enqueued::Queued { id, superseded } => {
                    tracing::info!(run = id, %repo, pr, author, "queued");
                    app.metrics.superseded(superseded.len());
                    for old in &superseded {
                        reporter::requeued(app, old, &format!("superseded by run {id}")).await;
                    }
                    // Report first, then wake the scheduler: the comment reads "queued"
                    // before it can read "running".
                    reporter::queued(app, id).await;
                    app.wake.notify_one();
                }
            }
        }
        Decision::Cancel => {
            if app
                .store
                .mark_comment_processed(&repo_key, comment_id, now_millis())
                .await?
            {
                cancel_pr_runs(app, forge, repo, pr, author).await?;
            }
        }
        Decision::ReplyInvalid(error) => {
            if app
                .store
                .mark_comment_processed(&repo_key, comment_id, now_millis())
                .await?
            {
                let body = format!(
                    "cc-ci could not read that command: {}\n\n{}",
                    ccci_report::comment::md_text(&error.to_string()),
                    ccci_report::comment::rerun_help()
                );
                reporter::reply(forge, repo, pr, &body).await;
            }
        }
        Decision::Refuse => {
            let now = now_millis();
            if app
                .store
                .mark_comment_processed(&repo_key, comment_id, now)
                .await?
                && app.store.record_refusal(&repo_key, pr as i64, now).await?
            {
                tracing::info!(%repo, pr, author, "refused an untrusted !testme");
                let body = format!(
                    "Sorry @{}, only collaborators with write access (or people on cc-ci's allow-list) can start test runs. A maintainer can comment `!testme` instead.",
                    ccci_report::comment::md_text(author)
                );
                reporter::reply(forge, repo, pr, &body).await;
            }
        }
    }
    Ok(())
}

/// `!testme cancel` by `author`: every queued or running job of the PR is cancelled (a
/// queued one never runs; a running one is stopped by its host's next heartbeat and
/// reported when torn down). Nothing to cancel gets a short reply.
async fn cancel_pr_runs(
    app: &App,
    forge: &Forge,
    repo: &RepoName,
    pr: u64,
    author: &str,
) -> anyhow::Result<()> {
    let by = format!("@{author}");
    let jobs = app
        .store
        .active_jobs_of_pr(&repo.full_name(), pr as i64)
        .await?;
    let mut any = false;
    for job in jobs {
        any |= cancel_job(app, &job, &by).await? != Cancelled::NotActive;
    }
    if !any {
        let body = "cc-ci: nothing to cancel on this pull request (no run is queued or running).";
        reporter::reply(forge, repo, pr, body).await;
    }
    Ok(())
}

/// Cancels one job for `by` (`@login`, or "an operator"): reported at once when it had not
/// started; a running one is reported by its host when torn down.
pub async fn cancel_job(app: &App, job: &crate::job::Job, by: &str) -> anyhow::Result<Cancelled> {
    let done = app.store.cancel(job.id, by, now_millis()).await?;
    tracing::info!(run = job.id, by, ?done, "cancel");
    if done == Cancelled::BeforeStart {
        if let Ok(Some(now)) = app.store.job(job.id).await {
            reporter::cancelled(app, &now).await;
        }
        app.wake.notify_one();
    }
    Ok(done)
}

/// One poll of every watched repository. The cursor of a repository is persisted only after
/// each of its new comments was acted on durably.
pub async fn poll_once(app: &App) -> anyhow::Result<usize> {
    let Some(forge) = app.forge.as_ref() else {
        return Ok(0);
    };
    let now = now_millis();
    let start = match app.store.cursor(START_KEY).await? {
        Some(text) => text
            .parse::<i64>()
            .ok()
            .and_then(|s| OffsetDateTime::from_unix_timestamp(s).ok())
            .unwrap_or_else(OffsetDateTime::now_utc),
        None => {
            let start = OffsetDateTime::now_utc();
            app.store
                .set_cursor(START_KEY, &start.unix_timestamp().to_string(), now)
                .await?;
            start
        }
    };
    let mut cursor = PollCursor::default();
    for (name, _) in &forge.repos {
        let key = name.full_name();
        if let Some(text) = app.store.cursor(&key).await? {
            match serde_json::from_str::<RepoCursor>(&text) {
                Ok(c) => {
                    cursor.repos.insert(key, c);
                }
                Err(e) => {
                    tracing::warn!(repo = %key, "stored poll cursor unreadable, starting over: {e}")
                }
            }
        }
    }
    let repos: Vec<RepoName> = forge.repos.iter().map(|(n, _)| n.clone()).collect();
    let outcome = ccci_forge::poll_new_comments(&forge.client, &repos, &cursor, start).await;
    for error in &outcome.errors {
        tracing::warn!(repo = %error.repo, "poll failed: {}", error.error);
    }
    let mut handled = 0;
    for (name, repo_config) in &forge.repos {
        let key = name.full_name();
        let Some(next) = outcome.cursor.repos.get(&key) else {
            continue;
        };
        let mut ok = true;
        for polled in outcome.comments.iter().filter(|c| c.repo == *name) {
            if let Err(e) = handle_comment(
                app,
                forge,
                name,
                repo_config,
                polled.pr_number,
                &polled.head_sha,
                &polled.comment,
            )
            .await
            {
                tracing::warn!(repo = %key, comment = polled.comment.id, "comment not handled, will retry: {e:#}");
                ok = false;
                break;
            }
            handled += 1;
        }
        if ok && cursor.repos.get(&key) != Some(next) {
            let text = serde_json::to_string(next)?;
            app.store.set_cursor(&key, &text, now_millis()).await?;
        }
    }
    Ok(handled)
}

/// A `!testme` is bound to the PR head at comment time: when a newer push moves the head of
/// a PR whose job is still queued, the job is superseded (a new `!testme` tests the new
/// head). One PR lookup per queued PR job.
pub async fn supersede_moved_heads(app: &App) -> anyhow::Result<usize> {
    let Some(forge) = app.forge.as_ref() else {
        return Ok(0);
    };
    let queued = app
        .store
        .jobs(&crate::job::JobFilter {
            state: Some(crate::job::JobState::Queued),
            limit: Some(500),
            ..Default::default()
        })
        .await?;
    let mut superseded = 0;
    for job in queued {
        let (Some((repo, _)), Some(pr)) = (forge.repo(&job.repo), job.pr_number) else {
            continue;
        };
        let Ok(pull) = forge.client.get_pull(repo, pr as u64).await else {
            continue; // unknown: leave it queued
        };
        let reason = if !pull.is_open() {
            "the pull request was closed".to_string()
        } else if pull.head.sha != job.head_sha {
            format!(
                "the PR head moved to {}",
                pull.head.sha.get(..10).unwrap_or(&pull.head.sha)
            )
        } else {
            continue;
        };
        if app
            .store
            .supersede(job.id, &format!("superseded: {reason}"))
            .await?
        {
            tracing::info!(run = job.id, "superseded: {reason}");
            app.metrics.superseded(1);
            reporter::superseded(app, &job, &reason).await;
            superseded += 1;
        }
    }
    Ok(superseded)
}

/// Polls until `stop` fires.
pub async fn poll_loop(app: Arc<App>, stop: tokio_util::sync::CancellationToken) {
    let Some(forge) = app.forge.as_ref() else {
        return;
    };
    if !forge.config.poll {
        return;
    }
    let interval = forge.config.poll_interval;
    loop {
        // A poll is bounded by the client's per-request timeout times its requests; stop
        // abandons it at once (the cursor is only written after durable handling).
        tokio::select! {
            _ = stop.cancelled() => return,
            result = async { (poll_once(&app).await, supersede_moved_heads(&app).await) } => {
                if let Err(e) = result.0 {
                    tracing::warn!("poll failed: {e:#}");
                }
                if let Err(e) = result.1 {
                    tracing::warn!("head check failed: {e:#}");
                }
            }
        }
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tokio::time::sleep(interval) => {}
        }
    }
}
