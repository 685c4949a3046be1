//! Suite hooks and test executables run on the host, with the app's coordinates in env.
//!
//! Hooks are executables named in `suite.toml` `[hooks]`, relative to the suite directory.
//! `install_steps` runs before the first deploy and may print lines to change it:
//! `env KEY=VALUE` (set in the app's `.env`) and `overlay FILE` (a compose file, relative to
//! the suite directory, added to the deploy).

use crate::lifecycle::RunCtx;
use ccci_core::results::Failure;
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;
use tokio::process::Command;

/// The env every hook and test gets.
pub fn test_env(ctx: &RunCtx) -> Vec<(String, String)> {
    let deps = ctx.app.work_dir.join("dependencies.json");
    if !deps.exists() {
        let _ = std::fs::create_dir_all(&ctx.app.work_dir);
        let _ = std::fs::write(&deps, "{}\n");
    }
    vec![
        ("CCCI_DOMAIN".into(), ctx.app.domain.clone()),
        ("CCCI_BASE_URL".into(), ctx.app.route.base_url()),
        ("CCCI_APP_NAME".into(), ctx.app.domain.clone()),
        ("CCCI_STACK".into(), ctx.app.stack.clone()),
        ("CCCI_RECIPE".into(), ctx.app.recipe.clone()),
        (
            "CCCI_ENV_FILE".into(),
            ctx.app.env_path().display().to_string(),
        ),
        ("CCCI_DEPENDENCY_FILE".into(), deps.display().to_string()),
    ]
}

/// The last `n` lines of a text.
pub fn last_lines(text: &str, n: usize) -> Vec<String> {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..]
        .iter()
        .map(|l| l.to_string())
        .collect()
}

/// Output and exit status of one executable, bounded by `timeout`.
pub struct Ran {
    pub success: bool,
    pub output: String,
}

pub async fn run_executable(
    program: &Path,
    args: &[&str],
    env: &[(String, String)],
    cwd: &Path,
    timeout: Duration,
) -> Result<Ran, String> {
    let mut cmd = Command::new(program);
    cmd.args(args)
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .current_dir(cwd)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let child = cmd
        .spawn()
        .map_err(|e| format!("cannot run {}: {e}", program.display()))?;
    match tokio::time::timeout(timeout, child.wait_with_output()).await {
        Ok(Ok(out)) => {
            let mut output = String::from_utf8_lossy(&out.stdout).into_owned();
            output.push_str(&String::from_utf8_lossy(&out.stderr));
            Ok(Ran {
                success: out.status.success(),
                output,
            })
        }
        Ok(Err(e)) => Err(format!("{}: {e}", program.display())),
        Err(_) => Err(format!(
            "{} did not finish within {} s",
            program.display(),
            timeout.as_secs()
        )),
    }
}

/// Runs the suite's hook `name`, if it has one. A failing hook fails the rung.
pub async fn run_hook(ctx: &mut RunCtx, name: &str) -> Result<(), Failure> {
    let Some(rel) = ctx.suite.hooks.get(name).cloned() else {
        return Ok(());
    };
    let Some(dir) = ctx.suite_dir.clone() else {
        return Ok(());
    };
    let program = dir.join(&rel);
    ctx.progress.line(&format!("   hook {name}: {rel}"));
    let env = test_env(ctx);
    let timeout = Duration::from_secs(ctx.suite.deploy_timeout_secs);
    let ran = run_executable(&program, &[], &env, &dir, timeout)
        .await
        .map_err(|e| Failure {
            message: format!("hook {name}: {e}"),
            ..Default::default()
        })?;
    let output = ctx.redactor.redact(&ran.output);
    if !ran.success {
        return Err(Failure {
            message: format!("hook {name} ({rel}) failed"),
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
                let path = dir.join(file.trim());
                if !path.is_file() {
                    return Err(Failure {
                        message: format!("hook install_steps asked for overlay {file}, which does not exist in {}", dir.display()),
                        ..Default::default()
                    });
                }
                ctx.app.suite_overlays.push(path);
            }
        }
    }
    Ok(())
}
