//! Hand-built results for the runs the docs show (a green L5, a red lint over a working
//! ladder, a red L1 crash loop, an L2 with an intentional skip), and a green L4 of the four
//! deploy rungs whose lint did not run. Used by the card example, the tests and by other
//! crates' tests that need a realistic [`RunResults`].

use ccci_core::ladder::{Rung, RungStatus, SkipKind};
use ccci_core::lint::{Finding, LintReport, RuleResult, Status, RULES};
use ccci_core::results::{
    Failure, RunFlags, RunMode, RunResults, RungResult, TestCase, UpgradePath, SCHEMA_VERSION,
};
use ccci_core::run_end::RunEnd;
use std::collections::BTreeMap;

fn rung(name: Rung, status: RungStatus, duration_ms: u64) -> RungResult {
    RungResult {
        name,
        status,
        reason: None,
        skip: None,
        duration_ms,
        tests: Vec::new(),
    }
}

fn skipped(name: Rung, kind: SkipKind, reason: &str) -> RungResult {
    RungResult {
        reason: Some(reason.into()),
        skip: Some(kind),
        ..rung(name, RungStatus::Skip, 0)
    }
}

fn test(name: &str, status: RungStatus, duration_ms: u64, message: Option<&str>) -> TestCase {
    TestCase {
        name: name.into(),
        status,
        duration_ms,
        message: message.map(Into::into),
    }
}

fn base(recipe: &str, run_id: &str) -> RunResults {
    RunResults {
        schema: SCHEMA_VERSION,
        run_id: run_id.into(),
        recipe: recipe.into(),
        source: format!("https://git.coopcloud.tech/coop-cloud/{recipe}.git"),
        head_ref: Some("refs/pull/42/head".into()),
        head_commit: Some("3f9c2e1a7b5d4c3e2f1a0b9c8d7e6f5a4b3c2d1e".into()),
        base_version: None,
        head_version: None,
        mode: RunMode::Cold,
        domain: format!("{}-a1b2c3.ci.example.org", &recipe[..4.min(recipe.len())]),
        stack: format!("{}-a1b2c3_ci_example_org", &recipe[..4.min(recipe.len())]),
        end: RunEnd::GREEN,
        level: 0,
        expected_level: 5,
        rungs: Vec::new(),
        upgrade_paths: Vec::new(),
        failure: None,
        timings_ms: BTreeMap::new(),
        deploy_count: 0,
        images: Default::default(),
        images_ran: Default::default(),
        env_keys: Vec::new(),
        rig_adaptations: Vec::new(),
        route: None,
        suite: None,
        lint: None,
        flags: RunFlags {
            clean_teardown: true,
            no_secret_leak: true,
            interrupted: false,
        },
        started_at: "2026-03-14T09:12:03Z".into(),
        finished_at: "2026-03-14T09:19:41Z".into(),
        duration_ms: 0,
        run_url: Some(format!("https://ci.example.org/runs/{run_id}")),
        kept: None,
        quick_end: None,
    }
}

/// A lint report: every rule satisfied but those given (id, status, findings as
/// (file, line, message), note), R013 skipped (offline) and C003 skipped (no release head).
/// A rule changed from satisfied: (id, status, findings as (file, line, message)).
type Changed<'a> = (&'a str, Status, &'a [(&'a str, usize, &'a str)]);

fn lint_report(base: &str, changed: &[Changed]) -> LintReport {
    let rules = RULES
        .iter()
        .map(|info| {
            let mut r = RuleResult {
                id: info.id.into(),
                level: info.level,
                origin: info.origin,
                rule: info.rule.into(),
                status: Status::Satisfied,
                fix: info.fix.into(),
                findings: Vec::new(),
                note: None,
            };
            match info.id {
                "R013" => {
                    r.status = Status::Skipped;
                    r.note =
                        Some("needs the network (git.coopcloud.tech); cc-ci lints offline".into());
                }
                "C003" => {
                    r.status = Status::Skipped;
                    r.note = Some("the head is not a release".into());
                }
                _ => {}
            }
            if let Some((_, status, findings)) = changed.iter().find(|(id, _, _)| *id == info.id) {
                r.status = *status;
                r.findings = findings
                    .iter()
                    .map(|(file, line, message)| Finding {
                        message: (*message).into(),
                        file: Some((*file).into()),
                        line: Some(*line),
                        subject: (*file).into(),
                        provenance: None,
                    })
                    .collect();
            }
            r
        })
        .collect();
    LintReport {
        base: Some(base.into()),
        rules,
    }
}

/// A lint that passes with one warning (R002), as `green_l5` and the others carry it.
fn clean_lint(base: &str) -> (RungResult, LintReport) {
    let report = lint_report(
        base,
        &[(
            "R002",
            Status::Failed,
            &[("compose.yml", 41, "service `cron` has no healthcheck")],
        )],
    );
    (ccci_core::lint_rung::rung_result(&report, 180), report)
}

