//! The PostgreSQL backend: several hosts share one queue. A claim locks the queued rows it
//! looks at with `FOR UPDATE SKIP LOCKED`, so concurrent claimers never wait on each other
//! and never take the same job; the partial unique index on running recipes settles the one
//! race SKIP LOCKED cannot see (two hosts picking two different jobs of one recipe).

use super::row::{self, args, Columns, Param};
use super::schema::{self, Dialect};
use super::{sql, Enqueued, Lease, StoreError, StoreResult};
use crate::job::{Job, Millis, NewJob};
use tokio::sync::{Mutex, MutexGuard};
use tokio_postgres::types::ToSql;
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

impl Columns for Row {
    fn int(&self, column: &str) -> StoreResult<Option<i64>> {
        Ok(self.try_get(column)?)
    }

    fn text(&self, column: &str) -> StoreResult<Option<String>> {
        Ok(self.try_get(column)?)
    }
}

/// The driver's view of the parameters: `Option<i64>` binds as `BIGINT`, `Option<String>`
/// as `TEXT`.
fn bind(params: &[Param]) -> Vec<&(dyn ToSql + Sync)> {
    params
        .iter()
        .map(|p| match p {
            Param::Int(v) => v as &(dyn ToSql + Sync),
            Param::Text(v) => v as &(dyn ToSql + Sync),
        })
        .collect()
}

async fn execute(
    client: &impl GenericClient,
    statement: &str,
    params: &[Param],
) -> StoreResult<u64> {
    Ok(client.execute(statement, &bind(params)).await?)
}

async fn query<T>(
    client: &impl GenericClient,
    statement: &str,
    params: &[Param],
    map: fn(&dyn Columns) -> StoreResult<T>,
) -> StoreResult<Vec<T>> {
    let rows = client.query(statement, &bind(params)).await?;
    rows.iter().map(|r| map(r)).collect()
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
    tx.batch_execute(&schema::version_table(Dialect::Postgres))
        .await?;
    let current = query(&tx, sql::SCHEMA_VERSION, &[], |r| r.required_int("version")).await?;
    for (version, migration) in schema::pending(Dialect::Postgres, row::one(current)?)? {
        tx.batch_execute(&migration).await?;
        execute(&tx, sql::RECORD_SCHEMA_VERSION, &args![version]).await?;
    }
    tx.commit().await?;
    Ok(())
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
    async fn client(&self) -> StoreResult<MutexGuard<'_, Option<Client>>> {
        let mut guard = self.client.lock().await;
        if guard.as_ref().is_none_or(|c| c.is_closed()) {
            *guard = None;
            *guard = Some(connect(&self.url).await?);
        }
        Ok(guard)
    }

    pub(super) async fn execute(&self, statement: &str, params: &[Param]) -> StoreResult<u64> {
        let mut guard = self.client().await?;
        execute(connected(&mut guard)?, statement, params).await
    }

    pub(super) async fn query<T>(
        &self,
        statement: &str,
        params: &[Param],
        map: fn(&dyn Columns) -> StoreResult<T>,
    ) -> StoreResult<Vec<T>> {
        let mut guard = self.client().await?;
        query(connected(&mut guard)?, statement, params, map).await
    }

    pub(super) async fn enqueue(&self, job: &NewJob, now: Millis) -> StoreResult<Enqueued> {
        let mut guard = self.client().await?;
        let tx = connected(&mut guard)?.transaction().await?;
        if let Some(comment) = job.trigger_comment_id {
            // Claim the comment id first: a concurrent enqueue of the same comment blocks on
            // this row and then finds it taken.
            if execute(
                &tx,
                sql::MARK_COMMENT,
                &args![job.request.repo.clone(), comment, now],
            )
            .await?
                == 0
            {
                return Ok(Enqueued::AlreadyProcessed);
            }
        }
        let insert = super::insert_args(job, now)?;
        let id = row::one(query(&tx, sql::INSERT_JOB, &insert, row::id_from_row).await?)?;
        let mut superseded = Vec::new();
        if let Some(pr) = job.request.pr_number {
            let note = format!("superseded by run {id}");
            let args = args![note, job.request.repo.clone(), pr, id];
            superseded = query(&tx, &sql::supersede_older(), &args, row::job_from_row).await?;
            superseded.sort_by_key(|j| j.id);
        }
        if let Some(comment) = job.trigger_comment_id {
            execute(
                &tx,
                sql::COMMENT_JOB,
                &args![id, job.request.repo.clone(), comment],
            )
            .await?;
        }
        tx.commit().await?;
        Ok(Enqueued::Queued { id, superseded })
    }

    pub(super) async fn claim(&self, lease: Lease) -> StoreResult<Option<Job>> {
        // A lost race on the per-recipe unique index rolls the attempt back; try again a few
        // times with a fresh snapshot.
        for _ in 0..5 {
            match self.try_claim(&lease).await {
                Err(StoreError::Postgres(e)) if e.code() == Some(&SqlState::UNIQUE_VIOLATION) => {
                    continue
                }
                other => return other,
            }
        }
        Ok(None)
    }

    async fn try_claim(&self, lease: &Lease) -> StoreResult<Option<Job>> {
        let mut guard = self.client().await?;
        let tx = connected(&mut guard)?.transaction().await?;
        query(
            &tx,
            sql::REQUEUE_EXPIRED,
            &args![lease.now],
            row::id_from_row,
        )
        .await?;
        // Lock the queue rows first, read the running set after: a job another claimer took
        // while we waited is then seen as running, not as queued.
        let queued = query(&tx, sql::QUEUED_LOCKED, &[], row::queued_from_row).await?;
        let running = query(&tx, sql::RUNNING, &[], row::running_from_row).await?;
        let Some(id) = super::next_to_start(&queued, &running, lease) else {
            tx.commit().await?;
            return Ok(None);
        };
        execute(&tx, sql::START, &super::start_args(lease, id)).await?;
        let job = query(&tx, &sql::job_by_id(), &args![id], row::job_from_row).await?;
        tx.commit().await?;
        Ok(job.into_iter().next())
    }
}

fn connected<'a>(guard: &'a mut MutexGuard<'_, Option<Client>>) -> StoreResult<&'a mut Client> {
    guard
        .as_mut()
        .ok_or_else(|| StoreError::Task("no connection".into()))
}
