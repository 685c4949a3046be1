//! Secret values: typed so that they cannot be printed by accident, and a redactor that
//! scrubs every known value from text before it leaves the run (logs, results, cards,
//! comments, JUnit).

use std::fmt;

/// A secret value. `Debug` and `Display` never show it; only [`Secret::expose`] does, and
/// only the code that hands it to the engine calls that.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// The raw value. Call only where the value must reach the engine or a forge.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// The text put where a secret value stood.
pub const REDACTED: &str = "[REDACTED]";

/// Replaces every known secret value in a text. Values shorter than 4 characters are not
/// redacted (they would shred ordinary text); cc-ci never generates such short secrets.
#[derive(Clone, Debug, Default)]
pub struct Redactor {
    secrets: Vec<Secret>,
}

impl Redactor {
    pub fn new(secrets: impl IntoIterator<Item = Secret>) -> Self {
        let mut redactor = Redactor::default();
        for secret in secrets {
            redactor.add(secret);
        }
        redactor
    }

    pub fn add(&mut self, secret: Secret) {
        if secret.expose().len() >= 4 && !self.secrets.contains(&secret) {
            self.secrets.push(secret);
            // Longest first, so a value that contains another is replaced whole.
            self.secrets
                .sort_by_key(|s| std::cmp::Reverse(s.expose().len()));
        }
    }

    pub fn is_empty(&self) -> bool {
        self.secrets.is_empty()
    }

    pub fn redact(&self, text: &str) -> String {
        let mut out = text.to_string();
        for secret in &self.secrets {
            if out.contains(secret.expose()) {
                out = out.replace(secret.expose(), REDACTED);
            }
        }
        out
    }

    /// True when any known secret value occurs in `text`.
    pub fn leaks_in(&self, text: &str) -> bool {
        self.secrets.iter().any(|s| text.contains(s.expose()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_and_display_hide_the_value() {
        let s = Secret::new("hunter2-very-secret");
        assert_eq!(format!("{s:?} {s}"), "Secret(***) ***");
    }

    #[test]
    fn redacts_longest_first_and_reports_leaks() {
        let r = Redactor::new([
            Secret::new("abcd"),
            Secret::new("abcdef"),
            Secret::new("xy"),
        ]);
        assert_eq!(r.redact("x abcdef abcd xy"), "x [REDACTED] [REDACTED] xy");
        assert!(r.leaks_in("..abcd.."));
        assert!(!r.leaks_in("[REDACTED] xy"));
    }
}
