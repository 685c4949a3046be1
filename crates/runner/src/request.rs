//! What a caller (the CLI or the service) asks the runner to do.

use ccci_core::ladder::Rung;
use ccci_core::results::RunResults;
use std::path::PathBuf;

/// One run of one recipe. Built by the CLI from flags or by the service from a `!testme`.
#[derive(Clone, Debug)]
pub struct RunRequest {
    /// A recipe directory or a git URL / path of a git repository.
    pub recipe_source: String,
    /// The ref to test (branch, tag or commit); `None` = the working tree / default branch head.
    pub git_ref: Option<String>,
    /// `--stages`: the rungs to run; `None` = all that apply.
    pub stages: Option<Vec<Rung>>,
    /// `--quick`: the warm fast lane.
    pub quick: bool,
    /// `--extra`: also run the heavy opt-in suite.
    pub extra: bool,
    /// Where `results.json`, logs and the other artefacts go. Created if missing.
    pub out_dir: PathBuf,
    /// The rig: where the CI's suites, state and domain are.
    pub rig: Rig,
    /// Shown in results as `run_url` when a server knows the run page.
    pub run_url: Option<String>,
    /// A run id chosen by the caller (the service's job id); `None` = generated.
    pub run_id: Option<String>,
    /// Fired when a person cancels the run (`!testme cancel`, the run page's Cancel): the
    /// run stops and tears down as on Ctrl-C, but is judged cancelled, not red. (The
    /// `cancel` token the lifecycle takes is shutdown's: an interrupted run.)
    pub user_cancel: tokio_util::sync::CancellationToken,
    /// `--keep`: a RED run leaves its app deployed this long for debugging (validated by
    /// `ccci_core::keep::parse_keep`); the janitor removes it afterwards. `None`: teardown.
    pub keep: Option<std::time::Duration>,
    /// Called once with the run's results as soon as its verdict is judged and its
    /// artefacts written — for a quick run before the canonical is restored and the
    /// recipe's lock released (docs/behaviour.md §6: report first). Default: nobody is told early.
    pub on_verdict: OnVerdict,
}

/// What [`OnVerdict`] returns: the caller's report, awaited (bounded) by the runner.
pub type VerdictReport = std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>>;

/// A caller's hook on a run's verdict: the CLI prints its summary, the service reports to
/// the forge. The runner awaits it for at most [`OnVerdict::BOUND`].
#[derive(Clone, Default)]
pub struct OnVerdict(Option<std::sync::Arc<dyn Fn(RunResults) -> VerdictReport + Send + Sync>>);

impl OnVerdict {
    /// The longest a run waits for the caller's report before it goes on.
    pub const BOUND: std::time::Duration = std::time::Duration::from_secs(60);

    pub fn new(f: impl Fn(RunResults) -> VerdictReport + Send + Sync + 'static) -> OnVerdict {
        OnVerdict(Some(std::sync::Arc::new(f)))
    }

    /// Tells the caller; `false` when its report did not finish within [`Self::BOUND`].
    pub async fn call(&self, results: &RunResults) -> bool {
        match &self.0 {
            Some(f) => tokio::time::timeout(Self::BOUND, f(results.clone()))
                .await
                .is_ok(),
            None => true,
        }
    }
}

impl std::fmt::Debug for OnVerdict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_some() {
            "OnVerdict(set)"
        } else {
            "OnVerdict(none)"
        })
    }
}

/// The default bound of one image pull, in seconds (a large image over a slow link).
pub const DEFAULT_PULL_TIMEOUT_SECS: u64 = 600;

/// The disk use (percent) at which pruning starts, unless the rig says otherwise.
pub const DEFAULT_PRUNE_THRESHOLD: u8 = 80;

/// Host-wide settings of the runner, validated (built by `rig_settings::validate` for the
/// CLI and the service alike, or [`Rig::local`] in tests).
#[derive(Clone, Debug)]
pub struct Rig {
    /// The CI domain apps live under: `<4 chars>-<6 hex>.<ci_domain>`.
    pub ci_domain: String,
    /// The CI's suite tree (`<suites_dir>/<recipe>/suite.toml`), if any.
    pub suites_dir: Option<PathBuf>,
    /// State: the active-run registry, locks, checkouts, warm data.
    pub state_dir: PathBuf,
    /// The rig's ingress proxy (e.g. traefik on `127.0.0.1:443`): health checks resolve the
    /// app's domain there, like curl's `--resolve`. `None`: no proxy on this rig; cc-ci
    /// publishes the port the proxy would route to on a free host port instead.
    pub ingress: Option<std::net::SocketAddr>,
    /// Speak HTTPS to the ingress.
    pub ingress_https: bool,
    /// The CA bundle (PEM) the ingress's certificates must chain to (e.g. the rig's wildcard
    /// CA). `None`: the public web roots. A proxy's fallback or self-signed default
    /// certificate fails the serving check either way.
    pub ingress_ca: Option<PathBuf>,
    /// Do service VIPs route on this rig's engine? `None`: detect (an engine without IPVS
    /// cannot route them; cc-ci then adapts stacks to `endpoint_mode: dnsrr`).
    pub service_vips: Option<bool>,
    /// Does cc-ci itself run in a container attached to `proxy` (the cc-ci recipe)? Then it
    /// reaches its forwarder over `proxy`, by container name, instead of through a loopback
    /// publish its own loopback would not see. `None`: detect
    /// ([`ccci_adapters::engine::Engine::runs_on_network`]).
    pub forwarder_on_proxy: Option<bool>,
    /// Wall-clock limit of one run; past it the run is torn down and RED.
    pub deadline: std::time::Duration,
    /// Disk use (percent of the engine's data root) from which a run prunes first
    /// (`janitor::prune_before_run`); the doctor warns from it too.
    pub prune_threshold: u8,
    /// The bound of one image pull (`[rig] pull_timeout_secs`): past it the pull is
    /// stopped and explained ([`ccci_core::pull_error::timed_out`]).
    pub pull_timeout: std::time::Duration,
    /// Does a run photograph its app's landing page (`[rig] screenshots`, default yes)?
    /// The picture is cosmetic: a rig without it saves a browser container per run.
    pub screenshots: bool,
    /// The shared Keycloak that SSO dependencies (docs/behaviour.md §5) get their per-run realm from.
    /// `None`: no Keycloak on this rig; a suite that declares one goes unverified (RED).
    pub keycloak: Option<ccci_adapters::keycloak::KeycloakConfig>,
    /// The host's own secrets (the forge token, the webhook secrets, the operator's token):
    /// every run redacts them from everything it records, so a recipe that got hold of one
    /// (a log line, a page) cannot post it on a pull request.
    pub host_secrets: Vec<ccci_core::secret::Secret>,
}

impl Rig {
    /// A rig on this machine: domain `ci.local`, no proxy, state under `state_dir`.
    pub fn local(state_dir: PathBuf) -> Rig {
        Rig {
            ci_domain: "ci.local".into(),
            suites_dir: None,
            state_dir,
            ingress: None,
            ingress_https: false,
            ingress_ca: None,
            service_vips: None,
            forwarder_on_proxy: None,
            deadline: std::time::Duration::from_secs(60 * 60),
            prune_threshold: DEFAULT_PRUNE_THRESHOLD,
            pull_timeout: std::time::Duration::from_secs(DEFAULT_PULL_TIMEOUT_SECS),
            screenshots: true,
            keycloak: None,
            host_secrets: Vec::new(),
        }
    }
}
