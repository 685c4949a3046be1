//! What people look at: everything a run shows a person, rendered from
//! [`ccci_core::results::RunResults`] and nothing else.
//!
//! # Layout
//! - [`card`]: the result card, an SVG from a pure function, and its PNG (resvg, embedded font).
//! - [`comment`]: the sticky PR comment in markdown, and its queued / running states.
//! - [`junit`]: JUnit XML, one suite per run, one case per rung and per functional test.
//! - [`summary`]: the terminal summary printed at the end of `ccci run`.
//! - [`lint`]: the recipe lint (L5) table `ccci lint` prints, and its failed rules as lines.
//! - [`artefacts`]: writes all of the above and `results.json` into a run directory,
//!   redacting every secret value first.
//! - [`fixtures`]: sample results for examples, docs and tests.
//! - [`view`]: the rung rows every renderer shows (the four ladder rungs always, then the rest).
//! - [`text`]: small helpers the renderers share: cleaning untrusted text, XML escaping,
//!   truncation, human durations, terminal colour.
//!
//! **Architecture invariant:** every renderer is a pure function of the results; only
//! [`artefacts::write_run_dir`] touches the file system.

pub mod artefacts;
pub mod card;
pub mod comment;
pub mod fixtures;
pub mod junit;
pub mod lint;
pub mod summary;
pub mod text;
pub mod view;

pub use artefacts::{redact_results, write_run_dir, Artefacts, WriteError};
