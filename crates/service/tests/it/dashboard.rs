//! The dashboard and `/metrics` of a running `ccci serve` over a real SQLite store: every
//! page escapes what recipes and runs bring in, and a scrape over a long history reads no
//! job and stays fast.

use crate::harness::*;
use crate::support::{new_job, open, unique};
use ccci_core::run_end::RunEnd;
use ccci_core::secret::Redactor;
use ccci_service::job::{now_millis, JobState, Outcome};
use ccci_service::store::Store;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

const HOST: &str = "ci-1";

fn sqlite_url(dir: &Path) -> String {
    format!(
        "sqlite:{}",
        dir.join(unique("dash")).with_extension("db").display()
    )
}

/// Queues, starts on [`HOST`] and finishes one run of `recipe`; returns its id.
async fn finish_one(store: &Store, recipe: &str, pr: i64, end: RunEnd, note: Option<&str>) -> i64 {
    let now = now_millis();
    store
        .enqueue(&new_job(recipe, Some(pr), "0123456789ab", None), now)
        .await
        .unwrap();
    let job = store
        .claim(HOST, 1, 60_000, now)
        .await
        .unwrap()
        .expect("the queued run is claimed");
    let outcome = Outcome {
        end,
        level: if end == RunEnd::GREEN { 4 } else { 1 },
        note: note.map(String::from),
    };
    assert!(store
        .finish(job.id, HOST, &outcome, now + 90_000)
        .await
        .unwrap());
    job.id
}

async fn get(url: &str) -> (reqwest::StatusCode, String) {
    let response = reqwest::get(url).await.unwrap();
    (response.status(), response.text().await.unwrap())
}

/// A recipe name, a log line, a failure message and a note that carry markup: every page
/// that shows one renders it as text.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn markup_in_recipe_names_logs_and_failures_is_escaped_on_every_page() {
    let dir = tempfile::tempdir().unwrap();
    let db = sqlite_url(dir.path());
    let store = open(&db).await;
    let evil = "evil<script>alert('recipe')</script>";
    let id = finish_one(&store, evil, 1, RunEnd::RED, Some("<script>note</script>")).await;
    let mut results = ccci_report::fixtures::red_l1_crash_loop();
    results.recipe = evil.into();
    let failure = results.failure.as_mut().expect("the fixture has a failure");
    failure.message = "crash loop <script>alert('failure')</script>".into();
    failure.log_tail = vec!["panic: <script>alert('log')</script>".into()];
    results.rungs[0].reason = Some("<script>alert('reason')</script>".into());
    let run_dir = dir.path().join("runs").join(id.to_string());
    ccci_report::write_run_dir(&run_dir, &results, &Redactor::new([])).unwrap();
    // A run of the same evil recipe that stays running, for the queue page.
    let mut wedged = new_job(evil, Some(2), "fedcba987654", None);
    wedged.request.clone_url = "https://git.example/coop-cloud/wedged.git".into();
    store.enqueue(&wedged, now_millis()).await.unwrap();

    let exec = ScriptedExecutor::with(&[("wedged", Script::Wedge)]);
    let mut config = config(dir.path(), &db, "http://127.0.0.1:9", &["unused"], 1, HOST);
    config.forge = None;
    config.webhook = None;
    let server = Server::start(config, Arc::new(Shared(exec))).await;
    eventually("the evil recipe runs", Duration::from_secs(15), || async {
        !jobs_in(&store, JobState::Running).await.is_empty()
    })
    .await;

    let recipe_path = format!(
        "/recipes/{}",
        ccci_service::dashboard::views::url_part(evil)
    );
    let pages = [
        (
            "/".to_string(),
            vec!["evil&lt;script&gt;alert('recipe')&lt;/script&gt;"],
        ),
        (
            format!("/runs/{id}"),
            vec![
                "evil&lt;script&gt;alert('recipe')&lt;/script&gt;",
                "crash loop &lt;script&gt;alert('failure')&lt;/script&gt;",
                "panic: &lt;script&gt;alert('log')&lt;/script&gt;",
                "&lt;script&gt;alert('reason')&lt;/script&gt;",
                "&lt;script&gt;note&lt;/script&gt;",
            ],
        ),
        (
            recipe_path,
            vec!["<h1>evil&lt;script&gt;alert('recipe')&lt;/script&gt;</h1>"],
        ),
        (
            "/queue".to_string(),
            vec!["evil&lt;script&gt;alert('recipe')&lt;/script&gt;"],
        ),
    ];
    for (path, wants) in pages {
        let (status, page) = get(&format!("{}{path}", server.url)).await;
        assert_eq!(status, 200, "{path}");
        for want in wants {
            assert!(page.contains(want), "{want} missing from {path}:\n{page}");
        }
        assert!(!page.contains("<script>"), "raw markup on {path}:\n{page}");
    }
    server.stop().await;
}

