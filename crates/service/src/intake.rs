//! Where runs come from: comments found by polling (the primary trigger) or delivered by the
//! webhook. Both go through [`handle_comment`], keyed on `(repo, comment id)` in the store,
//! so a comment seen by both, or seen again after a restart, triggers at most once.
//!
//! Both decide which commit a `!testme` approved the same way ([`approved_commit`]): the PR
//! head is read, then (after [`PUSH_RECORD_SETTLE`]) the forge's record of pushes, and the
//! pure rule in `ccci_forge::approval` says which commit to test or why nothing runs. The
//! webhook adds one fact the poller lacks, the head its signed delivery carried.

use crate::app::{App, Forge};
use crate::config::RepoConfig;
use crate::job::{now_millis, JobFlags, JobRequest, NewJob};
use crate::reporter;
use crate::store::{Cancelled, Enqueued};
use ccci_forge::{
    approved_commit, decide, Approval, ApprovalFacts, Comment, Decision, ForgeError, PollCursor,
    Refusal, RepoCursor, RepoName, Trigger,
};
use std::sync::Arc;
use std::time::Duration;
use time::OffsetDateTime;

/// The cursor row that remembers when polling first started (comments before it are history).
pub const START_KEY: &str = "(poll-start)";

/// How long after reading the PR head cc-ci waits before reading the push record: Gitea
/// moves the head ref first and writes the push's timeline event from a queue a moment
/// later, so a push just before the head read is recorded by the time the record is read.
pub const PUSH_RECORD_SETTLE: Duration = Duration::from_secs(1);

