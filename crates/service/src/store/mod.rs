//! The queue and the history: jobs, poll cursors, processed comment and delivery ids,
//! refusals, and the hosts that share the queue.
//!
//! Two backends with one behaviour: an embedded SQLite file (one host, no set-up) and
//! PostgreSQL (several hosts share one queue). [`Store`] is an enum rather than a trait object
//! so its methods can stay plain `async fn`s.
//!
//! Each piece is written once: the statements (`sql`), the schema (`schema`), how a row
//! maps into a job (`row`), and every operation that is one statement (here, over the
//! backends' `execute` and `query`). A backend holds only what differs: its connection, its
//! migration transaction, and the two multi-statement transactions, enqueue and claim.
//!
//! Invariants the schema enforces, not the code:
//! - at most one running job per recipe, over all hosts (a partial unique index), so two
//!   hosts racing for the same recipe cannot both win;
//! - a comment id and a webhook delivery id are recorded once (primary keys), in the same
//!   transaction as the job they queued, so restarts neither repeat nor lose a trigger.

mod postgres;
mod row;
mod schema;
mod sql;
mod sqlite;

use crate::job::{HostInfo, Job, JobFilter, JobId, Millis, NewJob, Outcome};
use crate::policy;
use row::{args, Columns, Param};

pub use postgres::PgStore;
pub use sqlite::SqliteStore;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("the database URL is neither `sqlite:PATH` nor `postgres://…`")]
    BadUrl,
    #[error("sqlite: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("postgres: {0}")]
    Postgres(#[from] tokio_postgres::Error),
    #[error(
        "database schema version {found} is newer than this build knows ({known}); upgrade ccci"
    )]
    SchemaTooNew { found: i64, known: i64 },
    #[error("stored row is corrupt: {0}")]
    Corrupt(String),
    #[error("database task failed: {0}")]
    Task(String),
}

pub type StoreResult<T> = Result<T, StoreError>;

/// The jobs that ended, counted (see [`Store::ended_counts`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct EndedCounts {
    /// Runs this host finished GREEN.
    pub green: u64,
    /// Runs this host finished RED.
    pub red: u64,
    /// Runs this host stopped because someone cancelled them (not a verdict).
    pub cancelled: u64,
    /// Runs this host ended with cc-ci's own error (not a verdict).
    pub error: u64,
    /// Queued jobs superseded, over the whole store.
    pub superseded: u64,
}

/// How many jobs wait and run right now, over all hosts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ActiveCounts {
    pub queued: u64,
    pub running: u64,
}

/// One recipe's share of the newest jobs ([`Store::recent_by_recipe`]).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RecipeTally {
    pub recipe: String,
    /// Of its newest jobs, how many finished (`done`) and how many of those were green.
    pub finished: u64,
    pub green: u64,
}

/// What [`Store::heartbeat`] found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Heartbeat {
    /// The lease is renewed; `cancel_requested_by` is set once someone asked to cancel.
    Held { cancel_requested_by: Option<String> },
    /// The job is no longer this host's (its lease expired and it was re-queued or taken).
    Lost,
}

/// What [`Store::cancel`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cancelled {
    /// The job was queued: it is cancelled and never runs.
    BeforeStart,
    /// The job runs: the host running it stops it with its next heartbeat.
    Requested,
    /// The job had already ended (or a cancel was already asked for).
    NotActive,
}

/// What [`Store::enqueue`] did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Enqueued {
    /// A new job; older queued jobs of the same PR were superseded by it.
    Queued { id: JobId, superseded: Vec<Job> },
    /// The triggering comment was already processed (a restart, a replay): nothing queued.
    AlreadyProcessed,
}

/// The queue at one moment: what runs, what waits (oldest first).
#[derive(Clone, Debug, Default)]
pub struct QueueView {
    pub running: Vec<Job>,
    pub queued: Vec<Job>,
    /// Total slots over hosts seen recently.
    pub capacity: u32,
}

impl QueueView {
    /// What the queued job `id` waits behind, in words.
    pub fn wait_reason(&self, id: JobId) -> Option<policy::WaitReason> {
        let queued: Vec<policy::Queued> = self
            .queued
            .iter()
            .map(|j| policy::Queued {
                id: j.id,
                recipe: j.request.recipe.clone(),
            })
            .collect();
        let running: Vec<policy::Running> = self
            .running
            .iter()
            .map(|j| policy::Running {
                id: j.id,
                recipe: j.request.recipe.clone(),
                host: j.host.clone().unwrap_or_default(),
            })
            .collect();
        let snapshot = policy::Snapshot {
            queued: &queued,
            running: &running,
        };
        policy::wait_reason(&snapshot, id, self.capacity)
    }
}

