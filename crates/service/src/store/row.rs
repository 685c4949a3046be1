//! What both backends bind and read, written once: [`Param`] is a bound value, [`Columns`]
//! reads one result row by column name, and the `*_from_row` functions map a row into the
//! crate's types. Each backend only implements the two traits' plumbing for its driver.

use super::{StoreError, StoreResult};
use crate::job::{HostInfo, Job, JobRequest, JobState};
use crate::policy;

/// A bound statement parameter. Every column of the schema is an integer or text.
#[derive(Clone, Debug)]
pub enum Param {
    Int(Option<i64>),
    Text(Option<String>),
}

impl From<i64> for Param {
    fn from(v: i64) -> Param {
        Param::Int(Some(v))
    }
}

impl From<Option<i64>> for Param {
    fn from(v: Option<i64>) -> Param {
        Param::Int(v)
    }
}

impl From<&str> for Param {
    fn from(v: &str) -> Param {
        Param::Text(Some(v.to_string()))
    }
}

impl From<String> for Param {
    fn from(v: String) -> Param {
        Param::Text(Some(v))
    }
}

impl From<Option<String>> for Param {
    fn from(v: Option<String>) -> Param {
        Param::Text(v)
    }
}

/// `args![a, b]` = the statement parameters `$1 = a`, `$2 = b`.
macro_rules! args {
    ($($arg:expr),* $(,)?) => {
        [$($crate::store::row::Param::from($arg)),*]
    };
}
pub(crate) use args;

/// One result row, read by column name. `None` is SQL `NULL`.
pub trait Columns {
    fn int(&self, column: &str) -> StoreResult<Option<i64>>;
    fn text(&self, column: &str) -> StoreResult<Option<String>>;

    fn required_int(&self, column: &str) -> StoreResult<i64> {
        self.int(column)?.ok_or_else(|| null(column))
    }

    fn required_text(&self, column: &str) -> StoreResult<String> {
        self.text(column)?.ok_or_else(|| null(column))
    }
}

fn null(column: &str) -> StoreError {
    StoreError::Corrupt(format!("column {column} is NULL"))
}

/// Maps a row of [`super::schema::JOB_COLUMNS`].
pub fn job_from_row(row: &dyn Columns) -> StoreResult<Job> {
    use StoreError::Corrupt;
    let id = row.required_int("id")?;
    let state = row.required_text("state")?;
    let state =
        JobState::parse(&state).ok_or_else(|| Corrupt(format!("job {id}: state {state:?}")))?;
    let end = match row.text("verdict")? {
        None => None,
        Some(v) => Some(
            ccci_core::run_end::RunEnd::parse(&v)
                .ok_or_else(|| Corrupt(format!("job {id}: verdict {v:?}")))?,
        ),
    };
    let flags = serde_json::from_str(&row.required_text("flags")?)
        .map_err(|e| Corrupt(format!("job {id}: flags: {e}")))?;
    Ok(Job {
        id,
        request: JobRequest {
            recipe: row.required_text("recipe")?,
            repo: row.required_text("repo")?,
            pr_number: row.int("pr_number")?,
            head_sha: row.required_text("head_sha")?,
            git_ref: row.text("git_ref")?,
            clone_url: row.required_text("clone_url")?,
            flags,
            requested_by: row.text("requested_by")?,
        },
        state,
        end,
        level: row.int("level")?.and_then(|l| u8::try_from(l).ok()),
        host: row.text("host")?,
        lease_expires_at: row.int("lease_expires_at")?,
        enqueued_at: row.required_int("enqueued_at")?,
        started_at: row.int("started_at")?,
        finished_at: row.int("finished_at")?,
        comment_id: row.int("comment_id")?,
        attempts: row.required_int("attempts")?,
        note: row.text("note")?,
        cancel_requested_by: row.text("cancel_requested_by")?,
        ccci_errors: row.required_int("ccci_errors")?,
    })
}

/// Maps a row of [`super::sql::HOSTS`].
pub fn host_from_row(row: &dyn Columns) -> StoreResult<HostInfo> {
    Ok(HostInfo {
        host: row.required_text("host")?,
        capacity: u32::try_from(row.required_int("capacity")?).unwrap_or(0),
        last_seen: row.required_int("last_seen")?,
    })
}

/// Maps a row of [`super::sql::QUEUED`] or [`super::sql::QUEUED_LOCKED`].
pub fn queued_from_row(row: &dyn Columns) -> StoreResult<policy::Queued> {
    Ok(policy::Queued {
        id: row.required_int("id")?,
        recipe: row.required_text("recipe")?,
    })
}

/// Maps a row of [`super::sql::RUNNING`].
pub fn running_from_row(row: &dyn Columns) -> StoreResult<policy::Running> {
    Ok(policy::Running {
        id: row.required_int("id")?,
        recipe: row.required_text("recipe")?,
        host: row.required_text("host")?,
    })
}

/// Maps a row of [`super::sql::COUNT_ENDED`] or [`super::sql::COUNT_ACTIVE`]: a state, a
/// verdict (empty where the statement has none) and a count.
pub fn count_from_row(row: &dyn Columns) -> StoreResult<(String, String, u64)> {
    let verdict = row.text("verdict")?.unwrap_or_default();
    let n = u64::try_from(row.required_int("n")?)
        .map_err(|_| StoreError::Corrupt("a negative count".into()))?;
    Ok((row.required_text("state")?, verdict, n))
}

/// Maps a row of [`super::sql::RECENT_BY_RECIPE`].
pub fn tally_from_row(row: &dyn Columns) -> StoreResult<super::RecipeTally> {
    let count = |column: &str| -> StoreResult<u64> {
        u64::try_from(row.int(column)?.unwrap_or(0))
            .map_err(|_| StoreError::Corrupt(format!("a negative {column} count")))
    };
    Ok(super::RecipeTally {
        recipe: row.required_text("recipe")?,
        finished: count("finished")?,
        green: count("green")?,
    })
}

pub fn id_from_row(row: &dyn Columns) -> StoreResult<i64> {
    row.required_int("id")
}

/// The one row a statement returns (an aggregate, an `INSERT … RETURNING`).
pub fn one<T>(rows: Vec<T>) -> StoreResult<T> {
    rows.into_iter()
        .next()
        .ok_or_else(|| StoreError::Corrupt("a statement returned no row".into()))
}
