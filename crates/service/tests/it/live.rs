//! A run while it happens: `GET /runs/{id}/log/stream` over real HTTP on loopback, and the
//! run page in headless Chromium following a running run. The run's progress goes through
//! the runner's own live files (`Progress::live`, as `RunnerExecutor` runs it); the service
//! reads them as in production.

use crate::harness::*;
use crate::support::{new_job, open, unique};
use ccci_service::job::{now_millis, JobState};
use ccci_service::store::Store;
use serde_json::json;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

/// One server-sent event.
#[derive(Clone, Debug, Default)]
struct SseEvent {
    event: String,
    id: Option<String>,
    data: String,
}

/// Reads a stream's events until it ends (the server closes it) or `bound` passes (then
/// panics). Returns the events with the job's state as each arrived.
async fn read_stream(
    response: reqwest::Response,
    store: &Store,
    job: i64,
    bound: Duration,
) -> Vec<(SseEvent, JobState)> {
    let mut response = response;
    let mut buffer = String::new();
    let mut events = Vec::new();
    let deadline = tokio::time::Instant::now() + bound;
    loop {
        let chunk = tokio::time::timeout_at(deadline, response.chunk())
            .await
            .unwrap_or_else(|_| panic!("the stream did not end within {bound:?}: {events:?}"))
            .expect("the stream reads");
        let Some(chunk) = chunk else { return events };
        buffer.push_str(&String::from_utf8_lossy(&chunk));
        while let Some(end) = buffer.find("\n\n") {
            let block: String = buffer.drain(..end + 2).collect();
            let mut event = SseEvent::default();
            let mut data = Vec::new();
            for line in block.lines() {
                match line.split_once(": ").or_else(|| line.split_once(':')) {
                    Some(("event", v)) => event.event = v.into(),
                    Some(("id", v)) => event.id = Some(v.into()),
                    Some(("data", v)) => data.push(v.to_string()),
                    _ => {} // a keep-alive comment
                }
            }
            if data.is_empty() && event.event.is_empty() {
                continue;
            }
            event.data = data.join("\n");
            let state = store.job(job).await.unwrap().unwrap().state;
            events.push((event, state));
        }
    }
}

fn log_lines(events: &[(SseEvent, JobState)]) -> Vec<String> {
    events
        .iter()
        .filter(|(e, _)| e.event == "log")
        .flat_map(|(e, _)| e.data.lines().map(String::from).collect::<Vec<_>>())
        .collect()
}

/// What the scripted live run says, in order (see `Script::Live`).
fn expected_lines(lines: usize) -> Vec<String> {
    let mut all = Vec::new();
    for rung in ["install", "upgrade"] {
        all.push(format!("── {rung}"));
        if rung == "install" {
            all.push("   the admin password is [REDACTED]".into());
        }
        all.extend((0..lines).map(|i| format!("   {rung} line {i}")));
        all.push(format!("   {rung}: pass"));
    }
    all
}

/// A server running one live-scripted run; returns it with the store and the run's id once
/// the run is running.
async fn live_run(dir: &Path, lines: usize, every: Duration) -> (Server, Store, i64) {
    let db = format!(
        "sqlite:{}",
        dir.join(unique("live")).with_extension("db").display()
    );
    let store = open(&db).await;
    let exec = ScriptedExecutor::with(&[("streamer", Script::Live { lines, every })]);
    let mut config = config(dir, &db, "http://127.0.0.1:9", &["unused"], 1, "ci-1");
    config.forge = None;
    config.webhook = None;
    let server = Server::start(config, Arc::new(Shared(exec))).await;
    store
        .enqueue(
            &new_job("streamer", Some(1), "0a1b2c3d4e", None),
            now_millis(),
        )
        .await
        .unwrap();
    eventually("the run starts", Duration::from_secs(15), || async {
        !jobs_in(&store, JobState::Running).await.is_empty()
    })
    .await;
    let id = jobs_in(&store, JobState::Running).await[0].id;
    (server, store, id)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_log_stream_sends_lines_in_order_resumes_from_last_event_id_and_ends_with_the_run() {
    let dir = tempfile::tempdir().unwrap();
    let (server, store, id) = live_run(dir.path(), 12, Duration::from_millis(120)).await;
    let stream_url = format!("{}/runs/{id}/log/stream", server.url);
    let client = reqwest::Client::new();

    // Followed from the start while the run goes on: every line, in order, redacted; the
    // first lines arrive while the run is still running; the timeline follows the rungs;
    // the stream ends (by itself) after the run ends.
    let response = client.get(&stream_url).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "text/event-stream");
    let events = read_stream(response, &store, id, Duration::from_secs(60)).await;
    assert_eq!(log_lines(&events), expected_lines(12));
    assert!(
        events.iter().all(|(e, _)| !e.data.contains(LIVE_SECRET)),
        "the secret never reaches the stream"
    );
    let first_log = events.iter().find(|(e, _)| e.event == "log").unwrap();
    assert_eq!(first_log.1, JobState::Running, "lines arrive while it runs");
    let timelines: Vec<&SseEvent> = events
        .iter()
        .filter(|(e, _)| e.event == "timeline")
        .map(|(e, _)| e)
        .collect();
    assert!(
        timelines.iter().any(|e| e.data.contains("rung running")),
        "a rung is seen running: {timelines:?}"
    );
    let last_timeline = &timelines.last().unwrap().data;
    assert_eq!(
        last_timeline.matches("rung pass").count(),
        2,
        "{last_timeline}"
    );
    let (end, state) = events.last().unwrap();
    assert_eq!(end.event, "end", "the stream ends with the run: {events:?}");
    assert_eq!(*state, JobState::Done);

    // Resumed from a log event's id (a reconnecting browser sends it as Last-Event-ID): the
    // lines after it, none twice, and the stream of a finished run ends at once.
    let logs: Vec<&SseEvent> = events
        .iter()
        .filter(|(e, _)| e.event == "log")
        .map(|(e, _)| e)
        .collect();
    assert!(
        logs.len() >= 3,
        "the lines came in several events: {logs:?}"
    );
    let middle = logs[logs.len() / 2];
    let seen_before: usize = logs[..=logs.len() / 2]
        .iter()
        .map(|e| e.data.lines().count())
        .sum();
    let resumed = client
        .get(&stream_url)
        .header("Last-Event-ID", middle.id.clone().unwrap())
        .send()
        .await
        .unwrap();
    let rest = read_stream(resumed, &store, id, Duration::from_secs(10)).await;
    assert_eq!(log_lines(&rest), expected_lines(12)[seen_before..]);
    assert_eq!(rest.last().unwrap().0.event, "end");

    // `?from=` (the page's first subscription) is the same offset.
    let from = client
        .get(format!("{stream_url}?from={}", middle.id.clone().unwrap()))
        .send()
        .await
        .unwrap();
    let rest_from = read_stream(from, &store, id, Duration::from_secs(10)).await;
    assert_eq!(log_lines(&rest_from), log_lines(&rest));

    // The file on disk holds the same redacted lines; no run, no stream.
    let on_disk = std::fs::read_to_string(
        dir.path()
            .join("runs")
            .join(id.to_string())
            .join(ccci_core::live::LIVE_LOG),
    )
    .unwrap();
    assert_eq!(on_disk.lines().collect::<Vec<_>>(), expected_lines(12));
    let missing = client
        .get(format!("{}/runs/999999/log/stream", server.url))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);
    server.stop().await;
}

