//! Writes a run's artefacts (results, card, comment, JUnit) with every secret redacted, and
//! checks the whole run directory for leaks afterwards.

use anyhow::{Context, Result};
use ccci_core::results::RunResults;
use ccci_core::secret::Redactor;
use std::path::Path;

/// Files under `dir` (recursively) in which a secret value still appears.
pub fn leaks(dir: &Path, redactor: &Redactor) -> Vec<String> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if let Ok(bytes) = std::fs::read(&p) {
                if redactor.leaks_in(&String::from_utf8_lossy(&bytes)) {
                    found.push(p.display().to_string());
                }
            }
        }
    }
    found
}

pub fn write(dir: &Path, results: &mut RunResults, redactor: &Redactor) -> Result<()> {
    // Backups hold the app's data (which may include its secrets); they are not
    // artefacts people read, and they are removed once the rung is done.
    let _ = std::fs::remove_dir_all(dir.join("backup"));
    // `no_secret_leak` is false when a value reached any text before redaction: the app's
    // own log (the caller's finding) or a file already in the run directory.
    results.flags.no_secret_leak &= leaks(dir, redactor).is_empty();
    ccci_report::artefacts::write_run_dir(dir, results, redactor)
        .with_context(|| format!("writing artefacts to {}", dir.display()))?;
    let left = leaks(dir, redactor);
    if !left.is_empty() {
        anyhow::bail!(
            "secret values found in artefacts after redaction: {}",
            left.join(", ")
        );
    }
    Ok(())
}
