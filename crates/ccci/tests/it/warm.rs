//! Warm canonicals and the quick lane (docs/behaviour.md §6) on the real swarm: seeding a canonical
//! from the latest release, the snapshot round trip, `--quick` green and red (each reports its
//! verdict, then puts the canonical back to its known-good data), no canonical → cold, a red
//! seed, and the janitor leaving `warm-*` alone.

use crate::common::*;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// `ccci warm <args…> --state-dir <rig state>` (plus `--domain` when given).
fn warm(rig: &Rig, args: &[&str], domain: Option<&str>) -> std::process::Output {
    let mut cmd = ccci();
    cmd.arg("warm")
        .args(args)
        .arg("--state-dir")
        .arg(rig.state_dir())
        .env_remove("CCCI_SUITES_DIR")
        .stdin(Stdio::null());
    if let Some(d) = domain {
        cmd.arg("--domain").arg(d);
    }
    cmd.output().unwrap()
}

fn seed(rig: &Rig, recipe: &Path, suites: &Path, stages: &str, domain: Option<&str>) -> Run {
    let out = rig.path("seed-out");
    let output = warm(
        rig,
        &[
            "seed",
            recipe.to_str().unwrap(),
            "--suites",
            suites.to_str().unwrap(),
            "--stages",
            stages,
            "--out",
            out.to_str().unwrap(),
        ],
        domain,
    );
    rig.finish(output, "seed-out")
}

fn record(rig: &Rig, recipe: &str) -> Option<Value> {
    std::fs::read(rig.state_dir().join("warm").join(format!("{recipe}.json")))
        .ok()
        .map(|b| serde_json::from_slice(&b).unwrap())
}

pub(crate) fn env_type(rig: &Rig, rec: &Value) -> String {
    let path = rig
        .state_dir()
        .join("warm")
        .join(rec["recipe"].as_str().unwrap())
        .join(rec["generation"].as_str().unwrap())
        .join("app.env");
    let text = std::fs::read_to_string(&path).unwrap();
    text.lines()
        .find_map(|l| l.strip_prefix("TYPE="))
        .unwrap_or_default()
        .to_string()
}

pub(crate) fn assert_undeployed_with_data(stack: &str) {
    assert!(
        engine_objects("service", stack).is_empty(),
        "services left: {:?}",
        engine_objects("service", stack)
    );
    assert_eq!(
        engine_objects("volume", stack),
        vec![format!("{stack}_data")],
        "the canonical keeps its volume"
    );
    assert_eq!(
        engine_objects("secret", stack).len(),
        2,
        "the canonical keeps its secrets"
    );
}

/// A canonical whose volume drifted after its snapshot, for a quick run to put back.
pub(crate) struct Drifted {
    pub recipe: PathBuf,
    pub suites: PathBuf,
    pub rec: Value,
    pub volume: String,
    pub snapshot: BTreeMap<String, Vec<u8>>,
}

/// Seeds (install, backup_restore) a green canonical of a fixture-web repository `name`
/// (releases 1.0.0 and 1.1.0; the head 1.2.0 with `flag` set), then drifts its volume, so
/// only a real restore brings back the snapshot's exact data.
pub(crate) fn seed_then_drift(rig: &Rig, name: &str, stack: &str, flag: &str) -> Drifted {
    let recipe = rig.git_recipe("fixture-web", name, &["1.0.0", "1.1.0"], "1.2.0", |dir| {
        set_flag(dir, flag)
    });
    let suites = rig.suite_copy("fixture-web", name);
    let s = seed(rig, &recipe, &suites, "install,backup_restore", None);
    assert_eq!(s.code, 0, "{}", s.explain());
    let rec = record(rig, name).unwrap();
    let volume = format!("{stack}_data");
    let snapshot = volume_tree(&volume);
    std::fs::write(
        volume_mountpoint(&volume).join("drift"),
        b"written after the snapshot",
    )
    .unwrap();
    Drifted {
        recipe,
        suites,
        rec,
        volume,
        snapshot,
    }
}

