//! What a pull request controls never reaches the CI host (issue 19): every deploy is
//! judged on what docker itself would deploy (`docker stack config` with the deploy's own
//! files and environment), before it runs. Each door is tried by a head that is refused
//! before anything exists on the engine, with nothing of the host in any output, and by its
//! harmless look-alike, which deploys. The check runs again at every deploy, after the hooks.

use crate::common::*;
use std::path::Path;

const DATA_MOUNT: &str = "      - data:/data\n";

fn fake_token() -> String {
    format!("ccci-fake-forge-token-{}", std::process::id())
}

/// A host file holding a recognisable fake token, outside every checkout.
fn host_token_file(rig: &Rig) -> std::path::PathBuf {
    let path = rig.path("host-secrets/forge-token");
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, format!("TOKEN={}\n", fake_token())).unwrap();
    path
}

/// RED at install, refused before any deploy, nothing of the stack ever on the engine, and
/// each of `needles` in the message.
fn assert_refused(run: &Run, needles: &[&str]) {
    assert_eq!(run.code, 1, "{}", run.explain());
    let r = run.results();
    assert_eq!(r["verdict"], "red", "{}", run.explain());
    assert_eq!(r["failure"]["rung"], "install", "{}", r["failure"]);
    assert_eq!(r["deploy_count"], 0, "{}", run.explain());
    let message = r["failure"]["message"].as_str().unwrap();
    assert!(message.contains("cc-ci refuses to deploy"), "{message}");
    for needle in needles {
        assert!(message.contains(needle), "{needle:?} not in: {message}");
    }
    let left = leftovers(&run.stack());
    assert!(left.is_empty(), "left behind: {left:?}");
}

