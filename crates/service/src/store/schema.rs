//! Versioned migrations. Each backend applies, in order, every migration above the version
//! recorded in `schema_version`, in one transaction per migration. Append; never edit one
//! that has shipped.

/// SQLite migrations, version = index + 1.
pub const SQLITE: &[&str] = &[r#"
CREATE TABLE jobs (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    recipe           TEXT    NOT NULL,
    repo             TEXT    NOT NULL,
    pr_number        INTEGER,
    head_sha         TEXT    NOT NULL,
    git_ref          TEXT,
    clone_url        TEXT    NOT NULL,
    flags            TEXT    NOT NULL,
    requested_by     TEXT,
    state            TEXT    NOT NULL,
    verdict          TEXT,
    level            INTEGER,
    host             TEXT,
    lease_expires_at INTEGER,
    enqueued_at      INTEGER NOT NULL,
    started_at       INTEGER,
    finished_at      INTEGER,
    comment_id       INTEGER,
    attempts         INTEGER NOT NULL DEFAULT 0,
    note             TEXT
);
CREATE INDEX jobs_by_state ON jobs (state, id);
CREATE INDEX jobs_by_recipe ON jobs (recipe, id);
CREATE UNIQUE INDEX jobs_one_running_per_recipe ON jobs (recipe) WHERE state = 'running';
CREATE TABLE poll_cursors (
    repo       TEXT PRIMARY KEY,
    cursor     TEXT NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE TABLE processed_comments (
    repo       TEXT    NOT NULL,
    comment_id INTEGER NOT NULL,
    job_id     INTEGER,
    at         INTEGER NOT NULL,
    PRIMARY KEY (repo, comment_id)
);
CREATE TABLE webhook_deliveries (
    delivery_id TEXT PRIMARY KEY,
    at          INTEGER NOT NULL
);
CREATE TABLE refusals (
    repo      TEXT    NOT NULL,
    pr_number INTEGER NOT NULL,
    at        INTEGER NOT NULL,
    PRIMARY KEY (repo, pr_number)
);
CREATE TABLE hosts (
    host      TEXT PRIMARY KEY,
    capacity  INTEGER NOT NULL,
    last_seen INTEGER NOT NULL
);
"#];

/// PostgreSQL migrations, version = index + 1.
pub const POSTGRES: &[&str] = &[r#"
CREATE TABLE jobs (
    id               BIGSERIAL PRIMARY KEY,
    recipe           TEXT   NOT NULL,
    repo             TEXT   NOT NULL,
    pr_number        BIGINT,
    head_sha         TEXT   NOT NULL,
    git_ref          TEXT,
    clone_url        TEXT   NOT NULL,
    flags            TEXT   NOT NULL,
    requested_by     TEXT,
    state            TEXT   NOT NULL,
    verdict          TEXT,
    level            BIGINT,
    host             TEXT,
    lease_expires_at BIGINT,
    enqueued_at      BIGINT NOT NULL,
    started_at       BIGINT,
    finished_at      BIGINT,
    comment_id       BIGINT,
    attempts         BIGINT NOT NULL DEFAULT 0,
    note             TEXT
);
CREATE INDEX jobs_by_state ON jobs (state, id);
CREATE INDEX jobs_by_recipe ON jobs (recipe, id);
CREATE UNIQUE INDEX jobs_one_running_per_recipe ON jobs (recipe) WHERE state = 'running';
CREATE TABLE poll_cursors (
    repo       TEXT PRIMARY KEY,
    cursor     TEXT   NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE TABLE processed_comments (
    repo       TEXT   NOT NULL,
    comment_id BIGINT NOT NULL,
    job_id     BIGINT,
    at         BIGINT NOT NULL,
    PRIMARY KEY (repo, comment_id)
);
CREATE TABLE webhook_deliveries (
    delivery_id TEXT PRIMARY KEY,
    at          BIGINT NOT NULL
);
CREATE TABLE refusals (
    repo      TEXT   NOT NULL,
    pr_number BIGINT NOT NULL,
    at        BIGINT NOT NULL,
    PRIMARY KEY (repo, pr_number)
);
CREATE TABLE hosts (
    host      TEXT PRIMARY KEY,
    capacity  BIGINT NOT NULL,
    last_seen BIGINT NOT NULL
);
"#];

/// The columns of `jobs` in the order the row readers expect.
pub const JOB_COLUMNS: &str = "id, recipe, repo, pr_number, head_sha, git_ref, clone_url, flags, \
     requested_by, state, verdict, level, host, lease_expires_at, enqueued_at, started_at, \
     finished_at, comment_id, attempts, note";

/// Builds a [`crate::job::Job`] from the raw column values (shared by both backends).
#[allow(clippy::too_many_arguments)]
pub struct RawJob {
    pub id: i64,
    pub recipe: String,
    pub repo: String,
    pub pr_number: Option<i64>,
    pub head_sha: String,
    pub git_ref: Option<String>,
    pub clone_url: String,
    pub flags: String,
    pub requested_by: Option<String>,
    pub state: String,
    pub verdict: Option<String>,
    pub level: Option<i64>,
    pub host: Option<String>,
    pub lease_expires_at: Option<i64>,
    pub enqueued_at: i64,
    pub started_at: Option<i64>,
    pub finished_at: Option<i64>,
    pub comment_id: Option<i64>,
    pub attempts: i64,
    pub note: Option<String>,
}

impl RawJob {
    pub fn into_job(self) -> Result<crate::job::Job, super::StoreError> {
        use super::StoreError::Corrupt;
        let state = crate::job::JobState::parse(&self.state)
            .ok_or_else(|| Corrupt(format!("job {}: state {:?}", self.id, self.state)))?;
        let verdict = match self.verdict.as_deref() {
            None => None,
            Some(v) => Some(
                crate::job::parse_verdict(v)
                    .ok_or_else(|| Corrupt(format!("job {}: verdict {v:?}", self.id)))?,
            ),
        };
        let flags = serde_json::from_str(&self.flags)
            .map_err(|e| Corrupt(format!("job {}: flags: {e}", self.id)))?;
        Ok(crate::job::Job {
            id: self.id,
            recipe: self.recipe,
            repo: self.repo,
            pr_number: self.pr_number,
            head_sha: self.head_sha,
            git_ref: self.git_ref,
            clone_url: self.clone_url,
            flags,
            requested_by: self.requested_by,
            state,
            verdict,
            level: self.level.and_then(|l| u8::try_from(l).ok()),
            host: self.host,
            lease_expires_at: self.lease_expires_at,
            enqueued_at: self.enqueued_at,
            started_at: self.started_at,
            finished_at: self.finished_at,
            comment_id: self.comment_id,
            attempts: self.attempts,
            note: self.note,
        })
    }
}

/// `WHERE` clause and its text parameters for a [`crate::job::JobFilter`], with `$n`
/// placeholders starting at 1.
pub fn filter_clause(filter: &crate::job::JobFilter) -> (String, Vec<String>) {
    let mut conditions = Vec::new();
    let mut params = Vec::new();
    if let Some(recipe) = &filter.recipe {
        params.push(recipe.clone());
        conditions.push(format!("recipe = ${}", params.len()));
    }
    if let Some(repo) = &filter.repo {
        params.push(repo.clone());
        conditions.push(format!("repo = ${}", params.len()));
    }
    if let Some(pr) = filter.pr_number {
        // Text parameters only, so both backends bind them alike.
        params.push(pr.to_string());
        conditions.push(format!("CAST(pr_number AS TEXT) = ${}", params.len()));
    }
    if let Some(verdict) = filter.verdict {
        params.push(crate::job::verdict_str(verdict).to_string());
        conditions.push(format!("verdict = ${}", params.len()));
    }
    if let Some(state) = filter.state {
        params.push(state.as_str().to_string());
        conditions.push(format!("state = ${}", params.len()));
    }
    let clause = if conditions.is_empty() {
        String::new()
    } else {
        format!("WHERE {}", conditions.join(" AND "))
    };
    (clause, params)
}

pub fn limit_of(filter: &crate::job::JobFilter) -> i64 {
    i64::from(filter.limit.unwrap_or(200).clamp(1, 10_000))
}
