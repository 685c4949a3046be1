//! Host hygiene on the real swarm (docs/behaviour.md §8): the janitor reaps what a SIGKILLed run
//! left and never touches a live run's app; `--dry-run` reaps nothing; `prune` is a gated dry run
//! by default and never removes images it should not.

use crate::common::*;
use serde_json::Value;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

/// Starts a fixture-web run that stays in its install wait (the app answers `/health` only
/// after 120 s; the healthcheck's start period keeps swarm from replacing the waiting task),
/// and returns it once its app is running on the engine (service, task, volume), with its
/// stack. `guard` cleans up after a failing test.
fn start_slow_run(rig: &Rig, name: &str, guard: &mut Guard) -> (Child, String) {
    let recipe = rig.recipe_copy("fixture-web", name);
    make_slow(&recipe);
    let suites = rig.suite_copy("fixture-web", name);
    spawn_run_until(
        rig,
        &recipe,
        &suites,
        &["--stages", "install"],
        name,
        guard,
        |stack| {
            !engine_objects("service", stack).is_empty()
                && !engine_objects("volume", stack).is_empty()
        },
    )
}

/// The registry entry of `stack` in a state dir.
fn registry_entry(state_dir: &std::path::Path, stack: &str) -> Option<Value> {
    let text = std::fs::read(state_dir.join("active").join(format!("{stack}.json"))).ok()?;
    serde_json::from_slice(&text).ok()
}

fn janitor(rig: &Rig, extra: &[&str]) -> String {
    ccci_ok(rig, "janitor", extra)
}

/// What a stack has on the engine, containers left out (swarm may replace those).
fn objects(stack: &str) -> Vec<String> {
    leftovers(stack)
        .into_iter()
        .filter(|l| !l.starts_with("container:"))
        .collect()
}

fn kill9(mut child: Child) {
    child.kill().unwrap(); // SIGKILL: no teardown, no unregistering.
    child.wait().unwrap();
}

#[test]
fn janitor_reaps_a_sigkilled_run_and_never_touches_a_live_one() {
    let rig = Rig::new();
    let mut guard = Guard::default();
    let (dead, dead_stack) = start_slow_run(&rig, "killedrun", &mut guard);
    let (live, live_stack) = start_slow_run(&rig, "liverun", &mut guard);
    let dead_work: Option<PathBuf> = registry_entry(&rig.state_dir(), &dead_stack)
        .and_then(|e| e["work_dir"].as_str().map(PathBuf::from));
    kill9(dead);

    // The dead run left its app, its secrets, volume and network, and its registry entry.
    let left = objects(&dead_stack);
    for kind in ["service:", "secret:", "volume:"] {
        assert!(
            left.iter().any(|l| l.starts_with(kind)),
            "expected a {kind} left: {left:?}"
        );
    }
    assert!(registered_stacks(&rig.state_dir()).contains(&dead_stack));
    let live_before = objects(&live_stack);
    let live_service_id = service_id(&format!("{live_stack}_app"));

    let report = janitor(&rig, &[]);
    assert!(
        report.contains(&format!("{dead_stack}: reaped (owner dead)")),
        "{report}"
    );
    assert!(
        report.contains(&format!("{live_stack}: live, left alone")),
        "{report}"
    );
    assert!(
        leftovers(&dead_stack).is_empty(),
        "left: {:?}",
        leftovers(&dead_stack)
    );
    assert!(!registered_stacks(&rig.state_dir()).contains(&dead_stack));
    if let Some(dir) = dead_work {
        assert!(
            !dir.exists(),
            "the dead run's work dir {} is still there",
            dir.display()
        );
    }

    // The live run's app is untouched: same objects, same service, still registered.
    assert_eq!(objects(&live_stack), live_before);
    assert_eq!(service_id(&format!("{live_stack}_app")), live_service_id);
    assert!(registered_stacks(&rig.state_dir()).contains(&live_stack));

    // Stopping the live run with Ctrl-C tears it down.
    assert_eq!(unsafe { libc::kill(live.id() as i32, libc::SIGINT) }, 0);
    let run = rig.finish(live.wait_with_output().unwrap(), "out-liverun");
    assert_eq!(run.code, 1, "{}", run.explain());
    assert_eq!(run.stack(), live_stack);
    assert_eq!(run.results()["flags"]["interrupted"], true);
    assert_eq!(run.results()["verdict"], "cancelled");
    assert!(
        leftovers(&live_stack).is_empty(),
        "left: {:?}",
        leftovers(&live_stack)
    );
    assert!(registered_stacks(&rig.state_dir()).is_empty());
}

