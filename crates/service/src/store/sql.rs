//! The statements both backends run, written once in the dialect they share, with
//! PostgreSQL's `$N` placeholders (the SQLite backend turns them into `?N`). Only what the
//! dialects disagree on lives in a backend: how a claim locks the queue.

use super::row::Param;
use super::schema::JOB_COLUMNS;
use crate::job::JobFilter;

pub const SCHEMA_VERSION: &str = "SELECT CAST(COALESCE(MAX(version), 0) AS BIGINT) AS version \
     FROM schema_version";
pub const RECORD_SCHEMA_VERSION: &str = "INSERT INTO schema_version (version) VALUES ($1)";

pub const MARK_COMMENT: &str = "INSERT INTO processed_comments (repo, comment_id, at) \
     VALUES ($1, $2, $3) ON CONFLICT DO NOTHING";
pub const COMMENT_JOB: &str =
    "UPDATE processed_comments SET job_id = $1 WHERE repo = $2 AND comment_id = $3";
pub const IS_COMMENT_PROCESSED: &str =
    "SELECT 1 AS seen FROM processed_comments WHERE repo = $1 AND comment_id = $2";
pub const RECORD_DELIVERY: &str =
    "INSERT INTO webhook_deliveries (delivery_id, at) VALUES ($1, $2) ON CONFLICT DO NOTHING";
pub const RECORD_REFUSAL: &str =
    "INSERT INTO refusals (repo, pr_number, at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING";
pub const CURSOR: &str = "SELECT cursor FROM poll_cursors WHERE repo = $1";
pub const SET_CURSOR: &str = "INSERT INTO poll_cursors (repo, cursor, updated_at) \
     VALUES ($1, $2, $3) \
     ON CONFLICT (repo) DO UPDATE SET cursor = excluded.cursor, updated_at = excluded.updated_at";
pub const REGISTER_HOST: &str = "INSERT INTO hosts (host, capacity, last_seen) \
     VALUES ($1, $2, $3) \
     ON CONFLICT (host) DO UPDATE SET capacity = excluded.capacity, last_seen = excluded.last_seen";
pub const HOSTS: &str = "SELECT host, capacity, last_seen FROM hosts ORDER BY host";

/// `$1..$8` = the [`crate::job::NewJob`] fields in column order, `$9` = now.
pub const INSERT_JOB: &str = "INSERT INTO jobs (recipe, repo, pr_number, head_sha, git_ref, \
     clone_url, flags, requested_by, state, enqueued_at) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'queued', $9) RETURNING id";

/// Coalescing: the other queued jobs of one PR, superseded by job `$4`.
pub fn supersede_older() -> String {
    format!(
        "UPDATE jobs SET state = 'superseded', note = $1 WHERE repo = $2 AND pr_number = $3 \
         AND state = 'queued' AND id <> $4 RETURNING {JOB_COLUMNS}"
    )
}

pub const SUPERSEDE: &str =
    "UPDATE jobs SET state = 'superseded', note = $1 WHERE id = $2 AND state = 'queued'";

pub fn job_by_id() -> String {
    format!("SELECT {JOB_COLUMNS} FROM jobs WHERE id = $1")
}

/// The queue for a claim, oldest first. The PostgreSQL claim uses [`QUEUED_LOCKED`].
pub const QUEUED: &str = "SELECT id, recipe FROM jobs WHERE state = 'queued' ORDER BY id";
/// [`QUEUED`], locking the rows it returns and skipping rows another claimer holds.
pub const QUEUED_LOCKED: &str =
    "SELECT id, recipe FROM jobs WHERE state = 'queued' ORDER BY id FOR UPDATE SKIP LOCKED";
pub const RUNNING: &str =
    "SELECT id, recipe, COALESCE(host, '') AS host FROM jobs WHERE state = 'running'";
/// `$1` = host, `$2` = lease end, `$3` = now, `$4` = job.
pub const START: &str = "UPDATE jobs SET state = 'running', host = $1, lease_expires_at = $2, \
     started_at = $3 WHERE id = $4";
pub const REQUEUE_EXPIRED: &str = "UPDATE jobs SET state = 'queued', host = NULL, \
     lease_expires_at = NULL, started_at = NULL, attempts = attempts + 1, \
     note = 'lease expired: re-queued' \
     WHERE state = 'running' AND lease_expires_at < $1 RETURNING id";

/// Renews the lease and reads whether someone asked to cancel the run (one round trip).
pub const HEARTBEAT: &str = "UPDATE jobs SET lease_expires_at = $1 \
     WHERE id = $2 AND host = $3 AND state = 'running' \
     RETURNING COALESCE(cancel_requested_by, '') AS cancel_requested_by";
/// A queued job cancelled before it started: it never runs. `$1` = note, `$2` = now.
pub const CANCEL_QUEUED: &str = "UPDATE jobs SET state = 'done', verdict = 'cancelled', \
     level = 0, note = $1, finished_at = $2, cancel_requested_by = $3 \
     WHERE id = $4 AND state = 'queued'";