/// The parameters of [`sql::INSERT_JOB`].
fn insert_args(job: &NewJob, now: Millis) -> StoreResult<[Param; 9]> {
    let flags = serde_json::to_string(&job.request.flags)
        .map_err(|e| StoreError::Corrupt(e.to_string()))?;
    Ok(args![
        job.request.recipe.clone(),
        job.request.repo.clone(),
        job.request.pr_number,
        job.request.head_sha.clone(),
        job.request.git_ref.clone(),
        job.request.clone_url.clone(),
        flags,
        job.request.requested_by.clone(),
        now,
    ])
}

/// The parameters of [`sql::START`]: job `id` starts under `lease`.
fn start_args(lease: &Lease, id: JobId) -> [Param; 4] {
    args![lease.host.clone(), lease.until, lease.now, id]
}

/// The fair queue rule over what a claim read: which queued job `lease.host` starts, if any.
fn next_to_start(
    queued: &[policy::Queued],
    running: &[policy::Running],
    lease: &Lease,
) -> Option<JobId> {
    let snapshot = policy::Snapshot { queued, running };
    policy::next_to_start(&snapshot, &lease.host, lease.capacity)
}

/// Hosts not seen for this long no longer count towards the shared capacity.
pub const HOST_ALIVE_MS: Millis = 5 * 60 * 1000;

/// What a claim asks for: a lease for `host` (which offers `capacity` slots) until `until`.
struct Lease {
    host: String,
    capacity: u32,
    until: Millis,
    now: Millis,
}

pub enum Store {
    Sqlite(SqliteStore),
    Postgres(Box<PgStore>),
}

macro_rules! dispatch {
    ($self:ident . $method:ident ( $($arg:expr),* )) => {
        match $self {
            Store::Sqlite(s) => s.$method($($arg),*).await,
            Store::Postgres(s) => s.$method($($arg),*).await,
        }
    };
}

impl Store {
    /// Opens (and creates or migrates) the store at `url`: `sqlite:PATH` or `postgres://…`.
    pub async fn open(url: &str) -> StoreResult<Store> {
        if let Some(path) = url.strip_prefix("sqlite:") {
            let path = path.strip_prefix("//").unwrap_or(path);
            Ok(Store::Sqlite(SqliteStore::open(path.as_ref()).await?))
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(Store::Postgres(Box::new(PgStore::connect(url).await?)))
        } else {
            Err(StoreError::BadUrl)
        }
    }

