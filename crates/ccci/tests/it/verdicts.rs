//! Verdicts that hold on recipes shaped like the catalogue's (`recipes/fixture-stack`: an
//! app and its database, start-first updates that roll back on failure), proven on the real
//! swarm in both directions: each broken case RED for the right reason, its healthy
//! look-alike GREEN.

use crate::common::*;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

const RELEASES: &[&str] = &["1.0.0", "1.1.0"];

/// A suite for fixture-stack with `settings` at the top level and the app env `env`.
fn stack_suite(rig: &Rig, name: &str, settings: &str, env: &[(&str, &str)]) -> PathBuf {
    let mut toml = format!("health_path = \"/health\"\ndeploy_timeout = \"5m\"\n{settings}\n");
    toml.push_str("[app_env]\n");
    for (k, v) in env {
        toml.push_str(&format!("{k} = \"{v}\"\n"));
    }
    toml.push_str("[backup]\nmarker_path = \"/data/ccci-marker\"\n");
    rig.suite(name, &toml)
}

fn stack_recipe(rig: &Rig, name: &str, edit_head: impl FnOnce(&Path)) -> PathBuf {
    rig.git_recipe("fixture-stack", name, RELEASES, "1.2.0", edit_head)
}

#[test]
fn an_app_waiting_for_its_slow_database_by_service_name_is_green() {
    let rig = Rig::new();
    let repo = stack_recipe(&rig, "wdbg", |_| {});
    let suites = stack_suite(&rig, "wdbg", "min_uptime = 0", &[("DB_LISTEN_AFTER", "35")]);
    let run = rig.run(&repo, Some(&suites), &["--stages", "install"]);
    assert_eq!(run.code, 0, "{}", run.explain());
    let r = run.results();
    assert_eq!(r["verdict"], "green");
    assert_eq!(run.rung("install")["status"], "pass");
    // It was the waiting case: the app exited until the database listened (≥ 35 s).
    let app_log = std::fs::read_to_string(run.out.join("logs/app.log")).unwrap();
    assert!(app_log.contains("cannot reach db:5432"), "{app_log}");
    assert!(seconds(&run, "install") >= 35.0, "{}", run.explain());
    // Reaching `db` by name works here through the recorded rig adaptation.
    let adaptation = &r["rig_adaptations"][0];
    assert_eq!(adaptation["kind"], "endpoint_mode_dnsrr", "{r}");
    assert!(adaptation["services"].to_string().contains("db"));
    assert_clean(&run);
}

#[test]
fn a_crash_looping_database_is_red_naming_the_database_within_a_minute() {
    let rig = Rig::new();
    let repo = stack_recipe(&rig, "cdbr", |_| {});
    // The app gives up on its database at once (no retry): it fails beside the database.
    let suites = stack_suite(
        &rig,
        "cdbr",
        "",
        &[("DB_CRASH_AT_START", "1"), ("APP_NEEDS_PATIENCE", "0")],
    );
    let run = rig.run(&repo, Some(&suites), &[]);
    assert_eq!(run.code, 1, "{}", run.explain());
    let f = failure(&run);
    assert_eq!(f["rung"], "install", "{f}");
    assert_eq!(f["service"], "db", "{f}");
    let m = message(&run);
    assert!(m.contains("service db is crash-looping"), "{m}");
    assert!(m.contains("app (which depends on db)"), "{m}");
    assert!(f["log_tail"].to_string().contains("CRASH_AT_START"), "{f}");
    assert!(seconds(&run, "install") < 60.0, "{}", run.explain());
    assert_clean(&run);
}

#[test]
fn an_app_that_dies_a_while_after_every_start_is_red_naming_its_uptime() {
    let rig = Rig::new();
    let repo = rig.git_recipe("fixture-web", "dies", RELEASES, "1.2.0", |dir| {
        edit(
            dir,
            "compose.yml",
            "      - EXIT_AFTER\n",
            "      - EXIT_AFTER=25\n",
        )
    });
    // The default minimum uptime (30 s) applies: the suite does not set it.
    let suites = rig.suite(
        "dies",
        "health_path = \"/health\"\ndeploy_timeout = \"2m\"\n",
    );
    let run = rig.run(&repo, Some(&suites), &[]);
    assert_eq!(run.code, 1, "{}", run.explain());
    let f = failure(&run);
    assert_eq!(f["service"], "app", "{f}");
    let m = message(&run);
    assert!(m.contains("stopped after it was up"), "{m}");
    assert!(m.contains("ran 2"), "uptime ~25 s: {m}");
    assert!(m.contains("exited with code 1"), "{m}");
    assert!(f["log_tail"].to_string().contains("EXIT_AFTER=25"), "{f}");
    assert_eq!(run.results()["verdict"], "red");
    assert_clean(&run);
}

