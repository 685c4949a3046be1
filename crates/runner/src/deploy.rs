//! The deploy a rung performs: what deploying the base or the head would put on the swarm
//! checked first ([`crate::host_access`]), the images of that document — docker's, as
//! judged — present or pulled ([`crate::pull`]), then deployed ([`crate::app::App`]); a
//! refusal or a failed deploy explained in the recipe's terms and redacted.

use crate::app::{App, PreparedDeploy};
use crate::ctx::{source_of, RunCtx, Which};
use crate::recipe::Recipe;
use ccci_adapters::clock::now_ms;
use ccci_core::compose::StackModel;
use ccci_core::deploy_error;
use ccci_core::deployed::Deployed;
use ccci_core::results::Failure;
use std::time::Instant;

impl RunCtx {
    /// Checks what deploying `which` would put on the swarm (see [`crate::host_access`]),
    /// deploying nothing; once it passed, its images are made present ([`RunCtx::checked`]).
    pub async fn check(&mut self, which: Which) -> Result<(), Failure> {
        let source = source_of(&self.checkouts, which);
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
    /// docker's own words are a deploy error the author can fix, and redacted; then the
    /// images of the document that passed made present ([`RunCtx::pulled`]).
    async fn checked(&mut self, which: Which, prepared: &PreparedDeploy) -> Result<(), Failure> {
        let judged = crate::host_access::check(self, which, prepared)
            .await
            .map_err(|mut refused| {
                let recipe = source_of(&self.checkouts, which).recipe;
                if let Some(explained) = explain_deploy_text(&refused.message, recipe, &self.app) {
                    refused.message = explained;
                }
                refused.message = self.redactor.redact(&refused.message);
                refused
            })?;
        self.pulled(&judged, prepared).await
    }

    /// The images of a document that passed the check, present or pulled (the "pull"
    /// phase). A failed pull is bad input ([`RunCtx::bad_input`]): the rung fails with its
    /// message and the run ends as that error.
    async fn pulled(
        &mut self,
        judged: &Deployed,
        prepared: &PreparedDeploy,
    ) -> Result<(), Failure> {
        let t = Instant::now();
        let outcome = self
            .app
            .images_present(&self.engine, judged, prepared, &self.progress)
            .await;
        self.add_timing("pull", t);
        let Err(refused) = outcome else {
            return Ok(());
        };
        let failure = self.redacted(refused.to_string());
        self.bad_input.get_or_insert(refused);
        Err(failure)
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
        let source = source_of(&self.checkouts, which);
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
        let recipe = source_of(&self.checkouts, which).recipe;
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