/// Acts on one newly created PR comment. `delivered_head` is the PR head a signed webhook
/// delivery carried (`None` when polled). Errors are store errors or forge errors that may
/// pass: the caller must not move its cursor past this comment.
pub async fn handle_comment(
    app: &App,
    forge: &Forge,
    repo: &RepoName,
    repo_config: &RepoConfig,
    pr: u64,
    delivered_head: Option<&str>,
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
            let approved = match approve(forge, repo, pr, comment, &trigger, delivered_head).await?
            {
                Some(Approval::Test(sha)) => sha,
                Some(Approval::Refuse(why)) => {
                    return refuse_unapproved(app, forge, repo, pr, comment_id, &why).await;
                }
                None => return Ok(()), // the PR was closed meanwhile
            };
            let request = JobRequest {
                recipe: repo_config.recipe.clone(),
                repo: repo_key.clone(),
                pr_number: Some(pr as i64),
                head_sha: approved,
                git_ref: Some(format!("refs/pull/{pr}/head")),
                clone_url: repo_config.clone_url.clone(),
                flags: JobFlags {
                    quick: trigger.quick,
                    extra: trigger.extra,
                    stages: trigger.stages,
                    keep_secs: trigger.keep.map(|k| k.as_secs()),
                    pinned: trigger.sha.is_some(),
                },
                requested_by: Some(author.to_string()),
            };
            let job = NewJob {
                request,
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

/// Reads what [`approved_commit`] decides on: the PR head first, then, after
/// [`PUSH_RECORD_SETTLE`], the push record (so a push between the two reads shows in the
/// record). `None` when the PR is gone or closed.
async fn approve(
    forge: &Forge,
    repo: &RepoName,
    pr: u64,
    comment: &Comment,
    trigger: &Trigger,
    delivered_head: Option<&str>,
) -> Result<Option<Approval>, ForgeError> {
    let pull = match forge.client.get_pull(repo, pr).await {
        Ok(pull) if pull.is_open() => pull,
        Ok(_) => return Ok(None),
        Err(e) if e.status() == Some(404) => return Ok(None),
        Err(e) => return Err(e),
    };
    tokio::time::sleep(PUSH_RECORD_SETTLE).await;
    let pushes = forge.client.pull_pushes(repo, pr).await?;
    if pushes.is_none() {
        tracing::warn!(%repo, pr, "the PR's push record (timeline) is not readable");
    }
    let delivered_head = delivered_head.map(str::to_ascii_lowercase);
    let current_head = pull.head.sha.to_ascii_lowercase();
    Ok(Some(approved_commit(&ApprovalFacts {
        comment_id: comment.id,
        comment_at: comment.created_at,
        pushes: pushes.as_deref(),
        current_head: &current_head,
        delivered_head: delivered_head.as_deref(),
        named: trigger.sha.as_deref(),
    })))
}

/// A trusted `!testme` whose commit cc-ci cannot prove approved: nothing runs, and the PR
/// is told why and what to do (once: the comment is marked processed first).
async fn refuse_unapproved(
    app: &App,
    forge: &Forge,
    repo: &RepoName,
    pr: u64,
    comment_id: i64,
    why: &Refusal,
) -> anyhow::Result<()> {
    let repo_key = repo.full_name();
    if app
        .store
        .mark_comment_processed(&repo_key, comment_id, now_millis())
        .await?
    {
        tracing::info!(%repo, pr, comment = comment_id, "!testme not run: {why}");
        reporter::reply(forge, repo, pr, &format!("cc-ci: {why}")).await;
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

/// One poll of the watched repositories in `due` (`owner/name`). The cursor of a
/// repository is persisted only after each of its new comments was acted on durably.
/// Each `!testme` found is reported to [`crate::triggers`] (was it delivered too?).
pub async fn poll_once(app: &App, due: &[String]) -> anyhow::Result<usize> {
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
    let repos: Vec<RepoName> = forge
        .repos
        .iter()
        .map(|(n, _)| n.clone())
        .filter(|n| due.contains(&n.full_name()))
        .collect();
    let outcome = ccci_forge::poll_new_comments(&forge.client, &repos, &cursor, start).await;
    for polled in &outcome.comments {
        if ccci_forge::parse_command(&polled.comment.body).is_ok_and(|c| c.is_some()) {
            let created = polled.comment.created_at.unix_timestamp() * 1000;
            let repo = polled.repo.full_name();
            app.triggers.polled(&repo, polled.comment.id, created);
        }
    }
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
                None,
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
/// head). A job whose comment named its commit (`--sha`) is not: that commit stays what was
/// approved. One PR lookup per queued PR job.
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
        let (Some((repo, _)), Some(pr)) = (forge.repo(&job.request.repo), job.request.pr_number)
        else {
            continue;
        };
        let Ok(pull) = forge.client.get_pull(repo, pr as u64).await else {
            continue; // unknown: leave it queued
        };
        let reason = if !pull.is_open() {
            "the pull request was closed".to_string()
        } else if !job.request.flags.pinned
            && !pull.head.sha.eq_ignore_ascii_case(&job.request.head_sha)
        {
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
    let mut last_polled = std::collections::BTreeMap::new();
    loop {
        let due = due_now(&app, forge, &last_polled);
        // A poll is bounded by the client's per-request timeout times its requests; stop
        // abandons it at once (the cursor is only written after durable handling).
        tokio::select! {
            _ = stop.cancelled() => return,
            result = async { (poll_once(&app, &due).await, supersede_moved_heads(&app).await) } => {
                if let Err(e) = result.0 {
                    tracing::warn!("poll failed: {e:#}");
                }
                if let Err(e) = result.1 {
                    tracing::warn!("head check failed: {e:#}");
                }
            }
        }
        let now = now_millis();
        last_polled.extend(due.into_iter().map(|repo| (repo, now)));
        notice_broken_hooks(&app).await;
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tokio::time::sleep(interval) => {}
        }
    }
}

/// The repositories this poll tick polls: those on a webhook that has delivered only every
/// `webhook_poll_interval`, the others every tick.
fn due_now(
    app: &App,
    forge: &Forge,
    last_polled: &std::collections::BTreeMap<String, crate::job::Millis>,
) -> Vec<String> {
    let names: Vec<String> = forge.repos.iter().map(|(n, _)| n.full_name()).collect();
    let modes: Vec<Option<crate::triggers::Mode>> =
        names.iter().map(|n| app.triggers.pacing_mode(n)).collect();
    let repos = names
        .iter()
        .map(String::as_str)
        .zip(modes.iter().map(Option::as_ref));
    let interval = forge.config.webhook_poll_interval;
    crate::triggers::due_repos(repos, last_polled, now_millis(), interval)
}

/// Marks broken each hook that left a `!testme` undelivered past the grace, and forgets
/// it so the next registration pass replaces it.
async fn notice_broken_hooks(app: &App) {
    let Some(hook) = app.config.webhook.as_ref() else {
        return;
    };
    for repo in app.triggers.overdue(now_millis(), hook.delivery_grace) {
        crate::hooks::forget(app, &repo).await;
    }
}