#[test]
fn seed_restore_quick_green_and_the_janitor_keep_the_canonical() {
    let rig = Rig::new();
    // The test's own CI domain: the canonical's stack (`warm-wpass_<domain>`) is this run's
    // alone, never another checkout's running the same test on the engine.
    let domain = format!("warm{}.local", std::process::id());
    let domain = domain.as_str();
    let warm_domain = format!("warm-wpass.{domain}");
    let stack = format!("warm-wpass_{}", domain.replace('.', "_"));
    let stack = stack.as_str();
    let _guard = Guard::for_stacks(&[stack]);
    let recipe = rig.git_recipe("fixture-web", "wpass", &["1.0.0", "1.1.0"], "1.2.0", |_| {});
    let head = git(&recipe, &["rev-parse", "HEAD"]);
    let release = git(&recipe, &["rev-parse", "1.1.0+1.1.0^{commit}"]);
    let suites = rig.quick_suite("wpass");

    // Seed: the latest release (not the head) on the stable domain; green → canonical.
    let s = seed(
        &rig,
        &recipe,
        &suites,
        "install,backup_restore",
        Some(domain),
    );
    assert_eq!(s.code, 0, "{}", s.explain());
    assert_eq!(s.results()["verdict"], "green");
    assert_eq!(s.results()["domain"], warm_domain);
    assert_eq!(s.results()["head_commit"].as_str(), Some(release.as_str()));
    assert!(
        s.stdout.contains("warm canonical: wpass 1.1.0+1.1.0"),
        "{}",
        s.stdout
    );
    let rec = record(&rig, "wpass").expect("a record after a green seed");
    assert_eq!(rec["recipe"], "wpass");
    assert_eq!(rec["domain"], warm_domain);
    assert_eq!(rec["version"], "1.1.0+1.1.0");
    assert_eq!(rec["commit"].as_str(), Some(release.as_str()));
    assert_eq!(rec["status"], "green");
    assert!(rec["ts"].as_str().is_some_and(|t| !t.is_empty()));
    let shown = warm(&rig, &["show", "wpass"], None);
    assert!(shown.status.success());
    assert_eq!(serde_json::from_slice::<Value>(&shown.stdout).unwrap(), rec);
    let gen_dir = rig
        .state_dir()
        .join("warm/wpass")
        .join(rec["generation"].as_str().unwrap());
    assert!(gen_dir.join("snapshot/manifest.json").is_file());
    assert!(gen_dir.join("snapshot/data.tar.zst").is_file());
    assert_eq!(env_type(&rig, &rec), "wpass:1.1.0+1.1.0");
    assert_undeployed_with_data(stack);
    let volume = format!("{stack}_data");
    let seeded = volume_tree(&volume);
    let marker = seeded
        .get(".ccci-marker")
        .cloned()
        .expect("the seed's data marker is in the volume");
    assert!(String::from_utf8_lossy(&marker).starts_with("ccci-marker-"));
    let record_bytes = std::fs::read(rig.state_dir().join("warm/wpass.json")).unwrap();

    // The snapshot round-trips byte-identically.
    let mount = volume_mountpoint(&volume);
    std::fs::write(mount.join(".ccci-marker"), b"changed").unwrap();
    std::fs::write(mount.join("junk"), b"not in the snapshot").unwrap();
    let restored = warm(&rig, &["restore", "wpass"], None);
    assert!(
        restored.status.success(),
        "{}",
        String::from_utf8_lossy(&restored.stderr)
    );
    assert_eq!(
        volume_tree(&volume),
        seeded,
        "restore gives back exactly the snapshot"
    );
    // A re-taken snapshot (`warm snapshot`) holds the volume as it is, and restores alike.
    let retaken = warm(&rig, &["snapshot", "wpass"], None);
    assert!(
        retaken.status.success(),
        "{}",
        String::from_utf8_lossy(&retaken.stderr)
    );
    std::fs::write(mount.join("junk"), b"not in the re-taken snapshot").unwrap();
    assert!(warm(&rig, &["restore", "wpass"], None).status.success());
    assert_eq!(
        volume_tree(&volume),
        seeded,
        "the re-taken snapshot restores"
    );

    // --quick on a good head: reattach, upgrade in place, functional; green; then the
    // canonical is put back to its known-good data and env all the same.
    let q = rig.run(
        &recipe,
        Some(&suites),
        &[
            "--quick",
            "--stages",
            "upgrade,functional",
            "--domain",
            domain,
        ],
    );
    assert_eq!(q.code, 0, "{}", q.explain());
    let r = q.results();
    assert_eq!(r["mode"], "quick");
    assert_eq!(r["verdict"], "green");
    assert_eq!(r["stack"], stack);
    assert_eq!(r["base_version"], "1.1.0+1.1.0");
    assert_eq!(r["head_commit"].as_str(), Some(head.as_str()));
    assert_eq!(r["deploy_count"], 2, "reattach + upgrade");
    assert_eq!(q.rung("upgrade")["status"], "pass");
    assert_eq!(q.rung("functional")["status"], "pass");
    assert_eq!(q.rung("backup_restore")["status"], "skip");
    assert!(q.stdout.contains("quick lane"), "{}", q.stdout);
    assert_eq!(
        std::fs::read(rig.state_dir().join("warm/wpass.json")).unwrap(),
        record_bytes,
        "quick never advances the canonical"
    );
    assert_undeployed_with_data(stack);
    assert_eq!(r["quick_end"]["restored"], true, "{}", q.explain());
    assert_eq!(
        volume_tree(&volume),
        seeded,
        "a green quick run too leaves exactly the known-good data (its head wrote some)"
    );
    assert_eq!(env_type(&rig, &rec), "wpass:1.1.0+1.1.0");

    // The janitor never touches a warm canonical, even with no owner and no age limit.
    let janitor = ccci()
        .args(["janitor", "--unknown-after-secs", "0", "--domain", domain])
        .arg("--state-dir")
        .arg(rig.state_dir())
        .output()
        .unwrap();
    assert!(janitor.status.success());
    assert_undeployed_with_data(stack);
    assert_eq!(volume_tree(&volume).get(".ccci-marker"), Some(&marker));

    // A green re-seed starts cold (the old data is gone), then replaces the canonical: a new
    // generation, the old one dropped.
    let again = seed(&rig, &recipe, &suites, "install", Some(domain));
    assert_eq!(again.code, 0, "{}", again.explain());
    let rec2 = record(&rig, "wpass").unwrap();
    assert_eq!(rec2["version"], "1.1.0+1.1.0");
    assert_ne!(rec2["generation"], rec["generation"]);
    assert!(!gen_dir.exists(), "the old generation is dropped");
    assert_undeployed_with_data(stack);
    assert!(
        !volume_tree(&volume).contains_key(".ccci-marker"),
        "a seed starts from an empty volume"
    );
}

