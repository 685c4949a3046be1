//! The forge client, the poller and webhook deliveries against the Gitea stand-in (Gitea
//! itself cannot run here; the stand-in implements the routes cc-ci uses from Gitea's API).

use ccci_core::secret::Secret;
use ccci_forge::gitea_standin::{Standin, WebhookDelivery};
use ccci_forge::poll::{poll_new_comments, PollCursor};
use ccci_forge::webhook::{self, verify_and_parse, WebhookEvent, WebhookHeaders, WebhookSecrets};
use ccci_forge::{
    decide, Decision, GiteaClient, Permission, RepoName, StatusState, StatusUpdate, TrustPolicy,
};
use std::collections::BTreeSet;
use std::time::Duration;
use time::OffsetDateTime;

const BOT_TOKEN: &str = "bot-token-0123456789";

/// A stand-in with repo `coop-cloud/traefik`, the bot `cc-ci` (admin, so it may read others'
/// permissions), and a client holding the bot's token.
async fn setup() -> (Standin, GiteaClient, RepoName) {
    let standin = Standin::start().await.expect("stand-in starts");
    standin.add_token(BOT_TOKEN, "cc-ci");
    let repo = standin.add_repo("coop-cloud/traefik").unwrap();
    standin.set_permission(&repo, "cc-ci", Permission::Admin);
    let client = GiteaClient::new(
        &standin.base_url(),
        Secret::new(BOT_TOKEN),
        Duration::from_secs(5),
    )
    .unwrap();
    (standin, client, repo)
}

fn minutes_ago(m: i64) -> OffsetDateTime {
    OffsetDateTime::now_utc() - time::Duration::minutes(m)
}

#[tokio::test]
async fn standin_lists_open_pulls_and_follows_a_new_head() {
    let (standin, client, repo) = setup().await;
    let a = standin.open_pull(&repo, "fix-a", "aaaa111");
    let b = standin.open_pull(&repo, "fix-b", "bbbb222");
    let _issue = standin.open_issue(&repo, "a bug");
    standin.close(&repo, b);

    let open = client.list_open_pulls(&repo).await.unwrap();
    assert_eq!(open.iter().map(|p| p.number).collect::<Vec<_>>(), vec![a]);
    assert_eq!(open[0].head.sha, "aaaa111");
    assert_eq!(open[0].head.branch, "fix-a");

    standin.push_head(&repo, a, "aaaa333");
    assert_eq!(client.get_pull(&repo, a).await.unwrap().head.sha, "aaaa333");
    assert!(!client.get_pull(&repo, b).await.unwrap().is_open());
    let missing = client.get_pull(&repo, 99).await.unwrap_err();
    assert_eq!(missing.status(), Some(404));
}

/// The push record cc-ci reads: every push, in order, paged through; a record the forge
/// will not show (404, 403) is `None`, any other failure an error to retry.
#[tokio::test]
async fn standin_timeline_records_each_push_and_the_client_reads_it() {
    let (standin, client, repo) = setup().await;
    let pr = standin.open_pull(&repo, "fix", "aaaa111");
    let testme = standin.add_comment_at(&repo, pr, "alice", "!testme", minutes_ago(3));
    for i in 0..60 {
        standin.add_comment_at(&repo, pr, "bob", &format!("chatter {i}"), minutes_ago(2));
    }
    let first = standin.push_head_at(&repo, pr, "bbbb222", minutes_ago(1));
    let second = standin.push_head(&repo, pr, "cccc333");
    assert!(testme < first && first < second, "one id sequence");

    let page = client.list_timeline(&repo, pr, 1, 50).await.unwrap();
    assert_eq!(page.len(), 50);
    assert_eq!((page[0].id, page[0].kind.as_str()), (testme, "comment"));
    let pushes = client.pull_pushes(&repo, pr).await.unwrap().unwrap();
    let heads: Vec<_> = pushes.iter().map(|p| (p.id, p.new_head())).collect();
    assert_eq!(
        heads,
        [(first, Some("bbbb222")), (second, Some("cccc333"))],
        "both pushes, the second on the second page"
    );
    standin.force_push_head_at(&repo, pr, "dddd444", OffsetDateTime::now_utc());
    let pushes = client.pull_pushes(&repo, pr).await.unwrap().unwrap();
    let forced = pushes.last().unwrap();
    assert!(forced.force);
    assert_eq!(
        forced.commit_ids,
        ["cccc333", "dddd444"],
        "[old head, new head]"
    );
    assert_eq!(client.pull_pushes(&repo, 99).await.unwrap(), None);
    standin.fail_next_requests(403, 1);
    assert_eq!(client.pull_pushes(&repo, pr).await.unwrap(), None);
    standin.fail_next_requests(500, 1);
    let error = client.pull_pushes(&repo, pr).await.unwrap_err();
    assert_eq!(error.status(), Some(500));
    assert!(error.to_string().contains("/timeline"), "{error}");
}

