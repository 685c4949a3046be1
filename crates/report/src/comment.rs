//! The PR comment, in markdown. The service posts one sticky comment per PR and edits it in
//! place: queued → running → the result. Every state carries [`STICKY_MARKER`] so the
//! service can find its own comment among the others.
//!
//! All free text (reasons, messages, log lines) is escaped: in prose through [`md_text`],
//! in code through fences longer than any backtick run inside.

use crate::text::{clean, duration, short_commit, truncate};
use crate::view::{self, RowState};
use ccci_core::ladder::{RungStatus, Verdict};
use ccci_core::results::RunResults;
use ccci_core::run_end::RunEnd;
use std::fmt::Write as _;

/// Hidden marker at the top of every comment cc-ci writes.
pub const STICKY_MARKER: &str = "<!-- cc-ci:sticky -->";

/// Log lines shown in the failure excerpt, at most.
pub const LOG_TAIL_LINES: usize = 30;

/// The long-form comment for a finished run. `card_url` is where the card PNG can be
/// fetched from, when the service has uploaded it.
pub fn markdown(results: &RunResults, card_url: Option<&str>) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "{STICKY_MARKER}");
    let icon = match results.end {
        RunEnd::Judged(Verdict::Green) => "✅",
        RunEnd::Judged(Verdict::Red) => "❌",
        RunEnd::Cancelled => "⏹️",
        RunEnd::Error => "⚠️",
    };
    let _ = writeln!(
        s,
        "## {icon} cc-ci: {} is **{}** — level **L{}** (expected L{})\n",
        md_code(&results.recipe),
        view::end_word(results.end),
        results.level,
        results.expected_level
    );
    let _ = writeln!(s, "{}\n", facts_line(results));
    if let Some(url) = card_url {
        let _ = writeln!(
            s,
            "<img src=\"{}\" width=\"{}\" alt=\"cc-ci result card\">\n",
            html_attr(url),
            crate::card::WIDTH
        );
    }
    rung_table(&mut s, results);
    lint_table(&mut s, results);
    failure_excerpt(&mut s, results);
    judged_as_section(&mut s, results);
    if let Some(kept) = &results.kept {
        kept_section(&mut s, kept);
    }
    if !results.flags.clean_teardown || !results.flags.no_secret_leak || results.flags.interrupted {
        s.push('\n');
        if results.flags.interrupted {
            let _ = writeln!(s, "- ⚠️ The run was interrupted (deadline or Ctrl-C).");
        }
        if !results.flags.clean_teardown {
            let _ = writeln!(s, "- ⚠️ Teardown left something of the stack behind.");
        }
        if !results.flags.no_secret_leak {
            let _ = writeln!(
                s,
                "- ⚠️ The app printed a generated secret; it was redacted from every artefact."
            );
        }
    }
    s.push('\n');
    s.push_str(&rerun_help());
    s
}

/// What the maintainer should know about how the run was judged: what cc-ci changed on the
/// stack to run it on this host (a rig adaptation), what of the head's own `.ccci/` was not
/// obeyed (a pull request can add checks, never relax them) and the head's extra tests.
/// Nothing when the stack ran as written and the head's `.ccci/` changed nothing.
fn judged_as_section(s: &mut String, results: &RunResults) {
    let mut lines = Vec::new();
    for a in &results.rig_adaptations {
        let mut line = format!(
            "- 🔧 Rig adaptation: {} on {} — {}",
            md_code(&a.kind),
            md_text(&a.services.join(", ")),
            md_text(&a.reason)
        );
        if !a.not_applied.is_empty() {
            let _ = write!(
                line,
                " (not applied to {})",
                md_text(&a.not_applied.join("; "))
            );
        }
        lines.push(line);
    }
    if let Some(suite) = &results.suite {
        if !suite.ignored.is_empty() {
            lines.push(format!(
                "- 🔒 Not obeyed from this head's `.ccci/` (a pull request can add checks, never relax them; change them in the CI's suite or a release): {}",
                list_code(&suite.ignored)
            ));
        }
        if !suite.added_tests.is_empty() {
            lines.push(format!(
                "- ➕ This head's own tests ran as extra checks: {}",
                list_code(&suite.added_tests)
            ));
        }
    }
    if lines.is_empty() {
        return;
    }
    let _ = writeln!(s, "\n**How this run was judged**\n");
    for line in lines {
        let _ = writeln!(s, "{line}");
    }
}

