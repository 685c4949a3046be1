//! What people look at: every artefact of a run, and no secret in any of them.

use crate::common::*;

/// The app prints its secrets to its log; the test reads the real values out of the
/// running container (suite hooks run sandboxed and cannot). No value may appear in any
/// artefact of the run.
#[test]
fn secrets_printed_by_the_app_appear_in_no_artefact() {
    let rig = Rig::new();
    let recipe = rig.recipe_copy("fixture-web", "leaky");
    env_line(&recipe, "PRINT_SECRETS=1");
    let suites = rig.suite_copy("fixture-web", "leaky");
    let mut guard = Guard::default();
    let mut secrets: Vec<String> = Vec::new();
    // The picture is an artefact too.
    let flags = ["--stages", "install,functional", "--screenshots", "true"];
    let (child, _) = spawn_run_until(
        &rig,
        &recipe,
        &suites,
        &flags,
        "leaky",
        &mut guard,
        |stack| {
            let read = |name: &str| {
                let filter = format!("label=com.docker.swarm.service.name={stack}_app");
                let ps = std::process::Command::new("docker")
                    .args(["ps", "-q", "--filter", &filter])
                    .output()
                    .unwrap();
                let id = String::from_utf8_lossy(&ps.stdout)
                    .lines()
                    .next()?
                    .to_string();
                let cat = std::process::Command::new("docker")
                    .args([
                        "exec",
                        &id,
                        "busybox",
                        "cat",
                        &format!("/run/secrets/{name}"),
                    ])
                    .output()
                    .ok()?;
                let value = String::from_utf8_lossy(&cat.stdout).trim().to_string();
                (cat.status.success() && !value.is_empty()).then_some(value)
            };
            match (read("db_password"), read("admin_token")) {
                (Some(a), Some(b)) => {
                    secrets = vec![a, b];
                    true
                }
                _ => false,
            }
        },
    );
    let run = rig.finish(child.wait_with_output().unwrap(), "out-leaky");
    assert_eq!(run.code, 0, "{}", run.explain());
    assert_eq!(secrets.len(), 2, "expected two secret values");
    assert_eq!(secrets[0].len(), 32, "length=32 modifier honoured");
    assert_eq!(secrets[1].len(), 48, "length=48 modifier honoured");

    let mut files = Vec::new();
    let mut dirs = vec![run.out.clone()];
    while let Some(d) = dirs.pop() {
        for e in std::fs::read_dir(d).unwrap().flatten() {
            if e.path().is_dir() {
                dirs.push(e.path())
            } else {
                files.push(e.path())
            }
        }
    }
    for expected in [
        "results.json",
        "card.svg",
        "card.png",
        "comment.md",
        "junit.xml",
        "logs/app.log",
    ] {
        assert!(
            run.out.join(expected).is_file(),
            "artefact {expected} missing"
        );
    }
    for f in &files {
        let text = String::from_utf8_lossy(&std::fs::read(f).unwrap()).into_owned();
        for s in &secrets {
            assert!(
                !text.contains(s.as_str()),
                "secret value found in {}",
                f.display()
            );
        }
    }
    // The app did print them: the log shows where they were redacted.
    let log = std::fs::read_to_string(run.out.join("logs/app.log")).unwrap();
    assert!(
        log.contains("secret db_password = [REDACTED]"),
        "log: {log}"
    );
    // The flag tells the maintainer the app printed a secret; the comment warns.
    assert_eq!(run.results()["flags"]["no_secret_leak"], false);
    let comment = std::fs::read_to_string(run.out.join("comment.md")).unwrap();
    assert!(comment.contains("printed a generated secret"), "{comment}");
    // The terminal summary does not carry them either.
    for s in &secrets {
        assert!(!run.stdout.contains(s.as_str()) && !run.stderr.contains(s.as_str()));
    }
}

#[test]
fn red_run_comment_names_the_rung_and_shows_the_task_error_and_log_tail() {
    let rig = Rig::new();
    let recipe = rig.recipe_copy("fixture-web", "redcomment");
    env_line(&recipe, "CRASH_AT_START=1");
    let run = rig.run(&recipe, None, &["--stages", "install"]);
    assert_eq!(run.code, 1, "{}", run.explain());
    let comment = std::fs::read_to_string(run.out.join("comment.md")).unwrap();
    assert!(comment.contains("install"), "{comment}");
    assert!(
        comment.contains("non-zero exit"),
        "task error missing: {comment}"
    );
    assert!(
        comment.contains("CRASH_AT_START"),
        "log tail missing: {comment}"
    );
    let junit = std::fs::read_to_string(run.out.join("junit.xml")).unwrap();
    assert!(junit.contains("<failure"), "{junit}");
}

/// The landing page's screenshot is cosmetic and never shows a secret: a page that displays
/// one is not photographed (its DOM, dumped in the browser container, is checked first), and
/// the run's verdict does not change.
#[test]
fn a_landing_page_that_shows_secrets_is_not_photographed() {
    let rig = Rig::new();
    let recipe = rig.recipe_copy("fixture-web", "showsecret");
    env_line(&recipe, "LANDING_SHOWS_SECRETS=1");
    let run = rig.run(
        &recipe,
        None,
        &["--stages", "install", "--screenshots", "true"],
    );
    assert_eq!(run.code, 0, "{}", run.explain());
    assert!(!run.out.join("screenshot.png").exists());
    assert!(run.stderr.contains("shows a secret"), "{}", run.stderr);
    assert!(!run.stderr.contains("screenshot: taken"), "{}", run.stderr);
    assert_eq!(run.results()["flags"]["no_secret_leak"], true);
}

/// The page is the pull request's: the browser that photographs it runs in cc-ci's
/// throwaway browser container, never on the CI host. Every browser name on the host's PATH
/// is a stand-in that leaves a mark when run; none may be run, the picture is still taken,
/// and no browser container is left behind.
#[test]
fn the_landing_page_is_photographed_in_the_browser_container_not_on_the_host() {
    use std::os::unix::fs::PermissionsExt;
    let rig = Rig::new();
    let recipe = rig.recipe_copy("fixture-web", "shotbox");
    let bin = rig.path("host-bin");
    let mark = rig.path("a-host-browser-ran");
    std::fs::create_dir_all(&bin).unwrap();
    for browser in ["chromium", "chromium-browser", "google-chrome"] {
        let stub = bin.join(browser);
        std::fs::write(
            &stub,
            format!("#!/bin/sh\ntouch '{}'\nexit 1\n", mark.display()),
        )
        .unwrap();
        std::fs::set_permissions(&stub, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    let mut dirs = vec![bin.clone()];
    dirs.extend(std::env::split_paths(&path));
    let mut cmd = rig.command(
        &recipe,
        None,
        &["--stages", "install", "--screenshots", "true"],
        "out",
    );
    cmd.env("PATH", std::env::join_paths(dirs).unwrap());
    let run = rig.finish(cmd.output().unwrap(), "out");
    assert_eq!(run.code, 0, "{}", run.explain());
    assert_screenshot(&run);
    assert!(
        run.stderr
            .contains("screenshot: taken by headless Chromium in the browser container"),
        "{}",
        run.stderr
    );
    assert!(!mark.exists(), "a browser ran on the CI host");
    assert!(
        leftovers(&run.stack()).is_empty(),
        "left: {:?}",
        leftovers(&run.stack())
    );
}