/// Seeds `n` finished runs on [`HOST`] (one in four red) and `superseded` superseded jobs,
/// through the store's own API.
async fn seed_history(store: &Store, n: usize, superseded: usize) {
    for i in 0..n {
        let end = if i % 4 == 3 {
            RunEnd::RED
        } else {
            RunEnd::GREEN
        };
        finish_one(
            store,
            &format!("recipe-{}", i % 7),
            1_000_000 + i as i64,
            end,
            None,
        )
        .await;
    }
    for i in 0..superseded {
        let pr = 2_000_000 + i as i64;
        for sha in ["aaaaaaaaaaaa", "bbbbbbbbbbbb"] {
            store
                .enqueue(&new_job("superseded", Some(pr), sha, None), now_millis())
                .await
                .unwrap();
        }
        // The newest one runs, so nothing stays queued.
        let job = store
            .claim(HOST, 1, 60_000, now_millis())
            .await
            .unwrap()
            .unwrap();
        let outcome = Outcome {
            end: RunEnd::GREEN,
            level: 4,
            note: None,
        };
        assert!(store
            .finish(job.id, HOST, &outcome, now_millis())
            .await
            .unwrap());
    }
}

/// A server over `db` whose scheduler runs `recipe`s for real (scripted, 100 ms each).
async fn serve(dir: &Path, db: &str) -> Server {
    let exec = ScriptedExecutor::with(&[("late", Script::Pass(Duration::from_millis(100)))]);
    let mut config = config(dir, db, "http://127.0.0.1:9", &["unused"], 1, HOST);
    config.forge = None;
    config.webhook = None;
    Server::start(config, Arc::new(Shared(exec))).await
}

