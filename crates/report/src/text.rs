//! Small text helpers every renderer shares: cleaning untrusted text (log lines carry ANSI
//! colour codes and control characters that XML forbids), XML escaping, truncation and
//! human durations; terminal colour ([`Paint`]).

/// Removes ANSI escape sequences and control characters (tabs become spaces, newlines are
/// kept only when `keep_newlines`). The result is valid in XML 1.0 and safe to print.
pub fn clean(text: &str, keep_newlines: bool) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\u{1b}' => skip_escape_sequence(&mut chars),
            '\n' if keep_newlines => out.push('\n'),
            '\n' | '\t' => out.push(' '),
            '\r' => {}
            // XML 1.0 forbids these; U+FFFE/U+FFFF are non-characters.
            c if c.is_control() || c == '\u{fffe}' || c == '\u{ffff}' => {}
            c => out.push(c),
        }
    }
    out
}

fn skip_escape_sequence(chars: &mut std::iter::Peekable<std::str::Chars<'_>>) {
    match chars.peek() {
        // CSI: ESC [ parameters… final byte in @..~
        Some('[') => {
            chars.next();
            for c in chars.by_ref() {
                if ('@'..='~').contains(&c) {
                    break;
                }
            }
        }
        // OSC: ESC ] … terminated by BEL or ESC \
        Some(']') => {
            chars.next();
            while let Some(c) = chars.next() {
                if c == '\u{7}' {
                    break;
                }
                if c == '\u{1b}' {
                    chars.next();
                    break;
                }
            }
        }
        // Two-character sequences (ESC c, ESC =, …).
        Some(_) => {
            chars.next();
        }
        None => {}
    }
}

/// Escapes text for XML content and attribute values, after [`clean`]ing it.
pub fn xml_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in clean(text, false).chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

/// At most `max_chars` characters; a cut text ends with `…`.
pub fn truncate(text: &str, max_chars: usize) -> String {
    if text.chars().count() <= max_chars {
        return text.to_string();
    }
    let mut out: String = text.chars().take(max_chars.saturating_sub(1)).collect();
    out.truncate(out.trim_end().len());
    out.push('…');
    out
}

/// `850ms`, `12.4s`, `3m 05s`, `1h 02m`.
pub fn duration(ms: u64) -> String {
    let secs = ms / 1000;
    match secs {
        0 => format!("{ms}ms"),
        1..=59 => format!("{}.{}s", secs, (ms % 1000) / 100),
        60..=3599 => format!("{}m {:02}s", secs / 60, secs % 60),
        _ => format!("{}h {:02}m", secs / 3600, (secs % 3600) / 60),
    }
}

/// When a kept app's time is up, for people: `2026-12-01 22:40:00 UTC`.
pub fn kept_until(kept: &ccci_core::results::Kept) -> String {
    let stamp = clean(&kept.until, false);
    format!("{} UTC", stamp.replacen('T', " ", 1).trim_end_matches('Z'))
}

/// The first 7 characters of a commit hash.
pub fn short_commit(commit: &str) -> &str {
    match commit.char_indices().nth(7) {
        Some((i, _)) => &commit[..i],
        None => commit,
    }
}

/// ANSI colour around a text, only when the caller says the output is a TTY.
#[derive(Clone, Copy)]
pub struct Paint {
    pub color: bool,
}

impl Paint {
    pub fn paint(self, code: &str, text: &str) -> String {
        if self.color {
            format!("\u{1b}[{code}m{text}\u{1b}[0m")
        } else {
            text.to_string()
        }
    }
    pub fn bold(self, text: &str) -> String {
        self.paint("1", text)
    }
    pub fn dim(self, text: &str) -> String {
        self.paint("2", text)
    }
    pub fn green(self, text: &str) -> String {
        self.paint("32", text)
    }
    pub fn red(self, text: &str) -> String {
        self.paint("31", text)
    }
    pub fn yellow(self, text: &str) -> String {
        self.paint("33", text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clean_strips_ansi_and_controls() {
        let cases = [
            ("\u{1b}[31mred\u{1b}[0m text", "red text"),
            ("a\tb\r\nc", "a b c"),
            ("bell\u{7} nul\u{0}", "bell nul"),
            ("\u{1b}]0;title\u{7}after", "after"),
            ("trailing esc \u{1b}", "trailing esc "),
            ("ünïcødé → ok", "ünïcødé → ok"),
        ];
        for (input, want) in cases {
            assert_eq!(clean(input, false), want, "clean({input:?})");
        }
        assert_eq!(clean("a\nb", true), "a\nb");
    }

    #[test]
    fn xml_escape_escapes_markup() {
        assert_eq!(
            xml_escape(r#"<a href="x">&'</a>"#),
            "&lt;a href=&quot;x&quot;&gt;&amp;&apos;&lt;/a&gt;"
        );
    }

    #[test]
    fn truncate_and_duration() {
        assert_eq!(truncate("short", 10), "short");
        assert_eq!(truncate("a long sentence", 8), "a long…");
        assert_eq!(truncate("ééééé", 3), "éé…");
        let cases = [
            (0, "0ms"),
            (850, "850ms"),
            (12_400, "12.4s"),
            (185_000, "3m 05s"),
            (3_720_000, "1h 02m"),
        ];
        for (ms, want) in cases {
            assert_eq!(duration(ms), want);
        }
        assert_eq!(short_commit("0123456789abcdef"), "0123456");
        assert_eq!(short_commit("abc"), "abc");
    }
}
