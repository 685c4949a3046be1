//! The lint rung of a run, from the lint's report: how the lint (L5) counts on the ladder.

use crate::ladder::{Rung, RungStatus, SkipKind};
use crate::lint::{Level, LintReport, RuleResult, Status};
use crate::results::{RungResult, TestCase};

/// The `lint` rung of a run: pass when no error-level rule failed (warnings never fail
/// it); fail, naming the first, when the head introduced one; when every error is
/// inherited from the base release, a skip of kind `inherited` (the level stops at L4, the
/// verdict is not RED) naming each with its fix. One test case per rule: a failed warning
/// is a passing case whose message starts `warning:`, an inherited error a skipped case
/// whose message starts `inherited:`.
pub fn rung_result(report: &LintReport, duration_ms: u64) -> RungResult {
    let describe = |r: &RuleResult| format!("{} Fix: {}", r.findings_text(), r.fix);
    let tests = report
        .rules
        .iter()
        .map(|r| {
            let (status, message) = match r.status {
                Status::Satisfied => (RungStatus::Pass, None),
                Status::Skipped => (RungStatus::Skip, r.note.clone()),
                Status::Failed if r.is_inherited() => (
                    RungStatus::Skip,
                    Some(format!(
                        "inherited: already at {}. {}",
                        report.base_words(),
                        describe(r)
                    )),
                ),
                Status::Failed if r.level == Level::Error => (RungStatus::Fail, Some(describe(r))),
                Status::Failed => (RungStatus::Pass, Some(format!("warning: {}", describe(r)))),
            };
            TestCase {
                name: r.title(),
                status,
                duration_ms: 0,
                message,
            }
        })
        .collect();
    let (status, skip, reason) = if report.fails() {
        (RungStatus::Fail, None, report.failure_message())
    } else if let Some(inherited) = report.inherited_message() {
        (RungStatus::Skip, Some(SkipKind::Inherited), Some(inherited))
    } else {
        (RungStatus::Pass, None, Some(report.summary()))
    };
    RungResult {
        name: Rung::Lint,
        status,
        reason,
        skip,
        duration_ms,
        tests,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lint::tests::{both, edit, input, tree};
    use crate::lint::{lint, RULES};

    #[test]
    fn the_rung_passes_with_warnings_and_fails_on_an_error() {
        use crate::ladder::{Rung, RungStatus};
        let mut i = input();
        i.head.readme = None;
        let r = rung_result(&lint(&i), 12);
        assert_eq!(
            (r.name, r.status, r.duration_ms),
            (Rung::Lint, RungStatus::Pass, 12)
        );
        assert!(
            r.reason.as_deref().unwrap().contains("1 warning (R007)"),
            "{r:?}"
        );
        let case = r.tests.iter().find(|t| t.name.starts_with("R007")).unwrap();
        assert_eq!(case.status, RungStatus::Pass);
        assert!(case.message.as_deref().unwrap().starts_with("warning: "));
        assert_eq!(r.tests.len(), RULES.len());

        i.head.abra_sh = None;
        let r = rung_result(&lint(&i), 0);
        assert_eq!(r.status, RungStatus::Fail);
        assert!(r.reason.as_deref().unwrap().starts_with("R012 "), "{r:?}");
        let case = r.tests.iter().find(|t| t.name.starts_with("R012")).unwrap();
        assert_eq!(case.status, RungStatus::Fail);
        assert!(case
            .message
            .as_deref()
            .unwrap()
            .contains("compose.yml:29: config `nginx_conf`"));
    }

    #[test]
    fn the_rung_of_an_inherited_error_is_a_skip_that_caps_the_level_and_names_the_fix() {
        use crate::ladder::{RungStatus, SkipKind};
        let mut i = input();
        both(&mut i, |t| {
            edit(t, "        - \"traefik.enable=true\"\n", "")
        });
        let r = rung_result(&lint(&i), 7);
        assert_eq!(
            (r.status, r.skip),
            (RungStatus::Skip, Some(SkipKind::Inherited))
        );
        let reason = r.reason.as_deref().unwrap();
        assert!(
            reason.starts_with(
                "already at the base release 1.0.0+1.27.2, not introduced by this change"
            ),
            "{reason}"
        );
        assert!(
            reason.contains("Fix: include \"traefik.enable=true\" deploy label"),
            "{reason}"
        );
        let case = r.tests.iter().find(|t| t.name.starts_with("R010")).unwrap();
        assert_eq!(case.status, RungStatus::Skip);
        assert!(
            case.message
                .as_deref()
                .unwrap()
                .starts_with("inherited: already at the base release 1.0.0+1.27.2. compose.yml:"),
            "{case:?}"
        );
        // The same error introduced by the head fails the rung.
        i.base.as_mut().unwrap().tree = tree();
        let r = rung_result(&lint(&i), 7);
        assert_eq!((r.status, r.skip), (RungStatus::Fail, None));
        assert!(r.reason.as_deref().unwrap().starts_with("R010 "), "{r:?}");
    }
}
