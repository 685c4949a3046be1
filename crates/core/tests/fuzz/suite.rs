//! `suite.toml` and its durations.

use crate::mutate::{arbitrary_text, mutated, nasty_fragment};
use crate::{assert_specific, config};
use ccci_core::suite::{parse_duration_secs, Suite};
use proptest::prelude::*;

/// A TOML value of any type, or garbage.
fn toml_value() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<i64>().prop_map(|n| n.to_string()),
        "[0-9]{1,25}[smh]?".prop_map(|d| format!("\"{d}\"")),
        "[a-z/_ -]{0,10}".prop_map(|s| format!("\"{s}\"")),
        any::<bool>().prop_map(|b| b.to_string()),
        Just("[\"keycloak\", \"x\"]".to_string()),
        Just("{ http = \"/\", status = 70000 }".to_string()),
        Just("1.5".to_string()),
        nasty_fragment().prop_map(|s| format!("{s:?}")),
        nasty_fragment(),
    ]
}

fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec![
            "health_path", "deploy_timeout", "upgrade_base_version", "compose_overlays",
            "dependencies", "oidc_at_install", "warm", "min_uptime", "start_grace",
            "unknown_key", "",
        ])
        .prop_map(str::to_string),
        nasty_fragment(),
    ]
}

fn table() -> impl Strategy<Value = String> {
    let header = prop::sample::select(vec![
        "[expected_na]", "[backup]", "[hooks]", "[app_env]", "[oidc_env]", "[upgrade]",
        "[host_access]", "[[ready_probes]]", "[[http_checks]]", "[nope]",
    ]);
    let entry_key = prop_oneof![
        prop::sample::select(vec![
            "upgrade", "install", "lint", "verify", "attempts", "post_install", "bogus",
            "allow", "dropped_volumes", "http", "tcp", "status", "connects", "path", "issuer",
        ])
        .prop_map(str::to_string),
        nasty_fragment(),
    ];
    (header, prop::collection::vec((entry_key, toml_value()), 0..4)).prop_map(|(h, entries)| {
        let body: Vec<String> = entries.iter().map(|(k, v)| format!("{k} = {v}")).collect();
        format!("{h}\n{}\n", body.join("\n"))
    })
}

fn suite_text() -> impl Strategy<Value = String> {
    (
        prop::collection::vec((key(), toml_value()), 0..6),
        prop::collection::vec(table(), 0..4),
    )
        .prop_map(|(top, tables)| {
            let top: Vec<String> = top.iter().map(|(k, v)| format!("{k} = {v}")).collect();
            format!("{}\n{}", top.join("\n"), tables.concat())
        })
}

/// A rejection names the file, a line inside it (when it gives one) and the problem.
fn check(text: &str) {
    if let Err(e) = Suite::parse("suite.toml", text) {
        assert_eq!(e.file, "suite.toml");
        if let Some(line) = e.line {
            assert!(line >= 1 && line <= text.lines().count().max(1), "{e} in {text:?}");
        }
        assert_specific(&e.message);
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn fuzz_suite_arbitrary_text(text in arbitrary_text()) {
        check(&text);
    }

    #[test]
    fn fuzz_suite_near_valid(text in mutated(suite_text())) {
        check(&text);
    }

    #[test]
    fn fuzz_suite_duration_arbitrary(text in arbitrary_text()) {
        let _ = parse_duration_secs(&text);
    }

    /// `<n><unit>` reads as n × the unit's seconds, or not at all when that overflows.
    #[test]
    fn fuzz_suite_duration_round_trips(n in any::<u64>(), unit in prop::sample::select(vec![("", 1u64), ("s", 1), ("m", 60), ("h", 3600)])) {
        let (suffix, secs) = unit;
        prop_assert_eq!(parse_duration_secs(&format!("{n}{suffix}")), n.checked_mul(secs));
    }
}
