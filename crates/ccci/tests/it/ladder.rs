//! The whole ladder on the real swarm (issue 3's "Must show"): upgrade from the previous
//! annotated release to the head, native backup/restore with BACKUP_VERIFY, functional tests,
//! levels and verdicts, stray lightweight tags, and same-recipe runs side by side.

use crate::common::*;
use std::process::Stdio;
use std::time::{Duration, Instant};

/// Every ladder rung of a run, as `(name, status)`.
fn statuses(run: &Run) -> Vec<(String, String)> {
    run.results()["rungs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["name"].as_str().unwrap().to_string(),
                r["status"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

/// Makes a suite file executable.
fn script(path: &std::path::Path, text: &str) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::write(path, text).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

#[test]
fn two_releases_and_a_newer_head_reach_l5_green_with_two_deploys() {
    let rig = Rig::new();
    let recipe = rig.git_recipe(
        "fixture-web",
        "ladgreen",
        &["1.0.0", "1.1.0"],
        "1.2.0",
        |_| {},
    );
    let head = git(&recipe, &["rev-parse", "HEAD"]);
    let suites = rig.suite_copy("fixture-web", "ladgreen");
    // The functional rung also proves the app really runs the head's image after the upgrade.
    let toml = suites.join("ladgreen/suite.toml");
    let mut text = std::fs::read_to_string(&toml).unwrap();
    text.push_str("\n[[http_checks]]\nname = \"serves the head's version\"\npath = \"/version\"\nbody_contains = \"1.2.0\"\n");
    std::fs::write(&toml, text).unwrap();

    let run = rig.run(&recipe, Some(&suites), &[]);
    assert_eq!(run.code, 0, "{}", run.explain());
    let r = run.results();
    assert_eq!(r["verdict"], "green");
    // The four deploy rungs and a clean lint: L5.
    assert_eq!(r["level"], 5, "{r}");
    assert_eq!(r["expected_level"], 5);
    assert_eq!(
        r["deploy_count"], 2,
        "with the upgrade rung a run deploys exactly twice"
    );
    assert_eq!(r["base_version"], "1.1.0+1.1.0");
    assert_eq!(r["head_commit"].as_str(), Some(head.as_str()));
    // The head is not a release: it is deployed as a chaos commit, named by its short hash.
    assert_eq!(r["head_version"].as_str(), Some(&head[..8]));
    assert!(r.get("failure").is_none_or(|f| f.is_null()), "{r}");
    let want: Vec<(String, String)> =
        ["install", "upgrade", "backup_restore", "functional", "lint"]
            .iter()
            .map(|n| (n.to_string(), "pass".to_string()))
            .collect();
    assert_eq!(statuses(&run), want);
    let tests = run.rung("functional")["tests"].as_array().unwrap();
    assert!(
        tests
            .iter()
            .any(|t| t["name"] == "serves the head's version" && t["status"] == "pass"),
        "{tests:?}"
    );
    let backup = run.rung("backup_restore")["tests"].to_string();
    assert!(backup.contains("data marker restored"), "{backup}");
    // The tests' rig takes no picture (`CCCI_SCREENSHOTS=false`), and says so.
    assert!(!run.out.join("screenshot.png").exists());
    assert!(
        run.stderr
            .contains("no screenshot: this rig takes none ([rig] screenshots = false)"),
        "{}",
        run.stderr
    );
    assert_clean(&run);
    assert!(registered_stack(&rig.state_dir()).is_none());
}

#[test]
fn head_whose_new_image_crash_loops_is_l1_red_naming_the_upgrade() {
    let rig = Rig::new();
    let recipe = rig.git_recipe(
        "fixture-web",
        "crashhead",
        &["1.0.0", "1.1.0"],
        "1.2.0",
        |dir| set_flag(dir, "CRASH_AT_START"),
    );
    // A generous DEPLOY_TIMEOUT: red must come from the crash-loop rule, not the time-out.
    let suites = rig.suite("crashhead", PATIENT_SUITE);
    let started = Instant::now();
    let run = rig.run(&recipe, Some(&suites), &[]);
    let took = started.elapsed();
    assert_eq!(run.code, 1, "{}", run.explain());
    let r = run.results();
    assert_eq!(r["verdict"], "red");
    assert_eq!(r["level"], 1, "{r}");
    assert_eq!(r["base_version"], "1.1.0+1.1.0");
    assert_eq!(r["deploy_count"], 2);
    assert_eq!(run.rung("install")["status"], "pass");
    assert_eq!(run.rung("upgrade")["status"], "fail");
    for above in ["backup_restore", "functional"] {
        assert_eq!(run.rung(above)["status"], "skip", "{above}");
        assert_eq!(run.rung(above)["skip"], "unintentional", "{above}");
    }
    assert_crash_loop_failure(r, "upgrade");
    assert!(
        took < Duration::from_secs(120),
        "red took {took:?}: not fail-fast"
    );
    assert_clean(&run);
}

#[test]
fn head_whose_backup_saves_nothing_is_l2_red_naming_the_volume_and_label() {
    let rig = Rig::new();
    // The head narrows the backup to `cache/` of the data volume, so the app's marker file
    // (/data/ccci-marker, at the volume's root) is no longer captured.
    let recipe = rig.git_recipe("fixture-web", "lostmark", &["1.0.0", "1.1.0"], "1.2.0", |dir| {
        edit(
            dir,
            "compose.yml",
            "        - \"backupbot.backup=true\"\n",
            "        - \"backupbot.backup=true\"\n        - \"backupbot.backup.volumes.data.path=cache\"\n",
        );
    });
    let suites = rig.suite_copy("fixture-web", "lostmark");
    let run = rig.run(&recipe, Some(&suites), &[]);
    assert_eq!(run.code, 1, "{}", run.explain());
    let r = run.results();
    assert_eq!(r["verdict"], "red");
    assert_eq!(r["level"], 2, "{r}");
    assert_eq!(run.rung("install")["status"], "pass");
    assert_eq!(run.rung("upgrade")["status"], "pass");
    assert_eq!(run.rung("backup_restore")["status"], "fail");
    assert_eq!(run.rung("functional")["status"], "skip");
    let failure = &r["failure"];
    assert_eq!(failure["rung"], "backup_restore", "{failure}");
    let message = failure["message"].as_str().unwrap();
    // `cache/` does not exist: the backup saved nothing, and says where and which label.
    assert!(
        message.contains("the backup saved nothing at `cache`"),
        "{message}"
    );
    assert!(
        message.contains("label backupbot.backup.volumes.data.path of service app"),
        "the failure must name the label: {message}"
    );
    assert_clean(&run);
}

#[test]
fn stateless_recipe_with_backup_na_is_level_2_of_expected_2_and_green() {
    let rig = Rig::new();
    let recipe = rig.git_recipe(
        "fixture-static",
        "statless",
        &["1.0.0", "1.1.0"],
        "1.2.0",
        |_| {},
    );
    let suites = rig.suite_copy("fixture-static", "statless");
    let run = rig.run(&recipe, Some(&suites), &[]);
    assert_eq!(run.code, 0, "{}", run.explain());
    let r = run.results();
    assert_eq!(r["verdict"], "green");
    assert_eq!(
        r["level"], 2,
        "an intentional skip still caps the level: {r}"
    );
    assert_eq!(r["expected_level"], 2);
    assert_eq!(r["deploy_count"], 2);
    assert_eq!(r["base_version"], "1.1.0+1.1.0");
    assert_eq!(run.rung("install")["status"], "pass");
    assert_eq!(run.rung("upgrade")["status"], "pass");
    let br = run.rung("backup_restore");
    assert_eq!(br["status"], "skip");
    assert_eq!(br["skip"], "intentional");
    assert!(br["reason"].as_str().unwrap().contains("stateless"), "{br}");
    let functional = run.rung("functional");
    assert_eq!(functional["status"], "pass");
    assert!(
        !functional["tests"].as_array().unwrap().is_empty(),
        "{functional}"
    );
    assert_clean(&run);
}

#[test]
fn stray_lightweight_version_tags_do_not_break_the_upgrade() {
    let rig = Rig::new();
    let recipe = rig.git_recipe("fixture-web", "straytag", &["1.0.0"], "1.2.0", |dir| {
        // A later commit carrying a lightweight tag named like a newer release.
        set_version(dir, "1.1.0");
        commit_all(dir, "not a release, only tagged like one");
        git(dir, &["tag", "1.1.0+1.1.0"]);
        set_version(dir, "1.2.0");
    });
    // And a lightweight version tag on the head itself.
    git(&recipe, &["tag", "1.2.0+1.2.0"]);
    let head = git(&recipe, &["rev-parse", "HEAD"]);
    let suites = rig.suite_copy("fixture-web", "straytag");
    let run = rig.run(&recipe, Some(&suites), &["--stages", "install,upgrade"]);
    assert_eq!(run.code, 0, "{}", run.explain());
    let r = run.results();
    assert_eq!(r["verdict"], "green");
    assert_eq!(r["level"], 2, "{r}");
    assert_eq!(
        r["base_version"], "1.0.0+1.0.0",
        "the base is the newest *annotated* release"
    );
    assert_eq!(
        r["head_version"].as_str(),
        Some(&head[..8]),
        "a lightweight tag does not make the head a release"
    );
    assert_eq!(r["deploy_count"], 2);
    assert_eq!(run.rung("upgrade")["status"], "pass");
    assert!(
        run.stderr.contains("1.1.0+1.1.0 is a lightweight tag"),
        "{}",
        run.stderr
    );
    assert_clean(&run);
}

#[test]
fn two_runs_of_the_same_recipe_at_once_both_finish_green() {
    let rig = Rig::new();
    let recipe = rig.git_recipe(
        "fixture-web",
        "twinruns",
        &["1.0.0", "1.1.0"],
        "1.2.0",
        |_| {},
    );
    let suites = rig.suite_copy("fixture-web", "twinruns");
    let spawn = |out: &str| {
        rig.command(
            &recipe,
            Some(&suites),
            &["--stages", "install,upgrade"],
            out,
        )
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
    };
    let a = spawn("out-a");
    let b = spawn("out-b");
    // Both live at the same time: two registered apps in the one state dir.
    wait_until("both runs to be registered at once", 60, || {
        registered_stacks(&rig.state_dir()).len() == 2
    });
    let a = rig.finish(a.wait_with_output().unwrap(), "out-a");
    let b = rig.finish(b.wait_with_output().unwrap(), "out-b");
    for run in [&a, &b] {
        assert_eq!(run.code, 0, "{}", run.explain());
        let r = run.results();
        assert_eq!(r["verdict"], "green");
        assert_eq!(r["level"], 2);
        assert_eq!(r["deploy_count"], 2);
        assert_eq!(run.rung("upgrade")["status"], "pass");
        assert_clean(run);
    }
    assert_ne!(a.stack(), b.stack());
    assert_ne!(a.results()["run_id"], b.results()["run_id"]);
    assert!(registered_stacks(&rig.state_dir()).is_empty());
}

/// A fixture-web suite whose BACKUP_VERIFY accepts only take `accept_at` (never if 0); each
/// call prints `take <attempt> <manifest?>`, which the run keeps in its artefacts
/// (`sandbox/verify.log`: the probe runs sandboxed and cannot write the suite dir).
fn verify_suite(rig: &Rig, name: &str, accept_at: u32) -> std::path::PathBuf {
    let suites = rig.suite(
        name,
        "health_path = \"/health\"\ndeploy_timeout = \"2m\"\n\n[backup]\nverify = \"verify\"\nmarker_path = \"/data/ccci-marker\"\n",
    );
    script(
        &suites.join(name).join("verify"),
        &format!(
            "#!/bin/sh\n\
             m=none; [ -f \"$CCCI_BACKUP_DIR/manifest.json\" ] && m=manifest\n\
             echo \"take $CCCI_BACKUP_ATTEMPT $m\"\n\
             [ \"$CCCI_BACKUP_ATTEMPT\" = \"{accept_at}\" ] && exit 0\n\
             echo \"capture is bad (take $CCCI_BACKUP_ATTEMPT)\"\n\
             exit 1\n"
        ),
    );
    suites
}

/// The takes BACKUP_VERIFY saw, from the run's artefacts.
fn takes(run: &Run) -> String {
    std::fs::read_to_string(run.out.join("sandbox/verify.log"))
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.strip_prefix("take "))
        .map(|l| format!("{l}\n"))
        .collect()
}

#[test]
fn backup_verify_failing_twice_then_passing_is_green_after_three_takes() {
    let rig = Rig::new();
    let recipe = rig.recipe_copy("fixture-web", "verify3");
    let suites = verify_suite(&rig, "verify3", 3);
    let run = rig.run(
        &recipe,
        Some(&suites),
        &["--stages", "install,backup_restore"],
    );
    assert_eq!(run.code, 0, "{}", run.explain());
    let r = run.results();
    assert_eq!(r["verdict"], "green");
    assert_eq!(run.rung("backup_restore")["status"], "pass");
    assert_eq!(
        takes(&run),
        "1 manifest\n2 manifest\n3 manifest\n",
        "BACKUP_VERIFY must see three whole takes"
    );
    assert!(
        run.stderr.contains("BACKUP_VERIFY accepted take 3"),
        "{}",
        run.stderr
    );
    let tests = run.rung("backup_restore")["tests"].to_string();
    assert!(tests.contains("data marker restored"), "{tests}");
    assert_clean(&run);
}

#[test]
fn backup_verify_always_failing_is_red_naming_the_verify_step() {
    let rig = Rig::new();
    let recipe = rig.recipe_copy("fixture-web", "verifyno");
    let suites = verify_suite(&rig, "verifyno", 0);
    let run = rig.run(
        &recipe,
        Some(&suites),
        &["--stages", "install,backup_restore"],
    );
    assert_eq!(run.code, 1, "{}", run.explain());
    let r = run.results();
    assert_eq!(r["verdict"], "red");
    assert_eq!(r["level"], 1);
    assert_eq!(run.rung("backup_restore")["status"], "fail");
    let failure = &r["failure"];
    assert_eq!(failure["rung"], "backup_restore", "{failure}");
    let message = failure["message"].as_str().unwrap();
    assert!(message.contains("BACKUP_VERIFY"), "{message}");
    assert!(message.contains("3 times"), "{message}");
    assert!(
        failure["log_tail"]
            .to_string()
            .contains("capture is bad (take 3)"),
        "{failure}"
    );
    assert_eq!(takes(&run), "1 manifest\n2 manifest\n3 manifest\n");
    assert_clean(&run);
}