#[tokio::test]
async fn standin_posts_lists_and_edits_comments() {
    let (standin, client, repo) = setup().await;
    let pr = standin.open_pull(&repo, "fix", "abc");
    standin.add_comment(&repo, pr, "alice", "!testme");

    let posted = client
        .post_comment(&repo, pr, "queued behind run 3")
        .await
        .unwrap();
    assert_eq!(posted.user.login, "cc-ci");
    assert_eq!(posted.issue_number(), Some(pr));
    assert!(posted.is_on_pull());

    let edited = client
        .edit_comment(&repo, posted.id, "running")
        .await
        .unwrap();
    assert_eq!(edited.id, posted.id);
    assert_eq!(edited.body, "running");

    let listed = client.list_issue_comments(&repo, pr, None).await.unwrap();
    let bodies: Vec<_> = listed.iter().map(|c| c.body.as_str()).collect();
    assert_eq!(bodies, vec!["!testme", "running"]);
    let repo_wide = client
        .list_repo_comments(&repo, Some(minutes_ago(5)), 1, 50)
        .await
        .unwrap();
    assert_eq!(repo_wide.len(), 2);

    let edits = standin.edits();
    assert_eq!(edits.len(), 1);
    assert_eq!(
        (
            edits[0].by.as_str(),
            edits[0].old_body.as_str(),
            edits[0].new_body.as_str()
        ),
        ("cc-ci", "queued behind run 3", "running")
    );
    // Someone else's comment can't be edited by a token without write access.
    standin.add_token("eve-token-000000", "eve");
    let eve = GiteaClient::new(
        &standin.base_url(),
        Secret::new("eve-token-000000"),
        Duration::from_secs(5),
    )
    .unwrap();
    let denied = eve
        .edit_comment(&repo, posted.id, "pwned")
        .await
        .unwrap_err();
    assert_eq!(denied.status(), Some(403));
}

#[tokio::test]
async fn standin_sets_commit_statuses_with_a_target_url() {
    let (standin, client, repo) = setup().await;
    let pr = standin.open_pull(&repo, "fix", "c0ffee");
    for (state, description) in [
        (StatusState::Pending, "queued"),
        (StatusState::Success, "green, L4"),
    ] {
        let status = client
            .set_status(
                &repo,
                "c0ffee",
                &StatusUpdate {
                    state,
                    context: "cc-ci".into(),
                    description: description.into(),
                    target_url: "https://ci.example/runs/7".into(),
                },
            )
            .await
            .unwrap();
        assert_eq!(status.status, state);
        assert_eq!(status.target_url, "https://ci.example/runs/7");
    }
    let statuses = standin.statuses(&repo, &standin.head(&repo, pr).unwrap());
    let seen: Vec<_> = statuses
        .iter()
        .map(|s| (s.state.as_str(), s.context.as_str(), s.creator.as_str()))
        .collect();
    assert_eq!(
        seen,
        vec![("pending", "cc-ci", "cc-ci"), ("success", "cc-ci", "cc-ci")]
    );
}

