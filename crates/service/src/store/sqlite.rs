//! The SQLite backend: one file, WAL, no set-up. Claims run in an immediate transaction
//! (the write lock is taken at `BEGIN`), so two claimers on one file serialise.

use super::schema::{self, RawJob, JOB_COLUMNS};
use super::{Enqueued, StoreError, StoreResult};
use crate::job::{HostInfo, Job, JobFilter, JobId, Millis, NewJob, Outcome};
use crate::policy;
use rusqlite::{params, params_from_iter, Connection, OptionalExtension, TransactionBehavior};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The connection lives behind a std mutex and every call runs on the blocking pool: SQLite
/// calls block, and they are short. The mutex is never held across an `.await`.
#[derive(Clone)]
pub struct SqliteStore {
    conn: Arc<Mutex<Connection>>,
}

/// SQLite takes `?N`; the shared SQL is written with PostgreSQL's `$N`.
fn sql(text: &str) -> String {
    text.replace('$', "?")
}

fn read_job(row: &rusqlite::Row<'_>) -> rusqlite::Result<RawJob> {
    Ok(RawJob {
        id: row.get(0)?,
        recipe: row.get(1)?,
        repo: row.get(2)?,
        pr_number: row.get(3)?,
        head_sha: row.get(4)?,
        git_ref: row.get(5)?,
        clone_url: row.get(6)?,
        flags: row.get(7)?,
        requested_by: row.get(8)?,
        state: row.get(9)?,
        verdict: row.get(10)?,
        level: row.get(11)?,
        host: row.get(12)?,
        lease_expires_at: row.get(13)?,
        enqueued_at: row.get(14)?,
        started_at: row.get(15)?,
        finished_at: row.get(16)?,
        comment_id: row.get(17)?,
        attempts: row.get(18)?,
        note: row.get(19)?,
    })
}

fn job_by_id(conn: &Connection, id: JobId) -> StoreResult<Option<Job>> {
    conn.query_row(
        &format!("SELECT {JOB_COLUMNS} FROM jobs WHERE id = ?1"),
        [id],
        read_job,
    )
    .optional()?
    .map(RawJob::into_job)
    .transpose()
}

fn migrate(conn: &mut Connection) -> StoreResult<()> {
    conn.execute_batch("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")?;
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let current: i64 = tx.query_row(
        "SELECT COALESCE(MAX(version), 0) FROM schema_version",
        [],
        |r| r.get(0),
    )?;
    let known = schema::SQLITE.len() as i64;
    if current > known {
        return Err(StoreError::SchemaTooNew {
            found: current,
            known,
        });
    }
    for (index, migration) in schema::SQLITE.iter().enumerate().skip(current as usize) {
        tx.execute_batch(migration)?;
        tx.execute(
            "INSERT INTO schema_version (version) VALUES (?1)",
            [index as i64 + 1],
        )?;
    }
    tx.commit()?;
    Ok(())
}

