//! Suite code never runs on the CI host: hooks and tests run in a throwaway sandbox
//! container on the `proxy` network (no Docker socket, no host mounts but the suite, a
//! non-root user, limits), and reach the app by its domain as users do.

use crate::common::*;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

fn write_exec(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

#[test]
fn a_test_the_head_adds_runs_sandboxed_and_cannot_touch_the_host() {
    let rig = Rig::new();
    let marker = format!("/tmp/ccci-escape-{}", std::process::id());
    let _ = std::fs::remove_file(&marker);
    let script = format!(
        r#"#!/bin/sh
echo "escape attempt as uid $(id -u)"
echo owned > {marker} && echo "wrote {marker}"
if [ -e /var/run/docker.sock ]; then echo "docker socket present"; else echo "no docker socket"; fi
# The app, by its domain, the way users reach it.
curl -fsS --max-time 10 "$CCCI_BASE_URL/version" && echo "reached $CCCI_BASE_URL"
"#
    );
    let repo = rig.git_recipe("fixture-web", "sbxe", &["1.0.0", "1.1.0"], "1.2.0", |dir| {
        write_exec(&dir.join(".ccci/tests/escape"), &script)
    });
    let suites = rig.suite_copy("fixture-web", "sbxe");
    let run = rig.run(&repo, Some(&suites), &["--stages", "install,functional"]);
    assert_eq!(run.code, 0, "{}", run.explain());
    assert!(
        !Path::new(&marker).exists(),
        "the head's test wrote {marker} on the CI host"
    );
    let log = std::fs::read_to_string(run.out.join("sandbox/escape.log")).unwrap();
    assert!(log.contains("escape attempt as uid 10001"), "{log}");
    assert!(
        log.contains(&format!("wrote {marker}")),
        "it ran, inside: {log}"
    );
    assert!(log.contains("no docker socket"), "{log}");
    assert!(log.contains("reached http://sbxe-"), "{log}");
    assert!(leftovers(&run.stack()).is_empty());
}

#[test]
fn a_test_that_overruns_its_time_or_memory_fails_with_a_reason_and_never_hangs() {
    let rig = Rig::new();
    let recipe = rig.recipe_copy("fixture-web", "sbxo");
    let suites = rig.suite(
        "sbxo",
        "health_path = \"/health\"\ndeploy_timeout = \"20s\"\nmin_uptime = 0\n",
    );
    let tests = suites.join("sbxo/tests");
    write_exec(&tests.join("spin"), "#!/bin/sh\nwhile :; do :; done\n");
    write_exec(
        &tests.join("hog"),
        "#!/usr/bin/env python3\nblocks = []\nwhile True:\n    blocks.append(bytearray(64 * 1024 * 1024))\n",
    );
    let started = std::time::Instant::now();
    let run = rig.run(&recipe, Some(&suites), &["--stages", "install,functional"]);
    assert_eq!(run.code, 1, "{}", run.explain());
    let functional = run.rung("functional");
    assert_eq!(functional["status"], "fail", "{functional}");
    let tests = functional["tests"].to_string();
    assert!(tests.contains("did not finish within 20 s"), "{tests}");
    assert!(tests.contains("out of memory"), "{tests}");
    assert!(started.elapsed().as_secs() < 120, "{}", run.explain());
    assert!(leftovers(&run.stack()).is_empty());
}

/// Both directions of "whose failure is it". cc-ci's own sandbox cannot be made (here the
/// CI's suites dir has a `:` in its path, which `docker create --volume` cannot express):
/// the run is a cc-ci error — exit 3, `results.json` verdict `error` with the reason — not
/// RED. The same suite's test failing on its own is the recipe's: RED, exit 1.
#[test]
fn a_sandbox_cc_ci_cannot_make_is_a_cc_ci_error_but_a_failing_test_stays_red() {
    let rig = Rig::new();
    let recipe = rig.recipe_copy("fixture-static", "sbxr");
    let toml = "health_path = \"/health\"\ndeploy_timeout = \"2m\"\nmin_uptime = 0\n";
    let root = rig.path("suites:ccci");
    std::fs::create_dir_all(root.join("sbxr")).unwrap();
    std::fs::write(root.join("sbxr/suite.toml"), toml).unwrap();
    write_exec(&root.join("sbxr/tests/ok"), "#!/bin/sh\nexit 0\n");
    let stages = ["--stages", "install,functional"];
    let run = rig.run_into(&recipe, Some(&root), &stages, "out-ccci");
    assert_eq!(run.code, 3, "{}", run.explain());
    assert_eq!(run.results()["verdict"], "error", "{}", run.explain());
    let why = run.results()["failure"]["message"].to_string();
    assert!(why.contains("cc-ci's test sandbox failed"), "{why}");
    assert!(leftovers(&run.stack()).is_empty());

    let suites = rig.suite("sbxr", toml);
    write_exec(
        &suites.join("sbxr/tests/ok"),
        "#!/bin/sh\necho broken\nexit 1\n",
    );
    let run = rig.run(&recipe, Some(&suites), &stages);
    assert_eq!(run.code, 1, "{}", run.explain());
    assert_eq!(run.results()["verdict"], "red", "{}", run.explain());
    assert!(leftovers(&run.stack()).is_empty());
}