/// `ccci run --quick --stages upgrade,functional` into `out`, its stdout and stderr in one
/// stream (returned), so the order of the summary and the canonical's restore shows.
fn quick_merged(rig: &Rig, recipe: &Path, suites: &Path, out: &str) -> (Run, String) {
    let log = rig.path(&format!("{out}.log"));
    let file = std::fs::File::create(&log).unwrap();
    let output = rig
        .command(
            recipe,
            Some(suites),
            &["--quick", "--stages", "upgrade,functional"],
            out,
        )
        .stdout(file.try_clone().unwrap())
        .stderr(file)
        .output()
        .unwrap();
    (
        rig.finish(output, out),
        std::fs::read_to_string(&log).unwrap(),
    )
}

#[test]
fn green_quick_runs_that_write_data_leave_the_canonical_byte_identical_each_time() {
    let rig = Rig::new();
    let stack = "warm-wreset_ci_local";
    let _guard = Guard::for_stacks(&[stack]);
    // The head also adds a volume: the quick run's upgrade creates it; it is not the
    // canonical's, so it goes with the rest of what the head left.
    let recipe = rig.git_recipe(
        "fixture-web",
        "wreset",
        &["1.0.0", "1.1.0"],
        "1.2.0",
        |dir| {
            edit(
                dir,
                "compose.yml",
                "      - data:/data\n",
                "      - data:/data\n      - added:/added\n",
            );
            edit(
                dir,
                "compose.yml",
                "volumes:\n  data:\n",
                "volumes:\n  data:\n  added:\n",
            );
        },
    );
    let suites = rig.quick_suite("wreset");
    let s = seed(&rig, &recipe, &suites, "install,backup_restore", None);
    assert_eq!(s.code, 0, "{}", s.explain());
    let rec = record(&rig, "wreset").unwrap();
    let record_bytes = std::fs::read(rig.state_dir().join("warm/wreset.json")).unwrap();
    let volume = format!("{stack}_data");
    let known_good = volume_tree(&volume);
    assert!(
        !known_good.contains_key("functional-check"),
        "{known_good:?}"
    );

    // Twice: the second quick run starts from what the first left, which must be exactly
    // the known-good canonical.
    for out in ["quick1", "quick2"] {
        let (q, log) = quick_merged(&rig, &recipe, &suites, out);
        assert_eq!(q.code, 0, "{out}: {log}");
        let r = q.results();
        assert_eq!(r["mode"], "quick", "{out}: {log}");
        assert_eq!(r["verdict"], "green", "{out}: {log}");
        assert_eq!(
            r["base_version"], "1.1.0+1.1.0",
            "{out}: starts from the known-good"
        );
        // The head wrote into its volume: the upgrade's marker through the app, and the
        // functional test's `functional-check` (read back by the test itself).
        assert_eq!(q.rung("upgrade")["status"], "pass", "{out}: {log}");
        assert_eq!(q.rung("functional")["status"], "pass", "{out}: {log}");
        let end = &r["quick_end"];
        assert_eq!(end["restored"], true, "{out}: {log}");
        assert!(
            end["lock_released_ms"].as_u64().unwrap() >= end["verdict_ms"].as_u64().unwrap(),
            "{out}: {end}"
        );
        // The verdict is told (the summary printed) before the canonical is put back.
        let summary = format!("results: {}", q.out.join("results.json").display());
        let told = log
            .find(&summary)
            .unwrap_or_else(|| panic!("{out}: no summary: {log}"));
        let back = log
            .find("the canonical is back at its known-good 1.1.0+1.1.0")
            .unwrap_or_else(|| panic!("{out}: the canonical was not put back: {log}"));
        assert!(told < back, "{out}: the summary comes first: {log}");
        assert_eq!(
            volume_tree(&volume),
            known_good,
            "{out}: the canonical holds exactly its known-good data"
        );
        // Only the canonical's own volume and secrets: the head's `added` volume is gone.
        assert_undeployed_with_data(stack);
        assert_eq!(env_type(&rig, &rec), "wreset:1.1.0+1.1.0", "{out}");
        assert_eq!(
            std::fs::read(rig.state_dir().join("warm/wreset.json")).unwrap(),
            record_bytes,
            "{out}: quick never advances the canonical"
        );
        assert!(registered_stacks(&rig.state_dir()).is_empty(), "{out}");
    }
}

