//! The live-warm reconciler's decision rule (docs/behaviour.md §6), pure.
//!
//! For a live-warm infra app at `current` (its last-good release, `None` before its first
//! deploy) and the recipe's `latest` release with its release notes:
//! - no release → nothing to do;
//! - never deployed → install the latest (nothing to break yet);
//! - latest not newer than current → up to date;
//! - a **major** bump → hold and alert. Major is semver major of the recipe version
//!   `X.Y.Z` (the part before `+`); in `0.x` a minor bump counts as major;
//! - release notes that **flag a manual migration** → hold and alert. The notes flag it when
//!   they contain, case-insensitively, one of [`MIGRATION_WORDS`] as a word prefix (so
//!   "Manual", "migrations", "migrate", "BREAKING" all count; "unmanualised" does not);
//! - else apply.

use semver::Version;

/// Words in release notes that mean "a human must act": any word starting with one of these.
pub const MIGRATION_WORDS: &[&str] = &["manual", "migrat", "breaking"];

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Plan {
    /// No release to deploy.
    NoRelease,
    UpToDate,
    /// First deploy of the latest release.
    Install {
        to: String,
    },
    /// Auto-apply `from` → `to`.
    Apply {
        from: String,
        to: String,
    },
    /// Hold at `from`; alert with `reason`.
    Hold {
        from: String,
        to: String,
        reason: String,
    },
}

/// The recipe version of a release tag (`1.2.0+1.27.2` → 1.2.0).
pub fn recipe_version(tag: &str) -> Option<Version> {
    let v = Version::parse(tag.strip_prefix('v').unwrap_or(tag)).ok()?;
    Some(Version::new(v.major, v.minor, v.patch))
}

/// Is `from` → `to` a major bump (0.x: a minor bump counts as major)?
pub fn is_major(from: &Version, to: &Version) -> bool {
    to.major != from.major || (from.major == 0 && to.minor != from.minor)
}

/// The first word of the notes that flags a manual migration, if any.
pub fn flags_migration(notes: &str) -> Option<String> {
    notes
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .find(|w| {
            let lw = w.to_lowercase();
            MIGRATION_WORDS.iter().any(|m| lw.starts_with(m))
        })
        .map(str::to_string)
}

/// The rule. `current` and `latest` are release tags; `notes` the latest's release notes.
pub fn decide(current: Option<&str>, latest: Option<&str>, notes: Option<&str>) -> Plan {
    let Some(latest) = latest else {
        return Plan::NoRelease;
    };
    let Some(current) = current else {
        return Plan::Install {
            to: latest.to_string(),
        };
    };
    let (Some(cv), Some(lv)) = (recipe_version(current), recipe_version(latest)) else {
        return Plan::Hold {
            from: current.to_string(),
            to: latest.to_string(),
            reason: format!("cannot compare versions {current} and {latest}"),
        };
    };
    if lv <= cv {
        return Plan::UpToDate;
    }
    let hold = |reason: String| Plan::Hold {
        from: current.to_string(),
        to: latest.to_string(),
        reason,
    };
    if is_major(&cv, &lv) {
        return hold(format!(
            "{current} → {latest} is a major upgrade: held for a human"
        ));
    }
    if let Some(word) = notes.and_then(flags_migration) {
        return hold(format!(
            "the release notes of {latest} flag a manual step ({word:?}): held for a human"
        ));
    }
    Plan::Apply {
        from: current.to_string(),
        to: latest.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind(p: &Plan) -> &'static str {
        match p {
            Plan::NoRelease => "none",
            Plan::UpToDate => "up-to-date",
            Plan::Install { .. } => "install",
            Plan::Apply { .. } => "apply",
            Plan::Hold { .. } => "hold",
        }
    }

    /// `(current, latest, notes, expected plan)`.
    type Case<'a> = (Option<&'a str>, Option<&'a str>, Option<&'a str>, &'a str);

    #[test]
    fn decision_table() {
        let cases: &[Case] = &[
            (None, None, None, "none"),
            (Some("1.0.0+1"), None, None, "none"),
            (None, Some("1.0.0+1"), None, "install"),
            (None, Some("2.0.0+1"), Some("manual migration"), "install"),
            (Some("1.0.0+1"), Some("1.0.0+1"), None, "up-to-date"),
            (Some("1.2.0+1"), Some("1.1.0+1"), None, "up-to-date"),
            // Only the recipe version counts, not the app version after `+`.
            (Some("1.0.0+1.0"), Some("1.0.0+2.0"), None, "up-to-date"),
            (Some("1.0.0+1"), Some("1.1.0+1"), None, "apply"),
            (Some("1.0.0+1"), Some("1.0.1+1"), None, "apply"),
            (
                Some("1.0.0+1"),
                Some("1.9.3+7"),
                Some("Fixes a typo."),
                "apply",
            ),
            (Some("1.0.0+1"), Some("2.0.0+1"), None, "hold"),
            (Some("1.9.0+1"), Some("2.0.0+1"), Some("all fine"), "hold"),
            // 0.x: minor is major, patch is not.
            (Some("0.3.0+1"), Some("0.4.0+1"), None, "hold"),
            (Some("0.3.0+1"), Some("0.3.1+1"), None, "apply"),
            (Some("0.3.0+1"), Some("1.0.0+1"), None, "hold"),
            // Release notes that flag a manual step.
            (
                Some("1.0.0+1"),
                Some("1.1.0+1"),
                Some("Manual steps needed"),
                "hold",
            ),
            (
                Some("1.0.0+1"),
                Some("1.1.0+1"),
                Some("run the MIGRATION first"),
                "hold",
            ),
            (
                Some("1.0.0+1"),
                Some("1.1.0+1"),
                Some("db migrations run"),
                "hold",
            ),
            (
                Some("1.0.0+1"),
                Some("1.1.0+1"),
                Some("migrate the config"),
                "hold",
            ),
            (
                Some("1.0.0+1"),
                Some("1.1.0+1"),
                Some("BREAKING: new env"),
                "hold",
            ),
            (
                Some("1.0.0+1"),
                Some("1.1.0+1"),
                Some("non-breaking fix"),
                "hold",
            ),
            // Not a word prefix: not a flag.
            (
                Some("1.0.0+1"),
                Some("1.1.0+1"),
                Some("an unmanualised note"),
                "apply",
            ),
            (Some("1.0.0+1"), Some("1.1.0+1"), Some(""), "apply"),
            // Unparseable current: hold rather than guess.
            (Some("latest"), Some("1.1.0+1"), None, "hold"),
        ];
        for (current, latest, notes, want) in cases {
            let plan = decide(*current, *latest, *notes);
            assert_eq!(
                kind(&plan),
                *want,
                "{current:?} → {latest:?} notes {notes:?}: {plan:?}"
            );
        }
    }

    #[test]
    fn hold_reasons_say_why() {
        match decide(Some("1.0.0+1"), Some("2.0.0+1"), None) {
            Plan::Hold { reason, .. } => assert!(reason.contains("major"), "{reason}"),
            p => panic!("{p:?}"),
        }
        match decide(
            Some("1.0.0+1"),
            Some("1.1.0+1"),
            Some("Requires manual steps"),
        ) {
            Plan::Hold { reason, .. } => assert!(reason.contains("\"manual\""), "{reason}"),
            p => panic!("{p:?}"),
        }
    }
}
