//! `.env` / `.env.sample` files as Co-op Cloud recipes write them.
//!
//! `KEY=VALUE` lines, optional `export `, `#` comments (a commented-out assignment is an
//! optional feature the operator may enable, and is ignored), quoted values, `$VAR` /
//! `${VAR}` expansion of keys defined earlier (unquoted and double-quoted values), and
//! trailing modifier comments such as `SECRET_DB_PASSWORD_VERSION=v1  # length=32`.

use std::collections::BTreeMap;
use thiserror::Error;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EnvEntry {
    pub key: String,
    pub value: String,
    /// `key=value` words from a trailing comment (`# length=32 charset=…`).
    pub modifiers: BTreeMap<String, String>,
    /// 1-based line number in the file.
    pub line: usize,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EnvFile {
    pub entries: Vec<EnvEntry>,
}

#[derive(Clone, Debug, Error, PartialEq, Eq)]
#[error("line {line}: {message}")]
pub struct EnvError {
    pub line: usize,
    pub message: String,
}

impl EnvFile {
    pub fn parse(text: &str) -> Result<EnvFile, EnvError> {
        let mut file = EnvFile::default();
        for (index, raw) in text.lines().enumerate() {
            let line = index + 1;
            let trimmed = raw.trim();
            if trimmed.is_empty() || trimmed.starts_with('#') {
                continue;
            }
            let body = trimmed
                .strip_prefix("export ")
                .unwrap_or(trimmed)
                .trim_start();
            let Some((key, rest)) = body.split_once('=') else {
                return Err(EnvError {
                    line,
                    message: "expected KEY=VALUE, and the line has no `=`".to_string(),
                });
            };
            let key = key.trim();
            if key.is_empty()
                || !key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                || key.starts_with(|c: char| c.is_ascii_digit())
            {
                return Err(EnvError {
                    line,
                    message: "the name before `=` is not a valid variable name (letters, digits and _ only, not starting with a digit)".to_string(),
                });
            }
            let (value, comment) = split_value(rest.trim_start(), line)?;
            let lookup = |name: &str| file.get(name);
            let value = match value {
                Value::Single(v) => v,
                Value::Bare(v) => expand(&v, lookup),
                Value::Double(pieces) => pieces
                    .into_iter()
                    .map(|piece| match piece {
                        Piece::Expanded(text) => expand(&text, lookup),
                        Piece::Escaped(c) => c.to_string(),
                    })
                    .collect(),
            };
            let entry = EnvEntry {
                key: key.to_string(),
                value,
                modifiers: parse_modifiers(comment),
                line,
            };
            file.set_entry(entry);
        }
        Ok(file)
    }

    pub fn get(&self, key: &str) -> Option<&str> {
        self.entries
            .iter()
            .find(|e| e.key == key)
            .map(|e| e.value.as_str())
    }

    pub fn entry(&self, key: &str) -> Option<&EnvEntry> {
        self.entries.iter().find(|e| e.key == key)
    }

    /// Sets a key, keeping its place if it exists.
    pub fn set(&mut self, key: &str, value: impl Into<String>) {
        let value = value.into();
        match self.entries.iter_mut().find(|e| e.key == key) {
            Some(e) => e.value = value,
            None => self.entries.push(EnvEntry {
                key: key.to_string(),
                value,
                modifiers: BTreeMap::new(),
                line: 0,
            }),
        }
    }

    fn set_entry(&mut self, entry: EnvEntry) {
        match self.entries.iter_mut().find(|e| e.key == entry.key) {
            Some(e) => *e = entry,
            None => self.entries.push(entry),
        }
    }

    pub fn to_map(&self) -> BTreeMap<String, String> {
        self.entries
            .iter()
            .map(|e| (e.key.clone(), e.value.clone()))
            .collect()
    }

    /// Renders the file back as `KEY=VALUE` lines, keeping modifiers as trailing comments.
    /// Every value parses back to itself: bare when it is plain, single-quoted when it can
    /// be, else double-quoted with `\\`, `\"`, `\$` and `\n` escaped.
    pub fn render(&self) -> String {
        let mut out = String::new();
        for e in &self.entries {
            out.push_str(&format!("{}={}", e.key, render_value(&e.value)));
            if !e.modifiers.is_empty() {
                let mods: Vec<String> = e
                    .modifiers
                    .iter()
                    .map(|(k, v)| format!("{k}={v}"))
                    .collect();
                out.push_str(&format!("  # {}", mods.join(" ")));
            }
            out.push('\n');
        }
        out
    }
}

fn render_value(value: &str) -> String {
    let plain = !value.is_empty()
        && !value
            .chars()
            .any(|c| c.is_whitespace() || "#\"'$\\`".contains(c));
    if plain {
        return value.to_string();
    }
    if !value.contains(['\'', '\n', '\r']) {
        return format!("'{value}'");
    }
    let mut out = String::from("\"");
    for c in value.chars() {
        match c {
            '\\' | '"' | '$' => {
                out.push('\\');
                out.push(c);
            }
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            other => out.push(other),
        }
    }
    out.push('"');
    out
}

enum Value {
    Single(String),
    /// The text between double quotes: runs to expand, and characters a backslash escaped
    /// (an escaped `$` is a literal dollar, not a variable).
    Double(Vec<Piece>),
    Bare(String),
}

enum Piece {
    Expanded(String),
    Escaped(char),
}

fn split_value(rest: &str, line: usize) -> Result<(Value, &str), EnvError> {
    let unterminated = |q: char| EnvError {
        line,
        message: format!("unterminated {q}-quoted value"),
    };
    if let Some(inner) = rest.strip_prefix('\'') {
        let end = inner.find('\'').ok_or_else(|| unterminated('\''))?;
        return Ok((
            Value::Single(inner[..end].to_string()),
            comment_of(&inner[end + 1..]),
        ));
    }
    if let Some(inner) = rest.strip_prefix('"') {
        let mut pieces = Vec::new();
        let mut run = String::new();
        let mut chars = inner.char_indices();
        while let Some((i, c)) = chars.next() {
            match c {
                '\\' => {
                    if let Some((_, next)) = chars.next() {
                        pieces.push(Piece::Expanded(std::mem::take(&mut run)));
                        pieces.push(Piece::Escaped(match next {
                            'n' => '\n',
                            'r' => '\r',
                            't' => '\t',
                            other => other,
                        }));
                    }
                }
                '"' => {
                    pieces.push(Piece::Expanded(run));
                    return Ok((Value::Double(pieces), comment_of(&inner[i + 1..])));
                }
                other => run.push(other),
            }
        }
        return Err(unterminated('"'));
    }
    // A bare value ends at ` #` (a comment needs white space before it).
    let (value, comment) = match rest.find(" #").or_else(|| rest.find("\t#")) {
        Some(i) => (&rest[..i], &rest[i + 1..]),
        None => (rest, ""),
    };
    Ok((Value::Bare(value.trim().to_string()), comment_of(comment)))
}

fn comment_of(tail: &str) -> &str {
    tail.trim().strip_prefix('#').unwrap_or("").trim()
}

fn parse_modifiers(comment: &str) -> BTreeMap<String, String> {
    comment
        .split_whitespace()
        .filter_map(|word| word.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// Expands `$VAR` and `${VAR}` (also `${VAR:-default}`) using `lookup`; unknown → empty.
pub fn expand<'a>(text: &str, lookup: impl Fn(&str) -> Option<&'a str>) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(i) = rest.find('$') {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        if let Some(braced) = after.strip_prefix('{') {
            if let Some(end) = braced.find('}') {
                let inner = &braced[..end];
                let (name, default) = match inner.split_once(":-") {
                    Some((n, d)) => (n, Some(d)),
                    None => (inner, None),
                };
                match (lookup(name), default) {
                    (Some(v), _) if !v.is_empty() => out.push_str(v),
                    (_, Some(d)) => out.push_str(d),
                    (Some(v), None) => out.push_str(v),
                    (None, None) => {}
                }
                rest = &braced[end + 1..];
                continue;
            }
        }
        let len = after
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(after.len());
        if len == 0 {
            out.push('$');
            rest = after;
        } else {
            out.push_str(lookup(&after[..len]).unwrap_or(""));
            rest = &after[len..];
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_recipe_sample() {
        let text = r#"
TYPE=custom-html
DOMAIN=custom-html.example.com
## Domain aliases
#EXTRA_DOMAINS=', `www.custom-html.example.com`'
LETS_ENCRYPT_ENV=production
COMPOSE_FILE="compose.yml"
#COMPOSE_FILE="$COMPOSE_FILE:compose.smtp.yml"
export APP_ENTRYPOINT_VERSION=v2
SECRET_DB_PASSWORD_VERSION=v1  # length=32
SECRET_ADMIN_TOKEN_VERSION=v3 # length=48 charset=hex
GREETING='hello # not a comment'
PATHS="$COMPOSE_FILE:extra.yml"
"#;
        let env = EnvFile::parse(text).unwrap();
        assert_eq!(env.get("TYPE"), Some("custom-html"));
        assert_eq!(env.get("COMPOSE_FILE"), Some("compose.yml"));
        assert_eq!(env.get("APP_ENTRYPOINT_VERSION"), Some("v2"));
        assert_eq!(env.get("EXTRA_DOMAINS"), None);
        assert_eq!(env.get("GREETING"), Some("hello # not a comment"));
        assert_eq!(env.get("PATHS"), Some("compose.yml:extra.yml"));
        let secret = env.entry("SECRET_DB_PASSWORD_VERSION").unwrap();
        assert_eq!(secret.value, "v1");
        assert_eq!(
            secret.modifiers.get("length").map(String::as_str),
            Some("32")
        );
        assert_eq!(secret.line, 10);
        let token = env.entry("SECRET_ADMIN_TOKEN_VERSION").unwrap();
        assert_eq!(
            token.modifiers.get("charset").map(String::as_str),
            Some("hex")
        );
    }

    #[test]
    fn errors_name_the_line() {
        let cases = [
            ("OK=1\nnot an assignment\n", 2, "expected KEY=VALUE"),
            ("ghp_FAKETOKEN0123\n", 1, "expected KEY=VALUE"),
            ("ghp FAKETOKEN0123=x\n", 1, "not a valid variable name"),
            ("A='open\n", 1, "unterminated"),
            ("1BAD=x\n", 1, "not a valid variable name"),
            ("B=\"open\n", 1, "unterminated"),
        ];
        for (text, line, needle) in cases {
            let err = EnvFile::parse(text).unwrap_err();
            assert_eq!(err.line, line, "{text:?}");
            assert!(err.message.contains(needle), "{text:?}: {}", err.message);
            // The line is never echoed: a linked token file's parse error posts nothing of it.
            for word in ["assignment", "FAKETOKEN", "open", "BAD"] {
                assert!(!err.to_string().contains(word), "{text:?}: {err}");
            }
        }
    }

    #[test]
    fn render_round_trips() {
        let mut env = EnvFile::parse("A=1\nB='two words'\nS=v1  # length=8\n").unwrap();
        env.set("DOMAIN", "x.example");
        let again = EnvFile::parse(&env.render()).unwrap();
        assert_eq!(again.to_map(), env.to_map());
        assert_eq!(
            again.entry("S").unwrap().modifiers.get("length").unwrap(),
            "8"
        );
    }

    /// Found by fuzzing: a value holding a `'` and a space rendered bare, so it read back
    /// as a different value (or an unterminated quote); `$` and line breaks too.
    #[test]
    fn render_round_trips_quotes_dollars_and_line_breaks() {
        for value in [
            " #'''",
            "it's a $HOME",
            "'open",
            "a\nb\r\\c\"",
            "",
            "${A:-d} '",
        ] {
            let mut env = EnvFile::default();
            env.set("A", "set");
            env.set("V", value);
            let rendered = env.render();
            let again = EnvFile::parse(&rendered).unwrap();
            assert_eq!(again.get("V"), Some(value), "rendered as {rendered:?}");
        }
    }

    /// Found by fuzzing (to make render round-trip): `\$` in a double-quoted value is a
    /// literal dollar, as in dotenv, not a variable.
    #[test]
    fn an_escaped_dollar_is_literal_in_double_quotes() {
        let env = EnvFile::parse("A=1\nB=\"\\$A and $A\"\nC=\"x\\ry\"\n").unwrap();
        assert_eq!(env.get("B"), Some("$A and 1"));
        assert_eq!(env.get("C"), Some("x\ry"));
    }

    #[test]
    fn expansion_table() {
        let vars = [("A", "1"), ("EMPTY", "")];
        let look = |n: &str| vars.iter().find(|(k, _)| *k == n).map(|(_, v)| *v);
        for (input, want) in [
            ("$A", "1"),
            ("${A}x", "1x"),
            ("${MISSING:-d}", "d"),
            ("${EMPTY:-d}", "d"),
            ("$MISSING.", "."),
            ("cost $ 5", "cost $ 5"),
        ] {
            assert_eq!(expand(input, look), want, "{input}");
        }
    }
}