fn list_code(items: &[String]) -> String {
    items
        .iter()
        .map(|i| md_code(i))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `--keep`: the app left deployed for debugging, until when, and how to reach it.
fn kept_section(s: &mut String, kept: &ccci_core::results::Kept) {
    let _ = writeln!(
        s,
        "\n**🔧 Kept for debugging until {}** (`--keep`); the janitor removes it after that.\n",
        md_text(&crate::text::kept_until(kept))
    );
    let _ = writeln!(s, "- reach it (on the CI host): {}", md_code(&kept.reach));
    for logs in &kept.logs {
        let _ = writeln!(s, "- logs: {}", md_code(logs));
    }
    let _ = writeln!(s, "- release it early: {}", md_code(&kept.release));
}

fn facts_line(results: &RunResults) -> String {
    let mut facts = Vec::new();
    if let Some(versions) = view::versions(results) {
        facts.push(format!("**{}**", md_text(&versions)));
    }
    facts.push(match results.mode {
        ccci_core::results::RunMode::Cold => "cold run".to_string(),
        ccci_core::results::RunMode::Quick => "quick run (does not gate the merge)".to_string(),
    });
    if let Some(commit) = &results.head_commit {
        facts.push(format!("commit {}", md_code(short_commit(commit))));
    }
    facts.push(duration(results.duration_ms));
    facts.push(match results.deploy_count {
        1 => "1 deploy".to_string(),
        n => format!("{n} deploys"),
    });
    match &results.run_url {
        Some(url) => facts.push(format!(
            "[run {}]({})",
            md_text(&results.run_id),
            md_url(url)
        )),
        None => facts.push(format!("run {}", md_code(&results.run_id))),
    }
    facts.join(" · ")
}

fn rung_table(s: &mut String, results: &RunResults) {
    let _ = writeln!(s, "| Rung | Result | Time | Notes |");
    let _ = writeln!(s, "| --- | --- | ---: | --- |");
    for row in view::rows(results) {
        let rung = match (&row.step, row.path) {
            (Some(step), _) => format!("{step} {}", row.rung),
            (None, Some(path)) => format!("↳ {} ({} deploys)", path.title(), path.deploy_count),
            (None, None) => row.rung.to_string(),
        };
        let result = match row.state {
            RowState::Pass => "✅ pass",
            RowState::Fail => "❌ **fail**",
            RowState::NotApplicable => "➖ n/a (intentional)",
            RowState::Skipped => "⚠️ skipped",
            RowState::Inherited => "⚠️ errors already at the base",
            RowState::NotRun => "⚠️ not run",
        };
        let time = row.duration_ms.map(duration).unwrap_or_else(|| "–".into());
        let mut notes = row
            .reason
            .map(|r| md_text(&truncate(r, 200)))
            .unwrap_or_default();
        if let Some(result) = row.result {
            let failed: Vec<_> = result
                .tests
                .iter()
                .filter(|t| t.status == RungStatus::Fail)
                .map(|t| md_code(&t.name))
                .collect();
            if !result.tests.is_empty() {
                let passed = result
                    .tests
                    .iter()
                    .filter(|t| t.status == RungStatus::Pass)
                    .count();
                if !notes.is_empty() {
                    notes.push_str("; ");
                }
                let _ = write!(notes, "{passed}/{} tests passed", result.tests.len());
                if !failed.is_empty() {
                    let _ = write!(notes, ", failed: {}", failed.join(", "));
                }
            }
        }
        let _ = writeln!(s, "| {rung} | {result} | {time} | {notes} |");
    }
}

/// The lint's failed rules (L5): errors the head introduced, which fail it; errors already
/// at the base release, which do not (each with its fix, keeping the level below L5); then
/// warnings, which never do.
fn lint_table(s: &mut String, results: &RunResults) {
    let Some(report) = &results.lint else {
        return;
    };
    let mut rules = report.introduced();
    rules.extend(report.inherited());
    rules.extend(report.warnings());
    if rules.is_empty() {
        return;
    }
    let _ = writeln!(s, "\n### Lint (L5): {}\n", md_text(&report.summary()));
    let _ = writeln!(s, "| Rule | Level | Where | What to fix |");
    let _ = writeln!(s, "| --- | --- | --- | --- |");
    for r in rules {
        let inherited = format!(
            "⚠️ error, {} (not this change's)",
            md_text(&crate::lint::inherited_words(report))
        );
        let level = match r.level {
            ccci_core::lint::Level::Error if r.is_inherited() => inherited.as_str(),
            ccci_core::lint::Level::Error => "❌ **error**",
            ccci_core::lint::Level::Warn => "⚠️ warning",
        };
        let at = r
            .findings
            .first()
            .map(|f| f.location())
            .filter(|l| !l.is_empty())
            .map(|l| md_code(&l))
            .unwrap_or_default();
        let what: Vec<String> = r.findings.iter().map(|f| f.message.clone()).collect();
        let _ = writeln!(
            s,
            "| {} {} | {level} | {at} | {} — fix: {} |",
            md_code(&r.id),
            md_text(&r.rule),
            md_text(&truncate(&what.join("; "), 300)),
            md_text(&r.fix)
        );
    }
}

fn failure_excerpt(s: &mut String, results: &RunResults) {
    let Some(failure) = &results.failure else {
        return;
    };
    let title = match failure.rung {
        Some(rung) => format!("Failure in {}", md_code(rung.name())),
        None => "Failure".to_string(),
    };
    let _ = writeln!(s, "\n### {title}\n");
    let _ = writeln!(s, "> {}\n", md_text(&failure.message));
    if let Some(service) = &failure.service {
        let _ = writeln!(s, "- **Service:** {}", md_code(service));
    }
    if let Some(task_error) = &failure.task_error {
        let _ = writeln!(s, "- **Task error:** {}", md_code(task_error));
    }
    // Failing functional tests, with their messages (the lint's rules are in its table).
    if let Some(rung) = failure
        .rung
        .filter(|r| *r != ccci_core::ladder::Rung::Lint)
        .and_then(|r| results.rung(r))
    {
        for test in rung.tests.iter().filter(|t| t.status == RungStatus::Fail) {
            let message = test.message.as_deref().unwrap_or("failed");
            let _ = writeln!(
                s,
                "- **Test** {}: {}",
                md_code(&test.name),
                md_text(&truncate(message, 300))
            );
        }
    }
    if !failure.log_tail.is_empty() {
        let tail = &failure.log_tail[failure.log_tail.len().saturating_sub(LOG_TAIL_LINES)..];
        let whose = failure
            .service
            .as_deref()
            .map(|svc| format!(" of {}", md_code(svc)))
            .unwrap_or_default();
        let text: Vec<String> = tail.iter().map(|l| clean(l, false)).collect();
        let _ = writeln!(s, "\n**Last {} log lines{whose}:**\n", tail.len());
        let _ = writeln!(s, "{}", code_block(&text.join("\n")));
    }
}

/// How to re-run, as a short list.
pub fn rerun_help() -> String {
    [
        "<details><summary>Re-run</summary>\n",
        "Comment on this pull request (collaborators only):\n",
        "- `!testme` — full cold run: install the last release, upgrade to this PR, backup/restore, functional tests",
        "- `!testme --quick` — fast lane on the warm canonical: upgrade + functional (never gates a merge)",
        "- `!testme --stages install,upgrade` — only the listed rungs",
        "- `!testme --stages lint` — the recipe lint alone (nothing deployed)",
        "- `!testme --extra` — also run the heavy opt-in suite",
        "\n</details>\n",
    ]
    .join("\n")
}

/// The state of a run that has not finished, for the short sticky comment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Progress {
    /// Waiting for a slot. `behind` names the run it waits behind, when there is one.
    Queued { behind: Option<String> },
    /// Deploying and testing; `rung` is the rung in progress, when known.
    Running {
        rung: Option<ccci_core::ladder::Rung>,
    },
}