/// The token is nowhere: not in the run's output, nor in any file of its artefacts.
fn assert_token_nowhere(run: &Run) {
    let token = fake_token();
    assert!(!run.stdout.contains(&token), "token on stdout");
    assert!(!run.stderr.contains(&token), "token on stderr");
    for entry in walk(&run.out) {
        let bytes = std::fs::read(&entry).unwrap_or_default();
        let text = String::from_utf8_lossy(&bytes);
        assert!(!text.contains(&token), "token in {}", entry.display());
    }
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

fn installs(run: &Run) {
    assert_eq!(run.rung("install")["status"], "pass", "{}", run.explain());
    assert_clean(run);
}

fn install_only(rig: &Rig, name: &str, edit_head: impl FnOnce(&Path)) -> Run {
    let repo = rig.git_recipe("fixture-web", name, &["1.0.0", "1.1.0"], "1.2.0", edit_head);
    let suites = rig.suite_copy("fixture-web", name);
    rig.run(&repo, Some(&suites), &["--stages", "install"])
}

/// An overlay chained by `COMPOSE_FILE`, holding `body` under `services.app`.
fn add_overlay(dir: &Path, file: &str, head: &str, body: &str) {
    std::fs::write(
        dir.join(file),
        format!("version: \"3.8\"\n{head}services:\n  app:\n{body}"),
    )
    .unwrap();
    edit(
        dir,
        ".env.sample",
        "COMPOSE_FILE=\"compose.yml\"",
        &format!("COMPOSE_FILE=\"compose.yml:{file}\""),
    );
}

#[test]
fn a_host_mount_docker_merges_from_an_anchor_in_an_overlay_is_refused() {
    let rig = Rig::new();
    let run = install_only(&rig, "dcym", |dir| {
        add_overlay(
            dir,
            "compose.host.yml",
            "x-host: &host\n  volumes:\n    - /etc:/host-etc:ro\n  cap_add:\n    - SYS_ADMIN\n",
            "    <<: *host\n",
        )
    });
    assert_refused(
        &run,
        &["bind:/etc", "cap_add:SYS_ADMIN", "[host_access] allow"],
    );
}

#[test]
fn an_overlay_that_only_adds_labels_installs() {
    let rig = Rig::new();
    let run = install_only(&rig, "dclb", |dir| {
        add_overlay(
            dir,
            "compose.labels.yml",
            "",
            "    deploy:\n      labels:\n        - \"org.example.team=ops\"\n",
        )
    });
    installs(&run);
}

/// fixture-web with a config `app_conf` whose `file:` is `app.conf`; `place` makes it.
fn config_head(rig: &Rig, name: &str, place: impl FnOnce(&Path)) -> Run {
    let repo = config_repo(rig, name, place);
    let suites = rig.suite_copy("fixture-web", name);
    rig.run(&repo, Some(&suites), &["--stages", "install"])
}

#[test]
fn a_config_linking_to_a_host_file_is_refused_and_never_shown() {
    let rig = Rig::new();
    let token = host_token_file(&rig);
    let run = config_head(&rig, "dccf", |dir| {
        std::fs::remove_file(dir.join("app.conf")).unwrap();
        std::os::unix::fs::symlink(&token, dir.join("app.conf")).unwrap();
    });
    assert_refused(&run, &["app.conf", "a link takes outside"]);
    assert_token_nowhere(&run);
}

#[test]
fn a_config_linking_inside_the_recipe_installs() {
    let rig = Rig::new();
    let run = config_head(&rig, "dcci", |dir| {
        std::fs::create_dir_all(dir.join("conf")).unwrap();
        std::fs::write(dir.join("conf/real.conf"), "conf B\n").unwrap();
        std::fs::remove_file(dir.join("app.conf")).unwrap();
        std::os::unix::fs::symlink("conf/real.conf", dir.join("app.conf")).unwrap();
    });
    installs(&run);
}

#[test]
fn an_env_file_outside_the_checkout_is_refused_before_docker_reads_it() {
    let rig = Rig::new();
    let token = host_token_file(&rig);
    let run = install_only(&rig, "dcef", |dir| {
        edit(
            dir,
            "compose.yml",
            "    environment:\n",
            &format!("    env_file: {}\n    environment:\n", token.display()),
        )
    });
    assert_refused(&run, &["compose.yml", "outside the checkout"]);
    assert_token_nowhere(&run);
}

#[test]
fn a_volume_binding_a_host_directory_through_driver_opts_is_refused() {
    let rig = Rig::new();
    let run = install_only(&rig, "dcvo", |dir| {
        edit(
            dir,
            "compose.yml",
            "\nvolumes:\n  data:\n",
            "\nvolumes:\n  data:\n    driver_opts:\n      type: none\n      device: /etc\n      o: bind\n",
        )
    });
    assert_refused(&run, &["volume `data`", "volume:data"]);
}

#[test]
fn a_tmpfs_volume_installs() {
    let rig = Rig::new();
    let run = install_only(&rig, "dctm", |dir| {
        edit(
            dir,
            "compose.yml",
            DATA_MOUNT,
            "      - data:/data\n      - scratch:/scratch\n",
        );
        edit(
            dir,
            "compose.yml",
            "\nvolumes:\n  data:\n",
            "\nvolumes:\n  data:\n  scratch:\n    driver_opts:\n      type: tmpfs\n      device: tmpfs\n      o: size=8m\n",
        )
    });
    installs(&run);
}

#[test]
fn another_stacks_volume_is_refused() {
    let rig = Rig::new();
    let run = install_only(&rig, "dcxv", |dir| {
        edit(
            dir,
            "compose.yml",
            "\nvolumes:\n  data:\n",
            "\nvolumes:\n  data:\n    external: true\n    name: warm-fixture-web_data\n",
        )
    });
    assert_refused(&run, &["volume `data`", "is external"]);
}

#[test]
fn a_network_other_than_proxy_is_refused_and_never_created() {
    let rig = Rig::new();
    let network = format!("ccci-test-foreign-{}", std::process::id());
    let run = install_only(&rig, "dcnw", |dir| {
        edit(
            dir,
            "compose.yml",
            "      - internal\n",
            "      - internal\n      - foreign\n",
        );
        edit(
            dir,
            "compose.yml",
            "  internal:\n",
            &format!("  internal:\n  foreign:\n    external: true\n    name: {network}\n"),
        )
    });
    assert_refused(&run, &[&format!("network:{network}")]);
    let out = std::process::Command::new("docker")
        .args(["network", "ls", "--format", "{{.Name}}"])
        .output()
        .unwrap();
    let names = String::from_utf8_lossy(&out.stdout);
    assert!(
        !names.lines().any(|n| n == network),
        "cc-ci created {network}"
    );
}

/// A recipe with no release, judged by its own `.ccci/` suite, whose `install_steps` hook
/// prints `env DATA_SOURCE=<host path>`: the compose file binds it only once the hook ran.
fn recipe_whose_hook_sets(rig: &Rig, name: &str, source: &str) -> Run {
    let source = source.to_string();
    let repo = rig.git_recipe("fixture-web", name, &[], "1.2.0", move |dir| {
        edit(
            dir,
            "compose.yml",
            DATA_MOUNT,
            "      - ${DATA_SOURCE:-data}:/data\n",
        );
        let hooks = dir.join(".ccci/hooks");
        std::fs::create_dir_all(&hooks).unwrap();
        std::fs::write(
            dir.join(".ccci/suite.toml"),
            "health_path = \"/health\"\ndeploy_timeout = \"2m\"\nmin_uptime = \"5s\"\n\n[hooks]\ninstall_steps = \"hooks/steps\"\n",
        )
        .unwrap();
        let hook = hooks.join("steps");
        std::fs::write(&hook, format!("#!/bin/sh\necho \"env DATA_SOURCE={source}\"\n")).unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&hook, std::fs::Permissions::from_mode(0o755)).unwrap();
    });
    rig.run(&repo, None, &["--stages", "install"])
}

