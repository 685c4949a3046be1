//! The crate-rooted paths a module's code names, anywhere (a `use`, a type, a call): each
//! `crate::a::b`, each `super::x` resolved from where it is written, and each branch of a
//! group (`crate::{a, b::{c, d}}`), as a path from the crate root. `$crate` (a macro's) and
//! `pub(crate)`/`pub(super)` are not paths into a module.

use crate::source::closing_brace;

/// A path from the crate root, and the line (1-based) it is named on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Import {
    pub target: Vec<String>,
    pub line: usize,
}

/// Every crate-rooted path in `code` (see [`crate::source`]), written in the module at
/// `module` (its path from the crate root).
pub fn crate_paths(code: &str, module: &[String]) -> Vec<Import> {
    let inline = inline_modules(code);
    let mut found = Vec::new();
    for (at, _) in code.match_indices(['c', 's']) {
        let Some((base, tail)) = rooted_at(code, at, module, &inline) else {
            continue;
        };
        let line = code[..at].matches('\n').count() + 1;
        for rest in tree(tail) {
            let mut target = base.clone();
            target.extend(rest);
            found.push(Import { target, line });
        }
    }
    found
}

/// At `at`, a path starting `crate::` or `super::` (not part of a longer name, not
/// `$crate`): the module it starts from and the text after its root.
fn rooted_at<'a>(
    code: &'a str,
    at: usize,
    module: &[String],
    inline: &[(usize, usize)],
) -> Option<(Vec<String>, &'a str)> {
    let before = code[..at].chars().next_back();
    if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '$' || c == ':') {
        return None;
    }
    let text = &code[at..];
    if let Some(tail) = text.strip_prefix("crate::") {
        return Some((Vec::new(), tail));
    }
    let mut tail = text;
    let mut ups = 0usize;
    while let Some(rest) = tail.strip_prefix("super::") {
        ups += 1;
        tail = rest;
    }
    if ups == 0 {
        return None;
    }
    // `super` inside an inline `mod x { … }` first leaves that inline module.
    let depth = inline.iter().filter(|(s, e)| *s < at && at < *e).count();
    let ups = ups.saturating_sub(depth);
    let base = module[..module.len().saturating_sub(ups)].to_vec();
    Some((base, tail))
}

/// The spans of inline `mod name { … }` blocks.
fn inline_modules(code: &str) -> Vec<(usize, usize)> {
    let mut spans = Vec::new();
    for (at, _) in code.match_indices("mod ") {
        let after = &code[at + 4..];
        let name_len = after
            .find(|c: char| !(c.is_alphanumeric() || c == '_'))
            .unwrap_or(after.len());
        let rest = after[name_len..].trim_start();
        if name_len > 0 && rest.starts_with('{') {
            let open = code.len() - rest.len();
            spans.push((open, open + closing_brace(rest)));
        }
    }
    spans
}

/// The paths a use-tree (or a plain path) names: `a::b::C` → `[a, b, C]`;
/// `{a, b::{c, d}}` → `[a]`, `[b, c]`, `[b, d]`; `*` and `self` end a path.
fn tree(text: &str) -> Vec<Vec<String>> {
    let text = text.trim_start();
    if let Some(group) = text.strip_prefix('{') {
        let inner = &group[..closing_brace(text).saturating_sub(2)];
        return split_top_level(inner).into_iter().flat_map(tree).collect();
    }
    let len = text
        .find(|c: char| !(c.is_alphanumeric() || c == '_'))
        .unwrap_or(text.len());
    let ident = &text[..len];
    if ident.is_empty() || ident == "self" {
        return vec![Vec::new()];
    }
    let mut paths = match text[len..].trim_start().strip_prefix("::") {
        Some(rest) => tree(rest),
        None => vec![Vec::new()],
    };
    for path in &mut paths {
        path.insert(0, ident.to_string());
    }
    paths
}

/// `a, b::{c, d}, e` split at the commas outside braces.
fn split_top_level(text: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let (mut depth, mut start) = (0usize, 0);
    for (i, c) in text.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => depth = depth.saturating_sub(1),
            ',' if depth == 0 => {
                parts.push(&text[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&text[start..]);
    parts.into_iter().filter(|p| !p.trim().is_empty()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn targets(code: &str, module: &[&str]) -> Vec<String> {
        let module: Vec<String> = module.iter().map(|s| s.to_string()).collect();
        crate_paths(code, &module)
            .into_iter()
            .map(|i| format!("{}@{}", i.target.join("::"), i.line))
            .collect()
    }

    #[test]
    fn every_crate_rooted_path_counts_not_only_use_lines() {
        let code = "use crate::a::B;\nuse crate::{c, d::{e, f::G}, self};\nfn x() -> crate::h::T { crate::i::j() }\n";
        assert_eq!(
            targets(code, &["m"]),
            [
                "a::B@1",
                "c@2",
                "d::e@2",
                "d::f::G@2",
                "@2",
                "h::T@3",
                "i::j@3"
            ]
        );
    }

    #[test]
    fn super_resolves_from_where_it_is_written() {
        let code =
            "use super::Engine;\nuse super::super::z::Y;\nmod inline {\n    use super::w;\n}\n";
        assert_eq!(
            targets(code, &["engine", "services"]),
            ["engine::Engine@1", "z::Y@2", "engine::services::w@4"]
        );
    }

    #[test]
    fn not_paths_into_a_module() {
        let code = "pub(crate) fn a() {}\npub(super) fn b() {}\nmacro_rules! m { () => { $crate::x() } }\nlet supercrate::y = 1; my_crate::z();\n";
        assert!(
            targets(code, &["m"]).is_empty(),
            "{:?}",
            targets(code, &["m"])
        );
    }
}
