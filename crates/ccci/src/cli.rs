//! The command line as clap reads it. Each subcommand's flags live beside its body in
//! `cmd/`; the rig's flags are [`crate::rig_args`].

use crate::cmd;
use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "ccci",
    version,
    about = "Proves Co-op Cloud recipes on a real Docker Swarm"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand)]
pub enum Command {
    /// Run a recipe's lifecycle on the local swarm: install, upgrade, backup/restore,
    /// functional tests; tear down; write results.
    Run(cmd::run::Args),
    /// Lint a recipe (L5): abra's published lint rules and cc-ci's rules that compare the
    /// head with its base release. Prints a table (rule id, level, satisfied / failed /
    /// skipped, where it applies, what to fix), or JSON. Nothing is deployed and no engine is
    /// needed. Exit 0 when no error-level rule fails (warnings never fail), 1 when one does,
    /// 2 on bad input.
    Lint(cmd::lint::Args),
    /// Check this host (and, with --config, the service's forge and Keycloak) and say
    /// what to fix, one line each. Exit 0 only when nothing fails (warnings are fine).
    Doctor(cmd::doctor::Args),
    /// Reap what dead runs left on the engine (owner alive → untouched).
    Janitor(cmd::janitor::Args),
    /// Print what cc-ci observes of a stack (services, tasks, update state) as JSON, with its
    /// judgement: the input of the readiness rules, for debugging and recording snapshots.
    Observe(cmd::observe::Args),
    /// The service: poll the forge for `!testme`, run the queue on this host's swarm,
    /// report back, serve the dashboard. Runs until SIGINT / SIGTERM, then stops claiming
    /// and lets running runs finish (within `shutdown_grace_secs`) or tear down.
    Serve(cmd::serve::Args),
    /// The service's configuration.
    #[command(subcommand)]
    Config(cmd::config::Command),
    /// Warm canonicals (docs/behaviour.md §6): the data-warm known-good app per enrolled recipe
    /// that `ccci run --quick` reattaches.
    #[command(subcommand)]
    Warm(cmd::warm::Command),
    /// Alerts (held or rolled-back live-warm upgrades, …): list the pending and archived
    /// ones; `--relay` prints each pending alert once as a JSON line on stdout (for the
    /// operator's hook or log) and archives it.
    Alerts(cmd::alerts::Args),
    /// The nightly sweep: skipped if a run is in flight; rolls the live-warm apps, runs
    /// every enrolled recipe (`warm = true`, recipe source in `<suites>/<recipe>/source`)
    /// cold on its latest release (green re-seeds its canonical), prunes the warm data of
    /// recipes no longer enrolled, logs disk use. Exit 0 unless the sweep itself failed.
    Nightly(cmd::nightly::Args),
    /// Prune dangling images, stopped containers and old build cache when the disk is full.
    Prune(cmd::prune::Args),
}
