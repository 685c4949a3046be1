//! Reporting back to the forge: the commit status and the one sticky PR comment, edited
//! through queued → running → result. Reporting is best effort: a forge error is logged and
//! never changes or blocks a run.
//!
//! Only a full cold run sets the gating status (docs/behaviour.md §6): a `--quick` job reports
//! under its own status context, `<status_context>/quick`, and a run limited with `--stages` under
//! `<status_context>/stages` ([`status_context`]), so a branch protection rule that requires
//! the main context is neither satisfied nor failed by one (a `--stages lint` GREEN can
//! never overwrite a full run's RED), and their comments say so ([`lane_note`]).

use crate::app::{App, Forge};
use crate::job::{Job, JobFilter, JobFlags, JobId};
use ccci_core::ladder::Verdict;
use ccci_core::results::RunResults;
use ccci_core::run_end::RunEnd;
use ccci_forge::{StatusState, StatusUpdate};
use ccci_report::comment::{self, Progress};

fn forge_of<'a>(app: &'a App, job: &Job) -> Option<(&'a Forge, ccci_forge::RepoName, u64)> {
    let forge = app.forge.as_ref()?;
    let (repo, _) = forge.repo(&job.request.repo)?;
    let pr = u64::try_from(job.request.pr_number?).ok()?;
    Some((forge, repo.clone(), pr))
}

async fn set_status(app: &App, job: &Job, state: StatusState, description: &str) {
    let Some((forge, repo, _)) = forge_of(app, job) else {
        return;
    };
    let update = StatusUpdate {
        state,
        context: status_context(&forge.config.status_context, &job.request.flags),
        description: description.chars().take(140).collect(),
        target_url: app.run_url(job.id),
    };
    if let Err(e) = forge
        .client
        .set_status(&repo, &job.request.head_sha, &update)
        .await
    {
        tracing::warn!(run = job.id, "commit status not set: {e}");
    }
}

/// The commit status context a job reports under: the configured (gating) one only for a
/// full cold run; `<context>/quick` for a quick run, `<context>/stages` for a run limited
/// with `--stages` (neither gates a merge).
pub fn status_context(context: &str, flags: &JobFlags) -> String {
    match lane_suffix(flags) {
        Some(suffix) => format!("{context}/{suffix}"),
        None => context.to_string(),
    }
}

/// The context suffix of a job that does not gate: `quick` or `stages`.
fn lane_suffix(flags: &JobFlags) -> Option<&'static str> {
    if flags.quick {
        Some("quick")
    } else if flags.stages.is_some() {
        Some("stages")
    } else {
        None
    }
}

/// The line the comments of a job that does not gate carry: which context it reports
/// under, and that a plain `!testme` runs the one that gates. `None` for a full cold run.
pub fn lane_note(context: &str, flags: &JobFlags) -> Option<String> {
    let what = match lane_suffix(flags)? {
        "quick" => "Quick run (`--quick`)".to_string(),
        _ => format!("Partial run (`{}`)", flags.describe()),
    };
    Some(format!(
        "{what}: reported under the commit status `{}`, which does not gate the merge; a plain `!testme` runs the full cold run that does.",
        status_context(context, flags)
    ))
}

/// Appends [`lane_note`] to the comment body of a job that does not gate.
fn with_lane_note(app: &App, job: &Job, body: String) -> String {
    let note = app
        .forge
        .as_ref()
        .and_then(|forge| lane_note(&forge.config.status_context, &job.request.flags));
    match note {
        Some(note) => format!("{body}\n> {note}\n"),
        None => body,
    }
}

/// A job's `comment_id` while one host posts its sticky comment (real ids are positive).
const POSTING: i64 = 0;

/// How long a writer waits for another host to finish posting the sticky comment.
const POSTING_WAIT: std::time::Duration = std::time::Duration::from_secs(15);

