//! cc-ci *deployed* as its recipe (`deploy/recipe`, issue 11): the stack runs `ccci serve`
//! in a container — the image built from the binary under test — configured as an operator
//! would through the recipe's `.env` against the Gitea stand-in (Gitea cannot run here),
//! served on the `docker_gwbridge` gateway, where the container reaches this host. A
//! `!testme` on a pull request of a small fixture recipe (cloned from the stand-in) must be
//! picked up by the deployed service and proved on this swarm from inside the container:
//! sandbox hooks (bind mounts the engine resolves on the host), data markers and backups
//! (the engine's volumes dir) and the forwarder (reached over `proxy`, not the host's
//! loopback). Afterwards nothing of the run, and then nothing of cc-ci's stack, is left.

use crate::common::*;
use crate::service::final_statuses;
use ccci_forge::gitea_standin::Standin;
use ccci_forge::{Permission, RepoName};
use serde_json::Value;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::process::Command;

const BOT: &str = "ccci-bot";
const BOT_TOKEN: &str = "bot-token-deployed-0123456789";

#[test]
fn standin_testme_is_picked_up_by_the_deployed_ccci_recipe_and_reported_green() {
    if !ccci_testkit::swarm_ready() {
        return;
    }
    crate::recipe_of_ccci::build_image_of_the_binary_under_test();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let standin = rt
        .block_on(Standin::start_on(gwbridge_gateway()))
        .expect("start the Gitea stand-in on the docker_gwbridge gateway");
    standin.add_token(BOT_TOKEN, BOT);
    let repo = standin.add_repo("coop-cloud/dplykv").unwrap();
    standin.set_permission(&repo, BOT, Permission::Admin);
    standin.set_permission(&repo, "alice", Permission::Write);

    let rig = Rig::new();
    let recipe = kv_recipe_with_its_suite(&rig, "dplykv");
    git(&recipe, &["update-server-info"]);
    standin.serve_git(&repo, &recipe.join(".git"));
    let sha = git(&recipe, &["rev-parse", "HEAD"]);
    let pr = standin.open_pull(&repo, "main", &sha);

    let stack = format!("ccci-dply-{}", std::process::id());
    // Whatever happens: the run's stack (its domain starts with `dply-`) and cc-ci's go.
    let _guard = RunStacksGuard(stack.clone());
    deploy_ccci(&stack, &standin.base_url(), &repo);
    wait_until("cc-ci's container is healthy", 180, || {
        healthy_container(&stack).is_some()
    });
    assert_doctor_sees_the_same_paths_and_proxy(&healthy_container(&stack).unwrap());

    standin.add_comment(&repo, pr, "alice", "!testme");
    wait_until("the deployed cc-ci posts a final status", 900, || {
        !final_statuses(&standin, &repo, &sha).is_empty()
    });
    // The reporter sets the status first and then edits the sticky comment.
    wait_until("the sticky comment is final", 60, || {
        standin
            .comments(&repo, pr)
            .iter()
            .any(|c| c.author == BOT && !c.body.contains("updated when the run finishes"))
    });
    let explain = || service_log(&stack);
    assert_eq!(
        final_statuses(&standin, &repo, &sha),
        ["success"],
        "{}",
        explain()
    );
    let sticky: Vec<String> = standin
        .comments(&repo, pr)
        .into_iter()
        .filter(|c| c.author == BOT)
        .map(|c| c.body)
        .collect();
    assert_eq!(sticky.len(), 1, "one sticky comment: {sticky:#?}");
    assert!(sticky[0].contains("GREEN"), "{}", sticky[0]);

    let results = run_results(&stack);
    assert_eq!(results["verdict"], "green", "{results:#}");
    for rung in ["install", "upgrade", "backup_restore", "functional"] {
        let status = rung_status(&results, rung);
        assert_eq!(status, "pass", "{rung}: {results:#}");
    }
    // Reached over `proxy` by the forwarder's name: the container's loopback is its own.
    assert_eq!(results["route"]["via"], "forwarder_proxy", "{results:#}");
    let run_stack = results["stack"].as_str().unwrap().to_string();
    wait_until("the run's stack is torn down", 120, || {
        leftovers(&run_stack).is_empty()
    });

    remove_stack(&stack);
    assert_eq!(leftovers(&stack), Vec::<String>::new(), "cc-ci's stack");
    rt.block_on(standin.stop());
}

/// Removes, when dropped, cc-ci's stack and any stack of the run (`dply-…`).
struct RunStacksGuard(String);

impl Drop for RunStacksGuard {
    fn drop(&mut self) {
        for stack in stacks_with_prefix("dply-") {
            remove_stack(&stack);
        }
        remove_stack(&self.0);
    }
}

/// The address containers reach this host on: the `docker_gwbridge` gateway.
fn gwbridge_gateway() -> IpAddr {
    let out = Command::new("docker")
        .args([
            "network",
            "inspect",
            "docker_gwbridge",
            "--format",
            "{{range .IPAM.Config}}{{.Gateway}}{{end}}",
        ])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    text.trim()
        .parse()
        .unwrap_or_else(|e| panic!("docker_gwbridge has no gateway ({e}): {text:?}"))
}

