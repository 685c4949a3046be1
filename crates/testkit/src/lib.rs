//! What cc-ci's integration tests need from this machine, checked one way in every test
//! binary: outside CI a missing piece skips the test with a printed reason; under
//! `CI=true` it fails the test, saying what to run.
//!
//! # Layout
//! One file, no modules: [`swarm_ready`] and the helpers it uses.

use std::process::Command;

/// The fixture image every swarm test deploys.
pub const FIXTURE_IMAGE: &str = "ccci-fixture:1.2.0";

/// Whether this machine's Docker Engine is an active swarm manager with the fixture image
/// built; `false` (the test skips, with a printed reason) outside CI. Under `CI=true` a
/// missing one panics with the fix: `scripts/prepare-host`.
pub fn swarm_ready() -> bool {
    let swarm = docker(&["info", "--format", "{{.Swarm.LocalNodeState}}"])
        .is_some_and(|out| out.trim() == "active");
    let image = docker(&["image", "inspect", FIXTURE_IMAGE]).is_some();
    swarm && image
        || missing(&format!(
            "a swarm (active: {swarm}) and the {FIXTURE_IMAGE} image (present: {image})"
        ))
}

/// A piece of the machine is missing: under `CI=true` that fails the test; elsewhere the
/// test is skipped, saying why. Returns `false` (not ready).
fn missing(what: &str) -> bool {
    let fix = "run scripts/prepare-host (swarm mode, the proxy network, the images)";
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!("CI=true but this test needs {what}: {fix}");
    }
    eprintln!("skipping: this test needs {what}; {fix}");
    false
}

/// `docker ARGS`' standard output when it succeeded.
fn docker(args: &[&str]) -> Option<String> {
    let out = Command::new("docker").args(args).output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}
