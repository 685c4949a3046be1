//! `ccci`: parse the flags, validate them into settings, run the subcommand, map how it
//! ended to the documented exit code ([`exit::Exit`]).
//!
//! # Layout
//! - [`cli`]: the flags as clap reads them; the rig's flags validated into a `Rig`.
//! - [`cmd`]: one module per subcommand (its flags and its body).
//! - [`exit`]: every outcome and its exit code, in one place.
//! - [`signals`]: Ctrl-C / SIGTERM cancel a run, which then tears down.

mod cli;
mod cmd;
mod exit;
mod signals;

use clap::Parser;
use exit::Exit;
use std::process::ExitCode;

fn main() -> ExitCode {
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
    match runtime.block_on(cmd::dispatch(cli.command)) {
        Ok(exit) => exit.into(),
        Err(e) => {
            eprintln!("ccci: error: {e:#}");
            Exit::of_error(&e).into()
        }
    }
}
