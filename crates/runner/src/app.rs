//! An app under test: its domain, stack, `.env`, secrets and the route to reach it, and the
//! deploys of it. Creating the plan touches nothing on the engine; [`App::deploy`] does.

use crate::progress::Progress;
use crate::recipe::{InputError, Recipe};
use crate::request::Rig;
use ccci_adapters::engine::Engine;
use ccci_adapters::probe::{HttpTarget, Route};
use ccci_adapters::stack;
use ccci_core::compose::{load_stack, StackModel};
use ccci_core::deployed::Deployed;
use ccci_core::envfile::EnvFile;
use ccci_core::naming::{self, SecretSpec};
use ccci_core::results::{RouteRecord, RouteVia};
use ccci_core::rig::{self, Adaptation};
use ccci_core::secret::Secret;
use ccci_core::suite::Suite;
use ccci_core::upgrade_env;
use rand::distr::{Alphanumeric, SampleString};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// The name of the service abra stamps version labels on, and the usual HTTP service.
pub const MAIN_SERVICE: &str = "app";

/// The rig's shared overlay network the proxy reaches apps on (traefik's in production).
pub use ccci_core::rig::PROXY_NETWORK;

#[derive(Clone, Debug)]
pub struct App {
    pub recipe: String,
    pub domain: String,
    pub stack: String,
    /// The app's `.env` as cc-ci wrote it.
    pub env: EnvFile,
    /// The run's own working directory: `.env`, the generated overlay.
    pub work_dir: PathBuf,
    /// The secrets created at install (the installed checkout's own).
    pub secrets: Vec<(SecretSpec, Secret)>,
    /// The secrets the head adds to the installed base, generated with the app's `.env`
    /// (as `abra app secret generate` would): created by the upgrade, then kept in
    /// `secrets`. Planned up front so every value is redacted from the start.
    pub added_secrets: Vec<(SecretSpec, Secret)>,
    /// The `.env` the upgrade deploys the head with ([`App::plan_upgrade`]), until it does.
    pub upgraded_env: Option<EnvFile>,
    /// The HTTP service and its container port (from traefik labels, else `app:80`).
    pub http_service: String,
    pub http_port: u16,
    /// When the rig has no proxy: how cc-ci reaches its forwarder (a container on the
    /// `proxy` network, as the proxy would be, passing on to the HTTP service).
    pub forwarder: Option<Forwarding>,
    /// Do service VIPs route on this rig? Where not, deploys adapt (see `ccci_core::rig`).
    pub vips_route: bool,
    /// What cc-ci changes on the stack for the rig's sake (announced, recorded): planned
    /// from the head, extended by every deploy with the services of what it deploys.
    pub adaptations: Vec<Adaptation>,
    pub route: HttpTarget,
    /// Suite overlay compose files (absolute).
    pub suite_overlays: Vec<PathBuf>,
    /// The app's realm in the shared Keycloak (a suite with `dependencies = ["keycloak"]`
    /// on a rig with a Keycloak): named and registered before anything exists, provisioned
    /// by the install rung, deleted at the end of the run.
    pub realm: Option<ccci_adapters::keycloak::RunRealm>,
    /// The bound of one image pull (the rig's `pull_timeout`).
    pub pull_timeout: std::time::Duration,
    /// Whether the run photographs the landing page (the rig's `screenshots`).
    pub screenshots: bool,
}

/// How cc-ci reaches the run's forwarder.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Forwarding {
    /// Published on this loopback port of the host (cc-ci runs on the host).
    Loopback { port: u16 },
    /// Over `proxy`, by the forwarder's container name (cc-ci runs in a container attached
    /// to `proxy`, whose loopback is not the host's).
    Proxy,
}

impl Forwarding {
    /// Where cc-ci connects to the forwarder of `stack` (`host:port`).
    pub fn address(self, stack: &str) -> String {
        match self {
            Forwarding::Loopback { port } => format!("127.0.0.1:{port}"),
            Forwarding::Proxy => format!("{}:80", stack::forwarder_name(stack)),
        }
    }
}

