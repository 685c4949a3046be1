//! The test rig: temp dirs, recipe copies and git repositories built from the example
//! recipes, the `ccci` binary, and engine queries.

#![allow(dead_code)]

use ccci_adapters::keycloak_standin::KeycloakStandin;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

pub fn ccci_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_ccci"))
}

/// `ccci` as the tests run it: on a rig that takes no screenshot of the landing page
/// (`CCCI_SCREENSHOTS=false`). The picture is cosmetic and costs a browser container per
/// run; the tests whose subject it is pass `--screenshots true`, which wins.
pub fn ccci() -> Command {
    let mut cmd = Command::new(ccci_bin());
    cmd.env("CCCI_SCREENSHOTS", "false");
    cmd
}

/// A test's own corner: state dir, out dir, recipe copies, suites.
pub struct Rig {
    pub dir: tempfile::TempDir,
}

/// The outcome of one `ccci run`.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
    pub results: Option<Value>,
    pub out: PathBuf,
}

impl Run {
    pub fn results(&self) -> &Value {
        self.results.as_ref().unwrap_or_else(|| {
            panic!(
                "no results.json; exit {}\nstderr:\n{}",
                self.code, self.stderr
            )
        })
    }
    pub fn rung(&self, name: &str) -> &Value {
        self.results()["rungs"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["name"] == name)
            .unwrap_or_else(|| panic!("no rung {name}"))
    }
    pub fn stack(&self) -> String {
        self.results()["stack"].as_str().unwrap().to_string()
    }
    /// For assertion messages.
    pub fn explain(&self) -> String {
        format!(
            "exit {}\nstdout:\n{}\nstderr:\n{}",
            self.code, self.stdout, self.stderr
        )
    }
}

impl Rig {
    pub fn new() -> Rig {
        Rig {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    pub fn state_dir(&self) -> PathBuf {
        self.path("state")
    }

    /// Copies `recipes/<example>` to `<rig>/<name>` (the name sets the domain prefix).
    pub fn recipe_copy(&self, example: &str, name: &str) -> PathBuf {
        let dst = self.path(name);
        copy_dir(&repo_root().join("recipes").join(example), &dst);
        dst
    }

    /// Copies `suites/<example>` to `<rig>/suites/<name>`; returns the suites root.
    pub fn suite_copy(&self, example: &str, name: &str) -> PathBuf {
        let root = self.path("suites");
        copy_dir(&repo_root().join("suites").join(example), &root.join(name));
        root
    }

    /// Copies the fixture-web suite to `<rig>/suites/<name>` with `min_uptime = 0` (a short
    /// run); returns the suites root.
    pub fn quick_suite(&self, name: &str) -> PathBuf {
        let suites = self.suite_copy("fixture-web", name);
        let toml = suites.join(name).join("suite.toml");
        let text = std::fs::read_to_string(&toml).unwrap();
        let text = text.replace("min_uptime = \"15s\"", "min_uptime = 0");
        assert!(text.contains("min_uptime = 0"), "{text}");
        std::fs::write(&toml, text).unwrap();
        suites
    }

    /// Writes `<rig>/suites/<name>/suite.toml`; returns the suites root.
    pub fn suite(&self, name: &str, toml: &str) -> PathBuf {
        let dir = self.path("suites").join(name);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("suite.toml"), toml).unwrap();
        self.path("suites")
    }

    pub fn command(
        &self,
        recipe: &Path,
        suites: Option<&Path>,
        extra: &[&str],
        out: &str,
    ) -> Command {
        let mut cmd = ccci();
        cmd.arg("run")
            .arg(recipe)
            .arg("--state-dir")
            .arg(self.state_dir())
            .arg("--out")
            .arg(self.path(out))
            .args(extra)
            .env_remove("CCCI_SUITES_DIR")
            .stdin(Stdio::null());
        if let Some(s) = suites {
            cmd.arg("--suites").arg(s);
        }
        cmd
    }

    /// Runs `ccci run` to completion.
    pub fn run(&self, recipe: &Path, suites: Option<&Path>, extra: &[&str]) -> Run {
        self.run_into(recipe, suites, extra, "out")
    }

    pub fn run_into(&self, recipe: &Path, suites: Option<&Path>, extra: &[&str], out: &str) -> Run {
        let output = self.command(recipe, suites, extra, out).output().unwrap();
        self.finish(output, out)
    }

    pub fn finish(&self, output: Output, out: &str) -> Run {
        let out_dir = self.path(out);
        let results = std::fs::read(out_dir.join("results.json"))
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok());
        Run {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
            results,
            out: out_dir,
        }
    }

