//! Alerts (docs/behaviour.md §6): one JSON file per alert in `<state_dir>/alerts/`
//! (`{id, ts, app, kind, message}`), written atomically (temp file + rename). Relaying prints
//! each pending alert once (one JSON line on stdout: the operator's hook or log) and moves it
//! to `alerts/archive/`, so an alert is relayed exactly once. Pending and archived alerts are
//! listed by `ccci alerts`.

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Alert {
    /// `<unix ms>-<app>-<kind>-<random>`: sorts by time.
    pub id: String,
    /// RFC 3339.
    pub ts: String,
    /// The app (live-warm app name, or recipe) the alert is about.
    pub app: String,
    /// What happened: `held`, `rolled_back`, `failed`, …
    pub kind: String,
    pub message: String,
}

/// A quick run's canonical could not be put back to its known-good state after its verdict
/// (docs/behaviour.md §6); the janitor's `warm::recover` puts it back.
pub const NOT_RESTORED: &str = "not_restored";

pub fn dir(state_dir: &Path) -> PathBuf {
    state_dir.join("alerts")
}

pub fn archive_dir(state_dir: &Path) -> PathBuf {
    dir(state_dir).join("archive")
}

fn safe(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// Writes a new alert; returns it.
pub fn raise(state_dir: &Path, app: &str, kind: &str, message: &str) -> Result<Alert> {
    use rand::Rng;
    let now = time::OffsetDateTime::now_utc();
    let ms = now.unix_timestamp_nanos() / 1_000_000;
    let alert = Alert {
        id: format!(
            "{ms}-{}-{}-{:06x}",
            safe(app),
            safe(kind),
            rand::rng().random_range(0..0x100_0000u32)
        ),
        ts: now
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default(),
        app: app.to_string(),
        kind: kind.to_string(),
        message: message.to_string(),
    };
    let path = dir(state_dir).join(format!("{}.json", alert.id));
    crate::atomic::write_atomic(&path, &serde_json::to_vec_pretty(&alert)?, None)
        .with_context(|| format!("writing {}", path.display()))?;
    Ok(alert)
}

fn read_dir_alerts(dir: &Path) -> Vec<(PathBuf, Alert)> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut out: Vec<(PathBuf, Alert)> = entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .filter_map(|p| {
            let a = serde_json::from_slice(&std::fs::read(&p).ok()?).ok()?;
            Some((p, a))
        })
        .collect();
    out.sort_by(|a, b| a.1.id.cmp(&b.1.id));
    out
}

/// Alerts not yet relayed, oldest first.
pub fn pending(state_dir: &Path) -> Vec<Alert> {
    read_dir_alerts(&dir(state_dir))
        .into_iter()
        .map(|(_, a)| a)
        .collect()
}

/// Alerts already relayed, oldest first.
pub fn archived(state_dir: &Path) -> Vec<Alert> {
    read_dir_alerts(&archive_dir(state_dir))
        .into_iter()
        .map(|(_, a)| a)
        .collect()
}

/// Relays every pending alert once through `sink`, then archives it. An alert whose relay
/// failed stays pending (relayed next time).
pub fn relay(state_dir: &Path, mut sink: impl FnMut(&Alert) -> Result<()>) -> Result<Vec<Alert>> {
    let archive = archive_dir(state_dir);
    let mut relayed = Vec::new();
    for (path, alert) in read_dir_alerts(&dir(state_dir)) {
        sink(&alert)?;
        std::fs::create_dir_all(&archive)
            .with_context(|| format!("creating {}", archive.display()))?;
        let to = archive.join(path.file_name().unwrap_or_default());
        std::fs::rename(&path, &to)
            .with_context(|| format!("archiving {} to {}", path.display(), to.display()))?;
        relayed.push(alert);
    }
    Ok(relayed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raise_list_relay_once_archive() {
        let state = tempdir();
        let a = raise(&state, "proxy", "held", "major bump 1.0.0 → 2.0.0").unwrap();
        let b = raise(&state, "kc", "rolled_back", "unhealthy").unwrap();
        assert_eq!(pending(&state).len(), 2);
        let mut seen = Vec::new();
        let relayed = relay(&state, |x| {
            seen.push(x.id.clone());
            Ok(())
        })
        .unwrap();
        assert_eq!(relayed.len(), 2);
        let mut ids = vec![a.id.clone(), b.id.clone()];
        ids.sort();
        assert_eq!(seen, ids);
        assert!(pending(&state).is_empty());
        assert_eq!(archived(&state).len(), 2);
        // Relayed once: a second relay has nothing.
        assert!(relay(&state, |_| panic!("relayed twice"))
            .unwrap()
            .is_empty());
        // A failing sink keeps the alert pending.
        raise(&state, "proxy", "held", "again").unwrap();
        assert!(relay(&state, |_| anyhow::bail!("hook down")).is_err());
        assert_eq!(pending(&state).len(), 1);
        // No temp files are left.
        for e in std::fs::read_dir(dir(&state)).unwrap().flatten() {
            let n = e.file_name().to_string_lossy().into_owned();
            assert!(n.ends_with(".json") || n == "archive", "{n}");
        }
        let _ = std::fs::remove_dir_all(&state);
    }

    fn tempdir() -> PathBuf {
        use rand::Rng;
        let d = std::env::temp_dir().join(format!(
            "ccci-alerts-{}-{:x}",
            std::process::id(),
            rand::rng().random_range(0..u32::MAX)
        ));
        std::fs::create_dir_all(&d).unwrap();
        d
    }
}
