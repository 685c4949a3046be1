//! The nightly sweep (docs/behaviour.md §6): skip if a run is in flight; roll the live-warm apps; serial
//! cold runs of every enrolled recipe on its latest release (a green one re-seeds the warm
//! canonical: the seed path of [`ccci_runner::lifecycle::Role::Seed`]); prune the warm data of
//! recipes no longer enrolled; log disk use.
//!
//! Enrolment: a suite `<suites>/<recipe>/suite.toml` with `warm = true`. Where the recipe
//! comes from: the file `<suites>/<recipe>/source`, one line, a git URL or path (the
//! repository's name must be `<recipe>`). An enrolled suite without it is reported and
//! skipped.

use crate::livewarm;
use anyhow::{Context, Result};
use ccci_adapters::registry;
use ccci_core::run_end::RunEnd;
use ccci_core::suite::Suite;
use ccci_runner::lifecycle::{self, Role};
use ccci_runner::progress::Progress;
use ccci_runner::request::{Rig, RunRequest};
use ccci_runner::warm;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// The sweep's report.
#[derive(Debug, Default)]
pub struct Summary {
    /// Set when the sweep was skipped (why).
    pub skipped: Option<String>,
    pub live_warm: Vec<(String, String)>,
    /// Recipe → `green`, `red`, or why it did not run.
    pub runs: Vec<(String, String)>,
    pub pruned: Vec<String>,
    pub disk: Option<String>,
    /// Failures of the sweep itself (not a recipe's red run).
    pub errors: Vec<String>,
}

impl Summary {
    pub fn text(&self) -> String {
        let mut s = String::new();
        if let Some(why) = &self.skipped {
            let _ = writeln!(s, "nightly: skipped: {why}");
            return s;
        }
        let _ = writeln!(s, "nightly sweep");
        for (name, o) in &self.live_warm {
            let _ = writeln!(s, "  live-warm {name}: {o}");
        }
        if self.live_warm.is_empty() {
            let _ = writeln!(s, "  live-warm: none configured");
        }
        for (recipe, o) in &self.runs {
            let _ = writeln!(s, "  run {recipe}: {o}");
        }
        if self.runs.is_empty() {
            let _ = writeln!(s, "  runs: no enrolled recipe");
        }
        for p in &self.pruned {
            let _ = writeln!(s, "  pruned warm data of {p} (no longer enrolled)");
        }
        if let Some(d) = &self.disk {
            let _ = writeln!(s, "  disk: {d}");
        }
        for e in &self.errors {
            let _ = writeln!(s, "  ERROR: {e}");
        }
        s
    }
}

/// Enrolled recipes: suite name → its source (or why there is none).
pub fn enrolled(suites_dir: &Path) -> Result<BTreeMap<String, Result<String, String>>> {
    let mut out = BTreeMap::new();
    for e in std::fs::read_dir(suites_dir)
        .with_context(|| format!("reading the suites dir {}", suites_dir.display()))?
        .flatten()
    {
        let dir = e.path();
        let file = dir.join("suite.toml");
        let Ok(text) = std::fs::read_to_string(&file) else {
            continue;
        };
        let name = e.file_name().to_string_lossy().into_owned();
        let suite = match Suite::parse(&file.display().to_string(), &text) {
            Ok(s) => s,
            Err(err) => {
                // A broken suite might be an enrolled one: never prune on a guess.
                out.insert(
                    name,
                    Err(format!("suite.toml does not parse: {}", err.message)),
                );
                continue;
            }
        };
        if !suite.warm {
            continue;
        }
        let source = std::fs::read_to_string(dir.join("source"))
            .map(|s| s.trim().to_string())
            .ok()
            .filter(|s| !s.is_empty())
            .ok_or_else(|| {
                format!(
                    "enrolled but {} names no recipe source (a git URL or path)",
                    dir.join("source").display()
                )
            });
        out.insert(name, source);
    }
    Ok(out)
}

/// Runs in flight on this host: registered runs whose owner is alive (an app kept for
/// debugging is not a run).
pub fn in_flight(state_dir: &Path) -> Vec<registry::ActiveRun> {
    registry::list(state_dir)
        .into_iter()
        .filter(registry::in_flight)
        .collect()
}

/// Recipes with warm data on disk (`warm/<recipe>.json`, `warm/<recipe>/`, `warm/<recipe>.lock`).
fn warm_recipes(state_dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(warm::root(state_dir))
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| {
            let n = e.file_name().to_string_lossy().into_owned();
            n.strip_suffix(".json")
                .or_else(|| n.strip_suffix(".lock"))
                .unwrap_or(&n)
                .to_string()
        })
        .filter(|n| !n.contains(".tmp"))
        .collect();
    names.sort();
    names.dedup();
    names
}

/// Removes a recipe's warm canonical: its engine objects (volumes, secrets, …) and its files.
pub async fn prune_warm(rig: &Rig, recipe: &str) -> Result<()> {
    let _lock = warm::lock(&rig.state_dir, recipe, Duration::from_secs(60)).await?;
    if let Some(rec) = warm::load(&rig.state_dir, recipe)? {
        let engine = ccci_adapters::engine::Engine::connect().await?;
        let left = ccci_adapters::teardown::teardown(&engine, &rec.stack).await;
        if !left.is_empty() {
            anyhow::bail!("removing {}: {} left", rec.stack, left.describe());
        }
    }
    let _ = std::fs::remove_dir_all(warm::recipe_dir(&rig.state_dir, recipe));
    let _ = std::fs::remove_file(warm::record_path(&rig.state_dir, recipe));
    let _ = std::fs::remove_file(warm::root(&rig.state_dir).join(format!("{recipe}.lock")));
    Ok(())
}

