//! `ccci lint`: the recipe lint (L5) as a table or JSON; nothing deployed, no engine.

use crate::exit::Exit;
use std::io::{IsTerminal, Write as _};

#[derive(clap::Args)]
pub struct Args {
    /// A recipe directory, a git repository path, or a git URL.
    recipe: String,
    /// The ref to lint (branch, tag, commit, `refs/pull/N/head`); a git recipe only.
    #[arg(long = "ref")]
    git_ref: Option<String>,
    /// Print the report as JSON instead of the table.
    #[arg(long)]
    json: bool,
}

/// Clean is green, an error-level rule failing is red (bad input is an `InputError`).
pub fn run(args: Args) -> anyhow::Result<Exit> {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    let work = std::env::temp_dir().join(format!("ccci-lint-{}-{nanos}", std::process::id()));
    let linted = ccci_runner::lint::lint_source(&args.recipe, args.git_ref.as_deref(), &work)?;
    let report = &linted.report;
    let mut stdout = std::io::stdout();
    if args.json {
        let doc = serde_json::json!({
            "recipe": linted.recipe,
            "commit": linted.commit,
            "base": report.base,
            "clean": report.clean(),
            "errors": report.errors().len(),
            "warnings": report.warnings().len(),
            "summary": report.summary(),
            "rules": report.rules,
        });
        let _ = writeln!(stdout, "{}", serde_json::to_string_pretty(&doc)?);
    } else {
        let color = stdout.is_terminal() && std::env::var_os("NO_COLOR").is_none();
        let _ = write!(
            stdout,
            "{}",
            ccci_report::lint::table(&linted.recipe, linted.commit.as_deref(), report, color)
        );
    }
    Ok(Exit::green_if(report.clean()))
}
