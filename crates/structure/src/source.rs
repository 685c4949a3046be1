//! A Rust file's code as the import checks read it: comments (doc comments too), string
//! and char literals blanked, and `#[cfg(test)]` items left out. Every blanked character
//! becomes a space and every newline stays, so a position still has its line number.

/// `text` without comments and literals.
pub fn code_only(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < chars.len() {
        let end = match chars[i] {
            '/' if chars.get(i + 1) == Some(&'/') => line_end(&chars, i),
            '/' if chars.get(i + 1) == Some(&'*') => block_comment_end(&chars, i),
            '"' => string_end(&chars, i + 1),
            'r' | 'b' if starts_raw_string(&chars, i) => raw_string_end(&chars, i),
            '\'' => char_literal_end(&chars, i).unwrap_or(i + 1),
            c => {
                out.push(c);
                i += 1;
                continue;
            }
        };
        if chars[i] == '\'' && end == i + 1 {
            out.push('\''); // a lifetime, kept
        } else {
            blank(&chars[i..end], &mut out);
        }
        i = end;
    }
    out
}

/// `code` (already [`code_only`]) without the items under `#[cfg(test)]`: a `mod tests`
/// block, a `mod tests;` declaration, a test-only function or `use`.
pub fn without_test_items(code: &str) -> String {
    const MARK: &str = "#[cfg(test)]";
    let mut out = String::with_capacity(code.len());
    let mut rest = code;
    while let Some(at) = rest.find(MARK) {
        out.push_str(&rest[..at]);
        let item = &rest[at..];
        let len = item_len(item, MARK.len());
        blank(&item[..len].chars().collect::<Vec<_>>(), &mut out);
        rest = &item[len..];
    }
    out.push_str(rest);
    out
}

/// The length of the item starting at `item` (its attributes included): up to its first
/// `;` outside brackets, or to the `}` closing its first block.
fn item_len(item: &str, from: usize) -> usize {
    let mut depth = 0usize;
    for (i, c) in item.char_indices().skip_while(|(i, _)| *i < from) {
        match c {
            '(' | '[' => depth += 1,
            ')' | ']' => depth = depth.saturating_sub(1),
            ';' if depth == 0 => return i + 1,
            '{' => return i + closing_brace(&item[i..]),
            _ => {}
        }
    }
    item.len()
}

/// The length up to and with the `}` matching the `{` that `text` starts with.
pub fn closing_brace(text: &str) -> usize {
    let mut depth = 0usize;
    for (i, c) in text.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => {
                depth -= 1;
                if depth == 0 {
                    return i + 1;
                }
            }
            _ => {}
        }
    }
    text.len()
}

fn blank(chars: &[char], out: &mut String) {
    out.extend(chars.iter().map(|&c| if c == '\n' { '\n' } else { ' ' }));
}

fn line_end(chars: &[char], from: usize) -> usize {
    (from..chars.len())
        .find(|&i| chars[i] == '\n')
        .unwrap_or(chars.len())
}

/// Block comments nest in Rust.
fn block_comment_end(chars: &[char], from: usize) -> usize {
    let mut depth = 0usize;
    let mut i = from;
    while i + 1 < chars.len() {
        match (chars[i], chars[i + 1]) {
            ('/', '*') => {
                depth += 1;
                i += 2;
            }
            ('*', '/') => {
                depth -= 1;
                i += 2;
                if depth == 0 {
                    return i;
                }
            }
            _ => i += 1,
        }
    }
    chars.len()
}

/// From just after the opening `"` to just after the closing one.
fn string_end(chars: &[char], mut i: usize) -> usize {
    while i < chars.len() {
        match chars[i] {
            '\\' => i += 2,
            '"' => return i + 1,
            _ => i += 1,
        }
    }
    chars.len()
}

/// `r"`, `r#"`, `br"`, `br#"` — and a plain `b"`, which ends as a string does — not part
/// of a longer name (`for"` is no raw string).
fn starts_raw_string(chars: &[char], i: usize) -> bool {
    let after_ident = i > 0 && (chars[i - 1].is_alphanumeric() || chars[i - 1] == '_');
    let mut j = i;
    if chars[j] == 'b' {
        j += 1;
    }
    if chars.get(j) == Some(&'r') {
        j += 1;
    } else if j == i {
        return false;
    }
    while chars.get(j) == Some(&'#') {
        j += 1;
    }
    !after_ident && chars.get(j) == Some(&'"')
}

fn raw_string_end(chars: &[char], i: usize) -> usize {
    let mut j = i;
    if chars[j] == 'b' {
        j += 1;
    }
    if chars[j] != 'r' {
        return string_end(chars, j + 1);
    }
    j += 1;
    let hashes = chars[j..].iter().take_while(|&&c| c == '#').count();
    j += hashes + 1;
    while j < chars.len() {
        let closes = chars[j] == '"'
            && chars[j + 1..]
                .iter()
                .take(hashes)
                .filter(|&&c| c == '#')
                .count()
                == hashes;
        if closes {
            return j + 1 + hashes;
        }
        j += 1;
    }
    chars.len()
}

/// A char literal (`'a'`, `'\n'`, `'\u{1F600}'`, `'{'`): its end; `None` for a lifetime.
fn char_literal_end(chars: &[char], i: usize) -> Option<usize> {
    match chars.get(i + 1)? {
        '\\' => (i + 3..chars.len())
            .find(|&j| chars[j] == '\'')
            .map(|j| j + 1),
        _ if chars.get(i + 2) == Some(&'\'') => Some(i + 3),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comments_and_literals_are_blanked_lines_kept() {
        let text = "use crate::a; // crate::b\n/* crate::c /* nested */ crate::d */ let s = \"crate::e\";\nlet r = r#\"crate::f \"x\" \"#; let c = '\"'; fn f<'a>(x: &'a str) {}\n/// crate::g\n";
        let code = code_only(text);
        assert!(code.contains("use crate::a;"));
        for hidden in [
            "crate::b", "crate::c", "crate::d", "crate::e", "crate::f", "crate::g",
        ] {
            assert!(!code.contains(hidden), "{hidden} in {code}");
        }
        assert!(code.contains("<'a>(x: &'a str)"), "{code}");
        assert_eq!(code.lines().count(), text.lines().count());
    }

    #[test]
    fn test_items_are_left_out() {
        let code = "use crate::a;\n#[cfg(test)]\nmod tests {\n    use crate::b;\n    fn f() { if x { crate::c(); } }\n}\n#[cfg(test)]\nmod more;\n#[cfg(test)]\n#[allow(dead_code)]\nfn helper(v: [u8; 2]) { crate::d(); }\nfn kept() { crate::e(); }\n";
        let left = without_test_items(code);
        assert!(
            left.contains("crate::a") && left.contains("crate::e"),
            "{left}"
        );
        for gone in ["crate::b", "crate::c", "mod more", "crate::d"] {
            assert!(!left.contains(gone), "{gone} in {left}");
        }
        assert_eq!(left.lines().count(), code.lines().count());
    }
}
