//! A job: one `!testme` (or one API request) waiting for, holding, or done with a runner slot.

use ccci_core::ladder::Rung;
use ccci_core::run_end::RunEnd;
use serde::{Deserialize, Serialize};
use std::fmt;

/// The store's id of a job; also the run id shown to people ("run 42").
pub type JobId = i64;

/// Milliseconds since the Unix epoch. Every timestamp in the store is one of these.
pub type Millis = i64;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JobState {
    Queued,
    Running,
    Done,
    /// A newer `!testme` on the same PR replaced it before it started.
    Superseded,
}

impl JobState {
    pub const ALL: [JobState; 4] = [
        JobState::Queued,
        JobState::Running,
        JobState::Done,
        JobState::Superseded,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            JobState::Queued => "queued",
            JobState::Running => "running",
            JobState::Done => "done",
            JobState::Superseded => "superseded",
        }
    }

    pub fn parse(s: &str) -> Option<JobState> {
        JobState::ALL.into_iter().find(|st| st.as_str() == s)
    }
}

impl fmt::Display for JobState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The `!testme` flags a job carries to the runner.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobFlags {
    #[serde(default)]
    pub quick: bool,
    #[serde(default)]
    pub extra: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stages: Option<Vec<Rung>>,
    /// `--keep`: a RED run keeps its app deployed this many seconds for debugging.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keep_secs: Option<u64>,
    /// `--sha`: the comment named the commit under test, so a later push does not
    /// supersede the job (the named commit stays what was approved).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub pinned: bool,
}

impl JobFlags {
    /// The flags as a `!testme` line would spell them, e.g. `--quick --stages install,upgrade`.
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        if self.quick {
            parts.push("--quick".to_string());
        }
        if self.extra {
            parts.push("--extra".to_string());
        }
        if let Some(stages) = &self.stages {
            let names: Vec<&str> = stages.iter().map(|r| r.name()).collect();
            parts.push(format!("--stages {}", names.join(",")));
        }
        if let Some(secs) = self.keep_secs {
            parts.push(format!(
                "--keep {}",
                ccci_core::keep::format_keep(std::time::Duration::from_secs(secs))
            ));
        }
        parts.join(" ")
    }
}

/// What a job asks for: the recipe and the commit under test, where the runner fetches
/// it, the flags and who asked. Queued in a [`NewJob`], held by every stored [`Job`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobRequest {
    pub recipe: String,
    /// `owner/name` on the forge.
    pub repo: String,
    /// The pull request, if the job came from one.
    pub pr_number: Option<i64>,
    /// The commit under test: the one the `!testme` approved (the PR head when the comment
    /// was made, or the commit its `--sha` named). Statuses and the run use it.
    pub head_sha: String,
    /// The ref the runner fetches (e.g. `refs/pull/7/head`); `None` = the default branch.
    pub git_ref: Option<String>,
    /// Where the runner clones the recipe from.
    pub clone_url: String,
    pub flags: JobFlags,
    /// Who asked (for the dashboard).
    pub requested_by: Option<String>,
}

/// What the poller or webhook asks the store to queue.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewJob {
    pub request: JobRequest,
    /// The comment that triggered it: recorded as processed in the same transaction.
    pub trigger_comment_id: Option<i64>,
}

/// A job as stored.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Job {
    pub id: JobId,
    /// What it asks for (its fields sit beside the others in the job's JSON).
    #[serde(flatten)]
    pub request: JobRequest,
    pub state: JobState,
    /// How it ended, once done (stored and shown as `verdict`: green, red, cancelled, error).
    #[serde(rename = "verdict")]
    pub end: Option<RunEnd>,
    pub level: Option<u8>,
    /// The host that holds (or held) it.
    pub host: Option<String>,
    pub lease_expires_at: Option<Millis>,
    pub enqueued_at: Millis,
    pub started_at: Option<Millis>,
    pub finished_at: Option<Millis>,
    /// The sticky PR comment this job edits.
    pub comment_id: Option<i64>,
    /// How many times a lease expired and the job went back to the queue.
    pub attempts: i64,
    /// A short note for people: why it went red without results, why it was superseded.
    pub note: Option<String>,
    /// Who asked to cancel it while it ran (`!testme cancel`, the run page): the host that
    /// runs it reads this with every heartbeat and stops the run.
    pub cancel_requested_by: Option<String>,
    /// How many times cc-ci's own failure ended a run of it (retried once, then `error`).
    pub ccci_errors: i64,
}

impl Job {
    pub fn short_sha(&self) -> &str {
        let sha = &self.request.head_sha;
        sha.get(..10).unwrap_or(sha)
    }
}

#[cfg(test)]
impl Job {
    /// A job of recipe `r` (repo `o/r`) in `state`, every other field empty: for unit tests.
    pub(crate) fn sample(state: JobState) -> Job {
        Job {
            id: 1,
            request: JobRequest {
                recipe: "r".into(),
                repo: "o/r".into(),
                pr_number: None,
                head_sha: String::new(),
                git_ref: None,
                clone_url: String::new(),
                flags: JobFlags::default(),
                requested_by: None,
            },
            state,
            end: None,
            level: None,
            host: None,
            lease_expires_at: None,
            enqueued_at: 0,
            started_at: None,
            finished_at: None,
            comment_id: None,
            attempts: 0,
            note: None,
            cancel_requested_by: None,
            ccci_errors: 0,
        }
    }
}

/// The end of a job, as the scheduler hands it to the store.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outcome {
    pub end: RunEnd,
    pub level: u8,
    pub note: Option<String>,
}

/// Filters for the runs list.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
pub struct JobFilter {
    pub recipe: Option<String>,
    /// `owner/name`.
    pub repo: Option<String>,
    pub pr_number: Option<i64>,
    /// Runs that ended so (`?verdict=red`).
    #[serde(rename = "verdict")]
    pub end: Option<RunEnd>,
    pub state: Option<JobState>,
    pub limit: Option<u32>,
    /// Only jobs older than this one (`id < before`): the next page of a newest-first list.
    pub before: Option<JobId>,
}

/// A runner host as seen by the shared store: how many slots it offers and when it last
/// said so.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HostInfo {
    pub host: String,
    pub capacity: u32,
    pub last_seen: Millis,
}

pub fn now_millis() -> Millis {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as Millis)
        .unwrap_or(0)
}
