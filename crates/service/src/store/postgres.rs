//! The PostgreSQL backend: several hosts share one queue. A claim locks the queued rows it
//! looks at with `FOR UPDATE SKIP LOCKED`, so concurrent claimers never wait on each other
//! and never take the same job; the partial unique index on running recipes settles the one
//! race SKIP LOCKED cannot see (two hosts picking two different jobs of one recipe).

use super::schema::{self, RawJob, JOB_COLUMNS};
use super::{Enqueued, StoreError, StoreResult};
use crate::job::{HostInfo, Job, JobFilter, JobId, Millis, NewJob, Outcome};
use crate::policy;
use tokio::sync::Mutex;
use tokio_postgres::{error::SqlState, Client, GenericClient, NoTls, Row};

/// One connection per store. The async mutex serialises its users (a transaction needs the
/// client exclusively); it is held across awaits, which is what the async mutex is for. A
/// closed connection is replaced on the next call.
pub struct PgStore {
    url: String,
    client: Mutex<Option<Client>>,
}

/// Advisory lock key that serialises concurrent migrations of one database.
const MIGRATION_LOCK: i64 = 0x63_63_63_69; // "ccci"

fn read_job(row: &Row) -> Result<Job, StoreError> {
    RawJob {
        id: row.try_get(0)?,
        recipe: row.try_get(1)?,
        repo: row.try_get(2)?,
        pr_number: row.try_get(3)?,
        head_sha: row.try_get(4)?,
        git_ref: row.try_get(5)?,
        clone_url: row.try_get(6)?,
        flags: row.try_get(7)?,
        requested_by: row.try_get(8)?,
        state: row.try_get(9)?,
        verdict: row.try_get(10)?,
        level: row.try_get(11)?,
        host: row.try_get(12)?,
        lease_expires_at: row.try_get(13)?,
        enqueued_at: row.try_get(14)?,
        started_at: row.try_get(15)?,
        finished_at: row.try_get(16)?,
        comment_id: row.try_get(17)?,
        attempts: row.try_get(18)?,
        note: row.try_get(19)?,
    }
    .into_job()
}

async fn connect(url: &str) -> StoreResult<Client> {
    let (client, connection) = tokio_postgres::connect(url, NoTls).await?;
    tokio::spawn(async move {
        if let Err(e) = connection.await {
            tracing::warn!("postgres connection closed: {e}");
        }
    });
    Ok(client)
}

async fn migrate(client: &mut Client) -> StoreResult<()> {
    let tx = client.transaction().await?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
        .await?;
    tx.batch_execute("CREATE TABLE IF NOT EXISTS schema_version (version BIGINT NOT NULL)")
        .await?;
    let current: i64 = tx
        .query_one(
            "SELECT COALESCE(MAX(version), 0)::BIGINT FROM schema_version",
            &[],
        )
        .await?
        .try_get(0)?;
    let known = schema::POSTGRES.len() as i64;
    if current > known {
        return Err(StoreError::SchemaTooNew {
            found: current,
            known,
        });
    }
    for (index, migration) in schema::POSTGRES.iter().enumerate().skip(current as usize) {
        tx.batch_execute(migration).await?;
        tx.execute(
            "INSERT INTO schema_version (version) VALUES ($1)",
            &[&(index as i64 + 1)],
        )
        .await?;
    }
    tx.commit().await?;
    Ok(())
}

async fn job_by_id(client: &impl GenericClient, id: JobId) -> StoreResult<Option<Job>> {
    client
        .query_opt(
            &format!("SELECT {JOB_COLUMNS} FROM jobs WHERE id = $1"),
            &[&id],
        )
        .await?
        .as_ref()
        .map(read_job)
        .transpose()
}

async fn requeue_expired_in(client: &impl GenericClient, now: Millis) -> StoreResult<Vec<JobId>> {
    let rows = client
        .query(
            "UPDATE jobs SET state = 'queued', host = NULL, lease_expires_at = NULL, started_at = NULL, \
             attempts = attempts + 1, note = 'lease expired: re-queued' \
             WHERE state = 'running' AND lease_expires_at < $1 RETURNING id",
            &[&now],
        )
        .await?;
    rows.iter().map(|r| Ok(r.try_get(0)?)).collect()
}

impl PgStore {
    pub async fn connect(url: &str) -> StoreResult<PgStore> {
        let mut client = connect(url).await?;
        migrate(&mut client).await?;
        Ok(PgStore {
            url: url.to_string(),
            client: Mutex::new(Some(client)),
        })
    }

