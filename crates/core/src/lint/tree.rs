//! A recipe checkout parsed once for the rules: its compose files (each, and merged as
//! `docker stack deploy` merges them), `.env.sample` lines (commented-out assignments too:
//! they are the recipe's optional settings), `abra.sh` exports, and where things are written.

use super::{Finding, RecipeTree};
use crate::deploy_error::{settings, Setting};
use crate::envfile::EnvFile;
use crate::key_line::key_line;
use serde_yaml_ng::{Mapping, Value};
use std::collections::BTreeMap;

/// One parsed compose file.
pub(crate) struct Doc<'a> {
    pub(crate) name: &'a str,
    pub(crate) text: &'a str,
    pub(crate) value: Value,
}

/// A `KEY=VALUE` line of `.env.sample`, or one commented out (`#KEY=VALUE`).
#[derive(Clone, Debug)]
pub(crate) struct SampleLine {
    pub(crate) key: String,
    pub(crate) value: String,
    pub(crate) line: usize,
    pub(crate) commented: bool,
    pub(crate) modifiers: BTreeMap<String, String>,
}

pub(crate) struct Parsed<'a> {
    pub(crate) tree: &'a RecipeTree,
    /// The compose files that parse, in order.
    pub(crate) docs: Vec<Doc<'a>>,
    /// Why the others do not (C000).
    pub(crate) broken: Vec<Finding>,
    /// The parsed files merged in order.
    pub(crate) merged: Value,
    pub(crate) sample: Vec<SampleLine>,
    pub(crate) abra: Vec<Setting>,
    /// Interpolation as at deploy: abra.sh exports, then `.env.sample` (which wins).
    pub(crate) vars: BTreeMap<String, String>,
}

