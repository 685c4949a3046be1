//! A change never relaxes what judges it (docs/behaviour.md §7): a head's own `.ccci/suite.toml` is
//! not obeyed when a release or the CI's tree judges, and the run says what it ignored.

use crate::common::*;
use serde_json::Value;
use std::path::Path;

/// The head's own expectations: backup_restore "not applicable".
const HEAD_SUITE: &str = "[expected_na]\nbackup_restore = \"not needed\"\n";

fn add_head_suite(dir: &Path) {
    std::fs::create_dir_all(dir.join(".ccci")).unwrap();
    std::fs::write(dir.join(".ccci/suite.toml"), HEAD_SUITE).unwrap();
}

/// The results say no suite judged (the releases have none) and the head's N/A was ignored.
fn assert_head_expectations_ignored(r: &Value) {
    let suite = &r["suite"];
    assert_eq!(suite["source"], "none", "{suite}");
    assert_eq!(suite["release"], "1.1.0+1.1.0", "{suite}");
    let ignored: Vec<&str> = suite["ignored"]
        .as_array()
        .unwrap_or_else(|| panic!("no suite.ignored: {suite}"))
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert_eq!(
        ignored,
        [".ccci/suite.toml: expected_na.backup_restore"],
        "{suite}"
    );
    // Not N/A: the expected level is the whole ladder.
    assert_eq!(r["expected_level"], 5);
}

#[test]
fn a_head_cannot_declare_its_broken_restore_not_applicable() {
    let rig = Rig::new();
    let repo = rig.git_recipe("fixture-web", "irnb", &["1.0.0", "1.1.0"], "1.2.0", |dir| {
        // A restore that throws the restored data away: the post-restore hook overwrites the
        // data marker the restore brought back (in the app's container).
        edit(
            dir,
            "compose.yml",
            "\"backupbot.restore.post-hook=sync\"",
            "\"backupbot.restore.post-hook=echo tampered > /data/.ccci-marker\"",
        );
        add_head_suite(dir);
    });
    let run = rig.run(&repo, None, &[]);
    assert_eq!(run.code, 1, "{}", run.explain());
    let r = run.results();
    assert_eq!(r["verdict"], "red", "{}", run.explain());
    assert_eq!(r["level"], 2, "{}", run.explain());
    let br = run.rung("backup_restore");
    assert_eq!(br["status"], "fail", "{br}");
    assert!(
        br["reason"]
            .as_str()
            .unwrap_or("")
            .contains("data marker not restored"),
        "{br}"
    );
    assert_eq!(r["failure"]["rung"], "backup_restore");
    assert_head_expectations_ignored(r);
    assert!(
        run.stderr.contains("edits the recipe's own tests")
            && run.stderr.contains("expected_na.backup_restore"),
        "{}",
        run.stderr
    );
    assert!(leftovers(&run.stack()).is_empty());
}

/// The look-alike: the same `.ccci/suite.toml` on a head whose restore works. Its N/A is
/// ignored all the same, backup_restore runs and passes, the lint is clean: GREEN at level 5.
#[test]
fn a_head_suite_declaring_na_is_ignored_and_a_working_restore_is_green() {
    let rig = Rig::new();
    let repo = rig.git_recipe(
        "fixture-web",
        "irok",
        &["1.0.0", "1.1.0"],
        "1.2.0",
        add_head_suite,
    );
    let run = rig.run(&repo, None, &[]);
    assert_eq!(run.code, 0, "{}", run.explain());
    let r = run.results();
    assert_eq!(r["verdict"], "green");
    assert_eq!(r["level"], 5, "{}", run.explain());
    assert_eq!(run.rung("backup_restore")["status"], "pass");
    assert_head_expectations_ignored(r);
    assert!(leftovers(&run.stack()).is_empty());
}

/// What the head adds to `.ccci/` can only add checks: its new test runs (and fails the
/// functional rung) even though its `suite.toml` declares functional not applicable.
#[test]
fn a_head_added_test_counts_and_its_na_does_not() {
    let rig = Rig::new();
    let repo = rig.git_recipe("fixture-web", "irad", &["1.1.0"], "1.2.0", |dir| {
        std::fs::create_dir_all(dir.join(".ccci/tests")).unwrap();
        std::fs::write(
            dir.join(".ccci/suite.toml"),
            "[expected_na]\nfunctional = \"trust me\"\n",
        )
        .unwrap();
        let test = dir.join(".ccci/tests/head-check");
        std::fs::write(
            &test,
            "#!/bin/sh\necho \"head check ran for $CCCI_DOMAIN\"\nexit 1\n",
        )
        .unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&test, std::fs::Permissions::from_mode(0o755)).unwrap();
    });
    let run = rig.run(&repo, None, &["--stages", "install,functional"]);
    assert_eq!(run.code, 1, "{}", run.explain());
    let functional = run.rung("functional");
    assert_eq!(functional["status"], "fail", "{functional}");
    let tests = functional["tests"].to_string();
    assert!(
        tests.contains("head-check") && tests.contains("head check ran for"),
        "{tests}"
    );
    let suite = &run.results()["suite"];
    assert_eq!(suite["added_tests"][0], ".ccci/tests/head-check", "{suite}");
    assert_eq!(
        suite["ignored"][0], ".ccci/suite.toml: expected_na.functional",
        "{suite}"
    );
    assert!(leftovers(&run.stack()).is_empty());
}
