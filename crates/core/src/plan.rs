//! A run's plan, decided before anything is deployed (ripgrep's low args → high args): from
//! the request, the judging suite, the recipe's releases and the warm canonical, which role
//! the run plays (cold, seed, quick, or a cold run promoted to re-seed), which release the
//! upgrade starts from, which rungs run with every skip reason, the level expected and which
//! domain the app gets. Pure: the runner gathers the facts ([`PlanInput`]) and performs
//! the plan; nothing here does I/O or can fail on the outside world.

use crate::ladder::{self, Rung, SkipKind};
use crate::suite::Suite;
use crate::version::{self, Release};
use std::collections::{BTreeMap, BTreeSet};

/// What a run was started as.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// `ccci run`: cold, or the quick lane when `--quick` and a canonical exists.
    Run,
    /// `ccci warm seed`: a cold-style run of the latest release on the stable warm domain;
    /// green → it becomes the recipe's canonical (docs/behaviour.md §6 promotion).
    Seed,
}

/// The warm side of a run, as planned.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WarmPlan {
    /// A fresh app on a fresh domain, torn down afterwards.
    Cold,
    /// On the warm domain; green → promoted to the recipe's canonical.
    Seed,
    /// The canonical at `version` reattached and upgraded in place (the quick lane).
    Quick { version: String },
}

/// What the request asks, reduced to what planning needs.
#[derive(Clone, Debug, Default)]
pub struct Asked {
    pub quick: bool,
    /// `--ref` was given.
    pub git_ref: bool,
    /// `--stages`: the rungs asked for (`None`: all).
    pub stages: Option<Vec<Rung>>,
}

/// Everything a plan is decided from (gathered by the runner).
#[derive(Clone, Debug)]
pub struct PlanInput<'a> {
    pub role: Role,
    /// The recipe's name (for the notes).
    pub recipe: &'a str,
    pub asked: &'a Asked,
    /// The suite that judges the run (integrity: the CI's tree or a release, never the head).
    pub suite: &'a Suite,
    /// The recipe's releases, oldest first (empty for a plain directory).
    pub releases: &'a [Release],
    /// The head's commit (`None` for a plain directory).
    pub head_commit: Option<&'a str>,
    /// The release commits that are ancestors of the head (`git merge-base --is-ancestor`,
    /// gathered by the runner): the upgrade base is chosen among them.
    pub ancestors: &'a BTreeSet<String>,
    /// The warm canonical's version, when a quick run found one (read under its lock).
    pub canonical: Option<&'a str>,
    /// Dependencies the rig provides (e.g. `keycloak` when a shared Keycloak is configured).
    pub rig_dependencies: &'a [&'a str],
}

/// The plan of one run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RunPlan {
    pub warm: WarmPlan,
    /// The release the upgrade starts from (checked out beside the head), if any.
    pub base: Option<Release>,
    pub selected: Selected,
    pub expected_level: u8,
    /// Lines the run announces before it starts (why it runs cold, a promotion, …).
    pub notes: Vec<String>,
}

impl RunPlan {
    /// Whether the app runs on the recipe's stable warm domain (seed, promotion, quick).
    pub fn on_warm_domain(&self) -> bool {
        self.warm != WarmPlan::Cold
    }

    /// The base tag the first deploy installs when the upgrade runs.
    pub fn base_tag(&self) -> Option<&str> {
        self.base
            .as_ref()
            .filter(|_| self.selected.upgrade)
            .map(|b| b.tag.as_str())
    }
}

/// Which rungs a run walks, and why the others are skipped.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Selected {
    pub upgrade: bool,
    pub backup_restore: bool,
    pub functional: bool,
    pub integration: bool,
    /// The lint (L5), run before anything is deployed.
    pub lint: bool,
    /// Rungs not walked, with the kind of skip and the reason.
    pub skipped: BTreeMap<Rung, (SkipKind, String)>,
}

impl Selected {
    pub fn runs(&self, rung: Rung) -> bool {
        match rung {
            Rung::Install => true,
            Rung::Upgrade => self.upgrade,
            Rung::BackupRestore => self.backup_restore,
            Rung::Functional => self.functional,
            Rung::Integration => self.integration,
            Rung::Lint => self.lint,
            Rung::RecipeLocal => false,
        }
    }

