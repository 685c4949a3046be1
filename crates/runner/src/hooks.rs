//! Suite hooks and test executables, run in the sandbox (`ccci_adapters::sandbox`), never on the
//! CI host, with the app's coordinates in env.
//!
//! Hooks are executables named in `suite.toml` `[hooks]`, relative to the suite directory.
//! `install_steps` runs before the first deploy and may print lines to change it:
//! `env KEY=VALUE` (set in the app's `.env`) and `overlay FILE` (a compose file, relative to
//! the suite directory, added to the deploy).

use crate::ctx::RunCtx;
use ccci_adapters::beneath::{Kind, Links, Root};
pub use ccci_adapters::sandbox::Ran;
use ccci_adapters::sandbox::{
    self, LoopbackRelay, Program, SandboxError, OUT_DIR, RUN_DIR, SUITE_DIR,
};
use ccci_core::results::Failure;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The env every hook and test gets, as seen inside the sandbox.
pub fn test_env(ctx: &RunCtx) -> Vec<(String, String)> {
    vec![
        ("CCCI_DOMAIN".into(), ctx.app.domain.clone()),
        ("CCCI_BASE_URL".into(), sandbox_base_url(ctx)),
        ("CCCI_APP_NAME".into(), ctx.app.domain.clone()),
        ("CCCI_STACK".into(), ctx.app.stack.clone()),
        ("CCCI_RECIPE".into(), ctx.app.recipe.clone()),
        ("CCCI_ENV_FILE".into(), format!("{RUN_DIR}/app.env")),
        (
            "CCCI_DEPENDENCY_FILE".into(),
            format!("{RUN_DIR}/dependencies.json"),
        ),
        ("CCCI_OUT_DIR".into(), OUT_DIR.into()),
    ]
}

/// How tests reach the app from the sandbox: by its domain, as users do (the forwarder
/// answers for it on `proxy` when the rig has no proxy; else the ingress, through DNS).
fn sandbox_base_url(ctx: &RunCtx) -> String {
    match ctx.app.forwarder {
        Some(_) => format!("http://{}", ctx.app.domain),
        None => ctx.app.route.base_url(),
    }
}

/// The run's sandbox output directory on the host (`/out` inside).
pub fn out_dir(ctx: &RunCtx) -> PathBuf {
    ctx.app.work_dir.join("sandbox-out")
}

/// Runs `argv` (paths inside the sandbox) in the sandbox, with `suite_dir` read-only at
/// `/suite`, the test env plus `extra_env` and the host files `extra_files` (mounted
/// read-only under `/run/ccci/<name>`).
pub async fn run_sandboxed(
    ctx: &RunCtx,
    suite_dir: &Path,
    argv: Vec<String>,
    extra_env: Vec<(String, String)>,
    extra_files: Vec<(PathBuf, String)>,
) -> Result<Ran, SandboxError> {
    let deps = ctx.app.work_dir.join("dependencies.json");
    if !deps.exists() {
        let _ = std::fs::create_dir_all(&ctx.app.work_dir);
        let _ = std::fs::write(&deps, "{}\n");
    }
    // The app's `.env` as it stands (a hook before the first deploy sees it too).
    let _ = std::fs::write(ctx.app.env_path(), ctx.app.env.render());
    let mut files = vec![
        (ctx.app.env_path(), "app.env".to_string()),
        (deps, "dependencies.json".to_string()),
    ];
    files.extend(extra_files);
    let mut env = test_env(ctx);
    if let Some(pem) = &ctx.app.route.ca_pem {
        // Tests trust what cc-ci trusts: the rig's CA for the ingress's certificates.
        let ca = ctx.app.work_dir.join("ingress-ca.pem");
        let _ = std::fs::write(&ca, pem);
        files.push((ca, "ingress-ca.pem".into()));
        let inside = format!("{RUN_DIR}/ingress-ca.pem");
        for var in ["SSL_CERT_FILE", "CURL_CA_BUNDLE", "REQUESTS_CA_BUNDLE"] {
            env.push((var.into(), inside.clone()));
        }
    }
    for (host, _) in &files {
        // Readable by the sandbox's user (the dependency file is the owner's alone).
        let _ = std::os::unix::fs::chown(host, Some(sandbox::UID), Some(sandbox::UID));
    }
    let relays = loopback_relays(ctx);
    env.extend(extra_env);
    let out = out_dir(ctx);
    let hosts = match ctx.app.forwarder {
        Some(_) => ccci_adapters::stack::forwarder_address(&ctx.app.stack)
            .await
            .map(|ip| vec![(ctx.app.domain.clone(), ip)])
            .unwrap_or_default(),
        None => Vec::new(),
    };
    let label = argv
        .last()
        .and_then(|a| a.rsplit('/').next())
        .unwrap_or("program")
        .to_string();
    let ran = sandbox::run(&Program {
        stack: &ctx.app.stack,
        suite_dir,
        out_dir: &out,
        files,
        argv,
        env,
        hosts,
        relays: relays.iter().map(|r| (r.port, r.socket.clone())).collect(),
        network: ccci_core::rig::PROXY_NETWORK,
        timeout: Duration::from_secs(ctx.suite.deploy_timeout_secs),
    })
    .await;
    keep_output(ctx, &label, &ran);
    match &ran {
        Err(e) if e.is_ccci_own() => {
            ctx.record_rig_failure(format!("cc-ci's test sandbox failed ({label}): {e}"))
        }
        _ => {}
    }
    ran
}

