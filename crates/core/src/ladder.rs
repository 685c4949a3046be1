//! The level ladder and the verdict (docs/behaviour.md §5).
//!
//! Four essential rungs, bottom to top: install → upgrade → backup_restore → functional,
//! and on top of them **L5 = lint**: the recipe lints clean (no error-level rule fails). The
//! lint runs first, before anything is deployed, but sits at the top of the ladder: L5 means
//! all four deploy rungs pass *and* the lint is clean. The level is the number of
//! consecutive passing rungs from the bottom. A skip caps the level and never inflates it.
//! The verdict is GREEN only if no rung (on or off the ladder) failed and no declared
//! dependency went unverified. A lint whose every error is inherited from the base release
//! (docs/behaviour.md §5: a PR is judged on what it changes) is a skip of kind
//! [`SkipKind::Inherited`]: it caps the level at L4 and leaves the verdict to the rest.

use serde::{Deserialize, Serialize};
use std::fmt;

/// A step of the lifecycle. The first four are the ladder; the rest are reported beside it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Rung {
    Install,
    Upgrade,
    BackupRestore,
    Functional,
    /// L5: the recipe lint (abra's published rules and cc-ci's base-vs-head rules) has no
    /// error-level failure. Run before any deploy; warnings never fail it.
    Lint,
    Integration,
    /// Reserved in the results schema; never run nor selectable: the recipe's own
    /// `.ccci/tests` run in the functional rung (as the judging suite's, or as checks the
    /// head adds), sandboxed.
    RecipeLocal,
}

impl Rung {
    /// The ladder, bottom first.
    pub const LADDER: [Rung; 5] = [
        Rung::Install,
        Rung::Upgrade,
        Rung::BackupRestore,
        Rung::Functional,
        Rung::Lint,
    ];
    pub const ALL: [Rung; 7] = [
        Rung::Install,
        Rung::Upgrade,
        Rung::BackupRestore,
        Rung::Functional,
        Rung::Lint,
        Rung::Integration,
        Rung::RecipeLocal,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Rung::Install => "install",
            Rung::Upgrade => "upgrade",
            Rung::BackupRestore => "backup_restore",
            Rung::Functional => "functional",
            Rung::Lint => "lint",
            Rung::Integration => "integration",
            Rung::RecipeLocal => "recipe_local",
        }
    }

    /// The rungs a user can name (`--stages`, `expected_na`).
    pub const SELECTABLE: [Rung; 6] = [
        Rung::Install,
        Rung::Upgrade,
        Rung::BackupRestore,
        Rung::Functional,
        Rung::Lint,
        Rung::Integration,
    ];

    /// A rung a user can name; `recipe_local` is not one (see [`Rung::RecipeLocal`]).
    pub fn parse(name: &str) -> Option<Rung> {
        let name = name.trim().replace('-', "_");
        Rung::SELECTABLE.into_iter().find(|r| r.name() == name)
    }

    pub fn on_ladder(self) -> bool {
        Rung::LADDER.contains(&self)
    }
}

impl fmt::Display for Rung {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RungStatus {
    Pass,
    Fail,
    Skip,
}

/// Why a rung was skipped: intentional skips come from the suite's `EXPECTED_NA`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SkipKind {
    /// Declared not applicable by the suite (`EXPECTED_NA`).
    Intentional,
    /// Not selected with `--stages`, or not reached because a lower rung failed, or no tests.
    Unintentional,
    /// The lint only: it ran, and every error-level finding was already at the base
    /// release. Not this change's failure (the verdict is not RED), not a pass (the level
    /// stops below L5); shown with each finding's fix.
    Inherited,
}

/// A claim about the recipe: GREEN or RED. A run that made none (cancelled, or cc-ci
/// failed) ended otherwise: see [`crate::run_end::RunEnd`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Green,
    Red,
}

impl Verdict {
    /// The word results, the store and the dashboard use.
    pub fn name(self) -> &'static str {
        match self {
            Verdict::Green => "green",
            Verdict::Red => "red",
        }
    }
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One rung's outcome as the ladder sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RungOutcome {
    pub rung: Rung,
    pub status: RungStatus,
    pub skip: Option<SkipKind>,
}

/// Level reached: consecutive passes from the bottom of the ladder. Rungs missing from
/// `outcomes` count as skipped.
pub fn level(outcomes: &[RungOutcome]) -> u8 {
    let mut level = 0;
    for rung in Rung::LADDER {
        match outcomes.iter().find(|o| o.rung == rung) {
            Some(o) if o.status == RungStatus::Pass => level += 1,
            _ => break,
        }
    }
    level
}

/// The level the suite expects when everything it runs passes: the ladder up to the first
/// rung declared not applicable.
pub fn expected_level(expected_na: &[Rung]) -> u8 {
    Rung::LADDER
        .iter()
        .take_while(|r| !expected_na.contains(r))
        .count() as u8
}