/// Deployed services of a stack, as `docker service inspect` shows their specs.
fn service_specs(stack: &str) -> Vec<Value> {
    let names = engine_objects("service", stack);
    let out = Command::new("docker")
        .args(["service", "inspect"])
        .args(&names)
        .output()
        .unwrap();
    serde_json::from_slice(&out.stdout).unwrap_or_default()
}

#[test]
fn a_start_first_recipe_upgrades_and_restores_green_deployed_as_written() {
    let rig = Rig::new();
    let repo = stack_recipe(&rig, "strt", |_| {});
    let suites = stack_suite(&rig, "strt", "min_uptime = 5", &[]);
    let mut guard = Guard::default();
    // While the run is in its upgrade (the chaos label is set), read the deployed specs.
    let (child, stack) = spawn_run_until(&rig, &repo, &suites, &[], "strt", &mut guard, |s| {
        service_specs(s)
            .iter()
            .any(|svc| svc["Spec"]["Labels"].to_string().contains("chaos-version"))
    });
    let specs = service_specs(&stack);
    assert_eq!(specs.len(), 2, "{specs:?}");
    for svc in &specs {
        let spec = &svc["Spec"];
        let name = spec["Name"].as_str().unwrap();
        // No port, and endpoint mode dnsrr: the one recorded adaptation.
        assert!(
            svc["Endpoint"]["Ports"].is_null(),
            "{name}: {}",
            svc["Endpoint"]
        );
        assert_eq!(spec["EndpointSpec"]["Mode"], "dnsrr", "{name}");
        assert!(spec["EndpointSpec"]["Ports"].is_null(), "{name}");
        let networks: Vec<String> = spec["TaskTemplate"]["Networks"]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| n["Target"].as_str().unwrap().to_string())
            .collect();
        let want = if name.ends_with("_app") { 2 } else { 1 };
        assert_eq!(networks.len(), want, "{name}: {networks:?}");
        if name.ends_with("_app") {
            assert_eq!(spec["UpdateConfig"]["Order"], "start-first", "{name}");
            assert_eq!(spec["UpdateConfig"]["FailureAction"], "rollback", "{name}");
        } else {
            // The recipe set no update config on db: none added.
            assert_eq!(spec["UpdateConfig"]["Order"], "stop-first", "{name}");
        }
    }
    let output = child.wait_with_output().unwrap();
    let run = rig.finish(output, "out-strt");
    assert_eq!(run.code, 0, "{}", run.explain());
    let r = run.results();
    assert_eq!(r["verdict"], "green");
    assert_eq!(r["level"], 5);
    for rung in ["install", "upgrade", "backup_restore", "functional"] {
        assert_eq!(run.rung(rung)["status"], "pass", "{rung}: {r}");
    }
    assert_eq!(r["rig_adaptations"][0]["kind"], "endpoint_mode_dnsrr");
    // Within seconds of the swarm settling: not the minutes a port clash cost.
    assert!(seconds(&run, "upgrade") < 60.0, "{}", run.explain());
    assert!(seconds(&run, "backup_restore") < 60.0, "{}", run.explain());
    assert_clean(&run);
}

#[test]
fn a_crash_looping_head_that_swarm_rolls_back_is_red_at_upgrade_at_once() {
    let rig = Rig::new();
    let repo = stack_recipe(&rig, "rlbk", |dir| {
        edit(
            dir,
            "compose.yml",
            "CRASH_AT_START=${APP_CRASH_AT_START:-}",
            "CRASH_AT_START=1",
        )
    });
    let suites = stack_suite(&rig, "rlbk", "", &[]);
    let run = rig.run(&repo, Some(&suites), &[]);
    assert_eq!(run.code, 1, "{}", run.explain());
    let f = failure(&run);
    assert_eq!(f["rung"], "upgrade", "{f}");
    assert_eq!(f["service"], "app", "{f}");
    let m = message(&run);
    assert!(m.contains("rolled it back"), "{m}");
    assert!(m.contains("exited with code 1"), "{m}");
    assert!(f["log_tail"].to_string().contains("CRASH_AT_START"), "{f}");
    assert!(seconds(&run, "upgrade") < 30.0, "{}", run.explain());
    assert_clean(&run);
}

