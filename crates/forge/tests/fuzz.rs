//! Property-based fuzzing of the forge's untrusted-input parsers (issue 10): the `!testme`
//! comment parser and the webhook's signature check and `issue_comment` payload. Anyone who
//! can comment on a PR, or reach the webhook URL, chooses these bytes.
//!
//! Properties: never panics; a rejection is a specific error (the trigger's is the bot's
//! reply, so it must name what is wrong); accepted input round-trips. Case counts come from
//! `PROPTEST_CASES` (default [`DEFAULT_CASES`]: the short form CI runs); `benches/fuzz.sh`
//! runs the long form. Tests are named `fuzz_<parser>_…`.

use ccci_core::ladder::Rung;
use ccci_core::secret::Secret;
use ccci_forge::webhook::{
    parse_issue_comment, sign, verify_signature, DeliveryId, WebhookSecrets,
};
use ccci_forge::{
    approved_commit, parse_command, parse_trigger, Approval, ApprovalFacts, Command, PushRecord,
    RepoName, Trigger,
};
use proptest::prelude::*;
use proptest::test_runner::Config;
use serde_json::{json, Value};

/// Cases per property test when `PROPTEST_CASES` is not set.
const DEFAULT_CASES: u32 = 2_000;

fn config() -> Config {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(DEFAULT_CASES);
    Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    }
}

fn nasty_fragment() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec![
            "!testme",
            "--",
            "--stages",
            "--stages=",
            ",",
            "=",
            "```",
            "~~~",
            ">",
            "    ",
            "\t",
            "\n",
            "\r\n",
            "\0",
            "\u{a0}",
            "\u{2028}",
            "\u{3000}",
            "é",
            "🦀",
            "\u{202e}",
            "-",
            "{",
            "}",
            "[",
            "]",
            "\"",
            "\\",
            "18446744073709551616",
            "-1",
            "null",
            "1e400",
        ])
        .prop_map(str::to_string),
        any::<char>().prop_map(String::from),
        (1usize..10_000).prop_map(|n| "x".repeat(n)),
    ]
}

fn arbitrary_text() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        prop::collection::vec(nasty_fragment(), 0..30).prop_map(|p| p.concat()),
    ]
}

/// A stage word as users write it, or a wrong one.
fn stage_word() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(Rung::ALL.map(Rung::name).to_vec()).prop_map(str::to_string),
        Just("backup-restore".to_string()),
        Just(String::new()),
        nasty_fragment(),
    ]
}

/// A `!testme` line: known flags, unknown ones, values where none belong, stage lists.
fn command_line() -> impl Strategy<Value = String> {
    let token = prop_oneof![
        prop::sample::select(vec![
            "--quick",
            "--extra",
            "--quick=1",
            "--stages",
            "--keep",
            "--keep=20m",
            "--keep=3h",
            "--keep=`",
            "--sha",
            "--sha=4F1C9A3",
            "4f1c9a3e2b",
            "--sha=main",
            "1h",
            "15m",
            "--nope",
            "quick",
            "-q",
            "cancel"
        ])
        .prop_map(str::to_string),
        prop::collection::vec(stage_word(), 0..4).prop_map(|s| format!("--stages={}", s.join(","))),
        prop::collection::vec(stage_word(), 0..4).prop_map(|s| s.join(", ")),
        nasty_fragment(),
    ];
    (prop::collection::vec(token, 0..6), "[ \t]{0,3}")
        .prop_map(|(tokens, indent)| format!("{indent}!testme {}", tokens.join(" ")))
}

/// A comment body: prose, fences, quotes and indented code around `!testme` lines.
fn comment_body() -> impl Strategy<Value = String> {
    let line = prop_oneof![
        3 => command_line(),
        1 => prop::sample::select(vec!["```", "~~~~", "```rust", "> !testme", "    !testme", "LGTM"]).prop_map(str::to_string),
        1 => arbitrary_text(),
    ];
    prop::collection::vec(line, 0..6).prop_map(|lines| lines.join("\n"))
}

