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
