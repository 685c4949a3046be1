//! Verdicts, third round, on the real swarm in both directions: a crash loop is found at the
//! rung where it starts (a worker that exits at every start beside a healthy web is RED at
//! install; a worker waiting for its database is GREEN), its cause is named on the evidence
//! without `depends_on` (whose logs name whom), a route that answers 5xx while swarm says
//! healthy is RED within `serving_timeout`, and an update swarm paused is RED on time.

use crate::common::*;
use std::path::Path;

/// Adds a service `worker` (no healthcheck, restarted by swarm) with `env` to a recipe copy,
/// before its top-level `marker` line.
fn add_worker(dir: &Path, marker: &str, env: &[&str]) {
    let env: String = env.iter().map(|e| format!("      - {e}\n")).collect();
    edit(
        dir,
        "compose.yml",
        &format!("\n{marker}\n"),
        &format!(
            "
  worker:
    image: ccci-fixture:1.2.0
    networks:
      - internal
    environment:
      - APP_VERSION=worker
{env}    deploy:
      restart_policy:
        condition: any
        delay: 2s

{marker}
"
        ),
    );
}

#[test]
fn a_worker_that_exits_at_every_start_beside_a_healthy_web_is_red_at_install_naming_it() {
    let rig = Rig::new();
    let recipe = rig.recipe_copy("fixture-web", "wkcl");
    add_worker(&recipe, "secrets:", &["CRASH_AT_START=1"]);
    let suites = rig.suite(
        "wkcl",
        "health_path = \"/health\"\ndeploy_timeout = \"5m\"\nmin_uptime = 0\n",
    );
    let run = rig.run(&recipe, Some(&suites), &["--stages", "install"]);
    assert_eq!(run.code, 1, "{}", run.explain());
    let f = failure(&run);
    assert_eq!(f["rung"], "install", "{f}");
    assert_eq!(f["service"], "worker", "{f}");
    let m = message(&run);
    assert!(m.contains("service worker is crash-looping"), "{m}");
    assert!(m.contains("last exit code 1"), "{m}");
    let tail = f["log_tail"].to_string();
    assert!(
        tail.contains("fixture-app worker: fatal: CRASH_AT_START"),
        "{tail}"
    );
    assert!(
        !tail.contains("not found"),
        "a docker error, not the worker's lines: {tail}"
    );
    // The previous release found it in about 20 s; it must not wait for a later rung.
    assert!(seconds(&run, "install") < 60.0, "{}", run.explain());
    assert_clean(&run);
}

#[test]
fn a_worker_without_healthcheck_that_exits_until_its_database_answers_is_green() {
    let rig = Rig::new();
    let recipe = rig.recipe_copy("fixture-stack", "wkdb");
    // No depends_on: the worker exits at once until db listens (after 25 s), then runs.
    add_worker(&recipe, "volumes:", &["NEEDS=db:5432", "NEEDS_PATIENCE=0"]);
    let suites = rig.suite(
        "wkdb",
        "health_path = \"/health\"\ndeploy_timeout = \"5m\"\nmin_uptime = 0\n\
         [app_env]\nDB_LISTEN_AFTER = \"25\"\n",
    );
    let run = rig.run(&recipe, Some(&suites), &["--stages", "install"]);
    assert_eq!(run.code, 0, "{}", run.explain());
    assert_eq!(run.results()["verdict"], "green");
    let log = std::fs::read_to_string(run.out.join("logs/worker.log")).unwrap();
    assert!(
        log.contains("cannot reach db:5432"),
        "it was the waiting case: {log}"
    );
    assert_clean(&run);
}

#[test]
fn a_crash_looping_database_without_depends_on_is_named_as_the_cause_every_time() {
    let rig = Rig::new();
    let recipe = rig.recipe_copy("fixture-stack", "cdnd");
    edit(&recipe, "compose.yml", "    depends_on:\n      - db\n", "");
    let suites = rig.suite(
        "cdnd",
        "health_path = \"/health\"\ndeploy_timeout = \"5m\"\n\
         [app_env]\nDB_CRASH_AT_START = \"1\"\nAPP_NEEDS_PATIENCE = \"0\"\n",
    );
    for out in ["out-1", "out-2"] {
        let run = rig.run_into(&recipe, Some(&suites), &["--stages", "install"], out);
        assert_eq!(run.code, 1, "{}", run.explain());
        let f = failure(&run);
        assert_eq!(f["rung"], "install", "{out}: {f}");
        assert_eq!(f["service"], "db", "{out}: {f}");
        let m = message(&run);
        assert!(m.contains("service db is crash-looping"), "{out}: {m}");
        assert!(
            m.contains("failing too: app (its log names db"),
            "{out}: {m}"
        );
        // Each failing service's own lines: the database's last words, then the app's.
        let tail = f["log_tail"].to_string();
        assert!(tail.contains("CRASH_AT_START"), "{out}: {tail}");
        assert!(tail.contains("cannot reach db:5432"), "{out}: {tail}");
        assert!(!tail.contains("Error grabbing logs"), "{out}: {tail}");
        assert!(seconds(&run, "install") < 60.0, "{}", run.explain());
        assert_clean(&run);
    }
}

#[test]
fn a_landing_page_that_answers_500_while_swarm_says_healthy_is_red_within_serving_timeout() {
    let rig = Rig::new();
    let recipe = rig.recipe_copy("fixture-web", "l500");
    edit(
        &recipe,
        "compose.yml",
        "      - DATA_DIR=/data\n",
        "      - DATA_DIR=/data\n      - LANDING_FAILS=1\n",
    );
    let suites = rig.suite(
        "l500",
        "health_path = \"/\"\ndeploy_timeout = \"5m\"\nserving_timeout = \"20s\"\n",
    );
    let run = rig.run(&recipe, Some(&suites), &["--stages", "install"]);
    assert_eq!(run.code, 1, "{}", run.explain());
    let f = failure(&run);
    assert_eq!(f["rung"], "install", "{f}");
    assert_eq!(f["service"], "app", "{f}");
    let m = message(&run);
    for want in [
        "GET / answered 500",
        "serving_timeout 20 s",
        "the landing page failed: template error",
    ] {
        assert!(m.contains(want), "{want}: {m}");
    }
    assert!(!m.contains("<html"), "a short excerpt, not the page: {m}");
    // Not DEPLOY_TIMEOUT (5 min): the 20 s bound and the app's start.
    assert!(seconds(&run, "install") < 60.0, "{}", run.explain());
    assert_clean(&run);

    // The healthy look-alike: the same recipe whose landing page answers.
    let recipe = rig.recipe_copy("fixture-web", "l200");
    let suites = rig.suite(
        "l200",
        "health_path = \"/\"\ndeploy_timeout = \"5m\"\nserving_timeout = \"20s\"\nmin_uptime = 0\n",
    );
    let run = rig.run(&recipe, Some(&suites), &["--stages", "install"]);
    assert_eq!(run.code, 0, "{}", run.explain());
    assert_clean(&run);
}
