//! Logging drivers, on what `docker stack config` (CLI 28.2.2) printed for
//! `fixtures/stack_config/logging.compose.yml`: the driver as written, an anchor resolved.

use crate::compose::load_stack;
use crate::host_access::{added, describe, grants_of, locate, refused, validate_key, Grant};
use serde_yaml_ng::Value;

const SOURCE: &str = include_str!("../../../fixtures/stack_config/logging.compose.yml");
const PRINTED: &str = include_str!("../../../fixtures/stack_config/logging.config.yml");

/// Each service's grants in the printed document (services without one left out).
fn printed_grants() -> Vec<Grant> {
    let doc: Value = serde_yaml_ng::from_str(PRINTED).unwrap();
    let services = doc.get("services").and_then(Value::as_mapping).unwrap();
    services
        .iter()
        .flat_map(|(name, svc)| grants_of(&doc, name.as_str().unwrap(), svc))
        .collect()
}

const FIXTURE: &[(&str, &str)] = &[
    ("app", "logging:syslog"),
    ("gelf", "logging:gelf"),
    ("journal", "logging:journald"),
    ("loki", "logging:grafana/loki-docker-driver:2.9.2"),
    ("shipped", "logging:fluentd"),
];

fn pairs(grants: &[Grant]) -> Vec<(String, String)> {
    grants
        .iter()
        .map(|g| (g.service.clone(), g.key.clone()))
        .collect()
}

fn fixture() -> Vec<(String, String)> {
    FIXTURE
        .iter()
        .map(|(s, k)| (s.to_string(), k.to_string()))
        .collect()
}

/// Drivers shipping or writing logs outside the engine's store are grants; `json-file`,
/// `local`, `none` and options alone (`max-size`) are not.
#[test]
fn docker_s_printed_drivers_that_leave_the_engine_s_store_are_grants() {
    assert_eq!(pairs(&printed_grants()), fixture());
    for (_, key) in FIXTURE {
        assert_eq!(validate_key(key), Ok(()), "{key}");
    }
    // cc-ci's own reading of the written files agrees.
    let stack = load_stack(
        &[("compose.yml".into(), SOURCE.into())],
        &Default::default(),
    )
    .unwrap();
    assert_eq!(pairs(&stack.grants()), fixture());
}

#[test]
fn each_driver_is_located_on_its_driver_line() {
    let files = [("compose.yml".to_string(), SOURCE.to_string())];
    let lines: Vec<(String, usize)> = printed_grants()
        .iter()
        .map(|g| {
            let (file, line) = locate(g, &files).unwrap_or_else(|| panic!("{g:?}"));
            assert_eq!(file, "compose.yml");
            (g.service.clone(), line)
        })
        .collect();
    let want = [
        ("app", 14),     // `driver: syslog`, not the LOG_DRIVER=syslog above it
        ("gelf", 20),    // `logging: {driver: gelf, …}`
        ("journal", 24), // `driver: journald`
        ("loki", 31),
        ("shipped", 5), // `logging: *shipped`: the driver where the anchor writes it
    ];
    let want: Vec<(String, usize)> = want.iter().map(|(s, l)| (s.to_string(), *l)).collect();
    assert_eq!(lines, want);
    // The driver an overlay sets is found in the overlay, not on the base's json-file.
    let base = "services:\n  app:\n    image: x\n    logging:\n      driver: json-file\n";
    let overlay = "services:\n  app:\n    logging:\n      driver: syslog\n";
    let files = [
        ("compose.yml".to_string(), base.to_string()),
        ("compose.syslog.yml".to_string(), overlay.to_string()),
    ];
    let stack = load_stack(&files, &Default::default()).unwrap();
    let grant = &stack.grants()[0];
    assert_eq!(grant.key, "logging:syslog");
    assert_eq!(
        locate(grant, &files),
        Some(("compose.syslog.yml".into(), 4))
    );
}

#[test]
fn a_driver_kept_from_the_base_is_no_new_grant_and_the_operator_may_allow_one() {
    let head = printed_grants();
    assert!(added(&head, &head).is_empty());
    let new = added(&head, &head[1..]);
    assert_eq!(
        pairs(&new),
        [("app".to_string(), "logging:syslog".to_string())]
    );
    assert!(refused(new.clone(), &["logging:syslog".into()]).is_empty());
    assert_eq!(refused(new, &["logging:gelf".into()]).len(), 1);
}

#[test]
fn what_a_logging_grant_gives_and_the_keys_an_operator_may_write() {
    let phrases: Vec<String> = printed_grants().iter().map(describe).collect();
    assert_eq!(
        phrases[0],
        "the logging driver syslog (the CI host's Docker daemon ships the app's logs out of \
         the engine's store, connecting where the driver's options say)"
    );
    assert_eq!(
        phrases[2],
        "the logging driver journald (the CI host's Docker daemon writes the app's logs to \
         the host's journal)"
    );
    for (bad, why) in [
        ("logging:json-file", "need no allowance"),
        ("logging:local", "need no allowance"),
        ("logging:none", "need no allowance"),
        ("logging:", "as written"),
        ("logging: syslog", "as written"),
        ("logging", "no `kind:`"),
    ] {
        let err = validate_key(bad).unwrap_err();
        assert!(err.contains(why), "{bad}: {err}");
    }
}