fn millis(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// Times `rounds` GETs of `url`; returns the durations, sorted.
async fn time_requests(client: &reqwest::Client, url: &str, rounds: usize) -> Vec<Duration> {
    let mut times = Vec::with_capacity(rounds);
    for _ in 0..rounds {
        let start = Instant::now();
        let response = client.get(url).send().await.unwrap();
        assert_eq!(response.status(), 200, "{url}");
        response.bytes().await.unwrap();
        times.push(start.elapsed());
    }
    times.sort();
    times
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

/// Past 10,000 runs the counters keep counting (they start from one aggregate query and grow
/// as runs end), and a scrape reads no job: it stays fast however long the history.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_count_past_ten_thousand_runs_and_a_scrape_reads_no_job() {
    let dir = tempfile::tempdir().unwrap();
    let db = sqlite_url(dir.path());
    let store = open(&db).await;
    let seeding = Instant::now();
    seed_history(&store, 10_000, 3).await;
    eprintln!(
        "seeded 10,006 jobs in {:.1} s",
        seeding.elapsed().as_secs_f64()
    );
    let server = serve(dir.path(), &db).await;
    let metrics_url = format!("{}/metrics", server.url);

    let (_, text) = get(&metrics_url).await;
    for line in [
        "ccci_runs_total{verdict=\"green\"} 7503",
        "ccci_runs_total{verdict=\"red\"} 2500",
        "ccci_superseded_total 3",
        "ccci_queue_depth 0",
        "ccci_running 0",
    ] {
        assert!(
            text.contains(&format!("{line}\n")),
            "{line} missing:\n{text}"
        );
    }
    // One more run, through the service: the counter grows past the history.
    store
        .enqueue(
            &new_job("late", Some(3_000_000), "cccccccccccc", None),
            now_millis(),
        )
        .await
        .unwrap();
    eventually(
        "the late run is counted",
        Duration::from_secs(20),
        || async {
            get(&metrics_url)
                .await
                .1
                .contains("ccci_runs_total{verdict=\"green\"} 7504\n")
        },
    )
    .await;
    let (_, text) = get(&metrics_url).await;
    assert!(text.contains("ccci_run_seconds_count 1\n"), "{text}");
    assert!(text.contains("ccci_wait_seconds_count 1\n"), "{text}");

    let client = reqwest::Client::new();
    let times = time_requests(&client, &metrics_url, 30).await;
    let (median, max) = (percentile(&times, 0.5), percentile(&times, 1.0));
    eprintln!(
        "scrape over 10,007 jobs: median {:.2} ms, max {:.2} ms",
        millis(median),
        millis(max)
    );
    assert!(
        median < Duration::from_millis(200),
        "a scrape took {median:?}"
    );
    server.stop().await;
}

/// `benches/metrics-scrape.sh`: p50/p99 of `/metrics` over 10,000 runs against `/healthz`
/// (one store read, no rendering) in the same run, interleaved; prints ratios.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a benchmark: run by benches/metrics-scrape.sh"]
async fn bench_metrics_scrape_against_healthz() {
    let rounds: usize = std::env::var("CCCI_BENCH_ROUNDS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(500);
    let dir = tempfile::tempdir().unwrap();
    let db = sqlite_url(dir.path());
    seed_history(&open(&db).await, 10_000, 0).await;
    let server = serve(dir.path(), &db).await;
    let client = reqwest::Client::new();
    let (mut scrapes, mut healthz) = (Vec::new(), Vec::new());
    for _ in 0..rounds {
        healthz.extend(time_requests(&client, &format!("{}/healthz", server.url), 1).await);
        scrapes.extend(time_requests(&client, &format!("{}/metrics", server.url), 1).await);
    }
    scrapes.sort();
    healthz.sort();
    for (name, p) in [("p50", 0.5), ("p99", 0.99)] {
        let (m, h) = (percentile(&scrapes, p), percentile(&healthz, p));
        println!(
            "{name}: /metrics {:.2} ms, /healthz {:.2} ms, ratio {:.2}",
            millis(m),
            millis(h),
            m.as_secs_f64() / h.as_secs_f64()
        );
    }
    server.stop().await;
}

/// The run ids a page's run table links to, in order.
fn run_ids(page: &str) -> Vec<i64> {
    page.split(r#"class="run-link" href="/runs/"#)
        .skip(1)
        .map(|rest| rest[..rest.find('"').unwrap()].parse().unwrap())
        .collect()
}

/// The target of the page's link of class `class` (`older`, `newest`), unescaped.
fn link(page: &str, class: &str) -> Option<String> {
    let start = page.find(&format!(r#"class="{class}" href=""#))? + class.len() + 15;
    let href = &page[start..start + page[start..].find('"').unwrap()];
    Some(href.replace("&amp;", "&"))
}

/// With a long history the run list shows pages of 50, newest first, with an "Older runs"
/// link that keeps the filters, and its figures still cover the newest 1,000 runs; a
/// recipe's page pages the same way.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_list_and_recipe_history_page_by_fifty_with_filters_kept() {
    let dir = tempfile::tempdir().unwrap();
    let db = sqlite_url(dir.path());
    let store = open(&db).await;
    seed_history(&store, 360, 0).await;
    let server = serve(dir.path(), &db).await;

    let (status, first) = get(&format!("{}/", server.url)).await;
    assert_eq!(status, 200);
    let ids = run_ids(&first);
    assert_eq!(ids.len(), 50, "one page of 50 runs");
    assert!(ids.windows(2).all(|w| w[0] > w[1]), "newest first: {ids:?}");
    assert!(first.contains("Green (last 360)") && first.contains("75%"));
    assert!(
        link(&first, "newest").is_none(),
        "the first page links no newer page"
    );
    let older = link(&first, "older").expect("an Older runs link");
    let (_, second) = get(&format!("{}{older}", server.url)).await;
    let next = run_ids(&second);
    assert_eq!(next.len(), 50);
    assert_eq!(
        next[0],
        ids[49] - 1,
        "the next page starts right below the first"
    );
    assert_eq!(link(&second, "newest").as_deref(), Some("/"));

    let (_, filtered) = get(&format!(
        "{}/?recipe=recipe-3&verdict=red&limit=5",
        server.url
    ))
    .await;
    let red3 = run_ids(&filtered);
    assert_eq!(red3.len(), 5);
    let older = link(&filtered, "older").expect("more red runs of recipe-3");
    assert!(
        older.contains("recipe=recipe-3")
            && older.contains("verdict=red")
            && older.contains("limit=5"),
        "{older}"
    );
    let (_, filtered_next) = get(&format!("{}{older}", server.url)).await;
    let next = run_ids(&filtered_next);
    assert!(
        !next.is_empty() && next.iter().all(|id| *id < red3[4]),
        "{next:?}"
    );
    for id in red3.iter().chain(&next) {
        let job = store.job(*id).await.unwrap().unwrap();
        assert_eq!(
            (job.request.recipe.as_str(), job.end),
            ("recipe-3", Some(RunEnd::RED)),
            "run {id}"
        );
    }

    // recipe-0 has 52 runs: a page of 50, then the last 2.
    let (_, recipe) = get(&format!("{}/recipes/recipe-0", server.url)).await;
    assert_eq!(run_ids(&recipe).len(), 50);
    assert!(recipe.contains("Level over time") && recipe.contains("<svg"));
    let older = link(&recipe, "older").expect("older runs of recipe-0");
    assert!(older.starts_with("/recipes/recipe-0?before="), "{older}");
    let (_, rest) = get(&format!("{}{older}", server.url)).await;
    assert_eq!(run_ids(&rest).len(), 2);
    assert!(
        link(&rest, "older").is_none(),
        "no runs older than the last page"
    );
}
