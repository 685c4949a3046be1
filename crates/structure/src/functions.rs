//! The functions a module's code defines and how many lines each spans, read from its code
//! without comments, literals and test items ([`crate::tree::ModuleFile::code`]): each
//! `fn name` with a body, from the line of `fn` to the line of the brace closing its body.
//! A function defined inside another is counted on its own and within its parent.

use crate::source::closing_brace;

/// One function: its name, the line its `fn` is on, and the lines it spans.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Function {
    pub name: String,
    pub line: usize,
    pub lines: usize,
}

/// Every function with a body in `code`, in the order they start.
pub fn functions(code: &str) -> Vec<Function> {
    let mut found = Vec::new();
    for (at, _) in code.match_indices("fn") {
        let Some(name) = fn_name(code, at) else {
            continue;
        };
        let Some(body) = body_start(code, at) else {
            continue; // a declaration without a body (a trait's)
        };
        let end = body + closing_brace(&code[body..]);
        let line = line_of(code, at);
        found.push(Function {
            name: name.to_string(),
            line,
            lines: line_of(code, end.saturating_sub(1)) - line + 1,
        });
    }
    found
}

/// The name after the keyword `fn` at `at`; `None` where `fn` is part of a longer word or
/// a function pointer type (`fn(u8)`).
fn fn_name(code: &str, at: usize) -> Option<&str> {
    let is_word = |c: char| c.is_alphanumeric() || c == '_';
    let before = code[..at].chars().next_back();
    if before.is_some_and(is_word) {
        return None;
    }
    let rest = &code[at + 2..];
    let name = rest.trim_start();
    if name.len() == rest.len() {
        return None; // no space after `fn`: `fnord`, `fn(`
    }
    let len = name.find(|c: char| !is_word(c)).unwrap_or(name.len());
    (len > 0).then(|| &name[..len])
}

/// Where the body of the function whose `fn` is at `at` opens: the first `{` outside
/// parentheses and brackets; `None` when a `;` comes first.
fn body_start(code: &str, at: usize) -> Option<usize> {
    let mut depth = 0usize;
    for (i, c) in code[at..].char_indices() {
        match c {
            '(' | '[' => depth += 1,
            ')' | ']' => depth = depth.saturating_sub(1),
            ';' if depth == 0 => return None,
            '{' if depth == 0 => return Some(at + i),
            _ => {}
        }
    }
    None
}

/// The 1-based line of byte `at`.
fn line_of(code: &str, at: usize) -> usize {
    code[..at].matches('\n').count() + 1
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::{code_only, without_test_items};

    fn spans(text: &str) -> Vec<(String, usize, usize)> {
        functions(&without_test_items(&code_only(text)))
            .into_iter()
            .map(|f| (f.name, f.line, f.lines))
            .collect()
    }

    #[test]
    fn each_function_spans_from_its_fn_line_to_its_closing_brace() {
        let text = "fn one() {}\n\
            pub(crate) async fn two<'a>(x: &'a str, f: fn(u8) -> u8) -> Option<&'a str>\n\
            where\n    'a: 'a,\n{\n    let c = '{';\n    let s = \"}}}\";\n    // }\n    Some(x)\n}\n\
            trait T {\n    fn declared(&self) -> [u8; 2];\n    fn defaulted(&self) {\n        fn inner() {}\n    }\n}\n\
            fn fnord_caller() { fnord(); }\n";
        assert_eq!(
            spans(text),
            [
                ("one".to_string(), 1, 1),
                ("two".into(), 2, 9),
                ("defaulted".into(), 13, 3),
                ("inner".into(), 14, 1),
                ("fnord_caller".into(), 17, 1),
            ]
        );
    }

    #[test]
    fn test_items_are_not_functions_of_the_module() {
        let text =
            "fn kept() {}\n#[cfg(test)]\nmod tests {\n    #[test]\n    fn long() {\n\n\n    }\n}\n";
        assert_eq!(spans(text), [("kept".to_string(), 1, 1)]);
    }
}
