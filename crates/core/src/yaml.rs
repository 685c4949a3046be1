//! Compose YAML values read leniently, as docker reads them: a list of items, a list or
//! mapping of names. Shared by the readers of compose documents (`compose`, `host_access`,
//! `deployed`).

use serde_yaml_ng::Value;

/// The items of a sequence; none when `v` is missing or not a sequence.
pub(crate) fn seq(v: Option<&Value>) -> impl Iterator<Item = &Value> {
    v.and_then(Value::as_sequence).into_iter().flatten()
}

/// The names a compose list-or-mapping holds: `[a, b]` or `{a: {...}, b: {...}}` (a
/// service's `depends_on`, `networks`).
pub(crate) fn names(v: Option<&Value>) -> Vec<String> {
    match v {
        Some(Value::Sequence(items)) => items
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_string)
            .collect(),
        Some(Value::Mapping(m)) => m
            .keys()
            .filter_map(Value::as_str)
            .map(str::to_string)
            .collect(),
        _ => Vec::new(),
    }
}
