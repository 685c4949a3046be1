//! cc-ci installed and operated (issue 11): cc-ci's own recipe (`deploy/recipe`) proven by
//! cc-ci like any recipe — the whole cold ladder on the real swarm, its dashboard's `/healthz`
//! answering through the published route — and the systemd units of the other install path
//! (`deploy/systemd`) accepted by `systemd-analyze verify`.

use crate::common::*;
use std::path::{Path, PathBuf};
use std::process::Command;

/// A functional case of the run, by name: its status.
fn functional_case(run: &Run, name: &str) -> String {
    let functional = run.rung("functional");
    functional["tests"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == name)
        .and_then(|t| t["status"].as_str())
        .unwrap_or_else(|| panic!("no functional case {name:?}: {functional}"))
        .to_string()
}

/// `ccci:<version>`, the recipe's image, built from this very `ccci` (a glibc build for this
/// Debian bookworm host, whose glibc is older than that of the image's `ccci-runtime`, trixie).
pub(crate) fn build_image_of_the_binary_under_test() {
    let out = Command::new(repo_root().join("images/ccci/build.sh"))
        .arg(ccci_bin())
        .output()
        .expect("images/ccci/build.sh");
    assert!(
        out.status.success(),
        "building the ccci image (needs ccci-runtime: images/debian/build.sh ccci-runtime): {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `deploy/recipe` as a repository: releases 1.0.0 and 1.1.0 and a head (1.2.0) whose
/// service configuration changed, as a pull request would change it (the config's version
/// bumped in `abra.sh`), so the upgrade replaces the running service (start-first) on the
/// same state volume. The image is `ccci:0.1.0`, built from the binary under test.
#[test]
fn recipe_of_ccci_is_green_through_the_ladder_and_answers_healthz_through_the_route() {
    build_image_of_the_binary_under_test();
    let rig = Rig::new();
    let src = repo_root().join("deploy/recipe");
    let recipe = rig.git_recipe_from(&src, "ccci", &["1.0.0", "1.1.0"], "1.2.0", |head| {
        edit(
            head,
            "ccci.toml.tmpl",
            "runs_dir = ",
            "claim_interval_secs = 10\nruns_dir = ",
        );
        edit(
            head,
            "abra.sh",
            "CCCI_TOML_VERSION=v2",
            "CCCI_TOML_VERSION=v3",
        );
    });
    let suites = rig.suite_copy("ccci", "ccci");
    let run = rig.run(&recipe, Some(&suites), &[]);
    let _guard = run
        .results
        .as_ref()
        .and_then(|r| r["stack"].as_str())
        .map(|s| Guard::for_stacks(&[s]));

    assert_eq!(run.code, 0, "{}", run.explain());
    let r = run.results();
    assert_eq!(r["verdict"], "green", "{r}");
    // Every rung, the lint included: the recipe is in the catalogue's shape.
    assert_eq!(r["level"], 5, "{r}");
    assert_eq!(r["expected_level"], 5, "{r}");
    assert_eq!(r["base_version"], "1.1.0+1.1.0", "{r}");
    for rung in ["install", "upgrade", "backup_restore", "functional", "lint"] {
        assert_eq!(run.rung(rung)["status"], "pass", "{rung}: {r}");
    }
    // The dashboard, reached as users reach it: through the route the traefik labels name,
    // with the app's domain as Host.
    assert_eq!(
        functional_case(&run, "healthz says the store answers"),
        "pass"
    );
    assert_eq!(
        functional_case(&run, "the dashboard's run list is served"),
        "pass"
    );
    // It was `ccci serve` that answered, on its SQLite store in the state volume.
    let log = std::fs::read_to_string(run.out.join("logs/app.log"))
        .unwrap_or_else(|e| panic!("no app log: {e}\n{}", run.explain()));
    assert!(log.contains("sqlite"), "not ccci serve's log:\n{log}");
    // The base's service and the head's: the upgrade replaced it, and the data (markers in
    // the state volume, checked by the upgrade rung) survived.
    let starts = log.matches("ccci serve started").count();
    assert!(starts >= 2, "{starts} start(s) of ccci serve:\n{log}");
    assert_clean(&run);
}

/// The systemd units, with `ExecStart`'s binary pointed at the `ccci` under test (verify
/// checks that the command exists), must pass `systemd-analyze verify` without a word about
/// them, and every command they run must be one `ccci` knows.
#[test]
fn systemd_units_pass_systemd_analyze_verify_and_run_known_subcommands() {
    let Some(analyze) = systemd_analyze() else {
        eprintln!("systemd-analyze is not installed: the systemd units are not verified");
        return;
    };
    let units_dir = repo_root().join("deploy/systemd");
    let units = ["ccci.service", "ccci-nightly.service", "ccci-nightly.timer"];
    let rig = Rig::new();
    let copies = rig.path("units");
    std::fs::create_dir_all(&copies).unwrap();
    let bin = ccci_bin().display().to_string();
    for unit in units {
        let text = std::fs::read_to_string(units_dir.join(unit)).unwrap();
        std::fs::write(copies.join(unit), text.replace("/usr/local/bin/ccci", &bin)).unwrap();
    }
    let out = Command::new(&analyze)
        .arg("verify")
        .args(units.iter().map(|u| copies.join(u)))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    let about_ours: Vec<&str> = stderr
        .lines()
        .filter(|l| units.iter().any(|u| l.contains(u)))
        .collect();
    assert!(
        out.status.success() && about_ours.is_empty(),
        "systemd-analyze verify: {:?}\n{stderr}",
        out.status
    );

    let commands = exec_commands(&units_dir.join("ccci.service"));
    assert!(
        commands.contains(&"/usr/local/bin/ccci serve --config /etc/ccci/ccci.toml".to_string()),
        "{commands:?}"
    );
    let nightly = exec_commands(&units_dir.join("ccci-nightly.service"));
    assert_eq!(nightly, ["/usr/local/bin/ccci nightly"]);
    for command in commands.iter().chain(&nightly) {
        assert_known_subcommand(command);
    }
}

/// `systemd-analyze`, or `None` where it is missing — except under `CI=true`, where the
/// units must be verified.
fn systemd_analyze() -> Option<PathBuf> {
    let found = ["/usr/bin/systemd-analyze", "/bin/systemd-analyze"]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.exists());
    if found.is_none() && std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!(
            "systemd-analyze is missing under CI=true: install the Debian package `systemd` \
             (scripts/prepare-host does)"
        );
    }
    found
}

/// The `ExecStart=`/`ExecStartPre=` command lines of a unit.
fn exec_commands(unit: &Path) -> Vec<String> {
    std::fs::read_to_string(unit)
        .unwrap()
        .lines()
        .filter_map(|l| {
            l.strip_prefix("ExecStart=")
                .or_else(|| l.strip_prefix("ExecStartPre="))
        })
        .map(str::to_string)
        .collect()
}

/// `ccci <subcommand…> --help` succeeds for the subcommand words of `command` (the words
/// before the first flag or path), so a unit never runs a command the binary lacks.
fn assert_known_subcommand(command: &str) {
    let words: Vec<&str> = command
        .split_whitespace()
        .skip(1)
        .take_while(|w| !w.starts_with('-') && !w.starts_with('/'))
        .collect();
    let out = ccci().args(&words).arg("--help").output().unwrap();
    assert!(
        out.status.success(),
        "`ccci {}` is not a subcommand: {}",
        words.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
}
