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
            "health_path",
            "deploy_timeout",
            "upgrade_base_version",
            "compose_overlays",
            "dependencies",
            "oidc_at_install",
            "warm",
            "min_uptime",
            "start_grace",
            "unknown_key",
            "",
        ])
        .prop_map(str::to_string),
        nasty_fragment(),
    ]
}

fn table() -> impl Strategy<Value = String> {
    let header = prop::sample::select(vec![
        "[expected_na]",
        "[backup]",
        "[hooks]",
        "[app_env]",
        "[oidc_env]",
        "[upgrade]",
        "[host_access]",
        "[[ready_probes]]",
        "[[http_checks]]",
        "[nope]",
    ]);
    let entry_key = prop_oneof![
        prop::sample::select(vec![
            "upgrade",
            "install",
            "lint",
            "verify",
            "attempts",
            "post_install",
            "bogus",
            "allow",
            "dropped_volumes",
            "http",
            "tcp",
            "status",
            "connects",
            "path",
            "issuer",
        ])
        .prop_map(str::to_string),
        nasty_fragment(),
    ];
    (
        header,
        prop::collection::vec((entry_key, toml_value()), 0..4),
    )
        .prop_map(|(h, entries)| {
            let body: Vec<String> = entries.iter().map(|(k, v)| format!("{k} = {v}")).collect();
            format!("{h}\n{}\n", body.join("\n"))
        })
}

/// The top-level keys, each with a value of its type (or, now and then, of any type).
fn top_level() -> impl Strategy<Value = String> {
    let typed =
        |valid: BoxedStrategy<String>| prop::option::of(prop_oneof![8 => valid, 1 => toml_value()]);
    (
        typed("/[a-z/]{0,8}".prop_map(|p| format!("{p:?}")).boxed()),
        typed(
            prop_oneof![
                (1u64..100_000).prop_map(|n| n.to_string()),
                "[1-9][0-9]{0,3}[smh]".prop_map(|d| format!("{d:?}"))
            ]
            .boxed(),
        ),
        typed("[0-9.+a-z]{1,12}".prop_map(|v| format!("{v:?}")).boxed()),
        typed(Just("[\"compose.extra.yml\"]".to_string()).boxed()),
        typed(any::<bool>().prop_map(|b| b.to_string()).boxed()),
        typed((0u64..1000).prop_map(|n| n.to_string()).boxed()),
    )
        .prop_map(|(health, timeout, base, overlays, warm, uptime)| {
            [
                health.map(|v| format!("health_path = {v}")),
                timeout.map(|v| format!("deploy_timeout = {v}")),
                base.map(|v| format!("upgrade_base_version = {v}")),
                overlays.map(|v| format!("compose_overlays = {v}")),
                warm.map(|v| format!("warm = {v}")),
                uptime.map(|v| format!("min_uptime = {v}")),
            ]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join("\n")
        })
}

/// Tables with the entries they take.
fn valid_table() -> impl Strategy<Value = String> {
    prop::sample::select(vec![
        "[expected_na]\nbackup_restore = \"no data\"\n",
        "[backup]\nverify = \"check.sh\"\nattempts = 3\n",
        "[hooks]\npost_install = \"hooks/post.sh\"\n",
        "[app_env]\nSMTP_HOST = \"mail\"\n",
        "[upgrade]\ndropped_volumes = [\"cache\"]\n",
        "[host_access]\nallow = [\"cap_add:NET_ADMIN\"]\n",
        "[[ready_probes]]\nhttp = \"/ready\"\nstatus = 204\n",
        "[[ready_probes]]\ntcp = \"db:5432\"\n",
        "[[http_checks]]\npath = \"/\"\nbody_contains = \"ok\"\n",
    ])
    .prop_map(str::to_string)
}

fn suite_text() -> impl Strategy<Value = String> {
    let table = prop_oneof![4 => valid_table(), 1 => table()];
    let stray = prop::option::of((key(), toml_value()).prop_map(|(k, v)| format!("{k} = {v}")));
    (top_level(), stray, prop::collection::btree_set(table, 0..4)).prop_map(
        |(top, stray, tables)| {
            let tables: String = tables.into_iter().collect();
            format!("{top}\n{}\n{tables}", stray.unwrap_or_default())
        },
    )
}

/// A rejection names the file, a line inside it (when it gives one) and the problem.
fn check(text: &str) {
    if let Err(e) = Suite::parse("suite.toml", text) {
        assert_eq!(e.file, "suite.toml");
        if let Some(line) = e.line {
            assert!(
                line >= 1 && line <= text.lines().count().max(1),
                "{e} in {text:?}"
            );
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
