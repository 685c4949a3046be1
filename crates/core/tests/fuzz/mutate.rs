//! Near-valid input: a valid text with mutations spliced in (unbalanced braces, quotes,
//! unicode, NUL bytes, huge numbers, very long lines, deep nesting, line-ending changes).

use proptest::prelude::*;

/// A fragment that tends to break parsers.
pub fn nasty_fragment() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec![
            "{",
            "}",
            "${",
            "$",
            "$$",
            "[",
            "]",
            ":",
            ": ",
            "- ",
            "#",
            " #",
            "'",
            "\"",
            "\\",
            "=",
            "\0",
            "\r",
            "\n",
            "\r\n",
            "\t",
            "é",
            "🦀",
            "\u{202e}",
            "\u{feff}",
            "\u{85}",
            "\u{2028}",
            "18446744073709551616",
            "99999999999999999999999999",
            "-1",
            "0x10",
            "1e400",
            "NaN",
            "~",
            "&a",
            "*a",
            "!!binary",
            "---",
            "...",
            "%YAML 1.2",
            "?",
            "|",
            ">",
            "@",
            "`",
            "'''",
            "\"\"\"",
            "[[",
            "]]",
            "==",
            "export ",
        ])
        .prop_map(str::to_string),
        any::<char>().prop_map(String::from),
        (1usize..20_000).prop_map(|n| "x".repeat(n)),
        (1usize..300).prop_map(|n| "[".repeat(n)),
        (1usize..300).prop_map(|n| "{".repeat(n)),
    ]
}

/// One edit to a text.
#[derive(Clone, Debug)]
pub enum Edit {
    Insert(usize, String),
    Delete(usize, usize),
    Truncate(usize),
    DuplicateLine(usize),
}

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        4 => (any::<usize>(), nasty_fragment()).prop_map(|(at, s)| Edit::Insert(at, s)),
        2 => (any::<usize>(), 1usize..40).prop_map(|(at, n)| Edit::Delete(at, n)),
        1 => any::<usize>().prop_map(Edit::Truncate),
        1 => any::<usize>().prop_map(Edit::DuplicateLine),
    ]
}

/// `valid`, then up to 5 edits (none in about a third of the cases, so accepted input, and
/// its round trip, stays common).
pub fn mutated(valid: impl Strategy<Value = String>) -> impl Strategy<Value = String> {
    let edits = prop_oneof![
        1 => Just(Vec::new()),
        2 => prop::collection::vec(edit(), 1..6),
    ];
    (valid, edits).prop_map(|(mut text, edits)| {
        for e in edits {
            apply(&mut text, e);
        }
        text
    })
}

/// Arbitrary text, weighted towards the characters parsers care about.
pub fn arbitrary_text() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        prop::collection::vec(nasty_fragment(), 0..40).prop_map(|parts| parts.concat()),
        "[a-zA-Z0-9_ =:#'\"$\\{\\}\\[\\]\\-\n\t.]{0,300}",
    ]
}

fn boundary(text: &str, at: usize) -> usize {
    let mut i = at % (text.len() + 1);
    while !text.is_char_boundary(i) {
        i -= 1;
    }
    i
}

fn apply(text: &mut String, e: Edit) {
    match e {
        Edit::Insert(at, s) => {
            let i = boundary(text, at);
            text.insert_str(i, &s);
        }
        Edit::Delete(at, n) => {
            let start = boundary(text, at);
            let end = boundary(text, start.saturating_add(n).min(text.len()));
            text.replace_range(start..end.max(start), "");
        }
        Edit::Truncate(at) => {
            let i = boundary(text, at);
            text.truncate(i);
        }
        Edit::DuplicateLine(at) => {
            let lines: Vec<&str> = text.lines().collect();
            if !lines.is_empty() {
                let line = lines[at % lines.len()].to_string();
                text.push('\n');
                text.push_str(&line);
            }
        }
    }
}
