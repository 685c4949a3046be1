//! A run's context: everything a rung needs (the engine, the app, the suite, the
//! checkouts, progress, the redactor, the readiness history) and the deploy it performs.
//! The readiness waits on it live in [`crate::ready`].

use crate::app::{App, PreparedDeploy};
use crate::canonical::Attached;
use crate::progress::Progress;
use crate::recipe::Recipe;
use crate::source::Checkouts;
use ccci_adapters::clock::now_ms;
use ccci_adapters::engine::Engine;
use ccci_core::compose::StackModel;
use ccci_core::deploy_error;
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

    /// Checks what deploying `which` would put on the swarm (see [`crate::host_access`]),
    /// deploying nothing.
    pub async fn check(&mut self, which: Which) -> Result<(), Failure> {
        let source = crate::host_access::source_of(&self.checkouts, which);
        // Before the upgrade, the head is checked with the `.env` it will be deployed with
        // (the upgraded one), the base with the installed one.
        let installed = match which {
            Which::Head => self
                .app
                .upgraded_env
                .clone()
                .map(|upgraded| std::mem::replace(&mut self.app.env, upgraded)),
            Which::Base => None,
        };
        let upgrading = installed.is_some();
        let prepared = self
            .app
            .prepare_deploy(&source)
            .map(|(prepared, _)| prepared);
        if let Some(env) = installed {
            self.app.env = env;
        }
        if upgrading && prepared.is_err() {
            // The head does not load with the upgraded `.env`: its upgrade fails at the
            // deploy, which checks (and refuses) before anything is deployed.
            return Ok(());
        }
        let prepared = prepared.map_err(|e| self.redacted(format!("{e:#}")))?;
        self.checked(which, &prepared).await
    }

    /// [`crate::host_access::check`], its refusal explained in the recipe's terms when
    /// docker's own words are a deploy error the author can fix, and redacted.
    async fn checked(&mut self, which: Which, prepared: &PreparedDeploy) -> Result<(), Failure> {
        crate::host_access::check(self, which, prepared)
            .await
            .map_err(|mut refused| {
                let recipe = crate::host_access::source_of(&self.checkouts, which).recipe;
                if let Some(explained) = explain_deploy_text(&refused.message, recipe, &self.app) {
                    refused.message = explained;
                }
                refused.message = self.redactor.redact(&refused.message);
                refused
            })
    }

    fn redacted(&self, message: String) -> Failure {
        Failure {
            message: self.redactor.redact(&message),
            ..Default::default()
        }
    }

    /// Deploys `which` once what docker would deploy passed the check, and counts it.
    /// Returns the stack model it deployed.
    pub async fn deploy(&mut self, which: Which) -> Result<StackModel, Failure> {
        let t = Instant::now();
        let source = crate::host_access::source_of(&self.checkouts, which);
        let version = source.version.clone();
        self.progress.line(&format!(
            "deploying {} {} as {}",
            self.app.recipe, version, self.app.stack
        ));
        let (prepared, model) = self
            .app
            .prepare_deploy(&source)
            .map_err(|e| self.redacted(format!("{e:#}")))?;
        self.depends_on = model
            .services
            .iter()
            .map(|(name, svc)| (name.clone(), svc.depends_on.clone()))
            .collect();
        self.checked(which, &prepared).await?;
        self.history_mut().deployed(now_ms());
        let result = self.app.deploy_prepared(&prepared).await;
        let recipe = crate::host_access::source_of(&self.checkouts, which).recipe;
        let explained = result
            .as_ref()
            .err()
            .and_then(|e| explain_deploy_error(e, recipe, &self.app));
        self.deploy_count += 1;
        self.add_timing("deploy", t);
        if matches!(which, Which::Head) {
            self.head_version = Some(version);
        }
        if let Some(rig) = result
            .as_ref()
            .err()
            .and_then(|e| e.downcast_ref::<ccci_adapters::rig_container::RigContainerError>())
        {
            self.record_rig_failure(rig.to_string());
        }
        result.map(|()| model).map_err(|e| Failure {
            message: self
                .redactor
                .redact(&explained.unwrap_or_else(|| format!("{e:#}"))),
            ..Default::default()
        })
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

/// A failed `docker stack deploy` the recipe author can fix, explained in the recipe's terms
/// (file, compose key, fix) and followed by docker's own line; `None` keeps docker's text.
fn explain_deploy_error(err: &anyhow::Error, recipe: &Recipe, app: &App) -> Option<String> {
    explain_deploy_text(&format!("{err:#}"), recipe, app)
}

/// [`explain_deploy_error`] of a message (`docker stack config` fails as the deploy would).
fn explain_deploy_text(text: &str, recipe: &Recipe, app: &App) -> Option<String> {
    let stderr = text.strip_prefix(&format!("docker stack deploy {} failed: ", app.stack))?;
    let compose_files = recipe
        .compose_files(&app.env)
        .ok()?
        .iter()
        .filter_map(|f| {
            let text = recipe.read_text(f).ok()??;
            let name = f
                .strip_prefix(&recipe.dir)
                .unwrap_or(f)
                .display()
                .to_string();
            Some((name, text))
        })
        .collect();
    let facts = deploy_error::RecipeFacts {
        stack: app.stack.clone(),
        compose_files,
        abra_sh: recipe
            .read_text(std::path::Path::new("abra.sh"))
            .ok()
            .flatten(),
        env_sample: recipe
            .read_text(std::path::Path::new(".env.sample"))
            .ok()
            .flatten(),
    };
    deploy_error::explain(stderr, &facts).map(|e| e.message())
}