/// Writes `body` into the PR's sticky comment: the one this job already has, else the one
/// an earlier run on the same PR used, else a new comment.
///
/// Exactly one comment per job, across hosts: the intake of one host ("queued") and the
/// scheduler of another ("running") may write at the same moment, and the in-process mutex
/// does not span hosts. So who posts is settled in the store by compare-and-set of the
/// job's `comment_id` (`NULL` → [`POSTING`] → the id); the others wait for the id (up to
/// [`POSTING_WAIT`]: a host that died while posting is then taken over) and edit.
async fn write_sticky(app: &App, job: &Job, body: &str) {
    let Some((forge, repo, pr)) = forge_of(app, job) else {
        return;
    };
    let give_up = tokio::time::Instant::now() + POSTING_WAIT;
    loop {
        // The stored id is the truth: another task or host may have posted since `job`
        // was read.
        let current = match app.store.job(job.id).await {
            Ok(Some(current)) => current.comment_id,
            _ => job.comment_id,
        };
        match current {
            Some(POSTING) if tokio::time::Instant::now() < give_up => {
                tokio::time::sleep(std::time::Duration::from_millis(200)).await;
            }
            Some(POSTING) => {
                tracing::warn!(
                    run = job.id,
                    "another host began the sticky comment but never finished: taking over"
                );
                if let Ok(true) = app.store.swap_comment_id(job.id, Some(POSTING), None).await {
                    continue;
                }
            }
            Some(id) => {
                edit_or_post(app, forge, &repo, pr, job, id, body).await;
                return;
            }
            None => {
                let earlier = app
                    .store
                    .jobs(&JobFilter {
                        repo: Some(job.request.repo.clone()),
                        pr_number: job.request.pr_number,
                        limit: Some(50),
                        ..JobFilter::default()
                    })
                    .await
                    .unwrap_or_default()
                    .iter()
                    .find_map(|j| j.comment_id.filter(|&id| id > POSTING));
                let claim = earlier.unwrap_or(POSTING);
                match app.store.swap_comment_id(job.id, None, Some(claim)).await {
                    Ok(true) if claim == POSTING => {
                        post_sticky(app, forge, &repo, pr, job, body).await;
                        return;
                    }
                    Ok(true) => {
                        edit_or_post(app, forge, &repo, pr, job, claim, body).await;
                        return;
                    }
                    Ok(false) => {} // someone else claimed it: read again
                    Err(e) => {
                        tracing::warn!(run = job.id, "sticky comment not written: {e}");
                        return;
                    }
                }
            }
        }
    }
}

/// Edits comment `id`; if someone deleted it, posts a new one.
async fn edit_or_post(
    app: &App,
    forge: &Forge,
    repo: &ccci_forge::RepoName,
    pr: u64,
    job: &Job,
    id: i64,
    body: &str,
) {
    let Ok(comment) = u64::try_from(id) else {
        return;
    };
    match forge.client.edit_comment(repo, comment, body).await {
        Ok(_) => {}
        Err(e) if e.status() == Some(404) => {
            // Deleted by someone: claim the job's comment afresh and post a new one.
            if let Ok(true) = app
                .store
                .swap_comment_id(job.id, Some(id), Some(POSTING))
                .await
            {
                post_sticky(app, forge, repo, pr, job, body).await;
            }
        }
        Err(e) => tracing::warn!(run = job.id, "sticky comment not edited: {e}"),
    }
}

/// Posts the sticky comment; the caller holds the claim ([`POSTING`]). On failure the claim
/// is given back, so the next write tries again.
async fn post_sticky(
    app: &App,
    forge: &Forge,
    repo: &ccci_forge::RepoName,
    pr: u64,
    job: &Job,
    body: &str,
) {
    let posted = match forge.client.post_comment(repo, pr, body).await {
        Ok(c) => Some(c.id as i64),
        Err(e) => {
            tracing::warn!(run = job.id, "sticky comment not posted: {e}");
            None
        }
    };
    if let Err(e) = app
        .store
        .swap_comment_id(job.id, Some(POSTING), posted)
        .await
    {
        tracing::warn!(run = job.id, "comment id not stored: {e}");
    }
}

/// How long "running" waits for the job's "queued" comment to be written first.
const QUEUED_WAIT: std::time::Duration = std::time::Duration::from_secs(5);

/// Phases of a job's reports, in order.
const QUEUED: u8 = 0;
const RUNNING: u8 = 1;
const FINAL: u8 = 2;

/// Reports one phase: the status, then the sticky comment, under the report lock, and only
/// if no later phase of the job was reported already (reports never go backwards).
/// `restart` (a re-queue) starts the job's phases afresh.
async fn report(
    app: &App,
    job: &Job,
    phase: u8,
    restart: bool,
    status: (StatusState, &str),
    body: Option<&str>,
) {
    let mut reported = app.sticky.lock().await;
    let furthest = reported.entry(job.id).or_insert(QUEUED);
    if restart {
        *furthest = phase;
    } else if phase < *furthest {
        return;
    }
    *furthest = phase;
    set_status(app, job, status.0, status.1).await;
    if let Some(body) = body {
        write_sticky(app, job, body).await;
    }
}

/// A job was queued: pending status, and the comment says what it waits behind.
pub async fn queued(app: &App, id: JobId) {
    let Ok(Some(job)) = app.store.job(id).await else {
        return;
    };
    let view = app
        .store
        .queue(crate::job::now_millis())
        .await
        .unwrap_or_default();
    let reason = view.wait_reason(id);
    let behind = match &reason {
        Some(crate::policy::WaitReason::BehindRun { run, recipe }) => {
            Some(format!("{run} ({recipe})"))
        }
        _ => None,
    };
    let description = reason.map_or_else(|| "queued".to_string(), |r| r.to_string());
    let body = comment::progress_markdown(
        &job.request.recipe,
        &job.id.to_string(),
        Some(&app.run_url(job.id)),
        &Progress::Queued { behind },
    );
    let body = with_lane_note(app, &job, body);
    report(
        app,
        &job,
        QUEUED,
        false,
        (StatusState::Pending, &description),
        Some(&body),
    )
    .await;
}