/// The `!testme` line that asks for `trigger`.
fn command_for(trigger: &Trigger) -> String {
    let mut line = String::from("!testme");
    if trigger.quick {
        line.push_str(" --quick");
    }
    if trigger.extra {
        line.push_str(" --extra");
    }
    if let Some(stages) = &trigger.stages {
        let names: Vec<&str> = stages.iter().map(|r| r.name()).collect();
        line.push_str(&format!(" --stages {}", names.join(",")));
    }
    if let Some(keep) = trigger.keep {
        line.push_str(&format!(" --keep {}", ccci_core::keep::format_keep(keep)));
    }
    if let Some(sha) = &trigger.sha {
        line.push_str(&format!(" --sha {sha}"));
    }
    line
}

/// Parses `body`; a rejection (the bot's reply) names the offending word or the flag's
/// form, an accepted command written back parses to the same trigger, and a cancel is
/// never a run.
fn check_trigger(body: &str) {
    match parse_command(body) {
        Ok(Some(Command::Run(trigger))) => {
            let again = parse_trigger(&command_for(&trigger));
            assert_eq!(again, Ok(Some(trigger)), "from {body:?}");
        }
        Ok(Some(Command::Cancel)) => {
            assert_eq!(parse_trigger(body), Ok(None), "{body:?}");
            assert_eq!(parse_command("!testme cancel"), Ok(Some(Command::Cancel)));
        }
        Ok(None) => {}
        Err(e) => {
            // The reply is posted as a PR comment: specific, short, its quoted word inert.
            let reply = e.to_string();
            assert!(
                reply.contains('`') && reply.len() > 10 && reply.chars().count() < 200,
                "reply {reply:?} to {body:?}"
            );
            assert_eq!(reply.matches('`').count() % 2, 0, "{reply:?}");
        }
    }
}

fn trigger() -> impl Strategy<Value = Trigger> {
    let stages = prop::option::of(
        prop::sample::subsequence(Rung::SELECTABLE.to_vec(), 1..=Rung::SELECTABLE.len())
            .prop_shuffle(),
    );
    let keep = prop::option::of((1u64..=7200).prop_map(std::time::Duration::from_secs));
    let sha = prop::option::of("[0-9a-f]{7,40}");
    (any::<bool>(), any::<bool>(), stages, keep, sha).prop_map(
        |(quick, extra, stages, keep, sha)| Trigger {
            quick,
            extra,
            stages,
            keep,
            sha,
        },
    )
}

/// A valid `issue_comment` payload.
fn payload(number: u64, body: &str, full_name: &str) -> Value {
    json!({
        "action": "created",
        "is_pull": true,
        "issue": {"id": 9, "number": number, "pull_request": {"merged": false}},
        "pull_request": {"head": {"ref": "fix", "sha": "abc123", "label": "fix"}},
        "comment": {"id": 42, "body": body, "user": {"id": 3, "login": "alice"},
            "created_at": "2024-05-01T12:00:00Z", "updated_at": "2024-05-01T12:00:00Z"},
        "repository": {"full_name": full_name},
        "sender": {"id": 3, "login": "alice"}
    })
}

/// Any JSON value, including deep nesting and numbers no field holds.
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        arbitrary_text().prop_map(Value::from),
    ];
    leaf.prop_recursive(6, 64, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..8).prop_map(Value::from),
            prop::collection::btree_map("[a-z_]{0,8}", inner, 0..8)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// The paths of a payload's fields a mutation may replace or remove.
const FIELDS: &[&[&str]] = &[
    &["action"],
    &["is_pull"],
    &["issue"],
    &["issue", "number"],
    &["issue", "pull_request"],
    &["pull_request"],
    &["pull_request", "head"],
    &["pull_request", "head", "sha"],
    &["comment"],
    &["comment", "id"],
    &["comment", "body"],
    &["comment", "user"],
    &["comment", "created_at"],
    &["repository", "full_name"],
    &["sender"],
    &["sender", "login"],
];

