//! cc-ci's integration tests: one binary, every test against the real Docker Engine and
//! swarm of this machine (`.ci/run` puts it in swarm mode and builds the images).
//!
//! Each test gets its own state dir, out dir and recipe copy ([`common::Rig`]), and apps get
//! random domains, so tests run in parallel without touching each other.

mod artefacts;
mod catalogue;
mod causes;
mod common;
mod dependencies;
mod deploy_check;
mod deploy_errors;
mod host_access;
mod host_reach;
mod hygiene;
mod install;
mod integrity;
mod keep;
mod kill_anywhere;
mod ladder;
mod links;
mod lint;
mod mounts;
mod nightly;
mod operators;
mod real_software;
mod recipe_of_ccci;
mod recipe_of_ccci_deployed;
mod registry;
mod sandbox;
mod service;
mod tls;
mod upgrade_paths;
mod verdicts;
mod warm;