/// The number of non-empty lines in the page's live log.
const LOG_LINES: &str =
    "(document.getElementById('live-log')?.textContent ?? '').split('\\n').filter(l => l).length";

/// The page, loaded once while the run runs, shows more lines later without a reload, and
/// its timeline marks install finished; when the run ends, the page reloads with results.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_run_page_grows_its_live_log_and_timeline_in_chromium() {
    let Some(chromium) = crate::browser::chromium() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let (server, store, id) = live_run(dir.path(), 30, Duration::from_millis(300)).await;
    let mut page = crate::cdp::Browser::launch(&chromium).await;
    page.navigate(&format!("{}/runs/{id}", server.url)).await;
    page.wait_for(
        "the run page to load",
        "document.readyState === 'complete' && !!document.getElementById('live-log')",
        json!(true),
        Duration::from_secs(20),
    )
    .await;
    // A mark that a reload would wipe.
    page.eval("window.loadedOnce = true").await;
    let first = page.eval(LOG_LINES).await.as_u64().unwrap();
    let mut grown = first;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while grown < first + 5 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the live log did not grow: {first} → {grown} lines"
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
        grown = page.eval(LOG_LINES).await.as_u64().unwrap();
    }
    assert_eq!(
        page.eval("window.loadedOnce === true").await,
        true,
        "no reload"
    );
    assert_eq!(
        store.job(id).await.unwrap().unwrap().state,
        JobState::Running,
        "it grew while the run runs"
    );
    let log = page
        .eval("document.getElementById('live-log').textContent")
        .await;
    let log = log.as_str().unwrap();
    assert!(log.contains("   install line 3"), "{log}");
    assert!(
        log.contains("[REDACTED]") && !log.contains(LIVE_SECRET),
        "{log}"
    );

    // Install ends after 30 lines: the timeline marks it passed, upgrade running.
    let phase = |rung: &str| {
        format!(
            "[...document.querySelectorAll('#live-timeline tr.rung')]\
             .find(r => r.querySelector('td').textContent === '{rung}')?.className ?? ''"
        )
    };
    page.wait_for(
        "the timeline to mark install passed",
        &phase("install"),
        json!("rung pass"),
        Duration::from_secs(30),
    )
    .await;
    assert_eq!(page.eval(&phase("upgrade")).await, "rung running");
    assert_eq!(
        page.eval("window.loadedOnce === true").await,
        true,
        "still no reload"
    );

    // The run ends: the stream says so and the page reloads into the finished run.
    page.wait_for(
        "the page to reload with the results",
        "window.loadedOnce !== true && !!document.querySelector('table.rungs') \
         && !document.getElementById('live-timeline')",
        json!(true),
        Duration::from_secs(40),
    )
    .await;
    assert_eq!(store.job(id).await.unwrap().unwrap().state, JobState::Done);
    let log = page
        .eval("document.getElementById('live-log').textContent")
        .await;
    assert!(log.as_str().unwrap().contains("upgrade: pass"), "{log}");
    server.stop().await;
}
