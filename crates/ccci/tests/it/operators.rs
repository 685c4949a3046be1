//! The upgrade as operators live it (issue 20), on the real swarm: the base release is
//! installed from its own files (`.env.sample`, `COMPOSE_FILE`, secrets) and upgraded the
//! way `abra app upgrade` does (the app's `.env` kept, the head's new variables and secrets
//! added); the base is the release the head came from; "version moved" is what the running
//! tasks run.

use crate::common::*;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// fixture-web as a repository: `base_edit` applied to every release (1.0.0, 1.1.0), then a
/// head at 1.2.0 that `head_edit` changes.
fn repo(
    rig: &Rig,
    name: &str,
    base_edit: impl FnOnce(&Path),
    head_edit: impl FnOnce(&Path),
) -> PathBuf {
    let dir = rig.recipe_copy("fixture-web", name);
    base_edit(&dir);
    commit_releases(&dir, &["1.0.0", "1.1.0"], "1.2.0", head_edit);
    dir
}

const INSTALL_UPGRADE: &[&str] = &["--stages", "install,upgrade"];

#[test]
fn a_head_with_a_new_compose_file_and_other_secrets_upgrades_an_app_installed_from_its_base() {
    let rig = Rig::new();
    let recipe = repo(
        &rig,
        "opsfiles",
        |_| {},
        |dir| {
            // COMPOSE_FILE names a file only the head has: the base (installed with its own
            // COMPOSE_FILE) must not be asked for it.
            std::fs::write(
                dir.join("compose.extra.yml"),
                "version: \"3.8\"\nservices:\n  app:\n    environment:\n      - EXTRA=1\n",
            )
            .unwrap();
            edit(
                dir,
                ".env.sample",
                "COMPOSE_FILE=\"compose.yml\"",
                "COMPOSE_FILE=\"compose.yml:compose.extra.yml\"",
            );
            // Drops admin_token (the base uses it) and adds api_key (generated at the upgrade).
            edit(
                dir,
                "compose.yml",
                "      - admin_token\n",
                "      - api_key\n",
            );
            edit(
                dir,
                "compose.yml",
                "  admin_token:\n    external: true\n    name: ${STACK_NAME}_admin_token_${SECRET_ADMIN_TOKEN_VERSION}\n",
                "  api_key:\n    external: true\n    name: ${STACK_NAME}_api_key_${SECRET_API_KEY_VERSION}\n",
            );
            edit(
                dir,
                ".env.sample",
                "SECRET_ADMIN_TOKEN_VERSION=v1 # length=48",
                "SECRET_API_KEY_VERSION=v1 # length=40",
            );
        },
    );
    let suites = rig.suite("opsfiles", PATIENT_SUITE);
    let run = rig.run(&recipe, Some(&suites), INSTALL_UPGRADE);
    assert_eq!(run.code, 0, "{}", run.explain());
    assert_eq!(run.results()["base_version"], "1.1.0+1.1.0");
    assert_eq!(run.rung("install")["status"], "pass");
    assert_eq!(run.rung("upgrade")["status"], "pass");
    assert!(
        run.stderr
            .contains("the head's .env.sample adds SECRET_API_KEY_VERSION"),
        "{}",
        run.stderr
    );
    assert_clean(&run);
}

/// The base ignores `CRASH_AT_START=1` in its `.env.sample`; the head passes the variable
/// to its app and changes its default to empty. A fresh install of the head is healthy; an
/// app upgraded from the base keeps the operator's `1` and crashes.
fn crash_default_repo(rig: &Rig, name: &str, head_uses_it: bool) -> PathBuf {
    repo(
        rig,
        name,
        |dir| {
            edit(dir, "compose.yml", "      - CRASH_AT_START\n", "");
            edit(dir, ".env.sample", "#CRASH_AT_START=1", "CRASH_AT_START=1");
        },
        |dir| {
            if head_uses_it {
                edit(
                    dir,
                    "compose.yml",
                    "      - EXIT_AFTER\n",
                    "      - EXIT_AFTER\n      - CRASH_AT_START\n",
                );
            }
            edit(dir, ".env.sample", "CRASH_AT_START=1", "CRASH_AT_START=");
        },
    )
}

#[test]
fn a_head_needing_a_new_default_existing_apps_keep_otherwise_is_red_at_upgrade_naming_it() {
    let rig = Rig::new();
    let recipe = crash_default_repo(&rig, "opsdefault", true);
    let suites = rig.suite("opsdefault", PATIENT_SUITE);
    let run = rig.run(&recipe, Some(&suites), INSTALL_UPGRADE);
    assert_eq!(run.code, 1, "{}", run.explain());
    assert_eq!(run.rung("install")["status"], "pass");
    assert_eq!(run.rung("upgrade")["status"], "fail");
    let msg = message(&run);
    assert!(msg.contains("after upgrading to the head"), "{msg}");
    assert!(
        msg.contains("the app's .env keeps CRASH_AT_START as the operator has it"),
        "{msg}"
    );
    assert_clean(&run);
}

