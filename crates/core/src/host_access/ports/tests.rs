//! Published ports, on what `docker stack config` (CLI 28.2.2) printed for
//! `fixtures/stack_config/ports.compose.yml`: every entry in long syntax, ranges expanded
//! port by port, the address dropped, `published` left out when the swarm picks the port.

use super::*;
use crate::compose::load_stack;
use crate::host_access::{added, describe, grants_of, locate, refused, validate_key, Grant};

const SOURCE: &str = include_str!("../../../fixtures/stack_config/ports.compose.yml");
const PRINTED: &str = include_str!("../../../fixtures/stack_config/ports.config.yml");

fn service_keys(doc: &Value) -> Vec<(String, Vec<String>)> {
    doc.get("services")
        .and_then(Value::as_mapping)
        .into_iter()
        .flatten()
        .map(|(name, svc)| {
            let name = name.as_str().unwrap();
            let keys = grants_of(doc, name, svc).into_iter().map(|g| g.key);
            (name.to_string(), keys.collect())
        })
        .collect()
}

fn want(table: &[(&str, &[&str])]) -> Vec<(String, Vec<String>)> {
    table
        .iter()
        .map(|(s, keys)| (s.to_string(), keys.iter().map(|k| k.to_string()).collect()))
        .collect()
}

const FIXTURE_KEYS: &[(&str, &[&str])] = &[
    (
        "git",
        &[
            "ports:465/tcp",
            "ports:2222/tcp",
            "ports:8025/tcp",
            "ports:9000-9002/tcp",
            "ports:5353/udp",
            "ports:auto/tcp",
        ],
    ),
    ("mail", &["ports:25/tcp", "ports:8080/tcp"]),
    (
        "relay",
        &["ports:7000-7001/tcp", "ports:587/udp", "ports:auto/tcp"],
    ),
    ("web", &[]),
];

#[test]
fn docker_s_printed_ports_are_grants_and_traefik_port_labels_are_not() {
    let printed: Value = serde_yaml_ng::from_str(PRINTED).unwrap();
    assert_eq!(service_keys(&printed), want(FIXTURE_KEYS));
    for (_, keys) in want(FIXTURE_KEYS) {
        for key in keys {
            assert_eq!(validate_key(&key), Ok(()), "{key}");
        }
    }
}

/// cc-ci's own reading of the short syntax gives what docker's normalised one does.
#[test]
fn the_written_short_syntax_gives_the_same_grants() {
    let stack = load_stack(
        &[("compose.yml".into(), SOURCE.into())],
        &Default::default(),
    )
    .unwrap();
    let got: Vec<(String, Vec<String>)> = stack
        .services
        .iter()
        .map(|(name, s)| {
            let keys = s.host_access.iter().map(|g| g.key.clone());
            (name.clone(), keys.collect())
        })
        .collect();
    assert_eq!(got, want(FIXTURE_KEYS));
}

#[test]
fn every_way_to_write_a_port() {
    let table: &[(&str, &[&str])] = &[
        ("[\"8080:80\"]", &["ports:8080/tcp"]),
        ("[\"80\"]", &["ports:auto/tcp"]),
        ("[80, \":81\", \"127.0.0.1::82\"]", &["ports:auto/tcp"]),
        ("[\"80-81\"]", &["ports:auto/tcp"]),
        (
            "[\"53:53/udp\", \"53:53\"]",
            &["ports:53/tcp", "ports:53/udp"],
        ),
        ("[\"8080:80/UDP\"]", &["ports:8080/udp"]),
        ("[\"[::1]:8081:80\"]", &["ports:8081/tcp"]),
        ("[\"8000-8001:80-81\"]", &["ports:8000-8001/tcp"]),
        (
            "[\"8080:80\", \"8082:82\", \"8081:81\"]",
            &["ports:8080-8082/tcp"],
        ),
        ("[\"443:443/sctp\"]", &["ports:443/sctp"]),
        ("[{target: 80, published: 8080}]", &["ports:8080/tcp"]),
        ("[{target: 80, published: 0}]", &["ports:auto/tcp"]),
        (
            "[{target: 80, published: \"8000-8001\"}]",
            &["ports:8000-8001/tcp"],
        ),
        (
            "[{target: 25, published: 25, mode: host, protocol: tcp}]",
            &["ports:25/tcp"],
        ),
        // Docker refuses these: nothing is published.
        ("[\"65536:80\"]", &[]),
        ("[\"9002-9000:80\"]", &[]),
        ("[\"x:80\"]", &[]),
        ("[{target: 80, published: [1]}]", &[]),
        ("[]", &[]),
    ];
    for (ports, want) in table {
        let svc: Value = serde_yaml_ng::from_str(&format!("ports: {ports}")).unwrap();
        let got: Vec<String> = grants(&svc).into_iter().map(|(k, _)| k).collect();
        assert_eq!(&got, want, "{ports}");
    }
}

