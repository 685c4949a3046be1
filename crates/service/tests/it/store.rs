//! The store on both backends: claim, lease, re-queue, coalescing, restart dedupe, and
//! concurrent claimers.

use crate::support::{fresh_pg_database, new_job, open, pg_url, store_urls};
use ccci_core::run_end::RunEnd;
use ccci_service::job::{JobFilter, JobState, Outcome};
use ccci_service::store::{Enqueued, RecipeTally, Store};
use std::collections::BTreeSet;

fn queued_id(e: Enqueued) -> i64 {
    match e {
        Enqueued::Queued { id, .. } => id,
        Enqueued::AlreadyProcessed => panic!("expected a new job"),
    }
}

const GREEN: Outcome = Outcome {
    end: RunEnd::GREEN,
    level: 4,
    note: None,
};

#[tokio::test]
async fn claim_skips_a_running_recipe_and_respects_capacity() {
    let dir = tempfile::tempdir().unwrap();
    for url in store_urls(dir.path()).await {
        let store = open(&url).await;
        let x1 = queued_id(
            store
                .enqueue(&new_job("x", None, "a1", None), 1)
                .await
                .unwrap(),
        );
        let x2 = queued_id(
            store
                .enqueue(&new_job("x", None, "a2", None), 2)
                .await
                .unwrap(),
        );
        let y = queued_id(
            store
                .enqueue(&new_job("y", None, "b1", None), 3)
                .await
                .unwrap(),
        );
        let z = queued_id(
            store
                .enqueue(&new_job("z", None, "c1", None), 4)
                .await
                .unwrap(),
        );

        let first = store.claim("a", 2, 60_000, 10).await.unwrap().unwrap();
        assert_eq!((first.id, first.state), (x1, JobState::Running), "{url}");
        assert_eq!(first.host.as_deref(), Some("a"));
        // x2 is skipped (x runs), not waited on: y starts.
        let second = store.claim("a", 2, 60_000, 11).await.unwrap().unwrap();
        assert_eq!(second.id, y, "{url}");
        assert!(
            store.claim("a", 2, 60_000, 12).await.unwrap().is_none(),
            "capacity 2 reached"
        );
        // Another host may take z, but never x2 while x1 runs.
        let other = store.claim("b", 5, 60_000, 13).await.unwrap().unwrap();
        assert_eq!(other.id, z);
        assert!(
            store.claim("b", 5, 60_000, 14).await.unwrap().is_none(),
            "{url}: x2 must wait for x1"
        );

        // The queue view explains the wait.
        let view = store.queue(20).await.unwrap();
        store.register_host("a", 2, 20).await.unwrap();
        let view_with_hosts = store.queue(20).await.unwrap();
        assert_eq!(
            view.queued.iter().map(|j| j.id).collect::<Vec<_>>(),
            vec![x2]
        );
        assert_eq!(
            view_with_hosts.wait_reason(x2).unwrap().to_string(),
            format!("queued behind run {x1} (recipe x)")
        );

        assert!(store.finish(x1, "a", &GREEN, 30).await.unwrap());
        let done = store.job(x1).await.unwrap().unwrap();
        assert_eq!(
            (done.state, done.end, done.level),
            (JobState::Done, Some(RunEnd::GREEN), Some(4))
        );
        let next = store.claim("a", 2, 60_000, 31).await.unwrap().unwrap();
        assert_eq!(next.id, x2, "{url}");
    }
}