    /// Makes a git repository of an example recipe with annotated releases: for each
    /// `(tag, app version)` a commit whose image and version label are that version, then a
    /// head commit at `head_version` (which `edit_head` may change further).
    pub fn git_recipe(
        &self,
        example: &str,
        name: &str,
        releases: &[&str],
        head_version: &str,
        edit_head: impl FnOnce(&Path),
    ) -> PathBuf {
        let src = repo_root().join("recipes").join(example);
        self.git_recipe_from(&src, name, releases, head_version, edit_head)
    }

    /// Like [`Rig::git_recipe`], of the recipe directory `src` (e.g. `deploy/recipe`).
    pub fn git_recipe_from(
        &self,
        src: &Path,
        name: &str,
        releases: &[&str],
        head_version: &str,
        edit_head: impl FnOnce(&Path),
    ) -> PathBuf {
        let dir = self.path(name);
        copy_dir(src, &dir);
        commit_releases(&dir, releases, head_version, edit_head);
        dir
    }
}

/// Makes the recipe `dir` a repository: for each of `releases`, its version set
/// ([`set_version`]), committed and tagged `<v>+<v>` (annotated); then the head at
/// `head_version`, which `edit_head` changes.
pub fn commit_releases(
    dir: &Path,
    releases: &[&str],
    head_version: &str,
    edit_head: impl FnOnce(&Path),
) {
    git(dir, &["init", "--quiet", "--initial-branch=main"]);
    for v in releases {
        set_version(dir, v);
        commit_all(dir, &format!("release {v}"));
        let tag = format!("{v}+{v}");
        git(dir, &["tag", "-a", &tag, "-m", &format!("release {v}")]);
    }
    set_version(dir, head_version);
    edit_head(dir);
    commit_all(dir, "head: the PR under test");
}

/// Points a fixture recipe at `ccci-fixture:<v>` and labels it `<v>+<v>`.
pub fn set_version(dir: &Path, v: &str) {
    let path = dir.join("compose.yml");
    let text = std::fs::read_to_string(&path).unwrap();
    let mut out = String::new();
    for line in text.lines() {
        let line = if line.contains("image: ccci-fixture:") {
            format!("    image: ccci-fixture:{v}")
        } else if line.contains("APP_VERSION=") {
            format!("      - APP_VERSION={v}")
        } else if line.contains(".version=") {
            format!("        - \"coop-cloud.${{STACK_NAME}}.version={v}+{v}\"")
        } else {
            line.to_string()
        };
        out.push_str(&line);
        out.push('\n');
    }
    std::fs::write(path, out).unwrap();
}

/// Replaces `from` with `to` in a recipe file (panics if `from` is absent).
pub fn edit(dir: &Path, file: &str, from: &str, to: &str) {
    let path = dir.join(file);
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains(from), "{file} has no {from:?}");
    std::fs::write(path, text.replacen(from, to, 1)).unwrap();
}

/// Appends a line to a recipe's `.env.sample`.
pub fn env_line(dir: &Path, line: &str) {
    let path = dir.join(".env.sample");
    let mut text = std::fs::read_to_string(&path).unwrap();
    text.push_str(line);
    text.push('\n');
    std::fs::write(path, text).unwrap();
}

pub fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .env("GIT_AUTHOR_NAME", "cc-ci tests")
        .env("GIT_AUTHOR_EMAIL", "tests@cc-ci.local")
        .env("GIT_COMMITTER_NAME", "cc-ci tests")
        .env("GIT_COMMITTER_EMAIL", "tests@cc-ci.local")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