/// Adds a one-shot `migrate` service (restart policy `none`) that runs `script`.
fn add_migration(dir: &Path, script: &str) {
    edit(
        dir,
        "compose.yml",
        "\nvolumes:\n",
        &format!(
            "
  migrate:
    image: ccci-fixture:1.2.0
    entrypoint: [\"/bin/sh\", \"-c\", \"{script}\"]
    networks:
      - internal
    deploy:
      restart_policy:
        condition: none

volumes:
"
        ),
    );
}

#[test]
fn a_one_shot_migration_that_exits_0_is_green_and_one_that_exits_1_is_red_naming_it() {
    let rig = Rig::new();
    let repo = stack_recipe(&rig, "mig0", |dir| {
        add_migration(dir, "echo migrated; exit 0")
    });
    let suites = stack_suite(&rig, "mig0", "min_uptime = 0", &[]);
    let run = rig.run(
        &repo,
        Some(&suites),
        &["--stages", "install,upgrade,functional"],
    );
    assert_eq!(run.code, 0, "{}", run.explain());
    assert_eq!(run.results()["verdict"], "green");
    assert!(seconds(&run, "upgrade") < 60.0, "{}", run.explain());
    assert_clean(&run);

    let repo = stack_recipe(&rig, "mig1", |dir| {
        add_migration(dir, "echo migration failed: no such table; exit 1")
    });
    let suites = stack_suite(&rig, "mig1", "min_uptime = 0", &[]);
    let run = rig.run(
        &repo,
        Some(&suites),
        &["--stages", "install,upgrade,functional"],
    );
    assert_eq!(run.code, 1, "{}", run.explain());
    let f = failure(&run);
    assert_eq!(f["rung"], "upgrade", "{f}");
    assert_eq!(f["service"], "migrate", "{f}");
    let m = message(&run);
    assert!(m.contains("exited with code 1"), "{m}");
    assert!(m.contains("restart policy is `none`"), "{m}");
    assert!(f["log_tail"].to_string().contains("no such table"), "{f}");
    assert!(seconds(&run, "upgrade") < 60.0, "{}", run.explain());
    assert_clean(&run);
}

#[test]
fn a_head_that_renames_its_data_volume_is_red_at_upgrade_and_one_that_adds_a_volume_is_green() {
    let rig = Rig::new();
    let repo = stack_recipe(&rig, "vren", |dir| {
        edit(
            dir,
            "compose.yml",
            "      - data:/data\n",
            "      - appdata:/data\n",
        );
        edit(
            dir,
            "compose.yml",
            "\n  data:\n  db:\n",
            "\n  appdata:\n  db:\n",
        );
    });
    let suites = stack_suite(&rig, "vren", "min_uptime = 0", &[]);
    let run = rig.run(&repo, Some(&suites), &["--stages", "install,upgrade"]);
    assert_eq!(run.code, 1, "{}", run.explain());
    let f = failure(&run);
    assert_eq!(f["rung"], "upgrade", "{f}");
    let m = message(&run);
    assert!(
        m.contains("volume `data` of service app was renamed to `appdata`"),
        "{m}"
    );
    assert_clean(&run);

    let repo = stack_recipe(&rig, "vadd", |dir| {
        edit(
            dir,
            "compose.yml",
            "      - data:/data\n",
            "      - data:/data\n      - media:/media\n",
        );
        edit(
            dir,
            "compose.yml",
            "\n  data:\n  db:\n",
            "\n  data:\n  media:\n  db:\n",
        );
    });
    let suites = stack_suite(&rig, "vadd", "min_uptime = 0", &[]);
    let run = rig.run(&repo, Some(&suites), &["--stages", "install,upgrade"]);
    assert_eq!(run.code, 0, "{}", run.explain());
    let tests = run.rung("upgrade")["tests"].to_string();
    assert!(
        tests.contains("data survived the upgrade (2 volumes"),
        "{tests}"
    );
    assert_clean(&run);
}

#[test]
fn config_check_names_the_rig_adaptation_of_an_engine_without_ipvs() {
    let rig = Rig::new();
    let file = rig.path("ccci.toml");
    std::fs::write(
        &file,
        format!(
            "host_id = \"t\"\ndatabase = \"sqlite:{}\"\n[rig]\nci_domain = \"ci.local\"\nstate_dir = \"{}\"\n",
            rig.path("ccci.db").display(),
            rig.state_dir().display()
        ),
    )
    .unwrap();
    let out = ccci()
        .args(["config", "check"])
        .arg(&file)
        .env_remove("CCCI_CI_DOMAIN")
        .env_remove("CCCI_STATE_DIR")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    if Path::new("/proc/net/ip_vs").exists() {
        assert!(stdout.contains("service VIPs route"), "{stdout}");
    } else {
        // This kind of machine: no IPVS, so the adaptation is named.
        assert!(stdout.contains("no IPVS"), "{stdout}");
        assert!(stdout.contains("endpoint_mode: dnsrr"), "{stdout}");
    }
}
