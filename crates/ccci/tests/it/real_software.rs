//! Real software under test (issue 8): the example recipes on PostgreSQL, Redis and nginx
//! (images built from Debian packages) through the whole cold ladder on the real swarm, with
//! backup/restore proving rows in the database come back, and backup-bot-two's labels honoured
//! to the letter: what the archive holds, and malformed labels refused before any deploy.

use crate::common::*;
use std::collections::BTreeMap;

fn assert_green_l4(run: &Run) {
    assert_eq!(run.code, 0, "{}", run.explain());
    let r = run.results();
    assert_eq!(r["verdict"], "green", "{r}");
    // L4 at least: the four ladder rungs; the lint rung above them, when the run has it.
    assert_eq!(r["level"], r["expected_level"], "{r}");
    assert!(r["level"].as_u64().unwrap() >= 4, "{r}");
    assert_eq!(r["base_version"], "1.1.0+1.1.0", "{r}");
    for rung in ["install", "upgrade", "backup_restore", "functional"] {
        assert_eq!(run.rung(rung)["status"], "pass", "{rung}: {r}");
    }
    assert_clean(run);
}

/// What a suite hook printed (`sandbox/<hook>.log` in the run's artefacts).
fn hook_log(run: &Run, hook: &str) -> String {
    let path = run.out.join("sandbox").join(format!("{hook}.log"));
    std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e}\n{}", path.display(), run.explain()))
}

/// The archives of the backup and the entries of each, as the suite's `post_backup` hook
/// (`show-backup`: `== <archive>` then `tar -tzf` of it) listed them from `$CCCI_BACKUP_DIR`.
fn archives(run: &Run) -> BTreeMap<String, Vec<String>> {
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut current = None;
    for line in hook_log(run, "show-backup").lines() {
        if let Some(name) = line.strip_prefix("== ") {
            current = Some(name.to_string());
            out.entry(name.to_string()).or_default();
        } else if let Some(name) = &current {
            if !line.is_empty() && !line.starts_with("[exit:") {
                out.get_mut(name).unwrap().push(line.to_string());
            }
        }
    }
    out
}