pub async fn running(app: &App, job: &Job) {
    // The intake (of this host or another) writes "queued" right after storing the job; a
    // quick claim must not overtake it, or "queued" would be dropped as stale and the
    // comment would start at "running". Wait briefly for the comment to exist.
    if forge_of(app, job).is_some() {
        let until = tokio::time::Instant::now() + QUEUED_WAIT;
        while tokio::time::Instant::now() < until {
            match app.store.job(job.id).await {
                Ok(Some(j)) if j.comment_id.is_some_and(|c| c > POSTING) => break,
                _ => tokio::time::sleep(std::time::Duration::from_millis(100)).await,
            }
        }
    }
    let description = format!("running on {}", app.config.host_id);
    let body = comment::progress_markdown(
        &job.request.recipe,
        &job.id.to_string(),
        Some(&app.run_url(job.id)),
        &Progress::Running { rung: None },
    );
    let body = with_lane_note(app, job, body);
    report(
        app,
        job,
        RUNNING,
        false,
        (StatusState::Pending, &description),
        Some(&body),
    )
    .await;
}

/// The run ended. With results: the full comment with card and table; without (the runner
/// failed before it could produce any): a short note. A cancelled run and cc-ci's own error
/// are not verdicts: they get their own short comment and a status that is not `failure`.
pub async fn finished(app: &App, job: &Job, results: Option<&RunResults>, note: Option<&str>) {
    let end = results.map_or_else(|| job.end.unwrap_or(RunEnd::RED), |r| r.end);
    match end {
        RunEnd::Cancelled => return cancelled(app, job).await,
        RunEnd::Error => return ccci_error(app, job, results, note).await,
        RunEnd::Judged(_) => {}
    }
    let state = status_of(end);
    let description = match results {
        Some(r) => format!("{} — level L{} of L{}", r.end, r.level, r.expected_level),
        None => format!("red — {}", note.unwrap_or("the run produced no results")),
    };
    let body = match results {
        Some(r) => {
            let card = app.run_dir(job.id).join(ccci_report::artefacts::CARD_PNG);
            let card_url = card.exists().then(|| app.card_url(job.id));
            format!(
                "{}\n[Run {} on the dashboard]({})\n\n{}",
                comment::markdown(r, card_url.as_deref()),
                job.id,
                app.run_url(job.id),
                comment::rerun_help()
            )
        }
        None => format!(
            "{}\n### cc-ci: {} — ❌ red\n\nRun {} ended without results: {}\n\n[Run page]({})\n\n{}",
            comment::STICKY_MARKER,
            comment::md_code(&job.request.recipe),
            job.id,
            comment::md_text(note.unwrap_or("unknown error")),
            app.run_url(job.id),
            comment::rerun_help()
        ),
    };
    let body = with_lane_note(app, job, body);
    report(app, job, FINAL, false, (state, &description), Some(&body)).await;
}

/// The commit status of how a run ended. Cancelled is `warning` (neutral, as Woodpecker
/// reports a killed pipeline: not a failure, yet not a pass that could satisfy a required
/// check); cc-ci's own error is `error`.
pub fn status_of(end: RunEnd) -> StatusState {
    match end {
        RunEnd::Judged(Verdict::Green) => StatusState::Success,
        RunEnd::Judged(Verdict::Red) => StatusState::Failure,
        RunEnd::Cancelled => StatusState::Warning,
        RunEnd::Error => StatusState::Error,
    }
}

/// Who cancelled the job, as people read it: `@login`, or "an operator".
fn cancelled_by(job: &Job) -> String {
    job.cancel_requested_by
        .as_deref()
        .map_or_else(|| "someone".to_string(), comment::md_text)
}

/// A run (or a queued job) was cancelled: no verdict on the recipe.
pub async fn cancelled(app: &App, job: &Job) {
    let by = cancelled_by(job);
    let description = format!("cancelled by {by} — no verdict");
    let what = if job.started_at.is_some() {
        "was cancelled and torn down"
    } else {
        "was cancelled before it started"
    };
    let text = format!(
        "Run {} {what}: cancelled by {by}. No verdict on the recipe.",
        job.id
    );
    no_verdict(
        app,
        job,
        "⏹️ cancelled",
        &text,
        (StatusState::Warning, &description),
    )
    .await;
}