/// The short comment shown while a run is queued or running.
pub fn progress_markdown(
    recipe: &str,
    run_id: &str,
    run_url: Option<&str>,
    progress: &Progress,
) -> String {
    let run = match run_url {
        Some(url) => format!("[run {}]({})", md_text(run_id), md_url(url)),
        None => format!("run {}", md_code(run_id)),
    };
    let state = match progress {
        Progress::Queued {
            behind: Some(other),
        } => {
            format!("⏳ queued behind run {}", md_code(other))
        }
        Progress::Queued { behind: None } => "⏳ queued".to_string(),
        Progress::Running { rung: Some(rung) } => format!("🔄 running: {}", md_code(rung.name())),
        Progress::Running { rung: None } => "🔄 running".to_string(),
    };
    format!(
        "{STICKY_MARKER}\n### cc-ci: {} — {state}\n\n{run}. This comment is updated when the run finishes.\n",
        md_code(recipe)
    )
}

/// Plain text made inert in markdown: no emphasis, links, HTML or table breaks.
pub fn md_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in clean(text, false).chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '\\' | '`' | '*' | '_' | '[' | ']' | '|' | '#' | '~' | '!' | '(' | ')' | '{' | '}' => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
    }
    out
}

/// Inline code, safe inside a table cell: the fence outgrows any backtick run inside.
pub fn md_code(text: &str) -> String {
    let text = clean(text, false).replace('|', "\\|");
    let fence = "`".repeat(longest_backtick_run(&text) + 1);
    let pad = if text.starts_with('`') || text.ends_with('`') || text.is_empty() {
        " "
    } else {
        ""
    };
    format!("{fence}{pad}{text}{pad}{fence}")
}