/// What one deploy puts on the swarm: which checkout, and the labels abra would stamp.
#[derive(Clone, Debug)]
pub struct DeploySource<'a> {
    pub recipe: &'a Recipe,
    /// The recipe version deployed (`1.2.0+1.2.0`), or a commit for a chaos deploy.
    pub version: String,
    /// For a chaos deploy of a commit: the commit (abra's `chaos-version`).
    pub chaos_commit: Option<String>,
}

impl App {
    /// Plans a new app for `recipe`: domain, stack, `.env` from `.env.sample`, secrets.
    pub fn plan(
        recipe: &Recipe,
        suite: &Suite,
        suite_dir: Option<&Path>,
        rig: &Rig,
        version: &str,
        hex6: &str,
        work_dir: &Path,
    ) -> Result<App, InputError> {
        let domain = naming::app_domain(&recipe.name, hex6, &rig.ci_domain);
        App::plan_on_domain(recipe, suite, suite_dir, rig, version, domain, work_dir)
    }

    /// Plans the app on a given domain (a warm canonical's stable `warm-<recipe>` domain).
    pub fn plan_on_domain(
        recipe: &Recipe,
        suite: &Suite,
        suite_dir: Option<&Path>,
        rig: &Rig,
        version: &str,
        domain: String,
        work_dir: &Path,
    ) -> Result<App, InputError> {
        let stack = naming::stack_name(&domain);
        let env = operator_env(recipe, version, &domain, suite);
        let mut suite_overlays = Vec::new();
        for overlay in &suite.compose_overlays {
            let Some(dir) = suite_dir else {
                return Err(InputError::OverlayWithoutSuiteDir {
                    overlay: overlay.to_string(),
                });
            };
            let path = dir.join(overlay);
            if !path.is_file() {
                return Err(InputError::File {
                    file: dir.join("suite.toml").display().to_string(),
                    message: format!(
                        "compose_overlays names {overlay}, which does not exist in {}",
                        dir.display()
                    ),
                });
            }
            suite_overlays.push(path.canonicalize().unwrap_or(path));
        }
        let model = stack_model(recipe, &env, &stack, &suite_overlays)?;
        let secrets = generated(secret_specs(recipe, &env, &stack, &model)?);
        let (http_service, http_port) = http_endpoint(&model);
        let vips_route = rig.service_vips.unwrap_or(true);
        let adaptations = rig::adaptations(vips_route, &model);
        let forwarder = match (rig.ingress, rig.forwarder_on_proxy) {
            (Some(_), _) => None,
            (None, Some(true)) => Some(Forwarding::Proxy),
            (None, _) => Some(Forwarding::Loopback {
                port: ccci_adapters::probe::free_port().map_err(|e| InputError::NoFreePort {
                    reason: e.to_string(),
                })?,
            }),
        };
        let ca_pem = match &rig.ingress_ca {
            Some(path) => Some(std::fs::read(path).map_err(|e| InputError::File {
                file: path.display().to_string(),
                message: format!("cannot read the ingress CA bundle: {e}"),
            })?),
            None => None,
        };
        let route = HttpTarget {
            ca_pem,
            domain: domain.clone(),
            route: match (rig.ingress, forwarder) {
                (Some(addr), _) => Route::Ingress {
                    addr,
                    https: rig.ingress_https,
                },
                (None, Some(f)) => Route::Forwarded {
                    addr: f.address(&stack),
                },
                (None, None) => unreachable!("a forwarder is planned when there is no ingress"),
            },
        };
        Ok(App {
            recipe: recipe.name.clone(),
            domain,
            stack,
            env,
            work_dir: work_dir.to_path_buf(),
            secrets,
            added_secrets: Vec::new(),
            upgraded_env: None,
            http_service,
            http_port,
            forwarder,
            vips_route,
            adaptations,
            route,
            suite_overlays,
            realm: None,
            pull_timeout: rig.pull_timeout,
            screenshots: rig.screenshots,
        })
    }

