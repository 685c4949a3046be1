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
