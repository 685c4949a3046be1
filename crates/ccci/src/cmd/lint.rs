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
    /// Print the report as JSON instead of the table (a refusal too, as
    /// `{"refused": true, "error": …}`).
    #[arg(long)]
    json: bool,
}

/// Green unless the head introduces an error-level finding: one its base release has too
/// is shown (with its fix) and keeps the recipe below L5, but is not this head's failure,
/// as in a run (docs/behaviour.md §5). Bad input is an `InputError` (exit 2); with `--json` its
/// message is printed as JSON on stdout as well.
pub fn run(args: Args) -> anyhow::Result<Exit> {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    let work = std::env::temp_dir().join(format!("ccci-lint-{}-{nanos}", std::process::id()));
    let linted = match ccci_runner::lint::lint_source(&args.recipe, args.git_ref.as_deref(), &work)
    {
        Ok(linted) => linted,
        Err(e) => {
            if args.json {
                let doc = serde_json::json!({
                    "recipe": args.recipe,
                    "ref": args.git_ref,
                    "refused": true,
                    "error": e.to_string(),
                });
                let _ = writeln!(std::io::stdout(), "{}", serde_json::to_string_pretty(&doc)?);
            }
            return Err(e.into());
        }
    };
    let report = &linted.report;
    let mut stdout = std::io::stdout();
    if args.json {
        let doc = serde_json::json!({
            "recipe": linted.recipe,
            "commit": linted.commit,
            "base": report.base,
            "clean": report.clean(),
            "errors": report.errors().len(),
            "introduced": report.introduced().len(),
            "inherited": report.inherited().len(),
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
    Ok(Exit::green_if(!report.fails()))
}
