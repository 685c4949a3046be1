//! Where a key sits in a YAML text (a compose file): the line a finding or an explained
//! deploy failure points the author at. Read from the text's indentation, not parsed, so it
//! answers for the file as the author laid it out.

/// The 1-based line of the last key of `path` in a compose text, following indentation;
/// `None` through a list index or when the text is laid out otherwise (flow style, …).
pub fn key_line(text: &str, path: &[&str]) -> Option<usize> {
    let lines: Vec<&str> = text.lines().collect();
    let mut start = 0;
    let mut parent_indent: isize = -1;
    let mut found = None;
    for seg in path {
        if seg.parse::<usize>().is_ok() {
            return None;
        }
        let mut child_indent = None;
        let mut hit = None;
        for (i, raw) in lines.iter().enumerate().skip(start) {
            let t = raw.trim_start();
            if t.is_empty() || t.starts_with('#') || t.starts_with("---") {
                continue;
            }
            let indent = (raw.len() - t.len()) as isize;
            if indent <= parent_indent {
                break;
            }
            let child = *child_indent.get_or_insert(indent);
            if indent == child && mapping_key(t) == Some(seg) {
                hit = Some((i, indent));
                break;
            }
        }
        let (i, indent) = hit?;
        found = Some(i + 1);
        start = i + 1;
        parent_indent = indent;
    }
    found
}

fn mapping_key(line: &str) -> Option<&str> {
    let (key, _) = line.split_once(':')?;
    let key = key.trim();
    Some(
        key.strip_prefix('"')
            .and_then(|k| k.strip_suffix('"'))
            .or_else(|| key.strip_prefix('\'').and_then(|k| k.strip_suffix('\'')))
            .unwrap_or(key),
    )
}

#[cfg(test)]
mod tests {
    use super::key_line;

    const COMPOSE: &str = "---\nversion: \"3.8\"\nservices:\n  app:\n    image: nginx\n    ports:\n      - 80\n  \"db\":\n    image: postgres\n# a comment\nconfigs:\n  app_conf:\n    file: app.conf\n";

    #[test]
    fn finds_the_line_of_each_key() {
        let cases: &[(&[&str], Option<usize>)] = &[
            (&["version"], Some(2)),
            (&["services", "app"], Some(4)),
            (&["services", "app", "image"], Some(5)),
            (&["services", "db", "image"], Some(9)),
            (&["configs", "app_conf"], Some(12)),
            (&["configs", "app_conf", "file"], Some(13)),
            // Through a list index, or a key that is not there: no line.
            (&["services", "app", "ports", "0"], None),
            (&["services", "web"], None),
            // A key of another service is not this one's.
            (&["services", "app", "file"], None),
        ];
        for (path, want) in cases {
            assert_eq!(key_line(COMPOSE, path), *want, "{path:?}");
        }
    }
}
