//! The workspace's own tree, checked: no import circle in any crate, every `# Layout`
//! naming its modules. (The cycle finder itself is tested on planted circles in
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
