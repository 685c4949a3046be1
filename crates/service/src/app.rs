//! The state every task of `ccci serve` shares.

use crate::config::{Config, ForgeConfig, RepoConfig};
use crate::executor::Executor;
use crate::job::JobId;
use crate::store::Store;
use ccci_forge::{GiteaClient, RepoName, TrustPolicy};
use std::path::PathBuf;
use std::sync::Arc;

pub struct App {
    pub config: Config,
    pub store: Store,
    /// `None` when no `[forge]` is configured (jobs then come only from the API / tests).
    pub forge: Option<Forge>,
    pub executor: Arc<dyn Executor>,
    /// This host's counters, histograms and gauges, served at `/metrics`.
    pub metrics: crate::metrics::Metrics,
    /// Wakes the scheduler when a job is queued or a run ends, so a free slot is filled at
    /// once instead of at the next claim interval. A `Notify` keeps one pending wake-up, so
    /// a wake sent while the scheduler is busy is not lost.
    pub wake: tokio::sync::Notify,
    /// Serialises reports (commit status and sticky comment) and holds, per job, the
    /// furthest phase reported (0 queued, 1 running, 2 final): the intake ("queued") and the
    /// scheduler ("running", the result) write concurrently, and a late "queued" must never
    /// overwrite "running" or the result, on the comment or on the commit status.
    pub sticky: tokio::sync::Mutex<std::collections::HashMap<crate::job::JobId, u8>>,
    /// True while the nightly sweep runs on this host: the scheduler claims nothing then.
    /// The scheduler holds the lock across each claim and the sweep across its "nothing in
    /// flight" check, so a claim can never slip in between that check and the flag.
    pub sweeping: tokio::sync::Mutex<bool>,
    /// How each watched repository's triggers arrive (webhook or polling, and why).
    pub triggers: crate::triggers::Triggers,
}

/// The forge side: client, trust rules and the watched repositories.
pub struct Forge {
    pub client: GiteaClient,
    pub config: ForgeConfig,
    pub policy: TrustPolicy,
    pub repos: Vec<(RepoName, RepoConfig)>,
}

impl Forge {
    pub fn new(config: &ForgeConfig) -> anyhow::Result<Forge> {
        let client = GiteaClient::new(&config.url, config.token.clone(), config.request_timeout)?;
        let mut repos = Vec::new();
        for repo in &config.repos {
            let name = RepoName::parse(&repo.repo).map_err(|e| anyhow::anyhow!("{e}"))?;
            repos.push((name, repo.clone()));
        }
        Ok(Forge {
            client,
            policy: TrustPolicy {
                bot_login: config.bot_login.clone(),
                allow_list: config.allow_list.clone(),
            },
            config: config.clone(),
            repos,
        })
    }

    pub fn repo(&self, full_name: &str) -> Option<&(RepoName, RepoConfig)> {
        self.repos
            .iter()
            .find(|(name, _)| name.full_name().eq_ignore_ascii_case(full_name))
    }
}

impl App {
    pub fn run_dir(&self, id: JobId) -> PathBuf {
        self.config.runs_dir.join(id.to_string())
    }

    pub fn run_url(&self, id: JobId) -> String {
        format!("{}/runs/{id}", self.config.public_url)
    }

    /// Where the run's card PNG is served.
    pub fn card_url(&self, id: JobId) -> String {
        format!(
            "{}/runs/{id}/files/{}",
            self.config.public_url,
            ccci_report::artefacts::CARD_PNG
        )
    }
}