#[tokio::test]
async fn an_expired_lease_requeues_the_job_and_fences_the_old_host() {
    let dir = tempfile::tempdir().unwrap();
    for url in store_urls(dir.path()).await {
        let store = open(&url).await;
        let id = queued_id(
            store
                .enqueue(&new_job("x", None, "a1", None), 1)
                .await
                .unwrap(),
        );
        let job = store
            .claim("dead-host", 1, 1_000, 100)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(job.lease_expires_at, Some(1_100));
        // Heartbeats extend the lease while the host lives.
        assert!(matches!(
            store.heartbeat(id, "dead-host", 2_000).await.unwrap(),
            ccci_service::store::Heartbeat::Held { .. }
        ));
        assert!(
            store.requeue_expired(1_999).await.unwrap().is_empty(),
            "{url}"
        );
        // The host dies: no more heartbeats; past the lease the job goes back to the queue.
        assert_eq!(
            store.requeue_expired(2_001).await.unwrap(),
            vec![id],
            "{url}"
        );
        let job = store.job(id).await.unwrap().unwrap();
        assert_eq!(
            (job.state, job.attempts, job.host),
            (JobState::Queued, 1, None)
        );
        // The dead host, should it come back, can neither renew nor finish the job.
        assert_eq!(
            store.heartbeat(id, "dead-host", 9_000).await.unwrap(),
            ccci_service::store::Heartbeat::Lost
        );
        assert!(!store.finish(id, "dead-host", &GREEN, 2_002).await.unwrap());
        // Another host picks it up; claim also re-queues expired leases itself.
        let again = store
            .claim("live-host", 1, 1_000, 2_003)
            .await
            .unwrap()
            .unwrap();
        assert_eq!((again.id, again.host.as_deref()), (id, Some("live-host")));
        let again = store
            .claim("third-host", 1, 1_000, 5_000)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            (again.id, again.attempts),
            (id, 2),
            "{url}: claim re-queues expired leases"
        );
        // Graceful shutdown gives the job back at once.
        assert!(store.release(id, "third-host").await.unwrap());
        assert_eq!(
            store.job(id).await.unwrap().unwrap().state,
            JobState::Queued
        );
    }
}

#[tokio::test]
async fn repeated_testme_on_one_pr_coalesces_to_the_newest_head() {
    let dir = tempfile::tempdir().unwrap();
    for url in store_urls(dir.path()).await {
        let store = open(&url).await;
        let old = queued_id(
            store
                .enqueue(&new_job("x", Some(7), "sha-old", Some(1)), 1)
                .await
                .unwrap(),
        );
        let other_pr = queued_id(
            store
                .enqueue(&new_job("x", Some(8), "sha-8", Some(2)), 2)
                .await
                .unwrap(),
        );
        let Enqueued::Queued {
            id: new,
            superseded,
        } = store
            .enqueue(&new_job("x", Some(7), "sha-new", Some(3)), 3)
            .await
            .unwrap()
        else {
            panic!("not queued")
        };
        assert_eq!(
            superseded.iter().map(|j| j.id).collect::<Vec<_>>(),
            vec![old],
            "{url}"
        );
        let old_job = store.job(old).await.unwrap().unwrap();
        assert_eq!(old_job.state, JobState::Superseded);
        assert_eq!(old_job.note, Some(format!("superseded by run {new}")));
        let queued: Vec<i64> = store
            .jobs(&JobFilter {
                state: Some(JobState::Queued),
                ..JobFilter::default()
            })
            .await
            .unwrap()
            .iter()
            .map(|j| j.id)
            .collect();
        assert_eq!(queued, vec![new, other_pr], "{url}: newest first");
        // Filters.
        let recipe_x = store
            .jobs(&JobFilter {
                recipe: Some("x".into()),
                ..JobFilter::default()
            })
            .await
            .unwrap();
        assert_eq!(recipe_x.len(), 3);
    }
}

#[tokio::test]
async fn comments_deliveries_refusals_and_cursors_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    for url in store_urls(dir.path()).await {
        {
            let store = open(&url).await;
            assert!(matches!(
                store
                    .enqueue(&new_job("x", Some(7), "s", Some(42)), 1)
                    .await
                    .unwrap(),
                Enqueued::Queued { .. }
            ));
            assert!(store.record_delivery("delivery-1", 1).await.unwrap());
            assert!(store.record_refusal("coop-cloud/x", 7, 1).await.unwrap());
            assert!(store
                .mark_comment_processed("coop-cloud/x", 43, 1)
                .await
                .unwrap());
            store
                .set_cursor("coop-cloud/x", "{\"floor\":1}", 1)
                .await
                .unwrap();
        }
        // A new process opens the same database.
        let store = open(&url).await;
        assert_eq!(
            store
                .enqueue(&new_job("x", Some(7), "s", Some(42)), 2)
                .await
                .unwrap(),
            Enqueued::AlreadyProcessed,
            "{url}"
        );
        assert!(store
            .is_comment_processed("coop-cloud/x", 42)
            .await
            .unwrap());
        assert!(store
            .is_comment_processed("coop-cloud/x", 43)
            .await
            .unwrap());
        assert!(!store
            .is_comment_processed("coop-cloud/x", 44)
            .await
            .unwrap());
        assert!(!store
            .mark_comment_processed("coop-cloud/x", 43, 2)
            .await
            .unwrap());
        assert!(
            !store.record_delivery("delivery-1", 2).await.unwrap(),
            "{url}: a replay"
        );
        assert!(store.record_delivery("delivery-2", 2).await.unwrap());
        assert!(!store.record_refusal("coop-cloud/x", 7, 2).await.unwrap());
        assert!(store.record_refusal("coop-cloud/x", 8, 2).await.unwrap());
        assert_eq!(
            store.cursor("coop-cloud/x").await.unwrap().as_deref(),
            Some("{\"floor\":1}")
        );
        assert_eq!(store.cursor("coop-cloud/y").await.unwrap(), None);
        assert_eq!(store.jobs(&JobFilter::default()).await.unwrap().len(), 1);
    }
}

