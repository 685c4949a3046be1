//! The live-warm reconciler, alerts and the nightly sweep (docs/behaviour.md §6) on the real swarm:
//! a minor bump applied, a major bump held with an alert (relayed once), a crash-looping
//! stateful upgrade rolled back with its data snapshot, and the sweep (skip when a run is in
//! flight, enrolled recipes run and promoted, a de-enrolled recipe's warm data pruned).

use crate::common::*;
use serde_json::Value;
use std::path::Path;
use std::process::{Command, Output, Stdio};

fn ccci(rig: &Rig, args: &[&str]) -> Output {
    crate::common::ccci()
        .args(args)
        .arg("--state-dir")
        .arg(rig.state_dir())
        .env_remove("CCCI_SUITES_DIR")
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

fn reconcile(rig: &Rig) -> Output {
    ccci(rig, &["warm", "reconcile"])
}

fn live_state(rig: &Rig, name: &str) -> Value {
    serde_json::from_slice(
        &std::fs::read(
            rig.state_dir()
                .join("live-warm")
                .join(format!("{name}.json")),
        )
        .unwrap(),
    )
    .unwrap()
}

fn pending_alerts(rig: &Rig) -> Vec<Value> {
    let Ok(entries) = std::fs::read_dir(rig.state_dir().join("alerts")) else {
        return Vec::new();
    };
    let mut v: Vec<Value> = entries
        .flatten()
        .filter(|e| e.path().extension().is_some_and(|x| x == "json"))
        .map(|e| serde_json::from_slice(&std::fs::read(e.path()).unwrap()).unwrap())
        .collect();
    v.sort_by_key(|a| a["id"].as_str().unwrap_or("").to_string());
    v
}

fn write_config(rig: &Rig, name: &str, recipe: &Path, domain: &str, stateful: bool) {
    std::fs::create_dir_all(rig.state_dir()).unwrap();
    std::fs::write(
        rig.state_dir().join("live-warm.toml"),
        format!(
            "[[app]]\nname = \"{name}\"\nrecipe = \"{}\"\ndomain = \"{domain}\"\nstateful = {stateful}\n",
            recipe.display()
        ),
    )
    .unwrap();
}

/// The image of a stack's `app` service.
fn app_image(stack: &str) -> String {
    let out = Command::new("docker")
        .args([
            "service",
            "inspect",
            "-f",
            "{{.Spec.TaskTemplate.ContainerSpec.Image}}",
            &format!("{stack}_app"),
        ])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// Running tasks of a stack's `app` service.
fn running_tasks(stack: &str) -> usize {
    let out = Command::new("docker")
        .args([
            "service",
            "ps",
            "-q",
            "--filter",
            "desired-state=running",
            &format!("{stack}_app"),
        ])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).lines().count()
}

fn tag(dir: &Path, version: &str, t: &str) {
    set_version(dir, version);
    commit_all(dir, &format!("release {t}"));
    git(dir, &["tag", "-a", t, "-m", &format!("release {t}")]);
}

#[test]
fn reconciler_applies_a_minor_bump_holds_a_major_one_and_alerts_are_relayed_once() {
    let rig = Rig::new();
    let domain = "lwmin.livewarm.local";
    let stack = "lwmin_livewarm_local";
    let _guard = Guard::for_stacks(&[stack]);
    let recipe = rig.git_recipe("fixture-static", "lwmin", &["1.0.0"], "1.0.0", |_| {});
    write_config(&rig, "lwmin", &recipe, domain, false);

    // First reconcile: installs the latest release.
    let o = reconcile(&rig);
    assert!(o.status.success(), "{}", explain(&o));
    assert!(
        String::from_utf8_lossy(&o.stdout).contains("lwmin: installed 1.0.0+1.0.0"),
        "{}",
        explain(&o)
    );
    assert_eq!(live_state(&rig, "lwmin")["last_good"], "1.0.0+1.0.0");
    assert_eq!(app_image(stack), "ccci-fixture:1.0.0");

    // A minor bump: applied, healthy on the new version.
    tag(&recipe, "1.1.0", "1.1.0+1.1.0");
    let o = reconcile(&rig);
    assert!(o.status.success(), "{}", explain(&o));
    assert!(
        String::from_utf8_lossy(&o.stdout)
            .contains("lwmin: upgraded 1.0.0+1.0.0 → 1.1.0+1.1.0; healthy"),
        "{}",
        explain(&o)
    );
    assert_eq!(live_state(&rig, "lwmin")["last_good"], "1.1.0+1.1.0");
    assert_eq!(app_image(stack), "ccci-fixture:1.1.0");
    assert_eq!(running_tasks(stack), 1);
    assert!(
        pending_alerts(&rig).is_empty(),
        "{:?}",
        pending_alerts(&rig)
    );

    // A major bump: held, alerted once (a second reconcile does not alert again).
    tag(&recipe, "1.2.0", "2.0.0+1.2.0");
    let o = reconcile(&rig);
    assert!(o.status.success(), "{}", explain(&o));
    assert!(
        String::from_utf8_lossy(&o.stdout)
            .contains("lwmin: held at 1.1.0+1.1.0 (latest 2.0.0+1.2.0)"),
        "{}",
        explain(&o)
    );
    let state = live_state(&rig, "lwmin");
    assert_eq!(state["last_good"], "1.1.0+1.1.0");
    assert_eq!(state["held"], "2.0.0+1.2.0");
    assert_eq!(app_image(stack), "ccci-fixture:1.1.0", "held: not deployed");
    let alerts = pending_alerts(&rig);
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    assert_eq!(alerts[0]["app"], "lwmin");
    assert_eq!(alerts[0]["kind"], "held");
    assert!(
        alerts[0]["message"].as_str().unwrap().contains("major"),
        "{alerts:?}"
    );
    for key in ["id", "ts"] {
        assert!(alerts[0][key].as_str().is_some_and(|s| !s.is_empty()));
    }
    let o = reconcile(&rig);
    assert!(o.status.success(), "{}", explain(&o));
    assert_eq!(
        pending_alerts(&rig).len(),
        1,
        "held alerts once per release"
    );

    // `ccci alerts --relay`: each alert once on stdout, then archived.
    let listed = ccci(&rig, &["alerts"]);
    assert!(
        String::from_utf8_lossy(&listed.stdout).contains("pending"),
        "{}",
        explain(&listed)
    );
    let relay = ccci(&rig, &["alerts", "--relay"]);
    assert!(relay.status.success(), "{}", explain(&relay));
    let lines: Vec<Value> = String::from_utf8_lossy(&relay.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(
        lines, alerts,
        "the relay prints each pending alert as one JSON line"
    );
    assert!(pending_alerts(&rig).is_empty());
    assert_eq!(
        std::fs::read_dir(rig.state_dir().join("alerts/archive"))
            .unwrap()
            .count(),
        1
    );
    let again = ccci(&rig, &["alerts", "--relay"]);
    assert!(again.status.success());
    assert!(again.stdout.is_empty(), "relayed once: {}", explain(&again));
}

#[test]
fn reconciler_rolls_back_a_crash_looping_stateful_upgrade_with_its_data() {
    let rig = Rig::new();
    let domain = "lwroll.livewarm.local";
    let stack = "lwroll_livewarm_local";
    let _guard = Guard::for_stacks(&[stack]);
    let recipe = rig.git_recipe("fixture-web", "lwroll", &["1.0.0"], "1.0.0", |_| {});
    write_config(&rig, "lwroll", &recipe, domain, true);
    let o = reconcile(&rig);
    assert!(o.status.success(), "{}", explain(&o));
    assert_eq!(live_state(&rig, "lwroll")["last_good"], "1.0.0+1.0.0");
    // Data the upgrade must not lose.
    let volume = format!("{stack}_data");
    std::fs::write(volume_mountpoint(&volume).join("precious"), b"keep me").unwrap();
    let before = volume_tree(&volume);

    // 1.1.0 crash-loops: rolled back to 1.0.0 with the snapshot, alerted.
    set_flag(&recipe, "CRASH_AT_START");
    tag(&recipe, "1.1.0", "1.1.0+1.1.0");
    let o = reconcile(&rig);
    assert!(o.status.success(), "{}", explain(&o));
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(
        stdout.contains("lwroll: 1.1.0+1.1.0 failed")
            && stdout.contains("rolled back to 1.0.0+1.0.0"),
        "{}",
        explain(&o)
    );
    assert!(
        stdout.contains("crash-looping") || stdout.contains("swarm paused it"),
        "{}",
        explain(&o)
    );
    assert_eq!(live_state(&rig, "lwroll")["last_good"], "1.0.0+1.0.0");
    assert_eq!(
        app_image(stack),
        "ccci-fixture:1.0.0",
        "the prior version runs"
    );
    assert_eq!(running_tasks(stack), 1);
    assert_eq!(
        volume_tree(&volume),
        before,
        "the snapshot is restored byte for byte"
    );
    let alerts = pending_alerts(&rig);
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    assert_eq!(alerts[0]["kind"], "rolled_back");
    assert!(
        alerts[0]["message"]
            .as_str()
            .unwrap()
            .contains("1.1.0+1.1.0"),
        "{alerts:?}"
    );
}

#[test]
fn nightly_skips_in_flight_runs_enrolled_recipes_and_prunes_de_enrolled_warm_data() {
    let rig = Rig::new();
    let _guard = Guard::for_stacks(&["warm-nwarm_ci_local", "warm-ngone_ci_local"]);
    let recipe = rig.git_recipe("fixture-web", "nwarm", &["1.0.0", "1.1.0"], "1.2.0", |_| {});
    let suites = rig.suite_copy("fixture-web", "nwarm");
    let toml = suites.join("nwarm/suite.toml");
    let text = std::fs::read_to_string(&toml).unwrap();
    std::fs::write(&toml, format!("warm = true\n{text}")).unwrap();
    std::fs::write(
        suites.join("nwarm/source"),
        format!("{}\n", recipe.display()),
    )
    .unwrap();
    // A suite not enrolled is not run.
    rig.suite("nplain", "health_path = \"/health\"\n");
    let nightly = |rig: &Rig| {
        crate::common::ccci()
            .arg("nightly")
            .arg("--state-dir")
            .arg(rig.state_dir())
            .arg("--suites")
            .arg(&suites)
            .env_remove("CCCI_SUITES_DIR")
            .stdin(Stdio::null())
            .output()
            .unwrap()
    };

    // A run in flight (this test process owns it): the sweep is skipped, and says so.
    let active = rig.state_dir().join("active");
    std::fs::create_dir_all(&active).unwrap();
    let pid = std::process::id();
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let start: u64 = stat[stat.rfind(')').unwrap() + 2..]
        .split_whitespace()
        .nth(19)
        .unwrap()
        .parse()
        .unwrap();
    std::fs::write(
        active.join("busy_ci_local.json"),
        serde_json::json!({
            "run_id": "r1", "domain": "busy.ci.local", "stack": "busy_ci_local",
            "recipe": "busy", "pid": pid, "pid_start": start, "started_at": 0
        })
        .to_string(),
    )
    .unwrap();
    let o = nightly(&rig);
    assert!(o.status.success(), "{}", explain(&o));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        out.contains("nightly: skipped")
            && out.contains("in flight")
            && out.contains("busy_ci_local"),
        "{}",
        explain(&o)
    );
    assert!(!rig.state_dir().join("warm/nwarm.json").exists());
    std::fs::remove_file(active.join("busy_ci_local.json")).unwrap();

    // Warm data of a recipe that is no longer enrolled: record, files, engine volume.
    let warm = rig.state_dir().join("warm");
    std::fs::create_dir_all(warm.join("ngone/gen-1/snapshot")).unwrap();
    std::fs::write(
        warm.join("ngone.json"),
        serde_json::json!({
            "recipe": "ngone", "domain": "warm-ngone.ci.local", "version": "1.0.0+1.0.0",
            "commit": null, "status": "green", "ts": "2026-01-01T00:00:00Z",
            "stack": "warm-ngone_ci_local", "generation": "gen-1"
        })
        .to_string(),
    )
    .unwrap();
    let made = Command::new("docker")
        .args([
            "volume",
            "create",
            "--label",
            "com.docker.stack.namespace=warm-ngone_ci_local",
            "warm-ngone_ci_local_data",
        ])
        .output()
        .unwrap();
    assert!(made.status.success());

    // The sweep: the enrolled recipe runs cold on its latest release and promotes; the
    // de-enrolled one's warm data goes; disk use is logged.
    let o = nightly(&rig);
    assert!(o.status.success(), "{}", explain(&o));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.contains("nightly sweep"), "{}", explain(&o));
    assert!(
        out.contains("live-warm: none configured"),
        "{}",
        explain(&o)
    );
    assert!(
        out.contains("run nwarm: green; canonical 1.1.0+1.1.0"),
        "{}",
        explain(&o)
    );
    assert!(!out.contains("nplain"), "{}", explain(&o));
    assert!(
        out.contains("pruned warm data of ngone (no longer enrolled)"),
        "{}",
        explain(&o)
    );
    assert!(
        out.contains("disk: ") && out.contains("% used"),
        "{}",
        explain(&o)
    );
    let rec: Value =
        serde_json::from_slice(&std::fs::read(warm.join("nwarm.json")).unwrap()).unwrap();
    assert_eq!(rec["version"], "1.1.0+1.1.0");
    assert!(!warm.join("ngone.json").exists());
    assert!(!warm.join("ngone").exists());
    assert!(
        leftovers("warm-ngone_ci_local").is_empty(),
        "{:?}",
        leftovers("warm-ngone_ci_local")
    );
    assert_eq!(
        engine_objects("volume", "warm-nwarm_ci_local"),
        vec!["warm-nwarm_ci_local_data".to_string()],
        "the enrolled recipe's canonical keeps its data"
    );
}

