//! A warm canonical's record and where its files live under the state dir (see [`crate::warm`]
//! for what a canonical is). Data only: the run context holds a quick run's [`Attached`]
//! without depending on the warm machinery.

use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// The registry record of a canonical.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Record {
    pub recipe: String,
    pub domain: String,
    /// The known-good release tag (`1.1.0+1.1.0`).
    pub version: String,
    pub commit: Option<String>,
    /// Always `green`: only a green seed becomes a canonical.
    pub status: String,
    /// When it was promoted (RFC 3339).
    pub ts: String,
    pub stack: String,
    /// The directory under `warm/<recipe>/` holding its snapshot, env and secrets.
    pub generation: String,
}

impl Record {
    pub fn gen_dir(&self, state_dir: &Path) -> PathBuf {
        recipe_dir(state_dir, &self.recipe).join(&self.generation)
    }
    pub fn snapshot_dir(&self, state_dir: &Path) -> PathBuf {
        self.gen_dir(state_dir).join("snapshot")
    }
    pub fn env_path(&self, state_dir: &Path) -> PathBuf {
        self.gen_dir(state_dir).join("app.env")
    }
    pub fn secrets_path(&self, state_dir: &Path) -> PathBuf {
        self.gen_dir(state_dir).join("secrets.json")
    }
}

/// A quick run's handle on the canonical it reattaches.
#[derive(Clone, Debug)]
pub struct Attached {
    pub record: Record,
    pub state_dir: PathBuf,
}

pub fn root(state_dir: &Path) -> PathBuf {
    state_dir.join("warm")
}

pub fn record_path(state_dir: &Path, recipe: &str) -> PathBuf {
    root(state_dir).join(format!("{recipe}.json"))
}

pub fn recipe_dir(state_dir: &Path, recipe: &str) -> PathBuf {
    root(state_dir).join(recipe)
}