#[test]
fn each_grant_is_located_on_its_own_entry() {
    let files = [("compose.yml".to_string(), SOURCE.to_string())];
    let table: &[(&str, &str, usize)] = &[
        ("git", "ports:2222/tcp", 10),
        ("git", "ports:auto/tcp", 11),
        ("git", "ports:9000-9002/tcp", 12),
        ("git", "ports:9001/tcp", 12),
        ("git", "ports:5353/udp", 13),
        ("git", "ports:8025/tcp", 14),
        ("git", "ports:465/tcp", 16),
        ("mail", "ports:25/tcp", 26),
        ("mail", "ports:8080/tcp", 26),
        ("relay", "ports:587/udp", 31),
        ("relay", "ports:auto/tcp", 34),
        ("relay", "ports:7001/tcp", 35),
    ];
    for (service, key, line) in table {
        let grant = Grant {
            service: service.to_string(),
            key: key.to_string(),
            field: "ports".into(),
            needle: "ports".into(),
        };
        assert_eq!(
            locate(&grant, &files),
            Some(("compose.yml".to_string(), *line)),
            "{service} {key}"
        );
    }
    // The port is added by an overlay: found there, not on the base file's entries.
    let overlay = "services:\n  git:\n    ports:\n      - \"2223:22\"\n";
    let files = [files[0].clone(), ("compose.ssh.yml".into(), overlay.into())];
    let grant = Grant {
        service: "git".into(),
        key: "ports:2223/tcp".into(),
        field: "ports".into(),
        needle: "2223".into(),
    };
    assert_eq!(locate(&grant, &files), Some(("compose.ssh.yml".into(), 4)));
}

fn port(service: &str, key: &str) -> Grant {
    Grant {
        service: service.into(),
        key: key.into(),
        field: "ports".into(),
        needle: "ports".into(),
    }
}

fn keys_of(grants: Vec<Grant>) -> Vec<String> {
    grants.into_iter().map(|g| g.key).collect()
}

#[test]
fn a_head_adds_only_the_ports_its_base_did_not_publish() {
    let table: &[(&[&str], &[&str], &[&str])] = &[
        // head, base, added
        (&["ports:2222/tcp"], &["ports:2222/tcp"], &[]),
        (&["ports:2222/tcp"], &[], &["ports:2222/tcp"]),
        (
            &["ports:2222/tcp"],
            &["ports:2222/udp"],
            &["ports:2222/tcp"],
        ),
        (
            &["ports:9000-9003/tcp"],
            &["ports:9000-9002/tcp"],
            &["ports:9003/tcp"],
        ),
        (&["ports:9000-9001/tcp"], &["ports:9000-9002/tcp"], &[]),
        (
            &["ports:8999-9010/tcp"],
            &["ports:9000-9002/tcp", "ports:9005/tcp"],
            &[
                "ports:8999/tcp",
                "ports:9003-9004/tcp",
                "ports:9006-9010/tcp",
            ],
        ),
        (&["ports:1-65535/udp"], &["ports:1-65535/udp"], &[]),
        (
            &["ports:65535/tcp"],
            &["ports:65534/tcp"],
            &["ports:65535/tcp"],
        ),
        (&["ports:auto/tcp"], &["ports:auto/tcp"], &[]),
        (
            &["ports:auto/udp"],
            &["ports:auto/tcp"],
            &["ports:auto/udp"],
        ),
    ];
    for (head, base, want) in table {
        let head: Vec<Grant> = head.iter().map(|k| port("app", k)).collect();
        let base: Vec<Grant> = base.iter().map(|k| port("app", k)).collect();
        assert_eq!(
            keys_of(added(&head, &base)),
            *want,
            "{head:?} over {base:?}"
        );
        // Another service's ports are not the base's.
        let elsewhere: Vec<Grant> = base.iter().map(|g| port("db", &g.key)).collect();
        assert_eq!(keys_of(added(&head, &elsewhere)), keys_of(head.clone()));
    }
}

#[test]
fn the_operator_allows_a_port_or_a_range() {
    let head = vec![
        port("app", "ports:2222/tcp"),
        port("app", "ports:9000-9003/tcp"),
    ];
    let allow = |keys: &[&str]| -> Vec<String> {
        keys_of(refused(
            head.clone(),
            &keys.iter().map(|k| k.to_string()).collect::<Vec<_>>(),
        ))
    };
    assert_eq!(allow(&[]), ["ports:2222/tcp", "ports:9000-9003/tcp"]);
    assert_eq!(allow(&["ports:2222/tcp"]), ["ports:9000-9003/tcp"]);
    assert_eq!(
        allow(&["ports:2222/tcp", "ports:9000-9001/tcp"]),
        ["ports:9002-9003/tcp"]
    );
    assert_eq!(allow(&["ports:1-65535/tcp"]), Vec::<String>::new());
    assert_eq!(allow(&["ports:2222/udp", "ports:auto/tcp"]), allow(&[]));
    // A refused remainder is found on the range's line, named by its own first port.
    let left = refused(head.clone(), &["ports:9000/tcp".into()]);
    assert_eq!(left[1].needle, "9001");
}

#[test]
fn what_a_port_grant_gives_and_the_keys_an_operator_may_write() {
    for (key, phrase) in [
        (
            "ports:2222/tcp",
            "the published port 2222/tcp (the CI host listens on it for the app)",
        ),
        (
            "ports:9000-9002/udp",
            "the published ports 9000-9002/udp (the CI host listens on them for the app)",
        ),
        (
            "ports:auto/tcp",
            "a published tcp port the swarm numbers (the CI host listens on it for the app)",
        ),
    ] {
        assert_eq!(describe(&port("app", key)), phrase);
        assert_eq!(validate_key(key), Ok(()), "{key}");
    }
    for bad in [
        "ports:2222",
        "ports:2222/TCP",
        "ports:2222/foo",
        "ports:02222/tcp",
        "ports:9002-9000/tcp",
        "ports:80-80/tcp",
        "ports:0/tcp",
        "ports:65536/tcp",
        "ports:auto",
        "ports:/tcp",
    ] {
        let err = validate_key(bad).unwrap_err();
        assert!(
            err.contains(&format!("`{bad}`")) && err.contains("ports:"),
            "{bad}: {err}"
        );
    }
}