impl SqliteStore {
    pub async fn open(path: &Path) -> StoreResult<SqliteStore> {
        let path = path.to_path_buf();
        let conn = tokio::task::spawn_blocking(move || -> StoreResult<Connection> {
            if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
                std::fs::create_dir_all(parent).map_err(|e| {
                    StoreError::Task(format!("cannot create {}: {e}", parent.display()))
                })?;
            }
            let mut conn = Connection::open(&path)?;
            conn.busy_timeout(Duration::from_secs(10))?;
            conn.pragma_update(None, "journal_mode", "WAL")?;
            conn.pragma_update(None, "synchronous", "NORMAL")?;
            conn.pragma_update(None, "foreign_keys", "ON")?;
            migrate(&mut conn)?;
            Ok(conn)
        })
        .await
        .map_err(|e| StoreError::Task(e.to_string()))??;
        Ok(SqliteStore {
            conn: Arc::new(Mutex::new(conn)),
        })
    }

    async fn with<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Connection) -> StoreResult<T> + Send + 'static,
    ) -> StoreResult<T> {
        let conn = self.conn.clone();
        tokio::task::spawn_blocking(move || {
            let mut guard = conn
                .lock()
                .map_err(|_| StoreError::Task("sqlite connection mutex poisoned".into()))?;
            f(&mut guard)
        })
        .await
        .map_err(|e| StoreError::Task(e.to_string()))?
    }

    pub async fn enqueue(&self, job: &NewJob, now: Millis) -> StoreResult<Enqueued> {
        let job = job.clone();
        self.with(move |conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            if let Some(comment) = job.trigger_comment_id {
                let seen: Option<i64> = tx
                    .query_row(
                        "SELECT 1 FROM processed_comments WHERE repo = ?1 AND comment_id = ?2",
                        params![job.repo, comment],
                        |r| r.get(0),
                    )
                    .optional()?;
                if seen.is_some() {
                    return Ok(Enqueued::AlreadyProcessed);
                }
            }
            let flags = serde_json::to_string(&job.flags)
                .map_err(|e| StoreError::Corrupt(e.to_string()))?;
            tx.execute(
                "INSERT INTO jobs (recipe, repo, pr_number, head_sha, git_ref, clone_url, flags, \
                 requested_by, state, enqueued_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 'queued', ?9)",
                params![
                    job.recipe,
                    job.repo,
                    job.pr_number,
                    job.head_sha,
                    job.git_ref,
                    job.clone_url,
                    flags,
                    job.requested_by,
                    now
                ],
            )?;
            let id = tx.last_insert_rowid();
            let mut superseded = Vec::new();
            if let Some(pr) = job.pr_number {
                let mut stmt = tx.prepare(&format!(
                    "SELECT {JOB_COLUMNS} FROM jobs WHERE repo = ?1 AND pr_number = ?2 \
                     AND state = 'queued' AND id <> ?3 ORDER BY id"
                ))?;
                let rows = stmt
                    .query_map(params![job.repo, pr, id], read_job)?
                    .collect::<Result<Vec<_>, _>>()?;
                drop(stmt);
                let note = format!("superseded by run {id}");
                for raw in rows {
                    let mut old = raw.into_job()?;
                    tx.execute(
                        "UPDATE jobs SET state = 'superseded', note = ?1 WHERE id = ?2",
                        params![note, old.id],
                    )?;
                    old.state = crate::job::JobState::Superseded;
                    old.note = Some(note.clone());
                    superseded.push(old);
                }
            }
            if let Some(comment) = job.trigger_comment_id {
                tx.execute(
                    "INSERT INTO processed_comments (repo, comment_id, job_id, at) VALUES (?1, ?2, ?3, ?4)",
                    params![job.repo, comment, id, now],
                )?;
            }
            tx.commit()?;
            Ok(Enqueued::Queued { id, superseded })
        })
        .await
    }

    pub async fn mark_comment_processed(
        &self,
        repo: &str,
        comment_id: i64,
        now: Millis,
    ) -> StoreResult<bool> {
        let repo = repo.to_string();
        self.with(move |conn| {
            let n = conn.execute(
                "INSERT OR IGNORE INTO processed_comments (repo, comment_id, at) VALUES (?1, ?2, ?3)",
                params![repo, comment_id, now],
            )?;
            Ok(n == 1)
        })
        .await
    }

    pub async fn is_comment_processed(&self, repo: &str, comment_id: i64) -> StoreResult<bool> {
        let repo = repo.to_string();
        self.with(move |conn| {
            let seen: Option<i64> = conn
                .query_row(
                    "SELECT 1 FROM processed_comments WHERE repo = ?1 AND comment_id = ?2",
                    params![repo, comment_id],
                    |r| r.get(0),
                )
                .optional()?;
            Ok(seen.is_some())
        })
        .await
    }

    pub async fn record_delivery(&self, delivery_id: &str, now: Millis) -> StoreResult<bool> {
        let delivery_id = delivery_id.to_string();
        self.with(move |conn| {
            let n = conn.execute(
                "INSERT OR IGNORE INTO webhook_deliveries (delivery_id, at) VALUES (?1, ?2)",
                params![delivery_id, now],
            )?;
            Ok(n == 1)
        })
        .await
    }

    pub async fn record_refusal(&self, repo: &str, pr: i64, now: Millis) -> StoreResult<bool> {
        let repo = repo.to_string();
        self.with(move |conn| {
            let n = conn.execute(
                "INSERT OR IGNORE INTO refusals (repo, pr_number, at) VALUES (?1, ?2, ?3)",
                params![repo, pr, now],
            )?;
            Ok(n == 1)
        })
        .await
    }

    pub async fn cursor(&self, repo: &str) -> StoreResult<Option<String>> {
        let repo = repo.to_string();
        self.with(move |conn| {
            Ok(conn
                .query_row(
                    "SELECT cursor FROM poll_cursors WHERE repo = ?1",
                    [repo],
                    |r| r.get(0),
                )
                .optional()?)
        })
        .await
    }

    pub async fn set_cursor(&self, repo: &str, cursor: &str, now: Millis) -> StoreResult<()> {
        let (repo, cursor) = (repo.to_string(), cursor.to_string());
        self.with(move |conn| {
            conn.execute(
                "INSERT INTO poll_cursors (repo, cursor, updated_at) VALUES (?1, ?2, ?3) \
                 ON CONFLICT (repo) DO UPDATE SET cursor = excluded.cursor, updated_at = excluded.updated_at",
                params![repo, cursor, now],
            )?;
            Ok(())
        })
        .await
    }

    pub async fn register_host(&self, host: &str, capacity: u32, now: Millis) -> StoreResult<()> {
        let host = host.to_string();
        self.with(move |conn| {
            conn.execute(
                "INSERT INTO hosts (host, capacity, last_seen) VALUES (?1, ?2, ?3) \
                 ON CONFLICT (host) DO UPDATE SET capacity = excluded.capacity, last_seen = excluded.last_seen",
                params![host, capacity, now],
            )?;
            Ok(())
        })
        .await
    }

    pub async fn claim(
        &self,
        host: &str,
        capacity: u32,
        lease_ms: Millis,
        now: Millis,
    ) -> StoreResult<Option<Job>> {
        let host = host.to_string();
        self.with(move |conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            requeue_expired_in(&tx, now)?;
            let running = {
                let mut stmt = tx.prepare("SELECT id, recipe, COALESCE(host, '') FROM jobs WHERE state = 'running'")?;
                let rows = stmt.query_map([], |r| {
                    Ok(policy::Running {
                        id: r.get(0)?,
                        recipe: r.get(1)?,
                        host: r.get(2)?,
                    })
                })?
                .collect::<Result<Vec<_>, _>>()?;
                rows
            };
            let queued = {
                let mut stmt = tx.prepare("SELECT id, recipe FROM jobs WHERE state = 'queued' ORDER BY id")?;
                let rows = stmt.query_map([], |r| {
                    Ok(policy::Queued {
                        id: r.get(0)?,
                        recipe: r.get(1)?,
                    })
                })?
                .collect::<Result<Vec<_>, _>>()?;
                rows
            };
            let snapshot = policy::Snapshot {
                queued: &queued,
                running: &running,
            };
            let Some(id) = policy::next_to_start(&snapshot, &host, capacity) else {
                tx.commit()?;
                return Ok(None);
            };
            tx.execute(
                "UPDATE jobs SET state = 'running', host = ?1, lease_expires_at = ?2, started_at = ?3 \
                 WHERE id = ?4",
                params![host, now + lease_ms, now, id],
            )?;
            let job = job_by_id(&tx, id)?;
            tx.commit()?;
            Ok(job)
        })
        .await
    }

    pub async fn heartbeat(&self, id: JobId, host: &str, lease_until: Millis) -> StoreResult<bool> {
        let host = host.to_string();
        self.with(move |conn| {
            let n = conn.execute(
                "UPDATE jobs SET lease_expires_at = ?1 WHERE id = ?2 AND host = ?3 AND state = 'running'",
                params![lease_until, id, host],
            )?;
            Ok(n == 1)
        })
        .await
    }

    pub async fn finish(
        &self,
        id: JobId,
        host: &str,
        outcome: &Outcome,
        now: Millis,
    ) -> StoreResult<bool> {
        let host = host.to_string();
        let outcome = outcome.clone();
        self.with(move |conn| {
            let n = conn.execute(
                "UPDATE jobs SET state = 'done', verdict = ?1, level = ?2, note = ?3, finished_at = ?4, \
                 lease_expires_at = NULL WHERE id = ?5 AND host = ?6 AND state = 'running'",
                params![
                    crate::job::verdict_str(outcome.verdict),
                    i64::from(outcome.level),
                    outcome.note,
                    now,
                    id,
                    host
                ],
            )?;
            Ok(n == 1)
        })
        .await
    }

    pub async fn release(&self, id: JobId, host: &str) -> StoreResult<bool> {
        let host = host.to_string();
        self.with(move |conn| {
            let n = conn.execute(
                "UPDATE jobs SET state = 'queued', host = NULL, lease_expires_at = NULL, started_at = NULL \
                 WHERE id = ?1 AND host = ?2 AND state = 'running'",
                params![id, host],
            )?;
            Ok(n == 1)
        })
        .await
    }

    pub async fn requeue_expired(&self, now: Millis) -> StoreResult<Vec<JobId>> {
        self.with(move |conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let ids = requeue_expired_in(&tx, now)?;
            tx.commit()?;
            Ok(ids)
        })
        .await
    }

    pub async fn supersede(&self, id: JobId, note: &str) -> StoreResult<bool> {
        let note = note.to_string();
        self.with(move |conn| {
            let n = conn.execute(
                "UPDATE jobs SET state = 'superseded', note = ?1 WHERE id = ?2 AND state = 'queued'",
                params![note, id],
            )?;
            Ok(n == 1)
        })
        .await
    }

    pub async fn set_comment_id(&self, id: JobId, comment_id: i64) -> StoreResult<()> {
        self.with(move |conn| {
            conn.execute(
                "UPDATE jobs SET comment_id = ?1 WHERE id = ?2",
                params![comment_id, id],
            )?;
            Ok(())
        })
        .await
    }

    pub async fn swap_comment_id(
        &self,
        id: JobId,
        expected: Option<i64>,
        new: Option<i64>,
    ) -> StoreResult<bool> {
        self.with(move |conn| {
            let n = conn.execute(
                "UPDATE jobs SET comment_id = ?1 WHERE id = ?2 AND comment_id IS ?3",
                params![new, id, expected],
            )?;
            Ok(n == 1)
        })
        .await
    }

    pub async fn job(&self, id: JobId) -> StoreResult<Option<Job>> {
        self.with(move |conn| job_by_id(conn, id)).await
    }

    pub async fn jobs(&self, filter: &JobFilter) -> StoreResult<Vec<Job>> {
        let filter = filter.clone();
        self.with(move |conn| {
            let (clause, params) = schema::filter_clause(&filter);
            let text = sql(&format!(
                "SELECT {JOB_COLUMNS} FROM jobs {clause} ORDER BY id DESC LIMIT {}",
                schema::limit_of(&filter)
            ));
            let mut stmt = conn.prepare(&text)?;
            let rows = stmt
                .query_map(params_from_iter(params.iter()), read_job)?
                .collect::<Result<Vec<_>, _>>()?;
            rows.into_iter().map(RawJob::into_job).collect()
        })
        .await
    }

    pub async fn hosts(&self) -> StoreResult<Vec<HostInfo>> {
        self.with(move |conn| {
            let mut stmt =
                conn.prepare("SELECT host, capacity, last_seen FROM hosts ORDER BY host")?;
            let rows = stmt
                .query_map([], |r| {
                    Ok(HostInfo {
                        host: r.get(0)?,
                        capacity: r.get(1)?,
                        last_seen: r.get(2)?,
                    })
                })?
                .collect::<Result<Vec<_>, _>>()?;
            Ok(rows)
        })
        .await
    }
}

fn requeue_expired_in(tx: &rusqlite::Transaction<'_>, now: Millis) -> StoreResult<Vec<JobId>> {
    let ids = {
        let mut stmt =
            tx.prepare("SELECT id FROM jobs WHERE state = 'running' AND lease_expires_at < ?1")?;
        let rows = stmt
            .query_map([now], |r| r.get::<_, i64>(0))?
            .collect::<Result<Vec<_>, _>>()?;
        rows
    };
    for id in &ids {
        tx.execute(
            "UPDATE jobs SET state = 'queued', host = NULL, lease_expires_at = NULL, started_at = NULL, \
             attempts = attempts + 1, note = 'lease expired: re-queued' WHERE id = ?1",
            [id],
        )?;
    }
    Ok(ids)
}