/// Two claimers on separate connections race over one queue: every job is claimed exactly
/// once (PostgreSQL: `FOR UPDATE SKIP LOCKED`; SQLite: immediate transactions).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_claimers_take_each_job_once() {
    let dir = tempfile::tempdir().unwrap();
    for url in store_urls(dir.path()).await {
        let seed = open(&url).await;
        const N: usize = 40;
        for i in 0..N {
            // Distinct recipes, so nothing but the race limits the claimers.
            seed.enqueue(&new_job(&format!("r{i}"), None, "s", None), i as i64)
                .await
                .unwrap();
        }
        // Plus a few jobs of one recipe: never two of them running at once.
        for i in 0..4 {
            seed.enqueue(&new_job("same", None, &format!("s{i}"), None), 100 + i)
                .await
                .unwrap();
        }
        let mut tasks = Vec::new();
        for host in ["h1", "h2", "h3"] {
            let store: Store = open(&url).await;
            tasks.push(tokio::spawn(async move {
                let mut got = Vec::new();
                let mut idle = 0;
                while idle < 3 {
                    match store.claim(host, 1_000, 60_000, 1_000).await.unwrap() {
                        Some(job) => {
                            idle = 0;
                            got.push((job.id, job.request.recipe));
                        }
                        None => {
                            idle += 1;
                            tokio::task::yield_now().await;
                        }
                    }
                }
                got
            }));
        }
        let mut all = Vec::new();
        for t in tasks {
            all.extend(t.await.unwrap());
        }
        let ids: BTreeSet<i64> = all.iter().map(|(id, _)| *id).collect();
        assert_eq!(
            ids.len(),
            all.len(),
            "{url}: a job was claimed twice: {all:?}"
        );
        assert_eq!(
            all.iter().filter(|(_, r)| r == "same").count(),
            1,
            "{url}: one run per recipe"
        );
        assert_eq!(all.len(), N + 1, "{url}");
        let running = seed
            .jobs(&JobFilter {
                state: Some(JobState::Running),
                limit: Some(1000),
                ..JobFilter::default()
            })
            .await
            .unwrap();
        assert_eq!(running.len(), N + 1);
    }
}

// Databases created by an earlier build: the schema as it shipped, a job written by that
// build's INSERT. The store must read and use them without migrating anything.