/// The message of the backup_restore rung's "backup taken" case: what each archive holds.
fn backup_described(run: &Run) -> String {
    run.rung("backup_restore")["tests"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"].as_str().unwrap_or("").starts_with("backup taken"))
        .and_then(|t| t["message"].as_str())
        .unwrap_or_else(|| panic!("no backup case: {}", run.results()))
        .to_string()
}

#[test]
fn postgres_recipe_is_green_l4_with_rows_restored_and_the_archive_as_labelled() {
    let rig = Rig::new();
    let recipe = rig.git_recipe("fixture-pg", "pgreal", &["1.0.0", "1.1.0"], "1.2.0", |_| {});
    let suites = rig.suite_copy("fixture-pg", "pgreal");
    let run = rig.run(&recipe, Some(&suites), &[]);
    assert_green_l4(&run);

    // Rows written through the app before the backup, changed after it, back after the
    // restore: the backup-bot hooks dumped and reloaded the database.
    let changed = hook_log(&run, "change-rows");
    assert!(
        changed.contains("alpha=changed-after-the-backup"),
        "{changed}"
    );
    assert!(
        changed.contains("delta=written-after-the-backup"),
        "{changed}"
    );
    let checked = hook_log(&run, "check-rows");
    assert!(
        checked.contains("rows restored: alpha=one beta=two gamma=three"),
        "{checked}"
    );
    assert!(!checked.contains("delta="), "{checked}");

    // The archive holds what the labels say: the app's uploads whole, its cache left out
    // (`volumes.cache=false`), of the database only the dump (`volumes.postgres.path`), not
    // the cluster's files.
    let held = archives(&run);
    assert_eq!(
        held.keys().collect::<Vec<_>>(),
        ["postgres.tar.gz", "uploads.tar.gz"],
        "{held:?}"
    );
    assert_eq!(held["postgres.tar.gz"], ["backup.sql"], "{held:?}");
    assert!(
        held["uploads.tar.gz"]
            .iter()
            .any(|e| e.ends_with(".ccci-marker")),
        "{held:?}"
    );
    assert_eq!(
        backup_described(&run),
        "uploads: whole volume; postgres: backup.sql; left out: cache"
    );
}

#[test]
fn a_postgres_restore_that_does_not_load_the_dump_is_red_at_backup_restore() {
    let rig = Rig::new();
    let recipe = rig.recipe_copy("fixture-pg", "pgnoload");
    // The restore puts backup.sql back in the volume, and nothing loads it.
    let path = recipe.join("compose.postgres.yml");
    let text: String = std::fs::read_to_string(&path)
        .unwrap()
        .lines()
        .filter(|l| !l.contains("backupbot.restore.post-hook"))
        .map(|l| format!("{l}\n"))
        .collect();
    std::fs::write(&path, text).unwrap();
    let suites = rig.suite_copy("fixture-pg", "pgnoload");
    let run = rig.run(
        &recipe,
        Some(&suites),
        &["--stages", "install,backup_restore"],
    );
    assert_eq!(run.code, 1, "{}", run.explain());
    let r = run.results();
    assert_eq!(r["verdict"], "red", "{r}");
    assert_eq!(run.rung("install")["status"], "pass", "{r}");
    assert_eq!(run.rung("backup_restore")["status"], "fail", "{r}");
    let failure = &r["failure"];
    assert_eq!(failure["rung"], "backup_restore", "{failure}");
    // The failure names the rows that did not come back.
    let message = failure["message"].as_str().unwrap();
    assert!(
        message.starts_with("hook post_restore (hooks/check-rows) failed: rows not restored from the backup; row alpha is 'changed-after-the-backup' (backed up: 'one'); row beta is missing (backed up: two); row delta is there (written after the backup)"),
        "{failure}"
    );
    assert!(
        failure["log_tail"]
            .to_string()
            .contains("alpha=changed-after-the-backup"),
        "{failure}"
    );
    assert_clean(&run);
}

#[test]
fn redis_recipe_is_green_l4_with_keys_restored() {
    let rig = Rig::new();
    let recipe = rig.git_recipe("fixture-kv", "kvreal", &["1.0.0", "1.1.0"], "1.2.0", |_| {});
    let suites = rig.suite_copy("fixture-kv", "kvreal");
    let run = rig.run(&recipe, Some(&suites), &[]);
    assert_green_l4(&run);
    let checked = hook_log(&run, "check-keys");
    assert!(
        checked.contains("keys restored: red=1 green=2 blue=3"),
        "{checked}"
    );
    assert!(!checked.contains("violet="), "{checked}");
    // Of Redis only the snapshot SAVE wrote; the app's data volume whole.
    let held = archives(&run);
    assert_eq!(held["redis.tar.gz"], ["dump.rdb"], "{held:?}");
    assert!(held.contains_key("data.tar.gz"), "{held:?}");
    assert_eq!(
        backup_described(&run),
        "data: whole volume; redis: dump.rdb"
    );
}

#[test]
fn nginx_recipe_with_a_golang_templated_config_is_green_l4() {
    let rig = Rig::new();
    let recipe = rig.git_recipe(
        "fixture-nginx",
        "ngxreal",
        &["1.0.0", "1.1.0"],
        "1.2.0",
        |_| {},
    );
    let suites = rig.suite_copy("fixture-nginx", "ngxreal");
    // After the upgrade swarm renders the config with the head's version.
    let toml = suites.join("ngxreal/suite.toml");
    let mut text = std::fs::read_to_string(&toml).unwrap();
    text.push_str(
        "\n[[http_checks]]\nname = \"the config is rendered with the head's version\"\npath = \"/version\"\nbody_equals = \"1.2.0\\n\"\n",
    );
    std::fs::write(&toml, text).unwrap();
    let run = rig.run(&recipe, Some(&suites), &[]);
    assert_green_l4(&run);
    assert_eq!(
        backup_described(&run),
        "content: whole volume",
        "{}",
        run.explain()
    );
}

#[test]
fn malformed_backup_labels_are_refused_at_preflight_naming_service_label_and_fix() {
    let rig = Rig::new();
    let recipe = rig.recipe_copy("fixture-pg", "pglabels");
    edit(
        &recipe,
        "compose.postgres.yml",
        "backupbot.backup.pre-hook:",
        "backupbot.backup.prehook:",
    );
    edit(
        &recipe,
        "compose.postgres.yml",
        "backupbot.backup.volumes.postgres.path:",
        "backupbot.backup.volumes.pgdata.path:",
    );
    let suites = rig.suite_copy("fixture-pg", "pglabels");
    let run = rig.run(&recipe, Some(&suites), &[]);
    assert_eq!(run.code, 2, "{}", run.explain());
    for needle in [
        "compose.postgres.yml",
        "malformed backup-bot-two labels",
        "service `db`: label `backupbot.backup.prehook=",
        "not a backup-bot-two label; known: backupbot.backup, backupbot.backup.pre-hook",
        "service `db`: label `backupbot.backup.volumes.pgdata.path=backup.sql`: this service does not mount a volume `pgdata` (its named volumes: postgres)",
    ] {
        assert!(run.stderr.contains(needle), "stderr lacks {needle:?}:\n{}", run.stderr);
    }
    assert!(
        stacks_with_prefix("pgla-").is_empty(),
        "something was created"
    );
    assert!(registered_stack(&rig.state_dir()).is_none());
}