/// cc-ci itself failed the run (after its retry): `error`, and a comment that says so,
/// with the evidence.
async fn ccci_error(app: &App, job: &Job, results: Option<&RunResults>, note: Option<&str>) {
    let evidence = results
        .and_then(|r| r.failure.as_ref())
        .map(|f| f.message.as_str())
        .or(note)
        .unwrap_or("no detail");
    let description = "cc-ci error (not the recipe) — no verdict".to_string();
    let text = format!(
        "Run {} did not reach a verdict: **cc-ci failed, not the recipe** (retried once). Evidence: {}\n\nAn operator has been alerted.",
        job.id,
        comment::md_code(evidence)
    );
    no_verdict(
        app,
        job,
        "⚠️ cc-ci error",
        &text,
        (StatusState::Error, &description),
    )
    .await;
}

/// The final status and sticky comment of a run that ended without a verdict.
async fn no_verdict(app: &App, job: &Job, heading: &str, text: &str, status: (StatusState, &str)) {
    let body = format!(
        "{}\n### cc-ci: {} — {heading}\n\n{text}\n\n[Run page]({})\n\n{}",
        comment::STICKY_MARKER,
        comment::md_code(&job.request.recipe),
        app.run_url(job.id),
        comment::rerun_help()
    );
    let body = with_lane_note(app, job, body);
    report(app, job, FINAL, false, status, Some(&body)).await;
}

/// A queued job will not run: the sticky comment says why and how to re-run. (The commit
/// status belongs to the old head, which no one tests now.)
pub async fn superseded(app: &App, job: &Job, why: &str) {
    let description = format!("not run: {why}");
    let body = format!(
        "{}\n### cc-ci: {} — ⏭️ not run\n\nRun {} was superseded: {}. Comment `!testme` to test the new head.\n\n{}",
        comment::STICKY_MARKER,
        comment::md_code(&job.request.recipe),
        job.id,
        comment::md_text(why),
        comment::rerun_help()
    );
    report(
        app,
        job,
        FINAL,
        false,
        (StatusState::Error, &description),
        Some(&body),
    )
    .await;
}

/// A run went back to the queue (this host shut down, or its lease expired).
pub async fn requeued(app: &App, job: &Job, why: &str) {
    let description = format!("re-queued: {why}");
    report(
        app,
        job,
        QUEUED,
        true,
        (StatusState::Pending, &description),
        None,
    )
    .await;
}

/// Posts a plain reply (refusal, unparseable command) on a PR.
pub async fn reply(forge: &Forge, repo: &ccci_forge::RepoName, pr: u64, body: &str) {
    if let Err(e) = forge.client.post_comment(repo, pr, body).await {
        tracing::warn!(%repo, pr, "reply not posted: {e}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Only a full cold run reports under the gating context.
    #[test]
    fn only_a_full_cold_run_reports_under_the_gating_context() {
        use ccci_core::ladder::Rung;
        let flags = |quick: bool, extra: bool, stages: Option<Vec<Rung>>| JobFlags {
            quick,
            extra,
            stages,
            ..JobFlags::default()
        };
        let lint = || Some(vec![Rung::Lint]);
        let pinned = JobFlags {
            pinned: true,
            keep_secs: Some(60),
            ..JobFlags::default()
        };
        let rows: Vec<(&str, JobFlags, &str, Option<&str>)> = vec![
            // context, flags, status context, a fragment of the comment note
            ("cc-ci", flags(false, false, None), "cc-ci", None),
            ("cc-ci", flags(false, true, None), "cc-ci", None),
            ("cc-ci", pinned, "cc-ci", None),
            (
                "cc-ci",
                flags(true, false, None),
                "cc-ci/quick",
                Some("Quick run (`--quick`): reported under the commit status `cc-ci/quick`, which does not gate the merge"),
            ),
            (
                "ci/recipes",
                flags(true, true, None),
                "ci/recipes/quick",
                Some("`ci/recipes/quick`"),
            ),
            (
                "cc-ci",
                flags(false, false, lint()),
                "cc-ci/stages",
                Some("Partial run (`--stages lint`): reported under the commit status `cc-ci/stages`, which does not gate the merge"),
            ),
            (
                "cc-ci",
                flags(false, true, Some(vec![Rung::Install, Rung::Upgrade])),
                "cc-ci/stages",
                Some("(`--extra --stages install,upgrade`)"),
            ),
            ("cc-ci", flags(true, false, lint()), "cc-ci/quick", Some("Quick run")),
        ];
        for (context, flags, want, note) in rows {
            assert_eq!(status_context(context, &flags), want, "{flags:?}");
            let got = lane_note(context, &flags);
            match note {
                None => assert_eq!(got, None, "{flags:?}"),
                Some(fragment) => {
                    let got = got.unwrap_or_default();
                    assert!(got.contains(fragment), "{flags:?}: {got}");
                    assert!(got.contains("a plain `!testme` runs the full cold run"));
                }
            }
        }
    }
}