/// Migration 1 for SQLite, as shipped before both dialects were spelled from one text.
const SHIPPED_SQLITE_V1: &str = r#"
CREATE TABLE jobs (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    recipe           TEXT    NOT NULL,
    repo             TEXT    NOT NULL,
    pr_number        INTEGER,
    head_sha         TEXT    NOT NULL,
    git_ref          TEXT,
    clone_url        TEXT    NOT NULL,
    flags            TEXT    NOT NULL,
    requested_by     TEXT,
    state            TEXT    NOT NULL,
    verdict          TEXT,
    level            INTEGER,
    host             TEXT,
    lease_expires_at INTEGER,
    enqueued_at      INTEGER NOT NULL,
    started_at       INTEGER,
    finished_at      INTEGER,
    comment_id       INTEGER,
    attempts         INTEGER NOT NULL DEFAULT 0,
    note             TEXT
);
CREATE INDEX jobs_by_state ON jobs (state, id);
CREATE INDEX jobs_by_recipe ON jobs (recipe, id);
CREATE UNIQUE INDEX jobs_one_running_per_recipe ON jobs (recipe) WHERE state = 'running';
CREATE TABLE poll_cursors (
    repo       TEXT PRIMARY KEY,
    cursor     TEXT NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE TABLE processed_comments (
    repo       TEXT    NOT NULL,
    comment_id INTEGER NOT NULL,
    job_id     INTEGER,
    at         INTEGER NOT NULL,
    PRIMARY KEY (repo, comment_id)
);
CREATE TABLE webhook_deliveries (
    delivery_id TEXT PRIMARY KEY,
    at          INTEGER NOT NULL
);
CREATE TABLE refusals (
    repo      TEXT    NOT NULL,
    pr_number INTEGER NOT NULL,
    at        INTEGER NOT NULL,
    PRIMARY KEY (repo, pr_number)
);
CREATE TABLE hosts (
    host      TEXT PRIMARY KEY,
    capacity  INTEGER NOT NULL,
    last_seen INTEGER NOT NULL
);
"#;

/// Migration 1 for PostgreSQL, as shipped before both dialects were spelled from one text.
const SHIPPED_POSTGRES_V1: &str = r#"
CREATE TABLE jobs (
    id               BIGSERIAL PRIMARY KEY,
    recipe           TEXT   NOT NULL,
    repo             TEXT   NOT NULL,
    pr_number        BIGINT,
    head_sha         TEXT   NOT NULL,
    git_ref          TEXT,
    clone_url        TEXT   NOT NULL,
    flags            TEXT   NOT NULL,
    requested_by     TEXT,
    state            TEXT   NOT NULL,
    verdict          TEXT,
    level            BIGINT,
    host             TEXT,
    lease_expires_at BIGINT,
    enqueued_at      BIGINT NOT NULL,
    started_at       BIGINT,
    finished_at      BIGINT,
    comment_id       BIGINT,
    attempts         BIGINT NOT NULL DEFAULT 0,
    note             TEXT
);
CREATE INDEX jobs_by_state ON jobs (state, id);
CREATE INDEX jobs_by_recipe ON jobs (recipe, id);
CREATE UNIQUE INDEX jobs_one_running_per_recipe ON jobs (recipe) WHERE state = 'running';
CREATE TABLE poll_cursors (
    repo       TEXT PRIMARY KEY,
    cursor     TEXT   NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE TABLE processed_comments (
    repo       TEXT   NOT NULL,
    comment_id BIGINT NOT NULL,
    job_id     BIGINT,
    at         BIGINT NOT NULL,
    PRIMARY KEY (repo, comment_id)
);
CREATE TABLE webhook_deliveries (
    delivery_id TEXT PRIMARY KEY,
    at          BIGINT NOT NULL
);
CREATE TABLE refusals (
    repo      TEXT   NOT NULL,
    pr_number BIGINT NOT NULL,
    at        BIGINT NOT NULL,
    PRIMARY KEY (repo, pr_number)
);
CREATE TABLE hosts (
    host      TEXT PRIMARY KEY,
    capacity  BIGINT NOT NULL,
    last_seen BIGINT NOT NULL
);
"#;

/// A job row as the shipped build wrote it, with every nullable column set.
const SHIPPED_JOB: &str = "INSERT INTO jobs (recipe, repo, pr_number, head_sha, git_ref, \
     clone_url, flags, requested_by, state, verdict, level, host, lease_expires_at, enqueued_at, \
     started_at, finished_at, comment_id, attempts, note) VALUES ('x', 'coop-cloud/x', 7, \
     'sha-1', 'refs/pull/7/head', 'https://git.example/coop-cloud/x.git', '{\"quick\":true}', \
     'alice', 'done', 'red', 3, 'h1', NULL, 1, 2, 3, 99, 1, 'a note'); \
     INSERT INTO schema_version (version) VALUES (1);";

async fn check_a_shipped_database(url: &str) {
    let store = open(url).await;
    let old = store.job(1).await.unwrap().expect("the shipped job");
    assert_eq!(
        (old.state, old.end, old.level, old.request.pr_number),
        (JobState::Done, Some(RunEnd::RED), Some(3), Some(7)),
        "{url}"
    );
    assert_eq!(
        (
            old.comment_id,
            old.attempts,
            old.note.as_deref(),
            old.request.flags.quick
        ),
        (Some(99), 1, Some("a note"), true),
        "{url}"
    );
    let new = queued_id(
        store
            .enqueue(&new_job("x", Some(7), "sha-2", Some(5)), 10)
            .await
            .unwrap(),
    );
    assert!(new > 1, "{url}: ids continue after the shipped rows");
    let claimed = store.claim("h2", 1, 1_000, 11).await.unwrap().unwrap();
    assert_eq!(claimed.id, new, "{url}");
    assert!(store.swap_comment_id(new, None, Some(6)).await.unwrap());
    assert!(store.finish(new, "h2", &GREEN, 12).await.unwrap());
    assert_eq!(store.jobs(&JobFilter::default()).await.unwrap().len(), 2);
}

#[tokio::test]
async fn a_sqlite_file_of_the_shipped_schema_is_read_and_used() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("shipped.db");
    {
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.execute_batch("CREATE TABLE schema_version (version INTEGER NOT NULL)")
            .unwrap();
        conn.execute_batch(SHIPPED_SQLITE_V1).unwrap();
        conn.execute_batch(SHIPPED_JOB).unwrap();
    }
    check_a_shipped_database(&format!("sqlite:{}", path.display())).await;

    // A database this build creates has the shipped schema.
    let fresh = dir.path().join("fresh.db");
    open(&format!("sqlite:{}", fresh.display())).await;
    let shipped = sqlite_schema(&path);
    assert!(shipped.len() > 30, "{shipped:?}");
    assert_eq!(sqlite_schema(&fresh), shipped);
}

/// Every table's columns (name, type, not null, default, primary key) and every index.
fn sqlite_schema(path: &std::path::Path) -> Vec<String> {
    let conn = rusqlite::Connection::open(path).unwrap();
    let mut stmt = conn
        .prepare(
            "SELECT m.type || ' ' || m.name || ': ' || COALESCE(p.name || ' ' || p.type || ' ' \
             || p.\"notnull\" || ' ' || COALESCE(p.dflt_value, '') || ' ' || p.pk, m.sql) \
             FROM sqlite_master m LEFT JOIN pragma_table_info(m.name) p ON m.type = 'table' \
             WHERE m.name NOT LIKE 'sqlite_%' ORDER BY 1",
        )
        .unwrap();
    let rows = stmt.query_map([], |r| r.get(0)).unwrap();
    rows.collect::<Result<_, _>>().unwrap()
}

#[tokio::test]
async fn a_postgres_database_of_the_shipped_schema_is_read_and_used() {
    let Some(base) = pg_url() else { return };
    let url = fresh_pg_database(&base).await;
    {
        let (client, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
            .await
            .unwrap();
        tokio::spawn(connection);
        client
            .batch_execute("CREATE TABLE schema_version (version BIGINT NOT NULL)")
            .await
            .unwrap();
        client.batch_execute(SHIPPED_POSTGRES_V1).await.unwrap();
        client.batch_execute(SHIPPED_JOB).await.unwrap();
    }
    check_a_shipped_database(&url).await;

    // A database this build creates has the shipped schema.
    let fresh = fresh_pg_database(&base).await;
    open(&fresh).await;
    let shipped = pg_schema(&url).await;
    assert!(shipped.len() > 30, "{shipped:?}");
    assert_eq!(pg_schema(&fresh).await, shipped);
}

/// Every column (table, name, type, nullable, default) and every index definition.
async fn pg_schema(url: &str) -> Vec<String> {
    let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(connection);
    let rows = client
        .query(
            "SELECT table_name || '.' || column_name || ' ' || data_type || ' ' || is_nullable \
             || ' ' || COALESCE(column_default, '') FROM information_schema.columns \
             WHERE table_schema = 'public' \
             UNION ALL SELECT indexdef FROM pg_indexes WHERE schemaname = 'public' ORDER BY 1",
            &[],
        )
        .await
        .unwrap();
    rows.iter().map(|r| r.get(0)).collect()
}

/// What `/metrics` counts from: the runs a host finished by verdict and the superseded jobs
/// (for its counters), the queued and running jobs (for its gauges), each one aggregate read.
#[tokio::test]
async fn ended_and_active_counts_aggregate_without_loading_jobs() {
    let dir = tempfile::tempdir().unwrap();
    for url in store_urls(dir.path()).await {
        let store = open(&url).await;
        let red = Outcome {
            end: RunEnd::RED,
            level: 1,
            note: None,
        };
        for (i, (host, outcome)) in [("a", &GREEN), ("a", &GREEN), ("a", &red), ("b", &GREEN)]
            .into_iter()
            .enumerate()
        {
            store
                .enqueue(&new_job(&format!("r{i}"), None, "a1", None), 1)
                .await
                .unwrap();
            let job = store.claim(host, 1, 60_000, 2).await.unwrap().unwrap();
            assert!(store.finish(job.id, host, outcome, 3).await.unwrap());
        }
        store
            .enqueue(&new_job("s", Some(7), "s1", None), 4)
            .await
            .unwrap();
        store
            .enqueue(&new_job("s", Some(7), "s2", None), 5)
            .await
            .unwrap();
        store
            .enqueue(&new_job("t", None, "t1", None), 6)
            .await
            .unwrap();
        store.claim("b", 1, 60_000, 7).await.unwrap().unwrap();

        let ended = store.ended_counts("a").await.unwrap();
        assert_eq!(
            (ended.green, ended.red, ended.superseded),
            (2, 1, 1),
            "{url}"
        );
        let ended_b = store.ended_counts("b").await.unwrap();
        assert_eq!((ended_b.green, ended_b.red), (1, 0), "{url}");
        let active = store.active_counts().await.unwrap();
        assert_eq!((active.queued, active.running), (1, 1), "{url}");
    }
}

/// The run list's figures come from one aggregate over the newest jobs (per recipe: how many
/// finished, how many green), and its pages from `before`, on both backends.
#[tokio::test]
async fn recent_tallies_and_pages_of_runs() {
    let dir = tempfile::tempdir().unwrap();
    for url in store_urls(dir.path()).await {
        let store = open(&url).await;
        let red = Outcome {
            end: RunEnd::RED,
            level: 1,
            note: None,
        };
        let mut ids = Vec::new();
        for (recipe, outcome) in [("a", &GREEN), ("a", &red), ("b", &GREEN)] {
            let queued = store.enqueue(&new_job(recipe, None, "a1", None), 1).await;
            ids.push(queued_id(queued.unwrap()));
            let job = store.claim("h", 1, 60_000, 2).await.unwrap().unwrap();
            assert!(store.finish(job.id, "h", outcome, 3).await.unwrap());
        }
        let queued = store.enqueue(&new_job("c", None, "c1", None), 4).await;
        ids.push(queued_id(queued.unwrap()));

        let tally = |t: &RecipeTally| (t.recipe.clone(), t.finished, t.green);
        let all: Vec<_> = store.recent_by_recipe(10).await.unwrap();
        let all: Vec<_> = all.iter().map(tally).collect();
        let want = [("a", 2, 1), ("b", 1, 1), ("c", 0, 0)].map(|(r, f, g)| (r.to_string(), f, g));
        assert_eq!(all, want, "{url}");
        let newest_two = store.recent_by_recipe(2).await.unwrap();
        let newest_two: Vec<_> = newest_two.iter().map(tally).collect();
        assert_eq!(
            newest_two,
            want[1..],
            "{url}: only the newest two jobs count"
        );

        let page = |before: Option<i64>, limit: u32| JobFilter {
            before,
            limit: Some(limit),
            ..JobFilter::default()
        };
        let first: Vec<i64> = store
            .jobs(&page(None, 2))
            .await
            .unwrap()
            .iter()
            .map(|j| j.id)
            .collect();
        assert_eq!(first, [ids[3], ids[2]], "{url}");
        let older = store.jobs(&page(Some(ids[2]), 10)).await.unwrap();
        let older: Vec<i64> = older.iter().map(|j| j.id).collect();
        assert_eq!(
            older,
            [ids[1], ids[0]],
            "{url}: the page after run {}",
            ids[2]
        );
    }
}