    /// The rungs the walk reports, in order (the lint is run and reported before the walk).
    pub fn reported(&self) -> Vec<Rung> {
        let mut rungs: Vec<Rung> = Rung::LADDER
            .into_iter()
            .filter(|r| *r != Rung::Lint)
            .collect();
        if self.integration || self.skipped.contains_key(&Rung::Integration) {
            rungs.push(Rung::Integration);
        }
        rungs
    }
}

/// A request planning refuses (bad input: exit 2).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    #[error("a warm seed runs the latest release; it takes no --ref")]
    SeedTakesNoRef,
    #[error("{recipe_source}: no release (annotated X.Y.Z+app tag) to seed a warm canonical from")]
    NothingToSeed { recipe_source: String },
    #[error("upgrade_base_version = {version:?}: no annotated release tag of that name (releases: {releases})")]
    NoSuchBase { version: String, releases: String },
}

/// The release a seed runs (the latest), checked before the suite is known: the runner
/// checks it out when the head is elsewhere. `source` names the recipe in the error.
pub fn seed_release<'a>(
    asked: &Asked,
    releases: &'a [Release],
    source: &str,
) -> Result<&'a Release, PlanError> {
    if asked.git_ref {
        return Err(PlanError::SeedTakesNoRef);
    }
    releases.last().ok_or_else(|| PlanError::NothingToSeed {
        recipe_source: source.to_string(),
    })
}

/// Whether a quick run's canonical must be read (and locked) before planning.
pub fn wants_canonical(role: Role, asked: &Asked) -> bool {
    role == Role::Run && asked.quick
}

/// Plans one run. See the module docs.
pub fn plan(input: &PlanInput<'_>) -> Result<RunPlan, PlanError> {
    let mut notes = Vec::new();
    let warm = warm_role(input, &mut notes);
    let base = base_release(input, &warm)?;
    let mut selected = select(input, base.is_some());
    if matches!(warm, WarmPlan::Quick { .. }) {
        quick_lane(&mut selected, base.is_some());
    }
    let expected_na: Vec<Rung> = input.suite.expected_na.keys().copied().collect();
    Ok(RunPlan {
        warm,
        base,
        selected,
        expected_level: ladder::expected_level(&expected_na),
        notes,
    })
}

/// Cold, seed, quick, or a cold run promoted to re-seed (docs/behaviour.md §6).
fn warm_role(input: &PlanInput<'_>, notes: &mut Vec<String>) -> WarmPlan {
    let asked = input.asked;
    if input.role == Role::Seed {
        return WarmPlan::Seed;
    }
    if asked.quick {
        return match input.canonical {
            Some(v) if input.releases.iter().any(|r| r.tag == v) => WarmPlan::Quick {
                version: v.to_string(),
            },
            Some(v) => {
                notes.push(format!(
                    "note: --quick: the canonical's version {v} is not a release of this repository; running cold"
                ));
                WarmPlan::Cold
            }
            // docs/behaviour.md §6: a quick run without a canonical runs cold (always correct).
            None => {
                notes.push("note: --quick: no warm canonical of this recipe; running cold".into());
                WarmPlan::Cold
            }
        };
    }
    if promotes(input) {
        notes.push(format!(
            "note: {} is enrolled for warm and this is its latest release: a green run re-seeds its canonical",
            input.recipe
        ));
        return WarmPlan::Seed;
    }
    WarmPlan::Cold
}

/// Promotion (docs/behaviour.md §6): a full cold run, no ref, no stages, of an enrolled recipe
/// (`warm = true`) whose head is its latest release.
fn promotes(input: &PlanInput<'_>) -> bool {
    let asked = input.asked;
    let latest = input.releases.last().map(|r| r.commit.as_str());
    !asked.git_ref
        && asked.stages.is_none()
        && input.suite.warm
        && input.head_commit.is_some()
        && latest == input.head_commit
}

