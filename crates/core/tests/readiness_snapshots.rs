//! The readiness rules replayed over swarm states recorded on a real engine
//! (`scripts/record-readiness-snapshots` writes them; each file says what the scenario was and
//! which judgement it must get).

use ccci_core::readiness::{judge, CrashLoopPolicy, Judgement, ServiceState};
use serde::Deserialize;

#[derive(Deserialize)]
struct Snapshot {
    scenario: String,
    expect: String,
    now_ms: i64,
    services: Vec<ServiceState>,
}

fn kind(j: &Judgement) -> &'static str {
    match j {
        Judgement::Converged => "converged",
        Judgement::Waiting(_) => "waiting",
        Judgement::Broken(_) => "broken",
    }
}

#[test]
fn recorded_swarm_states_get_the_expected_judgement() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/snapshots/readiness");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    assert!(files.len() >= 5, "snapshots missing in {}", dir.display());
    for file in files {
        let snap: Snapshot = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
        let got = judge(&snap.services, snap.now_ms, CrashLoopPolicy::default());
        assert_eq!(
            kind(&got),
            snap.expect,
            "{}: {} — judged {got:?}",
            file.display(),
            snap.scenario
        );
    }
}

#[test]
fn a_crash_loop_is_named_with_its_task_error() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/snapshots/readiness");
    let snap: Snapshot =
        serde_json::from_slice(&std::fs::read(dir.join("crash-loop.json")).unwrap()).unwrap();
    match judge(&snap.services, snap.now_ms, CrashLoopPolicy::default()) {
        Judgement::Broken(b) => {
            assert_eq!(b.service, "app");
            assert!(b
                .task_error
                .unwrap_or_default()
                .contains("non-zero exit (1)"));
            assert_eq!(b.exit_code, Some(1));
        }
        other => panic!("expected broken, got {other:?}"),
    }
}

/// A sequence of observations recorded once a second while a real stack came up
/// (`scripts/record-readiness-sequences`), and the judgement the rules must reach.
#[derive(Deserialize)]
struct Sequence {
    scenario: String,
    expect: String,
    expect_service: Option<String>,
    depends_on: std::collections::BTreeMap<String, Vec<String>>,
    observations: Vec<Observation>,
}

#[derive(Deserialize)]
struct Observation {
    now_ms: i64,
    services: Vec<ServiceState>,
}

#[test]
fn recorded_sequences_are_judged_with_patience_for_dependencies() {
    use ccci_core::readiness::History;
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/snapshots/readiness/sequences");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .collect();
    files.sort();
    assert!(files.len() >= 2, "sequences missing in {}", dir.display());
    for file in files {
        let seq: Sequence = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
        let mut history = History::default();
        let mut last = Judgement::Waiting(Vec::new());
        for obs in &seq.observations {
            let mut services = obs.services.clone();
            for svc in &mut services {
                svc.depends_on = seq.depends_on.get(&svc.name).cloned().unwrap_or_default();
            }
            last = history.judge(&services, obs.now_ms, CrashLoopPolicy::default());
            if kind(&last) == "broken" {
                break;
            }
        }
        assert_eq!(
            kind(&last),
            seq.expect,
            "{}: {} — {last:?}",
            file.display(),
            seq.scenario
        );
        if let (Judgement::Broken(b), Some(service)) = (&last, &seq.expect_service) {
            assert_eq!(&b.service, service, "{}: {b:?}", file.display());
        }
    }
}

#[test]
fn without_patience_the_waiting_app_would_have_been_a_false_red() {
    // The same recorded sequence judged one snapshot at a time (no history): the app's
    // restarts while its database initialised look like a crash loop. This is the false
    // red the history exists to prevent.
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/snapshots/readiness/sequences");
    let seq: Sequence =
        serde_json::from_slice(&std::fs::read(dir.join("waiting-app.json")).unwrap()).unwrap();
    let stateless_broken = seq
        .observations
        .iter()
        .any(|o| kind(&judge(&o.services, o.now_ms, CrashLoopPolicy::default())) == "broken");
    assert!(stateless_broken, "{}", seq.scenario);
}
