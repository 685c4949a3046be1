//! Webhooks that register themselves: `ccci serve` against the Gitea stand-in keeps one hook
//! at its webhook URL on each watched repository, falls back to polling where the token may
//! not administer hooks, notices a hook that stops delivering, and runs a `!testme` that
//! arrives through the hook it registered.

use crate::harness::*;
use crate::support::open;
use ccci_forge::gitea_standin::{Standin, StandinHook};
use ccci_forge::{Permission, RepoName};
use ccci_service::config::Config;
use serde_json::Value;
use std::sync::Arc;
use std::time::Duration;

fn sqlite_url(dir: &std::path::Path) -> String {
    format!("sqlite:{}", dir.join("ccci.db").display())
}

/// The config for `recipes`, with the webhook URL the stand-in delivers to.
fn hooked_config(
    dir: &std::path::Path,
    standin: &Standin,
    recipes: &[&str],
    hook_url: &str,
) -> Config {
    let mut config = config(dir, &sqlite_url(dir), &standin.base_url(), recipes, 1, "h1");
    config.webhook.as_mut().unwrap().url = format!("{hook_url}/webhook/gitea");
    config
}

/// `GET /api/triggers`: repository → the row.
async fn triggers(server: &Server) -> Vec<Value> {
    let url = format!("{}/api/triggers", server.url);
    let body: Value = reqwest::get(url).await.unwrap().json().await.unwrap();
    body["repos"].as_array().cloned().unwrap_or_default()
}

async fn queue_page(server: &Server) -> String {
    let page = reqwest::get(format!("{}/queue", server.url)).await.unwrap();
    page.text().await.unwrap()
}

async fn mode_of(server: &Server, repo: &RepoName) -> Option<String> {
    let rows = triggers(server).await;
    let row = rows.iter().find(|r| r["repo"] == repo.full_name())?;
    row["mode"].as_str().map(str::to_string)
}

async fn wait_for_mode(server: &Server, repo: &RepoName, mode: &str) {
    eventually(
        &format!("{repo} on {mode}"),
        Duration::from_secs(20),
        || async { mode_of(server, repo).await.as_deref() == Some(mode) },
    )
    .await;
}

/// A webhook URL base for tests that deliver nothing (only the URL's identity matters).
const UNDELIVERED: &str = "http://ci.test";

/// `ccci serve` with `config` and a scripted executor, on a fresh port (the hook URL in
/// `config` need not be this server's: the tests that deliver bind theirs first).
async fn serve(config: Config) -> Server {
    let (listener, _) = bound();
    let executor = Arc::new(Shared(ScriptedExecutor::with(&[])));
    Server::start_on(listener, config, executor).await
}

/// Waits (bounded) until `repo` holds exactly one hook at `url` and `right` holds for it.
async fn one_hook(
    standin: &Standin,
    repo: &RepoName,
    url: &str,
    what: &str,
    right: impl Fn(&StandinHook) -> bool,
) {
    eventually(what, Duration::from_secs(20), || async {
        let hooks = standin.hooks(repo);
        let mine = ours(&hooks, url);
        mine.len() == 1 && right(mine[0])
    })
    .await;
}

fn ours<'a>(hooks: &'a [StandinHook], url: &str) -> Vec<&'a StandinHook> {
    hooks.iter().filter(|h| h.url == url).collect()
}