/// What a sandboxed program printed goes into the run's artefacts (`sandbox/<name>.log`),
/// redacted like every artefact.
fn keep_output(ctx: &RunCtx, label: &str, ran: &Result<Ran, SandboxError>) {
    let dir = ctx.out_dir.join("sandbox");
    let _ = std::fs::create_dir_all(&dir);
    let text = match ran {
        Ok(r) => format!(
            "{}\n[exit: {}]\n",
            r.output,
            if r.success { "success" } else { "failure" }
        ),
        Err(e) => format!("[did not run to the end: {e}]\n"),
    };
    use std::io::Write as _;
    if let Ok(mut f) = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.join(format!("{label}.log")))
    {
        let _ = f.write_all(ctx.redactor.redact(&text).as_bytes());
    }
}

/// Services of the rig on the CI host's loopback that tests are handed (a test Keycloak),
/// relayed into the sandbox for the length of one program.
fn loopback_relays(ctx: &RunCtx) -> Vec<LoopbackRelay> {
    let urls = ctx.app.realm.iter().map(|r| r.config.url.clone());
    urls.filter_map(|url| sandbox::loopback_port(&url))
        .enumerate()
        .filter_map(|(i, port)| {
            LoopbackRelay::start(port, ctx.app.work_dir.join(format!("relay-{i}.sock"))).ok()
        })
        .collect()
}

/// A suite file's path inside the sandbox, where `suite_dir` is mounted at `/suite`.
pub fn inside(suite_dir: &Path, host_path: &Path) -> String {
    let rel = host_path.strip_prefix(suite_dir).unwrap_or(host_path);
    format!("{SUITE_DIR}/{}", rel.display())
}

/// The last `n` lines of a text.
pub fn last_lines(text: &str, n: usize) -> Vec<String> {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..]
        .iter()
        .map(|l| l.to_string())
        .collect()
}

/// Runs the suite's hook `name`, if it has one. A failing hook fails the rung.
pub async fn run_hook(ctx: &mut RunCtx, name: &str) -> Result<(), Failure> {
    run_hook_with(ctx, name, Vec::new(), Vec::new()).await
}

/// [`run_hook`] with more env and host files (mounted read-only under `/run/ccci/<name>`):
/// the backup, for the hooks after it is taken.
pub async fn run_hook_with(
    ctx: &mut RunCtx,
    name: &str,
    extra_env: Vec<(String, String)>,
    extra_files: Vec<(PathBuf, String)>,
) -> Result<(), Failure> {
    let Some(rel) = ctx.suite.hooks.get(name).cloned() else {
        return Ok(());
    };
    let Some(dir) = ctx.suite_dir.clone() else {
        return Ok(());
    };
    let program = inside(&dir, &dir.join(&rel));
    ctx.progress.line(&format!("   hook {name}: {rel}"));
    let ran = run_sandboxed(ctx, &dir, vec![program], extra_env, extra_files)
        .await
        .map_err(|e| Failure {
            message: format!("hook {name}: {e}"),
            ..Default::default()
        })?;
    let output = ctx.redactor.redact(&ran.output);
    if !ran.success {
        // The hook's last words say what is wrong (e.g. which rows did not come back).
        let said = output
            .lines()
            .rev()
            .map(str::trim)
            .find(|l| !l.is_empty())
            .map(|l| format!(": {}", l.chars().take(300).collect::<String>()))
            .unwrap_or_default();
        return Err(Failure {
            message: format!("hook {name} ({rel}) failed{said}"),
            log_tail: last_lines(&output, 20),
            ..Default::default()
        });
    }
    if name == "install_steps" {
        for line in output.lines() {
            if let Some(kv) = line.strip_prefix("env ") {
                if let Some((k, v)) = kv.split_once('=') {
                    ctx.app.env.set(k.trim(), v.trim());
                }
            } else if let Some(file) = line.strip_prefix("overlay ") {
                let path = overlay_in(&dir, file.trim())?;
                ctx.app.suite_overlays.push(path);
            }
        }
    }
    Ok(())
}

/// An overlay a hook asked for: a file inside the suite directory (links followed only as
/// far as it), else a failure naming it.
fn overlay_in(dir: &Path, file: &str) -> Result<PathBuf, Failure> {
    let kind = Root::open(dir, Links::Inside, "the suite directory")
        .and_then(|root| root.kind(Path::new(file)));
    let why = match kind {
        Ok(Kind::File) => return Ok(dir.join(file)),
        Ok(_) => format!("which is not a file in {}", dir.display()),
        Err(e) if e.is_not_found() => format!("which does not exist in {}", dir.display()),
        Err(e) => format!("which cc-ci refuses: {e}"),
    };
    Err(Failure {
        message: format!("hook install_steps asked for overlay {file}, {why}"),
        ..Default::default()
    })
}