#[test]
fn quick_whose_upgrade_crash_loops_is_red_and_puts_the_snapshot_back() {
    let rig = Rig::new();
    let stack = "warm-wcrash_ci_local";
    let _guard = Guard::for_stacks(&[stack]);
    let canonical = seed_then_drift(&rig, "wcrash", stack, "CRASH_AT_START");
    let record_bytes = std::fs::read(rig.state_dir().join("warm/wcrash.json")).unwrap();

    let q = rig.run(
        &canonical.recipe,
        Some(&canonical.suites),
        &["--quick", "--stages", "upgrade"],
    );
    assert_eq!(q.code, 1, "{}", q.explain());
    let r = q.results();
    assert_eq!(r["mode"], "quick");
    assert_eq!(r["verdict"], "red");
    assert_eq!(
        q.rung("install")["status"],
        "pass",
        "the reattach itself works"
    );
    assert_crash_loop_failure(r, "upgrade");
    assert_eq!(r["quick_end"]["restored"], true, "{}", q.explain());
    assert_undeployed_with_data(stack);
    assert_eq!(
        volume_tree(&canonical.volume),
        canonical.snapshot,
        "the volume holds exactly the snapshot"
    );
    assert_eq!(env_type(&rig, &canonical.rec), "wcrash:1.1.0+1.1.0");
    assert_eq!(
        std::fs::read(rig.state_dir().join("warm/wcrash.json")).unwrap(),
        record_bytes
    );
}

