//! Data is judged on what the engine mounts (issue 20): the upgrade's markers go into the
//! volumes the base's services really mount and are looked for in the ones the head's
//! services mount, whatever the compose keys say.

use crate::common::*;

const VOLUMES: &str = "\nvolumes:\n  data:\n";

fn upgrade(rig: &Rig, name: &str, volumes: &'static str, mount: &'static str) -> Run {
    let repo = rig.git_recipe(
        "fixture-web",
        name,
        &["1.0.0", "1.1.0"],
        "1.2.0",
        move |dir| {
            edit(dir, "compose.yml", "      - data:/data\n", mount);
            edit(dir, "compose.yml", VOLUMES, volumes);
        },
    );
    let suites = rig.suite_copy("fixture-web", name);
    rig.run(&repo, Some(&suites), &["--stages", "install,upgrade"])
}

#[test]
fn a_head_keeping_the_key_but_naming_another_engine_volume_is_red_at_upgrade() {
    let rig = Rig::new();
    let run = upgrade(
        &rig,
        "mnnm",
        "\nvolumes:\n  data:\n    name: ${STACK_NAME}_data_v2\n",
        "      - data:/data\n",
    );
    assert_eq!(run.code, 1, "{}", run.explain());
    let r = run.results();
    assert_eq!(r["failure"]["rung"], "upgrade", "{}", r["failure"]);
    let m = r["failure"]["message"].as_str().unwrap();
    assert!(
        m.contains("volume `data` of service app was renamed to `data_v2`"),
        "{m}"
    );
    assert_clean(&run);
}

#[test]
fn a_head_renaming_the_key_but_keeping_the_engine_volume_keeps_its_data() {
    let rig = Rig::new();
    let run = upgrade(
        &rig,
        "mnkp",
        "\nvolumes:\n  appdata:\n    name: ${STACK_NAME}_data\n",
        "      - appdata:/data\n",
    );
    assert_eq!(run.code, 0, "{}", run.explain());
    assert_eq!(run.rung("upgrade")["status"], "pass", "{}", run.explain());
    assert_clean(&run);
}

#[test]
fn a_head_that_stops_backing_up_what_its_base_did_is_red_at_backup_restore() {
    let rig = Rig::new();
    let repo = rig.git_recipe("fixture-web", "mnbk", &["1.0.0", "1.1.0"], "1.2.0", |dir| {
        edit(
            dir,
            "compose.yml",
            "        - \"backupbot.backup=true\"\n",
            "        - \"backupbot.backup=true\"\n        - \"backupbot.backup.volumes.data=false\"\n",
        );
    });
    let suites = rig.suite_copy("fixture-web", "mnbk");
    let run = rig.run(
        &repo,
        Some(&suites),
        &["--stages", "install,upgrade,backup_restore"],
    );
    assert_eq!(run.code, 1, "{}", run.explain());
    let r = run.results();
    assert_eq!(r["failure"]["rung"], "backup_restore", "{}", r["failure"]);
    let m = r["failure"]["message"].as_str().unwrap();
    for want in [
        "release 1.1.0+1.1.0 backs up volume `data` of service app",
        "a change cannot back up less than its base",
    ] {
        assert!(m.contains(want), "{want:?} not in {m}");
    }
    assert_clean(&run);
}
