//! The dashboard in a real browser: headless Chromium (Debian's `chromium`) renders pages of
//! a running `ccci serve`, takes screenshots, and a navigation is asserted on the DOM.

use crate::harness::*;
use crate::support::{new_job, open, unique};
use ccci_service::job::JobState;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// The browser, or `None` (skip) outside CI; under `CI=true` a missing browser fails.
pub fn chromium() -> Option<PathBuf> {
    for name in ["chromium", "chromium-browser", "google-chrome"] {
        for dir in std::env::var("PATH").unwrap_or_default().split(':') {
            let path = Path::new(dir).join(name);
            if path.is_file() {
                return Some(path);
            }
        }
    }
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!("CI=true but no chromium on PATH: apt-get install -y chromium");
    }
    eprintln!("no chromium: skipping the browser test");
    None
}

pub(crate) async fn browse(browser: &Path, args: &[&str], url: &str) -> String {
    let profile = tempfile::tempdir().unwrap();
    let mut command = tokio::process::Command::new(browser);
    command
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--hide-scrollbars",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .args(args)
        .arg(url)
        .kill_on_drop(true);
    let output = tokio::time::timeout(Duration::from_secs(90), command.output())
        .await
        .expect("chromium finished within 90 s")
        .expect("chromium started");
    assert!(
        output.status.success(),
        "chromium failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn screenshot_dir() -> PathBuf {
    let dir = std::env::var("CCCI_SCREENSHOT_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("dashboard"));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dashboard_renders_and_the_run_list_links_to_run_pages() {
    let Some(browser) = chromium() else { return };
    let dir = tempfile::tempdir().unwrap();
    let db = format!(
        "sqlite:{}",
        dir.path()
            .join(format!("{}.db", unique("browser")))
            .display()
    );
    let store = open(&db).await;
    // A history: a few finished runs, one running, queued ones waiting.
    for (pr, (recipe, sha)) in [
        ("nextcloud", "0a1b2c3d4e"),
        ("keycloak", "1b2c3d4e5f"),
        ("traefik", "2c3d4e5f60"),
        ("nextcloud", "3d4e5f6071"),
    ]
    .into_iter()
    .enumerate()
    {
        store
            .enqueue(
                &new_job(recipe, Some(pr as i64 + 1), sha, None),
                ccci_service::job::now_millis(),
            )
            .await
            .unwrap();
    }
    let exec = ScriptedExecutor::with(&[
        ("nextcloud", Script::Pass(Duration::from_millis(300))),
        ("keycloak", Script::Pass(Duration::from_millis(300))),
        ("traefik", Script::Pass(Duration::from_millis(300))),
        ("wedged", Script::Wedge),
    ]);
    let (standin, _) = standin(&[]).await;
    let mut config = config(dir.path(), &db, &standin.base_url(), &["unused"], 2, "ci-1");
    config.forge = None;
    config.webhook = None;
    let server = Server::start(config, Arc::new(Shared(exec.clone()))).await;
    eventually("four runs finish", Duration::from_secs(30), || async {
        jobs_in(&store, JobState::Done).await.len() == 4
    })
    .await;
    store
        .enqueue(
            &new_job("wedged", Some(9), "4e5f607182", None),
            ccci_service::job::now_millis(),
        )
        .await
        .unwrap();
    eventually("the wedged run starts", Duration::from_secs(15), || async {
        !jobs_in(&store, JobState::Running).await.is_empty()
    })
    .await;
    store
        .enqueue(
            &new_job("wedged", Some(10), "5f60718293", None),
            ccci_service::job::now_millis(),
        )
        .await
        .unwrap();

    // A pending alert (the live-warm reconciler held an upgrade): the run list opens with it.
    ccci_adapters::alerts::raise(
        &dir.path().join("state"),
        "proxy",
        "held",
        "major bump 2.0.0 → 3.0.0 <needs a person>",
    )
    .unwrap();

    let shots = screenshot_dir();
    let list_png = shots.join("runs.png");
    let run_png = shots.join("run.png");
    let queue_png = shots.join("queue.png");
    let recipe_png = shots.join("recipe.png");
    let alerts_png = shots.join("alerts.png");

    // Navigation: the run list links to run pages, and a run page has the rung table.
    let list_dom = browse(&browser, &["--dump-dom"], &format!("{}/", server.url)).await;
    let banner = list_dom
        .split("class=\"card alerts-banner\"")
        .nth(1)
        .unwrap_or_else(|| panic!("no alerts banner in the run list: {list_dom}"));
    assert!(
        banner.contains("1 pending alert")
            && banner.contains("major bump 2.0.0 → 3.0.0 &lt;needs a person&gt;"),
        "{banner}"
    );
    let href = list_dom
        .split("class=\"run-link\" href=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap_or_else(|| panic!("no run link in the run list: {list_dom}"))
        .to_string();
    assert!(href.starts_with("/runs/"), "{href}");
    let finished = jobs_in(&store, JobState::Done).await;
    let target = finished
        .iter()
        .find(|j| format!("/runs/{}", j.id) == href)
        .map(|j| j.id);
    // The newest run is the queued one; follow the first link to a finished run instead.
    let href = match target {
        Some(_) => href,
        None => format!("/runs/{}", finished[0].id),
    };
    assert!(
        list_dom.contains(&format!("href=\"{href}\"")),
        "the list links to {href}"
    );
    let run_dom = browse(&browser, &["--dump-dom"], &format!("{}{href}", server.url)).await;
    assert!(
        run_dom.contains("<table class=\"rungs\">"),
        "no rung table on {href}: {run_dom}"
    );
    assert!(run_dom.contains("backup_restore"), "{run_dom}");
    assert!(run_dom.contains("card.png"), "the card is shown");
    assert!(
        run_dom.contains("Rig adaptations") && run_dom.contains("endpoint_mode_dnsrr"),
        "the rig adaptation is shown: {run_dom}"
    );

    browse(
        &browser,
        &[
            &format!("--screenshot={}", list_png.display()),
            "--window-size=1360,900",
        ],
        &format!("{}/", server.url),
    )
    .await;
    browse(
        &browser,
        &[
            &format!("--screenshot={}", run_png.display()),
            "--window-size=1360,1500",
        ],
        &format!("{}{href}", server.url),
    )
    .await;
    browse(
        &browser,
        &[
            &format!("--screenshot={}", queue_png.display()),
            "--window-size=1360,800",
        ],
        &format!("{}/queue", server.url),
    )
    .await;
    browse(
        &browser,
        &[
            &format!("--screenshot={}", recipe_png.display()),
            "--window-size=1360,900",
        ],
        &format!("{}/recipes/nextcloud", server.url),
    )
    .await;
    browse(
        &browser,
        &[
            &format!("--screenshot={}", alerts_png.display()),
            "--window-size=1360,700",
        ],
        &format!("{}/alerts", server.url),
    )
    .await;
    for png in [&list_png, &run_png, &queue_png, &recipe_png, &alerts_png] {
        let size = std::fs::metadata(png).map(|m| m.len()).unwrap_or(0);
        assert!(
            size > 10_000,
            "{} looks empty ({size} bytes)",
            png.display()
        );
    }
    eprintln!("screenshots in {}", shots.display());

    // The JSON twin, the badge and the metrics answer too.
    let api: serde_json::Value = reqwest::get(format!("{}/api/runs?recipe=nextcloud", server.url))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(api["runs"].as_array().map(Vec::len), Some(2));
    let badge = reqwest::get(format!("{}/recipes/nextcloud/badge.svg", server.url))
        .await
        .unwrap();
    assert_eq!(badge.headers()["content-type"], "image/svg+xml");
    assert!(badge.text().await.unwrap().contains("L4 green"));
    let metrics = page_text(&format!("{}/metrics", server.url)).await;
    for line in [
        "ccci_runs_total{verdict=\"green\"} 4",
        "ccci_queue_depth 1",
        "ccci_running 1",
        "ccci_wait_seconds_count 5",
        "ccci_run_seconds_bucket{le=\"+Inf\"} 4",
    ] {
        assert!(metrics.contains(line), "{line} missing from:\n{metrics}");
    }
    // Artefacts are served from the run directory, and nothing outside it.
    let results = reqwest::get(format!("{}{href}/files/results.json", server.url))
        .await
        .unwrap();
    assert_eq!(results.status(), 200);
    let escape = reqwest::get(format!("{}{href}/files/..%2F..%2Fetc%2Fpasswd", server.url))
        .await
        .unwrap();
    assert_eq!(escape.status(), 404);
    server.stop().await;
}
