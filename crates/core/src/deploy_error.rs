//! `docker stack deploy` failures the recipe author caused and can fix, explained in the
//! recipe's own terms: which file, which compose key, and the fix.
//!
//! Docker names engine objects (`dex1_app_conf_v1`) and schema paths
//! (`services.app.deploy.replicas`); the author thinks in compose keys, files and the
//! variables that version them. [`explain`] maps one onto the other from the recipe's raw
//! text ([`RecipeFacts`]), which the caller reads. Unrecognised failures give `None`: the
//! caller keeps docker's own text.
//!
//! The recognised texts are docker's (CLI 28 against Engine 20.10), recorded on a real swarm:
//! - `failed to update config <name>: Error response from daemon: rpc error: code =
//!   InvalidArgument desc = only updates to Labels are allowed` (and `secret`): a config or
//!   secret whose content changed while its name stayed the same;
//! - `network "<name>" is declared as external, but could not be found. …`;
//! - `service <svc>: secret not found: <name>` (and `config not found`);
//! - `service <svc>: undefined secret "<key>"` (and config, network, volume);
//! - `open <path>: no such file or directory` (a config's or secret's `file:`);
//! - schema errors `<path> <description>`: `services.app Additional property foo is not
//!   allowed`, `services.app.deploy.replicas must be a integer`,
//!   `services.app.healthcheck.interval Does not match format 'duration'`, ….

use crate::compose::interpolate;
use crate::envfile::EnvFile;
use crate::key_line::key_line;
use serde_yaml_ng::Value;
use std::collections::BTreeMap;

/// What the explanation is built from, read by the caller from the deployed checkout.
#[derive(Clone, Debug, Default)]
pub struct RecipeFacts {
    /// The stack name (`STACK_NAME` in interpolation).
    pub stack: String,
    /// The compose files deployed, in order: (name as shown, e.g. `compose.yml`; raw text
    /// before interpolation).
    pub compose_files: Vec<(String, String)>,
    /// `abra.sh`, if the recipe has one.
    pub abra_sh: Option<String>,
    /// `.env.sample`.
    pub env_sample: Option<String>,
}

/// An explained deploy failure.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Explanation {
    /// What went wrong in the recipe's terms, and the fix.
    pub text: String,
    /// Docker's own line it explains.
    pub docker_line: String,
}

impl Explanation {
    /// The explanation followed by docker's line: `<text>\n(docker: <line>)`.
    pub fn message(&self) -> String {
        format!("{}\n(docker: {})", self.text, self.docker_line)
    }
}

/// Explains a failed `docker stack deploy` from its stderr (an optional
/// `docker stack deploy <stack> failed: ` prefix is ignored; warnings docker prints before
/// the error are skipped). `None` when the failure is not one the recipe author can fix.
pub fn explain(stderr: &str, recipe: &RecipeFacts) -> Option<Explanation> {
    let facts = Facts::new(recipe);
    stderr
        .lines()
        .rev()
        .map(strip_prefix)
        .filter(|l| !l.is_empty())
        .find_map(|line| {
            let text = immutable(line, &facts)
                .or_else(|| missing_external_network(line, &facts))
                .or_else(|| object_not_found(line, &facts))
                .or_else(|| undefined_reference(line, &facts))
                .or_else(|| missing_file(line, &facts))
                .or_else(|| schema(line, &facts))?;
            Some(Explanation {
                text,
                docker_line: line.to_string(),
            })
        })
}

fn strip_prefix(line: &str) -> &str {
    let line = line.trim();
    if let Some(rest) = line.strip_prefix("docker stack deploy ") {
        if let Some((_, after)) = rest.split_once(" failed: ") {
            return after.trim();
        }
    }
    line
}

/// The recipe, parsed once.
struct Facts<'a> {
    recipe: &'a RecipeFacts,
    /// Each compose file parsed (files that do not parse are left out).
    docs: Vec<(&'a str, &'a str, Value)>,
    /// Where variables are set: abra.sh exports and .env.sample lines.
    abra: Vec<Setting>,
    sample: Vec<Setting>,
    /// Interpolation as cc-ci deploys: abra.sh exports, then .env.sample, then STACK_NAME.
    vars: BTreeMap<String, String>,
}

