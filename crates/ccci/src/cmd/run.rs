//! `ccci run`: one run of a recipe on the local swarm, its summary, and its verdict as the
//! exit code.

use crate::exit::Exit;
use crate::rig_args::RigArgs;
use ccci_core::ladder::Rung;
use ccci_core::results::{RunMode, RunResults};
use ccci_runner::recipe::InputError;
use ccci_runner::request::{OnVerdict, RunRequest};
use std::io::{IsTerminal, Write as _};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

#[derive(clap::Args)]
pub struct Args {
    /// A recipe directory, a git repository path, or a git URL.
    recipe: String,
    /// The ref to test (branch, tag, commit, `refs/pull/N/head`).
    #[arg(long = "ref")]
    git_ref: Option<String>,
    /// Rungs to run, comma-separated (install is always run).
    #[arg(long, value_delimiter = ',')]
    stages: Option<Vec<String>>,
    /// The warm fast lane (falls back to a cold run without a canonical).
    #[arg(long)]
    quick: bool,
    /// Also run the heavy opt-in suite.
    #[arg(long)]
    extra: bool,
    /// A RED run leaves its app deployed this long for debugging (`30m`, `1h`, `90s`; bare
    /// `--keep`: 30m; at most 2h); results, summary and comment say how to reach it and its
    /// logs; `ccci janitor` removes it after that (`ccci janitor --release STACK` before).
    #[arg(long, value_name = "DURATION", num_args = 0..=1, default_missing_value = "30m")]
    keep: Option<String>,
    /// Where results.json, logs, card and comment go.
    #[arg(long, default_value = "ccci-out")]
    out: PathBuf,
    #[command(flatten)]
    rig: RigArgs,
}

pub async fn run(args: Args) -> anyhow::Result<Exit> {
    let request = RunRequest {
        recipe_source: args.recipe,
        git_ref: args.git_ref,
        stages: parse_stages(args.stages)?,
        quick: args.quick,
        extra: args.extra,
        out_dir: args.out.clone(),
        rig: args.rig.rig()?,
        run_url: None,
        run_id: None,
        user_cancel: Default::default(),
        on_verdict: Default::default(),
        keep: args
            .keep
            .as_deref()
            .map(ccci_core::keep::parse_keep)
            .transpose()
            .map_err(InputError::from)?,
    };
    // The summary is printed as soon as the verdict is judged: a quick run then still puts
    // its canonical back (docs/behaviour.md §6).
    let printed = Arc::new(AtomicBool::new(false));
    let (told, out) = (printed.clone(), args.out.clone());
    let request = RunRequest {
        on_verdict: OnVerdict::new(move |results| {
            print_outcome(&results, &out);
            told.store(true, Ordering::SeqCst);
            Box::pin(async {})
        }),
        ..request
    };
    let cancel = crate::signals::cancel_on_signals();
    let results = ccci_runner::lifecycle::run(request, cancel).await?;
    if printed.load(Ordering::SeqCst) {
        return Ok(Exit::of_run(results.end));
    }
    Ok(print_outcome(&results, &args.out))
}

/// `--stages a,b` as rungs; an unknown name is bad input.
pub fn parse_stages(stages: Option<Vec<String>>) -> Result<Option<Vec<Rung>>, InputError> {
    let Some(names) = stages else {
        return Ok(None);
    };
    names
        .into_iter()
        .map(|name| Rung::parse(&name).ok_or(InputError::UnknownStage { name }))
        .collect::<Result<Vec<_>, _>>()
        .map(Some)
}

/// Prints the summary (saying when it was the quick lane); the verdict is the outcome.
pub fn print_outcome(results: &RunResults, out: &Path) -> Exit {
    let color = std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    // A closed stdout must not turn a finished run into a panic (exit 101).
    let mut stdout = std::io::stdout();
    let _ = write!(stdout, "{}", ccci_report::summary::text(results, color));
    if results.mode == RunMode::Quick {
        let _ = writeln!(
            stdout,
            "quick lane: the fast lane on the warm canonical; it never gates a merge and never advances the canonical"
        );
    }
    let _ = writeln!(stdout, "results: {}", out.join("results.json").display());
    Exit::of_run(results.end)
}
