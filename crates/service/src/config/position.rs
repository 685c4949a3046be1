//! Where in the file's text a field is: the line of a parse error's offset, or of
//! `key = …` in a section. Problems name it as `file:line`.

pub(super) fn line_at(text: &str, offset: usize) -> usize {
    text.get(..offset)
        .map_or(1, |t| t.matches('\n').count() + 1)
}

/// The line of `key = …` in `[section]` (or the top when `section` is empty).
pub(super) fn line_of(text: &str, section: &str, key: &str) -> Option<usize> {
    let mut current = String::new();
    for (i, line) in text.lines().enumerate() {
        let trimmed = line.trim();
        if let Some(name) = trimmed.strip_prefix('[').and_then(|t| t.split(']').next()) {
            current = name.trim().to_string();
            if key.is_empty() && current == section {
                return Some(i + 1);
            }
            continue;
        }
        if current == section {
            if let Some((k, _)) = trimmed.split_once('=') {
                if k.trim() == key {
                    return Some(i + 1);
                }
            }
        }
    }
    None
}