#[derive(Clone, Debug)]
pub(crate) struct Setting {
    pub(crate) key: String,
    pub(crate) value: String,
    pub(crate) line: usize,
    pub(crate) text: String,
}

impl<'a> Facts<'a> {
    fn new(recipe: &'a RecipeFacts) -> Facts<'a> {
        let docs = recipe
            .compose_files
            .iter()
            .filter_map(|(name, text)| {
                let doc: Value = serde_yaml_ng::from_str(text).ok()?;
                Some((name.as_str(), text.as_str(), doc))
            })
            .collect();
        let abra = settings(recipe.abra_sh.as_deref().unwrap_or(""), true);
        let sample = settings(recipe.env_sample.as_deref().unwrap_or(""), false);
        let mut vars = BTreeMap::new();
        for s in abra.iter().chain(&sample) {
            vars.insert(s.key.clone(), s.value.clone());
        }
        vars.insert("STACK_NAME".into(), recipe.stack.clone());
        Facts {
            recipe,
            docs,
            abra,
            sample,
            vars,
        }
    }

    /// Top-level entries of `section` (`configs`, `secrets`, `networks`) across the files:
    /// (file, key, value).
    fn entries(&self, section: &str) -> Vec<(&'a str, String, Value)> {
        let mut out = Vec::new();
        for (file, _, doc) in &self.docs {
            if let Some(map) = doc.get(section).and_then(Value::as_mapping) {
                for (k, v) in map {
                    if let Some(k) = k.as_str() {
                        out.push((*file, k.to_string(), v.clone()));
                    }
                }
            }
        }
        out
    }

    /// The top-level `section` entry whose engine name is `engine`: exact after
    /// interpolation, else the only one whose `name:` template fits it.
    fn find_by_engine_name(&self, section: &str, engine: &str) -> Option<Entry<'a>> {
        let entries = self.entries(section);
        let mut loose = Vec::new();
        for (file, key, value) in entries {
            let template = value
                .get("name")
                .and_then(Value::as_str)
                .map(str::to_string);
            let external = value
                .get("external")
                .is_some_and(|v| v.as_bool().unwrap_or(true));
            let source = value
                .get("file")
                .and_then(Value::as_str)
                .map(str::to_string);
            let entry = Entry {
                file,
                key: key.clone(),
                template: template.clone(),
                external,
                source,
            };
            let exact = match &template {
                Some(t) => interpolate(t, &self.vars).ok(),
                // External objects without a name are looked up by their key; the others
                // the stack names `<stack>_<key>`.
                None if external => Some(key.clone()),
                None => Some(format!("{}_{key}", self.recipe.stack)),
            };
            if exact.as_deref() == Some(engine) {
                return Some(entry);
            }
            if template.as_deref().is_some_and(|t| {
                let t = t
                    .replace("${STACK_NAME}", &self.recipe.stack)
                    .replace("$STACK_NAME", &self.recipe.stack);
                glob_match(&template_pieces(&t), engine)
            }) {
                loose.push(entry);
            }
        }
        if loose.len() == 1 {
            loose.pop()
        } else {
            None
        }
    }

    /// Where `var` is set, as cc-ci sees it (.env.sample wins over abra.sh).
    fn setting(&self, var: &str) -> Option<(&'static str, &Setting)> {
        let last = |list: &[Setting]| list.iter().rev().position(|s| s.key == var);
        let in_sample =
            last(&self.sample).map(|i| (".env.sample", &self.sample[self.sample.len() - 1 - i]));
        in_sample
            .or_else(|| last(&self.abra).map(|i| ("abra.sh", &self.abra[self.abra.len() - 1 - i])))
    }

    /// The compose files defining `path` (a dotted key path, numbers index lists), with the
    /// line of its last key where it can be told.
    fn files_with(&self, path: &[&str]) -> Vec<(&'a str, Option<usize>)> {
        self.docs
            .iter()
            .filter(|(_, _, doc)| lookup(doc, path).is_some())
            .map(|(file, text, _)| (*file, key_line(text, path)))
            .collect()
    }
}

struct Entry<'a> {
    file: &'a str,
    key: String,
    template: Option<String>,
    external: bool,
    source: Option<String>,
}