    /// The client, reconnecting if the connection closed since the last call.
    async fn client(&self) -> StoreResult<tokio::sync::MutexGuard<'_, Option<Client>>> {
        let mut guard = self.client.lock().await;
        if guard.as_ref().is_none_or(|c| c.is_closed()) {
            *guard = None;
            *guard = Some(connect(&self.url).await?);
        }
        Ok(guard)
    }

    pub async fn enqueue(&self, job: &NewJob, now: Millis) -> StoreResult<Enqueued> {
        let mut guard = self.client().await?;
        let client = guard
            .as_mut()
            .ok_or_else(|| StoreError::Task("no connection".into()))?;
        let tx = client.transaction().await?;
        if let Some(comment) = job.trigger_comment_id {
            // Claim the comment id first: a concurrent enqueue of the same comment blocks on
            // this row and then finds it taken.
            let inserted = tx
                .execute(
                    "INSERT INTO processed_comments (repo, comment_id, at) VALUES ($1, $2, $3) \
                     ON CONFLICT DO NOTHING",
                    &[&job.repo, &comment, &now],
                )
                .await?;
            if inserted == 0 {
                return Ok(Enqueued::AlreadyProcessed);
            }
        }
        let flags =
            serde_json::to_string(&job.flags).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let id: i64 = tx
            .query_one(
                "INSERT INTO jobs (recipe, repo, pr_number, head_sha, git_ref, clone_url, flags, \
                 requested_by, state, enqueued_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'queued', $9) \
                 RETURNING id",
                &[
                    &job.recipe,
                    &job.repo,
                    &job.pr_number,
                    &job.head_sha,
                    &job.git_ref,
                    &job.clone_url,
                    &flags,
                    &job.requested_by,
                    &now,
                ],
            )
            .await?
            .try_get(0)?;
        let mut superseded = Vec::new();
        if let Some(pr) = job.pr_number {
            let note = format!("superseded by run {id}");
            let rows = tx
                .query(
                    &format!(
                        "UPDATE jobs SET state = 'superseded', note = $1 WHERE repo = $2 AND pr_number = $3 \
                         AND state = 'queued' AND id <> $4 RETURNING {JOB_COLUMNS}"
                    ),
                    &[&note, &job.repo, &pr, &id],
                )
                .await?;
            for row in &rows {
                superseded.push(read_job(row)?);
            }
            superseded.sort_by_key(|j| j.id);
        }
        if let Some(comment) = job.trigger_comment_id {
            tx.execute(
                "UPDATE processed_comments SET job_id = $1 WHERE repo = $2 AND comment_id = $3",
                &[&id, &job.repo, &comment],
            )
            .await?;
        }
        tx.commit().await?;
        Ok(Enqueued::Queued { id, superseded })
    }

    async fn execute(
        &self,
        statement: &str,
        params: &[&(dyn tokio_postgres::types::ToSql + Sync)],
    ) -> StoreResult<u64> {
        let guard = self.client().await?;
        let client = guard
            .as_ref()
            .ok_or_else(|| StoreError::Task("no connection".into()))?;
        Ok(client.execute(statement, params).await?)
    }

    pub async fn mark_comment_processed(
        &self,
        repo: &str,
        comment_id: i64,
        now: Millis,
    ) -> StoreResult<bool> {
        let n = self
            .execute(
                "INSERT INTO processed_comments (repo, comment_id, at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
                &[&repo, &comment_id, &now],
            )
            .await?;
        Ok(n == 1)
    }

    pub async fn is_comment_processed(&self, repo: &str, comment_id: i64) -> StoreResult<bool> {
        let guard = self.client().await?;
        let client = guard
            .as_ref()
            .ok_or_else(|| StoreError::Task("no connection".into()))?;
        let row = client
            .query_opt(
                "SELECT 1 FROM processed_comments WHERE repo = $1 AND comment_id = $2",
                &[&repo, &comment_id],
            )
            .await?;
        Ok(row.is_some())
    }

    pub async fn record_delivery(&self, delivery_id: &str, now: Millis) -> StoreResult<bool> {
        let n = self
            .execute(
                "INSERT INTO webhook_deliveries (delivery_id, at) VALUES ($1, $2) ON CONFLICT DO NOTHING",
                &[&delivery_id, &now],
            )
            .await?;
        Ok(n == 1)
    }

    pub async fn record_refusal(&self, repo: &str, pr: i64, now: Millis) -> StoreResult<bool> {
        let n = self
            .execute(
                "INSERT INTO refusals (repo, pr_number, at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
                &[&repo, &pr, &now],
            )
            .await?;
        Ok(n == 1)
    }

    pub async fn cursor(&self, repo: &str) -> StoreResult<Option<String>> {
        let guard = self.client().await?;
        let client = guard
            .as_ref()
            .ok_or_else(|| StoreError::Task("no connection".into()))?;
        let row = client
            .query_opt("SELECT cursor FROM poll_cursors WHERE repo = $1", &[&repo])
            .await?;
        Ok(row.map(|r| r.try_get(0)).transpose()?)
    }

    pub async fn set_cursor(&self, repo: &str, cursor: &str, now: Millis) -> StoreResult<()> {
        self.execute(
            "INSERT INTO poll_cursors (repo, cursor, updated_at) VALUES ($1, $2, $3) \
             ON CONFLICT (repo) DO UPDATE SET cursor = excluded.cursor, updated_at = excluded.updated_at",
            &[&repo, &cursor, &now],
        )
        .await?;
        Ok(())
    }

    pub async fn register_host(&self, host: &str, capacity: u32, now: Millis) -> StoreResult<()> {
        self.execute(
            "INSERT INTO hosts (host, capacity, last_seen) VALUES ($1, $2, $3) \
             ON CONFLICT (host) DO UPDATE SET capacity = excluded.capacity, last_seen = excluded.last_seen",
            &[&host, &i64::from(capacity), &now],
        )
        .await?;
        Ok(())
    }

    pub async fn claim(
        &self,
        host: &str,
        capacity: u32,
        lease_ms: Millis,
        now: Millis,
    ) -> StoreResult<Option<Job>> {
        // A lost race on the per-recipe unique index rolls the attempt back; try again a few
        // times with a fresh snapshot.
        for _ in 0..5 {
            match self.try_claim(host, capacity, lease_ms, now).await {
                Err(StoreError::Postgres(e)) if e.code() == Some(&SqlState::UNIQUE_VIOLATION) => {
                    continue
                }
                other => return other,
            }
        }
        Ok(None)
    }

    async fn try_claim(
        &self,
        host: &str,
        capacity: u32,
        lease_ms: Millis,
        now: Millis,
    ) -> StoreResult<Option<Job>> {
        let mut guard = self.client().await?;
        let client = guard
            .as_mut()
            .ok_or_else(|| StoreError::Task("no connection".into()))?;
        let tx = client.transaction().await?;
        requeue_expired_in(&tx, now).await?;
        // Lock the queue rows first, read the running set after: a job another claimer took
        // while we waited is then seen as running, not as queued.
        let queued: Vec<policy::Queued> = tx
            .query(
                "SELECT id, recipe FROM jobs WHERE state = 'queued' ORDER BY id FOR UPDATE SKIP LOCKED",
                &[],
            )
            .await?
            .iter()
            .map(|r| {
                Ok(policy::Queued {
                    id: r.try_get(0)?,
                    recipe: r.try_get(1)?,
                })
            })
            .collect::<Result<_, tokio_postgres::Error>>()?;
        let running: Vec<policy::Running> = tx
            .query(
                "SELECT id, recipe, COALESCE(host, '') FROM jobs WHERE state = 'running'",
                &[],
            )
            .await?
            .iter()
            .map(|r| {
                Ok(policy::Running {
                    id: r.try_get(0)?,
                    recipe: r.try_get(1)?,
                    host: r.try_get(2)?,
                })
            })
            .collect::<Result<_, tokio_postgres::Error>>()?;
        let snapshot = policy::Snapshot {
            queued: &queued,
            running: &running,
        };
        let Some(id) = policy::next_to_start(&snapshot, host, capacity) else {
            tx.commit().await?;
            return Ok(None);
        };
        tx.execute(
            "UPDATE jobs SET state = 'running', host = $1, lease_expires_at = $2, started_at = $3 WHERE id = $4",
            &[&host, &(now + lease_ms), &now, &id],
        )
        .await?;
        let job = job_by_id(&tx, id).await?;
        tx.commit().await?;
        Ok(job)
    }

    pub async fn heartbeat(&self, id: JobId, host: &str, lease_until: Millis) -> StoreResult<bool> {
        let n = self
            .execute(
                "UPDATE jobs SET lease_expires_at = $1 WHERE id = $2 AND host = $3 AND state = 'running'",
                &[&lease_until, &id, &host],
            )
            .await?;
        Ok(n == 1)
    }

    pub async fn finish(
        &self,
        id: JobId,
        host: &str,
        outcome: &Outcome,
        now: Millis,
    ) -> StoreResult<bool> {
        let n = self
            .execute(
                "UPDATE jobs SET state = 'done', verdict = $1, level = $2, note = $3, finished_at = $4, \
                 lease_expires_at = NULL WHERE id = $5 AND host = $6 AND state = 'running'",
                &[
                    &crate::job::verdict_str(outcome.verdict),
                    &i64::from(outcome.level),
                    &outcome.note,
                    &now,
                    &id,
                    &host,
                ],
            )
            .await?;
        Ok(n == 1)
    }

    pub async fn release(&self, id: JobId, host: &str) -> StoreResult<bool> {
        let n = self
            .execute(
                "UPDATE jobs SET state = 'queued', host = NULL, lease_expires_at = NULL, started_at = NULL \
                 WHERE id = $1 AND host = $2 AND state = 'running'",
                &[&id, &host],
            )
            .await?;
        Ok(n == 1)
    }

    pub async fn requeue_expired(&self, now: Millis) -> StoreResult<Vec<JobId>> {
        let guard = self.client().await?;
        let client = guard
            .as_ref()
            .ok_or_else(|| StoreError::Task("no connection".into()))?;
        requeue_expired_in(client, now).await
    }

    pub async fn supersede(&self, id: JobId, note: &str) -> StoreResult<bool> {
        let n = self
            .execute(
                "UPDATE jobs SET state = 'superseded', note = $1 WHERE id = $2 AND state = 'queued'",
                &[&note, &id],
            )
            .await?;
        Ok(n == 1)
    }

    pub async fn set_comment_id(&self, id: JobId, comment_id: i64) -> StoreResult<()> {
        self.execute(
            "UPDATE jobs SET comment_id = $1 WHERE id = $2",
            &[&comment_id, &id],
        )
        .await?;
        Ok(())
    }

    pub async fn swap_comment_id(
        &self,
        id: JobId,
        expected: Option<i64>,
        new: Option<i64>,
    ) -> StoreResult<bool> {
        let n = self
            .execute(
                "UPDATE jobs SET comment_id = $1 WHERE id = $2 AND comment_id IS NOT DISTINCT FROM $3",
                &[&new, &id, &expected],
            )
            .await?;
        Ok(n == 1)
    }

    pub async fn job(&self, id: JobId) -> StoreResult<Option<Job>> {
        let guard = self.client().await?;
        let client = guard
            .as_ref()
            .ok_or_else(|| StoreError::Task("no connection".into()))?;
        job_by_id(client, id).await
    }

    pub async fn jobs(&self, filter: &JobFilter) -> StoreResult<Vec<Job>> {
        let (clause, params) = schema::filter_clause(filter);
        let text = format!(
            "SELECT {JOB_COLUMNS} FROM jobs {clause} ORDER BY id DESC LIMIT {}",
            schema::limit_of(filter)
        );
        let guard = self.client().await?;
        let client = guard
            .as_ref()
            .ok_or_else(|| StoreError::Task("no connection".into()))?;
        let refs: Vec<&(dyn tokio_postgres::types::ToSql + Sync)> = params
            .iter()
            .map(|p| p as &(dyn tokio_postgres::types::ToSql + Sync))
            .collect();
        let rows = client.query(&text, &refs).await?;
        rows.iter().map(read_job).collect()
    }

    pub async fn hosts(&self) -> StoreResult<Vec<HostInfo>> {
        let guard = self.client().await?;
        let client = guard
            .as_ref()
            .ok_or_else(|| StoreError::Task("no connection".into()))?;
        let rows = client
            .query(
                "SELECT host, capacity, last_seen FROM hosts ORDER BY host",
                &[],
            )
            .await?;
        rows.iter()
            .map(|r| {
                let capacity: i64 = r.try_get(1)?;
                Ok(HostInfo {
                    host: r.try_get(0)?,
                    capacity: u32::try_from(capacity).unwrap_or(0),
                    last_seen: r.try_get(2)?,
                })
            })
            .collect()
    }
}