fn service_id(service: &str) -> String {
    let out = Command::new("docker")
        .args(["service", "inspect", "--format", "{{.ID}}", service])
        .output()
        .unwrap();
    assert!(out.status.success(), "no service {service}");
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

#[test]
fn janitor_dry_run_reaps_nothing() {
    let rig = Rig::new();
    let mut guard = Guard::default();
    let (dead, stack) = start_slow_run(&rig, "dryjanitor", &mut guard);
    kill9(dead);
    let before = objects(&stack);
    assert!(
        before.iter().any(|l| l.starts_with("service:")),
        "{before:?}"
    );

    let report = janitor(&rig, &["--dry-run"]);
    assert!(report.contains(&format!("{stack}: would reap")), "{report}");
    assert!(!report.contains("reaped"), "{report}");
    assert_eq!(objects(&stack), before, "a dry run removed something");
    assert!(registered_stacks(&rig.state_dir()).contains(&stack));

    // The real janitor then cleans up (and this test leaves nothing behind).
    let report = janitor(&rig, &[]);
    assert!(
        report.contains(&format!("{stack}: reaped (owner dead)")),
        "{report}"
    );
    assert!(
        leftovers(&stack).is_empty(),
        "left: {:?}",
        leftovers(&stack)
    );
    assert!(registered_stacks(&rig.state_dir()).is_empty());
}

fn prune(rig: &Rig, extra: &[&str]) -> String {
    ccci_ok(rig, "prune", extra)
}

fn image_exists(reference: &str) -> bool {
    Command::new("docker")
        .args(["image", "inspect", "--format", "{{.Id}}", reference])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .unwrap()
        .success()
}

/// Disk use of the engine's data root, as `df` reports it.
fn docker_disk_percent() -> u8 {
    let root = Command::new("docker")
        .args(["info", "--format", "{{.DockerRootDir}}"])
        .output()
        .unwrap();
    let root = String::from_utf8_lossy(&root.stdout).trim().to_string();
    let df = Command::new("df")
        .args(["--output=pcent", &root])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&df.stdout);
    text.lines()
        .nth(1)
        .unwrap()
        .trim()
        .trim_end_matches('%')
        .parse()
        .unwrap()
}

