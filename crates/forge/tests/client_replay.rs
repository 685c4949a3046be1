//! cc-ci's own client against Gitea's answers as recorded in `gitea_responses/`: a
//! loopback server replays each fixture of its `manifest.json` for its method and path,
//! and each client call must read what the fixture holds. The fixtures are Gitea 1.27's
//! full shape (every field its API description names, `null` where Gitea leaves pointers
//! unset; `standin_openapi` checks them against the description), plus the Gogs API
//! documentation's example of a comment list, from a forge that sends no URL fields.

use axum::http::{header, Method, StatusCode, Uri};
use axum::response::IntoResponse;
use axum::Router;
use ccci_core::secret::Secret;
use ccci_forge::{GiteaClient, Permission, RepoName, StatusState, StatusUpdate};
use serde_json::Value;
use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use time::macros::datetime;

const SHA: &str = "9b3e0c8d1f2a4b5c6d7e8f90a1b2c3d4e5f60718";

/// `(method, path)` → (status, body) for every fixture of the manifest.
type Answers = HashMap<(String, String), (u16, String)>;

fn answers() -> Answers {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/gitea_responses");
    let read = |name: &str| std::fs::read_to_string(dir.join(name)).expect(name);
    let manifest: Value = serde_json::from_str(&read("manifest.json")).unwrap();
    manifest["fixtures"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            let text = |key: &str| f[key].as_str().unwrap().to_string();
            let status = f["status"].as_u64().unwrap() as u16;
            (
                (text("method"), text("path")),
                (status, read(&text("file"))),
            )
        })
        .collect()
}

/// Serves the fixtures on loopback (the query string is not part of the match); a client
/// with a token for it. The server stops when the test's runtime ends.
async fn replay() -> GiteaClient {
    let answers = Arc::new(answers());
    let app = Router::new().fallback(move |method: Method, uri: Uri| {
        let found = answers
            .get(&(method.to_string(), uri.path().to_string()))
            .cloned();
        async move {
            let (status, body) = found.unwrap_or((404, format!("no fixture for {method} {uri}")));
            let status = StatusCode::from_u16(status).unwrap();
            (
                status,
                [(header::CONTENT_TYPE, "application/json;charset=utf-8")],
                body,
            )
                .into_response()
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    GiteaClient::new(
        &format!("http://{addr}"),
        Secret::new("replay-token-0123456789"),
        Duration::from_secs(5),
    )
    .unwrap()
}

fn repo() -> RepoName {
    RepoName::parse("coop-cloud/traefik").unwrap()
}

#[tokio::test]
async fn client_reads_recorded_pull_requests() {
    let client = replay().await;
    let open = client.list_open_pulls(&repo()).await.unwrap();
    let heads: Vec<_> = open
        .iter()
        .map(|p| (p.number, p.head.sha.as_str()))
        .collect();
    assert_eq!(heads, vec![(7, SHA), (6, "ab".repeat(20).as_str())]);
    assert!(open.iter().all(|p| p.is_open() && !p.merged));

    let pull = client.get_pull(&repo(), 7).await.unwrap();
    assert_eq!(
        (pull.head.branch.as_str(), pull.head.sha.as_str()),
        ("bump-3.1", SHA)
    );
    assert_eq!(
        pull.html_url,
        "https://git.coopcloud.example/coop-cloud/traefik/pulls/7"
    );

    let missing = client.get_pull(&repo(), 99).await.unwrap_err();
    assert_eq!(missing.status(), Some(404));
    assert!(
        missing
            .to_string()
            .contains("The target couldn't be found."),
        "{missing}"
    );
}

#[tokio::test]
async fn client_reads_recorded_comments() {
    let client = replay().await;
    let all = client
        .list_repo_comments(&repo(), None, 1, 50)
        .await
        .unwrap();
    let seen: Vec<_> = all
        .iter()
        .map(|c| {
            (
                c.id,
                c.user.login.as_str(),
                c.issue_number(),
                c.is_on_pull(),
            )
        })
        .collect();
    assert_eq!(
        seen,
        vec![
            (501, "alice", Some(7), true),
            (502, "bob", Some(8), false),
            (503, "cc-ci", Some(7), true)
        ]
    );
    // Gitea writes times in its host's zone: the instant is what counts.
    assert_eq!(all[0].created_at, datetime!(2026-11-30 17:04:05 UTC));
    assert_eq!(all[1].updated_at, datetime!(2026-11-30 17:09:41 UTC));

    let on_pull = client.list_issue_comments(&repo(), 7, None).await.unwrap();
    assert_eq!(
        on_pull.iter().map(|c| c.id).collect::<Vec<_>>(),
        vec![501, 503]
    );
    assert_eq!(on_pull[0].body, "!testme");

    let posted = client.post_comment(&repo(), 7, "⏳ queued").await.unwrap();
    assert_eq!((posted.id, posted.body.as_str()), (503, "⏳ queued"));
    let edited = client
        .edit_comment(&repo(), 503, "✅ passed")
        .await
        .unwrap();
    assert_eq!(edited.body, "✅ passed");
    assert!(edited.updated_at > edited.created_at);
}

#[tokio::test]
async fn client_reads_the_gogs_documented_comment_without_urls() {
    let client = replay().await;
    let comments = client.list_issue_comments(&repo(), 8, None).await.unwrap();
    assert_eq!(comments.len(), 1);
    let c = &comments[0];
    assert_eq!(
        (c.id, c.user.login.as_str(), c.body.as_str()),
        (74, "unknwon", "what?")
    );
    assert_eq!(c.created_at, datetime!(2016-08-26 18:58:18 UTC));
    // No URLs: the number is unknown rather than guessed.
    assert_eq!((c.issue_number(), c.is_on_pull()), (None, false));
}

#[tokio::test]
async fn client_reads_recorded_permissions_and_statuses() {
    let client = replay().await;
    assert_eq!(
        client.permission(&repo(), "alice").await.unwrap(),
        Permission::Write
    );
    let refused = client.permission(&repo(), "bob").await.unwrap_err();
    assert_eq!(refused.status(), Some(403));
    assert!(
        refused.to_string().contains("Only admins can query"),
        "{refused}"
    );

    let update = StatusUpdate {
        state: StatusState::Pending,
        context: "cc-ci".into(),
        description: "queued".into(),
        target_url: "https://ci.coopcloud.example/runs/17".into(),
    };
    let status = client.set_status(&repo(), SHA, &update).await.unwrap();
    assert_eq!((status.id, status.status), (311, StatusState::Pending));
    assert_eq!(
        (status.context.as_str(), status.target_url.as_str()),
        ("cc-ci", update.target_url.as_str())
    );
}
