//! cc-ci's run: one recipe's run, from the request through its plan and rungs to the
//! verdict and the artefacts. The middle of the runner's three rooms (`ccci-hostjobs` →
//! `ccci-runner` → `ccci-adapters`): the run uses adapters ([`ccci_adapters`]) and never a
//! host job; nothing here speaks to the engine, git or HTTP itself.
//!
//! # Layout
//! - [`request`]: what a caller asks for ([`request::RunRequest`], [`request::Rig`]).
//! - [`rig_settings`]: the rig's settings (flags, TOML, `CCCI_*`) validated into one
//!   [`request::Rig`], for the CLI and the service alike.
//! - [`lifecycle`]: one cold run, plan → rungs → teardown → results.
//! - [`planning`]: the facts `ccci_core::plan` decides from, gathered.
//! - [`ctx`]: [`ctx::RunCtx`], what every rung gets.
//! - [`deploy`]: the deploy a rung performs: checked ([`host_access`]), deployed, explained.
//! - [`rungs`]: rung selection and the install and upgrade rungs.
//! - [`upgrade_paths`]: `[upgrade] from`: each other upgrade path on a fresh app of its own.
//! - [`lint`]: the recipe lint (L5): a checkout read into the core's lint input, the lint
//!   rung run before any deploy, `--stages lint` alone, `ccci lint`.
//! - [`backup`]: the backup_restore rung (backup-bot-two labels, native tar archives).
//! - [`upgrade_data`]: markers in every base volume, checked after the upgrade.
//! - [`functional`]: the functional rung (generic checks, HTTP checks, test executables).
//! - [`hooks`]: suite hooks and executables, and the env they get.
//! - [`ready`]: the readiness loop over the core's rules (runs and the live-warm reconciler).
//! - [`integrity`]: which suite judges a run (the CI's tree, a release, never the change).
//! - [`host_access`]: the check before every deploy: what docker would deploy (`docker stack config`), judged.
//! - [`source`]: directory or git checkouts, releases and the upgrade base.
//! - [`recipe`]: a recipe directory read and validated.
//! - [`input_error`]: [`InputError`](input_error::InputError), bad input: why a run cannot start (exit 2).
//! - [`app`]: the app under test: domain, env, secrets, deploys.
//! - [`pull`]: the pre-deploy pull of the judged document's missing images (docker's, never
//!   cc-ci's own compose reading): progress on the run's log, bounded, its failure
//!   explained ([`ccci_core::pull_error`]).
//! - [`keep`]: `--keep`: a RED run's app left deployed for debugging until the janitor's turn.
//! - [`artefacts`]: writing the run directory, leak checks.
//! - [`progress`]: terminal progress, and the service's live files through [`live`] (the
//!   run directory's log and rung events as they happen).
//! - [`screenshot`]: a best-effort screenshot of the landing page (headless Chromium in a
//!   throwaway, locked-down browser container on `proxy`, never on the CI host).
//! - [`warm`]: data-warm canonicals (record, snapshot, undeploy keeping data) for `--quick`.
//! - [`canonical`]: a warm canonical's record and paths (data only).
pub mod app;
pub mod artefacts;
pub mod backup;
pub mod canonical;
pub mod ctx;
pub mod deploy;
pub mod functional;
pub mod hooks;
pub mod host_access;
pub mod input_error;
pub mod integrity;
pub mod keep;
pub mod lifecycle;
pub mod lint;
pub mod live;
pub mod planning;
pub mod progress;
pub mod pull;
pub mod ready;
pub mod recipe;
pub mod request;
pub mod rig_settings;
pub mod rungs;
pub mod screenshot;
pub mod source;
pub mod upgrade_data;
pub mod upgrade_paths;
pub mod warm;
