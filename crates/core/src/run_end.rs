//! How a run ended. A run the recipe was judged in ended with a [`Verdict`] (green or red:
//! a claim about the recipe). Two endings make no claim: a person cancelled the run, or
//! cc-ci's own machinery failed before it could judge the recipe.
//!
//! Results, the store, the dashboard and the metrics write an ending as one word:
//! `green`, `red`, `cancelled`, `error` (the words of the older `verdict` field, unchanged).

use crate::ladder::Verdict;
use serde::{de, Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RunEnd {
    /// The recipe was judged.
    Judged(Verdict),
    /// Cancelled by a person (`!testme cancel`, the run page, Ctrl-C); torn down, no claim made.
    Cancelled,
    /// cc-ci failed (its forwarder, a sandbox, the engine), not the recipe; no claim made.
    Error,
}

impl RunEnd {
    pub const GREEN: RunEnd = RunEnd::Judged(Verdict::Green);
    pub const RED: RunEnd = RunEnd::Judged(Verdict::Red);
    pub const ALL: [RunEnd; 4] = [RunEnd::GREEN, RunEnd::RED, RunEnd::Cancelled, RunEnd::Error];
    const NAMES: [&'static str; 4] = ["green", "red", "cancelled", "error"];

    /// The verdict, when the run reached one.
    pub fn verdict(self) -> Option<Verdict> {
        match self {
            RunEnd::Judged(verdict) => Some(verdict),
            RunEnd::Cancelled | RunEnd::Error => None,
        }
    }

    /// The word results, the store and the dashboard use.
    pub fn name(self) -> &'static str {
        match self {
            RunEnd::Judged(verdict) => verdict.name(),
            RunEnd::Cancelled => "cancelled",
            RunEnd::Error => "error",
        }
    }

    /// The ending a word names ([`RunEnd::name`] back).
    pub fn parse(word: &str) -> Option<RunEnd> {
        RunEnd::ALL.into_iter().find(|end| end.name() == word)
    }
}

impl From<Verdict> for RunEnd {
    fn from(verdict: Verdict) -> RunEnd {
        RunEnd::Judged(verdict)
    }
}

impl fmt::Display for RunEnd {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl Serialize for RunEnd {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.name())
    }
}

impl<'de> Deserialize<'de> for RunEnd {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<RunEnd, D::Error> {
        let word = String::deserialize(deserializer)?;
        RunEnd::parse(&word).ok_or_else(|| de::Error::unknown_variant(&word, &RunEnd::NAMES))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The words written before endings had their own type read back as the same endings,
    /// and are written again unchanged.
    #[test]
    fn the_words_on_disk_round_trip() {
        let cases = [
            ("\"green\"", RunEnd::Judged(Verdict::Green)),
            ("\"red\"", RunEnd::Judged(Verdict::Red)),
            ("\"cancelled\"", RunEnd::Cancelled),
            ("\"error\"", RunEnd::Error),
        ];
        for (json, end) in cases {
            assert_eq!(serde_json::from_str::<RunEnd>(json).unwrap(), end, "{json}");
            assert_eq!(serde_json::to_string(&end).unwrap(), json);
            assert_eq!(RunEnd::parse(&json[1..json.len() - 1]), Some(end));
        }
        let unknown = serde_json::from_str::<RunEnd>("\"amber\"").unwrap_err();
        assert!(
            unknown.to_string().contains("unknown variant `amber`"),
            "{unknown}"
        );
        assert_eq!(RunEnd::parse("Green"), None);
    }

    #[test]
    fn only_a_judged_run_has_a_verdict() {
        assert_eq!(RunEnd::GREEN.verdict(), Some(Verdict::Green));
        assert_eq!(RunEnd::RED.verdict(), Some(Verdict::Red));
        assert_eq!(RunEnd::Cancelled.verdict(), None);
        assert_eq!(RunEnd::Error.verdict(), None);
    }
}