#[test]
fn quick_without_a_canonical_runs_cold() {
    let rig = Rig::new();
    let recipe = rig.git_recipe("fixture-web", "wnone", &["1.0.0"], "1.1.0", |_| {});
    let run = rig.run(&recipe, None, &["--quick", "--stages", "install"]);
    assert_eq!(run.code, 0, "{}", run.explain());
    assert_eq!(run.results()["mode"], "cold");
    assert!(run.stderr.contains("no warm canonical"), "{}", run.stderr);
    let stack = run.stack();
    assert!(!stack.starts_with("warm-"), "{stack}");
    assert!(
        leftovers(&stack).is_empty(),
        "left: {:?}",
        leftovers(&stack)
    );
    assert!(record(&rig, "wnone").is_none());
}

#[test]
fn a_red_seed_makes_no_canonical_and_leaves_nothing() {
    let rig = Rig::new();
    let stack = "warm-wred_ci_local";
    let _guard = Guard::for_stacks(&[stack]);
    // The latest release crash-loops.
    let recipe = rig.git_recipe("fixture-web", "wred", &["1.0.0"], "1.1.0", |dir| {
        set_flag(dir, "CRASH_AT_START")
    });
    git(
        &recipe,
        &["tag", "-a", "1.1.0+1.1.0", "-m", "release 1.1.0"],
    );
    let suites = rig.suite_copy("fixture-web", "wred");
    let s = seed(&rig, &recipe, &suites, "install", None);
    assert_eq!(s.code, 1, "{}", s.explain());
    assert_eq!(s.results()["verdict"], "red");
    assert!(s.stdout.contains("no warm canonical"), "{}", s.stdout);
    assert!(record(&rig, "wred").is_none());
    assert!(leftovers(stack).is_empty(), "left: {:?}", leftovers(stack));
}

/// Starts `ccci run --quick --stages upgrade` of a drifted canonical and waits until the
/// quick run has deployed the head (the chaos-version label is set on the warm stack).
fn spawn_quick_until_upgraded(
    rig: &Rig,
    canonical: &Drifted,
    stack: &str,
    guard: &mut Guard,
    output: Stdio,
) -> std::process::Child {
    let child = rig
        .command(
            &canonical.recipe,
            Some(&canonical.suites),
            &["--quick", "--stages", "upgrade"],
            "out",
        )
        .stdout(Stdio::piped())
        .stderr(output)
        .spawn()
        .unwrap();
    guard.pids.push(child.id());
    let label = format!("{{{{index .Spec.Labels \"coop-cloud.{stack}.chaos-version\"}}}}");
    wait_until("the quick run's upgrade is deployed", 120, || {
        Command::new("docker")
            .args([
                "service",
                "inspect",
                &format!("{stack}_app"),
                "--format",
                &label,
            ])
            .output()
            .is_ok_and(|o| {
                let l = String::from_utf8_lossy(&o.stdout).trim().to_string();
                o.status.success() && !l.is_empty() && l != "<no value>"
            })
    });
    child
}

#[test]
fn ctrl_c_during_quick_leaves_the_canonical_restored_and_undeployed() {
    let rig = Rig::new();
    let stack = "warm-wint_ci_local";
    let mut guard = Guard::for_stacks(&[stack]);
    // The head never turns healthy: the quick run sits in its upgrade until interrupted.
    let canonical = seed_then_drift(&rig, "wint", stack, "NEVER_HEALTHY");

    let child = spawn_quick_until_upgraded(&rig, &canonical, stack, &mut guard, Stdio::piped());
    Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    let output = rx
        .recv_timeout(std::time::Duration::from_secs(180))
        .expect("the interrupted quick run finishes within 180 s")
        .unwrap();
    let run = rig.finish(output, "out");
    assert_eq!(run.code, 1, "{}", run.explain());
    let r = run.results();
    assert_eq!(r["mode"], "quick");
    assert_eq!(r["verdict"], "cancelled");
    assert_eq!(r["flags"]["interrupted"], true);
    assert_eq!(r["quick_end"]["restored"], true, "{}", run.explain());
    assert_undeployed_with_data(stack);
    assert_eq!(
        volume_tree(&canonical.volume),
        canonical.snapshot,
        "the volume holds exactly the snapshot"
    );
    assert_eq!(env_type(&rig, &canonical.rec), "wint:1.1.0+1.1.0");
}

