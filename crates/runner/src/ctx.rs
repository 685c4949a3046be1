//! A run's context: everything a rung needs (the engine, the app, the suite, the
//! checkouts, progress, the redactor, the readiness history). The deploy it performs lives
//! in [`crate::deploy`], the readiness waits on it in [`crate::ready`].

use crate::app::{App, DeploySource};
use crate::canonical::Attached;
use crate::progress::Progress;
use crate::source::Checkouts;
use ccci_adapters::engine::Engine;
use ccci_core::readiness::{self, CrashLoopPolicy};
use ccci_core::results::Failure;
use ccci_core::secret::Redactor;
use ccci_core::suite::Suite;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Instant;

/// Everything a rung needs.
pub struct RunCtx {
    pub engine: Engine,
    pub app: App,
    pub suite: Suite,
    pub suite_dir: Option<PathBuf>,
    pub checkouts: Checkouts,
    pub out_dir: PathBuf,
    pub progress: Progress,
    pub redactor: Redactor,
    pub deploy_count: u32,
    pub timings: BTreeMap<String, u64>,
    /// What earlier observations of the stack showed (services still starting, tasks that
    /// were up, the last deploy): the readiness waits and the stays-up watcher both feed it
    /// and judge with it, so patience and "stays up" see every observation. A std mutex,
    /// never held across an await.
    pub history: std::sync::Arc<std::sync::Mutex<readiness::History>>,
    /// `depends_on` of the deployed checkout's services (compose; swarm ignores it).
    pub depends_on: BTreeMap<String, Vec<String>>,
    pub head_version: Option<String>,
    /// The first failure of the run, with its details (service, task error, log tail).
    pub first_failure: Option<Failure>,
    /// The first failure of cc-ci's own machinery (its forwarder or a sandbox could not
    /// start): recorded by the adapter that saw it (a std mutex: sandboxed programs see
    /// only `&RunCtx`; never held across an await), its rung named when that rung fails.
    /// The judge makes it a cc-ci error, not RED.
    pub rig_failure: std::sync::Mutex<Option<Failure>>,
    /// `--extra`: also run the suite's heavy opt-in tests (`tests/extra/`).
    pub extra: bool,
    /// A quick run: the warm canonical it reattaches (install = reattach its known-good
    /// version with its kept secrets and volumes).
    pub warm: Option<Attached>,
    /// Which suite judges the run (`suite`, `suite_dir`) and what of the head's own `.ccci/`
    /// was ignored or runs as extra checks (docs/behaviour.md §7, integrity).
    pub judged_by: crate::integrity::JudgedBy,
    /// The base release's host-access grants, from its own files and environment: computed
    /// by the first deploy check that needs them ([`crate::host_access`]).
    pub base_grants: Option<Vec<ccci_core::host_access::Grant>>,
    /// Bad input met by a deploy: the pull of its judged document failed
    /// ([`crate::pull`]). The rung fails with its message; the run then ends as this error
    /// (exit 2, or 3 for the rig's), its app ended first, as a preflight failure would.
    pub bad_input: Option<crate::recipe::InputError>,
}

impl RunCtx {
    /// Records that cc-ci's own machinery failed (the first such failure is kept).
    pub fn record_rig_failure(&self, message: String) {
        let mut slot = self.rig_failure.lock().unwrap_or_else(|e| e.into_inner());
        slot.get_or_insert(Failure {
            message: self.redactor.redact(&message),
            ..Default::default()
        });
    }

    /// The rig failure, if any, as failing `rung` (the rung that was running when it
    /// happened, unless named already).
    pub fn rig_failure_failed(&self, rung: ccci_core::ladder::Rung) {
        let mut slot = self.rig_failure.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(f) = slot.as_mut() {
            f.rung.get_or_insert(rung);
        }
    }

    pub fn add_timing(&mut self, phase: &str, since: Instant) {
        *self.timings.entry(phase.to_string()).or_default() += since.elapsed().as_millis() as u64;
    }

    pub fn history_mut(&self) -> std::sync::MutexGuard<'_, readiness::History> {
        self.history
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The readiness policy with the suite's start grace.
    pub fn policy(&self) -> CrashLoopPolicy {
        CrashLoopPolicy {
            start_grace_ms: self.suite.start_grace_secs as i64 * 1000,
            ..CrashLoopPolicy::default()
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Which {
    Base,
    Head,
}

/// The checkout a deploy of `which` takes.
pub fn source_of(checkouts: &Checkouts, which: Which) -> DeploySource<'_> {
    match which {
        Which::Base => {
            let base = checkouts.base.as_ref().expect("base deploy needs a base");
            DeploySource {
                recipe: &base.recipe,
                version: base.version.clone(),
                chaos_commit: None,
            }
        }
        Which::Head => DeploySource {
            recipe: &checkouts.head.recipe,
            version: checkouts.head.version.clone(),
            chaos_commit: checkouts.head.chaos_commit.clone(),
        },
    }
}
