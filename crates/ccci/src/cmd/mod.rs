//! One module per subcommand: its flags (`Args`) and its body (`run`), which returns how
//! it ended ([`Exit`]); errors are mapped to exit codes by `main` through [`Exit::of_error`].

pub mod alerts;
pub mod config;
pub mod doctor;
pub mod janitor;
pub mod lint;
pub mod nightly;
pub mod observe;
pub mod prune;
pub mod run;
pub mod serve;
pub mod warm;

use crate::cli::Command;
use crate::exit::Exit;

/// Runs the subcommand.
pub async fn dispatch(command: Command) -> anyhow::Result<Exit> {
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