/// Asks the host running job `$2` to cancel it (seen with its next heartbeat).
pub const REQUEST_CANCEL: &str = "UPDATE jobs SET cancel_requested_by = $1 \
     WHERE id = $2 AND state = 'running' AND cancel_requested_by IS NULL";
/// cc-ci's own failure ended the run: back to the queue for its one retry.
pub const RETRY_AFTER_CCCI_ERROR: &str = "UPDATE jobs SET state = 'queued', host = NULL, \
     lease_expires_at = NULL, started_at = NULL, ccci_errors = ccci_errors + 1, note = $1 \
     WHERE id = $2 AND host = $3 AND state = 'running'";
/// The PR's jobs still queued or running, newest first (what `!testme cancel` cancels).
pub fn active_of_pr() -> String {
    format!(
        "SELECT {JOB_COLUMNS} FROM jobs WHERE repo = $1 AND pr_number = $2 \
         AND state IN ('queued', 'running') ORDER BY id DESC"
    )
}
pub const FINISH: &str = "UPDATE jobs SET state = 'done', verdict = $1, level = $2, note = $3, \
     finished_at = $4, lease_expires_at = NULL, \
     ccci_errors = ccci_errors + (CASE WHEN $1 = 'error' THEN 1 ELSE 0 END) \
     WHERE id = $5 AND host = $6 AND state = 'running'";
pub const RELEASE: &str = "UPDATE jobs SET state = 'queued', host = NULL, \
     lease_expires_at = NULL, started_at = NULL WHERE id = $1 AND host = $2 AND state = 'running'";
pub const SET_COMMENT_ID: &str = "UPDATE jobs SET comment_id = $1 WHERE id = $2";
pub const SWAP_COMMENT_ID: &str =
    "UPDATE jobs SET comment_id = $1 WHERE id = $2 AND comment_id IS NOT DISTINCT FROM $3";

/// What `/metrics` starts its counters from, in one aggregate read (no job is loaded): the
/// runs host `$1` finished, by verdict, and the superseded jobs of the whole store.
pub const COUNT_ENDED: &str = "SELECT state, COALESCE(verdict, '') AS verdict, \
     CAST(COUNT(*) AS BIGINT) AS n FROM jobs \
     WHERE (state = 'done' AND host = $1) OR state = 'superseded' GROUP BY state, verdict";
/// How many jobs wait and run, over all hosts (the `jobs_by_state` index answers it).
pub const COUNT_ACTIVE: &str = "SELECT state, '' AS verdict, CAST(COUNT(*) AS BIGINT) AS n \
     FROM jobs WHERE state IN ('queued', 'running') GROUP BY state";

/// The run list's figures, per recipe, over the newest `$1` jobs (one aggregate read; the
/// primary key walks them, no job is loaded): how many finished and how many were green.
pub const RECENT_BY_RECIPE: &str = "SELECT recipe, \
     CAST(SUM(CASE WHEN state = 'done' THEN 1 ELSE 0 END) AS BIGINT) AS finished, \
     CAST(SUM(CASE WHEN state = 'done' AND verdict = 'green' THEN 1 ELSE 0 END) AS BIGINT) \
     AS green \
     FROM (SELECT recipe, state, verdict FROM jobs ORDER BY id DESC LIMIT $1) AS recent \
     GROUP BY recipe ORDER BY recipe";

/// Jobs matching `filter`, newest first, with their parameters.
pub fn jobs(filter: &JobFilter) -> (String, Vec<Param>) {
    let mut conditions = Vec::new();
    let mut params = Vec::new();
    // Text parameters only, so both backends bind them alike.
    let mut condition = |column: &str, value: String| {
        params.push(Param::from(value));
        conditions.push(format!("{column} = ${}", params.len()));
    };
    if let Some(recipe) = &filter.recipe {
        condition("recipe", recipe.clone());
    }
    if let Some(repo) = &filter.repo {
        condition("repo", repo.clone());
    }
    if let Some(pr) = filter.pr_number {
        condition("CAST(pr_number AS TEXT)", pr.to_string());
    }
    if let Some(end) = filter.end {
        condition("verdict", end.name().to_string());
    }
    if let Some(state) = filter.state {
        condition("state", state.as_str().to_string());
    }
    if let Some(before) = filter.before {
        params.push(Param::from(before));
        conditions.push(format!("id < ${}", params.len()));
    }
    let clause = if conditions.is_empty() {
        String::new()
    } else {
        format!("WHERE {}", conditions.join(" AND "))
    };
    let limit = filter.limit.unwrap_or(200).clamp(1, 10_000);
    let text = format!("SELECT {JOB_COLUMNS} FROM jobs {clause} ORDER BY id DESC LIMIT {limit}");
    (text, params)
}
