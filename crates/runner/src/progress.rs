//! Live progress: on the terminal, a status line redrawn in place on a TTY, plain lines
//! (only when something changed) otherwise; in the service, the run directory's live files
//! ([`crate::live`]). Every line is redacted with the secrets armed so far ([`Progress::arm`]).

use crate::live::LiveFiles;
use ccci_core::ladder::Rung;
use ccci_core::live::RungEvent;
use ccci_core::results::RungResult;
use ccci_core::secret::Redactor;
use std::io::{IsTerminal, Write};
use std::path::Path;
use std::sync::Mutex;

pub struct Progress {
    tty: bool,
    quiet: bool,
    last: Mutex<String>,
    /// The run's secrets, armed once they exist (preflight) and re-armed when one is added.
    redactor: Mutex<Redactor>,
    live: Option<LiveFiles>,
}

impl Progress {
    fn new(tty: bool, quiet: bool, live: Option<LiveFiles>) -> Progress {
        Progress {
            tty,
            quiet,
            last: Mutex::new(String::new()),
            redactor: Mutex::new(Redactor::default()),
            live,
        }
    }

    pub fn stderr() -> Progress {
        Progress::new(std::io::stderr().is_terminal(), false, None)
    }

    /// Prints nothing (the service runs many runs at once; it logs instead).
    pub fn quiet() -> Progress {
        Progress::new(false, true, None)
    }

    /// Quiet, and every line and rung event appended to `out_dir`'s live files as it
    /// happens (the service's runs: the run page streams them). Without the files (the
    /// directory cannot be written) the run goes on quiet.
    pub fn live(out_dir: &Path) -> Progress {
        let live = LiveFiles::create(out_dir)
            .inspect_err(|e| tracing::warn!("no live log in {}: {e}", out_dir.display()))
            .ok();
        Progress::new(false, true, live)
    }

    /// From now on, every line is redacted with `redactor`'s secrets.
    pub fn arm(&self, redactor: &Redactor) {
        if let Ok(mut armed) = self.redactor.lock() {
            *armed = redactor.clone();
        }
    }

    fn redacted(&self, text: &str) -> String {
        match self.redactor.lock() {
            Ok(redactor) => redactor.redact(text),
            Err(_) => String::new(),
        }
    }

    /// A lasting line: a phase started or ended.
    pub fn line(&self, text: &str) {
        let text = self.redacted(text);
        if let Some(live) = &self.live {
            live.line(&text);
        }
        if self.quiet {
            tracing::info!("{text}");
            return;
        }
        let mut err = std::io::stderr().lock();
        if self.tty {
            let _ = write!(err, "\r\x1b[K");
        }
        let _ = writeln!(err, "{text}");
        if let Ok(mut last) = self.last.lock() {
            last.clear();
        }
    }

    /// A passing status (services, replicas, health): redrawn on a TTY, printed once per
    /// change otherwise.
    pub fn status(&self, text: &str) {
        if self.quiet && self.live.is_none() {
            return;
        }
        let Ok(mut last) = self.last.lock() else {
            return;
        };
        if *last == text {
            return;
        }
        *last = text.to_string();
        drop(last);
        let text = self.redacted(text);
        if let Some(live) = &self.live {
            live.line(&format!("  {text}"));
        }
        if self.quiet {
            return;
        }
        let mut err = std::io::stderr().lock();
        if self.tty {
            let width = 120;
            let shown: String = text.chars().take(width).collect();
            let _ = write!(err, "\r\x1b[K  {shown}");
            let _ = err.flush();
        } else {
            let _ = writeln!(err, "  {text}");
        }
    }

    fn event(&self, event: RungEvent) {
        if let (Some(live), Ok(redactor)) = (&self.live, self.redactor.lock()) {
            live.event(&event, &redactor);
        }
    }

    /// The rungs the run reports, in order, before the first one starts.
    pub fn rungs_planned(&self, rungs: &[Rung]) {
        self.event(RungEvent::Planned {
            rungs: rungs.to_vec(),
        });
    }

    pub fn rung_started(&self, rung: Rung) {
        let at_ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or(0);
        self.event(RungEvent::Started { rung, at_ms });
    }

    pub fn rung_finished(&self, result: &RungResult) {
        self.event(RungEvent::Finished {
            rung: result.name,
            status: result.status,
            duration_ms: result.duration_ms,
            reason: result.reason.clone(),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ccci_core::ladder::RungStatus;
    use ccci_core::live::{parse_events, timeline, Phase, LIVE_LOG, LIVE_RUNGS};
    use ccci_core::secret::Secret;

    #[test]
    fn live_lines_and_rung_reasons_are_redacted_once_armed() {
        let dir = std::env::temp_dir().join(format!("ccci-live-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let progress = Progress::live(&dir);
        progress.line("planning: nothing to hide yet");
        progress.arm(&Redactor::new([Secret::new("hunter2-secret")]));
        progress.line("the password is hunter2-secret\r\nsecond line");
        progress.status("waiting for hunter2-secret");
        progress.status("waiting for hunter2-secret"); // unchanged: said once
        progress.rung_started(Rung::Install);
        progress.rung_finished(&RungResult {
            name: Rung::Install,
            status: RungStatus::Fail,
            reason: Some("the app printed hunter2-secret".into()),
            skip: None,
            duration_ms: 1_500,
            tests: Vec::new(),
        });
        let log = std::fs::read_to_string(dir.join(LIVE_LOG)).unwrap();
        assert_eq!(
            log,
            "planning: nothing to hide yet\nthe password is [REDACTED]\nsecond line\n  waiting for [REDACTED]\n"
        );
        let rungs = std::fs::read_to_string(dir.join(LIVE_RUNGS)).unwrap();
        assert!(!rungs.contains("hunter2"), "{rungs}");
        let install = &timeline(&parse_events(&rungs), 0)[0];
        assert_eq!(install.phase, Phase::Fail);
        assert_eq!(
            install.reason.as_deref(),
            Some("the app printed [REDACTED]")
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}