/// `KEY=VALUE` settings of a file with their lines; `exports_only` for abra.sh.
pub(crate) fn settings(text: &str, exports_only: bool) -> Vec<Setting> {
    let mut out = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let t = raw.trim();
        if t.starts_with('#') || !t.contains('=') {
            continue;
        }
        if exports_only && !t.starts_with("export ") {
            continue;
        }
        if let Ok(file) = EnvFile::parse(t) {
            for e in file.entries {
                out.push(Setting {
                    key: e.key,
                    value: e.value,
                    line: i + 1,
                    text: t.to_string(),
                });
            }
        }
    }
    out
}

/// The variables a `name:` template uses, STACK_NAME aside, in order.
pub(crate) fn template_vars(template: &str) -> Vec<String> {
    let mut vars = Vec::new();
    let mut rest = template;
    while let Some(i) = rest.find('$') {
        let after = &rest[i + 1..];
        let (name, tail) = if let Some(tail) = after.strip_prefix('$') {
            ("", tail)
        } else {
            let body = after.strip_prefix('{').unwrap_or(after);
            let len = body
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(body.len());
            let tail = &body[len..];
            (&body[..len], tail.strip_prefix('}').unwrap_or(tail))
        };
        if !name.is_empty() && name != "STACK_NAME" && !vars.iter().any(|v| v == name) {
            vars.push(name.to_string());
        }
        rest = tail;
    }
    vars
}

/// A template as literal pieces and `None` for each `$VAR` / `${…}`.
fn template_pieces(template: &str) -> Vec<Option<String>> {
    let mut pieces = Vec::new();
    let mut lit = String::new();
    let mut rest = template;
    while let Some(i) = rest.find('$') {
        lit.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        if let Some(tail) = after.strip_prefix('$') {
            lit.push('$');
            rest = tail;
            continue;
        }
        let tail = if let Some(body) = after.strip_prefix('{') {
            body.find('}').map(|e| &body[e + 1..]).unwrap_or("")
        } else {
            let len = after
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(after.len());
            &after[len..]
        };
        if !lit.is_empty() {
            pieces.push(Some(std::mem::take(&mut lit)));
        }
        pieces.push(None);
        rest = tail;
    }
    lit.push_str(rest);
    if !lit.is_empty() {
        pieces.push(Some(lit));
    }
    pieces
}

/// Whether `text` fits the pieces, each `None` standing for any text.
fn glob_match(pieces: &[Option<String>], text: &str) -> bool {
    match pieces.split_first() {
        None => text.is_empty(),
        Some((Some(lit), rest)) => text
            .strip_prefix(lit.as_str())
            .is_some_and(|t| glob_match(rest, t)),
        Some((None, rest)) => (0..=text.len())
            .filter(|i| text.is_char_boundary(*i))
            .any(|i| glob_match(rest, &text[i..])),
    }
}

/// A value at a dotted path of a YAML document.
fn lookup<'v>(doc: &'v Value, path: &[&str]) -> Option<&'v Value> {
    let mut v = doc;
    for seg in path {
        v = match v {
            Value::Mapping(m) => m.get(*seg)?,
            Value::Sequence(s) => s.get(seg.parse::<usize>().ok()?)?,
            _ => return None,
        };
    }
    Some(v)
}

fn at(file: &str, line: Option<usize>) -> String {
    match line {
        Some(l) => format!("{file} line {l}"),
        None => file.to_string(),
    }
}

/// `v1` → `v2`, `3` → `4`; else none.
pub(crate) fn next_version(v: &str) -> Option<String> {
    let (prefix, digits) = match v.find(|c: char| c.is_ascii_digit()) {
        Some(i) => v.split_at(i),
        None => return None,
    };
    let n: u64 = digits.parse().ok()?;
    Some(format!("{prefix}{}", n + 1))
}

// ---------------------------------------------------------------------------------------
// The recognised failures.

