//! The workspace's own tree, checked: no import circle in any crate, every `# Layout`
//! naming its modules, no function far longer than a screen. (The cycle finder itself is tested on planted circles in
//! `src/circle.rs`, `src/imports.rs` and the test below.)

use ccci_structure::tree::SourceCrate;
use std::path::Path;

fn workspace() -> Vec<ccci_structure::tree::SourceCrate> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let crates = ccci_structure::workspace::read(&root).expect("reading the workspace's crates");
    for expected in [
        "ccci-core",
        "ccci-adapters",
        "ccci-runner",
        "ccci-hostjobs",
        "ccci",
    ] {
        assert!(
            crates.iter().any(|c| c.name == expected),
            "{expected} not read"
        );
    }
    crates
}

#[test]
fn no_module_import_circle_in_any_crate() {
    let circles = ccci_structure::circles(&workspace());
    assert!(
        circles.is_empty(),
        "module import circles (break each by moving the shared piece to the module both \
         may use):\n{}",
        circles.join("\n")
    );
}

#[test]
fn every_layout_names_each_module_its_root_declares() {
    let unnamed = ccci_structure::unnamed_modules(&workspace());
    assert!(unnamed.is_empty(), "{}", unnamed.join("\n"));
}

#[test]
fn a_circle_planted_in_a_crate_fails_with_its_path() {
    let files = [
        ("lib.rs", "//! # Layout\n//! - [`a`], [`b`], [`c`]\npub mod a;\npub mod b;\npub mod c;\n"),
        ("a.rs", "pub fn f() { crate::b::g() }\n// crate::c is a comment\n"),
        ("b.rs", "use crate::{c::{self, H}};\npub fn g() {}\n"),
        ("c.rs", "pub struct H;\nfn back() -> super::a::X { super::a::X }\n#[cfg(test)]\nmod tests { use crate::b; }\n"),
    ];
    let krate = SourceCrate {
        name: "planted".into(),
        files: files
            .iter()
            .map(|(f, t)| (f.to_string(), t.to_string()))
            .collect(),
    };
    assert_eq!(
        ccci_structure::circles(std::slice::from_ref(&krate)),
        ["planted: a → b (a.rs:1) → c (b.rs:1) → a (c.rs:2)"]
    );
    assert!(ccci_structure::unnamed_modules(&[krate]).is_empty());
}

/// Functions may be this long (a screen is ~50 lines; past this one is a function to split).
const FUNCTION_LINE_LIMIT: usize = 80;

/// Functions over the limit not split yet, as (crate, file under `src/`, function). Each
/// must still be over it: a function split since is taken off the list.
const NOT_YET_SPLIT: &[(&str, &str, &str)] = &[
    ("ccci-core", "host_access.rs", "grants_of"),
    ("ccci-core", "lint/own.rs", "changed_without_bump"),
    ("ccci-runner", "app.rs", "plan_on_domain"),
    ("ccci-service", "intake.rs", "handle_comment"),
    ("ccci-service", "intake.rs", "poll_once"),
    ("ccci-service", "serve.rs", "serve_on"),
];

#[test]
fn no_function_is_far_longer_than_a_screen() {
    let long = ccci_structure::long_functions(&workspace(), FUNCTION_LINE_LIMIT);
    let listed = |f: &ccci_structure::LongFunction| {
        NOT_YET_SPLIT.contains(&(f.krate.as_str(), f.file.as_str(), f.function.name.as_str()))
    };
    let new: Vec<String> = long
        .iter()
        .filter(|f| !listed(f))
        .map(|f| f.to_string())
        .collect();
    assert!(
        new.is_empty(),
        "functions over {FUNCTION_LINE_LIMIT} lines (split each into functions named for \
         what they do, each under ~50 lines):\n{}",
        new.join("\n")
    );
    let split: Vec<String> = NOT_YET_SPLIT
        .iter()
        .filter(|(krate, file, name)| {
            !long.iter().any(|f| {
                (f.krate.as_str(), f.file.as_str(), f.function.name.as_str())
                    == (*krate, *file, *name)
            })
        })
        .map(|(krate, file, name)| format!("{krate}: src/{file} {name}"))
        .collect();
    assert!(
        split.is_empty(),
        "no longer over {FUNCTION_LINE_LIMIT} lines (or gone): take them off NOT_YET_SPLIT:\n{}",
        split.join("\n")
    );
}

#[test]
fn a_long_function_planted_in_a_crate_is_named_with_its_place_and_length() {
    let body = "    step();\n".repeat(FUNCTION_LINE_LIMIT);
    let files = [
        ("lib.rs", "//! # Layout\n//! - [`a`]\npub mod a;\n".to_string()),
        (
            "a.rs",
            format!("fn short() {{ let brace = '{{'; }}\n\npub fn long() {{\n{body}}}\n#[cfg(test)]\nmod tests {{\n    fn long_test() {{\n{body}    }}\n}}\n"),
        ),
    ];
    let krate = SourceCrate {
        name: "planted".into(),
        files: files.into_iter().map(|(f, t)| (f.to_string(), t)).collect(),
    };
    let long: Vec<String> = ccci_structure::long_functions(&[krate], FUNCTION_LINE_LIMIT)
        .iter()
        .map(|f| f.to_string())
        .collect();
    assert_eq!(long, ["planted: src/a.rs:3 long (82 lines)"]);
}
