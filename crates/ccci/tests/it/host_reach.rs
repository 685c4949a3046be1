//! The host acting for the recipe (docs/behaviour.md §7): a head that publishes a port on
//! the CI host, or has the host's Docker daemon ship its logs by syslog, is refused before
//! anything exists on the engine; its look-alikes — a traefik port label, `json-file`
//! logging with options — install. (The refused heads deploy nothing, so no port is ever
//! published here; a kept base port is proven in core `host_access::ports` tests.)

use crate::common::*;
use crate::host_access::{assert_nothing_deployed, now_secs};
use std::path::{Path, PathBuf};

const DATA_MOUNT: &str = "      - data:/data\n";

/// A fixture-web head whose compose file has `from` replaced by `to`, run to install: the
/// recipe, the run and the instant before it started.
fn head_with(rig: &Rig, name: &str, from: &str, to: &str) -> (PathBuf, Run, i64) {
    let repo = rig.git_recipe("fixture-web", name, &["1.0.0", "1.1.0"], "1.2.0", |dir| {
        edit(dir, "compose.yml", from, to)
    });
    let suites = rig.suite_copy("fixture-web", name);
    let since = now_secs() - 1;
    let run = rig.run(&repo, Some(&suites), &["--stages", "install"]);
    (repo, run, since)
}

/// A fixture-web head whose `app` service gains `body` after its volumes.
fn head_adding(rig: &Rig, name: &str, body: &str) -> (PathBuf, Run, i64) {
    head_with(rig, name, DATA_MOUNT, &format!("{DATA_MOUNT}{body}"))
}

/// The 1-based line of `text` in the recipe's compose file.
fn line_of(recipe: &Path, text: &str) -> usize {
    std::fs::read_to_string(recipe.join("compose.yml"))
        .unwrap()
        .lines()
        .position(|l| l.contains(text))
        .unwrap_or_else(|| panic!("no {text:?}"))
        + 1
}

/// The recipe's suite file in the CI's tree, where the refusal says to allow it.
fn allow_file(rig: &Rig, name: &str) -> String {
    let file = rig.path("suites").join(name).join("suite.toml");
    file.display().to_string()
}

/// RED at install, service `app`, naming each of `needles`, before any deploy: nothing of
/// the stack ever on the engine.
fn assert_refused(run: &Run, since: i64, needles: &[String]) {
    assert_eq!(run.code, 1, "{}", run.explain());
    assert_eq!(run.results()["verdict"], "red", "{}", run.explain());
    assert_eq!(run.rung("install")["status"], "fail");
    assert_eq!(failure(run)["rung"], "install", "{}", failure(run));
    assert_eq!(failure(run)["service"], "app", "{}", failure(run));
    let message = message(run);
    for needle in needles {
        assert!(message.contains(needle), "{needle:?} not in: {message}");
    }
    assert_nothing_deployed(run, since);
}

#[test]
fn a_head_publishing_a_port_is_refused_before_anything_is_deployed() {
    let rig = Rig::new();
    let ports = "    ports:\n      - \"2222:8080\"\n";
    let (repo, run, since) = head_adding(&rig, "hrpt", ports);
    let line = line_of(&repo, "\"2222:8080\"");
    assert_refused(
        &run,
        since,
        &[
            format!("service app in compose.yml:{line} adds the published port 2222/tcp"),
            "that release 1.1.0+1.1.0 did not have".into(),
            format!(
                "{} [host_access] allow = [\"ports:2222/tcp\"]",
                allow_file(&rig, "hrpt")
            ),
        ],
    );
}

#[test]
fn a_head_shipping_its_logs_by_syslog_is_refused_before_anything_is_deployed() {
    let rig = Rig::new();
    let logging = "    logging:\n      driver: syslog\n      options:\n        \
                   syslog-address: \"tcp://127.0.0.1:514\"\n";
    let (repo, run, since) = head_adding(&rig, "hrsl", logging);
    let line = line_of(&repo, "driver: syslog");
    assert_refused(
        &run,
        since,
        &[
            format!("service app in compose.yml:{line} adds the logging driver syslog"),
            "that release 1.1.0+1.1.0 did not have".into(),
            format!(
                "{} [host_access] allow = [\"logging:syslog\"]",
                allow_file(&rig, "hrsl")
            ),
        ],
    );
}

/// GREEN with one deploy, no host access allowed or refused, nothing left behind.
fn assert_installed(run: &Run) {
    assert_eq!(run.code, 0, "{}", run.explain());
    assert_eq!(run.results()["verdict"], "green", "{}", run.explain());
    assert_eq!(run.rung("install")["status"], "pass");
    assert_eq!(run.results()["deploy_count"], 1, "{}", run.explain());
    assert!(!run.stderr.contains("host access"), "{}", run.stderr);
    assert_clean(run);
}

/// A port number in a traefik label is where the proxy reaches the app on its network, not
/// a port of the host.
#[test]
fn a_head_adding_a_traefik_port_label_installs() {
    let enable = "        - \"traefik.enable=true\"\n";
    let label = "        - \"traefik.http.services.x.loadbalancer.server.port=8080\"\n";
    let (_, run, _) = head_with(&Rig::new(), "hrtl", enable, &format!("{enable}{label}"));
    assert_installed(&run);
}

#[test]
fn a_head_keeping_json_file_logs_with_a_size_limit_installs() {
    let logging = "    logging:\n      driver: json-file\n      options:\n        max-size: 10m\n";
    let (_, run, _) = head_adding(&Rig::new(), "hrjf", logging);
    assert_installed(&run);
}