/// `failed to update config <name>: … only updates to Labels are allowed`.
fn immutable(line: &str, facts: &Facts) -> Option<String> {
    if !line.contains("only updates to Labels are allowed") {
        return None;
    }
    let rest = line.strip_prefix("failed to update ")?;
    let (kind, rest) = rest.split_once(' ')?;
    let (section, kind) = match kind {
        "config" => ("configs", "config"),
        "secret" => ("secrets", "secret"),
        _ => return None,
    };
    let (engine, _) = rest.split_once(": ")?;
    let immut =
        format!("swarm {kind}s are immutable, so a {kind} whose content changes needs a new name");
    let Some(entry) = facts.find_by_engine_name(section, engine) else {
        return Some(format!(
            "a {kind} of the recipe changed its content but kept its name `{engine}`: {immut}. Bump the version variable in the `name:` of that {kind} under top-level `{section}:`"
        ));
    };
    let source = entry
        .source
        .as_deref()
        .map(|s| format!(", content from `{s}`"))
        .unwrap_or_default();
    let mut text = format!(
        "{kind} `{key}` ({section}.{key} in {file}{source}) changed its content but not its name `{engine}`: {immut}.",
        key = entry.key,
        file = entry.file,
    );
    let vars = entry
        .template
        .as_deref()
        .map(template_vars)
        .unwrap_or_default();
    if vars.is_empty() {
        let var = if kind == "secret" {
            format!("SECRET_{}_VERSION", entry.key.to_ascii_uppercase())
        } else {
            format!("{}_VERSION", entry.key.to_ascii_uppercase())
        };
        let set = if kind == "secret" {
            format!("`{var}=v1` in .env.sample")
        } else {
            format!("`export {var}=v1` in abra.sh")
        };
        text.push_str(&format!(
            " Its name has no version: write `name: ${{STACK_NAME}}_{key}_${{{var}}}` with {set}, and bump {var} whenever the content changes.",
            key = entry.key
        ));
        return Some(text);
    }
    for var in vars {
        match facts.setting(&var) {
            Some((file, s)) => {
                let next = next_version(&s.value)
                    .map(|n| format!(", e.g. to `{n}`"))
                    .unwrap_or_default();
                text.push_str(&format!(
                    " Bump {var}, now `{value}` ({file} line {line}: `{setting}`){next}.",
                    line = s.line,
                    setting = s.text,
                    value = s.value,
                ));
            }
            None => text.push_str(&format!(
                " Its name uses {var}, which neither abra.sh nor .env.sample sets: set it (e.g. `export {var}=v1` in abra.sh) and bump it whenever the content changes."
            )),
        }
    }
    Some(text)
}

/// `network "<name>" is declared as external, but could not be found. …`
fn missing_external_network(line: &str, facts: &Facts) -> Option<String> {
    let rest = line.strip_prefix("network \"")?;
    let (name, rest) = rest.split_once('"')?;
    if !rest.starts_with(" is declared as external, but could not be found") {
        return None;
    }
    let entry = facts.find_by_engine_name("networks", name);
    let declared = entry
        .as_ref()
        .map(|e| format!(" (networks.{} in {})", e.key, e.file))
        .unwrap_or_default();
    Some(if name == "proxy" {
        format!(
            "network `proxy`{declared} is declared external and does not exist on the swarm. It is the rig's proxy network, which cc-ci creates before a deploy: this is a rig problem, not the recipe's; report it to the cc-ci operators"
        )
    } else {
        format!(
            "network `{name}`{declared} is declared `external: true` but does not exist on the swarm, and nothing creates it for the app. A Co-op Cloud app may rely only on the `proxy` network (cc-ci creates it); drop `external: true` so the stack creates `{name}` itself, or use `proxy`"
        )
    })
}