    pub fn backend(&self) -> &'static str {
        match self {
            Store::Sqlite(_) => "sqlite",
            Store::Postgres(_) => "postgres",
        }
    }

    /// Queues a job, supersedes older queued jobs of the same PR, and records the triggering
    /// comment as processed — all in one transaction.
    pub async fn enqueue(&self, job: &NewJob, now: Millis) -> StoreResult<Enqueued> {
        dispatch!(self.enqueue(job, now))
    }

    /// Records a comment that queued nothing (not a trigger, refused). True when it was new.
    pub async fn mark_comment_processed(
        &self,
        repo: &str,
        comment_id: i64,
        now: Millis,
    ) -> StoreResult<bool> {
        self.execute_once(sql::MARK_COMMENT, &args![repo, comment_id, now])
            .await
    }

    pub async fn is_comment_processed(&self, repo: &str, comment_id: i64) -> StoreResult<bool> {
        let rows = self
            .query(sql::IS_COMMENT_PROCESSED, &args![repo, comment_id], |_| {
                Ok(())
            })
            .await?;
        Ok(!rows.is_empty())
    }

    /// Records a webhook delivery id. True when it was new (false = a replay).
    pub async fn record_delivery(&self, delivery_id: &str, now: Millis) -> StoreResult<bool> {
        self.execute_once(sql::RECORD_DELIVERY, &args![delivery_id, now])
            .await
    }

    /// Records that a PR got its refusal. True the first time for that PR.
    pub async fn record_refusal(&self, repo: &str, pr: i64, now: Millis) -> StoreResult<bool> {
        self.execute_once(sql::RECORD_REFUSAL, &args![repo, pr, now])
            .await
    }

    pub async fn cursor(&self, repo: &str) -> StoreResult<Option<String>> {
        let rows = self
            .query(sql::CURSOR, &args![repo], |r| r.required_text("cursor"))
            .await?;
        Ok(rows.into_iter().next())
    }

    pub async fn set_cursor(&self, repo: &str, cursor: &str, now: Millis) -> StoreResult<()> {
        self.execute(sql::SET_CURSOR, &args![repo, cursor, now])
            .await?;
        Ok(())
    }

    /// Announces this host and its capacity (called on start and with every claim round).
    pub async fn register_host(&self, host: &str, capacity: u32, now: Millis) -> StoreResult<()> {
        self.execute(sql::REGISTER_HOST, &args![host, i64::from(capacity), now])
            .await?;
        Ok(())
    }

    /// In one transaction: re-queue jobs whose lease expired, then start the job the policy
    /// picks for `host`, holding a lease until `now + lease_ms`.
    pub async fn claim(
        &self,
        host: &str,
        capacity: u32,
        lease_ms: Millis,
        now: Millis,
    ) -> StoreResult<Option<Job>> {
        let lease = Lease {
            host: host.to_string(),
            capacity,
            until: now + lease_ms,
            now,
        };
        dispatch!(self.claim(lease))
    }

    /// Extends the lease and reads whether a cancel was asked for. [`Heartbeat::Lost`] when
    /// the job is no longer this host's (it expired and was re-queued or taken): the caller
    /// should stop the run. Every host sees a cancel this way, whichever host took it.
    pub async fn heartbeat(
        &self,
        id: JobId,
        host: &str,
        lease_until: Millis,
    ) -> StoreResult<Heartbeat> {
        let rows = self
            .query(sql::HEARTBEAT, &args![lease_until, id, host], |r| {
                r.required_text("cancel_requested_by")
            })
            .await?;
        Ok(match rows.into_iter().next() {
            None => Heartbeat::Lost,
            Some(by) => Heartbeat::Held {
                cancel_requested_by: Some(by).filter(|b| !b.is_empty()),
            },
        })
    }

    /// Cancels job `id` for `by` (a login, or "an operator"): a queued job ends cancelled
    /// at once; a running one is marked for its host to stop.
    pub async fn cancel(&self, id: JobId, by: &str, now: Millis) -> StoreResult<Cancelled> {
        let note = format!("cancelled by {by}");
        if self
            .execute_once(sql::CANCEL_QUEUED, &args![note, now, by, id])
            .await?
        {
            return Ok(Cancelled::BeforeStart);
        }
        if self
            .execute_once(sql::REQUEST_CANCEL, &args![by, id])
            .await?
        {
            return Ok(Cancelled::Requested);
        }
        Ok(Cancelled::NotActive)
    }

    /// The queued and running jobs of one PR, newest first.
    pub async fn active_jobs_of_pr(&self, repo: &str, pr: i64) -> StoreResult<Vec<Job>> {
        self.query(&sql::active_of_pr(), &args![repo, pr], row::job_from_row)
            .await
    }

    /// cc-ci's own failure ended a run: back to the queue for its retry, counted in
    /// `ccci_errors`. False when the job was no longer this host's.
    pub async fn retry_after_ccci_error(
        &self,
        id: JobId,
        host: &str,
        note: &str,
    ) -> StoreResult<bool> {
        self.execute_once(sql::RETRY_AFTER_CCCI_ERROR, &args![note, id, host])
            .await
    }

    /// Records the end of a run. False when the job was no longer this host's.
    pub async fn finish(
        &self,
        id: JobId,
        host: &str,
        outcome: &Outcome,
        now: Millis,
    ) -> StoreResult<bool> {
        let verdict = outcome.end.name();
        let level = i64::from(outcome.level);
        let args = args![verdict, level, outcome.note.clone(), now, id, host];
        self.execute_once(sql::FINISH, &args).await
    }

    /// Gives a running job back to the queue (graceful shutdown).
    pub async fn release(&self, id: JobId, host: &str) -> StoreResult<bool> {
        self.execute_once(sql::RELEASE, &args![id, host]).await
    }

    /// Re-queues running jobs whose lease expired before `now`; returns their ids.
    pub async fn requeue_expired(&self, now: Millis) -> StoreResult<Vec<JobId>> {
        let mut ids = self
            .query(sql::REQUEUE_EXPIRED, &args![now], row::id_from_row)
            .await?;
        ids.sort_unstable();
        Ok(ids)
    }

    /// Marks a queued job superseded (e.g. the PR head moved). False if it was not queued.
    pub async fn supersede(&self, id: JobId, note: &str) -> StoreResult<bool> {
        self.execute_once(sql::SUPERSEDE, &args![note, id]).await
    }

    pub async fn set_comment_id(&self, id: JobId, comment_id: i64) -> StoreResult<()> {
        self.execute(sql::SET_COMMENT_ID, &args![comment_id, id])
            .await?;
        Ok(())
    }

    /// Compare-and-set of a job's sticky comment id: sets `new` only if it is `expected`
    /// now; true when it did. Hosts use it to agree on who posts the comment.
    pub async fn swap_comment_id(
        &self,
        id: JobId,
        expected: Option<i64>,
        new: Option<i64>,
    ) -> StoreResult<bool> {
        self.execute_once(sql::SWAP_COMMENT_ID, &args![new, id, expected])
            .await
    }

    pub async fn job(&self, id: JobId) -> StoreResult<Option<Job>> {
        let rows = self
            .query(&sql::job_by_id(), &args![id], row::job_from_row)
            .await?;
        Ok(rows.into_iter().next())
    }

    /// Jobs, newest first.
    pub async fn jobs(&self, filter: &JobFilter) -> StoreResult<Vec<Job>> {
        let (text, params) = sql::jobs(filter);
        self.query(&text, &params, row::job_from_row).await
    }

    /// The recipes among the newest `newest` jobs, by name, with how many of their jobs
    /// finished and were green: one aggregate query, no job loaded.
    pub async fn recent_by_recipe(&self, newest: u32) -> StoreResult<Vec<RecipeTally>> {
        let newest = i64::from(newest);
        self.query(sql::RECENT_BY_RECIPE, &args![newest], row::tally_from_row)
            .await
    }

    pub async fn hosts(&self) -> StoreResult<Vec<HostInfo>> {
        self.query(sql::HOSTS, &args![], row::host_from_row).await
    }

    /// The runs `host` finished, by verdict, and the superseded jobs: one aggregate query,
    /// however long the history.
    pub async fn ended_counts(&self, host: &str) -> StoreResult<EndedCounts> {
        let rows = self
            .query(sql::COUNT_ENDED, &args![host], row::count_from_row)
            .await?;
        let mut counts = EndedCounts::default();
        for (state, verdict, n) in rows {
            match (state.as_str(), verdict.as_str()) {
                ("done", "green") => counts.green += n,
                ("done", "cancelled") => counts.cancelled += n,
                ("done", "error") => counts.error += n,
                ("done", _) => counts.red += n,
                _ => counts.superseded += n,
            }
        }
        Ok(counts)
    }

    /// How many jobs are queued and running: one aggregate query.
    pub async fn active_counts(&self) -> StoreResult<ActiveCounts> {
        let rows = self
            .query(sql::COUNT_ACTIVE, &args![], row::count_from_row)
            .await?;
        let mut counts = ActiveCounts::default();
        for (state, _, n) in rows {
            match state.as_str() {
                "running" => counts.running += n,
                _ => counts.queued += n,
            }
        }
        Ok(counts)
    }

    /// The slots offered by the hosts seen in the last [`HOST_ALIVE_MS`].
    pub async fn live_capacity(&self, now: Millis) -> StoreResult<u32> {
        Ok(self
            .hosts()
            .await?
            .iter()
            .filter(|h| now - h.last_seen <= HOST_ALIVE_MS)
            .map(|h| h.capacity)
            .sum())
    }

    /// Runs one statement; returns how many rows it changed.
    async fn execute(&self, statement: &str, params: &[Param]) -> StoreResult<u64> {
        dispatch!(self.execute(statement, params))
    }

    /// Runs one statement that changes at most one row; true when it changed one.
    async fn execute_once(&self, statement: &str, params: &[Param]) -> StoreResult<bool> {
        Ok(self.execute(statement, params).await? == 1)
    }

    /// Runs one statement and maps each row it returns.
    async fn query<T: Send + 'static>(
        &self,
        statement: &str,
        params: &[Param],
        map: fn(&dyn Columns) -> StoreResult<T>,
    ) -> StoreResult<Vec<T>> {
        dispatch!(self.query(statement, params, map))
    }

    /// Running and queued jobs, and the capacity of the hosts seen in the last
    /// [`HOST_ALIVE_MS`].
    pub async fn queue(&self, now: Millis) -> StoreResult<QueueView> {
        let running = self
            .jobs(&JobFilter {
                state: Some(crate::job::JobState::Running),
                limit: Some(10_000),
                ..JobFilter::default()
            })
            .await?;
        let mut queued = self
            .jobs(&JobFilter {
                state: Some(crate::job::JobState::Queued),
                limit: Some(10_000),
                ..JobFilter::default()
            })
            .await?;
        queued.reverse();
        let capacity = self.live_capacity(now).await?;
        Ok(QueueView {
            running,
            queued,
            capacity,
        })
    }
}