/// One sweep. `Err` only when the sweep could not run at all.
pub async fn sweep(rig: &Rig, cancel: CancellationToken) -> Result<Summary> {
    let mut summary = Summary::default();
    let busy = in_flight(&rig.state_dir);
    if !busy.is_empty() {
        summary.skipped = Some(format!(
            "{} run(s) in flight ({}); try again later",
            busy.len(),
            busy.iter()
                .map(|r| r.stack.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ));
        return Ok(summary);
    }
    let progress = Progress::stderr();

    // 1. Live-warm apps.
    roll_live_warm(rig, &progress, &mut summary).await;

    // 2. Serial cold runs of the enrolled recipes on their latest release.
    let enrolled = enrolment(rig, &mut summary.errors);
    for (recipe, source) in enrolled.iter().flatten() {
        let line = if cancel.is_cancelled() {
            "not run: interrupted".to_string()
        } else {
            match source {
                Ok(source) => run_latest(rig, recipe, source, &cancel, &progress).await,
                Err(why) => format!("not run: {why}"),
            }
        };
        summary.runs.push((recipe.clone(), line));
    }

    // 3. Prune the warm data of recipes no longer enrolled (only when enrolment is known).
    if let Some(enrolled) = &enrolled {
        prune_unenrolled(rig, enrolled, &mut summary).await;
    }

    // 4. Disk.
    summary.disk = Some(disk_use(rig).await);
    Ok(summary)
}

/// Reconciles every live-warm app into the summary; a failed one is also an error.
async fn roll_live_warm(rig: &Rig, progress: &Progress, summary: &mut Summary) {
    match livewarm::reconcile_all(rig, progress).await {
        Ok(outcomes) => {
            for (name, o) in outcomes {
                if o.is_failure() {
                    summary.errors.push(format!("live-warm {name}: {o}"));
                }
                summary.live_warm.push((name, o.to_string()));
            }
        }
        Err(e) => summary.errors.push(format!("live-warm: {e:#}")),
    }
}

/// The enrolled recipes, or `None` (and why, in `errors`) when enrolment is unknown.
fn enrolment(
    rig: &Rig,
    errors: &mut Vec<String>,
) -> Option<BTreeMap<String, Result<String, String>>> {
    let Some(dir) = &rig.suites_dir else {
        errors.push("no suites dir (--suites): cannot tell which recipes are enrolled".into());
        return None;
    };
    match enrolled(dir) {
        Ok(e) => Some(e),
        Err(e) => {
            errors.push(format!("{e:#}"));
            None
        }
    }
}

/// A cold seed run of `recipe` on its latest release. Returns the summary's line.
async fn run_latest(
    rig: &Rig,
    recipe: &str,
    source: &str,
    cancel: &CancellationToken,
    progress: &Progress,
) -> String {
    let stamp = time::OffsetDateTime::now_utc().unix_timestamp();
    let request = RunRequest {
        recipe_source: source.to_string(),
        git_ref: None,
        stages: None,
        quick: false,
        extra: false,
        out_dir: rig
            .state_dir
            .join("nightly")
            .join(format!("{stamp}-{recipe}")),
        rig: rig.clone(),
        run_url: None,
        run_id: None,
        user_cancel: Default::default(),
        keep: None,
        on_verdict: Default::default(),
    };
    let out = request.out_dir.clone();
    progress.line(&format!("nightly: {recipe} on its latest release"));
    match lifecycle::run_role(request, cancel.clone(), Progress::stderr(), Role::Seed).await {
        Ok(r) if r.end == RunEnd::GREEN => match warm::load(&rig.state_dir, &r.recipe) {
            Ok(Some(rec)) => format!("green; canonical {} ({})", rec.version, out.display()),
            _ => format!("green ({})", out.display()),
        },
        Ok(_) => format!("RED; canonical unchanged ({})", out.display()),
        Err(e) => format!("not run: {e:#}"),
    }
}

/// Removes the warm data of every recipe that has some but is no longer enrolled.
async fn prune_unenrolled(
    rig: &Rig,
    enrolled: &BTreeMap<String, Result<String, String>>,
    summary: &mut Summary,
) {
    for recipe in warm_recipes(&rig.state_dir) {
        if enrolled.contains_key(&recipe) {
            continue;
        }
        match prune_warm(rig, &recipe).await {
            Ok(()) => summary.pruned.push(recipe),
            Err(e) => summary
                .errors
                .push(format!("pruning the warm data of {recipe}: {e:#}")),
        }
    }
}

/// How full the engine's data root and the state dir are: `87% used at /var/lib/docker, …`.
async fn disk_use(rig: &Rig) -> String {
    let mut disk = Vec::new();
    if let Ok(engine) = ccci_adapters::engine::Engine::connect().await {
        if let Ok(root) = engine.data_root().await {
            if let Ok(p) = ccci_adapters::prune::disk_used_percent(&root) {
                disk.push(format!("{p}% used at {}", root.display()));
            }
        }
    }
    if let Ok(p) = ccci_adapters::prune::disk_used_percent(&rig.state_dir) {
        disk.push(format!("{p}% used at {}", rig.state_dir.display()));
    }
    disk.join(", ")
}