impl<'a> Parsed<'a> {
    pub(crate) fn new(tree: &'a RecipeTree) -> Parsed<'a> {
        let mut docs = Vec::new();
        let mut broken = Vec::new();
        let mut merged = Value::Mapping(Mapping::new());
        for (name, text) in &tree.compose {
            match serde_yaml_ng::from_str::<Value>(text) {
                Ok(value) if value.is_mapping() => {
                    crate::compose::merge_file(&mut merged, value.clone());
                    docs.push(Doc {
                        name: name.as_str(),
                        text: text.as_str(),
                        value,
                    });
                }
                Ok(_) => broken.push(Finding::at(
                    "the top level is not a mapping (a compose file starts with `version:` / `services:`)".into(),
                    name,
                    Some(1),
                )),
                Err(e) => {
                    let line = e.location().map(|l| l.line());
                    broken.push(Finding::at(format!("invalid YAML: {e}"), name, line));
                }
            }
        }
        let sample = tree
            .env_sample
            .as_deref()
            .map(sample_lines)
            .unwrap_or_default();
        let abra = tree
            .abra_sh
            .as_deref()
            .map(|t| settings(t, true))
            .unwrap_or_default();
        let mut vars = BTreeMap::new();
        for s in &abra {
            vars.insert(s.key.clone(), s.value.clone());
        }
        for s in sample.iter().filter(|s| !s.commented) {
            vars.insert(s.key.clone(), s.value.clone());
        }
        Parsed {
            tree,
            docs,
            broken,
            merged,
            sample,
            abra,
            vars,
        }
    }

    /// Has at least one compose file that parses with services.
    pub(crate) fn has_services(&self) -> bool {
        self.merged
            .get("services")
            .and_then(Value::as_mapping)
            .is_some_and(|m| !m.is_empty())
    }

    /// The merged services, by name.
    pub(crate) fn services(&self) -> Vec<(String, &Value)> {
        self.section("services")
    }

    /// The merged entries of a top-level section (`configs`, `secrets`, `volumes`).
    pub(crate) fn section(&self, section: &str) -> Vec<(String, &Value)> {
        self.merged
            .get(section)
            .and_then(Value::as_mapping)
            .map(|m| {
                m.iter()
                    .filter_map(|(k, v)| Some((k.as_str()?.to_string(), v)))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The first file that writes `path` (dotted keys), with the line of its last key.
    pub(crate) fn key_at(&self, path: &[&str]) -> Option<(String, Option<usize>)> {
        self.docs
            .iter()
            .find(|d| lookup(&d.value, path).is_some())
            .map(|d| (d.name.to_string(), key_line(d.text, path)))
    }

    /// A finding about `path` (its subject, dotted: `services.app.image`), at the line that
    /// writes it, or at the first compose file when the path is not written.
    pub(crate) fn finding_at(&self, path: &[&str], message: String) -> Finding {
        let found = match self.key_at(path) {
            Some((file, line)) => Finding::at(message, &file, line),
            None => match self.docs.first() {
                Some(d) => Finding::at(message, d.name, None),
                None => Finding::bare(message),
            },
        };
        found.about(path.join("."))
    }

    /// A finding about `subject`, at the first line holding `needle` inside service
    /// `service`'s block, in the files that define it (e.g. a label); else at the
    /// service's own line.
    pub(crate) fn in_service(
        &self,
        service: &str,
        needle: &str,
        subject: String,
        message: String,
    ) -> Finding {
        for d in &self.docs {
            let Some(start) = key_line(d.text, &["services", service]) else {
                continue;
            };
            if let Some(line) = line_in_block(d.text, start, needle) {
                return Finding::at(message, d.name, Some(line)).about(subject);
            }
        }
        self.finding_at(&["services", service], message)
            .about(subject)
    }

    /// Compose-style interpolation with the recipe's own values; the raw text when it
    /// cannot be interpolated (a required variable the sample leaves unset).
    pub(crate) fn interpolate(&self, text: &str) -> String {
        let mut vars = self.vars.clone();
        vars.entry("STACK_NAME".into())
            .or_insert_with(|| "stack".into());
        crate::compose::interpolate(text, &vars).unwrap_or_else(|_| text.to_string())
    }

    /// A service's image, interpolated; `None` when it has none.
    pub(crate) fn image(&self, svc: &Value) -> Option<String> {
        svc.get("image")
            .and_then(scalar)
            .map(|i| self.interpolate(i.trim()))
            .filter(|i| !i.trim().is_empty())
    }

    /// A service's deploy labels, interpolated.
    pub(crate) fn labels(&self, svc: &Value) -> BTreeMap<String, String> {
        crate::compose::labels_of(svc.get("deploy").and_then(|d| d.get("labels")))
            .into_iter()
            .map(|(k, v)| (self.interpolate(&k), self.interpolate(&v)))
            .collect()
    }

    /// A service's deploy labels with their keys as written (`coop-cloud.${STACK_NAME}.version`)
    /// and their values raw.
    pub(crate) fn raw_labels(&self, svc: &Value) -> BTreeMap<String, String> {
        crate::compose::labels_of(svc.get("deploy").and_then(|d| d.get("labels")))
    }

    /// Where `var` is set: `.env.sample` (uncommented) wins over abra.sh, as at deploy.
    pub(crate) fn setting(&self, var: &str) -> Option<(&'static str, usize, String, String)> {
        if let Some(s) = self
            .sample
            .iter()
            .rev()
            .find(|s| s.key == var && !s.commented)
        {
            return Some((
                ".env.sample",
                s.line,
                s.value.clone(),
                format!("{}={}", s.key, s.value),
            ));
        }
        self.abra
            .iter()
            .rev()
            .find(|s| s.key == var)
            .map(|s| ("abra.sh", s.line, s.value.clone(), s.text.clone()))
    }

    /// `.env.sample` has `key` set (not commented out).
    pub(crate) fn sample_sets(&self, key: &str) -> bool {
        self.sample.iter().any(|s| s.key == key && !s.commented)
    }
}

/// The named volumes a service mounts (short or long syntax; bind mounts left out).
pub(crate) fn mounts(svc: &Value) -> Vec<String> {
    svc.get("volumes")
        .and_then(Value::as_sequence)
        .into_iter()
        .flatten()
        .filter_map(|m| match m {
            Value::String(short) => short.split(':').next().map(str::to_string),
            long => long
                .get("source")
                .and_then(Value::as_str)
                .map(str::to_string),
        })
        .filter(|s| !s.is_empty() && !s.starts_with(['/', '.', '~', '$']))
        .collect()
}

pub(crate) fn scalar(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

pub(crate) fn lookup<'v>(doc: &'v Value, path: &[&str]) -> Option<&'v Value> {
    let mut v = doc;
    for seg in path {
        v = v.as_mapping()?.get(*seg)?;
    }
    Some(v)
}

/// The first line after `start` (1-based, the block's key line) that holds `needle`, while
/// still inside the block (indented deeper than its key).
pub(crate) fn line_in_block(text: &str, start: usize, needle: &str) -> Option<usize> {
    let lines: Vec<&str> = text.lines().collect();
    let key = lines.get(start.checked_sub(1)?)?;
    let indent = key.len() - key.trim_start().len();
    for (i, raw) in lines.iter().enumerate().skip(start) {
        let t = raw.trim_start();
        if t.is_empty() || t.starts_with('#') {
            continue;
        }
        if raw.len() - t.len() <= indent {
            return None;
        }
        if raw.contains(needle) {
            return Some(i + 1);
        }
    }
    None
}

/// Every assignment line of a `.env.sample`, commented-out ones included (`#KEY=v`,
/// `# KEY=v`): a recipe's optional settings are written that way.
pub(crate) fn sample_lines(text: &str) -> Vec<SampleLine> {
    let mut out = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let t = raw.trim();
        let (body, commented) = match t.strip_prefix('#') {
            Some(rest) => (rest.trim_start_matches('#').trim(), true),
            None => (t, false),
        };
        if body.is_empty() || !body.contains('=') {
            continue;
        }
        let Ok(file) = EnvFile::parse(body) else {
            continue;
        };
        for e in file.entries {
            // A prose comment that happens to parse is not a setting: keys are names.
            if commented
                && !e
                    .key
                    .chars()
                    .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
            {
                continue;
            }
            out.push(SampleLine {
                key: e.key,
                value: e.value,
                line: i + 1,
                commented,
                modifiers: e.modifiers,
            });
        }
    }
    out
}

/// The files the compose files' configs and secrets are made from (`file:`), relative to
/// the recipe, for the caller to read into [`RecipeTree::files`].
pub fn wanted_files(compose: &[(String, String)]) -> Vec<String> {
    let mut out = Vec::new();
    for (_, text) in compose {
        let Ok(doc) = serde_yaml_ng::from_str::<Value>(text) else {
            continue;
        };
        for section in ["configs", "secrets"] {
            for (_, v) in doc
                .get(section)
                .and_then(Value::as_mapping)
                .into_iter()
                .flatten()
            {
                if let Some(f) = v.get("file").and_then(Value::as_str) {
                    let f = f.trim_start_matches("./").to_string();
                    if !out.contains(&f) {
                        out.push(f);
                    }
                }
            }
        }
    }
    out.sort();
    out
}
