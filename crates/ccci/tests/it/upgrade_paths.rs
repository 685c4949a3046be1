//! Upgrade paths (issue 23), on the real swarm: operators skip releases. A suite's
//! `[upgrade] from = ["previous", "previous-minor"]` proves the upgrade from the release the
//! head came from *and* from the newest release of the minor line before it, each on a
//! fresh app installed as an operator has it; the upgrade rung passes only if every path does.
//!
//! The recipe (fixture-web, three releases): 1.0.0 keeps its records in `/data/v1`; 1.1.0
//! moved them to `/data/v2` with a migration at start; the head 1.2.0 reads `/data/v2` and —
//! broken — no longer carries the migration, so an app still on 1.0.0 loses its records when
//! it upgrades straight to the head, while one on 1.1.0 is fine.

use crate::common::*;
use serde_json::Value;
use std::path::{Path, PathBuf};

/// `DATA_DIR` and the start command of a release: its data dir made, and, with `migrates`,
/// 1.0.0's records moved over first.
fn layout(dir: &Path, data_dir: &str, migrates: bool) {
    let migration = if migrates {
        "if [ -d /data/v1 ]; then cp -a /data/v1/. /data/v2/ && rm -rf /data/v1; fi; "
    } else {
        ""
    };
    let text = std::fs::read_to_string(dir.join("compose.yml")).unwrap();
    let mut out = String::new();
    for line in text.lines() {
        if line.trim_start().starts_with("- DATA_DIR=") {
            out.push_str(&format!("      - DATA_DIR={data_dir}\n"));
        } else if line.trim_start().starts_with("entrypoint:") {
            continue;
        } else {
            out.push_str(line);
            out.push('\n');
            if line.trim_start().starts_with("image: ccci-fixture:") {
                out.push_str(&format!(
                    "    entrypoint: [\"/bin/sh\", \"-c\", \"mkdir -p {data_dir}; {migration}exec /usr/local/bin/fixture-app serve\"]\n"
                ));
            }
        }
    }
    std::fs::write(dir.join("compose.yml"), out).unwrap();
}

/// Releases 1.0.0 (`/data/v1`) and 1.1.0 (migrates to `/data/v2`), then the head 1.2.0 on
/// `/data/v2`, with or without the migration.
fn three_releases(rig: &Rig, name: &str, head_migrates: bool) -> PathBuf {
    let dir = rig.recipe_copy("fixture-web", name);
    git(&dir, &["init", "--quiet", "--initial-branch=main"]);
    for (v, data_dir, migrates) in [("1.0.0", "/data/v1", false), ("1.1.0", "/data/v2", true)] {
        set_version(&dir, v);
        layout(&dir, data_dir, migrates);
        commit_all(&dir, &format!("release {v}"));
        git(&dir, &["tag", "-a", &format!("{v}+{v}"), "-m", "release"]);
    }
    set_version(&dir, "1.2.0");
    layout(&dir, "/data/v2", head_migrates);
    commit_all(&dir, "head: the PR under test");
    dir
}

/// A record through the app (the fixture's `/data/<name>`) is the data checked.
const SUITE: &str = "health_path = \"/health\"\ndeploy_timeout = \"10m\"\n[backup]\nmarker_path = \"/data/ccci-marker\"\n[upgrade]\nfrom = [\"previous\", \"previous-minor\"]\n";

const INSTALL_UPGRADE: &[&str] = &["--stages", "install,upgrade"];

fn paths(run: &Run) -> Vec<Value> {
    run.results()["upgrade_paths"]
        .as_array()
        .unwrap_or_else(|| panic!("no upgrade_paths\n{}", run.explain()))
        .clone()
}

/// Every path's app was torn down and unregistered: the registry holds nothing.
fn assert_paths_gone(rig: &Rig) {
    let active = rig.state_dir().join("active");
    let left: Vec<_> = std::fs::read_dir(&active)
        .map(|d| d.flatten().map(|e| e.file_name()).collect())
        .unwrap_or_default();
    assert!(left.is_empty(), "registered apps left: {left:?}");
}

