//! The rig's flags, shared by the subcommands that touch the rig: validated by the runner
//! into the same [`Rig`] the service builds from its configuration, with the same `CCCI_*`
//! variables.

use ccci_runner::recipe::InputError;
use ccci_runner::request::Rig;
use ccci_runner::rig_settings::{self, env, Profile, RawKeycloak, RawRig, RigError};
use std::path::PathBuf;

/// The rig's flags: the same settings (and `CCCI_*` variables) as the service's `[rig]`
/// and `[keycloak]`.
#[derive(clap::Args, Clone)]
pub struct RigArgs {
    /// Domain apps live under: `<4 chars>-<6 hex>.<domain>`.
    #[arg(long, env = env::CI_DOMAIN, default_value = rig_settings::LOCAL_CI_DOMAIN)]
    domain: String,
    /// The CI's suite tree (`<dir>/<recipe>/suite.toml`).
    #[arg(long, env = env::SUITES_DIR)]
    suites: Option<PathBuf>,
    /// State: active-run registry, checkouts, warm data, alerts.
    #[arg(long, env = env::STATE_DIR, default_value = rig_settings::DEFAULT_STATE_DIR)]
    state_dir: PathBuf,
    /// The rig's ingress proxy (host:port); health checks resolve app domains there.
    /// Without it, cc-ci reaches the app through its own forwarder on `proxy`.
    #[arg(long, env = env::INGRESS)]
    ingress: Option<String>,
    /// Speak HTTPS to the ingress.
    #[arg(long, env = env::INGRESS_HTTPS)]
    ingress_https: bool,
    /// The CA bundle (PEM) the ingress's certificates must chain to (e.g. the rig's
    /// wildcard CA); default: the public web roots.
    #[arg(long, env = env::INGRESS_CA)]
    ingress_ca: Option<PathBuf>,
    /// Do service VIPs route on this engine: `auto` detects (no IPVS → no), `yes`, `no`.
    /// Where they do not, cc-ci deploys services with `endpoint_mode: dnsrr` (recorded as a
    /// rig adaptation).
    #[arg(long, env = env::SERVICE_VIPS, default_value = "auto", value_parser = ["auto", "yes", "no"])]
    service_vips: String,
    /// Hard wall-clock limit of a run, in seconds.
    #[arg(long, env = env::DEADLINE_SECS, default_value_t = rig_settings::DEFAULT_DEADLINE_SECS)]
    deadline_secs: u64,
    /// Disk use (percent of the engine's data root) from which a run prunes first (dangling
    /// images, stopped containers and build cache older than 24 h; never volumes).
    #[arg(long, env = env::PRUNE_THRESHOLD, default_value_t = ccci_runner::request::DEFAULT_PRUNE_THRESHOLD,
          value_parser = clap::value_parser!(u8).range(0..=100))]
    prune_threshold: u8,
    /// The bound of one image pull, in seconds: past it the pull is stopped and explained.
    #[arg(long, env = env::PULL_TIMEOUT_SECS, default_value_t = rig_settings::DEFAULT_PULL_TIMEOUT_SECS,
          value_parser = clap::value_parser!(u64).range(1..))]
    pull_timeout_secs: u64,
    /// Photograph the app's landing page at the end of a run (headless Chromium in a
    /// throwaway browser container): `true` or `false`. Cosmetic; `false` saves a browser
    /// container per run.
    #[arg(long, env = env::SCREENSHOTS, default_value_t = true, action = clap::ArgAction::Set,
          value_parser = clap::builder::BoolishValueParser::new())]
    screenshots: bool,
    /// The shared Keycloak for SSO dependencies (each run gets its own realm there).
    #[arg(long, env = env::KEYCLOAK_URL, requires = "keycloak_admin_password_file")]
    keycloak_url: Option<String>,
    /// An admin user of the Keycloak's master realm.
    #[arg(long, env = env::KEYCLOAK_ADMIN_USER, default_value = rig_settings::DEFAULT_KEYCLOAK_ADMIN)]
    keycloak_admin_user: String,
    /// A file holding that admin's password (required with --keycloak-url; read once).
    #[arg(long, env = env::KEYCLOAK_ADMIN_PASSWORD_FILE)]
    keycloak_admin_password_file: Option<PathBuf>,
}

impl RigArgs {
    /// The validated rig, or bad input naming each flag and its fix.
    pub fn rig(&self) -> Result<Rig, InputError> {
        let raw = RawRig {
            ci_domain: Some(self.domain.clone()),
            suites_dir: self.suites.clone(),
            state_dir: Some(self.state_dir.clone()),
            ingress: self.ingress.clone(),
            ingress_https: Some(self.ingress_https),
            ingress_ca: self.ingress_ca.clone(),
            service_vips: Some(self.service_vips.clone()),
            deadline_secs: Some(i64::try_from(self.deadline_secs).unwrap_or(i64::MAX)),
            prune_threshold: Some(i64::from(self.prune_threshold)),
            pull_timeout_secs: Some(i64::try_from(self.pull_timeout_secs).unwrap_or(i64::MAX)),
            screenshots: Some(self.screenshots),
        };
        let keycloak = (self.keycloak_url.is_some() || self.keycloak_admin_password_file.is_some())
            .then(|| RawKeycloak {
                url: self.keycloak_url.clone(),
                admin_user: Some(self.keycloak_admin_user.clone()),
                admin_password_file: self.keycloak_admin_password_file.clone(),
            });
        rig_settings::validate(raw, keycloak, Profile::Local)
            .map_err(|problems| RigError { problems }.into())
    }
}