/// `service <svc>: secret not found: <name>` / `config not found`.
fn object_not_found(line: &str, facts: &Facts) -> Option<String> {
    let (service, rest) = match line.strip_prefix("service ") {
        Some(r) => {
            let (svc, rest) = r.split_once(": ")?;
            (Some(svc), rest)
        }
        None => (None, line),
    };
    let (kind, name) = if let Some(n) = rest.strip_prefix("secret not found: ") {
        ("secret", n.trim())
    } else if let Some(n) = rest.strip_prefix("config not found: ") {
        ("config", n.trim())
    } else {
        return None;
    };
    let section = format!("{kind}s");
    let entry = facts.find_by_engine_name(&section, name);
    let user = service
        .map(|s| format!("service `{s}` uses "))
        .unwrap_or_default();
    let key = entry.as_ref().map(|e| e.key.clone()).unwrap_or_else(|| {
        // abra's naming: `<stack>_<key>_<version>`.
        let bare = name
            .strip_prefix(&format!("{}_", facts.recipe.stack))
            .unwrap_or(name);
        match bare.rsplit_once('_') {
            Some((k, _)) if !k.is_empty() => k.to_string(),
            _ => bare.to_string(),
        }
    });
    let declared = entry
        .as_ref()
        .map(|e| format!(" ({section}.{} in {})", e.key, e.file))
        .unwrap_or_default();
    let mut text = format!(
        "{user}{kind} `{key}`{declared}, engine name `{name}`, which does not exist on the swarm."
    );
    if kind == "config" {
        let drop = if entry.as_ref().is_none_or(|e| e.external) {
            "drop `external: true` and "
        } else {
            ""
        };
        text.push_str(&format!(
            " Neither abra nor cc-ci creates configs: {drop}give configs.{key} a `file:` in the recipe (with a versioned `name:`), so the stack creates it."
        ));
        return Some(text);
    }
    let var = format!("SECRET_{}_VERSION", key.to_ascii_uppercase());
    let template = format!("${{STACK_NAME}}_{key}_${{{var}}}");
    match (&entry, facts.setting(&var)) {
        (None, _) => text.push_str(&format!(
            " Declare it so abra and cc-ci generate it: in cc-ci every secret the compose declares with a `{var}` line in .env.sample is generated; add `secrets: {key}: {{external: true, name: {template}}}` at the top level of the compose file and `{var}=v1` to .env.sample."
        )),
        (Some(_), None) => text.push_str(&format!(
            " Declare its version so abra and cc-ci generate it: in cc-ci every secret the compose declares with a `{var}` line in .env.sample is generated; add `{var}=v1` to .env.sample and name it `{template}`."
        )),
        (Some(e), Some((file, s))) => text.push_str(&format!(
            " cc-ci generates it as `<stack>_{key}_<{var}>` ({var} is set in {file} line {line}); its `name:` ({current}) must follow that naming: `{template}`.",
            line = s.line,
            current = e.template.as_deref().unwrap_or("none"),
        )),
    }
    Some(text)
}

/// `service <svc>: undefined secret "<key>"` (config, network, volume).
fn undefined_reference(line: &str, facts: &Facts) -> Option<String> {
    let rest = line.strip_prefix("service ")?;
    let (service, rest) = rest.split_once(": undefined ")?;
    let (kind, rest) = rest.split_once(" \"")?;
    let key = rest.strip_suffix('"')?;
    if !matches!(kind, "secret" | "config" | "network" | "volume") {
        return None;
    }
    let files = facts.files_with(&["services", service, &format!("{kind}s")]);
    let where_ = if files.is_empty() {
        String::new()
    } else {
        format!(
            " ({})",
            files
                .iter()
                .map(|(f, l)| at(f, *l))
                .collect::<Vec<_>>()
                .join(", ")
        )
    };
    let fix = match kind {
        "secret" => format!(
            "declare it under top-level `secrets:` (`{key}: {{external: true, name: ${{STACK_NAME}}_{key}_${{SECRET_{up}_VERSION}}}}`) with `SECRET_{up}_VERSION=v1` in .env.sample, so abra and cc-ci generate it",
            up = key.to_ascii_uppercase()
        ),
        "config" => format!(
            "declare it under top-level `configs:` with a `file:` and a versioned `name:` (`${{STACK_NAME}}_{key}_${{{up}_VERSION}}`, `export {up}_VERSION=v1` in abra.sh)",
            up = key.to_ascii_uppercase()
        ),
        _ => format!("declare `{key}` under top-level `{kind}s:`"),
    };
    Some(format!(
        "service `{service}`{where_} uses {kind} `{key}`, which no top-level `{kind}s:` of the compose files declares: {fix}"
    ))
}

