//! A best-effort screenshot of the app's landing page, through its route, with headless
//! Chromium. Cosmetic: it never changes or blocks the verdict, and it is skipped when the
//! page shows any secret value (the DOM is checked before the picture is taken).

use crate::ctx::RunCtx;
use crate::probe::Route;
use std::path::Path;
use std::time::Duration;
use tokio::process::Command;

const BOUND: Duration = Duration::from_secs(40);

fn browser() -> Option<&'static str> {
    ["chromium", "chromium-browser", "google-chrome"]
        .into_iter()
        .find(|b| which(b))
}

fn which(program: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|paths| std::env::split_paths(&paths).any(|d| d.join(program).is_file()))
}

async fn chromium(browser: &str, args: &[String]) -> Option<std::process::Output> {
    let mut cmd = Command::new(browser);
    cmd.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--no-first-run",
        "--hide-scrollbars",
    ])
    .args(args)
    .kill_on_drop(true);
    tokio::time::timeout(BOUND, cmd.output()).await.ok()?.ok()
}

/// Why no screenshot was taken (cosmetic: logged, never a failure).
#[derive(Debug, thiserror::Error)]
pub enum ScreenshotError {
    #[error("no chromium on this host")]
    NoBrowser,
    #[error("{0}")]
    Profile(std::io::Error),
    #[error("chromium did not answer")]
    NoAnswer,
    /// The DOM shows a secret value: the picture is not taken.
    #[error("the landing page shows a secret; no screenshot")]
    ShowsSecret,
    #[error("chromium wrote no screenshot")]
    NoPicture,
}

/// Writes `<out>/screenshot.png`; returns why not when it could not or should not.
pub async fn take(ctx: &RunCtx, out: &Path) -> Result<(), ScreenshotError> {
    let browser = browser().ok_or(ScreenshotError::NoBrowser)?;
    let domain = &ctx.app.domain;
    let (target, scheme) = match &ctx.app.route.route {
        Route::Forwarded { addr } => (addr.to_string(), "http"),
        Route::Ingress { addr, https } => (addr.to_string(), if *https { "https" } else { "http" }),
    };
    let profile = tempfile_dir()?;
    let url = format!("{scheme}://{domain}/");
    let common = vec![
        format!("--host-resolver-rules=MAP {domain} {target}"),
        "--ignore-certificate-errors".to_string(),
        format!("--user-data-dir={}", profile.display()),
    ];
    let mut dump = common.clone();
    dump.extend(["--dump-dom".to_string(), url.clone()]);
    let dom = chromium(browser, &dump)
        .await
        .ok_or(ScreenshotError::NoAnswer)?;
    let dom = String::from_utf8_lossy(&dom.stdout);
    if ctx.redactor.leaks_in(&dom) {
        let _ = std::fs::remove_dir_all(&profile);
        return Err(ScreenshotError::ShowsSecret);
    }
    let file = out.join("screenshot.png");
    let mut shot = common;
    shot.extend([
        format!("--screenshot={}", file.display()),
        "--window-size=1280,800".to_string(),
        url,
    ]);
    let _ = chromium(browser, &shot).await;
    let _ = std::fs::remove_dir_all(&profile);
    if file.is_file() {
        Ok(())
    } else {
        Err(ScreenshotError::NoPicture)
    }
}

fn tempfile_dir() -> Result<std::path::PathBuf, ScreenshotError> {
    let dir = std::env::temp_dir().join(format!(
        "ccci-chromium-{}-{}",
        std::process::id(),
        crate::clock::now_ms()
    ));
    std::fs::create_dir_all(&dir).map_err(ScreenshotError::Profile)?;
    Ok(dir)
}
