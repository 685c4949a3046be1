//! cc-ci's host jobs that are not runs: what keeps a CI host healthy between and around
//! runs. The top of the runner's three rooms (`ccci-hostjobs` → `ccci-runner` →
//! `ccci-adapters`): a host job may start runs and use adapters; nothing below uses it.
//!
//! # Layout
//! - [`janitor`]: reaping what dead runs left (stacks, realms, registry entries), `--release`.
//! - [`nightly`]: the nightly sweep: in-flight check, reconcile, enrolled seeds, disk.
//! - [`livewarm`]: the live-warm reconciler (install / up to date / apply / hold, rollback).
//! - [`doctor`]: `ccci doctor`'s host checks, one line each.
//! - [`image_registries`]: `ccci doctor`'s check that the registries the recipes' images
//!   name answer.
pub mod doctor;
pub mod image_registries;
pub mod janitor;
pub mod livewarm;
pub mod nightly;