pub fn copy_dir(src: &Path, dst: &Path) {
    std::fs::create_dir_all(dst).unwrap();
    for entry in std::fs::read_dir(src).unwrap() {
        let entry = entry.unwrap();
        let to = dst.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &to);
        } else {
            std::fs::copy(entry.path(), &to).unwrap();
        }
    }
}

/// Names of engine objects of `kind` (service, volume, secret, config, network) labelled
/// with the stack `stack`.
pub fn engine_objects(kind: &str, stack: &str) -> Vec<String> {
    let out = Command::new("docker")
        .args([
            kind,
            "ls",
            "--filter",
            &format!("label=com.docker.stack.namespace={stack}"),
            "--format",
            "{{.Name}}",
        ])
        .output()
        .unwrap();
    // Not while unwinding: clean-up in `Guard::drop` must not panic a second time.
    assert!(
        out.status.success() || std::thread::panicking(),
        "docker {kind} ls failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_string)
        .filter(|l| !l.is_empty())
        .collect()
}

/// Everything of a stack still on the engine, `kind: name` each; empty = clean.
pub fn leftovers(stack: &str) -> Vec<String> {
    let mut left = Vec::new();
    for kind in ["service", "volume", "secret", "config", "network"] {
        for name in engine_objects(kind, stack) {
            left.push(format!("{kind}: {name}"));
        }
    }
    let containers = Command::new("docker")
        .args([
            "ps",
            "-a",
            "-q",
            "--filter",
            &format!("label=com.docker.stack.namespace={stack}"),
        ])
        .output()
        .unwrap();
    for id in String::from_utf8_lossy(&containers.stdout).lines() {
        left.push(format!("container: {id}"));
    }
    left
}

/// Stacks on the engine whose name starts with `prefix`.
pub fn stacks_with_prefix(prefix: &str) -> Vec<String> {
    let mut found = Vec::new();
    for kind in ["service", "volume", "secret", "network"] {
        let out = Command::new("docker")
            .args([
                kind,
                "ls",
                "--filter",
                "label=com.docker.stack.namespace",
                "--format",
                "{{.Label \"com.docker.stack.namespace\"}}",
            ])
            .output()
            .unwrap();
        for s in String::from_utf8_lossy(&out.stdout).lines() {
            if s.starts_with(prefix) && !found.contains(&s.to_string()) {
                found.push(s.to_string());
            }
        }
    }
    found
}

/// Waits (bounded) until `cond` holds; panics with `what` on time-out.
pub fn wait_until(what: &str, secs: u64, mut cond: impl FnMut() -> bool) {
    let end = std::time::Instant::now() + std::time::Duration::from_secs(secs);
    while std::time::Instant::now() < end {
        if cond() {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(250));
    }
    panic!("timed out after {secs} s waiting for: {what}");
}

/// The stack of the (single) run registered in a state dir, once it is registered.
pub fn registered_stack(state_dir: &Path) -> Option<String> {
    let dir = state_dir.join("active");
    let entry = std::fs::read_dir(dir)
        .ok()?
        .flatten()
        .find(|e| e.path().extension().is_some_and(|x| x == "json"))?;
    let v: Value = serde_json::from_slice(&std::fs::read(entry.path()).ok()?).ok()?;
    v["stack"].as_str().map(str::to_string)
}

/// The stacks of every run registered in a state dir.
pub fn registered_stacks(state_dir: &Path) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(state_dir.join("active")) else {
        return Vec::new();
    };
    let mut stacks: Vec<String> = entries
        .flatten()
        .filter(|e| e.path().extension().is_some_and(|x| x == "json"))
        .filter_map(|e| serde_json::from_slice::<Value>(&std::fs::read(e.path()).ok()?).ok())
        .filter_map(|v| v["stack"].as_str().map(str::to_string))
        .collect();
    stacks.sort();
    stacks
}

