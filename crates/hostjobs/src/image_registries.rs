//! `ccci doctor`'s registry check: every registry the recipes' images name, probed at its
//! API root (`/v2/`) from this host, bounded, the way the engine will reach it for a pull
//! (the rule and the verdict are the core's: [`ccci_core::doctor::registry`]). Images
//! already present on the engine are not pulled by a run, so their registries are not
//! probed for them.
//!
//! The recipes: those named on the command line, and the enrolled ones whose source is a
//! directory (a git source would need a clone: not probed).

use ccci_adapters::engine::Engine;
use ccci_core::doctor::{self, Check, RegistryAnswer};
use ccci_core::pull_error::registry_of;
use ccci_runner::recipe::Recipe;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// How long one registry has to answer.
pub const PROBE_BOUND: Duration = Duration::from_secs(5);

/// One check per registry the images of `recipes` (and the enrolled recipes of
/// `suites_dir` with a directory source) name; one failure per recipe that does not load.
pub async fn checks(recipes: &[PathBuf], suites_dir: Option<&Path>) -> Vec<Check> {
    let mut dirs: Vec<PathBuf> = recipes.to_vec();
    if let Some(suites) = suites_dir {
        let enrolled = crate::nightly::enrolled(suites).unwrap_or_default();
        dirs.extend(
            enrolled
                .into_values()
                .flatten()
                .map(PathBuf::from)
                .filter(|p| p.is_dir()),
        );
    }
    let mut checks = Vec::new();
    let mut images = BTreeSet::new();
    for dir in &dirs {
        match Recipe::load(dir, None).and_then(|r| ccci_runner::app::sample_images(&r)) {
            Ok(named) => images.extend(named.into_values()),
            Err(e) => checks.push(Check::fail(
                "registry",
                format!("{}: its images cannot be read: {e}", dir.display()),
                "fix the recipe (`ccci lint` says more)",
            )),
        }
    }
    let engine = Engine::connect().await.ok();
    let mut by_registry: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for image in images {
        if let Some(engine) = &engine {
            if engine.image_present(&image).await {
                continue;
            }
        }
        by_registry
            .entry(registry_of(&image))
            .or_default()
            .push(image);
    }
    for (registry, images) in by_registry {
        let url = doctor::registry_api_url(&registry);
        let answer = probe(&url).await;
        checks.push(doctor::registry(&registry, &url, &images, &answer));
    }
    checks
}

async fn probe(url: &str) -> RegistryAnswer {
    let client = match reqwest::Client::builder().timeout(PROBE_BOUND).build() {
        Ok(c) => c,
        Err(e) => return RegistryAnswer::Failed(e.to_string()),
    };
    match client.get(url).send().await {
        Ok(answer) => RegistryAnswer::Status(answer.status().as_u16()),
        Err(e) if e.is_timeout() => RegistryAnswer::TimedOut(PROBE_BOUND.as_secs()),
        Err(e) => RegistryAnswer::Failed(error_chain(&e)),
    }
}

/// reqwest's error with its causes (`error sending request: … connection refused`).
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
