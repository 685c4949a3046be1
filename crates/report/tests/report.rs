//! The report crate's behaviour, through its public API: one test binary.

use ccci_core::ladder::{Rung, RungStatus, SkipKind};
use ccci_core::results::{RunResults, TestCase};
use ccci_core::run_end::RunEnd;
use ccci_core::secret::{Redactor, Secret};
use ccci_report::{card, comment, fixtures, junit, summary, write_run_dir};
use resvg::usvg::roxmltree;

const NASTY: &str = r#"a<b>&c"d'e"#;

fn examples() -> [(&'static str, RunResults); 5] {
    [
        ("green_l5", fixtures::green_l5()),
        ("red_lint", fixtures::red_lint()),
        ("green_l4", fixtures::green_l4()),
        ("red_l1_crash_loop", fixtures::red_l1_crash_loop()),
        ("l2_intentional_skip", fixtures::l2_intentional_skip()),
    ]
}

// ---------------------------------------------------------------------------------------
// Card

#[test]
fn card_svg_snapshots() {
    for (name, results) in examples() {
        insta::assert_snapshot!(format!("card_{name}"), card::svg(&results));
    }
}

#[test]
fn card_png_decodes_at_the_card_size_with_text_drawn() {
    for (name, results) in examples() {
        let png_bytes = card::png(&card::svg(&results)).expect("card renders");
        let decoder = png::Decoder::new(std::io::Cursor::new(png_bytes));
        let mut reader = decoder.read_info().expect("valid PNG header");
        let mut pixels = vec![0; reader.output_buffer_size().expect("buffer size")];
        let info = reader.next_frame(&mut pixels).expect("valid PNG frame");
        assert_eq!(info.width, card::WIDTH * card::PNG_SCALE, "{name} width");
        assert_eq!(
            info.height,
            card::height(&results) * card::PNG_SCALE,
            "{name} height"
        );
        assert_eq!(info.color_type, png::ColorType::Rgba, "{name} colour type");
        // The recipe name is drawn in near-black ink at the top left: glyphs rendered.
        let stride = info.line_size;
        let dark = (40..100)
            .flat_map(|y| (56..300).map(move |x| (x, y)))
            .filter(|&(x, y)| {
                let p = &pixels[y * stride + x * 4..][..4];
                p[3] > 200 && p[0] < 80 && p[1] < 80 && p[2] < 80
            })
            .count();
        assert!(
            dark > 500,
            "{name}: recipe name not drawn ({dark} dark pixels)"
        );
    }
}

#[test]
fn every_character_on_the_cards_has_a_glyph_in_the_embedded_font() {
    let regular = ttf_parser::Face::parse(include_bytes!("../assets/DejaVuSans.ttf"), 0)
        .expect("regular face parses");
    let bold = ttf_parser::Face::parse(include_bytes!("../assets/DejaVuSans-Bold.ttf"), 0)
        .expect("bold face parses");
    for (name, results) in examples() {
        for text in svg_texts(&card::svg(&results)) {
            for c in text.chars().filter(|c| !c.is_whitespace()) {
                assert!(
                    regular.glyph_index(c).is_some() && bold.glyph_index(c).is_some(),
                    "{name}: no glyph for {c:?} in {text:?}"
                );
            }
        }
    }
}

/// The text content of every `<text>` of an SVG, unescaped.
fn svg_texts(svg: &str) -> Vec<String> {
    let doc = roxmltree::Document::parse(svg).expect("card SVG is well-formed XML");
    doc.descendants()
        .filter(|n| n.has_tag_name("text"))
        .map(|n| {
            n.descendants()
                .filter(|d| d.is_text())
                .filter_map(|d| d.text())
                .collect::<String>()
        })
        .collect()
}

/// Each upgrade path is a row under the upgrade rung, on every renderer: "upgrade from
/// <tag>", its status, time and deploys.
#[test]
fn upgrade_paths_are_rows_under_the_upgrade_rung() {
    let results = fixtures::red_upgrade_path();
    let texts = svg_texts(&card::svg(&results));
    for want in [
        "upgrade from 1.1.0+1.1.0",
        "upgrade from 1.0.0+1.0.0",
        "2 deploys",
    ] {
        assert!(
            texts.iter().any(|t| t == want),
            "card lacks {want:?}: {texts:?}"
        );
    }
    let plain = summary::text(&results, false);
    assert!(
        plain.contains("upgrade from 1.0.0+1.0.0 (2 deploys) FAIL"),
        "{plain}"
    );
    let md = comment::markdown(&results, None);
    assert!(
        md.contains("| ↳ upgrade from 1.1.0+1.1.0 (2 deploys) | ✅ pass |"),
        "{md}"
    );
    assert!(
        md.contains("| ↳ upgrade from 1.0.0+1.0.0 (2 deploys) | ❌ **fail** |"),
        "{md}"
    );
    let xml = junit::xml(&results);
    assert!(xml.contains("name=\"upgrade from 1.0.0+1.0.0\""), "{xml}");
    // Without paths, nothing changes.
    let plain = card::svg(&fixtures::green_l5());
    assert!(!plain.contains("upgrade from"));
}

#[test]
fn card_escapes_recipe_names_reasons_and_messages() {
    let mut results = fixtures::red_l1_crash_loop();
    results.recipe = NASTY.into();
    results.rungs[1].reason = Some(format!("reason {NASTY}"));
    if let Some(failure) = results.failure.as_mut() {
        failure.message = format!("message {NASTY}");
        failure.task_error = Some(format!("task {NASTY} \u{1b}[31mred\u{1b}[0m \u{0}"));
    }
    let svg = card::svg(&results);
    let texts = svg_texts(&svg).concat();
    for want in [
        NASTY.to_string(),
        format!("reason {NASTY}"),
        format!("message {NASTY}"),
    ] {
        assert!(texts.contains(&want), "card text lacks {want:?}: {texts}");
    }
    assert!(texts.contains("task a<b>&c\"d'e red"), "{texts}");
    assert!(!svg.contains(NASTY), "raw markup in the SVG");
    card::png(&svg).expect("escaped card renders");
}

#[test]
fn card_survives_odd_results() {
    let mut long = fixtures::green_l4();
    long.recipe = "x".repeat(500);
    long.head_commit = Some(String::new());
    long.base_version = None;
    long.head_version = None;
    long.run_url = Some(format!("https://{}", "y".repeat(300)));
    long.rungs[0].reason = Some("ünïcødé ✓ 日本語 ".repeat(40));
    long.level = 9;
    let mut empty = fixtures::green_l4();
    empty.recipe = String::new();
    empty.rungs.clear();
    empty.run_url = None;
    let mut beside = fixtures::green_l4();
    beside.rungs.push(rung(
        Rung::Integration,
        RungStatus::Fail,
        None,
        "sso: realm missing",
    ));
    beside.rungs.push(rung(
        Rung::RecipeLocal,
        RungStatus::Skip,
        Some(SkipKind::Unintentional),
        "no tests",
    ));
    for results in [long, empty, beside] {
        let svg = card::svg(&results);
        let png = card::png(&svg).expect("card renders");
        assert!(png.starts_with(b"\x89PNG"));
        // Nothing is drawn past the right margin: long texts are cut with an ellipsis.
        for text in svg_texts(&svg) {
            assert!(
                card::text_width(&text, 13.0, false) < card::WIDTH as f32,
                "text overflows: {text:?}"
            );
        }
    }
}

fn rung(
    name: Rung,
    status: RungStatus,
    skip: Option<SkipKind>,
    reason: &str,
) -> ccci_core::results::RungResult {
    ccci_core::results::RungResult {
        name,
        status,
        reason: Some(reason.into()),
        skip,
        duration_ms: 1_000,
        tests: Vec::new(),
    }
}

// ---------------------------------------------------------------------------------------
// Comment

#[test]
fn red_comment_names_the_failing_rung_task_error_and_log_tail() {
    let results = fixtures::red_l1_crash_loop();
    let md = comment::markdown(&results, None);
    let failure = results.failure.as_ref().expect("fixture has a failure");
    let wants = [
        comment::STICKY_MARKER,
        "**RED**",
        "level **L1** (expected L5)",
        "| L2 upgrade | ❌ **fail** |",
        "### Failure in `upgrade`",
        "- **Service:** `app`",
        "- **Task error:** `task: non-zero exit (1)`",
        "**Last 3 log lines of `app`:**",
        "!testme --stages install,upgrade",
        "!testme --quick",
    ];
    for want in wants {
        assert!(md.contains(want), "comment lacks {want:?}:\n{md}");
    }
    let code = md
        .split("```text\n")
        .nth(1)
        .expect("log tail in a code block");
    for line in &failure.log_tail {
        assert!(code.contains(line.as_str()), "log line missing: {line}");
    }
    assert!(md.starts_with(comment::STICKY_MARKER));
}

#[test]
fn comment_rows_show_each_kind_of_rung() {
    let cases = [
        (
            fixtures::green_l4(),
            vec!["| L1 install | ✅ pass | 2m 22s |", "3/3 tests passed"],
        ),
        (
            fixtures::l2_intentional_skip(),
            vec![
                "| L3 backup_restore | ➖ n/a (intentional) | – | stateless: nothing to back up |",
            ],
        ),
        (
            fixtures::red_l1_crash_loop(),
            vec!["| L4 functional | ⚠️ skipped | – | not reached: upgrade failed |"],
        ),
    ];
    for (results, wants) in cases {
        let md = comment::markdown(&results, Some("https://ci.example.org/card.png"));
        assert!(md.contains(r#"<img src="https://ci.example.org/card.png" width="760""#));
        for want in wants {
            assert!(md.contains(want), "comment lacks {want:?}:\n{md}");
        }
    }
}

#[test]
fn comment_escapes_markdown_and_html() {
    let mut results = fixtures::red_l1_crash_loop();
    results.recipe = "evil`<img src=x>".into();
    results.rungs[1].reason = Some("<script>alert(1)</script> | *bold*".into());
    if let Some(f) = results.failure.as_mut() {
        f.log_tail.push("```\n# not a heading".into());
    }
    let md = comment::markdown(&results, None);
    assert!(md.contains("``evil`<img src=x>``"), "{md}");
    assert!(
        md.contains("&lt;script&gt;alert\\(1\\)&lt;/script&gt; \\| \\*bold\\*"),
        "{md}"
    );
    assert!(!md.contains("<script>"));
    assert!(
        md.contains("````text\n"),
        "fence outgrows the backticks in the log"
    );
}

#[test]
fn progress_comments_carry_the_marker() {
    let cases = [
        (
            comment::Progress::Queued {
                behind: Some("41".into()),
            },
            "⏳ queued behind run `41`",
        ),
        (comment::Progress::Queued { behind: None }, "⏳ queued"),
        (
            comment::Progress::Running {
                rung: Some(Rung::Upgrade),
            },
            "🔄 running: `upgrade`",
        ),
        (comment::Progress::Running { rung: None }, "🔄 running"),
    ];
    for (progress, want) in cases {
        let md = comment::progress_markdown(
            "nextcloud",
            "42",
            Some("https://ci.example.org/runs/42"),
            &progress,
        );
        assert!(md.starts_with(comment::STICKY_MARKER), "{md}");
        assert!(md.contains(want), "{md}");
        assert!(
            md.contains("[run 42](https://ci.example.org/runs/42)"),
            "{md}"
        );
    }
}

// ---------------------------------------------------------------------------------------
// JUnit

#[derive(Debug, Default)]
struct Suite {
    attrs: Vec<(String, String)>,
    /// (classname, name, "pass" | "failure" | "skipped", message)
    cases: Vec<(String, String, String, String)>,
}

impl Suite {
    fn attr(&self, name: &str) -> &str {
        self.attrs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .unwrap_or_default()
    }
}

fn parse_junit(xml: &str) -> Vec<Suite> {
    let doc = roxmltree::Document::parse(xml).expect("JUnit is well-formed XML");
    let root = doc.root_element();
    assert_eq!(root.tag_name().name(), "testsuites");
    root.children()
        .filter(|n| n.has_tag_name("testsuite"))
        .map(|suite| Suite {
            attrs: suite
                .attributes()
                .map(|a| (a.name().to_string(), a.value().to_string()))
                .collect(),
            cases: suite
                .children()
                .filter(|n| n.has_tag_name("testcase"))
                .map(|case| {
                    let get = |n: roxmltree::Node<'_, '_>, k: &str| {
                        n.attribute(k).unwrap_or_default().to_string()
                    };
                    let outcome = case.children().find(|n| n.is_element());
                    let (kind, message) = match outcome {
                        Some(o) => (o.tag_name().name().to_string(), get(o, "message")),
                        None => ("pass".to_string(), String::new()),
                    };
                    (get(case, "classname"), get(case, "name"), kind, message)
                })
                .collect(),
        })
        .collect()
}

#[test]
fn junit_has_one_suite_and_a_case_per_rung_and_test() {
    // (results, "tests/failures/skipped", [(case name, outcome)])
    type Case = (
        RunResults,
        &'static str,
        &'static [(&'static str, &'static str)],
    );
    // A lint rung lists one case per rule (24): the want lists stop at its first ones.
    let cases: [Case; 4] = [
        (
            fixtures::green_l4(),
            "8/0/1",
            &[
                ("L1 install", "pass"),
                ("L2 upgrade", "pass"),
                ("L3 backup_restore", "pass"),
                ("L4 functional", "pass"),
                ("test_login_page", "pass"),
                ("test_webdav_upload", "pass"),
                ("test_occ_status", "pass"),
                ("L5 lint", "skipped"),
            ],
        ),
        (
            fixtures::red_l1_crash_loop(),
            "29/1/4",
            &[
                ("L1 install", "pass"),
                ("L2 upgrade", "failure"),
                ("L3 backup_restore", "skipped"),
                ("L4 functional", "skipped"),
                ("L5 lint", "pass"),
                ("R001 compose config has expected version", "pass"),
            ],
        ),
        (
            fixtures::l2_intentional_skip(),
            "30/0/3",
            &[
                ("L1 install", "pass"),
                ("L2 upgrade", "pass"),
                ("L3 backup_restore", "skipped"),
                ("L4 functional", "pass"),
                ("serves_index", "pass"),
                ("L5 lint", "pass"),
            ],
        ),
        (
            fixtures::red_lint(),
            "32/2/2",
            &[
                ("L1 install", "pass"),
                ("L2 upgrade", "pass"),
                ("L3 backup_restore", "pass"),
                ("L4 functional", "pass"),
                ("test_login_page", "pass"),
                ("test_webdav_upload", "pass"),
                ("test_occ_status", "pass"),
                ("L5 lint", "failure"),
            ],
        ),
    ];
    for (results, counts, want) in cases {
        let suites = parse_junit(&junit::xml(&results));
        assert_eq!(suites.len(), 1, "one suite per run");
        let suite = &suites[0];
        let got_counts = format!(
            "{}/{}/{}",
            suite.attr("tests"),
            suite.attr("failures"),
            suite.attr("skipped")
        );
        assert_eq!(got_counts, counts, "{}", results.recipe);
        let got: Vec<(&str, &str)> = suite
            .cases
            .iter()
            .take(want.len())
            .map(|c| (c.1.as_str(), c.2.as_str()))
            .collect();
        assert_eq!(got, want, "{}", results.recipe);
    }
}

#[test]
fn junit_failures_carry_messages_and_escape() {
    let mut results = fixtures::red_l1_crash_loop();
    results.recipe = NASTY.into();
    results.rungs[3] = ccci_core::results::RungResult {
        status: RungStatus::Fail,
        skip: None,
        reason: Some("1 of 2 tests failed".into()),
        tests: vec![
            TestCase {
                name: format!("test {NASTY}"),
                status: RungStatus::Fail,
                duration_ms: 5,
                message: Some(format!("assert {NASTY}\ntrace \u{1b}[1m")),
            },
            TestCase {
                name: "test_skip".into(),
                status: RungStatus::Skip,
                duration_ms: 0,
                message: Some("needs SSO".into()),
            },
        ],
        ..results.rungs[3].clone()
    };
    results.rungs[2] = rung(
        Rung::BackupRestore,
        RungStatus::Skip,
        Some(SkipKind::Intentional),
        "stateless",
    );
    let xml = junit::xml(&results);
    let suite = &parse_junit(&xml)[0];
    assert_eq!(suite.attr("name"), format!("cc-ci {NASTY}"));
    let find = |name: &str| {
        suite
            .cases
            .iter()
            .find(|c| c.1 == name)
            .unwrap_or_else(|| panic!("no case {name}: {xml}"))
    };
    let upgrade = find("L2 upgrade");
    assert_eq!(
        (upgrade.0.as_str(), upgrade.2.as_str(), upgrade.3.as_str()),
        (NASTY, "failure", "crash loop: app failed 3 times in 60s")
    );
    assert!(
        xml.contains("task error: task: non-zero exit (1)"),
        "failure body has the task error"
    );
    let test = find(&format!("test {NASTY}"));
    assert_eq!(
        (test.0.clone(), test.2.as_str(), test.3.as_str()),
        (
            format!("{NASTY}.functional"),
            "failure",
            format!("assert {NASTY}").as_str()
        )
    );
    assert_eq!(find("test_skip").3, "needs SSO");
    assert_eq!(
        find("L3 backup_restore").3,
        "not applicable (intentional): stateless"
    );
    assert!(!xml.contains('\u{1b}'), "control characters removed");
}

// ---------------------------------------------------------------------------------------
// Terminal summary

#[test]
fn summary_plain_and_coloured() {
    let results = fixtures::red_l1_crash_loop();
    let plain = summary::text(&results, false);
    let coloured = summary::text(&results, true);
    assert!(
        !plain.contains('\u{1b}'),
        "plain output has no escape codes"
    );
    assert!(coloured.contains("\u{1b}[31m"), "red is red on a TTY");
    let wants = [
        "cc-ci  keycloak  10.1.0+25.0.6 → 10.2.0+26.0.0  (3f9c2e1)",
        "  ✗ L2 upgrade         FAIL       38.4s  crash loop: app failed 3 times in 60s",
        "RED  level L1 (expected L5)",
        "failure in upgrade: crash loop",
        "  task error: task: non-zero exit (1)",
        "  last 3 log lines:",
    ];
    for want in wants {
        assert!(plain.contains(want), "summary lacks {want:?}:\n{plain}");
    }
    let skip = summary::text(&fixtures::l2_intentional_skip(), false);
    assert!(
        skip.contains(
            "– L3 backup_restore  n/a            –  stateless: nothing to back up (intentional)"
        ),
        "{skip}"
    );
    assert!(skip.contains("GREEN  level L2 (expected L2)"), "{skip}");
    assert!(
        !plain.contains("quick run") && !skip.contains("quick run"),
        "a cold run says nothing of the quick lane"
    );
    let mut quick = fixtures::green_l4();
    quick.mode = ccci_core::results::RunMode::Quick;
    let quick = summary::text(&quick, false);
    assert!(
        quick
            .lines()
            .next()
            .unwrap()
            .ends_with("quick run on the warm canonical (does not gate the merge)"),
        "{quick}"
    );
}

// ---------------------------------------------------------------------------------------
// Run directory and redaction

#[test]
fn run_dir_has_every_artefact_and_no_secret() {
    // One plain secret and one that XML/markdown escaping would disguise from a text scan.
    let secrets = ["hunter2-db-password-0f3c", "s3cr&t<pass>\"word"];
    let redactor = Redactor::new(secrets.iter().map(|s| Secret::new(*s)));
    let mut results = fixtures::red_l1_crash_loop();
    results.rungs[1].reason = Some(format!("crash loop; env DB_PASSWORD={}", secrets[0]));
    results.rungs[3].tests = vec![TestCase {
        name: format!("login as admin/{}", secrets[1]),
        status: RungStatus::Fail,
        duration_ms: 10,
        message: Some(format!("got 401 for {}", secrets[1])),
    }];
    if let Some(failure) = results.failure.as_mut() {
        failure.message = format!("app crashed: {}", secrets[1]);
        failure.task_error = Some(format!("exit 1 ({})", secrets[0]));
        failure
            .log_tail
            .push(format!("DEBUG admin password is {}", secrets[0]));
        failure
            .log_tail
            .push(format!("DEBUG secret {}", secrets[1]));
    }
    results
        .timings_ms
        .insert(format!("phase-{}", secrets[0]), 1);
    results.run_url = Some(format!(
        "https://ci.example.org/runs/x?token={}",
        secrets[0]
    ));

    let dir = tempfile::tempdir().expect("temp dir");
    let written = write_run_dir(dir.path(), &results, &redactor).expect("artefacts written");
    assert_eq!(written.card_png_error, None);
    let mut names: Vec<String> = written
        .paths
        .iter()
        .filter_map(|p| p.file_name()?.to_str().map(String::from))
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "card.png",
            "card.svg",
            "comment.md",
            "junit.xml",
            "results.json"
        ]
    );

    let escaped: Vec<String> = secrets
        .iter()
        .flat_map(|s| {
            [
                s.to_string(),
                ccci_report::text::xml_escape(s),
                s.replace('"', "\\\""),
                comment::md_text(s),
            ]
        })
        .collect();
    for path in &written.paths {
        let bytes = std::fs::read(path).expect("artefact readable");
        let text = String::from_utf8_lossy(&bytes);
        for form in &escaped {
            assert!(
                !text.contains(form.as_str()),
                "{} leaks {form:?}",
                path.display()
            );
        }
    }
    let json = std::fs::read_to_string(dir.path().join("results.json")).expect("results.json");
    let back: RunResults = serde_json::from_str(&json).expect("results.json parses back");
    assert_eq!(back.end, RunEnd::RED);
    assert!(back
        .failure
        .expect("failure kept")
        .log_tail
        .iter()
        .any(|l| l.contains("[REDACTED]")));
    let comment = std::fs::read_to_string(dir.path().join("comment.md")).expect("comment.md");
    assert!(
        comment.contains("[REDACTED]") || comment.contains("\\[REDACTED\\]"),
        "{comment}"
    );
}

#[test]
fn run_dir_without_secrets_writes_results_unchanged() {
    let results = fixtures::green_l4();
    let dir = tempfile::tempdir().expect("temp dir");
    write_run_dir(
        &dir.path().join("nested/run"),
        &results,
        &Redactor::default(),
    )
    .expect("written");
    let json =
        std::fs::read_to_string(dir.path().join("nested/run/results.json")).expect("results.json");
    let back: RunResults = serde_json::from_str(&json).expect("parses");
    assert_eq!(back, results);
}

// ---------------------------------------------------------------------------------------
// L5: the lint

#[test]
fn a_lint_failure_is_named_on_the_card_comment_summary_and_junit() {
    let results = fixtures::red_lint();
    let texts = svg_texts(&card::svg(&results)).concat();
    for want in ["L5", "lint", "failed", "C001 a changed config or secret"] {
        assert!(texts.contains(want), "card lacks {want:?}: {texts}");
    }
    let md = comment::markdown(&results, None);
    for want in [
        "level **L4** (expected L5)",
        "| L5 lint | ❌ **fail** |",
        "### Lint (L5): 1 error: C001; 1 warning \\(R002\\)",
        "| `C001` a changed config or secret gets a new name | ❌ **error** | `abra.sh:3` |",
        "| `R002` healthcheck enabled for all services | ⚠️ warning | `compose.yml:41` |",
        "### Failure in `lint`",
        "!testme --stages lint",
    ] {
        assert!(md.contains(want), "comment lacks {want:?}:\n{md}");
    }
    let text = summary::text(&results, false);
    for want in [
        "✗ L5 lint            FAIL",
        "RED  level L4 (expected L5)",
        "failure in lint: C001 a changed config or secret gets a new name (abra.sh:3)",
        "lint C001 error: a changed config or secret gets a new name — abra.sh:3:",
        "lint R002 warn: healthcheck enabled for all services — compose.yml:41:",
    ] {
        assert!(text.contains(want), "summary lacks {want:?}:\n{text}");
    }
    let xml = junit::xml(&results);
    assert!(
        xml.contains("C001 a changed config or secret gets a new name"),
        "{xml}"
    );
    // A clean lint shows its row, and its warnings in the table.
    let md = comment::markdown(&fixtures::green_l5(), None);
    assert!(md.contains("| L5 lint | ✅ pass |"), "{md}");
    assert!(
        md.contains("### Lint (L5): clean: 21 satisfied, 1 warning"),
        "{md}"
    );
}

#[test]
fn an_error_inherited_from_the_base_is_shown_with_its_fix_and_is_not_red() {
    let results = fixtures::green_lint_inherited();
    assert_eq!((results.end, results.level), (RunEnd::GREEN, 4));
    let lint = results.rung(Rung::Lint).unwrap();
    assert_eq!(
        (lint.status, lint.skip),
        (RungStatus::Skip, Some(SkipKind::Inherited))
    );
    let texts = svg_texts(&card::svg(&results)).concat();
    for want in [
        "L5",
        "lint",
        "errors at base",
        "R014 — not this change's",
        "Lint: already at the base release 7.0.0+30.0.4, not this change's",
        "fix: replace lightweight tags with annotated tags",
        "R014 only annotated tags used for recipe version: tag `0.3.0+27.1.2` is a lightweight",
    ] {
        assert!(texts.contains(want), "card lacks {want:?}: {texts}");
    }
    let md = comment::markdown(&results, None);
    for want in [
        "is **GREEN** — level **L4** (expected L5)",
        "| L5 lint | ⚠️ errors already at the base |",
        "### Lint (L5): not clean, none introduced: 1 error inherited from the base release 7.0.0+30.0.4: R014; 1 warning \\(R002\\)",
        "| `R014` only annotated tags used for recipe version | ⚠️ error, inherited from the base release 7.0.0+30.0.4 (not this change's) |",
        "fix: replace lightweight tags with annotated tags",
    ] {
        assert!(md.contains(want), "comment lacks {want:?}:\n{md}");
    }
    assert!(!md.contains("### Failure"), "{md}");
    let text = summary::text(&results, false);
    for want in [
        "! L5 lint            at base",
        "GREEN  level L4 (expected L5)",
        "lint R014 error inherited from the base release 7.0.0+30.0.4: only annotated tags used for recipe version — tag `0.3.0+27.1.2` is a lightweight tag",
        "\n     fix: replace lightweight tags with annotated tags\n",
    ] {
        assert!(text.contains(want), "summary lacks {want:?}:\n{text}");
    }
    let xml = junit::xml(&results);
    assert!(!xml.contains("<failure"), "{xml}");
    assert!(
        xml.contains("inherited: already at the base release 7.0.0+30.0.4."),
        "{xml}"
    );
}