#[test]
fn a_head_that_breaks_the_upgrade_from_two_releases_back_is_red_on_that_path_alone() {
    let rig = Rig::new();
    let recipe = three_releases(&rig, "upfromred", false);
    let suites = rig.suite("upfromred", SUITE);
    let run = rig.run(&recipe, Some(&suites), INSTALL_UPGRADE);
    assert_eq!(run.code, 1, "{}", run.explain());
    assert_eq!(run.results()["base_version"], "1.1.0+1.1.0");
    assert_eq!(run.rung("upgrade")["status"], "fail", "{}", run.explain());
    let paths = paths(&run);
    assert_eq!(paths.len(), 2, "{paths:?}");
    // GREEN from the previous release (the ladder's own upgrade)…
    assert_eq!(paths[0]["from"], "1.1.0+1.1.0");
    assert_eq!(paths[0]["asked"], "previous");
    assert_eq!(paths[0]["status"], "pass", "{paths:?}");
    // …RED from two releases back: the path, the evidence, the fix.
    assert_eq!(paths[1]["from"], "1.0.0+1.0.0");
    assert_eq!(paths[1]["asked"], "previous-minor");
    assert_eq!(paths[1]["status"], "fail");
    let reason = paths[1]["reason"].as_str().unwrap();
    for words in [
        "upgrade from 1.0.0+1.0.0",
        "the record written through the app before the upgrade is gone: GET /data/ccci-marker answered 404",
        "Fix: make the head upgrade from 1.0.0+1.0.0 too",
        "upgrade through 1.1.0+1.1.0 first",
    ] {
        assert!(reason.contains(words), "{words:?} not in {reason}");
    }
    let msg = message(&run);
    assert!(msg.contains("upgrade from 1.0.0+1.0.0"), "{msg}");
    assert_eq!(failure(&run)["rung"], "upgrade");
    assert_eq!(run.results()["level"], 1);
    // Costs: two deploys per path, each with its own time.
    assert_eq!(run.results()["deploy_count"], 4, "{}", run.explain());
    for p in &paths {
        assert_eq!(p["deploy_count"], 2, "{p}");
        assert!(p["duration_ms"].as_u64().unwrap() > 0, "{p}");
    }
    // The `upgrade_paths` phase is the other paths' time, not the run's.
    let phase = run.results()["timings_ms"]["upgrade_paths"]
        .as_i64()
        .unwrap();
    let other = paths[1]["duration_ms"].as_i64().unwrap();
    assert!((phase - other).abs() < 1000, "{phase} vs {other}");
    // The card and the summary name each path.
    let card = std::fs::read_to_string(run.out.join("card.svg")).unwrap();
    assert!(card.contains("upgrade from 1.0.0+1.0.0"), "card");
    assert!(
        run.stdout.contains("upgrade from 1.0.0+1.0.0")
            || run.stderr.contains("upgrade from 1.0.0+1.0.0"),
        "{}",
        run.explain()
    );
    assert_clean(&run);
    assert_paths_gone(&rig);
}

#[test]
fn a_head_that_upgrades_from_every_path_is_green_with_both_paths_shown() {
    let rig = Rig::new();
    let recipe = three_releases(&rig, "upfromok", true);
    let suites = rig.suite("upfromok", SUITE);
    let run = rig.run(&recipe, Some(&suites), INSTALL_UPGRADE);
    assert_eq!(run.code, 0, "{}", run.explain());
    assert_eq!(run.rung("upgrade")["status"], "pass");
    let paths = paths(&run);
    let shown: Vec<(&str, &str, &str)> = paths
        .iter()
        .map(|p| {
            (
                p["from"].as_str().unwrap(),
                p["asked"].as_str().unwrap(),
                p["status"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        shown,
        [
            ("1.1.0+1.1.0", "previous", "pass"),
            ("1.0.0+1.0.0", "previous-minor", "pass")
        ]
    );
    assert_eq!(run.results()["deploy_count"], 4);
    let card = std::fs::read_to_string(run.out.join("card.svg")).unwrap();
    assert!(card.contains("upgrade from 1.1.0+1.1.0"), "card");
    assert!(card.contains("upgrade from 1.0.0+1.0.0"), "card");
    assert_clean(&run);
    assert_paths_gone(&rig);
}

/// A path naming no release is bad input before anything is deployed: the file, the field,
/// the fix.
#[test]
fn an_upgrade_path_naming_no_release_is_refused_naming_the_file_field_and_fix() {
    let rig = Rig::new();
    let recipe = three_releases(&rig, "upfrombad", true);
    let suites = rig.suite(
        "upfrombad",
        "[upgrade]\nfrom = [\"previous\", \"0.9.0+0.9.0\"]\n",
    );
    let run = rig.run(&recipe, Some(&suites), INSTALL_UPGRADE);
    assert_eq!(run.code, 2, "{}", run.explain());
    for words in [
        "upfrombad/suite.toml",
        "upgrade.from: \"0.9.0+0.9.0\" is not a release of this recipe (releases: 1.0.0+1.0.0, 1.1.0+1.1.0)",
        "name an annotated release tag",
    ] {
        assert!(run.stderr.contains(words), "{words:?}\n{}", run.explain());
    }
}

/// A run stopped (its deadline) while a path's app is up: that app is torn down and
/// unregistered all the same, the path is recorded as not reached, the run RED.
#[test]
fn a_run_stopped_during_a_path_tears_the_paths_app_down() {
    let rig = Rig::new();
    let recipe = three_releases(&rig, "stopupath", false);
    let suites = rig.suite("stopupath", SUITE);
    let run = rig.run(
        &recipe,
        Some(&suites),
        &["--stages", "install,upgrade", "--deadline-secs", "12"],
    );
    assert_eq!(run.code, 1, "{}", run.explain());
    assert_eq!(run.results()["verdict"], "red");
    let paths = paths(&run);
    assert_eq!(paths[1]["from"], "1.0.0+1.0.0");
    assert_eq!(paths[1]["status"], "skip", "{paths:?}");
    assert_eq!(paths[1]["reason"], "not reached: run stopped");
    let torn: Vec<&str> = run
        .stderr
        .lines()
        .filter_map(|l| l.trim().strip_prefix("tearing down "))
        .collect();
    assert!(
        torn.len() >= 2,
        "the path's app and the run's: {}",
        run.explain()
    );
    for stack in torn {
        let left = leftovers(stack);
        assert!(left.is_empty(), "{stack} left {left:?}");
    }
    assert_clean(&run);
    assert_paths_gone(&rig);
}