fn is_right(h: &StandinHook, secret: &str) -> bool {
    let has = |e: &str| h.events.iter().any(|x| x == e);
    h.active
        && h.kind == "gitea"
        && h.content_type == "json"
        && h.secret == secret
        && has("issue_comment")
        && has("pull_request")
        && has("pull_request_comment")
        && !has("push")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fresh_repository_gets_its_hook_and_a_testme_through_it_starts_a_run() {
    let dir = tempfile::tempdir().unwrap();
    let (standin, repos) = standin(&["fresh"]).await;
    let repo = &repos[0];
    let (listener, server_url) = bound();
    let mut config = hooked_config(dir.path(), &standin, &["fresh"], &server_url);
    // Webhook only: a run can only come through the hook cc-ci registered.
    config.forge.as_mut().unwrap().poll = false;
    let hook_url = config.webhook.as_ref().unwrap().url.clone();
    let store = open(&sqlite_url(dir.path())).await;
    let exec = ScriptedExecutor::with(&[]);
    let server = Server::start_on(listener, config, Arc::new(Shared(exec.clone()))).await;
    wait_for_mode(&server, repo, "webhook").await;

    let hooks = standin.hooks(repo);
    let mine = ours(&hooks, &hook_url);
    assert_eq!(mine.len(), 1, "exactly one cc-ci hook: {hooks:#?}");
    assert!(is_right(mine[0], HOOK_SECRET), "{:#?}", mine[0]);

    let pr = standin.open_pull(repo, "fix", "aaaa1111");
    let comment = standin.add_comment(repo, pr, "alice", "!testme");
    let outcomes = standin.deliver_comment(comment).await;
    assert_eq!(outcomes.len(), 1, "{outcomes:?}");
    assert_eq!(outcomes[0].hook_id, mine[0].id);
    assert_eq!(
        outcomes[0].status,
        Ok(202),
        "the signed delivery was accepted"
    );
    eventually(
        "the delivered !testme runs",
        Duration::from_secs(20),
        || async { !exec.started().is_empty() },
    )
    .await;
    let queued = store
        .jobs(&ccci_service::job::JobFilter::default())
        .await
        .unwrap();
    assert_eq!(queued.len(), 1);
    assert_eq!(queued[0].request.head_sha, "aaaa1111");
    let repo_key = repo.full_name();
    let processed = store.is_comment_processed(&repo_key, comment as i64).await;
    assert!(
        processed.unwrap(),
        "the delivered comment is the one that ran"
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_drifted_hook_is_corrected_duplicates_go_others_stay_and_a_new_secret_replaces_it() {
    let dir = tempfile::tempdir().unwrap();
    let (standin, repos) = standin(&["drifty"]).await;
    let repo = &repos[0];
    let config = hooked_config(dir.path(), &standin, &["drifty"], UNDELIVERED);
    let hook_url = config.webhook.as_ref().unwrap().url.clone();
    let chat = standin.add_hook(repo, "https://chat.example/hook", "x", &["push"], true);
    // A hook someone made by hand at cc-ci's URL: its secret is unknown, so it is replaced.
    let by_hand = standin.add_hook(repo, &hook_url, "guess", &["issue_comment"], true);
    let server = serve(config.clone()).await;
    wait_for_mode(&server, repo, "webhook").await;
    server.stop().await;
    let hooks = standin.hooks(repo);
    let mine = ours(&hooks, &hook_url);
    assert_eq!(mine.len(), 1, "{hooks:#?}");
    assert_ne!(mine[0].id, by_hand, "the hand-made hook was replaced");
    assert!(is_right(mine[0], HOOK_SECRET));
    let registered = mine[0].id;

    // Someone switches it off and narrows it to pushes, and copies it.
    let http = reqwest::Client::new();
    let edit = http
        .patch(format!(
            "{}/api/v1/repos/{repo}/hooks/{registered}",
            standin.base_url()
        ))
        .header("Authorization", format!("token {BOT_TOKEN}"))
        .json(&serde_json::json!({"events": ["push"], "active": false}))
        .send()
        .await
        .unwrap();
    assert_eq!(edit.status(), 200);
    let copy = standin.add_hook(repo, &hook_url, HOOK_SECRET, &["push"], true);
    let server = serve(config.clone()).await;
    let corrected = |h: &StandinHook| h.id == registered && is_right(h, HOOK_SECRET);
    let what = "the drifted hook corrected, its copy deleted";
    one_hook(&standin, repo, &hook_url, what, corrected).await;
    assert!(standin.hooks(repo).iter().all(|h| h.id != copy));
    assert!(
        standin.hooks(repo).iter().any(|h| h.id == chat),
        "someone else's hook stays"
    );
    server.stop().await;

    // The secret is rotated: Gitea cannot change a hook's secret, so the hook is replaced.
    let mut rotated = config;
    let new_secret = "hook-secret-rotated-9876";
    rotated.webhook.as_mut().unwrap().secrets =
        vec![ccci_core::secret::Secret::new(new_secret), secret()];
    let server = serve(rotated).await;
    let remade = |h: &StandinHook| h.id != registered && is_right(h, new_secret);
    let what = "the hook re-made with the new secret";
    one_hook(&standin, repo, &hook_url, what, remade).await;
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn where_the_token_may_not_administer_hooks_the_repository_is_polled_and_the_dashboard_says_why(
) {
    let dir = tempfile::tempdir().unwrap();
    let (standin, repos) = standin(&["admin", "writer"]).await;
    let (admin, writer) = (&repos[0], &repos[1]);
    standin.set_permission(writer, BOT, Permission::Write);
    let (listener, server_url) = bound();
    let mut config = hooked_config(dir.path(), &standin, &["admin", "writer"], &server_url);
    // The bot may not read permissions on the writer repository: alice is allow-listed.
    config.forge.as_mut().unwrap().allow_list = vec!["alice".into()];
    poll_from_an_hour_ago(&open(&sqlite_url(dir.path())).await).await;
    let exec = ScriptedExecutor::with(&[]);
    let server = Server::start_on(listener, config, Arc::new(Shared(exec.clone()))).await;
    wait_for_mode(&server, admin, "webhook").await;
    wait_for_mode(&server, writer, "polling").await;
    let rows = triggers(&server).await;
    let row = rows
        .iter()
        .find(|r| r["repo"] == writer.full_name())
        .unwrap();
    let reason = row["reason"].as_str().unwrap();
    assert!(
        reason.contains("may not administer") && reason.contains("HTTP 403"),
        "{reason}"
    );
    assert!(
        standin.hooks(writer).is_empty(),
        "no hook where the token may not"
    );
    let page = queue_page(&server).await;
    assert!(page.contains("Triggers on this host"), "{page}");
    assert!(
        page.contains("polling") && page.contains("may not administer"),
        "{page}"
    );

    // Polling still runs the writer repository's !testme.
    let pr = standin.open_pull(writer, "fix", "bbbb2222");
    standin.add_comment(writer, pr, "alice", "!testme");
    eventually(
        "the polled !testme runs",
        Duration::from_secs(20),
        || async { !exec.started().is_empty() },
    )
    .await;
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hook_that_stops_delivering_is_reported_broken_and_polling_carries_on() {
    let dir = tempfile::tempdir().unwrap();
    let (standin, repos) = standin(&["silent"]).await;
    let repo = &repos[0];
    let (listener, server_url) = bound();
    let mut config = hooked_config(dir.path(), &standin, &["silent"], &server_url);
    config.forge.as_mut().unwrap().webhook_poll_interval = Duration::from_secs(1);
    config.webhook.as_mut().unwrap().delivery_grace = Duration::from_secs(2);
    let exec = ScriptedExecutor::with(&[]);
    let server = Server::start_on(listener, config, Arc::new(Shared(exec.clone()))).await;
    wait_for_mode(&server, repo, "webhook").await;
    let hook = standin.hooks(repo)[0].id;

    // Someone changes the hook's secret in the web UI: its deliveries no longer verify.
    standin.set_hook_secret(repo, hook, "changed-by-hand");
    tokio::time::sleep(Duration::from_millis(1100)).await; // a comment after serve started
    let pr = standin.open_pull(repo, "fix", "cccc3333");
    let comment = standin.add_comment(repo, pr, "alice", "!testme");
    let outcomes = standin.deliver_comment(comment).await;
    assert_eq!(outcomes[0].status, Ok(401));
    eventually(
        "polling runs it anyway",
        Duration::from_secs(20),
        || async { !exec.started().is_empty() },
    )
    .await;
    wait_for_mode(&server, repo, "broken").await;
    let rows = triggers(&server).await;
    let evidence = rows[0]["evidence"].as_str().unwrap().to_string();
    assert!(evidence.contains(&comment.to_string()), "{evidence}");
    let page = queue_page(&server).await;
    assert!(page.contains("broken webhook"), "{page}");

    // A delivery that verifies again mends it.
    standin.set_hook_secret(repo, hook, HOOK_SECRET);
    let again = standin.add_comment(repo, pr, "alice", "looks good");
    assert_eq!(standin.deliver_comment(again).await[0].status, Ok(202));
    wait_for_mode(&server, repo, "webhook").await;
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_repository_no_longer_watched_loses_cc_cis_hook_and_keeps_the_others() {
    let dir = tempfile::tempdir().unwrap();
    let (standin, repos) = standin(&["kept", "dropped"]).await;
    let (kept, dropped) = (&repos[0], &repos[1]);
    let both = hooked_config(dir.path(), &standin, &["kept", "dropped"], UNDELIVERED);
    let hook_url = both.webhook.as_ref().unwrap().url.clone();
    let chat = standin.add_hook(dropped, "https://chat.example/hook", "x", &["push"], true);
    let server = serve(both).await;
    wait_for_mode(&server, dropped, "webhook").await;
    server.stop().await;
    assert_eq!(ours(&standin.hooks(dropped), &hook_url).len(), 1);

    // `dropped` leaves the watched list; serve restarts on the same store.
    let server = serve(hooked_config(dir.path(), &standin, &["kept"], UNDELIVERED)).await;
    eventually(
        "cc-ci's hook gone from the unwatched repository",
        Duration::from_secs(20),
        || async { ours(&standin.hooks(dropped), &hook_url).is_empty() },
    )
    .await;
    let left: Vec<u64> = standin.hooks(dropped).iter().map(|h| h.id).collect();
    assert_eq!(left, [chat], "someone else's hook stays");
    assert_eq!(ours(&standin.hooks(kept), &hook_url).len(), 1);
    assert_eq!(
        mode_of(&server, dropped).await,
        None,
        "not shown once unwatched"
    );
    server.stop().await;
}
