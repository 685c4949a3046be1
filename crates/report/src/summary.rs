//! The terminal summary printed at the end of `ccci run`: one line per rung, the verdict and
//! level, and the failure excerpt. Colour only when the caller says the output is a TTY.

use crate::text::{clean, duration, short_commit, truncate, Paint};
use crate::view::{self, RowState};
use ccci_core::ladder::Verdict;
use ccci_core::results::RunResults;
use ccci_core::run_end::RunEnd;
use std::fmt::Write as _;

/// Log lines of the failing service shown in the summary.
pub const LOG_TAIL_LINES: usize = 10;

pub fn text(results: &RunResults, color: bool) -> String {
    let p = Paint { color };
    let mut s = String::new();
    let _ = writeln!(s, "{}", header_line(results, &p));
    for row in view::rows(results) {
        let _ = writeln!(s, "{}", rung_line(&row, &p).trim_end());
    }
    let _ = writeln!(s, "{}", verdict_line(results, &p));
    if let Some(failure) = &results.failure {
        failure_lines(&mut s, &p, failure);
    }
    if let Some(report) = &results.lint {
        lint_lines(&mut s, &p, report);
    }
    warning_lines(&mut s, &p, &results.flags);
    if let Some(kept) = &results.kept {
        kept_lines(&mut s, &p, kept);
    }
    if let Some(url) = &results.run_url {
        let _ = writeln!(s, "{}", p.dim(&clean(url, false)));
    }
    s
}

/// The recipe, its versions and commit, and whether the run is a quick one.
fn header_line(results: &RunResults, p: &Paint) -> String {
    let mut head = format!("cc-ci  {}", p.bold(&clean(&results.recipe, false)));
    if let Some(versions) = view::versions(results) {
        let _ = write!(head, "  {}", clean(&versions, false));
    }
    if let Some(commit) = &results.head_commit {
        let _ = write!(head, "  ({})", clean(short_commit(commit), false));
    }
    if results.mode == ccci_core::results::RunMode::Quick {
        let _ = write!(
            head,
            "  {}",
            p.yellow("quick run on the warm canonical (does not gate the merge)")
        );
    }
    head
}

/// One rung: its mark, step, title, state, duration and the reason it did not pass.
fn rung_line(row: &view::Row, p: &Paint) -> String {
    let (mark, word) = match row.state {
        RowState::Pass => (p.green("✓"), p.green("pass   ")),
        RowState::Fail => (p.red("✗"), p.red(&p.bold("FAIL   "))),
        RowState::NotApplicable => (p.dim("–"), p.dim("n/a    ")),
        RowState::Skipped => (p.yellow("!"), p.yellow("skipped")),
        RowState::Inherited => (p.yellow("!"), p.yellow("at base")),
        RowState::NotRun => (p.yellow("!"), p.yellow("not run")),
    };
    let step = row.step.as_deref().unwrap_or("  ");
    let time = row.duration_ms.map(duration).unwrap_or_else(|| "–".into());
    let title = match row.path {
        Some(path) => format!("  {} ({} deploys)", path.title(), path.deploy_count),
        None => row.title(),
    };
    let mut line = format!("  {mark} {step} {title:<15} {word} {:>8}", time);
    if let Some(reason) = row.reason {
        let mut reason = truncate(&clean(reason, false), 80);
        if row.state == RowState::NotApplicable {
            reason.push_str(" (intentional)");
        }
        let _ = write!(line, "  {}", p.dim(&reason));
    }
    line
}

/// The verdict, the level against the expected one, the duration, deploys and run id.
fn verdict_line(results: &RunResults, p: &Paint) -> String {
    let verdict = match results.end {
        RunEnd::Judged(Verdict::Green) => p.green(&p.bold("GREEN")),
        RunEnd::Judged(Verdict::Red) => p.red(&p.bold("RED")),
        RunEnd::Cancelled => p.bold("CANCELLED (no verdict)"),
        RunEnd::Error => {
            p.yellow(&p.bold("CC-CI ERROR (no verdict: cc-ci failed, not the recipe)"))
        }
    };
    let level = format!("level L{}", results.level);
    let level = if results.level >= results.expected_level {
        p.bold(&level)
    } else {
        p.yellow(&p.bold(&level))
    };
    format!(
        "{verdict}  {level} (expected L{})  ·  {}  ·  {} deploy{}  ·  run {}",
        results.expected_level,
        duration(results.duration_ms),
        results.deploy_count,
        if results.deploy_count == 1 { "" } else { "s" },
        clean(&results.run_id, false)
    )
}

/// The first failure: its message, service, task error and the service's last log lines.
fn failure_lines(s: &mut String, p: &Paint, failure: &ccci_core::results::Failure) {
    let rung = failure.rung.map(|r| format!(" in {r}")).unwrap_or_default();
    let _ = writeln!(
        s,
        "{} {}",
        p.red(&p.bold(&format!("failure{rung}:"))),
        clean(&failure.message, false)
    );
    if let Some(service) = &failure.service {
        let _ = writeln!(s, "  service: {}", clean(service, false));
    }
    if let Some(task_error) = &failure.task_error {
        let _ = writeln!(s, "  task error: {}", clean(task_error, false));
    }
    if !failure.log_tail.is_empty() {
        let tail = &failure.log_tail[failure.log_tail.len().saturating_sub(LOG_TAIL_LINES)..];
        let _ = writeln!(s, "  last {} log lines:", tail.len());
        for line in tail {
            let _ = writeln!(s, "    {}", p.dim(&clean(line, false)));
        }
    }
}

/// Each lint finding that failed or warns, with its fix on the next line.
fn lint_lines(s: &mut String, p: &Paint, report: &ccci_core::lint::LintReport) {
    for lines in crate::lint::failed_lines(report) {
        let (line, fix) = match lines.split_once('\n') {
            Some((line, fix)) => (line.to_string(), Some(fix.to_string())),
            None => (lines, None),
        };
        let line = truncate(&clean(&line, false), 160);
        let _ = writeln!(
            s,
            "{} {line}",
            // Red for an error the head introduced; yellow for one inherited from the
            // base release (shown with its fix) and for warnings.
            if line.contains(" error: ") {
                p.red(&p.bold("lint"))
            } else {
                p.yellow("lint")
            }
        );
        if let Some(fix) = fix {
            let _ = writeln!(s, "     {}", truncate(&clean(&fix, false), 160));
        }
    }
}

/// An interrupted run, a teardown that left something, a secret the app printed.
fn warning_lines(s: &mut String, p: &Paint, flags: &ccci_core::results::RunFlags) {
    let mut warnings = Vec::new();
    if flags.interrupted {
        warnings.push("the run was interrupted");
    }
    if !flags.clean_teardown {
        warnings.push("teardown left something behind");
    }
    if !flags.no_secret_leak {
        warnings.push("the app printed a secret (redacted from every artefact)");
    }
    for warning in warnings {
        let _ = writeln!(s, "{} {warning}", p.yellow("warning:"));
    }
}

/// `--keep`: until when the app stays, how to reach it, its logs, the early release.
fn kept_lines(s: &mut String, p: &Paint, kept: &ccci_core::results::Kept) {
    let _ = writeln!(
        s,
        "{} the app stays deployed for debugging until {}; the janitor removes it after",
        p.yellow(&p.bold("kept")),
        crate::text::kept_until(kept)
    );
    let _ = writeln!(s, "  reach it: {}", clean(&kept.reach, false));
    for logs in &kept.logs {
        let _ = writeln!(s, "  logs:     {}", clean(logs, false));
    }
    let _ = writeln!(s, "  release:  {}", clean(&kept.release, false));
}
