//! Shared helpers: stores on both backends, fresh PostgreSQL databases.

use ccci_service::job::{JobFlags, JobRequest, NewJob};
use ccci_service::store::Store;
use std::sync::atomic::{AtomicU32, Ordering};

/// The PostgreSQL server for tests. Under CI (`CI=true`) its absence is a failure, not a skip.
pub fn pg_url() -> Option<String> {
    match std::env::var("CCCI_TEST_PG_URL") {
        Ok(url) if !url.is_empty() => Some(url),
        _ => {
            if std::env::var("CI").as_deref() == Ok("true") {
                panic!("CI=true but CCCI_TEST_PG_URL is not set: run `eval \"$(scripts/start-postgres.sh)\"` first");
            }
            eprintln!("CCCI_TEST_PG_URL not set: skipping the PostgreSQL half of this test");
            None
        }
    }
}

static COUNTER: AtomicU32 = AtomicU32::new(0);

/// A unique name for this process and call.
pub fn unique(prefix: &str) -> String {
    let n = COUNTER.fetch_add(1, Ordering::SeqCst);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!("{prefix}_{}_{n}_{nanos}", std::process::id())
}

/// A fresh, empty database on the test server; returns its URL.
pub async fn fresh_pg_database(base: &str) -> String {
    let (client, connection) = tokio_postgres::connect(base, tokio_postgres::NoTls)
        .await
        .expect("connect to CCCI_TEST_PG_URL");
    tokio::spawn(connection);
    let name = unique("ccci_t");
    client
        .batch_execute(&format!("CREATE DATABASE {name}"))
        .await
        .expect("create test database");
    match base.rfind('/') {
        Some(i) => format!("{}/{name}", &base[..i]),
        None => panic!("CCCI_TEST_PG_URL has no database path: {base}"),
    }
}

/// One store URL per backend available: a SQLite file in `dir`, and a fresh PostgreSQL
/// database when a server is configured.
pub async fn store_urls(dir: &std::path::Path) -> Vec<String> {
    let mut urls = vec![format!(
        "sqlite:{}",
        dir.join(unique("store")).with_extension("db").display()
    )];
    if let Some(base) = pg_url() {
        urls.push(fresh_pg_database(&base).await);
    }
    urls
}

pub async fn open(url: &str) -> Store {
    Store::open(url)
        .await
        .unwrap_or_else(|e| panic!("open {url}: {e}"))
}

pub fn new_job(recipe: &str, pr: Option<i64>, sha: &str, comment: Option<i64>) -> NewJob {
    NewJob {
        request: JobRequest {
            recipe: recipe.into(),
            repo: format!("coop-cloud/{recipe}"),
            pr_number: pr,
            head_sha: sha.into(),
            git_ref: pr.map(|n| format!("refs/pull/{n}/head")),
            clone_url: format!("https://git.example/coop-cloud/{recipe}.git"),
            flags: JobFlags::default(),
            requested_by: Some("alice".into()),
        },
        trigger_comment_id: comment,
    }
}