    /// Plans the upgrade to `head` as an operator does it with abra
    /// ([`ccci_core::upgrade_env`]): the app's `.env` kept, the variables the head's
    /// `.env.sample` introduces added, and only the secrets the head then names that the
    /// installed app lacks generated. Returns the keys added. Applied by
    /// [`App::begin_upgrade`].
    pub fn plan_upgrade(&mut self, head: &Recipe) -> Result<Vec<String>, InputError> {
        let (env, added_keys) = upgrade_env::upgraded(&self.env, &head.env_sample);
        // A head that does not load with the upgraded `.env` (the operator's COMPOSE_FILE
        // names a file it dropped) fails its upgrade: preflight says so, the rung is RED.
        let specs = match stack_model(head, &env, &self.stack, &self.suite_overlays) {
            Ok(model) => secret_specs(head, &env, &self.stack, &model)?,
            Err(_) => Vec::new(),
        };
        let installed: Vec<&str> = self
            .secrets
            .iter()
            .map(|(s, _)| s.engine_name.as_str())
            .collect();
        self.added_secrets = generated(upgrade_env::added_secrets(&installed, specs));
        self.upgraded_env = Some(env);
        Ok(added_keys)
    }

    /// The `.env` the head is deployed with: the upgraded one once planned.
    pub fn head_env(&self) -> &EnvFile {
        self.upgraded_env.as_ref().unwrap_or(&self.env)
    }

    /// The upgrade to `head` begins: the app's `.env` as it is now (with what the install
    /// set in it since the plan, e.g. OIDC settings) gets the head's new variables (its
    /// `TYPE` moves at the deploy), and the secrets the head adds are created; from then on
    /// they are the app's like the others.
    pub async fn begin_upgrade(&mut self, engine: &Engine, head: &Recipe) -> anyhow::Result<()> {
        self.upgraded_env = None;
        self.env = upgrade_env::upgraded(&self.env, &head.env_sample).0;
        for (spec, value) in &self.added_secrets {
            engine
                .create_secret(&self.stack, &spec.engine_name, value)
                .await?;
        }
        self.secrets.append(&mut self.added_secrets);
        Ok(())
    }

    /// Every secret value the app knows (created or still to be created).
    pub fn secret_values(&self) -> Vec<Secret> {
        self.secrets
            .iter()
            .chain(&self.added_secrets)
            .map(|(_, v)| v.clone())
            .collect()
    }

    /// How cc-ci reaches the app, as runs record it.
    pub fn route_record(&self) -> RouteRecord {
        let via = match (&self.route.route, self.forwarder) {
            (Route::Ingress { .. }, _) => RouteVia::Ingress,
            (_, Some(Forwarding::Proxy)) => RouteVia::ForwarderProxy,
            _ => RouteVia::ForwarderLoopback,
        };
        let addr = match &self.route.route {
            Route::Ingress { addr, .. } => addr.to_string(),
            Route::Forwarded { addr } => addr.clone(),
        };
        RouteRecord { via, addr }
    }

    pub fn env_path(&self) -> PathBuf {
        self.work_dir.join(format!("{}.env", self.domain))
    }

    pub fn service_name(&self, short: &str) -> String {
        format!("{}_{}", self.stack, short)
    }

    /// The stack model of a checkout as this app deploys it (env, overlays interpolated).
    pub fn model(&self, recipe: &Recipe) -> Result<StackModel, InputError> {
        stack_model(recipe, &self.env, &self.stack, &self.suite_overlays)
    }

    /// Everything interpolation sees: the app env, `abra.sh` exports and `STACK_NAME`.
    pub fn interpolation_env(&self, recipe: &Recipe) -> BTreeMap<String, String> {
        let mut vars = recipe.abra_exports.clone();
        vars.extend(self.env.to_map());
        vars.insert("STACK_NAME".into(), self.stack.clone());
        vars
    }

    /// Validates the compose files of a checkout with this app's env (and, on a rig without
    /// a proxy, that the forwarder's image is built). Creates nothing on the engine and
    /// pulls nothing: the images pulled are those of the document docker will deploy, once
    /// judged ([`crate::pull`]).
    pub async fn preflight(
        &self,
        engine: &Engine,
        recipe: &Recipe,
    ) -> Result<StackModel, InputError> {
        self.preflight_with(engine, recipe, &self.env).await
    }

