//! How a run ended, judged once from everything that happened: the rung results, why
//! the run stopped early (Ctrl-C, the deadline), whether its dependencies were verified, and
//! how the warm end went. The runner records; it never overrides what this decides.
//!
//! Two endings are not verdicts on the recipe: a run a person cancelled is
//! [`RunEnd::Cancelled`] whatever its rungs showed, and a run where cc-ci's own machinery
//! failed ([`Evidence::rig_failure`]) is [`RunEnd::Error`] — unless the recipe had already
//! failed another rung on its own, which stays RED.

use crate::ladder::{self, Rung, RungStatus, SkipKind, Verdict};
use crate::results::{Failure, RungResult, TestCase};
use crate::run_end::RunEnd;

/// Why a run stopped before its rungs were done.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stop {
    Interrupted,
    Deadline,
    /// A person cancelled the run (`!testme cancel`, the run page's Cancel).
    Cancelled,
}

impl Stop {
    pub fn message(self) -> &'static str {
        match self {
            Stop::Interrupted => "interrupted (Ctrl-C or shutdown); torn down (no verdict)",
            Stop::Deadline => "the run's hard deadline passed; torn down",
            Stop::Cancelled => "cancelled; torn down (no verdict)",
        }
    }
}

/// What a run's ending is judged from.
#[derive(Clone, Debug, Default)]
pub struct Evidence<'a> {
    pub rungs: &'a [RungResult],
    pub stopped: Option<Stop>,
    /// The suite's dependencies (verified only by a passing integration rung).
    pub dependencies: &'a [String],
    /// The first failure as the rungs saw it, with its details (service, task error, log).
    pub first_failure: Option<&'a Failure>,
    /// The warm end failed (promotion, or restoring the canonical after a quick run).
    pub warm_failure: Option<&'a str>,
    /// `EXPECTED_NA` of the judging suite.
    pub expected_na: &'a [Rung],
    /// cc-ci's own machinery failed (its forwarder or a sandbox could not start after its
    /// retries), failing the rung it names: not the recipe's fault.
    pub rig_failure: Option<&'a Failure>,
}

/// The judgement: what results, card and comment report.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Judged {
    pub end: RunEnd,
    pub level: u8,
    pub expected_level: u8,
    /// What failed first (rung, message, evidence); `None` on green.
    pub failure: Option<Failure>,
}

/// Whether the rungs alone make a green run (before the warm end: a green seed is promoted).
pub fn rungs_green(rungs: &[RungResult], stopped: Option<Stop>, dependencies: &[String]) -> bool {
    let outcomes: Vec<_> = rungs.iter().map(RungResult::outcome).collect();
    stopped.is_none()
        && ladder::verdict(&outcomes, dependency_unverified(rungs, dependencies)) == Verdict::Green
}

/// Judges a run. See the module docs.
pub fn judge(e: &Evidence<'_>) -> Judged {
    let outcomes: Vec<_> = e.rungs.iter().map(RungResult::outcome).collect();
    let green = rungs_green(e.rungs, e.stopped, e.dependencies) && e.warm_failure.is_none();
    let failure = e
        .first_failure
        .cloned()
        .or_else(|| first_failed_rung(e.rungs))
        .or_else(|| unverified_dependencies(e.rungs, e.dependencies))
        .or_else(|| {
            e.warm_failure.map(|message| Failure {
                message: message.to_string(),
                ..Default::default()
            })
        })
        .or_else(|| {
            e.stopped.map(|stop| Failure {
                message: stop.message().to_string(),
                ..Default::default()
            })
        });
    let end = match (e.stopped, e.rig_failure) {
        (Some(Stop::Cancelled | Stop::Interrupted), _) => RunEnd::Cancelled,
        _ if green => RunEnd::GREEN,
        (_, Some(rig)) if !recipe_failed_elsewhere(e.rungs, rig) => RunEnd::Error,
        _ => RunEnd::RED,
    };
    let failure = match (end, e.rig_failure, e.stopped) {
        (RunEnd::Error, Some(rig), _) => Some(rig.clone()),
        (RunEnd::Cancelled, _, Some(stop)) => Some(Failure {
            message: stop.message().to_string(),
            ..Default::default()
        }),
        _ => failure,
    };
    Judged {
        end,
        level: ladder::level(&outcomes),
        expected_level: ladder::expected_level(e.expected_na),
        failure: failure.filter(|_| !green),
    }
}

/// Whether a rung other than the one cc-ci's failure broke failed (the recipe's own failure,
/// which a later rig failure does not excuse).
fn recipe_failed_elsewhere(rungs: &[RungResult], rig: &Failure) -> bool {
    rungs
        .iter()
        .any(|r| r.status == RungStatus::Fail && Some(r.name) != rig.rung)
}