#[tokio::test]
async fn standin_reports_permissions_and_gitea_403_rule() {
    let (standin, client, repo) = setup().await;
    standin.set_permission(&repo, "maintainer", Permission::Write);
    standin.add_token("nobody-token-0000", "passerby");
    let rows = [
        ("maintainer", Permission::Write),
        ("coop-cloud", Permission::Owner),
        ("cc-ci", Permission::Admin),
        ("passerby", Permission::Read),
    ];
    for (user, want) in rows {
        assert_eq!(
            client.permission(&repo, user).await.unwrap(),
            want,
            "{user}"
        );
    }
    let unknown = client.permission(&repo, "ghost").await.unwrap_err();
    assert_eq!(unknown.status(), Some(404));

    // A token without repo admin may only ask about itself, as in Gitea.
    let weak = GiteaClient::new(
        &standin.base_url(),
        Secret::new("nobody-token-0000"),
        Duration::from_secs(5),
    )
    .unwrap();
    assert_eq!(
        weak.permission(&repo, "passerby").await.unwrap(),
        Permission::Read
    );
    let forbidden = weak.permission(&repo, "maintainer").await.unwrap_err();
    assert_eq!(forbidden.status(), Some(403));
}

#[tokio::test]
async fn standin_errors_name_the_endpoint_and_status_but_never_the_token() {
    let (standin, client, repo) = setup().await;
    standin.fail_next_requests(502, 1);
    let err = client.list_open_pulls(&repo).await.unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("GET /repos/coop-cloud/traefik/pulls"),
        "{text}"
    );
    assert!(text.contains("HTTP 502"), "{text}");

    let wrong = GiteaClient::new(
        &standin.base_url(),
        Secret::new("wrong-token-987654"),
        Duration::from_secs(5),
    )
    .unwrap();
    let err = wrong.get_pull(&repo, 1).await.unwrap_err();
    assert_eq!(err.status(), Some(401));
    for shown in [err.to_string(), format!("{err:?}"), format!("{wrong:?}")] {
        assert!(!shown.contains("wrong-token-987654"), "{shown}");
    }
    // The token went in the header: the stand-in accepted the good one above.
    assert!(standin.requests().iter().all(|r| !r.contains(BOT_TOKEN)));
}

#[tokio::test]
async fn client_request_times_out_against_a_silent_server() {
    // Accepts connections and never answers.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let hold = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    let client = GiteaClient::new(
        &format!("http://{addr}"),
        Secret::new("t-123456"),
        Duration::from_millis(300),
    )
    .unwrap();
    let repo = RepoName::parse("o/r").unwrap();
    let started = std::time::Instant::now();
    let err = client.get_pull(&repo, 1).await.unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(5));
    assert!(err.to_string().contains("no answer within"), "{err}");
    hold.abort();
}

/// Polls once and returns the comment ids (asserting no error).
async fn poll_ids(
    client: &GiteaClient,
    repos: &[RepoName],
    cursor: &PollCursor,
    start: OffsetDateTime,
) -> (Vec<u64>, PollCursor) {
    let outcome = poll_new_comments(client, repos, cursor, start).await;
    assert!(outcome.errors.is_empty(), "{:?}", outcome.errors);
    let ids = outcome.comments.iter().map(|c| c.comment.id).collect();
    (ids, outcome.cursor)
}

#[tokio::test]
async fn standin_poll_returns_new_pr_comments_once_with_the_head() {
    let (standin, client, repo) = setup().await;
    let start = minutes_ago(1);
    let old = standin.open_pull(&repo, "old", "0001");
    standin.add_comment_at(&repo, old, "alice", "!testme", minutes_ago(30));
    let pr = standin.open_pull(&repo, "fix", "f00d");
    let issue = standin.open_issue(&repo, "bug");
    let closed = standin.open_pull(&repo, "gone", "dead");

    let c1 = standin.add_comment(&repo, pr, "alice", "!testme --quick");
    standin.add_comment(&repo, issue, "alice", "!testme");
    standin.add_comment(&repo, closed, "alice", "!testme");
    standin.close(&repo, closed);
    let c2 = standin.add_comment(&repo, pr, "cc-ci", "queued");

    let outcome = poll_new_comments(
        &client,
        std::slice::from_ref(&repo),
        &PollCursor::default(),
        start,
    )
    .await;
    assert!(outcome.errors.is_empty());
    let got: Vec<_> = outcome
        .comments
        .iter()
        .map(|c| (c.comment.id, c.pr_number, c.head_sha.as_str()))
        .collect();
    assert_eq!(got, vec![(c1, pr, "f00d"), (c2, pr, "f00d")]);

    // What the service then decides: the bot's own comment is ignored.
    let policy = TrustPolicy {
        bot_login: "cc-ci".into(),
        allow_list: vec![],
    };
    let decisions: Vec<_> = outcome
        .comments
        .iter()
        .map(|c| {
            decide(
                &policy,
                &c.comment.user.login,
                &c.comment.body,
                Some(Permission::Write),
                false,
            )
        })
        .collect();
    assert!(matches!(decisions[0], Decision::Run(ref t) if t.quick));
    assert!(matches!(decisions[1], Decision::Ignore(_)));

    // Editing an old comment, or the new one, does not bring it back.
    standin.edit_comment_in_ui(c1, "!testme --extra");
    let (again, _) = poll_ids(&client, std::slice::from_ref(&repo), &outcome.cursor, start).await;
    assert!(again.is_empty(), "{again:?}");
}