/// Builds an untagged image (dangling from birth) labelled with this test; returns its id.
fn build_dangling_image(test: &str) -> String {
    let label = format!("ccci.test.{test}={}", std::process::id());
    let mut build = Command::new("docker")
        .args(["build", "-q", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    {
        use std::io::Write;
        let mut stdin = build.stdin.take().unwrap();
        writeln!(stdin, "FROM ccci-fixture:1.2.0\nLABEL {label}").unwrap();
    }
    let built = build.wait_with_output().unwrap();
    assert!(
        built.status.success(),
        "docker build: {}",
        String::from_utf8_lossy(&built.stderr)
    );
    let dangling = String::from_utf8_lossy(&built.stdout).trim().to_string();
    assert!(image_exists(&dangling));
    dangling
}

/// Registers a run in flight in the rig's state dir (owner alive: this test process).
fn register_live_run(rig: &Rig, stack: &str) -> PathBuf {
    let active = rig.state_dir().join("active");
    std::fs::create_dir_all(&active).unwrap();
    let entry = serde_json::json!({
        "run_id": "prune-gate", "domain": format!("{}.ci.local", &stack[..11]), "stack": stack,
        "recipe": "fixture-web", "pid": std::process::id(), "pid_start": null, "started_at": 0,
    });
    let path = active.join(format!("{stack}.json"));
    std::fs::write(&path, entry.to_string()).unwrap();
    path
}

#[test]
fn a_run_above_the_prune_threshold_prunes_first_says_so_and_keeps_young_dangling_images() {
    let rig = Rig::new();
    let recipe = rig.recipe_copy("fixture-web", "prunerun");
    // The prune is the subject, not the app's uptime.
    let suites = rig.quick_suite("prunerun");
    let dangling = build_dangling_image("prunerun");
    // A threshold of 0 % puts this host "above the threshold" without filling its disk.
    let flags = ["--stages", "install", "--prune-threshold", "0"];

    // Another run in flight on this rig: the gate holds, and the run log says why.
    let in_flight = register_live_run(&rig, "prun-000000_ci_local");
    let run = rig.run_into(&recipe, Some(&suites), &flags, "out-gated");
    assert_eq!(run.code, 0, "{}", run.explain());
    assert!(
        run.stderr
            .contains("(prune threshold 0%): 1 run(s) in flight; not pruning"),
        "{}",
        run.explain()
    );
    assert!(!run.stderr.contains("pruning first"), "{}", run.explain());
    std::fs::remove_file(in_flight).unwrap();

    // Nothing in flight: the run prunes first, says so, and still goes green.
    let run = rig.run_into(&recipe, Some(&suites), &flags, "out-pruned");
    assert_eq!(run.code, 0, "{}", run.explain());
    let log = &run.stderr;
    let line_of = |start: &str| log.lines().position(|l| l.contains(start));
    let announced = line_of("(prune threshold 0%): pruning first").expect(log);
    let registered = line_of(&format!(
        "run {}: ",
        run.results()["run_id"].as_str().unwrap()
    ));
    assert!(
        registered.is_some_and(|r| announced < r),
        "pruned before the run registered:\n{log}"
    );
    for step in [
        "docker image prune --force --filter until=24h: ",
        "docker container prune --force --filter until=24h: ",
        "docker builder prune --force --filter until=24h: ",
    ] {
        assert!(log.contains(step), "missing {step:?} in:\n{log}");
    }
    // The 24 h age holds for dangling images too: one built a moment ago is kept.
    assert!(image_exists(&dangling), "a young dangling image was pruned");
    for v in ["1.0.0", "1.1.0", "1.2.0"] {
        assert!(
            image_exists(&format!("ccci-fixture:{v}")),
            "ccci-fixture:{v} is gone"
        );
    }
    assert_clean(&run);
    let _ = Command::new("docker")
        .args(["image", "rm", &dangling])
        .output();
}

#[test]
fn prune_is_a_gated_dry_run_that_removes_nothing() {
    let rig = Rig::new();
    // Below the threshold it does nothing (100 % unless the disk is full; the default 80 %
    // too when the disk is clearly below it).
    let used = docker_disk_percent();
    if used < 100 {
        let report = prune(&rig, &["--threshold", "100"]);
        assert!(report.contains("below 100%; nothing to do"), "{report}");
    }
    if used < 75 {
        let report = prune(&rig, &[]);
        assert!(report.contains("below 80%; nothing to do"), "{report}");
    }

    // A dangling image of this test's own: what a real prune would remove (once 24 h old).
    let dangling = build_dangling_image("prune");

    // At threshold 0 it lists what it would run, and runs nothing.
    let report = prune(&rig, &["--threshold", "0"]);
    for step in [
        "would run: docker image prune --force --filter until=24h\n",
        "would run: docker container prune --force --filter until=24h\n",
        "would run: docker builder prune --force --filter until=24h\n",
    ] {
        assert!(report.contains(step), "missing {step:?} in:\n{report}");
    }
    assert!(
        !report.contains("--all") && !report.contains(" -a") && !report.contains("volume"),
        "{report}"
    );
    assert!(
        image_exists(&dangling),
        "a dry run removed a dangling image"
    );
    for v in ["1.0.0", "1.1.0", "1.2.0"] {
        assert!(
            image_exists(&format!("ccci-fixture:{v}")),
            "ccci-fixture:{v} is gone"
        );
    }

    // A run in flight (registered, owner alive: this test process) blocks pruning outright.
    register_live_run(&rig, "prun-000000_ci_local");
    let report = prune(&rig, &["--threshold", "0"]);
    assert!(
        report.contains("1 run(s) in flight; not pruning"),
        "{report}"
    );
    assert!(!report.contains("would run"), "{report}");

    let _ = Command::new("docker")
        .args(["image", "rm", &dangling])
        .output();
}

/// A supervisor that stops reading a run's output (its pipe closed) must still be able to
/// stop it: Ctrl-C tears down, and the run exits red, not with a panic.
#[test]
fn sigint_tears_down_even_when_nobody_reads_the_output() {
    let rig = Rig::new();
    let mut guard = Guard::default();
    let (mut child, stack) = start_slow_run(&rig, "deafrun", &mut guard);
    drop(child.stdout.take());
    drop(child.stderr.take());
    assert_eq!(unsafe { libc::kill(child.id() as i32, libc::SIGINT) }, 0);
    let mut status = None;
    wait_until("the interrupted run to exit", 90, || {
        status = child.try_wait().unwrap();
        status.is_some()
    });
    assert_eq!(status.unwrap().code(), Some(1), "{status:?}");
    let results: Value =
        serde_json::from_slice(&std::fs::read(rig.path("out-deafrun/results.json")).unwrap())
            .unwrap();
    assert_eq!(results["flags"]["interrupted"], true);
    assert!(
        leftovers(&stack).is_empty(),
        "left: {:?}",
        leftovers(&stack)
    );
    assert!(registered_stacks(&rig.state_dir()).is_empty());
}

#[test]
fn doctor_passes_on_this_host_and_names_an_unreachable_engine() {
    let rig = Rig::new();
    let stdout = ccci_ok(&rig, "doctor", &["--json"]);
    let checks: Vec<serde_json::Value> = serde_json::from_str(&stdout).unwrap();
    for name in [
        "docker",
        "swarm",
        "proxy",
        "ipvs",
        "state dir",
        "disk",
        "clock",
    ] {
        assert!(
            checks.iter().any(|c| c["name"] == name),
            "no {name} check: {stdout}"
        );
    }
    assert!(checks.iter().all(|c| c["status"] != "fail"), "{stdout}");

    let out = ccci()
        .args(["doctor", "--state-dir"])
        .arg(rig.state_dir())
        .env(
            "DOCKER_HOST",
            format!("unix://{}", rig.path("no-engine.sock").display()),
        )
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    let line = stdout.lines().find(|l| l.contains("docker")).unwrap_or("");
    assert!(
        line.starts_with("FAIL") && line.contains("fix:"),
        "{stdout}"
    );
}