/// A valid payload with some fields replaced by arbitrary JSON or removed.
fn near_valid_payload() -> impl Strategy<Value = Vec<u8>> {
    let edit = (
        prop::sample::select(FIELDS.to_vec()),
        prop::option::of(json_value()),
    );
    (
        any::<u64>(),
        arbitrary_text(),
        prop::collection::vec(edit, 0..4),
        0usize..4,
    )
        .prop_map(|(number, body, edits, deep)| {
            let mut doc = payload(number, &body, "owner/repo");
            for (path, value) in edits {
                replace(&mut doc, path, value);
            }
            let mut text = doc.to_string().into_bytes();
            if deep > 2 {
                // Nesting past serde_json's recursion limit.
                text = format!("{}{}", "[".repeat(200), "]".repeat(200)).into_bytes();
            }
            text
        })
}

fn replace(doc: &mut Value, path: &[&str], value: Option<Value>) {
    let (last, parents) = path.split_last().expect("paths are not empty");
    let Some(parent) = parents.iter().try_fold(doc, |v, key| v.get_mut(*key)) else {
        return;
    };
    if let Some(object) = parent.as_object_mut() {
        match value {
            Some(v) => object.insert(last.to_string(), v),
            None => object.remove(*last),
        };
    }
}

/// A rejected payload says so and why; an accepted one holds what was sent.
fn check_payload(body: &[u8]) {
    match parse_issue_comment(body) {
        Ok(event) => {
            assert!(!event.repo.full_name().is_empty());
            let again = RepoName::parse(&event.repo.full_name()).unwrap();
            assert_eq!(again, event.repo);
        }
        Err(e) => {
            let message = e.to_string();
            let why = message
                .strip_prefix("issue_comment payload: ")
                .unwrap_or("");
            assert!(!why.trim().is_empty(), "vague error {message:?}");
        }
    }
}

fn secrets() -> WebhookSecrets {
    WebhookSecrets {
        current: Secret::new("s3cret-current"),
        previous: Some(Secret::new("old")),
    }
}

/// Commits for the approval property: two share their first seven digits.
const COMMITS: [&str; 4] = [
    "aaaaaaa1aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
    "aaaaaaa2aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
    "bbbbbbb3bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb",
    "ccccccc4cccccccccccccccccccccccccccccccc",
];
const COMMENT_ID: u64 = 500;
const COMMENT_AT: i64 = 1_714_564_800;

fn commit() -> impl Strategy<Value = String> {
    prop::sample::select(COMMITS.to_vec()).prop_map(str::to_string)
}

/// Pushes around the comment: ids and seconds on both sides of it, fast-forwards and force
/// pushes.
fn pushes() -> impl Strategy<Value = Vec<PushRecord>> {
    let push = (
        490u64..510,
        -3i64..3,
        prop::collection::vec(commit(), 0..3),
        any::<bool>(),
    )
        .prop_map(|(id, seconds, commit_ids, force)| PushRecord {
            id,
            at: time::OffsetDateTime::from_unix_timestamp(COMMENT_AT + seconds).unwrap(),
            commit_ids,
            force,
        });
    prop::collection::vec(push, 0..5)
}

/// What `--sha` may say: a prefix (7, 8 digits) or the whole id of a commit, or none of them.
fn named() -> impl Strategy<Value = Option<String>> {
    prop::option::of(prop_oneof![
        (commit(), prop::sample::select(vec![7usize, 8, 40])).prop_map(|(c, n)| c[..n].to_string()),
        Just("ddddddd".to_string()),
    ])
}