/// A finished command's exit code, stdout and stderr, for assertion messages.
pub fn explain(o: &Output) -> String {
    format!(
        "exit {:?}\nstdout:\n{}\nstderr:\n{}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// A port of 127.0.0.1 free a moment ago (bound, then let go), for a server a test starts.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Commits everything in a recipe repository; returns the new commit.
pub fn commit_all(dir: &Path, message: &str) -> String {
    git(dir, &["add", "-A"]);
    git(dir, &["commit", "--quiet", "--allow-empty", "-m", message]);
    git(dir, &["rev-parse", "HEAD"])
}

/// Removes a stack and everything it left on the engine, bounded (for test clean-up only;
/// the runner's own teardown is what tests assert on).
pub fn remove_stack(stack: &str) {
    let _ = Command::new("docker").args(["stack", "rm", stack]).output();
    // Containers of cc-ci's own beside the stack (its forwarder) carry the stack label.
    for left in leftovers(stack) {
        if let Some(id) = left.strip_prefix("container: ") {
            let _ = Command::new("docker").args(["rm", "-f", id]).output();
        }
    }
    let end = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while std::time::Instant::now() < end {
        let left = leftovers(stack);
        if left.is_empty() {
            return;
        }
        if left
            .iter()
            .all(|l| !l.starts_with("service:") && !l.starts_with("container:"))
        {
            for kind in ["volume", "secret", "config", "network"] {
                for name in engine_objects(kind, stack) {
                    let _ = Command::new("docker").args([kind, "rm", &name]).output();
                }
            }
        }
        std::thread::sleep(std::time::Duration::from_millis(500));
    }
}

/// Clean-up guard for tests that drive `ccci` processes by hand: when dropped (also when
/// the test panics) it interrupts the children still running and removes the stacks it was
/// given, so a failing test leaves nothing behind on the shared engine.
#[derive(Default)]
pub struct Guard {
    pub pids: Vec<u32>,
    pub stacks: Vec<String>,
}

impl Guard {
    /// A guard for stacks known up front (no processes).
    pub fn for_stacks(stacks: &[&str]) -> Guard {
        Guard {
            pids: Vec::new(),
            stacks: stacks.iter().map(|s| s.to_string()).collect(),
        }
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        let bin = ccci_bin().display().to_string();
        for pid in &self.pids {
            // Only a still-running `ccci` of ours: never a recycled pid.
            let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
            if String::from_utf8_lossy(&cmdline).starts_with(&bin) {
                let _ = Command::new("kill")
                    .args(["-INT", &pid.to_string()])
                    .status();
            }
        }
        for stack in &self.stacks {
            remove_stack(stack);
        }
    }
}

/// The failure of a crash-looping fixture app (`CRASH_AT_START`): named rung and service,
/// "crash-looping" (or, for an update swarm paused on the new task's exit, "swarm paused
/// it"), the task's exit error and the app's last log words.
pub fn assert_crash_loop_failure(results: &Value, rung: &str) {
    let failure = &results["failure"];
    assert_eq!(failure["rung"], rung, "{failure}");
    assert_eq!(failure["service"], "app", "{failure}");
    let message = failure["message"].as_str().unwrap_or("");
    let paused = message.contains("swarm paused it") && message.contains("exited with code 1");
    assert!(message.contains("crash-looping") || paused, "{failure}");
    let task_error = failure["task_error"].as_str().unwrap_or("");
    assert!(task_error.contains("exit"), "{failure}");
    let tail = failure["log_tail"].to_string();
    assert!(
        tail.contains("CRASH_AT_START"),
        "log tail lacks the app's last words: {tail}"
    );
}

/// Makes a fixture-web copy wait in its install: the app answers `/health` only after 120 s,
/// and the healthcheck's start period (300 s) keeps swarm from replacing the waiting task.
pub fn make_slow(recipe: &Path) {
    env_line(recipe, "HEALTHY_AFTER=120");
    let compose = recipe.join("compose.yml");
    let text: String = std::fs::read_to_string(&compose)
        .unwrap()
        .lines()
        .filter(|l| !l.trim_start().starts_with("start_period:"))
        .map(|l| {
            if l.trim_start().starts_with("retries:") {
                format!("{l}\n      start_period: 300s\n")
            } else {
                format!("{l}\n")
            }
        })
        .collect();
    std::fs::write(&compose, text).unwrap();
}

/// A suite with a generous DEPLOY_TIMEOUT: a red run under it comes from the fail-fast
/// rules, not from the time-out.
pub const PATIENT_SUITE: &str = "health_path = \"/health\"\ndeploy_timeout = \"10m\"\n";

/// Where a volume's data lives on this host.
pub fn volume_mountpoint(volume: &str) -> PathBuf {
    let out = Command::new("docker")
        .args(["volume", "inspect", "-f", "{{.Mountpoint}}", volume])
        .output()
        .unwrap();
    assert!(out.status.success(), "no volume {volume}");
    PathBuf::from(String::from_utf8_lossy(&out.stdout).trim())
}

/// Every file of a volume, relative path → bytes (directories with a trailing `/`).
pub fn volume_tree(volume: &str) -> std::collections::BTreeMap<String, Vec<u8>> {
    let root = volume_mountpoint(volume);
    let mut out = std::collections::BTreeMap::new();
    let mut dirs = vec![root.clone()];
    while let Some(d) = dirs.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            let rel = p.strip_prefix(&root).unwrap().display().to_string();
            if p.is_dir() {
                dirs.push(p);
                out.insert(format!("{rel}/"), Vec::new());
            } else {
                out.insert(rel, std::fs::read(&p).unwrap());
            }
        }
    }
    out
}

