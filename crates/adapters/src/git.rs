//! The `git` CLI, bounded to what cc-ci asks of it: no prompts, no system config, stdout
//! trimmed, and a [`GitError`] that says whether git is missing or what it answered.

use std::path::Path;
use std::process::Command;

/// Why a git command gave no output to use.
#[derive(Debug, thiserror::Error)]
pub enum GitError {
    /// git could not be started.
    #[error("cannot run git (is it installed?): {0}")]
    Missing(std::io::Error),
    /// git ran and failed; its own words (stderr, trimmed).
    #[error("{stderr}")]
    Failed { stderr: String },
}

/// Runs git (in `dir`, without prompts or the system config) and returns its trimmed stdout.
pub fn git(dir: Option<&Path>, args: &[&str]) -> Result<String, GitError> {
    let mut cmd = Command::new("git");
    if let Some(d) = dir {
        cmd.arg("-C").arg(d);
    }
    cmd.args(args)
        .env("GIT_TERMINAL_PROMPT", "0")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .stdin(std::process::Stdio::null());
    let out = cmd.output().map_err(GitError::Missing)?;
    if !out.status.success() {
        return Err(GitError::Failed {
            stderr: String::from_utf8_lossy(&out.stderr).trim().to_string(),
        });
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
}
