//! Retention and history on a running `ccci serve` over a real SQLite store with real run
//! directories on disk: the janitor's sweep removes the oldest directories first (sizes
//! from the real files), never a recipe's last run nor a running one, and the dashboard
//! says what was removed; a red recipe's page shows where it broke and what changed.

use crate::harness::*;
use crate::support::{new_job, open, unique};
use ccci_core::results::RunResults;
use ccci_core::retention::Limits;
use ccci_core::run_end::RunEnd;
use ccci_core::secret::Redactor;
use ccci_service::job::{now_millis, JobId, Millis, Outcome};
use ccci_service::store::Store;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

const HOST: &str = "ci-1";
const DAY: Millis = 24 * 60 * 60 * 1000;

/// Queues, starts and finishes one run of `recipe` as if it finished `days_ago` days ago.
async fn finished(store: &Store, recipe: &str, end: RunEnd, days_ago: i64) -> JobId {
    let at = now_millis() - days_ago * DAY;
    store
        .enqueue(&new_job(recipe, Some(1), "0123456789ab", None), at)
        .await
        .unwrap();
    let job = store.claim(HOST, 8, 60_000, at).await.unwrap().unwrap();
    let outcome = Outcome {
        end,
        level: if end == RunEnd::GREEN { 4 } else { 1 },
        note: None,
    };
    assert!(store
        .finish(job.id, HOST, &outcome, at + 1000)
        .await
        .unwrap());
    job.id
}

/// A run directory of `bytes` bytes of log (a real file) for run `id`.
fn run_dir_of(runs: &Path, id: JobId, bytes: usize) -> std::path::PathBuf {
    let dir = runs.join(id.to_string());
    std::fs::create_dir_all(dir.join("logs")).unwrap();
    std::fs::write(dir.join("logs/app.log"), vec![b'x'; bytes]).unwrap();
    dir
}

fn serving(dir: &Path, db: &str, retention: Limits) -> ccci_service::config::Config {
    let mut config = config(dir, db, "http://127.0.0.1:9", &["unused"], 1, HOST);
    config.forge = None;
    config.webhook = None;
    config.retention = retention;
    config
}

/// 30 days and 4 KB: the run older than 30 days goes first, then the oldest of the rest
/// while the directories are over 4 KB. A recipe's only (old) run, a recipe's newest run,
/// its newest green one and the first red after it, a running run and a directory the
/// store does not know all stay.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_oldest_run_dirs_go_first_the_last_run_of_a_recipe_stays_and_the_dashboard_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite:{}", dir.path().join(unique("ret")).display());
    let store = open(&db).await;
    let runs = dir.path().join("runs");
    let old = finished(&store, "alpha", RunEnd::RED, 40).await;
    let middle = finished(&store, "alpha", RunEnd::RED, 20).await;
    let last_green = finished(&store, "alpha", RunEnd::GREEN, 10).await;
    let first_red = finished(&store, "alpha", RunEnd::RED, 5).await;
    let newest = finished(&store, "alpha", RunEnd::RED, 1).await;
    let only = finished(&store, "beta", RunEnd::GREEN, 60).await;
    store
        .enqueue(
            &new_job("gamma", Some(2), "fedcba987654", None),
            now_millis(),
        )
        .await
        .unwrap();
    let running = store
        .claim(HOST, 8, 3_600_000, now_millis())
        .await
        .unwrap()
        .unwrap()
        .id;
    let sizes = [
        (old, 1000),
        (middle, 5000),
        (last_green, 1000),
        (first_red, 1000),
        (newest, 1000),
        (only, 1000),
    ];
    for (id, bytes) in sizes {
        run_dir_of(&runs, id, bytes);
    }
    run_dir_of(&runs, running, 50_000);
    run_dir_of(&runs, 999_999, 50_000);

    let limits = Limits {
        days: Some(30),
        max_bytes: Some(4000),
    };
    let server = Server::start(
        serving(dir.path(), &db, limits),
        Arc::new(Shared(ScriptedExecutor::with(&[]))),
    )
    .await;
    eventually(
        "retention removes two directories",
        Duration::from_secs(60),
        || async {
            !runs.join(old.to_string()).exists() && !runs.join(middle.to_string()).exists()
        },
    )
    .await;
    for kept in [last_green, first_red, newest, only, running, 999_999] {
        assert!(
            runs.join(kept.to_string()).exists(),
            "run {kept} was removed"
        );
    }
    let log = ccci_service::retention::read_log(&dir.path().join("state"));
    let logged: Vec<(JobId, &str, u64)> = log
        .iter()
        .map(|r| (r.id, r.reason.as_str(), r.bytes))
        .collect();
    assert_eq!(
        logged,
        [
            (old, "older than 30 days", 1000),
            (middle, "runs over 4.0 KB", 5000)
        ],
        "oldest first, sizes from the files"
    );

    let page = page_text(&format!("{}/runs/{old}", server.url)).await;
    assert!(
        page.contains("by retention (older than 30 days)."),
        "{page}"
    );
    assert!(page.contains("Artefacts removed on "), "{page}");
    let page = page_text(&format!("{}/runs/{middle}", server.url)).await;
    assert!(page.contains("by retention (runs over 4.0 KB)."), "{page}");
    let page = page_text(&format!("{}/runs/{newest}", server.url)).await;
    assert!(!page.contains("by retention"), "{page}");
    let page = page_text(&format!("{}/", server.url)).await;
    assert!(
        page.contains("Retention removed 2 run directories (6.0 KB)"),
        "{page}"
    );
    assert!(page.contains("href=\"/retention\""), "{page}");
    let page = page_text(&format!("{}/retention", server.url)).await;
    for id in [old, middle] {
        assert!(page.contains(&format!("href=\"/runs/{id}\"")), "{page}");
    }
    assert!(
        !page.contains(&format!("href=\"/runs/{newest}\"")),
        "{page}"
    );
    server.stop().await;
}