    /// [`App::preflight`] of a checkout with the `.env` it is deployed with (the base with
    /// its own, the head with the upgraded one: [`App::head_env`]).
    pub async fn preflight_with(
        &self,
        engine: &Engine,
        recipe: &Recipe,
        env: &EnvFile,
    ) -> Result<StackModel, InputError> {
        let model = stack_model(recipe, env, &self.stack, &self.suite_overlays)?;
        let files = recipe.compose_files(env)?;
        backup_labels_sound(&model, &files)?;
        if self.forwarder.is_some() && !engine.image_present(stack::FORWARDER_IMAGE).await {
            return Err(InputError::NoForwarderImage {
                image: stack::FORWARDER_IMAGE.to_string(),
            });
        }
        Ok(model)
    }

    /// What the results record of the deployed `recipe`: each service's image as its
    /// compose files say with this app's `.env` (empty when they do not load), and the
    /// `.env`'s keys, sorted. Never the values: they may be secrets.
    pub fn recorded_inputs(&self, recipe: &Recipe) -> (BTreeMap<String, String>, Vec<String>) {
        let images = stack_model(recipe, &self.env, &self.stack, &self.suite_overlays)
            .map(|model| {
                model
                    .services
                    .into_iter()
                    .map(|(name, svc)| (name, svc.image))
                    .collect()
            })
            .unwrap_or_default();
        let mut keys: Vec<String> = self.env.entries.iter().map(|e| e.key.clone()).collect();
        keys.sort();
        keys.dedup();
        (images, keys)
    }

    /// Creates the app's secrets on the engine, labelled with the stack.
    pub async fn create_secrets(&self, engine: &Engine) -> anyhow::Result<()> {
        for (spec, value) in &self.secrets {
            engine
                .create_secret(&self.stack, &spec.engine_name, value)
                .await?;
        }
        Ok(())
    }

    /// Writes `.env` and the generated overlay, makes the images of the document docker will
    /// deploy present (`docker stack config`'s, pulled where missing), then `docker stack
    /// deploy`s the checkout. Not judged: the live-warm reconciler's deploy of a release the
    /// operator enrolled (a run's deploys are [`crate::deploy`]'s).
    pub async fn deploy(
        &mut self,
        engine: &Engine,
        source: &DeploySource<'_>,
        progress: &Progress,
    ) -> anyhow::Result<()> {
        let (prepared, _) = self.prepare_deploy(source)?;
        let text = stack::config(&prepared.plan(&self.stack)).await?;
        let doc = Deployed::parse(&text)?;
        self.images_present(engine, &doc, &prepared, progress)
            .await?;
        self.deploy_prepared(&prepared).await
    }

    /// The images of `doc`, the document docker will deploy with `prepared`, present or
    /// pulled within the rig's pull time-out ([`crate::pull::present_or_pulled`]; a failure
    /// names the deploy's compose file).
    pub async fn images_present(
        &self,
        engine: &Engine,
        doc: &Deployed,
        prepared: &PreparedDeploy,
        progress: &Progress,
    ) -> Result<(), InputError> {
        crate::pull::present_or_pulled(
            engine,
            &doc.images(),
            &prepared.named_file(),
            self.pull_timeout,
            progress,
        )
        .await
    }

    /// Writes `.env` and the generated overlay: what `docker stack deploy` of `source` is
    /// handed (files, environment, working directory), so it can be checked first; and the
    /// stack it deploys (the recipe's files and the suite's overlays, merged and interpolated
    /// with the app's `.env`), built once here for every step of this deploy.
    pub fn prepare_deploy(
        &mut self,
        source: &DeploySource<'_>,
    ) -> anyhow::Result<(PreparedDeploy, StackModel)> {
        self.env
            .set("TYPE", format!("{}:{}", self.recipe, source.version));
        std::fs::create_dir_all(&self.work_dir)?;
        std::fs::write(self.env_path(), self.env.render())?;
        let overlay = self.work_dir.join("ccci-overlay.yml");
        let model = self
            .model(source.recipe)
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        let adapted = rig::adaptations(self.vips_route, &model);
        rig::record(&mut self.adaptations, &adapted);
        std::fs::write(
            &overlay,
            overlay_yaml(&self.stack, &self.recipe, source, &adapted),
        )?;
        let recipe_files = source
            .recipe
            .compose_files(&self.env)
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        let mut files = recipe_files.clone();
        files.extend(self.suite_overlays.iter().cloned());
        files.push(overlay);
        let prepared = PreparedDeploy {
            workdir: source.recipe.dir.clone(),
            recipe_files,
            files,
            env: self.interpolation_env(source.recipe),
        };
        Ok((prepared, model))
    }