#[test]
fn reconciler_keeps_a_stateful_app_up_when_its_snapshot_fails() {
    let rig = Rig::new();
    let domain = "lwsnap.livewarm.local";
    let stack = "lwsnap_livewarm_local";
    let _guard = Guard::for_stacks(&[stack]);
    let recipe = rig.git_recipe("fixture-web", "lwsnap", &["1.0.0"], "1.0.0", |_| {});
    write_config(&rig, "lwsnap", &recipe, domain, true);
    let o = reconcile(&rig);
    assert!(o.status.success(), "{}", explain(&o));
    // The snapshot cannot be written: a file stands where its directory goes.
    let snapshot = rig.state_dir().join("live-warm/lwsnap/snapshot");
    std::fs::create_dir_all(snapshot.parent().unwrap()).unwrap();
    std::fs::write(&snapshot, b"not a directory").unwrap();
    tag(&recipe, "1.1.0", "1.1.0+1.1.0");
    let o = reconcile(&rig);
    // The host failed it (exit 3, alerted), not the recipe.
    assert_eq!(o.status.code(), Some(3), "{}", explain(&o));
    assert!(
        String::from_utf8_lossy(&o.stdout).contains("FAILED"),
        "{}",
        explain(&o)
    );
    // Not left down: last_good runs again, the upgrade was not applied, and it says so.
    assert_eq!(app_image(stack), "ccci-fixture:1.0.0", "{}", explain(&o));
    assert_eq!(running_tasks(stack), 1);
    assert_eq!(live_state(&rig, "lwsnap")["last_good"], "1.0.0+1.0.0");
    let alerts = pending_alerts(&rig);
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    assert_eq!(alerts[0]["kind"], "failed");
    let message = alerts[0]["message"].as_str().unwrap();
    assert!(message.contains("snapshotting before"), "{message}");
    assert!(message.contains("1.0.0+1.0.0 redeployed"), "{message}");
}

