//! Kill anywhere (issue 10; the CI short form of `benches/kill-anywhere.sh`): a full cold
//! lifecycle SIGKILLed in one phase — deploy, mid-backup, mid-teardown — then `ccci janitor`
//! leaves nothing of the run: no service, volume, secret, config, network or container of
//! its stack, no Keycloak realm (the SSO stand-in), no registry entry, no work dir. And a
//! `--quick` run SIGKILLed in its reattach: the janitor puts the canonical back, its data
//! byte for byte what the snapshot holds.

use crate::common::*;
use crate::warm::{assert_undeployed_with_data, env_type, seed_then_drift};
use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

/// Where a run is killed: `delay` after its first progress line that starts with `line`.
struct KillPoint {
    line: &'static str,
    delay: Duration,
}

/// A fixture-web repository (releases 1.0.0 and 1.1.0, head 1.2.0) and its suite with the
/// Keycloak dependency declared (so the run has a realm to leave behind) and a short
/// minimum uptime (the test waits for the teardown).
fn full_lifecycle(rig: &Rig, name: &str) -> (PathBuf, PathBuf) {
    let recipe = rig.git_recipe("fixture-web", name, &["1.0.0", "1.1.0"], "1.2.0", |_| {});
    let suites = rig.suite_copy("fixture-web", name);
    let toml = suites.join(name).join("suite.toml");
    let text = std::fs::read_to_string(&toml).unwrap();
    let text = text.replace("min_uptime = \"15s\"", "min_uptime = \"2s\"");
    std::fs::write(&toml, format!("dependencies = [\"keycloak\"]\n{text}")).unwrap();
    (recipe, suites)
}

/// Spawns a `ccci run` command with its progress (stderr) forwarded line by line.
fn spawn_with_progress(
    mut cmd: std::process::Command,
    guard: &mut Guard,
) -> (Child, Receiver<String>) {
    let mut child = cmd
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    guard.pids.push(child.id());
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stderr)
            .lines()
            .map_while(Result::ok)
        {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    (child, rx)
}

/// Waits (bounded) for the run's first progress line starting with `prefix`; panics with
/// what the run printed if it ends first or the time runs out.
fn wait_for_line(progress: &Receiver<String>, prefix: &str, secs: u64) {
    let end = Instant::now() + Duration::from_secs(secs);
    let mut seen = Vec::new();
    loop {
        let left = end.saturating_duration_since(Instant::now());
        match progress.recv_timeout(left) {
            Ok(line) if line.trim_start().starts_with(prefix) => return,
            Ok(line) => seen.push(line),
            Err(RecvTimeoutError::Timeout) => {
                panic!("no line {prefix:?} within {secs} s:\n{}", seen.join("\n"))
            }
            Err(RecvTimeoutError::Disconnected) => {
                panic!("the run ended before {prefix:?}:\n{}", seen.join("\n"))
            }
        }
    }
}

/// Processes whose parent is `pid` (from `/proc/<pid>/stat`, field 4).
fn children_of(pid: u32) -> Vec<u32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|p| {
            std::fs::read_to_string(format!("/proc/{p}/stat")).is_ok_and(|stat| {
                stat.rfind(')')
                    .and_then(|i| stat[i + 2..].split_whitespace().nth(1)?.parse().ok())
                    == Some(pid)
            })
        })
        .collect()
}

/// SIGKILLs the run (no teardown, no unregistering), then waits for the docker CLI calls it
/// had started to end: orphans finish their call, as they would before a janitor sweep.
fn kill9(mut child: Child) {
    let orphans = children_of(child.id());
    child.kill().unwrap();
    child.wait().unwrap();
    wait_until("the killed run's docker CLI calls to end", 60, || {
        orphans
            .iter()
            .all(|p| !Path::new(&format!("/proc/{p}")).exists())
    });
}

/// Runs a full lifecycle, SIGKILLs it at `point`, runs the janitor, and asserts that
/// nothing of the run is left anywhere.
fn kill_at(name: &str, point: KillPoint) {
    let rig = Rig::new();
    let sso = Sso::start(&rig);
    let (recipe, suites) = full_lifecycle(&rig, name);
    let mut guard = Guard::default();
    let cmd = rig.command(&recipe, Some(&suites), &strs(&sso.flags()), "out");
    let (child, progress) = spawn_with_progress(cmd, &mut guard);
    wait_for_line(&progress, point.line, 240);
    std::thread::sleep(point.delay);
    let stack = registered_stack(&rig.state_dir()).expect("the run registered before the kill");
    guard.stacks.push(stack.clone());
    kill9(child);

    let report = ccci_ok(&rig, "janitor", &strs(&sso.flags()));
    let left = leftovers(&stack);
    assert!(
        left.is_empty(),
        "killed at {:?}; left: {left:?}\n{report}",
        point.line
    );
    assert!(
        sso.run_realms().is_empty(),
        "realms left: {:?}\n{report}",
        sso.run_realms()
    );
    assert!(registered_stacks(&rig.state_dir()).is_empty(), "{report}");
    let runs: Vec<_> = std::fs::read_dir(rig.state_dir().join("runs"))
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .collect();
    assert!(runs.is_empty(), "work dirs left: {runs:?}\n{report}");
}

#[test]
fn kill_anywhere_during_the_deploy_leaves_nothing_after_the_janitor() {
    kill_at(
        "kdeploy",
        KillPoint {
            line: "deploying kdeploy",
            delay: Duration::from_millis(300),
        },
    );
}

#[test]
fn kill_anywhere_mid_backup_leaves_nothing_after_the_janitor() {
    kill_at(
        "kbackup",
        KillPoint {
            line: "backupbot.backup.pre-hook in app",
            delay: Duration::ZERO,
        },
    );
}

#[test]
fn kill_anywhere_mid_teardown_leaves_nothing_after_the_janitor() {
    kill_at(
        "kteardown",
        KillPoint {
            line: "tearing down",
            delay: Duration::from_millis(1500),
        },
    );
}

#[test]
fn kill_anywhere_during_a_quick_runs_reattach_leaves_the_canonical_intact() {
    let rig = Rig::new();
    let stack = "warm-kquick_ci_local";
    let mut guard = Guard::for_stacks(&[stack]);
    let canonical = seed_then_drift(&rig, "kquick", stack, "NEVER_HEALTHY");
    let cmd = rig.command(
        &canonical.recipe,
        Some(&canonical.suites),
        &["--quick", "--stages", "upgrade"],
        "out",
    );
    let (child, progress) = spawn_with_progress(cmd, &mut guard);
    wait_for_line(&progress, "deploying kquick 1.1.0+1.1.0", 120);
    std::thread::sleep(Duration::from_millis(500));
    kill9(child);

    let report = ccci_ok(&rig, "janitor", &[]);
    assert!(report.contains("canonical put back"), "{report}");
    assert_undeployed_with_data(stack);
    assert_eq!(
        volume_tree(&canonical.volume),
        canonical.snapshot,
        "the canonical's data is exactly its snapshot"
    );
    assert_eq!(env_type(&rig, &canonical.rec), "kquick:1.1.0+1.1.0");
    assert!(registered_stacks(&rig.state_dir()).is_empty(), "{report}");
}