/// `open <dir>/<file>: no such file or directory` for a config's or secret's `file:`.
fn missing_file(line: &str, facts: &Facts) -> Option<String> {
    let rest = line.strip_prefix("open ")?;
    let path = rest.strip_suffix(": no such file or directory")?;
    for section in ["configs", "secrets"] {
        for (file, key, value) in facts.entries(section) {
            let Some(source) = value.get("file").and_then(Value::as_str) else {
                continue;
            };
            let source = interpolate(source, &facts.vars).unwrap_or_else(|_| source.into());
            let tail = source.trim_start_matches("./");
            if path == source || path.ends_with(&format!("/{tail}")) {
                return Some(format!(
                    "{section}.{key} in {file} reads `file: {source}`, which is not in the recipe: add the file or fix the path (relative to the recipe directory)"
                ));
            }
        }
    }
    None
}

const TOP_LEVEL: &[&str] = &[
    "services", "networks", "volumes", "secrets", "configs", "version",
];

/// A schema error: `<path> <description>`.
fn schema(line: &str, facts: &Facts) -> Option<String> {
    let (path, description) = line.split_once(' ')?;
    let root = path == "(root)";
    if !root
        && !TOP_LEVEL
            .iter()
            .any(|t| path == *t || path.starts_with(&format!("{t}.")))
    {
        return None;
    }
    let mut segments: Vec<&str> = if root {
        Vec::new()
    } else {
        path.split('.').collect()
    };
    let shown_files = |segments: &[&str]| -> Option<String> {
        let files = facts.files_with(segments);
        if files.is_empty() {
            return None;
        }
        Some(
            files
                .iter()
                .map(|(f, l)| at(f, *l))
                .collect::<Vec<_>>()
                .join(", "),
        )
    };
    if let Some(rest) = description.strip_prefix("Additional property ") {
        let property = rest.strip_suffix(" is not allowed")?;
        segments.push(property);
        let files = shown_files(&segments)?;
        let key = segments.join(".");
        let under = if root {
            "at the top level".to_string()
        } else {
            format!("under `{path}`")
        };
        return Some(format!(
            "`{key}` ({files}) is not a valid compose key for `docker stack deploy`: the compose file format allows no `{property}` {under} (a typo, or an option of docker compose that swarm stacks do not have); fix or remove it"
        ));
    }
    let files = shown_files(&segments)?;
    let problem = match description.strip_prefix("must be a ") {
        Some(ty) => {
            let article = if ty.starts_with(['a', 'e', 'i', 'o', 'u']) {
                "an"
            } else {
                "a"
            };
            format!("its value must be {article} {ty}")
        }
        None => description.to_string(),
    };
    Some(format!(
        "`{path}` ({files}) is not valid for `docker stack deploy`: {problem}; fix the value in the compose file"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    const COMPOSE: &str = r#"---
version: "3.8"

services:
  app:
    image: ccci-fixture:1.2.0
    networks:
      - proxy
    secrets:
      - db_password
    configs:
      - source: app_conf
        target: /etc/app.conf
    deploy:
      replicas: "two"
      restart_policy:
        conditoin: any
    foo: bar

secrets:
  db_password:
    external: true
    name: ${STACK_NAME}_db_password_${SECRET_DB_PASSWORD_VERSION}
  admin_token:
    external: true
    name: ${STACK_NAME}_admin_token_${SECRET_ADMIN_TOKEN_VERSION}
  api_key:
    name: ${STACK_NAME}_api_key_${SECRET_API_KEY_VERSION}
    file: api_key.txt

configs:
  app_conf:
    name: ${STACK_NAME}_app_conf_${FIXTURE_CONF_VERSION}
    file: app.conf
  nginx_conf:
    name: ${STACK_NAME}_nginx_conf
    file: nginx.conf
  entrypoint:
    name: ${STACK_NAME}_entrypoint_${ENTRYPOINT_VERSION}
    file: entrypoint.sh
  remote_conf:
    external: true
    name: ${STACK_NAME}_remote_conf_v1

networks:
  proxy:
    external: true
  backend:
    external: true
    name: shared_backend
"#;

    const OVERLAY: &str =
        "version: \"3.8\"\nservices:\n  app:\n    deploy:\n      lables:\n        - a=b\n";

    const ABRA_SH: &str =
        "#!/bin/bash\n# Version pins of configs\nexport FIXTURE_CONF_VERSION=v1\n\nfoo() {\n  echo hi\n}\n";

    const ENV_SAMPLE: &str = "TYPE=fixture-web\nDOMAIN=fixture-web.example.com\n\nSECRET_DB_PASSWORD_VERSION=v1 # length=32\nSECRET_API_KEY_VERSION=v3\n";

    fn facts() -> RecipeFacts {
        RecipeFacts {
            stack: "dex1".into(),
            compose_files: vec![
                ("compose.yml".into(), COMPOSE.into()),
                ("compose.extra.yml".into(), OVERLAY.into()),
            ],
            abra_sh: Some(ABRA_SH.into()),
            env_sample: Some(ENV_SAMPLE.into()),
        }
    }

    /// (docker's stderr as recorded on the real swarm, words the explanation must contain).
    const CASES: &[(&str, &[&str])] = &[
        // A config edited without a version bump.
        (
            "failed to update config dex1_app_conf_v1: Error response from daemon: rpc error: code = InvalidArgument desc = only updates to Labels are allowed",
            &["config `app_conf`", "configs.app_conf in compose.yml", "`app.conf`", "FIXTURE_CONF_VERSION", "abra.sh line 3", "now `v1`", "`v2`"],
        ),
        // The same, behind cc-ci's prefix.
        (
            "docker stack deploy dex1 failed: failed to update config dex1_app_conf_v1: Error response from daemon: rpc error: code = InvalidArgument desc = only updates to Labels are allowed",
            &["config `app_conf`", "FIXTURE_CONF_VERSION", "abra.sh line 3"],
        ),
        // A name without a version.
        (
            "failed to update config dex1_nginx_conf: Error response from daemon: rpc error: code = InvalidArgument desc = only updates to Labels are allowed",
            &["config `nginx_conf`", "has no version", "NGINX_CONF_VERSION", "abra.sh"],
        ),
        // A version variable set nowhere (the name ends in `_`).
        (
            "failed to update config dex1_entrypoint_: Error response from daemon: rpc error: code = InvalidArgument desc = only updates to Labels are allowed",
            &["config `entrypoint`", "ENTRYPOINT_VERSION", "neither abra.sh nor .env.sample"],
        ),
        // A file secret edited without a version bump.
        (
            "failed to update secret dex1_api_key_v3: Error response from daemon: rpc error: code = InvalidArgument desc = only updates to Labels are allowed",
            &["secret `api_key`", "secrets.api_key in compose.yml", "SECRET_API_KEY_VERSION", ".env.sample line 5", "now `v3`", "`v4`"],
        ),
        // A missing external network.
        (
            "network \"shared_backend\" is declared as external, but could not be found. You need to create a swarm-scoped network before the stack is deployed",
            &["network `shared_backend`", "networks.backend in compose.yml", "external: true", "`proxy`"],
        ),
        (
            "network \"proxy\" is declared as external, but could not be found. You need to create a swarm-scoped network before the stack is deployed",
            &["network `proxy`", "networks.proxy in compose.yml", "cc-ci creates"],
        ),
        // A secret that does not exist.
        (
            "service app: secret not found: dex1_admin_token_v1",
            &["service `app`", "secret `admin_token`", "secrets.admin_token in compose.yml", "SECRET_ADMIN_TOKEN_VERSION=v1", ".env.sample", "generate"],
        ),
        (
            "service app: secret not found: dex1_smtp_password_v1",
            &["secret `smtp_password`", "SECRET_SMTP_PASSWORD_VERSION", "top level"],
        ),
        (
            "service app: config not found: dex1_remote_conf_v1",
            &["config `remote_conf`", "configs.remote_conf in compose.yml", "file:"],
        ),
        // References to something never declared.
        (
            "service app: undefined secret \"db_pass\"",
            &["service `app`", "compose.yml line 9", "secret `db_pass`", "SECRET_DB_PASS_VERSION"],
        ),
        (
            "service app: undefined volume \"data\"",
            &["volume `data`", "top-level `volumes:`"],
        ),
        // A config's file that is not in the recipe.
        (
            "open /tmp/ccci/recipe/app.conf: no such file or directory",
            &["configs.app_conf in compose.yml", "`file: app.conf`"],
        ),
        // Schema errors.
        (
            "services.app Additional property foo is not allowed",
            &["`services.app.foo`", "compose.yml line 18", "not a valid compose key for `docker stack deploy`"],
        ),
        (
            "services.app.deploy.restart_policy Additional property conditoin is not allowed",
            &["`services.app.deploy.restart_policy.conditoin`", "compose.yml line 17", "not a valid compose key"],
        ),
        (
            "services.app.deploy Additional property lables is not allowed",
            &["`services.app.deploy.lables`", "compose.extra.yml line 5"],
        ),
        (
            "services.app.deploy.replicas must be a integer",
            &["`services.app.deploy.replicas`", "compose.yml line 15", "must be an integer"],
        ),
    ];

    #[test]
    fn recognised_failures_name_the_key_the_file_and_the_fix() {
        let facts = facts();
        for (stderr, words) in CASES {
            let e = explain(stderr, &facts).unwrap_or_else(|| panic!("not explained: {stderr}"));
            for w in *words {
                assert!(e.text.contains(w), "{stderr}\n→ {}\nlacks {w:?}", e.text);
            }
            assert!(stderr.ends_with(&e.docker_line), "{stderr}");
            assert!(e
                .message()
                .ends_with(&format!("\n(docker: {})", e.docker_line)));
        }
    }

    #[test]
    fn warnings_before_the_error_are_skipped() {
        let stderr = "docker stack deploy dex1 failed: Ignoring unsupported options: build\n\nIgnoring deprecated options:\n\ncontainer_name: Setting the container name is not supported.\n\nservices.app Additional property foo is not allowed";
        let e = explain(stderr, &facts()).unwrap();
        assert_eq!(
            e.docker_line,
            "services.app Additional property foo is not allowed"
        );
    }

    #[test]
    fn other_failures_keep_dockers_text() {
        let facts = facts();
        for stderr in [
            "Error response from daemon: This node is not a swarm manager. Use \"docker swarm init\" or \"docker swarm join\" to connect this node to swarm and try again.",
            "failed to create service dex1_app: Error response from daemon: rpc error: code = Unknown desc = update out of sequence",
            "Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?",
            // A schema path none of the recipe's files has (cc-ci's own overlay).
            "services.web Additional property foo is not allowed",
            "",
        ] {
            assert_eq!(explain(stderr, &facts), None, "{stderr}");
        }
    }

    #[test]
    fn dotenv_sample_wins_over_abra_sh_as_in_cc_ci_interpolation() {
        let mut f = facts();
        f.env_sample = Some(format!("{ENV_SAMPLE}FIXTURE_CONF_VERSION=v7\n"));
        let e = explain(
            "failed to update config dex1_app_conf_v7: Error response from daemon: rpc error: code = InvalidArgument desc = only updates to Labels are allowed",
            &f,
        )
        .unwrap();
        assert!(e.text.contains(".env.sample line 6"), "{}", e.text);
        assert!(e.text.contains("`v8`"), "{}", e.text);
    }

    #[test]
    fn a_name_template_matches_when_values_differ_from_the_files() {
        // The deployed value came from elsewhere (an operator's .env): the template still
        // identifies the config.
        let e = explain(
            "failed to update config dex1_app_conf_v9: Error response from daemon: rpc error: code = InvalidArgument desc = only updates to Labels are allowed",
            &facts(),
        )
        .unwrap();
        assert!(e.text.contains("config `app_conf`"), "{}", e.text);
    }

    #[test]
    fn helpers() {
        assert_eq!(
            template_vars("${STACK_NAME}_x_${A_VERSION}_$B_C-${D:-v1}$$E"),
            ["A_VERSION", "B_C", "D"]
        );
        let p = template_pieces("dex1_app_conf_${V}");
        assert!(glob_match(&p, "dex1_app_conf_v1"));
        assert!(glob_match(&p, "dex1_app_conf_"));
        assert!(!glob_match(&p, "dex1_nginx_conf_v1"));
        assert_eq!(next_version("v1").as_deref(), Some("v2"));
        assert_eq!(next_version("9").as_deref(), Some("10"));
        assert_eq!(next_version("stable"), None);
    }
}