/// The release the upgrade starts from: the canonical's version for a quick run, else the
/// suite's `upgrade_base_version`, else the release the head came from
/// ([`version::upgrade_base`]).
fn base_release(input: &PlanInput<'_>, warm: &WarmPlan) -> Result<Option<Release>, PlanError> {
    let Some(head_commit) = input.head_commit else {
        return Ok(None);
    };
    let wanted = match warm {
        WarmPlan::Quick { version } => Some(version.as_str()),
        _ => input.suite.upgrade_base_version.as_deref(),
    };
    match wanted {
        Some(v) => input
            .releases
            .iter()
            .find(|r| r.tag == v)
            .cloned()
            .map(Some)
            .ok_or_else(|| PlanError::NoSuchBase {
                version: v.to_string(),
                releases: input
                    .releases
                    .iter()
                    .map(|r| r.tag.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
            }),
        None => Ok(version::upgrade_base(input.releases, head_commit, input.ancestors).cloned()),
    }
}

/// The rungs from `--stages`, the suite's `EXPECTED_NA` and what the recipe has. Install
/// always runs: every other rung needs the app.
fn select(input: &PlanInput<'_>, has_base: bool) -> Selected {
    let mut s = Selected::default();
    for rung in [
        Rung::Upgrade,
        Rung::BackupRestore,
        Rung::Functional,
        Rung::Lint,
    ] {
        let skip = ladder_skip(input, rung, has_base);
        let run = skip.is_none();
        if let Some(skip) = skip {
            s.skipped.insert(rung, skip);
        }
        match rung {
            Rung::Upgrade => s.upgrade = run,
            Rung::BackupRestore => s.backup_restore = run,
            Rung::Functional => s.functional = run,
            _ => s.lint = run,
        }
    }
    select_integration(input, &mut s);
    s
}

fn asked_for(asked: &Asked, rung: Rung) -> bool {
    asked.stages.as_ref().is_none_or(|st| st.contains(&rung))
}

/// Why a ladder rung above install does not run, if it does not.
fn ladder_skip(input: &PlanInput<'_>, rung: Rung, has_base: bool) -> Option<(SkipKind, String)> {
    if let Some(reason) = input.suite.expected_na.get(&rung) {
        Some((SkipKind::Intentional, format!("N/A: {reason}")))
    } else if !asked_for(input.asked, rung) {
        Some((SkipKind::Unintentional, "not selected (--stages)".into()))
    } else if rung == Rung::Upgrade && !has_base {
        Some((
            SkipKind::Unintentional,
            "no earlier release to upgrade from (no annotated X.Y.Z+app tag before the head)"
                .into(),
        ))
    } else {
        None
    }
}

/// Integration runs beside the ladder when the suite has dependencies and the rig provides
/// them all; otherwise it is skipped and the dependencies stay unverified (never green).
fn select_integration(input: &PlanInput<'_>, s: &mut Selected) {
    let deps = &input.suite.dependencies;
    if deps.is_empty() {
        return;
    }
    let missing: Vec<&str> = deps
        .iter()
        .map(String::as_str)
        .filter(|d| !input.rig_dependencies.contains(d))
        .collect();
    let skip = if !missing.is_empty() {
        format!(
            "dependencies {} are not available on this rig; integration unverified",
            missing.join(", ")
        )
    } else if !asked_for(input.asked, Rung::Integration) {
        "not selected (--stages); integration unverified".into()
    } else {
        s.integration = true;
        return;
    };
    s.skipped
        .insert(Rung::Integration, (SkipKind::Unintentional, skip));
}

/// The quick lane is reattach → upgrade in place → functional.
fn quick_lane(s: &mut Selected, has_base: bool) {
    s.upgrade = has_base;
    if has_base {
        s.skipped.remove(&Rung::Upgrade);
    }
    if s.backup_restore {
        s.backup_restore = false;
        s.skipped.insert(
            Rung::BackupRestore,
            (
                SkipKind::Unintentional,
                "quick lane: not run (the fast lane asserts upgrade + functional)".into(),
            ),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::version::parse_release_tag;

    fn release(tag: &str, commit: &str) -> Release {
        Release {
            tag: tag.into(),
            version: parse_release_tag(tag).unwrap(),
            commit: commit.into(),
        }
    }

    /// Two releases (c1, c2) and the head: `c3` (a newer commit) or `c2` (the latest release).
    fn releases() -> Vec<Release> {
        vec![release("1.0.0+1", "c1"), release("1.1.0+1", "c2")]
    }

    struct Case {
        name: &'static str,
        role: Role,
        asked: Asked,
        suite: Suite,
        head: Option<&'static str>,
        releases: Vec<Release>,
        canonical: Option<&'static str>,
        rig_deps: &'static [&'static str],
    }

    impl Case {
        fn new(name: &'static str) -> Case {
            Case {
                name,
                role: Role::Run,
                asked: Asked::default(),
                suite: Suite::default(),
                head: Some("c3"),
                releases: releases(),
                canonical: None,
                rig_deps: &[],
            }
        }
        fn plan(&self) -> Result<RunPlan, PlanError> {
            plan(&PlanInput {
                role: self.role,
                recipe: "app",
                asked: &self.asked,
                suite: &self.suite,
                releases: &self.releases,
                head_commit: self.head,
                ancestors: &self.releases.iter().map(|r| r.commit.clone()).collect(),
                canonical: self.canonical,
                rig_dependencies: self.rig_deps,
            })
        }
    }

    /// The plan in one line: role, base, each reported rung as run / N/A / skipped, level.
    fn summary(p: &RunPlan) -> String {
        let warm = match &p.warm {
            WarmPlan::Cold => "cold".to_string(),
            WarmPlan::Seed => "seed".to_string(),
            WarmPlan::Quick { version } => format!("quick@{version}"),
        };
        let mut rungs: Vec<Rung> = p.selected.reported();
        rungs.push(Rung::Lint);
        let rungs: Vec<String> = rungs
            .into_iter()
            .map(|r| match (p.selected.runs(r), p.selected.skipped.get(&r)) {
                (true, _) => format!("{r}"),
                (false, Some((SkipKind::Intentional, _))) => format!("{r}:na"),
                (false, _) => format!("{r}:skip"),
            })
            .collect();
        format!(
            "{warm} base={} [{}] L{}",
            p.base.as_ref().map(|b| b.tag.as_str()).unwrap_or("-"),
            rungs.join(" "),
            p.expected_level
        )
    }

    fn na(rungs: &[Rung]) -> Suite {
        let mut suite = Suite::default();
        for r in rungs {
            suite.expected_na.insert(*r, "stateless".into());
        }
        suite
    }

    #[test]
    fn each_role_stage_na_base_and_warm_case_plans_as_written() {
        let all = "[install upgrade backup_restore functional lint]";
        let mut cases: Vec<(Case, String)> = Vec::new();
        let mut add = |c: Case, want: &str| cases.push((c, want.to_string()));

        add(
            Case::new("a cold run of a newer head"),
            &format!("cold base=1.1.0+1 {all} L5"),
        );
        add(
            Case {
                head: Some("c2"),
                ..Case::new("the head is the latest release")
            },
            "cold base=1.0.0+1 [install upgrade backup_restore functional lint] L5",
        );
        add(
            Case {
                head: Some("c1"),
                releases: vec![release("1.0.0+1", "c1")],
                ..Case::new("the only release")
            },
            "cold base=- [install upgrade:skip backup_restore functional lint] L5",
        );
        add(
            Case {
                head: None,
                releases: vec![],
                ..Case::new("a plain directory")
            },
            "cold base=- [install upgrade:skip backup_restore functional lint] L5",
        );
        add(
            Case {
                suite: na(&[Rung::BackupRestore]),
                ..Case::new("stateless: backup N/A")
            },
            "cold base=1.1.0+1 [install upgrade backup_restore:na functional lint] L2",
        );
        add(
            Case {
                asked: Asked {
                    stages: Some(vec![Rung::Install, Rung::Functional]),
                    ..Asked::default()
                },
                ..Case::new("--stages install,functional")
            },
            "cold base=1.1.0+1 [install upgrade:skip backup_restore:skip functional lint:skip] L5",
        );
        add(
            Case {
                suite: Suite {
                    upgrade_base_version: Some("1.0.0+1".into()),
                    ..Suite::default()
                },
                ..Case::new("the suite names the base")
            },
            &format!("cold base=1.0.0+1 {all} L5"),
        );
        // Quick: the canonical's version is the base; backup is not run.
        add(
            Case {
                asked: Asked {
                    quick: true,
                    ..Asked::default()
                },
                canonical: Some("1.0.0+1"),
                ..Case::new("quick with a canonical")
            },
            "quick@1.0.0+1 base=1.0.0+1 [install upgrade backup_restore:skip functional lint] L5",
        );
        add(
            Case {
                asked: Asked {
                    quick: true,
                    ..Asked::default()
                },
                canonical: Some("0.9.0+1"),
                ..Case::new("quick, the canonical is no release here")
            },
            &format!("cold base=1.1.0+1 {all} L5"),
        );
        add(
            Case {
                asked: Asked {
                    quick: true,
                    ..Asked::default()
                },
                ..Case::new("quick without a canonical")
            },
            &format!("cold base=1.1.0+1 {all} L5"),
        );
        add(
            Case {
                asked: Asked { quick: true, stages: Some(vec![Rung::Install]), ..Asked::default() },
                canonical: Some("1.1.0+1"),
                suite: na(&[Rung::Upgrade]),
                ..Case::new("quick always upgrades from the canonical")
            },
            "quick@1.1.0+1 base=1.1.0+1 [install upgrade backup_restore:skip functional:skip lint:skip] L1",
        );
        // Seed and promotion.
        add(
            Case {
                role: Role::Seed,
                head: Some("c2"),
                ..Case::new("a seed")
            },
            &format!("seed base=1.0.0+1 {all} L5"),
        );
        add(
            Case {
                head: Some("c2"),
                suite: Suite {
                    warm: true,
                    ..Suite::default()
                },
                ..Case::new("promotion")
            },
            &format!("seed base=1.0.0+1 {all} L5"),
        );
        add(
            Case {
                suite: Suite {
                    warm: true,
                    ..Suite::default()
                },
                ..Case::new("enrolled, head not a release")
            },
            &format!("cold base=1.1.0+1 {all} L5"),
        );
        add(
            Case {
                head: Some("c2"),
                suite: Suite {
                    warm: true,
                    ..Suite::default()
                },
                asked: Asked {
                    git_ref: true,
                    ..Asked::default()
                },
                ..Case::new("enrolled, but --ref")
            },
            &format!("cold base=1.0.0+1 {all} L5"),
        );
        add(
            Case {
                head: Some("c2"),
                suite: Suite {
                    warm: true,
                    ..Suite::default()
                },
                asked: Asked {
                    stages: Some(Rung::LADDER.to_vec()),
                    ..Asked::default()
                },
                ..Case::new("enrolled, but --stages")
            },
            &format!("cold base=1.0.0+1 {all} L5"),
        );
        // Dependencies: integration beside the ladder, or skipped and unverified.
        let keycloak = Suite {
            dependencies: vec!["keycloak".into()],
            ..Suite::default()
        };
        add(
            Case {
                suite: keycloak.clone(),
                rig_deps: &["keycloak"],
                ..Case::new("keycloak on the rig")
            },
            "cold base=1.1.0+1 [install upgrade backup_restore functional integration lint] L5",
        );
        add(
            Case { suite: keycloak, ..Case::new("no keycloak on the rig") },
            "cold base=1.1.0+1 [install upgrade backup_restore functional integration:skip lint] L5",
        );
        for (case, want) in &cases {
            let got = case.plan().unwrap_or_else(|e| panic!("{}: {e}", case.name));
            assert_eq!(summary(&got), *want, "{}", case.name);
        }
    }

    #[test]
    fn notes_say_why_a_run_is_cold_or_promoted() {
        let quick = Case {
            asked: Asked {
                quick: true,
                ..Asked::default()
            },
            ..Case::new("q")
        };
        assert!(quick.plan().unwrap().notes[0].contains("no warm canonical"));
        let stray = Case {
            canonical: Some("0.9.0+1"),
            ..quick
        };
        assert!(stray.plan().unwrap().notes[0].contains("0.9.0+1 is not a release"));
        let promoted = Case {
            head: Some("c2"),
            suite: Suite {
                warm: true,
                ..Suite::default()
            },
            ..Case::new("p")
        };
        assert!(promoted.plan().unwrap().notes[0].contains("app is enrolled for warm"));
        assert!(Case::new("cold").plan().unwrap().notes.is_empty());
    }

    #[test]
    fn a_base_that_is_no_release_and_a_seed_with_a_ref_are_refused() {
        let bad = Case {
            suite: Suite {
                upgrade_base_version: Some("2.0.0+1".into()),
                ..Suite::default()
            },
            ..Case::new("bad base")
        };
        assert_eq!(
            bad.plan().unwrap_err().to_string(),
            "upgrade_base_version = \"2.0.0+1\": no annotated release tag of that name (releases: 1.0.0+1, 1.1.0+1)"
        );
        let asked = Asked {
            git_ref: true,
            ..Asked::default()
        };
        assert_eq!(
            seed_release(&asked, &releases(), "r"),
            Err(PlanError::SeedTakesNoRef)
        );
        let asked = Asked::default();
        assert_eq!(
            seed_release(&asked, &releases(), "r").unwrap().tag,
            "1.1.0+1"
        );
        assert!(matches!(
            seed_release(&asked, &[], "r"),
            Err(PlanError::NothingToSeed { .. })
        ));
        assert!(wants_canonical(
            Role::Run,
            &Asked {
                quick: true,
                ..Asked::default()
            }
        ));
        assert!(!wants_canonical(
            Role::Seed,
            &Asked {
                quick: true,
                ..Asked::default()
            }
        ));
    }
}
