//! `docker stack deploy` failures the recipe author caused, on the real swarm: the RED
//! message names the compose key, the file and the fix, not only docker's engine names.

use crate::common::*;
use std::path::{Path, PathBuf};

/// A fixture-web repository whose `app` mounts the config `app_conf` (named with
/// `FIXTURE_CONF_VERSION` from `abra.sh`) from `app.conf`: releases 1.0.0 and 1.1.0 with
/// the content `conf A`, then a head at 1.2.0 with `conf B` and, when `bump`, the version
/// bumped to v2.
fn config_recipe(rig: &Rig, name: &str, bump: bool) -> PathBuf {
    config_repo(rig, name, |dir| {
        let abra = std::fs::read_to_string(dir.join("abra.sh")).unwrap();
        assert!(abra.contains("export FIXTURE_CONF_VERSION=v1\n"), "{abra}");
        std::fs::write(dir.join("app.conf"), "conf B\n").unwrap();
        if bump {
            edit(
                dir,
                "abra.sh",
                "export FIXTURE_CONF_VERSION=v1",
                "export FIXTURE_CONF_VERSION=v2",
            );
        }
    })
}

/// Removes the run's stack if a failed assertion left it (the assertions check it is gone).
struct StackGuard(Option<String>);

impl Drop for StackGuard {
    fn drop(&mut self) {
        if let Some(stack) = &self.0 {
            if !leftovers(stack).is_empty() {
                remove_stack(stack);
            }
        }
    }
}

fn assert_clean(stack: &str) {
    let left = leftovers(stack);
    assert!(left.is_empty(), "left on the engine: {left:?}");
}

/// Runs install and the upgrade, the rung both tests judge (the ones above it would only
/// add deploys).
fn run_config_recipe(rig: &Rig, recipe: &Path, suites: &Path) -> (Run, StackGuard) {
    let run = rig.run(recipe, Some(suites), &["--stages", "install,upgrade"]);
    let guard = StackGuard(
        run.results
            .as_ref()
            .and_then(|r| r["stack"].as_str())
            .map(str::to_string),
    );
    (run, guard)
}

#[test]
fn a_config_edited_without_a_version_bump_is_red_at_upgrade_naming_the_config_and_variable() {
    let rig = Rig::new();
    let recipe = config_recipe(&rig, "cfnb-red", false);
    let suites = rig.quick_suite("cfnb-red");

    let (run, _guard) = run_config_recipe(&rig, &recipe, &suites);
    assert_eq!(run.code, 1, "{}", run.explain());
    let r = run.results();
    assert_eq!(r["verdict"], "red", "{r}");
    assert_eq!(run.rung("install")["status"], "pass", "{r}");
    assert_eq!(run.rung("upgrade")["status"], "fail", "{r}");
    let failure = &r["failure"];
    assert_eq!(failure["rung"], "upgrade", "{failure}");
    let message = failure["message"].as_str().unwrap_or("");
    for word in [
        "config `app_conf`",
        "compose.yml",
        "`app.conf`",
        "FIXTURE_CONF_VERSION",
        "abra.sh line 3",
        "now `v1`",
        "(docker: failed to update config",
        "only updates to Labels are allowed",
    ] {
        assert!(message.contains(word), "{word:?} not in: {message}");
    }
    assert_clean(&run.stack());
}

#[test]
fn a_config_edited_with_its_version_bumped_upgrades_green() {
    let rig = Rig::new();
    let recipe = config_recipe(&rig, "cfbm-green", true);
    let suites = rig.quick_suite("cfbm-green");

    let (run, _guard) = run_config_recipe(&rig, &recipe, &suites);
    assert_eq!(run.code, 0, "{}", run.explain());
    let r = run.results();
    assert_eq!(r["verdict"], "green", "{r}");
    assert_eq!(run.rung("upgrade")["status"], "pass", "{r}");
    assert!(r.get("failure").is_none_or(|f| f.is_null()), "{r}");
    assert_clean(&run.stack());
}
