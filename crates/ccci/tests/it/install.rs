//! The engine room on the real swarm: install, readiness, fail-fast, teardown, bad input.

use crate::common::*;
use std::time::{Duration, Instant};

#[test]
fn example_recipe_installs_green_and_leaves_nothing_behind() {
    let rig = Rig::new();
    let recipe = rig.recipe_copy("fixture-web", "greeninst");
    let suites = rig.suite_copy("fixture-web", "greeninst");
    let run = rig.run(
        &recipe,
        Some(&suites),
        &["--stages", "install", "--screenshots", "true"],
    );
    assert_eq!(run.code, 0, "{}", run.explain());
    let r = run.results();
    assert_eq!(r["schema"], ccci_core::results::SCHEMA_VERSION);
    assert_eq!(r["verdict"], "green");
    assert_eq!(r["level"], 1);
    assert_eq!(run.rung("install")["status"], "pass");
    assert_eq!(r["deploy_count"], 1);
    // What a recipe page's "where it broke" compares: images per service and `.env` keys.
    assert_eq!(r["images"]["app"], "ccci-fixture:1.2.0", "{r}");
    let keys: Vec<&str> = r["env_keys"]
        .as_array()
        .map(|k| k.iter().filter_map(|k| k.as_str()).collect())
        .unwrap_or_default();
    for key in ["DOMAIN", "SECRET_DB_PASSWORD_VERSION", "TYPE"] {
        assert!(keys.contains(&key), "{key} not in {keys:?}");
    }
    let domain = r["domain"].as_str().unwrap();
    assert!(
        !r["env_keys"].to_string().contains(domain),
        "a value was recorded"
    );
    // On the host, cc-ci reaches its forwarder through the loopback publish.
    assert_eq!(r["route"]["via"], "forwarder_loopback", "{r}");
    assert!(
        r["route"]["addr"]
            .as_str()
            .is_some_and(|a| a.starts_with("127.0.0.1:")),
        "{r}"
    );
    for phase in ["create", "pull", "deploy", "converge", "teardown"] {
        assert!(
            r["timings_ms"][phase].is_u64(),
            "timing {phase} missing: {r}"
        );
    }
    assert_eq!(r["flags"]["clean_teardown"], true, "{}", run.explain());
    assert_eq!(r["flags"]["no_secret_leak"], true);
    assert!(run.out.join("logs/app.log").is_file());
    // The landing page's picture (headless Chromium in the browser container).
    assert_screenshot(&run);
    assert!(
        leftovers(&run.stack()).is_empty(),
        "left: {:?}",
        leftovers(&run.stack())
    );
    // The domain follows `<4 chars>-<6 hex>.<ci domain>` and the stack abra's rule.
    let domain = r["domain"].as_str().unwrap();
    assert!(
        domain.starts_with("gree-") && domain.ends_with(".ci.local"),
        "{domain}"
    );
    assert_eq!(run.stack(), domain.replace('.', "_"));
    // No registry entry or working files are left either.
    assert!(registered_stack(&rig.state_dir()).is_none());
}

#[test]
fn crash_looping_recipe_goes_red_fast_with_the_task_error_and_log_tail() {
    let rig = Rig::new();
    let recipe = rig.recipe_copy("fixture-web", "crashloop");
    env_line(&recipe, "CRASH_AT_START=1");
    // A generous DEPLOY_TIMEOUT: red must come from the crash-loop rule, not the time-out.
    let suites = rig.suite("crashloop", PATIENT_SUITE);
    let started = Instant::now();
    let run = rig.run(&recipe, Some(&suites), &["--stages", "install"]);
    let took = started.elapsed();
    assert_eq!(run.code, 1, "{}", run.explain());
    let r = run.results();
    assert_eq!(r["verdict"], "red");
    assert_eq!(r["level"], 0);
    assert_crash_loop_failure(r, "install");
    assert!(took < Duration::from_secs(60), "red took {took:?}");
    assert!(leftovers(&run.stack()).is_empty());
}

