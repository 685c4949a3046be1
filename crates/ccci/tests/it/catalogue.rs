//! A recipe in the catalogue's shape that was not written around cc-ci
//! (`recipes/fixture-catalogue`: nginx in front with a golang-templated config whose name
//! carries its version from `abra.sh`, the app with start-first updates that roll back and a
//! long healthcheck start period, PostgreSQL with `pg_dump` backup hooks, versioned secrets),
//! judged on the real swarm both ways: the healthy head GREEN through the whole ladder, and a
//! head whose app never turns healthy — which swarm rolls back, so the old version serves
//! again — RED at upgrade, naming the app and why.

use crate::common::*;
use std::path::{Path, PathBuf};

const RELEASES: &[&str] = &["1.0.0", "1.1.0"];

/// A git repository of fixture-catalogue named `name` (its suite is copied under the same
/// name), the head changed by `edit_head`; returns the repository and the suites root.
fn catalogue(rig: &Rig, name: &str, edit_head: impl FnOnce(&Path)) -> (PathBuf, PathBuf) {
    let repo = rig.git_recipe("fixture-catalogue", name, RELEASES, "1.2.0", edit_head);
    let suites = rig.suite_copy("fixture-catalogue", name);
    (repo, suites)
}

/// The run ended RED at upgrade naming `service`: its failure record.
fn red_at_upgrade<'a>(run: &'a Run, service: &str) -> &'a serde_json::Value {
    assert_eq!(run.code, 1, "{}", run.explain());
    let failure = &run.results()["failure"];
    assert_eq!(failure["rung"], "upgrade", "{failure}");
    assert_eq!(failure["service"], service, "{failure}");
    failure
}

#[test]
fn catalogue_shaped_recipe_is_green_through_the_whole_ladder() {
    let rig = Rig::new();
    let (repo, suites) = catalogue(&rig, "ctlg", |_| {});
    let run = rig.run(&repo, Some(&suites), &[]);
    assert_eq!(run.code, 0, "{}", run.explain());
    let r = run.results();
    assert_eq!(r["verdict"], "green", "{r}");
    assert_eq!(r["level"], 5, "{r}");
    for rung in ["install", "upgrade", "backup_restore", "functional", "lint"] {
        assert_eq!(run.rung(rung)["status"], "pass", "{rung}: {r}");
    }
    assert_eq!(r["suite"]["source"], "ci", "{}", r["suite"]);
    // The rows went through nginx into PostgreSQL and came back from the pg_dump restore.
    let check = std::fs::read_to_string(run.out.join("sandbox/check-rows.log")).unwrap();
    assert!(check.contains("rows restored"), "{check}");
    assert_clean(&run);
}

#[test]
fn catalogue_head_never_healthy_that_swarm_rolls_back_is_red_at_upgrade_naming_the_app() {
    let rig = Rig::new();
    let (repo, suites) = catalogue(&rig, "ctrb", |dir| {
        edit(
            dir,
            "compose.yml",
            "NEVER_HEALTHY=${APP_NEVER_HEALTHY:-}",
            "NEVER_HEALTHY=1",
        )
    });
    let run = rig.run(&repo, Some(&suites), &[]);
    let failure = red_at_upgrade(&run, "app");
    let r = run.results();
    assert_eq!(r["verdict"], "red", "{r}");
    assert_eq!(r["level"], 1, "{r}");
    assert_eq!(run.rung("install")["status"], "pass", "{r}");
    assert_eq!(run.rung("upgrade")["status"], "fail", "{r}");
    let message = failure["message"].as_str().unwrap_or("");
    assert!(message.contains("service app"), "{message}");
    assert!(message.contains("swarm rolled it back"), "{message}");
    // Why: swarm stopped the head's task as unhealthy (it exits 0 on SIGTERM, which alone
    // would read as a clean exit).
    assert!(message.contains("never turned healthy"), "{message}");
    assert!(!message.contains("exited with code 0"), "{message}");
    // The log tail is in time order (docker prints each task's lines in turn): the head's
    // task (1.2.0) started after the base's (1.1.0), so its lines come last.
    let tail: Vec<&str> = failure["log_tail"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|l| l.as_str())
        .collect();
    let last = |what: &str| tail.iter().rposition(|l| l.contains(what));
    let (base, head) = (last("fixture-app 1.1.0"), last("fixture-app 1.2.0"));
    assert!(head.is_some(), "{tail:#?}");
    assert!(base < head, "{tail:#?}");
    assert_clean(&run);
}