#[tokio::test]
async fn standin_poll_restart_in_the_middle_repeats_none_and_loses_none() {
    let (standin, client, repo) = setup().await;
    let other = standin.add_repo("coop-cloud/keycloak").unwrap();
    let repos = vec![repo.clone(), other.clone()];
    let start = minutes_ago(10);
    let pr = standin.open_pull(&repo, "fix", "1111");
    let pr2 = standin.open_pull(&other, "fix", "2222");

    // The service's durable state: the queue (keyed by repo and comment id, as the cursor
    // contract asks) and the persisted cursor, as JSON.
    let mut queue: BTreeSet<(String, u64)> = BTreeSet::new();
    let mut persisted = serde_json::to_string(&PollCursor::default()).unwrap();
    let mut expected = BTreeSet::new();
    let mut deliveries = 0usize;

    // Round 1: more than one page of comments (Gitea pages at 50).
    for i in 0..120 {
        let (r, n) = if i % 3 == 0 {
            (&other, pr2)
        } else {
            (&repo, pr)
        };
        let id = standin.add_comment(r, n, "alice", &format!("comment {i}"));
        expected.insert((r.full_name(), id));
    }
    let cursor: PollCursor = serde_json::from_str(&persisted).unwrap();
    let outcome = poll_new_comments(&client, &repos, &cursor, start).await;
    assert!(outcome.errors.is_empty());
    for c in &outcome.comments {
        assert!(queue.insert((c.repo.full_name(), c.comment.id)), "repeated");
        deliveries += 1;
    }
    persisted = serde_json::to_string(&outcome.cursor).unwrap();
    assert_eq!(queue, expected);

    // Round 2: new comments, one of them committed late with an older timestamp; then the
    // service crashes after queueing and before persisting the cursor.
    let late = standin.add_comment_at(&repo, pr, "bob", "late", minutes_ago(1));
    let fresh = standin.add_comment(&other, pr2, "bob", "fresh");
    expected.insert((repo.full_name(), late));
    expected.insert((other.full_name(), fresh));
    let cursor: PollCursor = serde_json::from_str(&persisted).unwrap();
    let crashed = poll_new_comments(&client, &repos, &cursor, start).await;
    let crashed_ids: BTreeSet<u64> = crashed.comments.iter().map(|c| c.comment.id).collect();
    assert_eq!(crashed_ids, BTreeSet::from([late, fresh]));
    for c in &crashed.comments {
        queue.insert((c.repo.full_name(), c.comment.id));
    }
    drop(crashed); // cursor lost with the process

    // Restart: a new client, the cursor read back from disk. The crash window comes back
    // once (the queue's key absorbs it), plus what arrived while down; nothing else.
    let while_down = standin.add_comment(&repo, pr, "carol", "!testme");
    expected.insert((repo.full_name(), while_down));
    let client = GiteaClient::new(
        &standin.base_url(),
        Secret::new(BOT_TOKEN),
        Duration::from_secs(5),
    )
    .unwrap();
    let cursor: PollCursor = serde_json::from_str(&persisted).unwrap();
    let (ids, next) = poll_ids(&client, &repos, &cursor, start).await;
    assert_eq!(
        ids.iter().copied().collect::<BTreeSet<_>>(),
        BTreeSet::from([late, fresh, while_down])
    );
    for (r, id) in ids.iter().map(|id| {
        let r = if *id == fresh { &other } else { &repo };
        (r.full_name(), *id)
    }) {
        queue.insert((r, id));
    }
    persisted = serde_json::to_string(&next).unwrap();

    // Clean restart after persisting: nothing repeats; later comments still arrive.
    let cursor: PollCursor = serde_json::from_str(&persisted).unwrap();
    let (ids, next) = poll_ids(&client, &repos, &cursor, start).await;
    assert!(ids.is_empty(), "{ids:?}");
    let last = standin.add_comment(&other, pr2, "dave", "last");
    expected.insert((other.full_name(), last));
    let (ids, _) = poll_ids(&client, &repos, &next, start).await;
    assert_eq!(ids, vec![last]);
    queue.insert((other.full_name(), last));

    assert_eq!(queue, expected, "every comment queued exactly once");
    assert_eq!(deliveries, 120);
}