#[test]
fn a_green_cold_run_of_an_enrolled_latest_release_promotes_and_a_red_reseed_keeps_it() {
    let rig = Rig::new();
    let stack = "warm-wprom_ci_local";
    let _guard = Guard::for_stacks(&[stack]);
    let recipe = rig.git_recipe("fixture-web", "wprom", &["1.0.0", "1.1.0"], "1.2.0", |_| {});
    git(
        &recipe,
        &["tag", "-a", "1.2.0+1.2.0", "-m", "release 1.2.0"],
    );
    let suites = rig.quick_suite("wprom");
    let toml = suites.join("wprom/suite.toml");
    let text = std::fs::read_to_string(&toml).unwrap();
    std::fs::write(&toml, format!("warm = true\n{text}")).unwrap();

    // A full cold run, no ref, of the latest release of an enrolled recipe: green promotes.
    let run = rig.run(&recipe, Some(&suites), &[]);
    assert_eq!(run.code, 0, "{}", run.explain());
    assert_eq!(run.results()["mode"], "cold");
    assert_eq!(run.results()["level"], 5);
    assert_eq!(run.results()["domain"], "warm-wprom.ci.local");
    let rec = record(&rig, "wprom").expect("a green cold run on the latest release promotes");
    assert_eq!(rec["version"], "1.2.0+1.2.0");
    assert_undeployed_with_data(stack);
    let volume = format!("{stack}_data");
    let kept = volume_tree(&volume);
    let record_bytes = std::fs::read(rig.state_dir().join("warm/wprom.json")).unwrap();

    // A new release that crash-loops: its seed is red and the old canonical stays as it was.
    set_flag(&recipe, "CRASH_AT_START");
    commit_all(&recipe, "release 1.3.0");
    git(
        &recipe,
        &["tag", "-a", "1.3.0+1.2.0", "-m", "release 1.3.0"],
    );
    let s = seed(&rig, &recipe, &suites, "install", None);
    assert_eq!(s.code, 1, "{}", s.explain());
    assert!(
        s.stdout
            .contains("the canonical stays at wprom 1.2.0+1.2.0"),
        "{}",
        s.stdout
    );
    assert_eq!(
        std::fs::read(rig.state_dir().join("warm/wprom.json")).unwrap(),
        record_bytes
    );
    assert_undeployed_with_data(stack);
    assert_eq!(
        volume_tree(&volume),
        kept,
        "the old canonical's data is back, byte for byte"
    );
}

#[test]
fn a_sigkilled_quick_run_leaves_a_canonical_the_janitor_puts_back_to_known_good() {
    let rig = Rig::new();
    let stack = "warm-wkil_ci_local";
    let mut guard = Guard::for_stacks(&[stack]);
    // The head never turns healthy: the quick run sits in its upgrade, at the PR head.
    let canonical = seed_then_drift(&rig, "wkil", stack, "NEVER_HEALTHY");
    let mut child = spawn_quick_until_upgraded(&rig, &canonical, stack, &mut guard, Stdio::null());
    // A crash of ours: no teardown, no restore.
    child.kill().unwrap();
    let _ = child.wait();
    assert!(
        !engine_objects("service", stack).is_empty(),
        "left at the PR head"
    );

    let janitor = ccci_ok(&rig, "janitor", &[]);
    assert!(janitor.contains("canonical put back"), "{janitor}");
    assert_undeployed_with_data(stack);
    assert_eq!(
        volume_tree(&canonical.volume),
        canonical.snapshot,
        "the volume holds exactly the snapshot"
    );
    assert_eq!(env_type(&rig, &canonical.rec), "wkil:1.1.0+1.1.0");
    assert!(registered_stacks(&rig.state_dir()).is_empty());
}