#[test]
fn a_head_changing_a_default_it_does_not_use_upgrades_green() {
    let rig = Rig::new();
    let recipe = crash_default_repo(&rig, "opsdefok", false);
    let suites = rig.suite("opsdefok", PATIENT_SUITE);
    let run = rig.run(&recipe, Some(&suites), INSTALL_UPGRADE);
    assert_eq!(run.code, 0, "{}", run.explain());
    assert_eq!(run.rung("upgrade")["status"], "pass");
    assert_clean(&run);
}

/// Releases 1.0.0 (with a volume `extra` at /extra) and 1.1.0 (without it) on main, and a
/// hotfix branch off 1.0.0 whose head keeps `extra` or not.
fn hotfix_repo(rig: &Rig, name: &str, hotfix_keeps_extra: bool) -> PathBuf {
    let dir = rig.recipe_copy("fixture-web", name);
    let with_extra = |dir: &Path| {
        edit(
            dir,
            "compose.yml",
            "      - data:/data\n",
            "      - data:/data\n      - extra:/extra\n",
        );
        edit(
            dir,
            "compose.yml",
            "\nvolumes:\n  data:\n",
            "\nvolumes:\n  data:\n  extra:\n",
        );
    };
    let without_extra = |dir: &Path| {
        edit(
            dir,
            "compose.yml",
            "      - data:/data\n      - extra:/extra\n",
            "      - data:/data\n",
        );
        edit(
            dir,
            "compose.yml",
            "\nvolumes:\n  data:\n  extra:\n",
            "\nvolumes:\n  data:\n",
        );
    };
    git(&dir, &["init", "--quiet", "--initial-branch=main"]);
    with_extra(&dir);
    set_version(&dir, "1.0.0");
    commit_all(&dir, "release 1.0.0");
    git(&dir, &["tag", "-a", "1.0.0+1.0.0", "-m", "release"]);
    without_extra(&dir);
    set_version(&dir, "1.1.0");
    commit_all(&dir, "release 1.1.0");
    git(&dir, &["tag", "-a", "1.1.0+1.1.0", "-m", "release"]);
    git(
        &dir,
        &["checkout", "--quiet", "-b", "hotfix", "1.0.0+1.0.0"],
    );
    if !hotfix_keeps_extra {
        without_extra(&dir);
    }
    set_version(&dir, "1.0.1");
    // The fixture images are 1.0.0, 1.1.0 and 1.2.0: the hotfix runs one of them.
    edit(
        &dir,
        "compose.yml",
        "image: ccci-fixture:1.0.1",
        "image: ccci-fixture:1.1.0",
    );
    commit_all(&dir, "hotfix 1.0.1");
    git(&dir, &["checkout", "--quiet", "main"]);
    dir
}

#[test]
fn a_hotfix_is_upgraded_from_the_release_it_came_from_and_its_dropped_volume_is_red() {
    let rig = Rig::new();
    let recipe = hotfix_repo(&rig, "opshotred", false);
    let suites = rig.suite("opshotred", PATIENT_SUITE);
    let run = rig.run(
        &recipe,
        Some(&suites),
        &["--ref", "hotfix", "--stages", "install,upgrade"],
    );
    assert_eq!(run.code, 1, "{}", run.explain());
    assert_eq!(
        run.results()["base_version"],
        "1.0.0+1.0.0",
        "{}",
        run.explain()
    );
    assert_eq!(run.rung("upgrade")["status"], "fail");
    let msg = message(&run);
    assert!(msg.contains("extra"), "{msg}");
    assert_clean(&run);
}

#[test]
fn a_hotfix_keeping_its_bases_volume_upgrades_green_from_the_release_it_came_from() {
    let rig = Rig::new();
    let recipe = hotfix_repo(&rig, "opshotok", true);
    let suites = rig.suite("opshotok", PATIENT_SUITE);
    let run = rig.run(
        &recipe,
        Some(&suites),
        &["--ref", "hotfix", "--stages", "install,upgrade"],
    );
    assert_eq!(run.code, 0, "{}", run.explain());
    // Never the newer 1.1.0 (a "downgrade" of a good commit).
    assert_eq!(run.results()["base_version"], "1.0.0+1.0.0");
    assert_eq!(run.rung("upgrade")["status"], "pass");
    assert_clean(&run);
}

#[test]
fn an_older_release_is_linted_against_the_release_before_it_not_a_newer_one() {
    let rig = Rig::new();
    let recipe = hotfix_repo(&rig, "opslintref", true);
    git(&recipe, &["checkout", "--quiet", "main"]);
    let out = ccci()
        .args([
            "lint",
            recipe.to_str().unwrap(),
            "--json",
            "--ref",
            "1.1.0+1.1.0",
        ])
        .output()
        .unwrap();
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)));
    assert_eq!(doc["base"], "1.0.0+1.0.0", "{doc}");
    let c004 = doc["rules"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == "C004")
        .unwrap();
    assert_ne!(c004["status"], "failed", "{doc}");
    // The hotfix too: from 1.0.0, not 1.1.0.
    let out = ccci()
        .args([
            "lint",
            recipe.to_str().unwrap(),
            "--json",
            "--ref",
            "hotfix",
        ])
        .output()
        .unwrap();
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["base"], "1.0.0+1.0.0", "{doc}");
}