    /// `docker stack deploy`s what [`App::prepare_deploy`] prepared, then the forwarder.
    pub async fn deploy_prepared(&self, prepared: &PreparedDeploy) -> anyhow::Result<()> {
        stack::deploy(&prepared.plan(&self.stack)).await?;
        if let Some(forwarding) = self.forwarder {
            stack::ensure_forwarder(&stack::Forwarder {
                stack: &self.stack,
                network: PROXY_NETWORK,
                loopback_port: match forwarding {
                    Forwarding::Loopback { port } => Some(port),
                    Forwarding::Proxy => None,
                },
                upstream: format!(
                    "tasks.{}:{}",
                    self.service_name(&self.http_service),
                    self.http_port
                ),
            })
            .await?;
        }
        Ok(())
    }
}

/// What one `docker stack deploy` is handed.
#[derive(Clone, Debug)]
pub struct PreparedDeploy {
    /// Where relative paths resolve: the recipe's checkout.
    pub workdir: PathBuf,
    /// The recipe's own compose files (`COMPOSE_FILE`), which must stay inside it.
    pub recipe_files: Vec<PathBuf>,
    /// Every file deployed: the recipe's, the suite's overlays, cc-ci's generated overlay.
    pub files: Vec<PathBuf>,
    /// The only variables interpolation sees.
    pub env: BTreeMap<String, String>,
}

impl PreparedDeploy {
    /// The compose file a message about this deploy's services names: the recipe's first.
    pub fn named_file(&self) -> String {
        self.recipe_files
            .first()
            .map(|f| f.display().to_string())
            .unwrap_or_default()
    }

    pub fn plan<'a>(&'a self, stack: &'a str) -> stack::DeployPlan<'a> {
        stack::DeployPlan {
            stack,
            workdir: &self.workdir,
            compose_files: &self.files,
            env: &self.env,
        }
    }
}

/// The overlay cc-ci adds to every deploy: the labels abra stamps (version, chaos) on
/// the `app` service and, as a recorded rig adaptation, `endpoint_mode: dnsrr` where
/// service VIPs do not route. Nothing else: no ports, networks or update settings.
/// `adapted` are this deploy's adaptations (of the checkout deployed: a base release
/// may lack services the head adds, and the reverse).
fn overlay_yaml(
    stack: &str,
    recipe: &str,
    source: &DeploySource<'_>,
    adapted: &[Adaptation],
) -> String {
    let s = stack;
    let mut labels = format!(
        "      labels:\n        - \"coop-cloud.{s}.version={}\"\n        - \"coop-cloud.{s}.recipe={}\"\n        - \"coop-cloud.{s}.chaos={}\"\n",
        source.version,
        recipe,
        source.chaos_commit.is_some()
    );
    if let Some(commit) = &source.chaos_commit {
        let _ = writeln!(
            labels,
            "        - \"coop-cloud.{s}.chaos-version={commit}\""
        );
    }
    let mut services: BTreeMap<&str, String> = BTreeMap::new();
    services.insert(MAIN_SERVICE, labels);
    for name in rig::dnsrr_services(adapted) {
        services
            .entry(name)
            .or_default()
            .push_str("      endpoint_mode: dnsrr\n");
    }
    let mut y = String::from("version: \"3.8\"\nservices:\n");
    for (name, deploy) in services {
        let _ = write!(y, "  {name}:\n    deploy:\n{deploy}");
    }
    y
}