#[tokio::test]
async fn standin_poll_keeps_the_cursor_of_a_repo_that_failed() {
    let (standin, client, repo) = setup().await;
    let start = minutes_ago(1);
    let pr = standin.open_pull(&repo, "fix", "abc");
    let id = standin.add_comment(&repo, pr, "alice", "!testme");
    standin.fail_next_requests(500, 1);
    let failed = poll_new_comments(
        &client,
        std::slice::from_ref(&repo),
        &PollCursor::default(),
        start,
    )
    .await;
    assert_eq!(failed.errors.len(), 1);
    assert!(failed.comments.is_empty());
    assert_eq!(failed.cursor, PollCursor::default());
    let (ids, _) = poll_ids(&client, &[repo], &failed.cursor, start).await;
    assert_eq!(ids, vec![id]);
}

#[tokio::test]
async fn standin_webhook_delivery_verifies_with_either_secret_and_rejects_tampering() {
    let (standin, _client, repo) = setup().await;
    let pr = standin.open_pull(&repo, "fix", "beef");
    let id = standin.add_comment(&repo, pr, "alice", "!testme --stages install");
    let current = Secret::new("hook-secret-new");
    let previous = Secret::new("hook-secret-old");
    let secrets = WebhookSecrets {
        current: current.clone(),
        previous: Some(previous.clone()),
    };
    let header = |d: &WebhookDelivery, name: &str| {
        d.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.clone())
    };

    for signer in [&current, &previous] {
        let d = standin.issue_comment_delivery(id, signer).unwrap();
        let (sig, event, delivery) = (
            header(&d, webhook::SIGNATURE_HEADER),
            header(&d, webhook::EVENT_HEADER),
            header(&d, webhook::DELIVERY_HEADER),
        );
        let headers = WebhookHeaders {
            signature: sig.as_deref(),
            event: event.as_deref(),
            delivery: delivery.as_deref(),
        };
        let (delivery, event) = verify_and_parse(&secrets, headers, &d.body).unwrap();
        assert!(delivery.is_some());
        let WebhookEvent::IssueComment(event) = event else {
            panic!("{event:?}")
        };
        assert!(event.is_new_pr_comment());
        assert_eq!((event.repo.clone(), event.issue_number), (repo.clone(), pr));
        assert_eq!(event.comment.id, id);
        assert_eq!(event.head_sha.as_deref(), Some("beef"));

        let mut tampered = d.body.clone();
        let at = tampered.len() / 2;
        tampered[at] ^= 0x20;
        let rejected = verify_and_parse(&secrets, headers, &tampered);
        assert!(matches!(rejected, Err(webhook::WebhookError::Signature(_))));
    }
    let stranger = standin
        .issue_comment_delivery(id, &Secret::new("not-ours-at-all"))
        .unwrap();
    let sig = header(&stranger, webhook::SIGNATURE_HEADER);
    let headers = WebhookHeaders {
        signature: sig.as_deref(),
        event: Some("issue_comment"),
        delivery: None,
    };
    assert!(verify_and_parse(&secrets, headers, &stranger.body).is_err());
}
