//! The recipe lint (L5) for people: the table `ccci lint` prints (rule id, level, status,
//! what the rule asks, where it applies, what to fix) and the lines other renderers show.

use crate::text::clean;
use ccci_core::lint::{Finding, Level, LintReport, RuleResult, Status};
use std::fmt::Write as _;

/// The table: one row per rule; under a failed rule each finding with its `file:line` (and,
/// when the base release has it too, saying so), then the fix; under a skipped one, why.
/// An error-level rule whose every finding is inherited reads `inherited`, not `FAILED`.
/// The last line is the summary.
pub fn table(recipe: &str, commit: Option<&str>, report: &LintReport, color: bool) -> String {
    let paint = |code: &str, text: &str| {
        if color {
            format!("\u{1b}[{code}m{text}\u{1b}[0m")
        } else {
            text.to_string()
        }
    };
    let mut s = String::new();
    let mut head = format!("ccci lint  {}", clean(recipe, false));
    let mut facts = Vec::new();
    if let Some(c) = commit {
        facts.push(format!("commit {}", crate::text::short_commit(c)));
    }
    match &report.base {
        Some(b) => facts.push(format!("base {}", clean(b, false))),
        None => facts.push("no base release: diff rules skipped, every error the head's".into()),
    }
    let _ = write!(head, "  ({})", facts.join("; "));
    let _ = writeln!(s, "{head}");
    let width = report
        .rules
        .iter()
        .map(|r| r.rule.chars().count())
        .max()
        .unwrap_or(4)
        .min(56);
    let _ = writeln!(
        s,
        "{:<5} {:<5} {:<9} {:<width$}  WHERE",
        "ID", "LEVEL", "STATUS", "RULE"
    );
    for r in &report.rules {
        let status = match (r.status, r.level) {
            (Status::Satisfied, _) => paint("32", &format!("{:<9}", "satisfied")),
            (Status::Failed, Level::Error) if r.is_inherited() => {
                paint("33", &format!("{:<9}", "inherited"))
            }
            (Status::Failed, Level::Error) => paint("1;31", &format!("{:<9}", "FAILED")),
            (Status::Failed, Level::Warn) => paint("33", &format!("{:<9}", "warning")),
            (Status::Skipped, _) => paint("2", &format!("{:<9}", "skipped")),
        };
        let rule: String = r.rule.chars().take(width).collect();
        let line = format!(
            "{:<5} {:<5} {status} {rule:<width$}  {}",
            r.id,
            r.level.word(),
            where_of(r)
        );
        let _ = writeln!(s, "{}", line.trim_end());
        match r.status {
            Status::Failed => {
                for f in &r.findings {
                    let at = f.location();
                    let prefix = if at.is_empty() {
                        String::new()
                    } else {
                        format!("{at}: ")
                    };
                    let _ = writeln!(
                        s,
                        "      {prefix}{}{}",
                        clean(&f.message, false),
                        inherited_mark(report, f)
                    );
                }
                let _ = writeln!(s, "      {} {}", paint("1", "fix:"), clean(&r.fix, false));
            }
            Status::Skipped => {
                if let Some(note) = &r.note {
                    let _ = writeln!(s, "      {}", paint("2", &clean(note, false)));
                }
            }
            Status::Satisfied => {}
        }
    }
    let summary = report.summary();
    let _ = writeln!(
        s,
        "{}",
        if report.clean() {
            paint("1;32", &format!("lint {summary}"))
        } else if report.fails() {
            paint("1;31", &format!("lint FAILED: {summary}"))
        } else {
            // Only errors the base release has too: not this head's failure, no L5.
            paint("1;33", &format!("lint {summary} (no L5 until fixed)"))
        }
    );
    s
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
