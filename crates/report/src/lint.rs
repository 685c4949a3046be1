//! The recipe lint (L5) for people: the table `ccci lint` prints (rule id, level, status,
//! what the rule asks, where it applies, what to fix) and the lines other renderers show.

use crate::text::{clean, Paint};
use ccci_core::lint::{Finding, Level, LintReport, RuleResult, Status};
use std::fmt::Write as _;

/// The table: one row per rule; under a failed rule each finding with its `file:line` (and,
/// when the base release has it too, saying so), then the fix; under a skipped one, why.
/// An error-level rule whose every finding is inherited reads `inherited`, not `FAILED`.
/// The last line is the summary.
pub fn table(recipe: &str, commit: Option<&str>, report: &LintReport, color: bool) -> String {
    let paint = Paint { color };
    let mut s = String::new();
    let _ = writeln!(s, "{}", header_line(recipe, commit, report));
    let width = rule_width(report);
    let _ = writeln!(
        s,
        "{:<5} {:<5} {:<9} {:<width$}  WHERE",
        "ID", "LEVEL", "STATUS", "RULE"
    );
    for r in &report.rules {
        rule_lines(&mut s, paint, report, r, width);
    }
    let _ = writeln!(s, "{}", summary_line(report, paint));
    s
}

/// The recipe, the commit and the base release the head is compared with.
fn header_line(recipe: &str, commit: Option<&str>, report: &LintReport) -> String {
    let mut facts = Vec::new();
    if let Some(c) = commit {
        facts.push(format!("commit {}", crate::text::short_commit(c)));
    }
    match &report.base {
        Some(b) => facts.push(format!("base {}", clean(b, false))),
        None => facts.push("no base release: diff rules skipped, every error the head's".into()),
    }
    format!(
        "ccci lint  {}  ({})",
        clean(recipe, false),
        facts.join("; ")
    )
}

/// The width of the RULE column: the longest rule's, at most 56.
fn rule_width(report: &LintReport) -> usize {
    report
        .rules
        .iter()
        .map(|r| r.rule.chars().count())
        .max()
        .unwrap_or(4)
        .min(56)
}

/// A rule's row, then its findings and fix (failed) or why it was skipped.
fn rule_lines(s: &mut String, paint: Paint, report: &LintReport, r: &RuleResult, width: usize) {
    let rule: String = r.rule.chars().take(width).collect();
    let line = format!(
        "{:<5} {:<5} {} {rule:<width$}  {}",
        r.id,
        r.level.word(),
        status_cell(r, paint),
        where_of(r)
    );
    let _ = writeln!(s, "{}", line.trim_end());
    match r.status {
        Status::Failed => {
            for f in &r.findings {
                let _ = writeln!(s, "      {}", finding_line(report, f));
            }
            let _ = writeln!(
                s,
                "      {} {}",
                paint.paint("1", "fix:"),
                clean(&r.fix, false)
            );
        }
        Status::Skipped => {
            if let Some(note) = &r.note {
                let _ = writeln!(s, "      {}", paint.paint("2", &clean(note, false)));
            }
        }
        Status::Satisfied => {}
    }
}

/// The STATUS column: `inherited`, not `FAILED`, for an error the base release has too.
fn status_cell(r: &RuleResult, paint: Paint) -> String {
    match (r.status, r.level) {
        (Status::Satisfied, _) => paint.paint("32", &format!("{:<9}", "satisfied")),
        (Status::Failed, Level::Error) if r.is_inherited() => {
            paint.paint("33", &format!("{:<9}", "inherited"))
        }
        (Status::Failed, Level::Error) => paint.paint("1;31", &format!("{:<9}", "FAILED")),
        (Status::Failed, Level::Warn) => paint.paint("33", &format!("{:<9}", "warning")),
        (Status::Skipped, _) => paint.paint("2", &format!("{:<9}", "skipped")),
    }
}

/// A finding: its `file:line` (when it has one), its message, whether the base has it too.
fn finding_line(report: &LintReport, f: &Finding) -> String {
    let at = f.location();
    let prefix = if at.is_empty() {
        String::new()
    } else {
        format!("{at}: ")
    };
    format!(
        "{prefix}{}{}",
        clean(&f.message, false),
        inherited_mark(report, f)
    )
}

/// The last line: clean, failed, or failing only on what the base release has too.
fn summary_line(report: &LintReport, paint: Paint) -> String {
    let summary = report.summary();
    if report.clean() {
        paint.paint("1;32", &format!("lint {summary}"))
    } else if report.fails() {
        paint.paint("1;31", &format!("lint FAILED: {summary}"))
    } else {
        // Only errors the base release has too: not this head's failure, no L5.
        paint.paint("1;33", &format!("lint {summary} (no L5 until fixed)"))
    }
}

/// ` (already at the base release 1.1.0)` after a finding the base has too.
fn inherited_mark(report: &LintReport, f: &Finding) -> String {
    if !f.is_inherited() {
        return String::new();
    }
    match &report.base {
        Some(b) => format!(" (already at the base release {})", clean(b, false)),
        None => " (already at the base release)".into(),
    }
}

/// Where a failed rule applies: its first finding's `file:line` (and how many more).
fn where_of(r: &RuleResult) -> String {
    if r.status != Status::Failed {
        return String::new();
    }
    let first = r.findings.first().map(|f| f.location()).unwrap_or_default();
    match r.findings.len() {
        0 | 1 => first,
        n => format!("{first} (+{} more)", n - 1),
    }
}

/// Lines for the other renderers: each failed rule (errors the head introduced first, then
/// those inherited from the base release, then warnings) as
/// `R012 error: config versions are vendored — compose.yml:29: …` or
/// `R014 error inherited from the base release 1.1.0: … — …` then `\nfix: …` (an
/// inherited error is shown with its fix).
pub fn failed_lines(report: &LintReport) -> Vec<String> {
    let mut rules: Vec<&RuleResult> = report.introduced();
    rules.extend(report.inherited());
    rules.extend(report.warnings());
    rules
        .into_iter()
        .map(|r| {
            let level = if r.is_inherited() {
                format!("error {}", inherited_words(report))
            } else {
                r.level.word().to_string()
            };
            let mut line = format!("{} {level}: {}", r.id, r.rule);
            if let Some(f) = r.findings.first() {
                let at = f.location();
                if at.is_empty() {
                    let _ = write!(line, " — {}", f.message);
                } else {
                    let _ = write!(line, " — {at}: {}", f.message);
                }
                if r.findings.len() > 1 {
                    let _ = write!(line, " (+{} more)", r.findings.len() - 1);
                }
            }
            if r.is_inherited() {
                // On its own line, so no cut of a long finding hides it.
                let _ = write!(line, "\nfix: {}", r.fix);
            }
            line
        })
        .collect()
}

/// The card's row for errors already at the base release: `R014, R010 — not this change's`.
pub fn inherited_brief(report: &LintReport) -> String {
    let ids: Vec<&str> = report.inherited().iter().map(|r| r.id.as_str()).collect();
    format!("{} — not this change's", ids.join(", "))
}

/// `inherited from the base release 1.1.0+1.1.0`.
pub fn inherited_words(report: &LintReport) -> String {
    match &report.base {
        Some(b) => format!("inherited from the base release {b}"),
        None => "inherited from the base release".into(),
    }
}