#[test]
fn slow_start_is_waited_for() {
    let rig = Rig::new();
    let recipe = rig.recipe_copy("fixture-web", "slowstart");
    env_line(&recipe, "HEALTHY_AFTER=12");
    let suites = rig.suite_copy("fixture-web", "slowstart");
    let run = rig.run(&recipe, Some(&suites), &["--stages", "install"]);
    assert_eq!(run.code, 0, "{}", run.explain());
    let converge = run.results()["timings_ms"]["converge"].as_u64().unwrap();
    assert!(
        converge >= 12_000,
        "ready before the app could be healthy: {converge} ms"
    );
    assert!(leftovers(&run.stack()).is_empty());
}

#[test]
fn never_healthy_app_fails_at_deploy_timeout_naming_service_and_last_state() {
    let rig = Rig::new();
    let recipe = rig.recipe_copy("fixture-web", "neverhealthy");
    // The container is healthy, but the HEALTH_PATH users reach never answers 2xx.
    let suites = rig.suite(
        "neverhealthy",
        "health_path = \"/no-such-page\"\ndeploy_timeout = 15\n",
    );
    let started = Instant::now();
    let run = rig.run(&recipe, Some(&suites), &["--stages", "install"]);
    let took = started.elapsed();
    assert_eq!(run.code, 1, "{}", run.explain());
    let msg = run.results()["failure"]["message"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(msg.contains("DEPLOY_TIMEOUT (15 s)"), "{msg}");
    assert!(msg.contains("service app"), "{msg}");
    assert!(
        msg.contains("1/1 running") && msg.contains("answered 404"),
        "{msg}"
    );
    assert!(
        took >= Duration::from_secs(15) && took < Duration::from_secs(90),
        "{took:?}"
    );
    assert!(leftovers(&run.stack()).is_empty());
}

#[test]
fn sigint_during_a_deploy_still_tears_everything_down() {
    let rig = Rig::new();
    let recipe = rig.recipe_copy("fixture-web", "sigint");
    env_line(&recipe, "HEALTHY_AFTER=300");
    let suites = rig.suite_copy("fixture-web", "sigint");
    let child = rig
        .command(&recipe, Some(&suites), &["--stages", "install"], "out")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stack = None;
    wait_until("the run to deploy its stack", 60, || {
        stack = registered_stack(&rig.state_dir());
        stack
            .as_ref()
            .is_some_and(|s| !engine_objects("service", s).is_empty())
    });
    let stack = stack.unwrap();
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let output = child.wait_with_output().unwrap();
    let run = rig.finish(output, "out");
    assert_eq!(run.code, 1, "{}", run.explain());
    assert_eq!(run.results()["flags"]["interrupted"], true);
    assert_eq!(run.results()["verdict"], "cancelled");
    assert!(
        leftovers(&stack).is_empty(),
        "left: {:?}",
        leftovers(&stack)
    );
    assert!(registered_stack(&rig.state_dir()).is_none());
}

/// Each bad input: exit 2, a message naming the file and the problem, nothing on the engine.
#[test]
fn bad_input_is_a_specific_error_and_creates_nothing() {
    let rig = Rig::new();
    type Break = fn(&std::path::Path);
    let cases: &[(&str, Break, &[&str])] = &[
        (
            "badimage",
            |d| {
                edit(
                    d,
                    "compose.yml",
                    "image: ccci-fixture:1.2.0",
                    "image: ccci-Missing:9.9",
                )
            },
            // Not present and not a valid name: the recipe's to fix (bad input), whatever
            // the network. (A name that is valid but unknown needs a registry to answer:
            // `registry.rs` proves those against a real one.)
            &[
                "compose.yml",
                "ccci-Missing:9.9",
                "not present locally",
                "not a valid image name",
            ],
        ),
        (
            "badyaml",
            |d| edit(d, "compose.yml", "services:", "services: [unclosed"),
            &["compose.yml", "invalid YAML at line"],
        ),
        (
            "baddomain",
            |d| edit(d, ".env.sample", "DOMAIN=fixture-web.example.com", ""),
            &[".env.sample", "no DOMAIN line"],
        ),
        (
            "badenv",
            |d| env_line(d, "this is not an assignment"),
            &[".env.sample", "line ", "expected KEY=VALUE"],
        ),
        (
            "badcomposefile",
            |d| {
                edit(
                    d,
                    ".env.sample",
                    "COMPOSE_FILE=\"compose.yml\"",
                    "COMPOSE_FILE=\"compose.yml:compose.nope.yml\"",
                )
            },
            &[".env.sample", "compose.nope.yml"],
        ),
    ];
    for (name, break_it, needles) in cases {
        let recipe = rig.recipe_copy("fixture-web", name);
        break_it(&recipe);
        let run = rig.run_into(&recipe, None, &[], &format!("out-{name}"));
        assert_eq!(run.code, 2, "{name}: {}", run.explain());
        for needle in *needles {
            assert!(
                run.stderr.contains(needle),
                "{name}: stderr lacks {needle:?}:\n{}",
                run.stderr
            );
        }
        let prefix: String = name.chars().take(4).collect();
        assert!(
            stacks_with_prefix(&format!("{prefix}-")).is_empty(),
            "{name} created something"
        );
        assert!(
            registered_stack(&rig.state_dir()).is_none(),
            "{name} registered a run"
        );
        let runs = rig.state_dir().join("runs");
        let left = std::fs::read_dir(&runs).map(|d| d.count()).unwrap_or(0);
        assert_eq!(left, 0, "{name} left working files in {}", runs.display());
    }
    // A git recipe is cloned before it is validated: the clone must not outlive the error.
    let repo = rig.git_recipe("fixture-web", "badgit", &["1.0.0"], "1.2.0", |d| {
        edit(d, ".env.sample", "DOMAIN=fixture-web.example.com", "")
    });
    let run = rig.run_into(&repo, None, &[], "out-badgit");
    assert_eq!(run.code, 2, "{}", run.explain());
    assert!(run.stderr.contains("no DOMAIN line"), "{}", run.stderr);
    let runs = rig.state_dir().join("runs");
    let left = std::fs::read_dir(&runs).map(|d| d.count()).unwrap_or(0);
    assert_eq!(
        left,
        0,
        "the failed git run left its clone in {}",
        runs.display()
    );
}

/// Right after a redeploy the old task still shows 1/1; the stack must not count as
/// converged until the new spec's task runs. Observed on the real swarm.
#[test]
fn a_redeploy_is_not_converged_before_its_new_task_runs() {
    use ccci_core::readiness::{judge, CrashLoopPolicy, Judgement};
    let rt = tokio::runtime::Runtime::new().unwrap();
    let rig = Rig::new();
    let recipe = rig.recipe_copy("fixture-web", "redeploy");
    // The run keeps waiting (its HEALTH_PATH never answers) while the test observes.
    let suites = rig.suite(
        "redeploy",
        "health_path = \"/never\"\ndeploy_timeout = 120\n",
    );
    let child = rig
        .command(&recipe, Some(&suites), &["--stages", "install"], "out")
        .spawn()
        .unwrap();
    let stop = KillOnDrop(child);
    let mut stack = None;
    wait_until("the run to deploy", 60, || {
        stack = registered_stack(&rig.state_dir());
        stack
            .as_ref()
            .is_some_and(|s| !engine_objects("service", s).is_empty())
    });
    let stack = stack.unwrap();
    let service = format!("{stack}_app");
    rt.block_on(async {
        let engine = ccci_adapters::engine::Engine::connect().await.unwrap();
        // Wait until the first task runs (container healthy: its own check passes).
        let mut seen = Vec::new();
        for _ in 0..120 {
            seen = engine.observe_stack(&stack).await.unwrap();
            if seen[0].running_current() == 1 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        assert_eq!(
            judge(
                &seen,
                ccci_adapters::clock::now_ms(),
                CrashLoopPolicy::default()
            ),
            Judgement::Converged
        );
        // A redeploy with a changed spec: the old task still runs 1/1.
        let out = std::process::Command::new("docker")
            .args([
                "service",
                "update",
                "--detach=true",
                "--quiet",
                "--env-add",
                "REDEPLOYED=1",
                &service,
            ])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let after = engine.observe_stack(&stack).await.unwrap();
        assert!(
            !after[0].converged(),
            "a redeploy counted as converged: {after:?}"
        );
        assert!(matches!(
            judge(
                &after,
                ccci_adapters::clock::now_ms(),
                CrashLoopPolicy::default()
            ),
            Judgement::Waiting(_)
        ));
    });
    drop(stop);
    assert!(leftovers(&stack).is_empty());
}

/// Interrupts a spawned run (SIGINT, so it tears down) and waits for it, even when the
/// test panics.
struct KillOnDrop(std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        unsafe { libc::kill(self.0.id() as i32, libc::SIGINT) };
        let _ = self.0.wait();
    }
}

#[test]
fn the_hard_deadline_tears_down_and_is_red_whatever_the_run_waited_for() {
    let rig = Rig::new();
    let recipe = rig.recipe_copy("fixture-web", "deadline");
    let suites = rig.suite(
        "deadline",
        "health_path = \"/never\"\ndeploy_timeout = \"10m\"\n",
    );
    let started = Instant::now();
    let run = rig.run(
        &recipe,
        Some(&suites),
        &["--stages", "install", "--deadline-secs", "12"],
    );
    assert_eq!(run.code, 1, "{}", run.explain());
    assert!(
        started.elapsed() < Duration::from_secs(60),
        "{:?}",
        started.elapsed()
    );
    let r = run.results();
    assert_eq!(r["verdict"], "red");
    assert_eq!(r["flags"]["interrupted"], true);
    assert!(run.rung("install")["reason"]
        .as_str()
        .unwrap()
        .contains("deadline"));
    assert!(leftovers(&run.stack()).is_empty());
}

/// An upgrade whose first new task crashes pauses swarm's update (failure_action: pause);
/// the restarted task is healthy. The stale `paused` flag must not hold the run until
/// DEPLOY_TIMEOUT: 1/1 healthy with a paused flag is converged.
#[test]
fn a_paused_update_with_a_healthy_replica_does_not_hang_the_upgrade() {
    let rig = Rig::new();
    let repo = rig.git_recipe("fixture-web", "pausedupd", &["1.1.0"], "1.2.0", |d| {
        edit(
            d,
            "compose.yml",
            "      - PRINT_SECRETS\n",
            "      - PRINT_SECRETS\n      - CRASH_ONCE=/data/crashed-once\n",
        );
        edit(
            d,
            "compose.yml",
            "      restart_policy:\n",
            "      update_config:\n        failure_action: pause\n        monitor: 30s\n      restart_policy:\n",
        );
    });
    let suites = rig.suite("pausedupd", PATIENT_SUITE);
    let started = Instant::now();
    let run = rig.run(&repo, Some(&suites), &["--stages", "install,upgrade"]);
    assert_eq!(run.code, 0, "{}", run.explain());
    assert_eq!(run.results()["level"], 2);
    assert!(
        started.elapsed() < Duration::from_secs(120),
        "{:?}",
        started.elapsed()
    );
    assert!(
        run.stderr.contains("update paused"),
        "the paused flag was never seen:\n{}",
        run.stderr
    );
    assert!(leftovers(&run.stack()).is_empty());
}

/// Functional tests in any language: pytest files report each case (via JUnit XML), a
/// shell test reports by exit code, and one failing case fails L4, named in the reason.
#[test]
fn functional_tests_report_each_case_and_a_failing_case_fails_l4() {
    let rig = Rig::new();
    let recipe = rig.recipe_copy("fixture-web", "functest");
    let suites = rig.suite_copy("fixture-web", "functest");
    std::fs::write(
        suites.join("functest/tests/test_wrong.py"),
        "def test_arithmetic_is_wrong():\n    assert 1 + 1 == 3, 'one and one make two'\n\ndef test_fine():\n    pass\n",
    )
    .unwrap();
    let run = rig.run(&recipe, Some(&suites), &["--stages", "install,functional"]);
    assert_eq!(run.code, 1, "{}", run.explain());
    let functional = run.rung("functional");
    assert_eq!(functional["status"], "fail");
    let reason = functional["reason"].as_str().unwrap();
    assert!(
        reason.contains("test_wrong.py::test_arithmetic_is_wrong"),
        "{reason}"
    );
    let tests = functional["tests"].as_array().unwrap();
    let status_of = |name: &str| {
        tests
            .iter()
            .find(|t| t["name"] == name)
            .map(|t| t["status"].as_str().unwrap().to_string())
            .unwrap_or_else(|| panic!("no test case {name} in {tests:?}"))
    };
    assert_eq!(
        status_of("test_data_api.py::test_write_then_read_back"),
        "pass"
    );
    assert_eq!(status_of("test_wrong.py::test_fine"), "pass");
    assert_eq!(status_of("test_wrong.py::test_arithmetic_is_wrong"), "fail");
    assert_eq!(status_of("health-check"), "pass");
    assert_eq!(status_of("landing page names the app"), "pass");
    let junit = std::fs::read_to_string(run.out.join("junit.xml")).unwrap();
    assert!(junit.contains("test_arithmetic_is_wrong"), "{junit}");
    assert!(leftovers(&run.stack()).is_empty());
}

/// A recipe by git URL and a PR ref a plain clone does not fetch (`refs/pull/N/head`):
/// the run tests exactly that commit.
#[test]
fn a_git_url_and_a_pull_request_ref_are_tested_at_that_commit() {
    let rig = Rig::new();
    let repo = rig.git_recipe("fixture-web", "urlref", &["1.1.0"], "1.2.0", |_| {});
    // The PR's commit lives only under refs/pull/7/head, as on a forge.
    git(&repo, &["checkout", "--quiet", "-b", "pr-7"]);
    edit(
        &repo,
        "compose.yml",
        "APP_VERSION=1.2.0",
        "APP_VERSION=1.2.0-pr7",
    );
    git(&repo, &["commit", "--quiet", "-am", "the PR"]);
    let pr_commit = git(&repo, &["rev-parse", "HEAD"]);
    git(&repo, &["update-ref", "refs/pull/7/head", &pr_commit]);
    git(&repo, &["checkout", "--quiet", "main"]);
    git(&repo, &["branch", "--quiet", "-D", "pr-7"]);
    let url = format!("file://{}", repo.display());
    let suites = rig.suite_copy("fixture-web", "urlref");
    let run = rig.run(
        std::path::Path::new(&url),
        Some(&suites),
        &["--ref", "refs/pull/7/head", "--stages", "install,upgrade"],
    );
    assert_eq!(run.code, 0, "{}", run.explain());
    let r = run.results();
    assert_eq!(r["source"], url.as_str());
    assert_eq!(r["head_ref"], "refs/pull/7/head");
    assert_eq!(r["head_commit"], pr_commit.as_str());
    assert_eq!(r["base_version"], "1.1.0+1.1.0");
    assert_eq!(r["recipe"], "urlref");
    assert!(leftovers(&run.stack()).is_empty());
}

#[test]
fn a_malformed_suite_is_an_error_naming_file_line_and_field() {
    let rig = Rig::new();
    let recipe = rig.recipe_copy("fixture-web", "badsuite");
    let suites = rig.suite(
        "badsuite",
        "health_path = \"/health\"\ndeploy_timeout = \"soon\"\n",
    );
    let run = rig.run(&recipe, Some(&suites), &[]);
    assert_eq!(run.code, 2, "{}", run.explain());
    assert!(run.stderr.contains("badsuite/suite.toml"), "{}", run.stderr);
    assert!(run.stderr.contains("line 2"), "{}", run.stderr);
    assert!(run.stderr.contains("deploy_timeout"), "{}", run.stderr);
    assert!(stacks_with_prefix("bads-").is_empty());
}

/// The service knows a PR by its head SHA; that commit may be reachable only from the
/// forge's pull refs. A missing ref is a clear error, exit 2.
#[test]
fn a_pull_request_sha_is_tested_at_that_commit_and_a_missing_ref_is_an_error() {
    let rig = Rig::new();
    let repo = rig.git_recipe("fixture-web", "pullsha", &[], "1.2.0", |_| {});
    git(&repo, &["checkout", "--quiet", "-b", "pr-9"]);
    edit(
        &repo,
        "compose.yml",
        "APP_VERSION=1.2.0",
        "APP_VERSION=1.2.0-pr9",
    );
    git(&repo, &["commit", "--quiet", "-am", "the PR"]);
    let pr_commit = git(&repo, &["rev-parse", "HEAD"]);
    git(&repo, &["update-ref", "refs/pull/9/head", &pr_commit]);
    git(&repo, &["checkout", "--quiet", "main"]);
    git(&repo, &["branch", "--quiet", "-D", "pr-9"]);
    let url = format!("file://{}", repo.display());
    let run = rig.run(
        std::path::Path::new(&url),
        None,
        &["--ref", &pr_commit, "--stages", "install"],
    );
    assert_eq!(run.code, 0, "{}", run.explain());
    assert_eq!(run.results()["head_commit"], pr_commit.as_str());
    assert!(leftovers(&run.stack()).is_empty());

    let missing = rig.run_into(
        std::path::Path::new(&url),
        None,
        &["--ref", "no-such-branch"],
        "out-missing",
    );
    assert_eq!(missing.code, 2, "{}", missing.explain());
    assert!(
        missing.stderr.contains("ref \"no-such-branch\" not found"),
        "{}",
        missing.stderr
    );
}

#[test]
fn heavy_opt_in_tests_run_only_with_extra() {
    let rig = Rig::new();
    let recipe = rig.recipe_copy("fixture-web", "extras");
    let suites = rig.suite_copy("fixture-web", "extras");
    let extra_dir = suites.join("extras/tests/extra");
    std::fs::create_dir_all(&extra_dir).unwrap();
    // Tests run sandboxed: what one prints is kept as `sandbox/<name>.log`.
    std::fs::write(extra_dir.join("heavy"), "#!/bin/sh\necho heavy test ran\n").unwrap();
    let ran = |run: &Run| {
        std::fs::read_to_string(run.out.join("sandbox/heavy.log"))
            .is_ok_and(|log| log.contains("heavy test ran"))
    };
    std::process::Command::new("chmod")
        .arg("+x")
        .arg(extra_dir.join("heavy"))
        .status()
        .unwrap();
    let names = |run: &Run| -> Vec<String> {
        run.rung("functional")["tests"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["name"].as_str().unwrap().to_string())
            .collect()
    };
    let plain = rig.run_into(
        &recipe,
        Some(&suites),
        &["--stages", "install,functional"],
        "plain",
    );
    assert_eq!(plain.code, 0, "{}", plain.explain());
    assert!(!ran(&plain) && !names(&plain).contains(&"heavy".to_string()));
    let extra = rig.run_into(
        &recipe,
        Some(&suites),
        &["--stages", "install,functional", "--extra"],
        "extra",
    );
    assert_eq!(extra.code, 0, "{}", extra.explain());
    assert!(
        ran(&extra) && names(&extra).contains(&"heavy".to_string()),
        "{:?}",
        names(&extra)
    );
}

/// Integrity: a change that edits the recipe's own tests (`.ccci/`) is judged by the last
/// release's tests, not by the ones it wrote for itself.
#[test]
fn a_change_cannot_rewrite_the_recipe_tests_that_judge_it() {
    let rig = Rig::new();
    let local_suite = "health_path = \"/health\"\n[[http_checks]]\npath = \"/\"\nbody_contains = \"fixture app\"\n";
    let dir = rig.recipe_copy("fixture-web", "integrity");
    std::fs::create_dir_all(dir.join(".ccci")).unwrap();
    std::fs::write(dir.join(".ccci/suite.toml"), local_suite).unwrap();
    let repo = rig.git_recipe("fixture-web", "integrity", &["1.1.0"], "1.2.0", |d| {
        std::fs::write(
            d.join(".ccci/suite.toml"),
            "health_path = \"/health\"\n[expected_na]\nfunctional = \"trust me\"\n",
        )
        .unwrap();
    });
    let run = rig.run(&repo, None, &["--stages", "install,upgrade,functional"]);
    assert_eq!(run.code, 0, "{}", run.explain());
    assert_eq!(
        run.rung("functional")["status"],
        "pass",
        "{}",
        run.explain()
    );
    assert!(
        run.stderr.contains("edits the recipe's own tests"),
        "{}",
        run.stderr
    );
    assert!(leftovers(&run.stack()).is_empty());
}

/// A recipe that declares a dependency (SSO) is never green while its integration went
/// unverified: this rig has no shared Keycloak.
#[test]
fn an_unverified_dependency_is_red_even_when_every_rung_passes() {
    let rig = Rig::new();
    let recipe = rig.recipe_copy("fixture-web", "needsso");
    let suites = rig.suite(
        "needsso",
        "health_path = \"/health\"\ndependencies = [\"keycloak\"]\n",
    );
    let run = rig.run(&recipe, Some(&suites), &["--stages", "install"]);
    assert_red_for_an_unverified_dependency(&run, "keycloak");
    assert!(leftovers(&run.stack()).is_empty());
}

/// Removes the named containers when dropped (the test's own, also on a failed assertion).
struct RemoveContainers(Vec<String>);

impl Drop for RemoveContainers {
    fn drop(&mut self) {
        for name in &self.0 {
            let _ = std::process::Command::new("docker")
                .args(["rm", "-f", name])
                .output();
        }
    }
}

/// The readiness wait's wake-up: a quiet stack lets the wait run to its bound, an event of
/// another stack does not wake it, and an event of the stack (a container of it created)
/// wakes it at once.
#[test]
fn an_event_of_the_stack_wakes_the_readiness_wait_and_nothing_else_does() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let stack = format!("evwake{}", std::process::id());
    let other = format!("evother{}", std::process::id());
    let mine = format!("{stack}_probe");
    let theirs = format!("{other}_probe");
    let _cleanup = RemoveContainers(vec![mine.clone(), theirs.clone()]);
    let create = |name: &str| {
        let out = std::process::Command::new("docker")
            .args(["create", "--name", name, "ccci-fixture:1.2.0"])
            .output()
            .unwrap();
        assert!(out.status.success(), "docker create {name}: {out:?}");
    };
    rt.block_on(async {
        let engine = ccci_adapters::engine::Engine::connect().await.unwrap();
        let events = engine.stack_events(&stack);
        let quiet = Instant::now();
        assert!(
            !events.wait(Duration::from_secs(1)).await,
            "a quiet stack woke the wait"
        );
        assert!(quiet.elapsed() >= Duration::from_millis(900));
        create(&theirs);
        assert!(
            !events.wait(Duration::from_millis(1500)).await,
            "another stack's event woke the wait"
        );
        let created = Instant::now();
        create(&mine);
        assert!(
            events.wait(Duration::from_secs(10)).await,
            "the stack's own event did not wake the wait"
        );
        assert!(
            created.elapsed() < Duration::from_secs(3),
            "woke only after {:?}",
            created.elapsed()
        );
    });
}
