//! Test results that a suite's test executables write as JUnit XML (pytest's
//! `--junitxml`, most test runners' reporters), read into [`TestCase`]s.

use crate::ladder::RungStatus;
use crate::results::TestCase;

/// The test cases of a JUnit XML document (`<testsuites>` or `<testsuite>` at the top), named
/// like pytest node ids: `prefix::name`, or `prefix::Class.name` when the classname's last
/// part is a class rather than the module (`prefix` without its extension).
pub fn read(xml: &str, prefix: &str) -> Result<Vec<TestCase>, String> {
    let doc = roxmltree::Document::parse(xml).map_err(|e| format!("invalid JUnit XML: {e}"))?;
    let mut cases = Vec::new();
    for node in doc.descendants().filter(|n| n.has_tag_name("testcase")) {
        let name = node.attribute("name").unwrap_or("unnamed");
        let class = node.attribute("classname").unwrap_or("");
        let module = prefix.rsplit_once('.').map_or(prefix, |(stem, _)| stem);
        let class_last = class.rsplit('.').next().unwrap_or("");
        let full = if class_last.is_empty() || class_last == module {
            format!("{prefix}::{name}")
        } else {
            format!("{prefix}::{class_last}.{name}")
        };
        let secs: f64 = node
            .attribute("time")
            .and_then(|t| t.parse().ok())
            .unwrap_or(0.0);
        let child = |tag: &str| node.children().find(|c| c.has_tag_name(tag));
        let (status, message) = if let Some(f) = child("failure").or_else(|| child("error")) {
            let msg = f
                .attribute("message")
                .map(str::to_string)
                .or_else(|| {
                    f.text()
                        .map(|t| t.trim().lines().last().unwrap_or("").to_string())
                })
                .unwrap_or_else(|| "failed".into());
            (RungStatus::Fail, Some(msg))
        } else if let Some(s) = child("skipped") {
            (RungStatus::Skip, s.attribute("message").map(str::to_string))
        } else {
            (RungStatus::Pass, None)
        };
        cases.push(TestCase {
            name: full,
            status,
            duration_ms: (secs * 1000.0) as u64,
            message,
        });
    }
    Ok(cases)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_pytest_output() {
        let xml = r#"<?xml version="1.0" encoding="utf-8"?><testsuites><testsuite name="pytest" errors="0" failures="1" skipped="1" tests="3" time="0.2">
<testcase classname="tests.test_api" name="test_ok" time="0.011" />
<testcase classname="tests.test_api.TestData" name="test_bad" time="0.5"><failure message="assert 1 == 2">def test_bad():
&gt;  assert 1 == 2</failure></testcase>
<testcase classname="" name="test_later" time="0"><skipped message="not yet" /></testcase>
</testsuite></testsuites>"#;
        let cases = read(xml, "test_api.py").unwrap();
        let got: Vec<_> = cases
            .iter()
            .map(|c| {
                (
                    c.name.as_str(),
                    c.status,
                    c.message.as_deref(),
                    c.duration_ms,
                )
            })
            .collect();
        assert_eq!(
            got,
            vec![
                ("test_api.py::test_ok", RungStatus::Pass, None, 11),
                (
                    "test_api.py::TestData.test_bad",
                    RungStatus::Fail,
                    Some("assert 1 == 2"),
                    500
                ),
                (
                    "test_api.py::test_later",
                    RungStatus::Skip,
                    Some("not yet"),
                    0
                ),
            ]
        );
    }

    #[test]
    fn bad_xml_is_an_error() {
        assert!(read("<testsuite><testcase", "x")
            .unwrap_err()
            .contains("invalid JUnit XML"));
    }
}