/// Whatever the facts, a `!testme` tests only a commit it approved (docs/behaviour.md §2).
fn check_approval(
    pushes: Option<&[PushRecord]>,
    current: &str,
    delivered: Option<&str>,
    named: Option<&str>,
) {
    let comment_at = time::OffsetDateTime::from_unix_timestamp(COMMENT_AT).unwrap();
    let facts = ApprovalFacts {
        comment_id: COMMENT_ID,
        comment_at,
        pushes,
        current_head: current,
        delivered_head: delivered,
        named,
    };
    let Approval::Test(tested) = approved_commit(&facts) else {
        return;
    };
    let before = |p: &&PushRecord| (p.at, p.id) < (comment_at, COMMENT_ID);
    let all = pushes.unwrap_or_default();
    let later: Vec<&PushRecord> = all.iter().filter(|p| !before(p)).collect();
    let Some(named) = named else {
        // The head, proven unmoved: no push after the comment, the record's and the
        // delivery's heads are the head, and without a record a delivery vouches for it.
        assert_eq!(tested, current);
        assert!(later.is_empty(), "{facts:?}");
        let last = all.iter().filter(before).max_by_key(|p| (p.at, p.id));
        assert!(
            last.is_none_or(|p| p.new_head() == Some(current)),
            "{facts:?}"
        );
        assert!(delivered.is_none_or(|d| d == current), "{facts:?}");
        assert!(pushes.is_some() || delivered == Some(current), "{facts:?}");
        return;
    };
    assert!(tested.starts_with(named), "{facts:?}");
    let known = all.iter().flat_map(|p| &p.commit_ids).any(|c| *c == tested)
        || tested == current
        || delivered == Some(tested.as_str());
    assert!(known, "tested {tested}, not a commit of the PR: {facts:?}");
    if named.len() < 40 && !later.is_empty() && delivered != Some(tested.as_str()) {
        // A short id after the head moved: a commit that existed at the comment.
        let in_before = all
            .iter()
            .filter(before)
            .any(|p| p.commit_ids.contains(&tested));
        let replaced = later
            .iter()
            .min_by_key(|p| (p.at, p.id))
            .filter(|p| p.force && p.commit_ids.len() == 2)
            .is_some_and(|p| p.commit_ids[0] == tested);
        assert!(
            in_before || replaced,
            "tested {tested} pushed after: {facts:?}"
        );
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn fuzz_approval_tests_only_an_approved_commit(
        pushes in prop::option::of(pushes()),
        current in commit(),
        delivered in prop::option::of(commit()),
        named in named(),
    ) {
        check_approval(pushes.as_deref(), &current, delivered.as_deref(), named.as_deref());
    }

    #[test]
    fn fuzz_trigger_arbitrary_text(body in arbitrary_text()) {
        check_trigger(&body);
    }

    #[test]
    fn fuzz_trigger_near_valid(body in comment_body()) {
        check_trigger(&body);
    }

    /// Every trigger the bot can start has a command line that asks for exactly it.
    #[test]
    fn fuzz_trigger_round_trips(trigger in trigger(), prose in "[a-zA-Z .,]{0,40}") {
        let body = format!("{prose}\n{}\n", command_for(&trigger));
        prop_assert_eq!(parse_trigger(&body), Ok(Some(trigger)));
    }

    #[test]
    fn fuzz_webhook_payload_arbitrary_bytes(body in prop_oneof![
        any::<Vec<u8>>(),
        arbitrary_text().prop_map(String::into_bytes),
        json_value().prop_map(|v| v.to_string().into_bytes()),
    ]) {
        check_payload(&body);
    }

    #[test]
    fn fuzz_webhook_payload_near_valid(body in near_valid_payload()) {
        check_payload(&body);
    }

    /// A payload that is valid but for its text fields parses to what was sent.
    #[test]
    fn fuzz_webhook_payload_round_trips(number in any::<u64>(), text in arbitrary_text()) {
        let event = parse_issue_comment(payload(number, &text, "o/r").to_string().as_bytes()).unwrap();
        prop_assert!(event.is_new_pr_comment());
        prop_assert_eq!(event.issue_number, number);
        prop_assert_eq!(event.comment.body, text);
    }

    /// Arbitrary signature headers and delivery ids never panic; only the right signature
    /// of the exact body verifies.
    #[test]
    fn fuzz_webhook_signature(body in any::<Vec<u8>>(), header in prop::option::of(arbitrary_text()), delivery in prop::option::of(arbitrary_text())) {
        let secrets = secrets();
        if let Err(e) = verify_signature(&secrets, &body, header.as_deref()) {
            prop_assert!(e.to_string().contains("X-Gitea-Signature"));
        }
        let good = sign(&secrets.current, &body);
        prop_assert_eq!(verify_signature(&secrets, &body, Some(&good)), Ok(()));
        let mut other = body.clone();
        other.push(b'x');
        prop_assert!(verify_signature(&secrets, &other, Some(&good)).is_err());
        if let Some(id) = DeliveryId::from_header(delivery.as_deref()) {
            prop_assert!(id.0.len() <= 128 && !id.0.chars().any(char::is_control));
        }
    }
}
