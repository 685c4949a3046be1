//! `ccci`: parse the flags, validate them into settings, run the subcommand, map how it
//! ended to the documented exit code ([`exit::Exit`]).
//!
//! # Layout
//! - [`cli`]: the command line as clap reads it.
//! - [`rig_args`]: the rig's flags, validated into a `Rig`.
//! - [`cmd`]: one module per subcommand (its flags and its body).
//! - [`exit`]: every outcome and its exit code, in one place.
//! - [`signals`]: Ctrl-C / SIGTERM cancel a run, which then tears down.

mod cli;
mod cmd;
mod exit;
mod rig_args;
mod signals;

use clap::Parser;
use cli::Command;
use exit::Exit;
use std::process::ExitCode;

fn main() -> ExitCode {
    unset_blank_ccci_vars();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("CCCI_LOG")
                .unwrap_or_else(|_| "warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = cli::Cli::parse();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("ccci: cannot start the async runtime: {e}");
            return Exit::HostFailure.into();
        }
    };
    match runtime.block_on(dispatch(cli.command)) {
        Ok(exit) => exit.into(),
        Err(e) => {
            eprintln!("ccci: error: {e:#}");
            Exit::of_error(&e).into()
        }
    }
}

/// Runs the subcommand.
async fn dispatch(command: Command) -> anyhow::Result<Exit> {
    use cmd::*;
    match command {
        Command::Run(args) => run::run(args).await,
        Command::Lint(args) => lint::run(args),
        Command::Doctor(args) => doctor::run(args).await,
        Command::Janitor(args) => janitor::run(args).await,
        Command::Observe(args) => observe::run(args).await,
        Command::Serve(args) => serve::run(args).await,
        Command::Config(command) => config::run(command).await,
        Command::Warm(command) => warm::run(command).await,
        Command::Alerts(args) => alerts::run(args),
        Command::Nightly(args) => nightly::run(args).await,
        Command::Prune(args) => prune::run(args).await,
    }
}

/// A blank `CCCI_*` variable counts as unset, for the flags that read one as for the
/// service's configuration: the cc-ci recipe passes every operator setting, chosen or not,
/// as `CCCI_X=${X:-}`, and clap would take an empty `CCCI_SUITES_DIR` as a missing value.
/// Called first, before any thread exists.
fn unset_blank_ccci_vars() {
    for (key, value) in std::env::vars_os() {
        let ours = key.to_string_lossy().starts_with("CCCI_");
        if ours && value.to_string_lossy().trim().is_empty() {
            std::env::remove_var(key);
        }
    }
}