/// Dependencies count as verified only when the integration rung passed.
fn dependency_unverified(rungs: &[RungResult], dependencies: &[String]) -> bool {
    !dependencies.is_empty()
        && rungs
            .iter()
            .find(|r| r.name == Rung::Integration)
            .is_none_or(|r| r.status != RungStatus::Pass)
}

fn first_failed_rung(rungs: &[RungResult]) -> Option<Failure> {
    rungs
        .iter()
        .find(|r| r.status == RungStatus::Fail)
        .map(|r| Failure {
            rung: Some(r.name),
            message: r.reason.clone().unwrap_or_default(),
            ..Default::default()
        })
}

/// Never green while the integration went unverified: the failure says why.
fn unverified_dependencies(rungs: &[RungResult], dependencies: &[String]) -> Option<Failure> {
    if !dependency_unverified(rungs, dependencies) {
        return None;
    }
    let why = rungs
        .iter()
        .find(|r| r.name == Rung::Integration)
        .and_then(|r| r.reason.clone())
        .unwrap_or_else(|| "the integration rung did not pass".into());
    Some(Failure {
        rung: Some(Rung::Integration),
        message: format!(
            "dependencies {} were not verified: {why}",
            dependencies.join(", ")
        ),
        ..Default::default()
    })
}

/// A rung that ran its tests, judged from them: any failed test fails it ("N of M tests
/// failed; first: …"); an integration rung whose tests were all skipped (or absent)
/// verified nothing and is a skip, leaving the dependency unverified (never green).
pub fn rung_of_tests(rung: Rung, tests: Vec<TestCase>, duration_ms: u64) -> RungResult {
    let mut r = RungResult {
        name: rung,
        status: RungStatus::Pass,
        reason: None,
        skip: None,
        duration_ms,
        tests: Vec::new(),
    };
    if rung == Rung::Integration && tests.iter().all(|t| t.status == RungStatus::Skip) {
        r.status = RungStatus::Skip;
        r.skip = Some(SkipKind::Unintentional);
        r.reason = Some(if tests.is_empty() {
            "no integration tests (tests/integration/ in the suite); integration unverified".into()
        } else {
            "every integration test was skipped; integration unverified".into()
        });
    } else if let Some(first) = tests.iter().find(|t| t.status == RungStatus::Fail) {
        let failed = tests
            .iter()
            .filter(|t| t.status == RungStatus::Fail)
            .count();
        r.status = RungStatus::Fail;
        r.reason = Some(format!(
            "{failed} of {} tests failed; first: {}{}",
            tests.len(),
            first.name,
            first
                .message
                .as_deref()
                .map(|m| format!(": {m}"))
                .unwrap_or_default()
        ));
    }
    r.tests = tests;
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rung(name: Rung, status: RungStatus) -> RungResult {
        RungResult {
            name,
            status,
            reason: (status != RungStatus::Pass).then(|| format!("{name} said why")),
            skip: (status == RungStatus::Skip).then_some(SkipKind::Unintentional),
            duration_ms: 0,
            tests: Vec::new(),
        }
    }

    fn ladder(statuses: &[(Rung, RungStatus)]) -> Vec<RungResult> {
        statuses.iter().map(|(r, s)| rung(*r, *s)).collect()
    }

    use RungStatus::{Fail, Pass, Skip};
    const I: Rung = Rung::Install;
    const U: Rung = Rung::Upgrade;
    const B: Rung = Rung::BackupRestore;
    const F: Rung = Rung::Functional;
    const L: Rung = Rung::Lint;
    const N: Rung = Rung::Integration;

    /// ending, level and the failure's rung and message, in one line.
    fn summary(j: &Judged) -> String {
        let failure = j
            .failure
            .as_ref()
            .map(|f| {
                format!(
                    " {}: {}",
                    f.rung.map(|r| r.to_string()).unwrap_or("-".into()),
                    f.message
                )
            })
            .unwrap_or_default();
        format!("{} L{}/{}{failure}", j.end, j.level, j.expected_level)
    }

    /// Upgrade paths (`[upgrade] from`): the run is judged on the upgrade rung folded with
    /// every path ([`crate::upgrade_paths::fold`]): one red path is a red run at L1, naming
    /// the path; every path green keeps the level.
    #[test]
    fn a_run_is_judged_on_every_upgrade_path() {
        use crate::results::UpgradePath;
        let path = |from: &str, status| UpgradePath {
            from: from.into(),
            asked: "previous-minor".into(),
            status,
            reason: (status == Fail).then(|| "data did not survive the upgrade".into()),
            duration_ms: 9_000,
            deploy_count: 2,
        };
        // (the extra paths, why the run stopped, the judgement in one line)
        type Row<'a> = (&'a [(&'a str, RungStatus)], Option<Stop>, &'a str);
        let rows: &[Row] = &[
            (&[], None, "green L5/5"),
            (&[("1.0.0+1", Pass)], None, "green L5/5"),
            (
                &[("1.0.0+1", Fail)],
                None,
                "red L1/5 upgrade: upgrade from 1.0.0+1: data did not survive the upgrade",
            ),
            // Only a stopped run leaves a path unrun: it caps the level; the stop judges.
            (
                &[("1.0.0+1", Pass), ("0.9.0+1", Skip)],
                Some(Stop::Deadline),
                "red L1/5 -: the run's hard deadline passed; torn down",
            ),
        ];
        for (extra, stopped, want) in rows {
            let mut rungs = ladder(&[(I, Pass), (U, Pass), (B, Pass), (F, Pass), (L, Pass)]);
            let paths: Vec<UpgradePath> = extra.iter().map(|(f, s)| path(f, *s)).collect();
            crate::upgrade_paths::fold(&mut rungs[1], &paths);
            let j = judge(&Evidence {
                rungs: &rungs,
                stopped: *stopped,
                ..Default::default()
            });
            assert_eq!(summary(&j), *want, "{extra:?}");
        }
    }

    #[test]
    fn each_run_ending_is_judged_as_written() {
        let green = ladder(&[(I, Pass), (U, Pass), (B, Pass), (F, Pass), (L, Pass)]);
        let upgrade_red = ladder(&[(I, Pass), (U, Fail), (B, Skip), (F, Skip), (L, Pass)]);
        let lint_red = ladder(&[(I, Pass), (U, Pass), (B, Pass), (F, Pass), (L, Fail)]);
        let stateless = ladder(&[(I, Pass), (U, Pass), (B, Skip), (F, Pass), (L, Pass)]);
        // The lint found only errors its base release has too (docs/behaviour.md §5): not RED, L4.
        let inherited = |rungs: &[(Rung, RungStatus)]| {
            let mut r = ladder(rungs);
            r.push(RungResult {
                skip: Some(SkipKind::Inherited),
                ..rung(L, Skip)
            });
            r
        };
        let lint_inherited = inherited(&[(I, Pass), (U, Pass), (B, Pass), (F, Pass)]);
        let lint_inherited_upgrade_red = inherited(&[(I, Pass), (U, Fail), (B, Skip), (F, Skip)]);
        let with_integration = {
            let mut r = green.clone();
            r.push(rung(N, Pass));
            r
        };
        let integration_skipped = {
            let mut r = green.clone();
            r.push(rung(N, Skip));
            r
        };
        let deps = vec!["keycloak".to_string()];
        let detailed = Failure {
            rung: Some(U),
            message: "service app crash-looping".into(),
            service: Some("app".into()),
            ..Default::default()
        };
        let rig = Failure {
            rung: Some(U),
            message: "cc-ci's sandbox did not start".into(),
            ..Default::default()
        };
        let install_red_then_rig = ladder(&[(I, Fail), (U, Fail), (B, Skip), (F, Skip), (L, Pass)]);
        let none: &[String] = &[];
        let cases: Vec<(&str, Evidence, &str)> = vec![
            ("all pass", Evidence { rungs: &green, ..Default::default() }, "green L5/5"),
            (
                "a rung failed",
                Evidence { rungs: &upgrade_red, ..Default::default() },
                "red L1/5 upgrade: upgrade said why",
            ),
            (
                "the rung's own failure (with evidence) wins",
                Evidence { rungs: &upgrade_red, first_failure: Some(&detailed), ..Default::default() },
                "red L1/5 upgrade: service app crash-looping",
            ),
            ("lint failed: red at L4", Evidence { rungs: &lint_red, ..Default::default() }, "red L4/5 lint: lint said why"),
            (
                "lint errors all inherited from the base: green, capped at L4",
                Evidence { rungs: &lint_inherited, ..Default::default() },
                "green L4/5",
            ),
            (
                "lint errors inherited, a deploy rung failed: red for the deploy rung",
                Evidence { rungs: &lint_inherited_upgrade_red, ..Default::default() },
                "red L1/5 upgrade: upgrade said why",
            ),
            (
                "backup N/A: green at the expected level",
                Evidence { rungs: &stateless, expected_na: &[B], ..Default::default() },
                "green L2/2",
            ),
            (
                "dependencies verified",
                Evidence { rungs: &with_integration, dependencies: &deps, ..Default::default() },
                "green L5/5",
            ),
            (
                "dependencies unverified: never green",
                Evidence { rungs: &integration_skipped, dependencies: &deps, ..Default::default() },
                "red L5/5 integration: dependencies keycloak were not verified: integration said why",
            ),
            (
                "interrupted (Ctrl-C) after every rung passed: no verdict, never red",
                Evidence { rungs: &green, stopped: Some(Stop::Interrupted), dependencies: none, ..Default::default() },
                "cancelled L5/5 -: interrupted (Ctrl-C or shutdown); torn down (no verdict)",
            ),
            (
                "the warm end failed",
                Evidence { rungs: &green, warm_failure: Some("promoting the canonical failed: disk"), ..Default::default() },
                "red L5/5 -: promoting the canonical failed: disk",
            ),
            (
                "cancelled after every rung passed: cancelled, not green",
                Evidence { rungs: &green, stopped: Some(Stop::Cancelled), ..Default::default() },
                "cancelled L5/5 -: cancelled; torn down (no verdict)",
            ),
            (
                "cancelled after a rung failed: still cancelled, never red",
                Evidence { rungs: &upgrade_red, stopped: Some(Stop::Cancelled), ..Default::default() },
                "cancelled L1/5 -: cancelled; torn down (no verdict)",
            ),
            (
                "cc-ci's sandbox failed the upgrade rung: an error, not red",
                Evidence { rungs: &upgrade_red, rig_failure: Some(&rig), ..Default::default() },
                "error L1/5 upgrade: cc-ci's sandbox did not start",
            ),
            (
                "the recipe failed install before cc-ci failed the upgrade: red",
                Evidence { rungs: &install_red_then_rig, rig_failure: Some(&rig), ..Default::default() },
                "red L0/5 install: install said why",
            ),
            (
                "a rig failure recorded on a run that still passed every rung: green",
                Evidence { rungs: &green, rig_failure: Some(&rig), ..Default::default() },
                "green L5/5",
            ),
            (
                "the deadline with a rig failure: the rig failure is why",
                Evidence { rungs: &upgrade_red, stopped: Some(Stop::Deadline), rig_failure: Some(&rig), ..Default::default() },
                "error L1/5 upgrade: cc-ci's sandbox did not start",
            ),
            (
                "a rung failure outranks the warm end's",
                Evidence { rungs: &upgrade_red, warm_failure: Some("restoring failed"), ..Default::default() },
                "red L1/5 upgrade: upgrade said why",
            ),
        ];
        for (name, evidence, want) in cases {
            assert_eq!(summary(&judge(&evidence)), want, "{name}");
        }
    }

    #[test]
    fn the_rungs_alone_decide_whether_a_seed_is_promoted() {
        let green = ladder(&[(I, Pass), (U, Pass), (B, Pass), (F, Pass)]);
        assert!(rungs_green(&green, None, &[]));
        assert!(!rungs_green(&green, Some(Stop::Deadline), &[]));
        assert!(!rungs_green(&green, None, &["keycloak".into()]));
        assert!(!rungs_green(&ladder(&[(I, Fail)]), None, &[]));
    }

    #[test]
    fn a_rung_is_judged_from_its_tests() {
        let test = |name: &str, status: RungStatus| TestCase {
            name: name.into(),
            status,
            message: (status == Fail).then(|| "503".to_string()),
            duration_ms: 0,
        };
        let r = rung_of_tests(
            F,
            vec![test("a", Pass), test("b", Fail), test("c", Fail)],
            5,
        );
        assert_eq!(r.status, Fail);
        assert_eq!(
            r.reason.as_deref(),
            Some("2 of 3 tests failed; first: b: 503")
        );
        assert_eq!(r.tests.len(), 3);
        assert_eq!(rung_of_tests(F, vec![test("a", Pass)], 5).status, Pass);
        assert_eq!(rung_of_tests(F, vec![], 5).status, Pass);
        let none = rung_of_tests(N, vec![], 5);
        assert_eq!(
            (none.status, none.skip),
            (Skip, Some(SkipKind::Unintentional))
        );
        assert!(none.reason.unwrap().starts_with("no integration tests"));
        let skipped = rung_of_tests(N, vec![test("a", Skip)], 5);
        assert!(skipped
            .reason
            .unwrap()
            .starts_with("every integration test was skipped"));
        assert_eq!(
            rung_of_tests(N, vec![test("a", Skip), test("b", Pass)], 5).status,
            Pass
        );
    }
}