#[test]
fn reconciler_adopts_a_running_app_without_a_record_and_holds_its_major_bump() {
    let rig = Rig::new();
    let domain = "lwadopt.livewarm.local";
    let stack = "lwadopt_livewarm_local";
    let _guard = Guard::for_stacks(&[stack]);
    let recipe = rig.git_recipe("fixture-web", "lwadopt", &["1.0.0"], "1.0.0", |_| {});
    write_config(&rig, "lwadopt", &recipe, domain, false);
    let o = reconcile(&rig);
    assert!(o.status.success(), "{}", explain(&o));
    // The record is lost (a fresh state dir, a host moved): the app keeps running.
    std::fs::remove_file(rig.state_dir().join("live-warm/lwadopt.json")).unwrap();
    tag(&recipe, "2.0.0", "2.0.0+2.0.0");
    let o = reconcile(&rig);
    assert!(o.status.success(), "{}", explain(&o));
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("adopting the running app at 1.0.0+1.0.0"),
        "{}",
        explain(&o)
    );
    assert!(stdout.contains("held"), "{}", explain(&o));
    assert_eq!(
        app_image(stack),
        "ccci-fixture:1.0.0",
        "the major bump is not applied"
    );
    assert_eq!(live_state(&rig, "lwadopt")["last_good"], "1.0.0+1.0.0");
}
