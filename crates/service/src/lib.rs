//! cc-ci's service: `ccci serve`.
//!
//! **Architecture invariant:** [`policy`], [`nightly::due`], [`triggers::due_repos`] and [`dashboard::views`] are pure
//! (no I/O, tested with data tables); every other module is an adapter at the edge (store, forge, HTTP,
//! runner) or glue.
//!
//! # Layout
//! - [`config`]: the TOML file (`raw`), `CCCI_*` overrides (`env`), validated (`validate`)
//!   into [`config::Config`], each problem placed at its line (`position`); its `rig` is the
//!   runner's validated `Rig`, as the CLI's.
//! - [`app`]: the state every task of `ccci serve` shares.
//! - [`job`]: the job model (a queued / running / done run).
//! - [`app`]: the state every task of `ccci serve` shares.
//! - [`policy`]: which job starts next, and what a queued job waits behind.
//! - [`store`]: the queue and history in SQLite or PostgreSQL (claims, leases, dedupe).
//! - [`intake`]: comments from polling and the webhook become jobs (at most once each).
//! - [`hooks`]: keeps cc-ci's webhook registered on each watched repository.
//! - [`triggers`]: per repository, webhook or polling and why; notices a hook that stopped
//!   delivering; which repositories a poll tick polls.
//! - [`scheduler`]: the claim loop, leases with heartbeats, graceful shutdown.
//! - [`executor`]: the call into the runner, behind a trait.
//! - [`janitor`]: reaps dead runs' leftovers on this host, at start and periodically.
//! - [`retention`]: removes run directories past `[retention]`'s limits (janitor's sweep).
//! - [`nightly`]: the nightly sweep, once a day at `[nightly] at` (when [`nightly::due`]).
//! - [`reporter`]: commit status and the sticky PR comment.
//! - [`metrics`]: this host's Prometheus counters, histograms and gauges.
//! - [`dashboard`]: HTML pages, JSON API, `/metrics`, `/healthz`, artefacts.
//! - [`webhook`]: `POST /webhook/gitea`.
//! - [`doctor`]: `ccci doctor --config`'s checks that need the configuration (the forge and
//!   the token's scope, the Keycloak admin login).
//! - [`serve`](mod@serve): wires it all together.

pub mod app;
pub mod config;
pub mod dashboard;
pub mod doctor;
pub mod executor;
pub mod hooks;
pub mod intake;
pub mod janitor;
pub mod job;
pub mod metrics;
pub mod nightly;
pub mod policy;
pub mod reporter;
pub mod retention;
pub mod scheduler;
pub mod serve;
pub mod store;
pub mod triggers;
pub mod webhook;

pub use config::{check, Config, ConfigError};
pub use serve::{serve, serve_with};