/// A green L5 upgrade of a full-featured recipe: the four deploy rungs and a clean lint.
pub fn green_l5() -> RunResults {
    let mut r = green_l4();
    let (rung, report) = clean_lint("7.0.0+30.0.4");
    r.rungs.push(rung);
    r.lint = Some(report);
    r.level = 5;
    r
}

/// RED over a working ladder: the deploy rungs pass (L4) but the lint has an error-level
/// failure, named on the card and in the comment.
pub fn red_lint() -> RunResults {
    let mut r = green_l4();
    r.run_id = "20260314-131502-a7e2".into();
    r.run_url = Some(format!("https://ci.example.org/runs/{}", r.run_id));
    let report = lint_report(
        "7.0.0+30.0.4",
        &[
            (
                "C001",
                Status::Failed,
                &[(
                    "abra.sh",
                    3,
                    "config `nginx_conf` (content from `nginx.conf`) changed since 7.0.0+30.0.4 but kept its name `nextcloud_nginx_conf_v4`: docker refuses the upgrade (\"only updates to Labels are allowed\"); bump NGINX_CONF_VERSION, now `v4` (abra.sh line 3: `export NGINX_CONF_VERSION=v4`), e.g. to `v5`",
                )],
            ),
            (
                "R002",
                Status::Failed,
                &[("compose.yml", 41, "service `cron` has no healthcheck")],
            ),
        ],
    );
    let rung = ccci_core::lint_rung::rung_result(&report, 210);
    r.failure = Some(Failure {
        rung: Some(Rung::Lint),
        message: rung.reason.clone().unwrap_or_default(),
        ..Default::default()
    });
    r.rungs.push(rung);
    r.lint = Some(report);
    r.end = RunEnd::RED;
    r.level = 4;
    r
}

/// GREEN at L4 (expected L5): the deploy rungs pass and the lint's only error, a stray
/// lightweight tag from years ago (R014), was already at the base release — shown with its
/// fix, not this change's failure (docs/behaviour.md §5).
pub fn green_lint_inherited() -> RunResults {
    let mut r = green_l4();
    r.run_id = "20260314-142210-5c1d".into();
    r.run_url = Some(format!("https://ci.example.org/runs/{}", r.run_id));
    let mut report = lint_report(
        "7.0.0+30.0.4",
        &[
            (
                "R014",
                Status::Failed,
                &[(
                    "",
                    0,
                    "tag `0.3.0+27.1.2` is a lightweight tag; re-create it annotated: `git tag -d 0.3.0+27.1.2 && git tag -a 0.3.0+27.1.2 -m \"release 0.3.0+27.1.2\"`",
                )],
            ),
            (
                "R002",
                Status::Failed,
                &[("compose.yml", 41, "service `cron` has no healthcheck")],
            ),
        ],
    );
    for r in report.rules.iter_mut().filter(|r| r.id == "R014") {
        for f in &mut r.findings {
            (f.file, f.line) = (None, None);
            f.subject = "tag 0.3.0+27.1.2".into();
            f.provenance = Some(ccci_core::lint::Provenance::Inherited);
        }
    }
    r.rungs
        .push(ccci_core::lint_rung::rung_result(&report, 190));
    r.lint = Some(report);
    r
}

/// A green L4 of the four deploy rungs whose lint did not run (an older record, or
/// `--stages` without lint): the L5 row shows "not run".
pub fn green_l4() -> RunResults {
    let mut r = base("nextcloud", "20260314-091203-7f3a");
    r.base_version = Some("7.0.0+30.0.4".into());
    r.head_version = Some("7.1.0+30.0.6".into());
    r.level = 4;
    r.deploy_count = 2;
    r.duration_ms = 458_000;
    r.rig_adaptations = vec![ccci_core::rig::Adaptation {
        kind: ccci_core::rig::ENDPOINT_MODE_DNSRR.into(),
        services: vec!["app".into(), "db".into()],
        reason: "this engine has no IPVS, so service VIPs do not route".into(),
        not_applied: Vec::new(),
    }];
    let mut functional = rung(Rung::Functional, RungStatus::Pass, 41_800);
    functional.tests = vec![
        test("test_login_page", RungStatus::Pass, 2_100, None),
        test("test_webdav_upload", RungStatus::Pass, 9_400, None),
        test("test_occ_status", RungStatus::Pass, 3_300, None),
    ];
    r.rungs = vec![
        rung(Rung::Install, RungStatus::Pass, 142_300),
        rung(Rung::Upgrade, RungStatus::Pass, 97_600),
        rung(Rung::BackupRestore, RungStatus::Pass, 131_200),
        functional,
    ];
    r.timings_ms = BTreeMap::from([
        ("pull".into(), 18_200),
        ("deploy".into(), 240_000),
        ("teardown".into(), 24_100),
    ]);
    r
}