fn service_image(service: &str) -> String {
    let out = Command::new("docker")
        .args([
            "service",
            "inspect",
            service,
            "--format",
            "{{.Spec.TaskTemplate.ContainerSpec.Image}}",
        ])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// The head's deploy is put back on the old image under the run (the service keeps the old
/// spec): readiness converges on it, and "version moved" — read from the running tasks —
/// is RED at upgrade naming the service, what it runs and what the head names.
#[test]
fn a_service_left_on_the_old_image_is_red_at_upgrade_naming_both_images() {
    let rig = Rig::new();
    // The head takes 20 s to turn healthy: time to put the old image back under the run.
    let recipe = repo(
        &rig,
        "opsmoved",
        |_| {},
        |dir| env_line(dir, "HEALTHY_AFTER=20"),
    );
    let suites = rig.suite("opsmoved", PATIENT_SUITE);
    let mut guard = Guard::default();
    let (child, stack) = spawn_run_until(
        &rig,
        &recipe,
        &suites,
        INSTALL_UPGRADE,
        "opsmoved",
        &mut guard,
        |stack| service_image(&format!("{stack}_app")).starts_with("ccci-fixture:1.2.0"),
    );
    let app = format!("{stack}_app");
    let put_back = Command::new("docker")
        .args([
            "service",
            "update",
            "--detach",
            "--image",
            "ccci-fixture:1.1.0",
            &app,
        ])
        .stdout(Stdio::null())
        .status()
        .unwrap();
    assert!(put_back.success());
    let output = child.wait_with_output().unwrap();
    let run = rig.finish(output, "out-opsmoved");
    assert_eq!(run.code, 1, "{}", run.explain());
    assert_eq!(run.rung("upgrade")["status"], "fail");
    let msg = message(&run);
    assert!(
        msg.contains("service app runs ccci-fixture:1.1.0")
            && msg.contains("but the head names ccci-fixture:1.2.0"),
        "{msg}"
    );
    assert_eq!(run.results()["failure"]["service"], "app");
}

#[test]
fn an_upgrade_whose_tasks_run_the_heads_image_moves_green() {
    let rig = Rig::new();
    let recipe = repo(
        &rig,
        "opsmovok",
        |_| {},
        |dir| env_line(dir, "HEALTHY_AFTER=20"),
    );
    let suites = rig.suite("opsmovok", PATIENT_SUITE);
    let run = rig.run(&recipe, Some(&suites), INSTALL_UPGRADE);
    assert_eq!(run.code, 0, "{}", run.explain());
    assert_eq!(run.rung("upgrade")["status"], "pass");
    assert_clean(&run);
}

/// The releases deploy `compose.extra.yml` too (their COMPOSE_FILE names it); the head drops
/// the file (and from its COMPOSE_FILE, so a fresh install of it works) or keeps it.
fn dropped_file_repo(rig: &Rig, name: &str, head_drops_it: bool) -> PathBuf {
    repo(
        rig,
        name,
        |dir| {
            std::fs::write(
                dir.join("compose.extra.yml"),
                "version: \"3.8\"\nservices:\n  app:\n    environment:\n      - EXTRA=1\n",
            )
            .unwrap();
            edit(
                dir,
                ".env.sample",
                "COMPOSE_FILE=\"compose.yml\"",
                "COMPOSE_FILE=\"compose.yml:compose.extra.yml\"",
            );
        },
        |dir| {
            if head_drops_it {
                std::fs::remove_file(dir.join("compose.extra.yml")).unwrap();
                edit(
                    dir,
                    ".env.sample",
                    "COMPOSE_FILE=\"compose.yml:compose.extra.yml\"",
                    "COMPOSE_FILE=\"compose.yml\"",
                );
            }
        },
    )
}

#[test]
fn a_head_dropping_a_file_the_operators_compose_file_names_is_red_at_upgrade_naming_it() {
    let rig = Rig::new();
    let recipe = dropped_file_repo(&rig, "opsdropfile", true);
    let suites = rig.suite("opsdropfile", PATIENT_SUITE);
    let run = rig.run(&recipe, Some(&suites), INSTALL_UPGRADE);
    assert_eq!(run.code, 1, "{}", run.explain());
    assert_eq!(run.rung("install")["status"], "pass");
    assert_eq!(run.rung("upgrade")["status"], "fail");
    let msg = message(&run);
    assert!(
        msg.contains("compose.extra.yml") && msg.contains("COMPOSE_FILE"),
        "{msg}"
    );
    assert_clean(&run);
}

#[test]
fn a_head_keeping_the_file_the_operators_compose_file_names_upgrades_green() {
    let rig = Rig::new();
    let recipe = dropped_file_repo(&rig, "opskeepfile", false);
    let suites = rig.suite("opskeepfile", PATIENT_SUITE);
    let run = rig.run(&recipe, Some(&suites), INSTALL_UPGRADE);
    assert_eq!(run.code, 0, "{}", run.explain());
    assert_eq!(run.rung("upgrade")["status"], "pass");
    assert_clean(&run);
}
