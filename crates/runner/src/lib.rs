//! cc-ci's adapters and the run lifecycle.
//!
//! # Layout
//! - [`request`]: what a caller asks for ([`request::RunRequest`], [`request::Rig`]).
//! - [`rig_settings`]: the rig's settings (flags, TOML, `CCCI_*`) validated into one
//!   [`request::Rig`], for the CLI and the service alike.
//! - [`lifecycle`]: one cold run, plan → rungs → teardown → results.
//! - [`rungs`]: rung selection and the install and upgrade rungs.
//! - [`upgrade_paths`]: `[upgrade] from`: each other upgrade path on a fresh app of its own.
//! - [`lint`]: the recipe lint (L5): a checkout read into the core's lint input, the lint
//!   rung run before any deploy, `--stages lint` alone, `ccci lint`.
//! - [`archive`]: a volume's tar archive, gzip (backups) or zstd (warm snapshots), hashed as written.
//! - [`backup`]: the backup_restore rung (backup-bot-two labels, native tar archives).
//! - [`beneath`]: files opened inside a held directory (openat2), never through a link leaving it.
//! - [`functional`]: the functional rung (generic checks, HTTP checks, test executables).
//! - [`hooks`]: suite hooks and executables, and the env they get.
//! - [`integrity`]: which suite judges a run (the CI's tree, a release, never the change).
//! - [`host_access`]: the check before every deploy: what docker would deploy (`docker stack config`), judged.
//! - [`git`]: the `git` CLI, bounded; [`git::GitError`].
//! - [`source`]: directory or git checkouts, releases and the upgrade base.
//! - [`recipe`]: a recipe directory read and validated; [`recipe::InputError`].
//! - [`app`]: the app under test: domain, env, secrets, deploys.
//! - [`engine`]: the Docker Engine adapter, the only module that speaks the Engine API.
//! - [`rig_container`]: cc-ci's own containers on the proxy network (forwarder, sandboxes).
//! - [`stack`]: `docker stack deploy/rm`, service logs (the docker CLI).
//! - [`probe`]: HTTP and TCP probes through the route users take.
//! - [`registry`]: the active-run registry the janitor relies on.
//! - [`janitor`]: reaping what dead runs left, and pruning.
//! - [`keep`]: `--keep`: a RED run's app left deployed for debugging until the janitor's turn.
//! - [`artefacts`]: writing the run directory, leak checks.
//! - [`progress`]: terminal progress, and the service's live files through [`live`] (the
//!   run directory's log and rung events as they happen).
//! - [`screenshot`]: a best-effort screenshot of the landing page (headless Chromium in a
//!   throwaway, locked-down browser container on `proxy`, never on the CI host).
//! - [`keycloak`]: the shared Keycloak of SSO dependencies: per-run realms, orphan reaping.
//! - `keycloak_standin` (feature `standin`): a Keycloak stand-in for tests.
//! - [`warm`]: data-warm canonicals (record, snapshot, undeploy keeping data) for `--quick`.
pub mod alerts;
pub mod app;
pub mod archive;
pub mod artefacts;
pub mod backup;
pub mod beneath;
pub mod canonical;
pub mod clock;
pub mod ctx;
pub mod doctor;
pub mod engine;
pub mod functional;
pub mod git;
pub mod hooks;
pub mod host_access;
pub mod integrity;
pub mod janitor;
pub mod keep;
pub mod keycloak;
#[cfg(feature = "standin")]
pub mod keycloak_standin;
pub mod lifecycle;
pub mod lint;
pub mod live;
pub mod livewarm;
pub mod nightly;
pub mod planning;
pub mod probe;
pub mod procnet;
pub mod progress;
pub mod ready;
pub mod recipe;
pub mod registry;
pub mod request;
pub mod rig_container;
pub mod rig_settings;
pub mod rungs;
pub mod sandbox;
pub mod screenshot;
pub mod source;
pub mod stack;
pub mod swap;
pub mod teardown;
pub mod upgrade_data;
pub mod upgrade_paths;
pub mod warm;