/// A red run: the base installs, the PR head crash-loops on upgrade.
pub fn red_l1_crash_loop() -> RunResults {
    let mut r = base("keycloak", "20260314-101544-c01d");
    r.base_version = Some("10.1.0+25.0.6".into());
    r.head_version = Some("10.2.0+26.0.0".into());
    r.end = RunEnd::RED;
    r.level = 1;
    r.deploy_count = 2;
    r.duration_ms = 213_000;
    r.started_at = "2026-03-14T10:15:44Z".into();
    r.finished_at = "2026-03-14T10:19:17Z".into();
    let mut upgrade = rung(Rung::Upgrade, RungStatus::Fail, 38_400);
    upgrade.reason = Some("crash loop: app failed 3 times in 60s".into());
    r.rungs = vec![
        rung(Rung::Install, RungStatus::Pass, 118_900),
        upgrade,
        skipped(
            Rung::BackupRestore,
            SkipKind::Unintentional,
            "not reached: upgrade failed",
        ),
        skipped(
            Rung::Functional,
            SkipKind::Unintentional,
            "not reached: upgrade failed",
        ),
    ];
    let (lint, report) = clean_lint("10.1.0+25.0.6");
    r.rungs.push(lint);
    r.lint = Some(report);
    r.failure = Some(Failure {
        rung: Some(Rung::Upgrade),
        message: "crash loop: service app failed 3 times in 60s, never healthy".into(),
        service: Some("app".into()),
        task_error: Some("task: non-zero exit (1)".into()),
        log_tail: vec![
            "2026-03-14 10:18:51,204 INFO  [org.keycloak.quarkus.runtime.hostname] Hostname settings: Base URL: <unset>".into(),
            "2026-03-14 10:18:52,977 ERROR [org.keycloak.quarkus.runtime.cli.ExecutionExceptionHandler] ERROR: Failed to start server in (production) mode".into(),
            "2026-03-14 10:18:52,978 ERROR [org.keycloak.quarkus.runtime.cli.ExecutionExceptionHandler] ERROR: hostname is not configured; either configure hostname, or set hostname-strict to false".into(),
        ],
    });
    r
}

/// RED on one upgrade path (`[upgrade] from = ["previous", "previous-minor"]`): the
/// upgrade from the previous release passes, the one from two releases back loses the
/// app's data; the upgrade rung fails naming that path (L1).
pub fn red_upgrade_path() -> RunResults {
    let mut r = green_l5();
    let reason = "upgrade from 1.0.0+1.0.0: data did not survive the upgrade: the record written through the app before the upgrade is gone: GET /data/ccci-marker answered 404. Fix: make the head upgrade from 1.0.0+1.0.0 too, or remove \"previous-minor\" from [upgrade] from and tell operators to upgrade through 1.1.0+1.1.0 first";
    r.base_version = Some("1.1.0+1.1.0".into());
    r.head_version = Some("1a2b3c4d".into());
    r.upgrade_paths = vec![
        UpgradePath {
            from: "1.1.0+1.1.0".into(),
            asked: "previous".into(),
            status: RungStatus::Pass,
            reason: None,
            duration_ms: 61_300,
            deploy_count: 2,
        },
        UpgradePath {
            from: "1.0.0+1.0.0".into(),
            asked: "previous-minor".into(),
            status: RungStatus::Fail,
            reason: Some(reason.into()),
            duration_ms: 58_900,
            deploy_count: 2,
        },
    ];
    let upgrade = r
        .rungs
        .iter_mut()
        .find(|g| g.name == Rung::Upgrade)
        .unwrap();
    ccci_core::upgrade_paths::fold(upgrade, &r.upgrade_paths[1..]);
    r.end = RunEnd::RED;
    r.level = 1;
    r.deploy_count += 2;
    r.failure = Some(Failure {
        rung: Some(Rung::Upgrade),
        message: reason.into(),
        ..Default::default()
    });
    r
}

/// An L2 run of a stateless app: backup_restore is declared not applicable, so the
/// expected level is 2 and the run meets it.
pub fn l2_intentional_skip() -> RunResults {
    let mut r = base("custom-html", "20260314-112210-9be4");
    r.base_version = Some("1.6.0+1.27.2".into());
    r.head_version = Some("1.7.0+1.27.4".into());
    r.level = 2;
    r.expected_level = 2;
    r.deploy_count = 2;
    r.duration_ms = 96_000;
    r.started_at = "2026-03-14T11:22:10Z".into();
    r.finished_at = "2026-03-14T11:23:46Z".into();
    let mut functional = rung(Rung::Functional, RungStatus::Pass, 6_200);
    functional.tests = vec![test("serves_index", RungStatus::Pass, 1_100, None)];
    r.rungs = vec![
        rung(Rung::Install, RungStatus::Pass, 31_700),
        rung(Rung::Upgrade, RungStatus::Pass, 24_900),
        skipped(
            Rung::BackupRestore,
            SkipKind::Intentional,
            "stateless: nothing to back up",
        ),
        functional,
    ];
    let (lint, report) = clean_lint("1.6.0+1.27.2");
    r.rungs.push(lint);
    r.lint = Some(report);
    r
}