/// GREEN only if no rung failed and no declared dependency went unverified.
pub fn verdict(outcomes: &[RungOutcome], dependency_unverified: bool) -> Verdict {
    let failed = outcomes.iter().any(|o| o.status == RungStatus::Fail);
    if failed || dependency_unverified {
        Verdict::Red
    } else {
        Verdict::Green
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use RungStatus::*;

    fn outcomes(statuses: &[(Rung, RungStatus)]) -> Vec<RungOutcome> {
        statuses
            .iter()
            .map(|&(rung, status)| RungOutcome {
                rung,
                status,
                skip: (status == Skip).then_some(SkipKind::Unintentional),
            })
            .collect()
    }

    #[test]
    fn ladder_table() {
        use Rung::*;
        type Case<'a> = (&'a [(Rung, RungStatus)], u8, Verdict);
        let cases: &[Case] = &[
            (&[], 0, Verdict::Green),
            (&[(Install, Fail)], 0, Verdict::Red),
            (&[(Install, Pass)], 1, Verdict::Green),
            (&[(Install, Pass), (Upgrade, Fail)], 1, Verdict::Red),
            (
                &[(Install, Pass), (Upgrade, Pass), (BackupRestore, Fail)],
                2,
                Verdict::Red,
            ),
            (
                &[
                    (Install, Pass),
                    (Upgrade, Pass),
                    (BackupRestore, Pass),
                    (Functional, Pass),
                ],
                4,
                Verdict::Green,
            ),
            // A skip caps the level, never inflates it.
            (
                &[
                    (Install, Pass),
                    (Upgrade, Skip),
                    (BackupRestore, Pass),
                    (Functional, Pass),
                ],
                1,
                Verdict::Green,
            ),
            // Order of the list does not matter.
            (&[(Upgrade, Pass), (Install, Pass)], 2, Verdict::Green),
            // L5: all four deploy rungs and a clean lint.
            (
                &[
                    (Lint, Pass),
                    (Install, Pass),
                    (Upgrade, Pass),
                    (BackupRestore, Pass),
                    (Functional, Pass),
                ],
                5,
                Verdict::Green,
            ),
            // A lint error: the deploy rungs still count (L4), the verdict is RED.
            (
                &[
                    (Lint, Fail),
                    (Install, Pass),
                    (Upgrade, Pass),
                    (BackupRestore, Pass),
                    (Functional, Pass),
                ],
                4,
                Verdict::Red,
            ),
            // A lint whose errors are all inherited from the base release is a skip: the
            // deploy rungs count (L4), the verdict is not RED.
            (
                &[
                    (Lint, Skip),
                    (Install, Pass),
                    (Upgrade, Pass),
                    (BackupRestore, Pass),
                    (Functional, Pass),
                ],
                4,
                Verdict::Green,
            ),
            // A clean lint over a failed deploy rung is no L5.
            (
                &[(Lint, Pass), (Install, Pass), (Upgrade, Fail)],
                1,
                Verdict::Red,
            ),
            // A failing rung off the ladder reddens the verdict, not the level.
            (
                &[
                    (Install, Pass),
                    (Upgrade, Pass),
                    (BackupRestore, Pass),
                    (Functional, Pass),
                    (Integration, Fail),
                ],
                4,
                Verdict::Red,
            ),
        ];
        for (input, want_level, want_verdict) in cases {
            let o = outcomes(input);
            assert_eq!(level(&o), *want_level, "level of {input:?}");
            assert_eq!(verdict(&o, false), *want_verdict, "verdict of {input:?}");
        }
    }

    #[test]
    fn unverified_dependency_is_red() {
        let o = outcomes(&[(Rung::Install, Pass)]);
        assert_eq!(verdict(&o, true), Verdict::Red);
    }

    #[test]
    fn expected_level_stops_at_first_na() {
        assert_eq!(expected_level(&[]), 5);
        assert_eq!(expected_level(&[Rung::Lint]), 4);
        assert_eq!(expected_level(&[Rung::BackupRestore]), 2);
        assert_eq!(expected_level(&[Rung::Functional]), 3);
        assert_eq!(expected_level(&[Rung::Install]), 0);
    }

    #[test]
    fn rung_names_round_trip() {
        for r in Rung::SELECTABLE {
            assert_eq!(Rung::parse(r.name()), Some(r));
        }
        assert_eq!(Rung::parse("backup-restore"), Some(Rung::BackupRestore));
        assert_eq!(Rung::parse("lint"), Some(Rung::Lint));
        // Not a stage anyone can select: nothing would run it.
        assert_eq!(Rung::parse("recipe_local"), None);
        assert_eq!(Rung::parse("nope"), None);
    }
}
