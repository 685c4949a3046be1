//! JUnit XML, for forges and tools that show test reports: one `<testsuite>` per run, one
//! `<testcase>` per rung (ladder rungs always, so a rung not run shows as skipped) and one
//! per test case a rung lists. Written with `quick-xml`, which escapes text and attributes;
//! characters XML cannot carry at all are removed first by [`clean`].

use crate::text::clean;
use crate::view::{self, RowState};
use ccci_core::ladder::RungStatus;
use ccci_core::results::RunResults;
use quick_xml::events::{BytesDecl, BytesText, Event};
use quick_xml::Writer;
use std::io;

pub fn xml(results: &RunResults) -> String {
    // Writing into a Vec cannot fail; an empty report is the harmless fallback.
    write(results)
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .unwrap_or_default()
}

struct Case {
    classname: String,
    name: String,
    time_ms: u64,
    outcome: Outcome,
}

enum Outcome {
    Pass,
    Fail { message: String, details: String },
    Skip { message: String },
}

fn cases(results: &RunResults) -> Vec<Case> {
    let recipe = clean(&results.recipe, false);
    let mut cases = Vec::new();
    for row in view::rows(results) {
        let name = match &row.step {
            Some(step) => format!("{step} {}", row.rung),
            None => row.title(),
        };
        let reason = row.reason.map(|r| clean(r, false));
        let outcome = match row.state {
            RowState::Pass => Outcome::Pass,
            RowState::Fail => {
                let message = reason.unwrap_or_else(|| "failed".into());
                let details = results
                    .failure
                    .as_ref()
                    .filter(|f| f.rung == Some(row.rung) && row.path.is_none())
                    .map(failure_details)
                    .unwrap_or_else(|| message.clone());
                Outcome::Fail { message, details }
            }
            RowState::NotApplicable => Outcome::Skip {
                message: format!(
                    "not applicable (intentional): {}",
                    reason.as_deref().unwrap_or("declared in EXPECTED_NA")
                ),
            },
            RowState::Skipped | RowState::Inherited => Outcome::Skip {
                message: reason.unwrap_or_else(|| "skipped".into()),
            },
            RowState::NotRun => Outcome::Skip {
                message: "not run".into(),
            },
        };
        cases.push(Case {
            classname: recipe.clone(),
            name,
            time_ms: row.duration_ms.unwrap_or(0),
            outcome,
        });
        for test in row.result.map(|r| r.tests.as_slice()).unwrap_or_default() {
            let message = test.message.as_deref().map(|m| clean(m, true));
            let outcome = match test.status {
                RungStatus::Pass => Outcome::Pass,
                RungStatus::Fail => {
                    let message = message.unwrap_or_else(|| "failed".into());
                    Outcome::Fail {
                        message: first_line(&message),
                        details: message,
                    }
                }
                RungStatus::Skip => Outcome::Skip {
                    message: message.unwrap_or_else(|| "skipped".into()),
                },
            };
            cases.push(Case {
                classname: format!("{recipe}.{}", row.rung),
                name: clean(&test.name, false),
                time_ms: test.duration_ms,
                outcome,
            });
        }
    }
    cases
}

fn first_line(text: &str) -> String {
    text.lines().next().unwrap_or_default().to_string()
}

fn failure_details(failure: &ccci_core::results::Failure) -> String {
    let mut lines = vec![clean(&failure.message, false)];
    if let Some(service) = &failure.service {
        lines.push(format!("service: {}", clean(service, false)));
    }
    if let Some(task_error) = &failure.task_error {
        lines.push(format!("task error: {}", clean(task_error, false)));
    }
    if !failure.log_tail.is_empty() {
        lines.push("log tail:".into());
        lines.extend(failure.log_tail.iter().map(|l| clean(l, false)));
    }
    lines.join("\n")
}

fn seconds(ms: u64) -> String {
    format!("{}.{:03}", ms / 1000, ms % 1000)
}

fn write(results: &RunResults) -> io::Result<Vec<u8>> {
    let cases = cases(results);
    let count = |f: fn(&Outcome) -> bool| cases.iter().filter(|c| f(&c.outcome)).count();
    let tests = cases.len().to_string();
    let failures = count(|o| matches!(o, Outcome::Fail { .. })).to_string();
    let skipped = count(|o| matches!(o, Outcome::Skip { .. })).to_string();
    let time = seconds(results.duration_ms);
    let suite_name = format!("cc-ci {}", clean(&results.recipe, false));

    let mut w = Writer::new_with_indent(Vec::new(), b' ', 2);
    w.write_event(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)))?;
    w.create_element("testsuites")
        .with_attributes([
            ("name", "cc-ci"),
            ("tests", tests.as_str()),
            ("failures", failures.as_str()),
            ("errors", "0"),
            ("skipped", skipped.as_str()),
            ("time", time.as_str()),
        ])
        .write_inner_content(|w| {
            w.create_element("testsuite")
                .with_attributes([
                    ("name", suite_name.as_str()),
                    ("tests", tests.as_str()),
                    ("failures", failures.as_str()),
                    ("errors", "0"),
                    ("skipped", skipped.as_str()),
                    ("time", time.as_str()),
                    ("timestamp", clean(&results.started_at, false).as_str()),
                ])
                .write_inner_content(|w| {
                    properties(w, results)?;
                    for case in &cases {
                        testcase(w, case)?;
                    }
                    Ok(())
                })?;
            Ok(())
        })?;
    let mut bytes = w.into_inner();
    bytes.push(b'\n');
    Ok(bytes)
}

fn properties(w: &mut Writer<Vec<u8>>, results: &RunResults) -> io::Result<()> {
    let mut props: Vec<(&str, String)> = vec![
        ("run_id", results.run_id.clone()),
        ("verdict", results.end.to_string()),
        ("level", results.level.to_string()),
        ("expected_level", results.expected_level.to_string()),
        ("domain", results.domain.clone()),
        ("deploy_count", results.deploy_count.to_string()),
    ];
    let optional = [
        ("base_version", &results.base_version),
        ("head_version", &results.head_version),
        ("head_ref", &results.head_ref),
        ("head_commit", &results.head_commit),
        ("run_url", &results.run_url),
    ];
    for (name, value) in optional {
        if let Some(value) = value {
            props.push((name, value.clone()));
        }
    }
    w.create_element("properties").write_inner_content(|w| {
        for (name, value) in &props {
            w.create_element("property")
                .with_attributes([("name", *name), ("value", clean(value, false).as_str())])
                .write_empty()?;
        }
        Ok(())
    })?;
    Ok(())
}

fn testcase(w: &mut Writer<Vec<u8>>, case: &Case) -> io::Result<()> {
    let time = seconds(case.time_ms);
    let element = w.create_element("testcase").with_attributes([
        ("classname", case.classname.as_str()),
        ("name", case.name.as_str()),
        ("time", time.as_str()),
    ]);
    match &case.outcome {
        Outcome::Pass => {
            element.write_empty()?;
        }
        Outcome::Fail { message, details } => {
            element.write_inner_content(|w| {
                w.create_element("failure")
                    .with_attributes([("message", message.as_str()), ("type", "failure")])
                    .write_text_content(BytesText::new(details))?;
                Ok(())
            })?;
        }
        Outcome::Skip { message } => {
            element.write_inner_content(|w| {
                w.create_element("skipped")
                    .with_attribute(("message", message.as_str()))
                    .write_empty()?;
                Ok(())
            })?;
        }
    }
    Ok(())
}