/// A fenced code block whose fence outgrows any backtick run inside.
pub fn code_block(text: &str) -> String {
    let fence = "`".repeat((longest_backtick_run(text) + 1).max(3));
    format!("{fence}text\n{text}\n{fence}")
}

fn longest_backtick_run(text: &str) -> usize {
    text.split(|c| c != '`').map(str::len).max().unwrap_or(0)
}

fn md_url(url: &str) -> String {
    clean(url, false)
        .replace(' ', "%20")
        .replace('(', "%28")
        .replace(')', "%29")
        .replace('<', "%3C")
        .replace('>', "%3E")
}

fn html_attr(text: &str) -> String {
    crate::text::xml_escape(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `--keep`: the comment and the summary say until when, how to reach it, the logs
    /// and the release; a run that kept nothing says nothing of it.
    #[test]
    fn a_kept_app_is_described_in_the_comment_and_the_summary() {
        let mut results = crate::fixtures::red_l1_crash_loop();
        assert!(!markdown(&results, None).contains("Kept for debugging"));
        results.kept = Some(ccci_core::results::Kept {
            until: "2026-12-01T22:40:00Z".into(),
            until_unix: 1_796_164_800,
            url: "http://127.0.0.1:40123/".into(),
            reach: "curl -H 'Host: fixt-abc123.ci.local' http://127.0.0.1:40123/".into(),
            logs: vec!["docker service logs fixt-abc123_ci_local_app".into()],
            release: "ccci janitor --release fixt-abc123_ci_local --state-dir /var/lib/ccci".into(),
        });
        let md = markdown(&results, None);
        for want in [
            "**🔧 Kept for debugging until 2026-12-01 22:40:00 UTC**",
            "`curl -H 'Host: fixt-abc123.ci.local' http://127.0.0.1:40123/`",
            "- logs: `docker service logs fixt-abc123_ci_local_app`",
            "- release it early: `ccci janitor --release fixt-abc123_ci_local --state-dir /var/lib/ccci`",
        ] {
            assert!(md.contains(want), "{want}\n{md}");
        }
        let text = crate::summary::text(&results, false);
        for want in [
            "kept the app stays deployed for debugging until 2026-12-01 22:40:00 UTC",
            "logs:     docker service logs fixt-abc123_ci_local_app",
            "release:  ccci janitor --release fixt-abc123_ci_local",
        ] {
            assert!(text.contains(want), "{want}\n{text}");
        }
    }

    /// A rig adaptation and what of the head's `.ccci/` was ignored or added are said in
    /// the comment; a run on the stack as written, judged by an unchanged suite, says nothing.
    #[test]
    fn the_comment_says_how_the_run_departed_from_the_recipe_and_its_head() {
        let mut plain = crate::fixtures::green_l4();
        plain.rig_adaptations.clear();
        plain.suite = None;
        assert!(!markdown(&plain, None).contains("How this run was judged"));

        let mut results = crate::fixtures::green_l4();
        results.rig_adaptations[0].not_applied =
            vec!["worker: endpoint_mode vip pinned by a published port".into()];
        results.suite = Some(ccci_core::results::SuiteRecord {
            source: ccci_core::results::SuiteSource::Ci,
            release: None,
            ignored: vec![".ccci/suite.toml: expected_na.backup_restore".into()],
            added_tests: vec![".ccci/tests/test_share.py".into()],
        });
        let md = markdown(&results, None);
        for want in [
            "**How this run was judged**",
            "- 🔧 Rig adaptation: `endpoint_mode_dnsrr` on app, db — this engine has no IPVS, so service VIPs do not route (not applied to worker: endpoint\\_mode vip pinned by a published port)",
            "never relax them; change them in the CI's suite or a release): `.ccci/suite.toml: expected_na.backup_restore`",
            "- ➕ This head's own tests ran as extra checks: `.ccci/tests/test_share.py`",
        ] {
            assert!(md.contains(want), "{want}\n{md}");
        }
    }

    #[test]
    fn code_spans_outgrow_backticks() {
        let cases = [
            ("plain", "`plain`"),
            ("a`b", "``a`b``"),
            ("`edge`", "`` `edge` ``"),
            ("a|b", "`a\\|b`"),
        ];
        for (input, want) in cases {
            assert_eq!(md_code(input), want, "md_code({input:?})");
        }
        assert_eq!(code_block("x ``` y"), "````text\nx ``` y\n````");
    }

    #[test]
    fn md_text_is_inert() {
        assert_eq!(
            md_text("<script>*x*</script> [a](b) | c"),
            "&lt;script&gt;\\*x\\*&lt;/script&gt; \\[a\\]\\(b\\) \\| c"
        );
    }
}