/// `recipes/fixture-kv` as a repository with its suite shipped inside (`.ccci/`, in the
/// release too: a release's suite judges the PR): release 1.0.0, head 1.1.0. Hooks run in
/// sandboxes, and a marker and a backup go through its volume.
fn kv_recipe_with_its_suite(rig: &Rig, name: &str) -> PathBuf {
    let suite = repo_root().join("suites/fixture-kv");
    let dir = rig.git_recipe("fixture-kv", name, &[], "1.0.0", |dir| {
        copy_dir(&suite, &dir.join(".ccci"));
    });
    git(&dir, &["tag", "-a", "1.0.0+1.0.0", "-m", "release 1.0.0"]);
    set_version(&dir, "1.1.0");
    commit_all(&dir, "head: the PR under test");
    dir
}

/// Deploys `deploy/recipe` as stack `stack`, as `abra app deploy` would with this `.env`:
/// the stand-in as forge, one enrolled repository, polled every second.
fn deploy_ccci(stack: &str, forge_url: &str, repo: &RepoName) {
    let recipe = repo_root().join("deploy/recipe");
    for (secret, value) in [
        ("forge_token", BOT_TOKEN),
        ("hook_secret", "hook-secret-0123"),
    ] {
        docker_stdin(
            &[
                "secret",
                "create",
                "--label",
                &format!("com.docker.stack.namespace={stack}"),
                &format!("{stack}_{secret}_v1"),
                "-",
            ],
            value,
        );
    }
    let toml_version = abra_export(&recipe, "CCCI_TOML_VERSION");
    let env = [
        ("STACK_NAME", stack.to_string()),
        ("DOMAIN", format!("{stack}.ci.local")),
        ("CI_DOMAIN", "ci.local".to_string()),
        ("LETS_ENCRYPT_ENV", "staging".to_string()),
        ("EXTRA_DOMAINS", String::new()),
        ("FORGE_URL", forge_url.to_string()),
        ("FORGE_REPOS", repo.full_name()),
        ("FORGE_BOT_LOGIN", BOT.to_string()),
        ("FORGE_POLL_INTERVAL", "1".to_string()),
        ("CCCI_TOML_VERSION", toml_version),
        ("SECRET_FORGE_TOKEN_VERSION", "v1".to_string()),
        ("SECRET_HOOK_SECRET_VERSION", "v1".to_string()),
    ];
    let out = Command::new("docker")
        .current_dir(&recipe)
        .args(["stack", "deploy", "--resolve-image", "never"])
        .args(["--compose-file", "compose.yml", stack])
        .envs(env)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "deploying the cc-ci recipe: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `export NAME=value` of the recipe's `abra.sh`.
fn abra_export(recipe: &Path, name: &str) -> String {
    let text = std::fs::read_to_string(recipe.join("abra.sh")).unwrap();
    let prefix = format!("export {name}=");
    text.lines()
        .find_map(|l| l.trim().strip_prefix(&prefix))
        .unwrap_or_else(|| panic!("abra.sh exports no {name}"))
        .to_string()
}

fn docker_stdin(args: &[&str], input: &str) {
    use std::io::Write;
    let mut child = Command::new("docker")
        .args(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    assert!(child.wait().unwrap().success(), "docker {args:?}");
}

/// The healthy container of cc-ci's service, if any.
fn healthy_container(stack: &str) -> Option<String> {
    let out = Command::new("docker")
        .args(["ps", "-q", "--filter", "health=healthy", "--filter"])
        .arg(format!("label=com.docker.swarm.service.name={stack}_app"))
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    text.lines().next().map(str::to_string)
}

/// `abra app cmd <app> app doctor`, as the recipe's `abra.sh` runs it, inside the container:
/// the state dir and the engine's volumes dir are the same paths on the host, and the
/// service is on `proxy`.
fn assert_doctor_sees_the_same_paths_and_proxy(container: &str) {
    let abra_sh = std::fs::read_to_string(repo_root().join("deploy/recipe/abra.sh")).unwrap();
    let out = Command::new("docker")
        .args(["exec", container, "sh", "-c"])
        .arg(format!("{abra_sh}\ndoctor"))
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let same: Vec<&str> = text.lines().filter(|l| l.contains("same path")).collect();
    assert_eq!(same.len(), 2, "{text}");
    for line in same {
        assert!(line.starts_with("ok"), "{line}\n{text}");
        assert!(line.contains("is the same path on the host"), "{text}");
    }
    assert!(
        text.lines()
            .any(|l| l.starts_with("ok") && l.contains("forwarders are reached there")),
        "{text}"
    );
}

fn service_log(stack: &str) -> String {
    let out = Command::new("docker")
        .args(["service", "logs", "--tail", "80", &format!("{stack}_app")])
        .output()
        .unwrap();
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// The results of the (one) run, read from cc-ci's state volume on the host.
fn run_results(stack: &str) -> Value {
    let runs = volume_mountpoint(&format!("{stack}_state")).join("runs");
    let found: Vec<PathBuf> = walk(&runs)
        .into_iter()
        .filter(|p| p.file_name().is_some_and(|n| n == "results.json"))
        .collect();
    assert_eq!(
        found.len(),
        1,
        "one run's results under {runs:?}: {found:?}"
    );
    serde_json::from_slice(&std::fs::read(&found[0]).unwrap()).unwrap()
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            files.extend(walk(&path));
        } else {
            files.push(path);
        }
    }
    files
}

fn rung_status(results: &Value, name: &str) -> String {
    results["rungs"]
        .as_array()
        .and_then(|rungs| rungs.iter().find(|r| r["name"] == name))
        .and_then(|r| r["status"].as_str())
        .unwrap_or("missing")
        .to_string()
}