#[test]
fn a_quick_run_after_a_sigkilled_one_starts_from_the_known_good_canonical() {
    let rig = Rig::new();
    let stack = "warm-wnext_ci_local";
    let mut guard = Guard::for_stacks(&[stack]);
    let canonical = seed_then_drift(&rig, "wnext", stack, "NEVER_HEALTHY");
    let mut child = spawn_quick_until_upgraded(&rig, &canonical, stack, &mut guard, Stdio::null());
    // A crash of ours: no restore; the lock goes with the process; no janitor runs.
    child.kill().unwrap();
    let _ = child.wait();
    assert!(
        !engine_objects("service", stack).is_empty(),
        "left at the PR head"
    );

    // The next quick run (a fixed head) puts the canonical back before it reattaches.
    edit(
        &canonical.recipe,
        "compose.yml",
        "      - NEVER_HEALTHY=1\n",
        "      - NEVER_HEALTHY\n",
    );
    commit_all(&canonical.recipe, "fix: healthy again");
    let q = rig.run_into(
        &canonical.recipe,
        Some(&canonical.suites),
        &["--quick", "--stages", "upgrade"],
        "next",
    );
    assert_eq!(q.code, 0, "{}", q.explain());
    assert_eq!(q.results()["mode"], "quick");
    assert!(
        q.stderr
            .contains("the canonical of wnext was left by an earlier run: canonical put back"),
        "{}",
        q.stderr
    );
    assert_eq!(q.results()["quick_end"]["restored"], true);
    assert_undeployed_with_data(stack);
    assert_eq!(
        volume_tree(&canonical.volume),
        canonical.snapshot,
        "the volume holds exactly the snapshot"
    );
    assert_eq!(env_type(&rig, &canonical.rec), "wnext:1.1.0+1.1.0");
    assert!(registered_stacks(&rig.state_dir()).is_empty());
}

#[test]
fn a_quick_run_that_cannot_put_its_canonical_back_keeps_its_verdict_alerts_and_the_janitor_restores(
) {
    let rig = Rig::new();
    let stack = "warm-wfail_ci_local";
    let mut guard = Guard::for_stacks(&[stack]);
    // A good head (healthy after 1 s): the quick run is green.
    let canonical = seed_then_drift(&rig, "wfail", stack, "HEALTHY_AFTER");
    let snapshot = rig
        .state_dir()
        .join("warm/wfail")
        .join(canonical.rec["generation"].as_str().unwrap())
        .join("snapshot");
    let child = spawn_quick_until_upgraded(&rig, &canonical, stack, &mut guard, Stdio::piped());
    // Once the head is deployed, the snapshot's manifest goes missing: nothing can be put back.
    std::fs::rename(
        snapshot.join("manifest.json"),
        snapshot.join("manifest.json.away"),
    )
    .unwrap();
    let run = rig.finish(child.wait_with_output().unwrap(), "out");
    assert_eq!(run.code, 0, "the verdict stands: {}", run.explain());
    let r = run.results();
    assert_eq!(r["verdict"], "green");
    assert_eq!(r["quick_end"]["restored"], false, "{}", run.explain());
    let error = r["quick_end"]["error"].as_str().unwrap_or_default();
    assert!(error.contains("manifest.json"), "{error}");
    let alerts: Vec<Value> = std::fs::read_dir(rig.state_dir().join("alerts"))
        .unwrap()
        .flatten()
        .filter(|e| e.path().extension().is_some_and(|x| x == "json"))
        .map(|e| serde_json::from_slice(&std::fs::read(e.path()).unwrap()).unwrap())
        .collect();
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    assert_eq!(alerts[0]["kind"], "not_restored");
    assert_eq!(alerts[0]["app"], "wfail");
    let message = alerts[0]["message"].as_str().unwrap();
    assert!(
        message.contains("its verdict (green) stands") && message.contains("janitor"),
        "{message}"
    );
    assert_eq!(
        registered_stacks(&rig.state_dir()),
        vec![stack.to_string()],
        "left to the janitor"
    );

    // The snapshot is readable again: the janitor's next sweep puts the canonical back.
    std::fs::rename(
        snapshot.join("manifest.json.away"),
        snapshot.join("manifest.json"),
    )
    .unwrap();
    let janitor = ccci_ok(&rig, "janitor", &[]);
    assert!(janitor.contains("canonical put back"), "{janitor}");
    assert_undeployed_with_data(stack);
    assert_eq!(
        volume_tree(&canonical.volume),
        canonical.snapshot,
        "the volume holds exactly the snapshot"
    );
    assert_eq!(env_type(&rig, &canonical.rec), "wfail:1.1.0+1.1.0");
    assert!(registered_stacks(&rig.state_dir()).is_empty());
}
