//! `--keep` (issue 11): a RED run keeps its app deployed for debugging, reachable through
//! its forwarder, and says so; `ccci janitor` leaves it alone until its time and removes
//! everything after. The `ccci run` process has exited by then (its owner is dead): the
//! same state a run SIGKILLed while keeping leaves, so this is the crash-safety case too.

use crate::common::*;
use serde_json::Value;
use std::process::{Command, Stdio};

/// fixture-static judged by a suite whose HTTP check can never pass: install passes (the
/// app is up and healthy), functional fails, RED.
const RED_SUITE: &str = include_str!("keep_red_suite.toml");

/// `curl` through the kept app's route as the results describe it; the HTTP status.
fn status_through(kept: &Value, domain: &str, path: &str) -> String {
    let url = kept["url"].as_str().unwrap().trim_end_matches('/');
    let out = Command::new("curl")
        .args([
            "-s",
            "-o",
            "/dev/null",
            "-w",
            "%{http_code}",
            "--max-time",
            "5",
        ])
        .args(["-H", &format!("Host: {domain}")])
        .arg(format!("{url}{path}"))
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn a_kept_red_app_stays_up_until_its_time_then_the_janitor_removes_everything() {
    let rig = Rig::new();
    let recipe = rig.recipe_copy("fixture-static", "kept");
    let suites = rig.suite("kept", RED_SUITE);
    let run = rig.run(
        &recipe,
        Some(&suites),
        &["--stages", "install,functional", "--keep", "20s"],
    );
    let stack = run.stack();
    let _guard = Guard::for_stacks(&[&stack]);
    let r = run.results();
    assert_eq!(
        (run.code, r["verdict"].as_str()),
        (1, Some("red")),
        "{}",
        run.explain()
    );
    assert_eq!(r["failure"]["rung"], "functional", "{}", run.explain());

    // The results say until when, how to reach it, its logs and the early release.
    let kept = &r["kept"];
    let until = kept["until_unix"]
        .as_i64()
        .unwrap_or_else(|| panic!("not kept: {}", run.explain()));
    let domain = r["domain"].as_str().unwrap();
    assert_eq!(
        kept["logs"][0],
        format!("docker service logs {stack}_app"),
        "{kept}"
    );
    assert!(
        kept["release"]
            .as_str()
            .unwrap()
            .contains(&format!("--release {stack}")),
        "{kept}"
    );
    assert!(kept["reach"].as_str().unwrap().contains(domain), "{kept}");
    assert!(
        run.stdout
            .contains("the app stays deployed for debugging until")
            && run
                .stdout
                .contains(&format!("docker service logs {stack}_app")),
        "the summary says it is kept: {}",
        run.stdout
    );
    let comment = std::fs::read_to_string(run.out.join("comment.md")).unwrap_or_default();
    assert!(comment.contains("Kept for debugging until"), "{comment}");

    // Still deployed after the run, and answering through its route.
    assert!(
        !engine_objects("service", &stack).is_empty(),
        "the app was torn down"
    );
    assert_eq!(status_through(kept, domain, "/health"), "200");
    assert_eq!(registered_stacks(&rig.state_dir()), vec![stack.clone()]);

    // The janitor before the time: left alone.
    let early = ccci_ok(&rig, "janitor", &[]);
    assert!(
        early.contains(&format!("{stack}: kept for debugging")),
        "{early}"
    );
    assert!(
        !engine_objects("service", &stack).is_empty(),
        "reaped early: {early}"
    );
    assert_eq!(status_through(kept, domain, "/health"), "200");

    // After the time: everything goes (services, volumes, secrets, configs, networks, the
    // forwarder container), and the registry entry.
    wait_until("the keep is over", 60, || time_now() > until);
    let late = ccci_ok(&rig, "janitor", &[]);
    assert!(
        late.contains(&format!("{stack}: reaped (kept for debugging, time up)")),
        "{late}"
    );
    assert_eq!(leftovers(&stack), Vec::<String>::new(), "{late}");
    assert!(registered_stacks(&rig.state_dir()).is_empty());
}

fn time_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

#[test]
fn a_green_run_asked_to_keep_tears_down_as_always() {
    let rig = Rig::new();
    let recipe = rig.recipe_copy("fixture-static", "keepgreen");
    let suites = rig.suite_copy("fixture-static", "keepgreen");
    let run = rig.run(
        &recipe,
        Some(&suites),
        &["--stages", "install", "--keep", "20s"],
    );
    let _guard = Guard::for_stacks(&[&run.stack()]);
    assert_eq!(run.code, 0, "{}", run.explain());
    assert!(run.results().get("kept").is_none(), "{}", run.explain());
    assert!(
        run.stderr.contains("--keep: the run is green"),
        "{}",
        run.stderr
    );
    assert_eq!(leftovers(&run.stack()), Vec::<String>::new());
    assert!(registered_stacks(&rig.state_dir()).is_empty());
}

#[test]
fn a_bad_keep_value_is_bad_input_naming_the_flag() {
    let rig = Rig::new();
    let recipe = rig.recipe_copy("fixture-static", "keepbad");
    for (value, says) in [
        ("3h", "at most 2h"),
        ("soon", "not a duration"),
        ("0s", "must be at least 1s"),
    ] {
        let out = rig
            .command(&recipe, None, &["--keep", value], "out")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{value}: {stderr}");
        assert!(
            stderr.contains(&format!("--keep `{value}`: {says}")),
            "{value}: {stderr}"
        );
    }
    // Releasing what is not kept is bad input too.
    let out = ccci()
        .args(["janitor", "--release", "nope_ci_local", "--state-dir"])
        .arg(rig.state_dir())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("no app `nope_ci_local` is kept"),
        "{stderr}"
    );
}
