//! Compose files (`load_stack`) and compose-style `${VAR}` interpolation.

use crate::mutate::{arbitrary_text, mutated, nasty_fragment};
use crate::{assert_specific, config};
use ccci_core::compose::{interpolate, load_stack};
use ccci_core::host_access;
use proptest::prelude::*;
use std::collections::BTreeMap;

fn env() -> impl Strategy<Value = BTreeMap<String, String>> {
    prop::collection::btree_map("[A-Z_]{1,6}", arbitrary_text(), 0..6)
}

/// A `${…}` expression, well-formed or not.
fn interpolation() -> impl Strategy<Value = String> {
    let name = prop_oneof![
        "[A-Z_][A-Z0-9_]{0,5}",
        Just(String::new()),
        nasty_fragment()
    ];
    let op = prop::sample::select(vec!["", ":-", "-", ":?", "?", ":+", "+", ":", "!", "%"]);
    (name, op, "[a-z $}{]{0,8}", any::<bool>()).prop_map(|(name, op, word, close)| {
        format!("${{{name}{op}{word}{}", if close { "}" } else { "" })
    })
}

fn scalar() -> impl Strategy<Value = String> {
    prop_oneof![
        12 => "[a-z0-9][a-z0-9:./_-]{0,12}",
        1 => interpolation(),
        1 => nasty_fragment(),
        1 => any::<i64>().prop_map(|n| n.to_string()),
        1 => Just("\"quoted ${X}\"".to_string()),
        4 => prop::sample::select(vec![
            "/var/run/docker.sock:/s", "/run/:/r", "./data:/d", "host", "NET_ADMIN",
            "cap_sys_admin", "true", "seccomp:unconfined", "apparmor=unconfined", "/dev/fuse",
        ])
        .prop_map(str::to_string),
    ]
}

/// A compose file shaped like a recipe's: services with images, deploy settings, volumes,
/// secrets, ports, labels and host access, and the top-level sections.
fn compose_text() -> impl Strategy<Value = String> {
    let replicas = prop_oneof![8 => (0u64..5).prop_map(|n| n.to_string()), 1 => scalar()];
    let service = (
        "[a-z]{1,8}",
        scalar(),
        replicas,
        scalar(),
        scalar(),
        scalar(),
        any::<bool>(),
    )
        .prop_map(|(name, image, replicas, volume, port, label, mapping_labels)| {
            let labels = if mapping_labels {
                format!("      labels:\n        {label}: {image}\n")
            } else {
                format!("      labels:\n        - \"{label}={image}\"\n")
            };
            format!(
                "  {name}:\n    image: {image}\n    volumes:\n      - {volume}\n      - source: {volume}\n        target: /data\n    ports:\n      - {port}\n      - published: {port}\n        mode: host\n    secrets:\n      - {label}\n    depends_on:\n      - {name}\n    cap_add:\n      - {label}\n    devices:\n      - {volume}\n    security_opt:\n      - {label}\n    network_mode: {port}\n    pid: {port}\n    privileged: {label}\n    healthcheck:\n      disable: {label}\n    deploy:\n      replicas: {replicas}\n      mode: {label}\n      restart_policy:\n        condition: {label}\n{labels}"
            )
        });
    (
        prop::collection::vec(service, 1..4),
        scalar(),
        scalar(),
        any::<bool>(),
    )
        .prop_map(|(services, secret, network, external)| {
            format!(
                "version: \"3.8\"\nservices:\n{}secrets:\n  {secret}:\n    name: {secret}\n    external: {external}\nvolumes:\n  {network}:\n    driver_opts:\n      device: {secret}\nnetworks:\n  {network}:\n    external: {external}\nconfigs:\n  {secret}:\n    file: ./{secret}\n",
                services.concat()
            )
        })
}

/// Deeply nested YAML: flow and block collections, and an alias bomb (8 aliases a level).
fn deep_yaml() -> impl Strategy<Value = String> {
    prop_oneof![
        (1usize..1_000).prop_map(|n| format!("services: {}{}", "[".repeat(n), "]".repeat(n))),
        (1usize..1_000).prop_map(|n| format!("services: {}{}", "{a: ".repeat(n), "}".repeat(n))),
        (1usize..300).prop_map(|n| {
            let mut s = String::from("services:\n");
            for depth in 0..n {
                s.push_str(&format!("{}k{depth}:\n", " ".repeat(2 * (depth + 1))));
            }
            s
        }),
        // Past a few levels each case costs ~0.1 s in a debug build; the long form shows
        // serde_yaml_ng refuses deeper bombs just the same.
        (1usize..6).prop_map(|n| {
            let mut s = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
            for i in 1..n {
                let prev = i - 1;
                s.push_str(&format!("a{i}: &a{i} [*a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}]\n"));
            }
            s.push_str(&format!("services:\n  app:\n    image: x\n    labels: *a{}\n", n - 1));
            s
        }),
    ]
}

/// Loads `text` as `compose.yml`; a rejection must name the file and say what is wrong.
/// Host access an accepted file asks for is described and located on one of its lines.
fn check_load(text: &str, env: &BTreeMap<String, String>) {
    let files = [("compose.yml".to_string(), text.to_string())];
    match load_stack(&files, env) {
        Ok(stack) => {
            assert!(!stack.services.is_empty());
            let grants = host_access::added(&stack.grants(), &[]);
            for grant in &grants {
                assert_specific(&host_access::describe(grant));
                if let Some((file, line)) = host_access::locate(grant, &files) {
                    assert!(file == "compose.yml" && line >= 1 && line <= text.lines().count());
                }
            }
        }
        Err(e) => {
            assert_eq!(e.file, "compose.yml");
            assert_specific(&e.message);
        }
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn fuzz_compose_arbitrary_text(text in arbitrary_text(), env in env()) {
        check_load(&text, &env);
    }

    #[test]
    fn fuzz_compose_near_valid(text in mutated(compose_text()), env in env()) {
        check_load(&text, &env);
    }

    #[test]
    fn fuzz_compose_deep_yaml(text in mutated(deep_yaml())) {
        check_load(&text, &BTreeMap::new());
    }

    #[test]
    fn fuzz_compose_overlays_merge(base in compose_text(), overlay in mutated(compose_text()), env in env()) {
        let files = [("compose.yml".to_string(), base), ("compose.x.yml".to_string(), overlay)];
        if let Err(e) = load_stack(&files, &env) {
            assert!(e.file.contains("compose"), "{e}");
            assert_specific(&e.message);
        }
    }

    #[test]
    fn fuzz_compose_interpolate_arbitrary(text in arbitrary_text(), env in env()) {
        if let Err(message) = interpolate(&text, &env) {
            assert_specific(&message);
        }
    }

    #[test]
    fn fuzz_compose_interpolate_near_valid(
        parts in prop::collection::vec(prop_oneof![interpolation(), arbitrary_text()], 0..8),
        env in env(),
    ) {
        let text = parts.concat();
        if let Err(message) = interpolate(&text, &env) {
            assert!(
                message.contains("interpolation")
                    || message.contains("unterminated")
                    || message.contains("required variable"),
                "{text:?} gave {message:?}"
            );
        }
    }

    /// `$$` is a literal `$`: escaping every `$` gives the text back, whatever it holds.
    #[test]
    fn fuzz_compose_interpolate_escaped_round_trips(text in arbitrary_text(), env in env()) {
        let escaped = text.replace('$', "$$");
        prop_assert_eq!(interpolate(&escaped, &env), Ok(text));
    }
}