/// The app's `.env` as an operator has it after `abra app new` of `recipe` at `version`:
/// the checkout's own `.env.sample` with `TYPE` and `DOMAIN` set, and the judging suite's
/// settings on top. The base release is installed with its own (and judged with it).
pub fn operator_env(recipe: &Recipe, version: &str, domain: &str, suite: &Suite) -> EnvFile {
    let mut env = recipe.env_sample.clone();
    env.set("TYPE", format!("{}:{}", recipe.name, version));
    env.set("DOMAIN", domain.to_string());
    for (k, v) in &suite.app_env {
        env.set(k, v.clone());
    }
    env
}

/// The secrets `recipe`'s compose files name, with `env`'s versions and lengths.
fn secret_specs(
    recipe: &Recipe,
    env: &EnvFile,
    stack: &str,
    model: &StackModel,
) -> Result<Vec<SecretSpec>, InputError> {
    naming::secret_specs(stack, env, model).map_err(|e| InputError::File {
        file: recipe.dir.join(".env.sample").display().to_string(),
        message: e.to_string(),
    })
}

/// A fresh random value for each spec.
fn generated(specs: Vec<SecretSpec>) -> Vec<(SecretSpec, Secret)> {
    let mut rng = rand::rng();
    specs
        .into_iter()
        .map(|spec| {
            let value = Secret::new(Alphanumeric.sample_string(&mut rng, spec.length));
            (spec, value)
        })
        .collect()
}

/// The images a recipe names with its own `.env.sample` (what an operator's new app would
/// pull), by service.
pub fn sample_images(recipe: &Recipe) -> Result<BTreeMap<String, String>, InputError> {
    let model = stack_model(recipe, &recipe.env_sample, "doctor", &[])?;
    Ok(model
        .services
        .into_iter()
        .map(|(name, svc)| (name, svc.image))
        .collect())
}

fn stack_model(
    recipe: &Recipe,
    env: &EnvFile,
    stack: &str,
    overlays: &[PathBuf],
) -> Result<StackModel, InputError> {
    let mut files = recipe.compose_files(env)?;
    files.extend(overlays.iter().cloned());
    let mut texts = Vec::new();
    for f in &files {
        let text = crate::recipe::read_stack_file(recipe, f)?;
        texts.push((f.display().to_string(), text));
    }
    let mut vars = recipe.abra_exports.clone();
    vars.extend(env.to_map());
    vars.insert("STACK_NAME".into(), stack.to_string());
    let model = load_stack(&texts, &vars).map_err(|e| InputError::File {
        file: e.file,
        message: e.message,
    })?;
    if !model.services.contains_key(MAIN_SERVICE) {
        return Err(InputError::File {
            file: texts[0].0.clone(),
            message: format!(
                "no `{MAIN_SERVICE}` service; Co-op Cloud recipes name their main service `app` (abra stamps its labels there)"
            ),
        });
    }
    Ok(model)
}

/// Malformed backup-bot-two labels are bad input: said before anything is deployed, in the
/// compose file that sets the first of them.
fn backup_labels_sound(model: &StackModel, files: &[PathBuf]) -> Result<(), InputError> {
    let problems = ccci_core::backupbot::label_problems(model);
    let Some(first) = problems.first() else {
        return Ok(());
    };
    let file = files
        .iter()
        .find(|f| std::fs::read_to_string(f).is_ok_and(|t| t.contains(&first.label)))
        .or(files.first())
        .map(|f| f.display().to_string())
        .unwrap_or_default();
    let list: Vec<String> = problems.iter().map(|p| p.to_string()).collect();
    Err(InputError::File {
        file,
        message: format!("malformed backup-bot-two labels: {}", list.join("; ")),
    })
}

/// The service and container port a proxy routes the domain to: from the traefik
/// `loadbalancer.server.port` label, else the `app` service on port 80.
fn http_endpoint(model: &StackModel) -> (String, u16) {
    for (name, svc) in &model.services {
        for (key, value) in &svc.labels {
            if key.starts_with("traefik.http.services.")
                && key.ends_with(".loadbalancer.server.port")
            {
                if let Ok(port) = value.trim().parse() {
                    return (name.clone(), port);
                }
            }
        }
    }
    (MAIN_SERVICE.to_string(), 80)
}
