//! The functional rung (L4): the generic checks every recipe gets, the suite's declarative
//! HTTP checks, and its test executables in `tests/` (any language; `test_*.py` files run by
//! pytest); with `--extra`, also the heavy opt-in tests in `tests/extra/`.

use crate::ctx::RunCtx;
use crate::hooks::{inside, out_dir, run_sandboxed};
use crate::integrity::test_files;
use ccci_core::ladder::RungStatus;
use ccci_core::results::{Failure, TestCase};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Bodies that mean a proxy answered instead of the app.
const PROXY_DEFAULTS: &[&str] = &["404 page not found", "Bad Gateway", "no available server"];

fn case(name: String, ok: Result<(), String>, since: Instant) -> TestCase {
    TestCase {
        name,
        status: if ok.is_ok() {
            RungStatus::Pass
        } else {
            RungStatus::Fail
        },
        duration_ms: since.elapsed().as_millis() as u64,
        message: ok.err(),
    }
}

pub async fn run(ctx: &mut RunCtx) -> Result<Vec<TestCase>, Failure> {
    let mut cases = Vec::new();
    let timeout = Duration::from_secs(10);

    let t = Instant::now();
    let serving = match ctx.app.route.get("/", timeout).await {
        Ok(r) if r.status >= 500 => Err(format!("GET / answered {}", r.status)),
        Ok(r) if PROXY_DEFAULTS.iter().any(|p| r.body.contains(p)) => Err(format!(
            "GET / answered {} with a proxy's default page, not the app",
            r.status
        )),
        Ok(_) => Ok(()),
        Err(e) => Err(e.to_string()),
    };
    let serving_ok = serving.is_ok();
    cases.push(case("generic: serves the landing page".into(), serving, t));
    cases.push(tls_case(ctx, serving_ok));

    for (i, check) in ctx.suite.http_checks.clone().iter().enumerate() {
        let t = Instant::now();
        let name = check
            .name
            .clone()
            .unwrap_or_else(|| format!("http check {}: GET {}", i + 1, check.path));
        let outcome = match ctx.app.route.get(&check.path, timeout).await {
            Err(e) => Err(e.to_string()),
            Ok(r) if r.status != check.status => Err(format!(
                "GET {} answered {}, expected {}",
                check.path, r.status, check.status
            )),
            Ok(r) => match (&check.body_contains, &check.body_equals) {
                (Some(needle), _) if !r.body.contains(needle.as_str()) => Err(format!(
                    "body of GET {} does not contain {needle:?}",
                    check.path
                )),
                (_, Some(want)) if r.body.trim_end() != want.trim_end() => Err(format!(
                    "body of GET {} is {:?}, expected {want:?}",
                    check.path,
                    r.body.chars().take(200).collect::<String>()
                )),
                _ => Ok(()),
            },
        };
        cases.push(case(name, outcome, t));
    }

    if let Some(dir) = ctx.suite_dir.clone() {
        let mut files = test_files(&dir.join("tests"));
        if ctx.extra {
            files.extend(test_files(&dir.join("tests/extra")));
        }
        for test in files {
            cases.extend(run_test_file(ctx, &dir, &test).await);
        }
    }
    // The head's own new or changed tests (`.ccci/`): extra checks (see `integrity`).
    let mut added = ctx.judged_by.added_in("tests");
    if ctx.extra {
        added.extend(ctx.judged_by.added_in("tests/extra"));
    }
    cases.extend(run_added(ctx, added).await);
    Ok(cases)
}

async fn run_added(ctx: &RunCtx, added: Vec<(PathBuf, PathBuf)>) -> Vec<TestCase> {
    let mut cases = Vec::new();
    for (dir, test) in added {
        cases.extend(run_test_file(ctx, &dir, &test).await);
    }
    cases
}

/// "Certificates mean something": through an HTTPS ingress every request verified the
/// certificate the proxy serves for the app's domain (a fallback or self-signed default
/// fails the serving check); without one, say that TLS was not checked.
fn tls_case(ctx: &RunCtx, serving_ok: bool) -> TestCase {
    let name = format!("generic: TLS certificate for {}", ctx.app.domain);
    if ctx.app.route.verifies_tls() {
        let mut c = case(name, Ok(()), Instant::now());
        if !serving_ok {
            c.status = RungStatus::Skip;
            c.message = Some("see the serving check".into());
        }
        return c;
    }
    TestCase {
        name,
        status: RungStatus::Skip,
        duration_ms: 0,
        message: Some(
            "TLS not checked: this rig has no HTTPS ingress (the app is reached over plain HTTP on the proxy network)".into(),
        ),
    }
}

/// The integration rung: the suite's `tests/integration/` executables (same runner as the
/// functional tests), with the dependency file in `CCCI_DEPENDENCY_FILE`.
pub async fn integration(ctx: &mut RunCtx) -> Result<Vec<TestCase>, Failure> {
    let mut cases = Vec::new();
    if let Some(dir) = ctx.suite_dir.clone() {
        for test in test_files(&dir.join("tests/integration")) {
            cases.extend(run_test_file(ctx, &dir, &test).await);
        }
    }
    let added = ctx.judged_by.added_in("tests/integration");
    cases.extend(run_added(ctx, added).await);
    Ok(cases)
}

/// Runs one test file in the sandbox. Its result is its exit code, unless it wrote JUnit
/// XML to `$CCCI_JUNIT_FILE` (pytest files always do): then each test case is reported.
async fn run_test_file(ctx: &RunCtx, dir: &Path, test: &Path) -> Vec<TestCase> {
    let t = Instant::now();
    let name = test
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    ctx.progress.line(&format!("   test {name}"));
    // Straight in the output directory, which the sandbox's user may write.
    let junit = out_dir(ctx).join(format!("{name}.junit.xml"));
    let _ = std::fs::remove_file(&junit);
    let junit_inside = format!("{}/{name}.junit.xml", ccci_adapters::sandbox::OUT_DIR);
    let env = vec![("CCCI_JUNIT_FILE".to_string(), junit_inside.clone())];
    let path = inside(dir, test);
    let argv: Vec<String> = if test.extension().is_some_and(|e| e == "py") {
        ["python3", "-m", "pytest", "-q", "-p", "no:cacheprovider"]
            .map(String::from)
            .into_iter()
            .chain([format!("--junitxml={junit_inside}"), path])
            .collect()
    } else {
        vec![path]
    };
    let ran = run_sandboxed(ctx, dir, argv, env, Vec::new()).await;
    let outcome = match &ran {
        Ok(r) if r.success => Ok(()),
        Ok(r) => {
            let tail = crate::hooks::last_lines(&r.output, 10);
            Err(ctx
                .redactor
                .redact(&format!("exit non-zero: {}", tail.join(" | "))))
        }
        Err(e) => Err(e.to_string()),
    };
    let reported = ccci_adapters::sandbox::read_output(&out_dir(ctx), &format!("{name}.junit.xml"))
        .ok()
        .and_then(|xml| ccci_core::junit_input::read(&xml, &name).ok())
        .filter(|cases| !cases.is_empty());
    match reported {
        Some(mut cases) => {
            for c in &mut cases {
                c.message = c.message.as_ref().map(|m| ctx.redactor.redact(m));
            }
            // A runner that crashed after writing its report still fails the file.
            if let Err(e) = outcome {
                if cases.iter().all(|c| c.status != RungStatus::Fail) {
                    cases.push(case(name, Err(e), t));
                }
            }
            cases
        }
        None => vec![case(name, outcome, t)],
    }
}
