//! Bad input: why a run cannot start, one variant per problem, each message naming the
//! file or flag, the problem and the fix. Re-exported as [`crate::recipe::InputError`].

use ccci_adapters::beneath::BeneathError;
use ccci_adapters::git::GitError;
use thiserror::Error;

/// Bad input: the run cannot start. Each message names the file, the problem and the fix.
/// Maps to exit code 2; nothing has been created on the engine when one is returned (a
/// pull that failed at a deploy — `MissingImage`, `RigPull` — is returned once what the
/// run created was removed).
#[derive(Debug, Error)]
pub enum InputError {
    #[error("{path}: not a recipe directory ({reason})")]
    NotARecipe { path: String, reason: String },
    #[error("{file}: {message}")]
    File { file: String, message: String },
    /// A recipe file cc-ci refuses to read (a link leaving the checkout, not a regular
    /// file, not UTF-8); the message names it and why, never its content.
    #[error("{file}: refused: {why}")]
    Unreadable { file: String, why: BeneathError },
    /// The image is not present and its pull failed: `reason` is the cause and its fix
    /// ([`ccci_core::pull_error`]).
    #[error("{file}: service `{service}` uses image `{image}`, which is not present locally and could not be pulled: {reason}")]
    MissingImage {
        file: String,
        service: String,
        image: String,
        reason: String,
    },
    /// The image is not present and its pull failed for a reason of the rig's (the
    /// registry does not answer, credentials missing or refused, cc-ci's time bound): not the
    /// recipe's mistake, so a run that meets it is cc-ci's error, never RED.
    #[error("service `{service}` uses image `{image}`, which could not be pulled because of this CI host, not the recipe: {reason}")]
    RigPull {
        service: String,
        image: String,
        reason: String,
    },
    /// The rig's settings (flags or `CCCI_*`), each problem naming its flag and fix.
    #[error(transparent)]
    Rig(#[from] crate::rig_settings::RigError),
    /// `--keep` is not a duration cc-ci keeps an app for (0 < keep ≤ 2h).
    #[error(transparent)]
    Keep(#[from] ccci_core::keep::KeepError),
    /// `ccci janitor --release` names no kept app, or one whose run is still running.
    #[error(transparent)]
    Release(#[from] ccci_core::keep::ReleaseError),
    /// `--stages` names a stage cc-ci does not know.
    #[error("--stages: unknown stage {name:?}; known: install, upgrade, backup_restore, functional, lint, integration")]
    UnknownStage { name: String },
    /// `--ref` given for a recipe that is a plain directory.
    #[error("{src}: --ref needs a git repository, and this is a plain directory")]
    RefNeedsGit { src: String },
    /// The recipe could not be cloned.
    #[error("{src}: git clone failed: {reason}")]
    CloneFailed { src: String, reason: GitError },
    /// The ref under test is not in the repository.
    #[error("{src}: ref {git_ref:?} not found (no such branch, tag, commit or pull ref)")]
    RefNotFound { src: String, git_ref: String },
    /// The ref under test could not be checked out.
    #[error("{src}: cannot check out {git_ref}: {reason}")]
    CheckoutFailed {
        src: String,
        git_ref: String,
        reason: GitError,
    },
    /// A git command on the recipe's clone failed.
    #[error(transparent)]
    Git(#[from] GitError),
    /// The run's work dir could not be made.
    #[error("creating {dir}: {reason}")]
    WorkDir { dir: String, reason: String },
    /// The upgrade base release could not be checked out.
    #[error("checking out base {tag}: {reason}")]
    BaseCheckout { tag: String, reason: GitError },
    /// The release whose suite judges the run could not be checked out.
    #[error("checking out {commit} for its suite: {reason}")]
    SuiteCheckout { commit: String, reason: GitError },
    /// The suite lists compose overlays but has no directory to find them in.
    #[error("suite lists compose overlay {overlay} but has no directory")]
    OverlayWithoutSuiteDir { overlay: String },
    /// No loopback port is free for the run's forwarder.
    #[error("cannot find a free loopback port for the app's forwarder: {reason}")]
    NoFreePort { reason: String },
    /// The rig has no proxy and the forwarder image is not built.
    #[error("the rig has no proxy and cc-ci's forwarder image {image} is missing: build it with images/build.sh")]
    NoForwarderImage { image: String },
    /// `ccci warm restore` of a recipe without a canonical.
    #[error("no warm canonical of {recipe}")]
    NoCanonical { recipe: String },
    /// A request the run's plan refuses (a seed with `--ref`, nothing to seed, a base that
    /// is no release).
    #[error(transparent)]
    Plan(#[from] ccci_core::plan::PlanError),
}

impl InputError {
    /// Whether the recipe (or the request) is at fault: the run is RED / exit 2. A pull that
    /// failed on the rig's side is the host's failure instead (`RunEnd::Error` / exit 3).
    pub fn is_the_recipes(&self) -> bool {
        !matches!(self, InputError::RigPull { .. })
    }
}
