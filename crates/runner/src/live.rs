//! The run directory's live files ([`ccci_core::live`]): the log and the rung events,
//! appended as the run goes so a page (on this host or another reading the same state)
//! shows the run while it happens. Every line is redacted before it is written, with the
//! secrets the run has armed so far.

use ccci_core::live::{RungEvent, LIVE_LOG, LIVE_RUNGS};
use ccci_core::secret::Redactor;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::Path;
use std::sync::Mutex;

/// The two append-only files of one run. Writes are whole lines, each one `write_all`, so a
/// reader sees complete lines or a half-written last one (which it leaves for later).
pub struct LiveFiles {
    log: Mutex<File>,
    rungs: Mutex<File>,
}

fn append(path: &Path) -> std::io::Result<File> {
    OpenOptions::new().create(true).append(true).open(path)
}

impl LiveFiles {
    pub fn create(out_dir: &Path) -> std::io::Result<LiveFiles> {
        std::fs::create_dir_all(out_dir)?;
        Ok(LiveFiles {
            log: Mutex::new(append(&out_dir.join(LIVE_LOG))?),
            rungs: Mutex::new(append(&out_dir.join(LIVE_RUNGS))?),
        })
    }

    /// Appends `text` (already redacted), one log line per line of it.
    pub fn line(&self, text: &str) {
        let mut lines = String::with_capacity(text.len() + 1);
        for line in text.lines() {
            lines.push_str(&line.replace('\r', ""));
            lines.push('\n');
        }
        if let Ok(mut log) = self.log.lock() {
            if let Err(e) = log.write_all(lines.as_bytes()) {
                tracing::debug!("live log not written: {e}");
            }
        }
    }

    /// Appends a rung event, its reason redacted.
    pub fn event(&self, event: &RungEvent, redactor: &Redactor) {
        let mut event = event.clone();
        if let RungEvent::Finished {
            reason: Some(reason),
            ..
        } = &mut event
        {
            *reason = redactor.redact(reason);
        }
        let Ok(mut json) = serde_json::to_string(&event) else {
            return;
        };
        json.push('\n');
        if let Ok(mut rungs) = self.rungs.lock() {
            if let Err(e) = rungs.write_all(json.as_bytes()) {
                tracing::debug!("live rung event not written: {e}");
            }
        }
    }
}
