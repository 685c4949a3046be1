//! A crate's module tree, from its files: followed from the root (`lib.rs`, else
//! `main.rs`) through each `mod name;` its code declares (`name.rs` or `name/mod.rs` beside
//! a root or `mod.rs`, `parent/name.rs` beside `parent.rs`). A module declared only under
//! `#[cfg(test)]` (a `tests.rs` child) is not reached; nor is a module named `tests`.

use crate::source::{code_only, without_test_items};
use std::collections::BTreeMap;

/// A crate's source as text: its package name and each file under `src/`, keyed by its path
/// relative to `src/` with `/` separators (`engine/mod.rs`).
#[derive(Clone, Debug, Default)]
pub struct SourceCrate {
    pub name: String,
    pub files: BTreeMap<String, String>,
}

/// One file module: its path from the crate root (empty for the root), its file, and its
/// code without comments, literals and test items.
#[derive(Clone, Debug)]
pub struct ModuleFile {
    pub path: Vec<String>,
    pub file: String,
    pub code: String,
}

impl SourceCrate {
    /// The root file and its text: `lib.rs`, else `main.rs`.
    pub fn root(&self) -> Option<(&str, &str)> {
        ["lib.rs", "main.rs"]
            .into_iter()
            .find_map(|f| Some((f, self.files.get(f)?.as_str())))
    }

    /// Is `name` a module the root declares?
    pub fn is_top_module(&self, name: &str) -> bool {
        self.root()
            .is_some_and(|(_, text)| declared_modules(&code(text)).iter().any(|m| m == name))
    }
}

/// Every file module reachable from the root, the root first.
pub fn modules(krate: &SourceCrate) -> Vec<ModuleFile> {
    let Some((root, text)) = krate.root() else {
        return Vec::new();
    };
    let mut found = Vec::new();
    let mut todo = vec![(Vec::new(), root.to_string(), String::new(), code(text))];
    while let Some((path, file, dir, code)) = todo.pop() {
        for name in declared_modules(&code) {
            let mut child = path.clone();
            child.push(name.clone());
            let candidates = [format!("{dir}{name}.rs"), format!("{dir}{name}/mod.rs")];
            let Some((file, text)) = candidates
                .into_iter()
                .find_map(|f| Some((f.clone(), krate.files.get(&f)?)))
            else {
                continue; // inline, or a file this crate does not have
            };
            let child_dir = format!("{dir}{name}/");
            todo.push((child, file, child_dir, self::code(text)));
        }
        found.push(ModuleFile { path, file, code });
    }
    found.sort_by(|a, b| a.path.cmp(&b.path));
    found
}

fn code(text: &str) -> String {
    without_test_items(&code_only(text))
}

/// The names of `mod name;` declarations (any visibility) in `code`, `tests` left out.
pub fn declared_modules(code: &str) -> Vec<String> {
    let words: Vec<&str> = code
        .split(|c: char| !(c.is_alphanumeric() || c == '_' || c == ';' || c == '{'))
        .filter(|w| !w.is_empty())
        .collect();
    let mut names = Vec::new();
    for pair in words.windows(2) {
        if pair[0] != "mod" {
            continue;
        }
        let name = pair[1].trim_end_matches([';', '{']);
        let is_file = pair[1].ends_with(';');
        if is_file && name != "tests" && !names.iter().any(|n| n == name) {
            names.push(name.to_string());
        }
    }
    names
}

#[cfg(test)]
mod tests {
    use super::*;

    fn krate(files: &[(&str, &str)]) -> SourceCrate {
        SourceCrate {
            name: "x".into(),
            files: files
                .iter()
                .map(|(f, t)| (f.to_string(), t.to_string()))
                .collect(),
        }
    }

    #[test]
    fn the_tree_follows_mod_declarations_not_test_ones() {
        let k = krate(&[
            (
                "lib.rs",
                "pub mod a;\nmod b;\n#[cfg(feature = \"x\")]\npub mod c;\n",
            ),
            ("a.rs", "mod inner;\n#[cfg(test)]\nmod tests;\n"),
            ("a/inner.rs", ""),
            ("a/tests.rs", ""),
            ("b/mod.rs", "pub(crate) mod deep;\nmod inline { }\n"),
            ("b/deep.rs", ""),
            ("c.rs", ""),
            ("stray.rs", ""),
        ]);
        let paths: Vec<String> = modules(&k).iter().map(|m| m.path.join("::")).collect();
        assert_eq!(paths, ["", "a", "a::inner", "b", "b::deep", "c"]);
        assert!(k.is_top_module("b") && !k.is_top_module("inner"));
    }
}