/// Sets a fixture app's switch (`CRASH_AT_START`, `NEVER_HEALTHY`, …) in a recipe's
/// `compose.yml`: `- FLAG` becomes `- FLAG=1`.
pub fn set_flag(dir: &Path, flag: &str) {
    edit(
        dir,
        "compose.yml",
        &format!("      - {flag}\n"),
        &format!("      - {flag}=1\n"),
    );
}

/// `ccci <subcommand> <extra…> --state-dir <rig state>`, which must succeed; its stdout.
pub fn ccci_ok(rig: &Rig, subcommand: &str, extra: &[&str]) -> String {
    let out = ccci()
        .arg(subcommand)
        .args(extra)
        .arg("--state-dir")
        .arg(rig.state_dir())
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{subcommand} failed: {:?}\n{stdout}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

/// Spawns `ccci run` of `recipe` into `out-<name>` (stdout and stderr piped), hands its pid
/// and, once registered, its stack to `guard`, and waits up to 90 s until the run has
/// registered a new stack and `ready(stack)` holds; panics (with the run's stderr) if the
/// run ends first. Returns the still-running child and its stack.
pub fn spawn_run_until(
    rig: &Rig,
    recipe: &Path,
    suites: &Path,
    flags: &[&str],
    name: &str,
    guard: &mut Guard,
    mut ready: impl FnMut(&str) -> bool,
) -> (Child, String) {
    let before = registered_stacks(&rig.state_dir());
    let mut child = rig
        .command(recipe, Some(suites), flags, &format!("out-{name}"))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    guard.pids.push(child.id());
    let mut stack = None;
    wait_until(&format!("run {name} to register and be ready"), 90, || {
        if let Ok(Some(status)) = child.try_wait() {
            let mut err = String::new();
            if let Some(mut e) = child.stderr.take() {
                let _ = std::io::Read::read_to_string(&mut e, &mut err);
            }
            panic!("run {name} ended early: {status}\n{err}");
        }
        stack = registered_stacks(&rig.state_dir())
            .into_iter()
            .find(|s| !before.contains(s));
        if let Some(s) = &stack {
            if !guard.stacks.contains(s) {
                guard.stacks.push(s.clone());
            }
        }
        stack.as_deref().is_some_and(&mut ready)
    });
    (child, stack.unwrap())
}

/// A run of a recipe declaring the keycloak dependency whose integration went unverified:
/// exit 1, red, install passed, integration skipped with a reason containing `reason`, and
/// the failure naming the integration rung and the unverified dependency.
pub fn assert_red_for_an_unverified_dependency(run: &Run, reason: &str) {
    assert_eq!(run.code, 1, "{}", run.explain());
    let r = run.results();
    assert_eq!(r["verdict"], "red");
    assert_eq!(run.rung("install")["status"], "pass");
    let integration = run.rung("integration");
    assert_eq!(integration["status"], "skip");
    assert!(
        integration["reason"].as_str().unwrap().contains(reason),
        "{integration}"
    );
    let failure = &r["failure"];
    assert_eq!(failure["rung"], "integration");
    assert!(
        failure["message"]
            .as_str()
            .unwrap()
            .contains("keycloak were not verified"),
        "{failure}"
    );
}

/// fixture-web as a repository whose app mounts the config `app_conf` (named with
/// `FIXTURE_CONF_VERSION` from `abra.sh`) made from `app.conf`: releases 1.0.0 and 1.1.0,
/// then a head at 1.2.0 that `edit_head` changes.
pub fn config_repo(rig: &Rig, name: &str, edit_head: impl FnOnce(&Path)) -> PathBuf {
    let dir = rig.recipe_copy("fixture-web", name);
    edit(
        &dir,
        "compose.yml",
        "    secrets:\n      - db_password\n",
        "    configs:\n      - source: app_conf\n        target: /etc/app.conf\n    secrets:\n      - db_password\n",
    );
    edit(
        &dir,
        "compose.yml",
        "\nvolumes:\n  data:\n",
        "\nconfigs:\n  app_conf:\n    name: ${STACK_NAME}_app_conf_${FIXTURE_CONF_VERSION}\n    file: app.conf\n\nvolumes:\n  data:\n",
    );
    std::fs::write(dir.join("app.conf"), "conf A\n").unwrap();
    commit_releases(&dir, &["1.0.0", "1.1.0"], "1.2.0", edit_head);
    dir
}

/// The run's out dir holds the landing page's picture, `screenshot.png`.
pub fn assert_screenshot(run: &Run) {
    let png = std::fs::read(run.out.join("screenshot.png")).unwrap_or_default();
    assert!(
        png.starts_with(b"\x89PNG"),
        "no screenshot.png:\n{}",
        run.stderr
    );
}

/// The run tore down cleanly: nothing of its stack is left on the engine, and its results
/// say so.
pub fn assert_clean(run: &Run) {
    let left = leftovers(&run.stack());
    assert!(left.is_empty(), "left behind: {left:?}\n{}", run.explain());
    assert_eq!(
        run.results()["flags"]["clean_teardown"],
        true,
        "{}",
        run.explain()
    );
}

/// The stand-in on its own runtime (the test thread blocks on `ccci` processes), and the
/// flags that point `ccci` at it.
pub struct Sso {
    pub standin: KeycloakStandin,
    pub password_file: PathBuf,
    // Dropped after the stand-in (fields drop in order).
    _rt: tokio::runtime::Runtime,
}

impl Sso {
    pub fn start(rig: &Rig) -> Sso {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let password = format!("pw-{}", std::process::id());
        let standin = rt
            .block_on(KeycloakStandin::start("admin", &password))
            .unwrap();
        let password_file = rig.path("keycloak-admin-password");
        std::fs::write(&password_file, format!("{password}\n")).unwrap();
        Sso {
            standin,
            password_file,
            _rt: rt,
        }
    }

    pub fn flags(&self) -> Vec<String> {
        vec![
            "--keycloak-url".into(),
            self.standin.base_url(),
            "--keycloak-admin-password-file".into(),
            self.password_file.display().to_string(),
        ]
    }

    /// `--stages install,integration` and the flags that point `ccci` at the stand-in.
    pub fn run_flags(&self) -> Vec<String> {
        let mut flags = vec!["--stages".to_string(), "install,integration".to_string()];
        flags.extend(self.flags());
        flags
    }

    /// Realms other than `master`.
    pub fn run_realms(&self) -> Vec<String> {
        self.standin
            .realm_names()
            .into_iter()
            .filter(|r| r != "master")
            .collect()
    }
}

/// `&str`s of owned strings, for `Command` arguments.
pub fn strs(strings: &[String]) -> Vec<&str> {
    strings.iter().map(String::as_str).collect()
}

/// A run's `failure` record.
pub fn failure(run: &Run) -> &Value {
    &run.results()["failure"]
}

/// The failure's message (empty when the run did not fail).
pub fn message(run: &Run) -> String {
    failure(run)["message"].as_str().unwrap_or("").to_string()
}

/// How long a rung took, in seconds.
pub fn seconds(run: &Run, rung: &str) -> f64 {
    run.rung(rung)["duration_ms"].as_f64().unwrap() / 1000.0
}
