//! The host is not the recipe's (docs/behaviour.md §7): a head adding host access (the Docker
//! socket) that its base release did not have is refused before anything exists on the engine;
//! the same mount in the releases, or allowed by the CI's suite, is deployed as before.

use crate::common::*;
use std::path::{Path, PathBuf};
use std::process::Command;

const DATA_MOUNT: &str = "      - data:/data\n";
const SOCKET_MOUNT: &str =
    "      - data:/data\n      - /var/run/docker.sock:/var/run/docker.sock\n";

fn add_socket(dir: &Path) {
    edit(dir, "compose.yml", DATA_MOUNT, SOCKET_MOUNT);
}

/// The 1-based line of the socket mount in a recipe's compose file.
fn socket_line(dir: &Path) -> usize {
    std::fs::read_to_string(dir.join("compose.yml"))
        .unwrap()
        .lines()
        .position(|l| l.contains("/var/run/docker.sock:"))
        .expect("no socket mount")
        + 1
}

/// Every engine event between two instants that names `stack` (services, volumes,
/// secrets, networks, containers created or removed).
fn events_naming(stack: &str, since: i64, until: i64) -> Vec<String> {
    let out = Command::new("docker")
        .args([
            "events",
            "--since",
            &since.to_string(),
            "--until",
            &until.to_string(),
            "--format",
            "{{.Type}} {{.Action}} {{json .Actor.Attributes}}",
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "docker events failed");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| l.contains(stack))
        .map(str::to_string)
        .collect()
}

pub(crate) fn now_secs() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// A refused run: exit 1 (a verdict, not bad input), RED at install with the file, service,
/// line and the operator's allow line; nothing deployed, nothing ever on the engine.
fn assert_refused(run: &Run, recipe: &Path, allow_file: &str, since: i64) {
    assert_eq!(run.code, 1, "{}", run.explain());
    let r = run.results();
    assert_eq!(r["verdict"], "red");
    assert_eq!(r["level"], 0);
    assert_eq!(run.rung("install")["status"], "fail");
    let failure = &r["failure"];
    assert_eq!(failure["rung"], "install", "{failure}");
    assert_eq!(failure["service"], "app", "{failure}");
    let message = failure["message"].as_str().unwrap();
    for needle in [
        format!("service app in compose.yml:{}", socket_line(recipe)),
        "the Docker socket /var/run/docker.sock".to_string(),
        "cc-ci refuses to deploy it".to_string(),
        format!("{allow_file} [host_access] allow = [\"bind:/var/run/docker.sock\"]"),
    ] {
        assert!(message.contains(&needle), "{needle:?} not in: {message}");
    }
    assert_nothing_deployed(run, since);
}

/// No deploy, and nothing of the run's stack on the engine at any time since `since`.
pub(crate) fn assert_nothing_deployed(run: &Run, since: i64) {
    let r = run.results();
    assert_eq!(r["deploy_count"], 0, "{}", run.explain());
    assert!(r["timings_ms"].get("deploy").is_none(), "{r}");
    let stack = run.stack();
    assert!(leftovers(&stack).is_empty(), "{:?}", leftovers(&stack));
    let events = events_naming(&stack, since, now_secs() + 1);
    assert!(
        events.is_empty(),
        "the engine saw objects of {stack}: {events:#?}"
    );
}

#[test]
fn a_head_adding_the_docker_socket_is_refused_before_anything_is_deployed() {
    let rig = Rig::new();
    let repo = rig.git_recipe(
        "fixture-web",
        "hsko",
        &["1.0.0", "1.1.0"],
        "1.2.0",
        add_socket,
    );
    let suites = rig.suite_copy("fixture-web", "hsko");
    let since = now_secs() - 1;
    let run = rig.run(&repo, Some(&suites), &[]);
    let allow_file = suites.join("hsko/suite.toml").display().to_string();
    assert_refused(&run, &repo, &allow_file, since);
    let message = run.results()["failure"]["message"].as_str().unwrap();
    assert!(
        message.contains("that release 1.1.0+1.1.0 did not have"),
        "{message}"
    );
    // The rungs above were not reached.
    assert_eq!(run.rung("upgrade")["status"], "skip");
}

/// Builds `<rig>/<name>`, a fixture-web repository whose releases (1.0.0, 1.1.0) and head
/// (1.2.0) all mount the Docker socket.
fn recipe_with_socket_in_every_release(rig: &Rig, name: &str) -> PathBuf {
    let dir = rig.recipe_copy("fixture-web", name);
    add_socket(&dir);
    commit_releases(&dir, &["1.0.0", "1.1.0"], "1.2.0", |_| {});
    dir
}

#[test]
fn the_socket_already_in_the_releases_is_deployed_as_before() {
    let rig = Rig::new();
    let repo = recipe_with_socket_in_every_release(&rig, "hskb");
    let suites = rig.suite_copy("fixture-web", "hskb");
    let run = rig.run(&repo, Some(&suites), &["--stages", "install"]);
    assert_eq!(run.code, 0, "{}", run.explain());
    let r = run.results();
    assert_eq!(r["verdict"], "green");
    assert_eq!(run.rung("install")["status"], "pass");
    assert_eq!(r["deploy_count"], 1);
    assert!(leftovers(&run.stack()).is_empty());
}

#[test]
fn the_socket_allowed_by_the_ci_suite_is_deployed() {
    let rig = Rig::new();
    let repo = rig.git_recipe(
        "fixture-web",
        "hska",
        &["1.0.0", "1.1.0"],
        "1.2.0",
        add_socket,
    );
    let suites = rig.suite_copy("fixture-web", "hska");
    let file = suites.join("hska/suite.toml");
    let mut toml = std::fs::read_to_string(&file).unwrap();
    toml.push_str("\n[host_access]\nallow = [\"bind:/var/run/docker.sock\"]\n");
    std::fs::write(&file, toml).unwrap();
    let run = rig.run(&repo, Some(&suites), &["--stages", "install"]);
    assert_eq!(run.code, 0, "{}", run.explain());
    assert_eq!(run.rung("install")["status"], "pass");
    assert!(
        run.stderr.contains(
            "host access allowed by the CI's suite: service app adds bind:/var/run/docker.sock"
        ),
        "{}",
        run.stderr
    );
    assert!(leftovers(&run.stack()).is_empty());
}

/// The allowance lives only in the CI's tree: a head cannot allow its own socket in
/// `.ccci/suite.toml`.
#[test]
fn a_recipe_cannot_allow_itself_host_access() {
    let rig = Rig::new();
    let repo = rig.git_recipe("fixture-web", "hsks", &["1.0.0", "1.1.0"], "1.2.0", |dir| {
        add_socket(dir);
        std::fs::create_dir_all(dir.join(".ccci")).unwrap();
        std::fs::write(
            dir.join(".ccci/suite.toml"),
            "health_path = \"/health\"\n[host_access]\nallow = [\"bind:/var/run/docker.sock\"]\n",
        )
        .unwrap();
    });
    let since = now_secs() - 1;
    let run = rig.run(&repo, None, &[]);
    assert_refused(
        &run,
        &repo,
        "<the CI's suites dir, --suites>/hsks/suite.toml",
        since,
    );
    let ignored = run.results()["suite"]["ignored"].to_string();
    assert!(ignored.contains("host_access.allow"), "{ignored}");
}
