//! Versioned migrations, written once for both dialects. Each backend applies, in order,
//! every migration above the version recorded in `schema_version`, in one transaction per
//! migration. Append; never edit one that has shipped (a migration may only be re-spelled so
//! that each dialect still gets the same statements).

use super::{StoreError, StoreResult};

/// The two SQL dialects the store speaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dialect {
    Sqlite,
    Postgres,
}

impl Dialect {
    /// Replaces `{ID}` (an auto-increment primary key) and `{INT}` (a 64-bit integer) in a
    /// migration.
    fn spell(self, template: &str) -> String {
        let (id, int) = match self {
            Dialect::Sqlite => ("INTEGER PRIMARY KEY AUTOINCREMENT", "INTEGER"),
            Dialect::Postgres => ("BIGSERIAL PRIMARY KEY", "BIGINT"),
        };
        template.replace("{ID}", id).replace("{INT}", int)
    }
}

/// The migrations, version = index + 1.
const MIGRATIONS: &[&str] = &[
    r#"
CREATE TABLE jobs (
    id               {ID},
    recipe           TEXT NOT NULL,
    repo             TEXT NOT NULL,
    pr_number        {INT},
    head_sha         TEXT NOT NULL,
    git_ref          TEXT,
    clone_url        TEXT NOT NULL,
    flags            TEXT NOT NULL,
    requested_by     TEXT,
    state            TEXT NOT NULL,
    verdict          TEXT,
    level            {INT},
    host             TEXT,
    lease_expires_at {INT},
    enqueued_at      {INT} NOT NULL,
    started_at       {INT},
    finished_at      {INT},
    comment_id       {INT},
    attempts         {INT} NOT NULL DEFAULT 0,
    note             TEXT
);
CREATE INDEX jobs_by_state ON jobs (state, id);
CREATE INDEX jobs_by_recipe ON jobs (recipe, id);
CREATE UNIQUE INDEX jobs_one_running_per_recipe ON jobs (recipe) WHERE state = 'running';
CREATE TABLE poll_cursors (
    repo       TEXT PRIMARY KEY,
    cursor     TEXT NOT NULL,
    updated_at {INT} NOT NULL
);
CREATE TABLE processed_comments (
    repo       TEXT NOT NULL,
    comment_id {INT} NOT NULL,
    job_id     {INT},
    at         {INT} NOT NULL,
    PRIMARY KEY (repo, comment_id)
);
CREATE TABLE webhook_deliveries (
    delivery_id TEXT PRIMARY KEY,
    at          {INT} NOT NULL
);
CREATE TABLE refusals (
    repo      TEXT NOT NULL,
    pr_number {INT} NOT NULL,
    at        {INT} NOT NULL,
    PRIMARY KEY (repo, pr_number)
);
CREATE TABLE hosts (
    host      TEXT PRIMARY KEY,
    capacity  {INT} NOT NULL,
    last_seen {INT} NOT NULL
);
"#,
    r#"
ALTER TABLE jobs ADD COLUMN cancel_requested_by TEXT;
ALTER TABLE jobs ADD COLUMN ccci_errors {INT} NOT NULL DEFAULT 0;
"#,
];

/// The table recording which migrations ran.
pub fn version_table(dialect: Dialect) -> String {
    dialect.spell("CREATE TABLE IF NOT EXISTS schema_version (version {INT} NOT NULL)")
}

/// The migrations above `current`, as `(version, statements)`; an error when the database
/// is newer than this build.
pub fn pending(dialect: Dialect, current: i64) -> StoreResult<Vec<(i64, String)>> {
    let known = MIGRATIONS.len() as i64;
    if current > known {
        return Err(StoreError::SchemaTooNew {
            found: current,
            known,
        });
    }
    Ok((current.max(0)..known)
        .map(|index| (index + 1, dialect.spell(MIGRATIONS[index as usize])))
        .collect())
}

/// The columns of `jobs`, as [`super::row::job_from_row`] reads them.
pub const JOB_COLUMNS: &str = "id, recipe, repo, pr_number, head_sha, git_ref, clone_url, flags, \
     requested_by, state, verdict, level, host, lease_expires_at, enqueued_at, started_at, \
     finished_at, comment_id, attempts, note, cancel_requested_by, ccci_errors";
