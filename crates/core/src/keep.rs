//! `--keep` (`ccci run --keep 30m`, `!testme --keep`): a RED run leaves its app deployed
//! for a while so a maintainer can look at it; the janitor removes it when the time is up.
//!
//! Pure: the duration as people write it (humantime: `30m`, `1h 15m`, `90s`), its bounds,
//! and whether a run ends kept.

use std::time::Duration;

/// `--keep` without a value.
pub const DEFAULT_KEEP: Duration = Duration::from_secs(30 * 60);

/// The longest an app may be kept: it holds a slot of the host meanwhile.
pub const MAX_KEEP: Duration = Duration::from_secs(2 * 60 * 60);

/// A `--keep` value that cannot be used. `Display` says what to write instead.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum KeepError {
    #[error("--keep `{value}`: not a duration ({why}); write e.g. `30m`, `1h`, `90s`")]
    NotADuration { value: String, why: String },
    #[error("--keep `{value}`: must be at least 1s")]
    Zero { value: String },
    #[error("--keep `{value}`: at most 2h (a kept app holds a slot of the host)")]
    TooLong { value: String },
}

/// Why a kept app cannot be released.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ReleaseError {
    #[error("no app `{stack}` is kept on this rig (kept: {kept}); `ccci janitor --dry-run` lists every stack")]
    NotKept { stack: String, kept: String },
    #[error("`{stack}` belongs to a run still running (pid {pid}); it is not kept yet")]
    StillRunning { stack: String, pid: u32 },
}

/// Reads a `--keep` value: a humantime duration in whole seconds (a fraction is dropped),
/// at least 1 s and at most [`MAX_KEEP`]. The error quotes the value shortened and inert
/// (no backtick or control character: it may be posted as a PR comment's code span).
pub fn parse_keep(value: &str) -> Result<Duration, KeepError> {
    let shown: String = value
        .chars()
        .take(40)
        .map(|c| if c == '`' || c.is_control() { '?' } else { c })
        .collect();
    let keep = humantime::parse_duration(value.trim()).map_err(|e| KeepError::NotADuration {
        value: shown.clone(),
        why: short_reason(&e).into(),
    })?;
    let keep = Duration::from_secs(keep.as_secs());
    if keep.is_zero() {
        return Err(KeepError::Zero { value: shown });
    }
    if keep > MAX_KEEP {
        return Err(KeepError::TooLong { value: shown });
    }
    Ok(keep)
}

/// humantime's reason in a few words (its own can run past a PR reply's length).
fn short_reason(e: &humantime::DurationError) -> &'static str {
    match e {
        humantime::DurationError::InvalidCharacter(_) => "an unexpected character",
        humantime::DurationError::NumberExpected(_) => "a number is missing",
        humantime::DurationError::UnknownUnit { .. } => "an unknown unit",
        humantime::DurationError::NumberOverflow => "too large",
        humantime::DurationError::Empty => "empty",
    }
}

/// A duration as `--keep` spells it (`30m`, `1h 15m`, `20s`).
pub fn format_keep(keep: Duration) -> String {
    humantime::format_duration(Duration::from_secs(keep.as_secs())).to_string()
}

/// Why a run asked to keep its app ends without keeping it, or `None`: it is kept.
/// Only a RED cold run that was not interrupted keeps its app: GREEN tears down as always,
/// a warm run ends on its canonical, and a stopped run (Ctrl-C, the deadline) tears down
/// as it says.
pub fn not_kept_because(green: bool, warm: bool, interrupted: bool) -> Option<&'static str> {
    if green {
        Some("the run is green: torn down as always")
    } else if interrupted {
        Some("the run was stopped (Ctrl-C or its deadline): torn down")
    } else if warm {
        Some("a warm run ends on its canonical: not kept")
    } else {
        None
    }
}

/// Seconds left of a keep that ends at `kept_until` (unix seconds), at `now`; 0 when over.
pub fn seconds_left(kept_until: i64, now: i64) -> u64 {
    u64::try_from(kept_until.saturating_sub(now)).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_keep_table() {
        let ok: &[(&str, u64)] = &[
            ("30m", 1800),
            ("20s", 20),
            ("1h", 3600),
            ("1h 15m", 4500),
            (" 2h ", 7200),
            ("90s", 90),
            ("120m", 7200),
            ("1500ms", 1),
        ];
        for (value, secs) in ok {
            assert_eq!(
                parse_keep(value),
                Ok(Duration::from_secs(*secs)),
                "{value:?}"
            );
        }
        let bad: &[(&str, &str)] = &[
            ("", "not a duration"),
            ("soon", "not a duration"),
            ("30", "not a duration"),
            ("-5m", "not a duration"),
            ("0s", "at least 1s"),
            ("500ms", "at least 1s"),
            ("2h 1s", "at most 2h"),
            ("3h", "at most 2h"),
            ("1000000000000000000000h", "not a duration"),
            ("18446744073709551616", "not a duration (too large)"),
        ];
        for (value, fragment) in bad {
            let error = parse_keep(value).unwrap_err().to_string();
            assert!(error.contains(fragment), "{value:?}: {error}");
            assert!(error.starts_with("--keep `"), "{error}");
        }
    }

    #[test]
    fn a_long_value_is_quoted_short() {
        let error = parse_keep(&"x".repeat(5000)).unwrap_err().to_string();
        assert!(error.len() < 200, "{error}");
        let error = parse_keep("1`h\n").unwrap_err().to_string();
        assert!(error.starts_with("--keep `1?h?`:"), "{error}");
    }

    #[test]
    fn format_keep_reads_back() {
        for secs in [20, 90, 1800, 4500, 7200] {
            let keep = Duration::from_secs(secs);
            assert_eq!(parse_keep(&format_keep(keep)), Ok(keep), "{secs}");
        }
        assert_eq!(format_keep(DEFAULT_KEEP), "30m");
    }

    #[test]
    fn only_a_red_cold_uninterrupted_run_keeps() {
        // (green, warm, interrupted, kept)
        let rows = [
            (false, false, false, true),
            (true, false, false, false),
            (false, true, false, false),
            (false, false, true, false),
            (true, true, true, false),
        ];
        for (green, warm, interrupted, kept) in rows {
            assert_eq!(
                not_kept_because(green, warm, interrupted).is_none(),
                kept,
                "green {green} warm {warm} interrupted {interrupted}"
            );
        }
    }

    #[test]
    fn seconds_left_never_negative() {
        assert_eq!(seconds_left(100, 40), 60);
        assert_eq!(seconds_left(100, 100), 0);
        assert_eq!(seconds_left(100, 500), 0);
    }
}
