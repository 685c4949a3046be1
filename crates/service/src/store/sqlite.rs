//! The SQLite backend: one file, WAL, no set-up. Claims run in an immediate transaction
//! (the write lock is taken at `BEGIN`), so two claimers on one file serialise.

use super::row::{self, args, Columns, Param};
use super::schema::{self, Dialect};
use super::{sql, Enqueued, Lease, StoreError, StoreResult};
use crate::job::{Job, Millis, NewJob};
use rusqlite::types::ToSqlOutput;
use rusqlite::{params_from_iter, Connection, ToSql, TransactionBehavior};
use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The connection lives behind a std mutex and every call runs on the blocking pool: SQLite
/// calls block, and they are short. The mutex is never held across an `.await`.
#[derive(Clone)]
pub struct SqliteStore {
    conn: Arc<Mutex<Connection>>,
}

impl ToSql for Param {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        match self {
            Param::Int(v) => v.to_sql(),
            Param::Text(v) => v.to_sql(),
        }
    }
}

/// A row with its statement's column indices, looked up once per statement: rusqlite's
/// lookup by name scans the column names case-insensitively on every call, which was the
/// larger part of loading a page of jobs.
struct IndexedRow<'a> {
    row: &'a rusqlite::Row<'a>,
    columns: &'a HashMap<String, usize>,
}

impl IndexedRow<'_> {
    fn index(&self, column: &str) -> StoreResult<usize> {
        self.columns
            .get(column)
            .copied()
            .ok_or_else(|| rusqlite::Error::InvalidColumnName(column.to_string()).into())
    }
}

impl Columns for IndexedRow<'_> {
    fn int(&self, column: &str) -> StoreResult<Option<i64>> {
        Ok(self.row.get(self.index(column)?)?)
    }

    fn text(&self, column: &str) -> StoreResult<Option<String>> {
        Ok(self.row.get(self.index(column)?)?)
    }
}

/// SQLite takes `?N`; the shared SQL is written with PostgreSQL's `$N`.
fn dialect(statement: &str) -> String {
    statement.replace('$', "?")
}

fn execute(conn: &Connection, statement: &str, params: &[Param]) -> StoreResult<u64> {
    let n = conn.execute(&dialect(statement), params_from_iter(params))?;
    Ok(n as u64)
}

fn query<T>(
    conn: &Connection,
    statement: &str,
    params: &[Param],
    map: fn(&dyn Columns) -> StoreResult<T>,
) -> StoreResult<Vec<T>> {
    let mut stmt = conn.prepare_cached(&dialect(statement))?;
    let columns: HashMap<String, usize> = stmt
        .column_names()
        .enumerate()
        .map(|(i, name)| (name.to_string(), i))
        .collect();
    let mut rows = stmt.query(params_from_iter(params))?;
    let mut out = Vec::new();
    while let Some(row) = rows.next()? {
        out.push(map(&IndexedRow {
            row,
            columns: &columns,
        })?);
    }
    Ok(out)
}

fn migrate(conn: &mut Connection) -> StoreResult<()> {
    conn.execute_batch(&schema::version_table(Dialect::Sqlite))?;
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let current = query(&tx, sql::SCHEMA_VERSION, &[], |r| r.required_int("version"))?;
    for (version, migration) in schema::pending(Dialect::Sqlite, row::one(current)?)? {
        tx.execute_batch(&migration)?;
        execute(&tx, sql::RECORD_SCHEMA_VERSION, &args![version])?;
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

    pub(super) async fn execute(&self, statement: &str, params: &[Param]) -> StoreResult<u64> {
        let (statement, params) = (statement.to_string(), params.to_vec());
        self.with(move |conn| execute(conn, &statement, &params))
            .await
    }

    pub(super) async fn query<T: Send + 'static>(
        &self,
        statement: &str,
        params: &[Param],
        map: fn(&dyn Columns) -> StoreResult<T>,
    ) -> StoreResult<Vec<T>> {
        let (statement, params) = (statement.to_string(), params.to_vec());
        self.with(move |conn| query(conn, &statement, &params, map))
            .await
    }

    pub(super) async fn enqueue(&self, job: &NewJob, now: Millis) -> StoreResult<Enqueued> {
        let job = job.clone();
        self.with(move |conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            if let Some(comment) = job.trigger_comment_id {
                if execute(
                    &tx,
                    sql::MARK_COMMENT,
                    &args![job.request.repo.clone(), comment, now],
                )? == 0
                {
                    return Ok(Enqueued::AlreadyProcessed);
                }
            }
            let insert = super::insert_args(&job, now)?;
            let id = row::one(query(&tx, sql::INSERT_JOB, &insert, row::id_from_row)?)?;
            let mut superseded = Vec::new();
            if let Some(pr) = job.request.pr_number {
                let note = format!("superseded by run {id}");
                let args = args![note, job.request.repo.clone(), pr, id];
                superseded = query(&tx, &sql::supersede_older(), &args, row::job_from_row)?;
                superseded.sort_by_key(|j| j.id);
            }
            if let Some(comment) = job.trigger_comment_id {
                execute(
                    &tx,
                    sql::COMMENT_JOB,
                    &args![id, job.request.repo.clone(), comment],
                )?;
            }
            tx.commit()?;
            Ok(Enqueued::Queued { id, superseded })
        })
        .await
    }

    pub(super) async fn claim(&self, lease: Lease) -> StoreResult<Option<Job>> {
        self.with(move |conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            query(
                &tx,
                sql::REQUEUE_EXPIRED,
                &args![lease.now],
                row::id_from_row,
            )?;
            let running = query(&tx, sql::RUNNING, &[], row::running_from_row)?;
            let queued = query(&tx, sql::QUEUED, &[], row::queued_from_row)?;
            let Some(id) = super::next_to_start(&queued, &running, &lease) else {
                tx.commit()?;
                return Ok(None);
            };
            execute(&tx, sql::START, &super::start_args(&lease, id))?;
            let job = query(&tx, &sql::job_by_id(), &args![id], row::job_from_row)?;
            tx.commit()?;
            Ok(job.into_iter().next())
        })
        .await
    }
}