/// The record of a run of `hist` with these versions, images and `.env` keys.
fn record(
    base: RunResults,
    version: &str,
    commit: &str,
    images: &[(&str, &str)],
    keys: &[&str],
) -> RunResults {
    RunResults {
        recipe: "hist".into(),
        head_version: Some(version.into()),
        head_commit: Some(commit.into()),
        images: images
            .iter()
            .map(|(s, i)| (s.to_string(), i.to_string()))
            .collect(),
        env_keys: keys.iter().map(|k| k.to_string()).collect(),
        ..base
    }
}

/// A recipe red now: its page names the last green and the first red after it, links both,
/// and shows the versions, images and `.env` keys that changed. A green recipe's page
/// shows no such section.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_red_recipes_page_shows_the_last_green_the_first_red_and_what_changed() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite:{}", dir.path().join(unique("hist")).display());
    let store = open(&db).await;
    let runs = dir.path().join("runs");
    let green = finished(&store, "hist", RunEnd::GREEN, 3).await;
    let first_red = finished(&store, "hist", RunEnd::RED, 2).await;
    let still_red = finished(&store, "hist", RunEnd::RED, 1).await;
    finished(&store, "fine", RunEnd::GREEN, 1).await;
    let rows = [
        (
            green,
            record(
                ccci_report::fixtures::green_l4(),
                "1.1.0+1.25",
                "aaaaaaa",
                &[("app", "nginx:1.25"), ("db", "postgres:15")],
                &["DOMAIN", "OLD_FLAG"],
            ),
        ),
        (
            first_red,
            record(
                ccci_report::fixtures::red_l1_crash_loop(),
                "1.2.0+1.27",
                "bbbbbbb",
                &[("app", "nginx:1.27"), ("db", "postgres:15")],
                &["DOMAIN", "NEW_FLAG"],
            ),
        ),
    ];
    for (id, results) in rows {
        ccci_report::write_run_dir(&runs.join(id.to_string()), &results, &Redactor::new([]))
            .unwrap();
    }

    let server = Server::start(
        serving(dir.path(), &db, Limits::default()),
        Arc::new(Shared(ScriptedExecutor::with(&[]))),
    )
    .await;
    let page = page_text(&format!("{}/recipes/hist", server.url)).await;
    let section = page
        .split("Where it broke")
        .nth(1)
        .unwrap_or_else(|| panic!("no section:\n{page}"));
    let section = section.split("</table>").next().unwrap();
    for want in [
        format!("Last green: <a href=\"/runs/{green}\">#{green}</a>"),
        format!("First red after it: <a href=\"/runs/{first_red}\">#{first_red}</a>"),
        "<td>head version</td><td class=\"mono\">1.1.0+1.25</td><td class=\"mono\">1.2.0+1.27</td>"
            .into(),
        "<td>head commit</td><td class=\"mono\">aaaaaaa</td><td class=\"mono\">bbbbbbb</td>".into(),
        "<td>image of app</td><td class=\"mono\">nginx:1.25</td><td class=\"mono\">nginx:1.27</td>"
            .into(),
        "<td>.env keys added</td><td class=\"mono\">—</td><td class=\"mono\">NEW_FLAG</td>".into(),
        "<td>.env keys removed</td><td class=\"mono\">OLD_FLAG</td><td class=\"mono\">—</td>"
            .into(),
    ] {
        assert!(section.contains(&want), "{want} missing from:\n{section}");
    }
    assert!(
        !section.contains("image of db"),
        "an unchanged image is not a change"
    );
    assert!(
        !section.contains(&format!("#{still_red}<")),
        "the streak began earlier"
    );
    let page = page_text(&format!("{}/recipes/fine", server.url)).await;
    assert!(
        !page.contains("Where it broke"),
        "a green recipe did not break"
    );
    server.stop().await;
}