#[test]
fn a_host_mount_a_hook_adds_after_the_first_check_is_refused_at_the_deploy() {
    let rig = Rig::new();
    let run = recipe_whose_hook_sets(&rig, "dchk", "/etc");
    assert_refused(&run, &["bind:/etc", "no release to compare with"]);
}

#[test]
fn a_hook_that_names_the_stacks_own_volume_installs() {
    let rig = Rig::new();
    let run = recipe_whose_hook_sets(&rig, "dchv", "data");
    installs(&run);
}

/// fixture-web whose data mount's source is `${DATA_SRC:-data}`; `in_releases` sets
/// `DATA_SRC` in every release's `.env.sample`, `in_head` in the head's only.
fn data_source_repo(
    rig: &Rig,
    name: &str,
    in_releases: Option<&str>,
    in_head: Option<&str>,
) -> Run {
    let dir = rig.recipe_copy("fixture-web", name);
    edit(
        &dir,
        "compose.yml",
        DATA_MOUNT,
        "      - ${DATA_SRC:-data}:/data\n",
    );
    if let Some(src) = in_releases {
        env_line(&dir, &format!("DATA_SRC={src}"));
    }
    commit_releases(&dir, &["1.0.0", "1.1.0"], "1.2.0", |dir| {
        if let Some(src) = in_head {
            env_line(dir, &format!("DATA_SRC={src}"));
        }
    });
    let suites = rig.suite_copy("fixture-web", name);
    rig.run(&dir, Some(&suites), &["--stages", "install"])
}

#[test]
fn the_base_is_judged_with_its_own_environment_not_the_heads() {
    let rig = Rig::new();
    let host_dir = rig.path("host-dir");
    std::fs::create_dir_all(&host_dir).unwrap();
    let src = host_dir.display().to_string();
    // Judged with the head's .env.sample, the base would bind the same path and the head
    // would add nothing.
    let run = data_source_repo(&rig, "dcbe", None, Some(&src));
    assert_refused(
        &run,
        &[
            &format!("bind:{src}"),
            "that release 1.1.0+1.1.0 did not have",
        ],
    );
}

#[test]
fn a_bind_the_releases_already_had_in_their_own_environment_installs() {
    let rig = Rig::new();
    let host_dir = rig.path("host-dir");
    std::fs::create_dir_all(&host_dir).unwrap();
    let src = host_dir.display().to_string();
    let run = data_source_repo(&rig, "dcbr", Some(&src), None);
    installs(&run);
}