#[test]
fn catalogue_head_whose_bumped_config_breaks_nginx_is_red_at_upgrade_naming_web_and_its_exit() {
    let rig = Rig::new();
    let (repo, suites) = catalogue(&rig, "ctcf", |dir| {
        edit(
            dir,
            "abra.sh",
            "NGINX_CONF_VERSION=v1",
            "NGINX_CONF_VERSION=v2",
        );
        edit(
            dir,
            "nginx.conf.tmpl",
            "listen 80 default_server;",
            "listen 80 default_server no_such_parameter;",
        );
    });
    let run = rig.run(&repo, Some(&suites), &["--stages", "install,upgrade"]);
    let failure = red_at_upgrade(&run, "web");
    let message = failure["message"].as_str().unwrap_or("");
    assert!(message.contains("swarm rolled it back"), "{message}");
    // nginx refused its config and exited: a crash, not a healthcheck that never passed
    // (the engine marks any stopped container with a healthcheck `unhealthy`).
    assert!(message.contains("exited with code 1"), "{message}");
    assert!(!message.contains("healthy"), "{message}");
    let tail = failure["log_tail"].to_string();
    assert!(tail.contains("no_such_parameter"), "{tail}");
    assert_clean(&run);
}

#[test]
fn catalogue_head_never_healthy_whose_update_swarm_pauses_is_red_at_upgrade_without_waiting_out_the_timeout(
) {
    let rig = Rig::new();
    let (repo, suites) = catalogue(&rig, "ctps", |dir| {
        edit(
            dir,
            "compose.yml",
            "NEVER_HEALTHY=${APP_NEVER_HEALTHY:-}",
            "NEVER_HEALTHY=1",
        );
        // The app's update_config (the one with a monitor): swarm's default, pause.
        edit(
            dir,
            "compose.yml",
            "failure_action: rollback\n        monitor: 15s",
            "failure_action: pause\n        monitor: 15s",
        );
    });
    let run = rig.run(&repo, Some(&suites), &["--stages", "install,upgrade"]);
    let failure = red_at_upgrade(&run, "app");
    let message = failure["message"].as_str().unwrap_or("");
    assert!(message.contains("swarm paused it"), "{message}");
    assert!(message.contains("never turned healthy"), "{message}");
    // The suite's DEPLOY_TIMEOUT is 5 min; swarm gave up after the 45 s start period.
    let upgrade_secs = run.rung("upgrade")["duration_ms"].as_f64().unwrap() / 1000.0;
    assert!(upgrade_secs < 150.0, "{}", run.explain());
    assert_clean(&run);
}

#[test]
fn catalogue_head_never_healthy_under_pause_and_restart_policy_any_is_red_at_upgrade_on_time() {
    let rig = Rig::new();
    let (repo, suites) = catalogue(&rig, "ctpa", |dir| {
        edit(
            dir,
            "compose.yml",
            "NEVER_HEALTHY=${APP_NEVER_HEALTHY:-}",
            "NEVER_HEALTHY=1",
        );
        edit(
            dir,
            "compose.yml",
            "failure_action: rollback\n        monitor: 15s",
            "failure_action: pause\n        monitor: 15s",
        );
        // `any`: swarm restarts the task it stopped as unhealthy, so a new one is always on
        // its way while the update stays paused.
        edit(
            dir,
            "compose.yml",
            "condition: on-failure\n        delay: 5s",
            "condition: any\n        delay: 5s",
        );
    });
    let run = rig.run(&repo, Some(&suites), &["--stages", "install,upgrade"]);
    let failure = red_at_upgrade(&run, "app");
    let message = failure["message"].as_str().unwrap_or("");
    assert!(message.contains("swarm paused it"), "{message}");
    assert!(message.contains("never turned healthy"), "{message}");
    // One failed start (45 s start period, then the failing checks), not three of them nor
    // the 5 min DEPLOY_TIMEOUT.
    let upgrade_secs = run.rung("upgrade")["duration_ms"].as_f64().unwrap() / 1000.0;
    assert!(upgrade_secs < 120.0, "{}", run.explain());
    assert_clean(&run);
}
