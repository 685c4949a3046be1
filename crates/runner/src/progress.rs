//! Live progress on the terminal: a status line redrawn in place on a TTY, plain lines
//! (only when something changed) otherwise.

use std::io::{IsTerminal, Write};
use std::sync::Mutex;

pub struct Progress {
    tty: bool,
    quiet: bool,
    last: Mutex<String>,
}

impl Progress {
    pub fn stderr() -> Progress {
        Progress {
            tty: std::io::stderr().is_terminal(),
            quiet: false,
            last: Mutex::new(String::new()),
        }
    }

    /// Prints nothing (the service runs many runs at once; it logs instead).
    pub fn quiet() -> Progress {
        Progress {
            tty: false,
            quiet: true,
            last: Mutex::new(String::new()),
        }
    }

    /// A lasting line: a phase started or ended.
    pub fn line(&self, text: &str) {
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
        if self.quiet {
            return;
        }
        let Ok(mut last) = self.last.lock() else {
            return;
        };
        if *last == text {
            return;
        }
        *last = text.to_string();
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
}
