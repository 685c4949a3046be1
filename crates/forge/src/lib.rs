//! cc-ci's forge edge: everything that talks to Gitea or Forgejo, and the pure rules that
//! decide what a comment means.
//!
//! **Architecture invariant:** [`trigger`], [`approval`], [`hooks`] and [`webhook`] do no I/O (text and bytes in, a
//! decision out) and are tested with tables. Only [`client`] and [`poll`] touch the network,
//! and every request they make is bounded by the client's timeout. The forge token is a
//! [`ccci_core::secret::Secret`]: it goes into the `Authorization` header and nowhere else.
//!
//! # Layout
//! - [`trigger`]: `!testme` parsing and the trust decision (who may start runs, one refusal
//!   per PR, the bot ignores itself).
//! - [`approval`]: which commit a `!testme` approved (the PR head when the comment was
//!   made, proven from the forge's record of pushes, or the commit `--sha` names).
//! - [`api`]: the Gitea JSON objects cc-ci reads and writes, and validated repo names.
//! - [`client`]: [`GiteaClient`], the REST calls (PRs, comments, a PR's timeline,
//!   permissions, statuses, a repository's hooks).
//! - [`hooks`]: the webhook cc-ci registers itself: which hooks are cc-ci's (by URL) and
//!   what to do with them ([`hooks::plan_hooks`]: keep, edit, create, delete duplicates).
//! - [`poll`]: [`poll_new_comments`] and its persisted [`PollCursor`] (exactly-once contract).
//! - [`webhook`]: `X-Gitea-Signature` verification (two secrets, constant time) and the
//!   `issue_comment` payload.
//! - `gitea_standin` (feature `standin`): a Gitea stand-in server for tests.

pub mod api;
pub mod approval;
pub mod client;
#[cfg(feature = "standin")]
pub mod gitea_standin;
pub mod hooks;
pub mod poll;
pub mod trigger;
pub mod webhook;

pub use api::{
    Comment, CommitStatus, Hook, PullRequest, RepoName, StatusState, StatusUpdate, TimelineComment,
};
pub use approval::{approved_commit, Approval, ApprovalFacts, PushRecord, Refusal};
pub use client::{ForgeError, GiteaClient};
pub use poll::{poll_new_comments, PollCursor, PollOutcome, PolledComment, RepoCursor};
pub use trigger::{
    decide, parse_command, parse_trigger, Command, Decision, Permission, Trigger, TriggerError,
    TrustPolicy,
};
