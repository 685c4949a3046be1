//! What docker will deploy, judged before every deploy (docs/behaviour.md §7, "the host is not the
//! recipe's"; ARCHITECTURE.md "Threat model").
//!
//! The input is `docker stack config`'s output for the exact files and environment the
//! deploy will use: docker's own YAML loader, overlay merge (volumes by target, `cap_add`
//! appended) and interpolation. cc-ci's own parse of the compose files is never what is
//! judged. On that document this module finds:
//!
//! - **host paths** docker reads on the CI host as root ([`host_paths`]): bind-mount
//!   sources, `configs`/`secrets` `file:`, `env_file:`. The runner resolves each (links
//!   followed) into a [`Place`]; a file that is not inside the recipe's checkout is refused
//!   ([`Breach::File`]), whatever the operator allows.
//! - **service grants** ([`crate::host_access`]'s keys: bind mounts, the Docker socket,
//!   capabilities, host namespaces, …), compared with the base release's, as before.
//! - **engine objects outside the stack** ([`Breach::Object`]): a volume that is external,
//!   names an engine volume outside the stack's `<stack>_` prefix, or has a driver or
//!   `driver_opts` (other than a plain tmpfs); a secret or config that is external or named
//!   outside the prefix; a network other than the rig's `proxy` that is external, named
//!   outside the prefix, or not an overlay. Each is refused unless the operator's allow list
//!   in the CI's tree names its key (`volume:<key>`, `secret:<key>`, `config:<key>`,
//!   `network:<name>`).
//! - **the images** docker will deploy ([`Deployed::images`]): the only images cc-ci pulls
//!   before a deploy, once the document passed (docs/pulls.md).

use crate::host_access::{self, Grant};
use crate::yaml::seq;
use serde_yaml_ng::Value;
use std::collections::BTreeMap;

/// `docker stack config`'s document.
#[derive(Clone, Debug)]
pub struct Deployed {
    doc: Value,
}

/// The document does not parse. Never carries the text: it holds the app's environment.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("docker stack config printed a document cc-ci cannot read (line {line})")]
pub struct DeployedError {
    pub line: usize,
}

impl Deployed {
    pub fn parse(text: &str) -> Result<Deployed, DeployedError> {
        let doc: Value = serde_yaml_ng::from_str(text).map_err(|e| DeployedError {
            line: e.location().map(|l| l.line()).unwrap_or(0),
        })?;
        Ok(Deployed { doc })
    }

    /// Each service's image as docker will deploy it (service → image): the images cc-ci
    /// makes present before the deploy, never those of its own reading of the compose
    /// files. Exactly as printed, spaces included (docker deploys that string); a service
    /// without one (docker refuses it at the deploy) names none.
    pub fn images(&self) -> BTreeMap<String, String> {
        self.section("services")
            .filter_map(|(service, svc)| {
                let image = svc.get("image").and_then(Value::as_str)?;
                (!image.trim().is_empty()).then(|| (service, image.to_string()))
            })
            .collect()
    }

    fn section(&self, name: &str) -> impl Iterator<Item = (String, &Value)> {
        self.doc
            .get(name)
            .and_then(Value::as_mapping)
            .into_iter()
            .flatten()
            .map(|(k, v)| (key_str(k), v))
    }
}

fn key_str(k: &Value) -> String {
    match k {
        Value::String(s) => s.clone(),
        other => serde_yaml_ng::to_string(other)
            .unwrap_or_default()
            .trim()
            .to_string(),
    }
}

fn text<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str).map(str::trim)
}

fn truthy(v: &Value, key: &str) -> bool {
    match v.get(key) {
        Some(Value::Bool(b)) => *b,
        Some(Value::String(s)) => s.trim() == "true",
        Some(Value::Mapping(_)) => true, // the old `external: {name: …}` form
        _ => false,
    }
}

/// Why docker reads a host path.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Reader {
    /// A bind mount of the service.
    Bind { service: String },
    /// A config's `file:` (`configs.<key>`).
    Config { key: String },
    /// A secret's `file:`.
    Secret { key: String },
    /// A service's `env_file:`.
    EnvFile { service: String },
}

impl Reader {
    fn describe(&self) -> String {
        match self {
            Reader::Bind { service } => format!("service {service} bind-mounts"),
            Reader::Config { key } => format!("config `{key}` (file:) reads"),
            Reader::Secret { key } => format!("secret `{key}` (file:) reads"),
            Reader::EnvFile { service } => format!("service {service} (env_file:) reads"),
        }
    }
}

/// A host path docker will read, as `docker stack config` prints it (absolute, or an
/// `env_file` relative to the deploy's working directory).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct HostPath {
    pub reader: Reader,
    pub path: String,
}

/// Every host path the document makes docker read.
pub fn host_paths(d: &Deployed) -> Vec<HostPath> {
    let mut out = Vec::new();
    for (kind, section) in [("config", "configs"), ("secret", "secrets")] {
        for (key, def) in d.section(section) {
            if let Some(path) = text(def, "file") {
                let reader = if kind == "config" {
                    Reader::Config { key }
                } else {
                    Reader::Secret { key }
                };
                out.push(HostPath {
                    reader,
                    path: path.to_string(),
                });
            }
        }
    }
    for (service, svc) in d.section("services") {
        for path in env_files(svc.get("env_file")) {
            out.push(HostPath {
                reader: Reader::EnvFile {
                    service: service.clone(),
                },
                path,
            });
        }
        for mount in seq(svc.get("volumes")) {
            if let Some(source) = bind_source(mount) {
                out.push(HostPath {
                    reader: Reader::Bind {
                        service: service.clone(),
                    },
                    path: source,
                });
            }
        }
    }
    out.sort();
    out.dedup();
    out
}

fn env_files(v: Option<&Value>) -> Vec<String> {
    match v {
        Some(Value::String(s)) => vec![s.trim().to_string()],
        Some(Value::Sequence(items)) => items
            .iter()
            .filter_map(|i| match i {
                Value::String(s) => Some(s.trim().to_string()),
                long => text(long, "path").map(str::to_string),
            })
            .collect(),
        _ => Vec::new(),
    }
}

/// The host source of a bind mount (long syntax, as docker prints it; short syntax too).
fn bind_source(mount: &Value) -> Option<String> {
    match mount {
        Value::String(short) => {
            let (source, _) = short.split_once(':')?;
            let source = source.trim();
            (source.starts_with('/') || source.starts_with('.') || source.starts_with('~'))
                .then(|| source.to_string())
        }
        long => {
            let kind = text(long, "type");
            let source = text(long, "source")?;
            let host = kind == Some("bind")
                || (kind.is_none() && (source.starts_with('/') || source.starts_with('.')));
            host.then(|| source.to_string())
        }
    }
}

/// Where a host path resolves, links followed (the runner's finding).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Place {
    /// Inside the recipe's checkout, at this path relative to it.
    Inside(String),
    /// Outside the checkout. `written_inside`: the path as written is inside the
    /// checkout, and a link takes it out.
    Outside { written_inside: bool },
    /// Nothing there.
    Missing,
}

/// What the operator may allow: an engine object outside the stack's own namespace.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum ObjectKind {
    Volume,
    Secret,
    Config,
    Network,
}

impl ObjectKind {
    fn word(self) -> &'static str {
        match self {
            ObjectKind::Volume => "volume",
            ObjectKind::Secret => "secret",
            ObjectKind::Config => "config",
            ObjectKind::Network => "network",
        }
    }
}

/// Something docker would do that cc-ci refuses outright, or unless allowed.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Breach {
    /// A host file docker would read that is not inside the checkout (never allowed).
    File {
        reader: Reader,
        path: String,
        why: FileWhy,
    },
    /// An engine object outside the stack (allowed only by `allow_key`).
    Object {
        kind: ObjectKind,
        key: String,
        why: String,
        allow_key: String,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum FileWhy {
    Outside,
    LinkOutside,
    Missing,
}

impl Breach {
    /// The message for the maintainer: what, where, and the fix. Never a file's content.
    pub fn message(&self) -> String {
        match self {
            Breach::File { reader, path, why } => {
                let what = match why {
                    FileWhy::Outside => "a path outside the recipe's checkout",
                    FileWhy::LinkOutside => {
                        "a path inside the checkout that a link takes outside it"
                    }
                    FileWhy::Missing => "a path that does not exist in the checkout",
                };
                format!(
                    "{} {path}: {what}. Docker reads such files on the CI host as root, so \
                     cc-ci never deploys them; keep the file in the recipe (a link to \
                     another file of the recipe is fine)",
                    reader.describe()
                )
            }
            Breach::Object {
                kind,
                key,
                why,
                allow_key,
            } => format!(
                "{} `{key}` {why}: it is not the stack's own, so cc-ci refuses it unless the \
                 operator allows it in the CI's tree: [host_access] allow = [\"{allow_key}\"]",
                kind.word()
            ),
        }
    }

    fn allowed(&self, allow: &[String]) -> bool {
        match self {
            Breach::File { .. } => false,
            Breach::Object { allow_key, .. } => allow.contains(allow_key),
        }
    }
}

/// The document judged: service grants (compared with the base by the caller) and breaches
/// the operator did not allow.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Judged {
    pub grants: Vec<Grant>,
    pub breaches: Vec<Breach>,
}

/// Judges the document of stack `stack`: `places` maps each [`host_paths`] path to where it
/// resolves; `proxy` is the rig's network; `allow` the operator's keys.
pub fn judge(
    d: &Deployed,
    stack: &str,
    proxy: &str,
    places: &BTreeMap<String, Place>,
    allow: &[String],
) -> Judged {
    let mut grants = Vec::new();
    for (service, svc) in d.section("services") {
        grants.extend(
            host_access::grants_of(&d.doc, &service, svc)
                .into_iter()
                .filter_map(|g| inside_binds(g, places)),
        );
    }
    let mut breaches = file_breaches(d, places);
    breaches.extend(object_breaches(d, stack, proxy));
    breaches.retain(|b| !b.allowed(allow));
    breaches.sort();
    breaches.dedup();
    Judged { grants, breaches }
}

/// A bind of a path inside the checkout is keyed by its place in the recipe (`bind:./conf`),
/// so the base's checkout and the head's compare; one a link takes outside is a breach, not
/// a grant.
fn inside_binds(mut g: Grant, places: &BTreeMap<String, Place>) -> Option<Grant> {
    let Some(path) = g.key.strip_prefix("bind:") else {
        return Some(g);
    };
    match places.get(path).or_else(|| places.get(&g.needle)) {
        Some(Place::Inside(rel)) => {
            g.key = format!("bind:./{}", rel.trim_start_matches("./"));
            Some(g)
        }
        Some(Place::Outside {
            written_inside: true,
        }) => None,
        _ => Some(g),
    }
}

fn file_breaches(d: &Deployed, places: &BTreeMap<String, Place>) -> Vec<Breach> {
    host_paths(d)
        .into_iter()
        .filter_map(|hp| {
            let bind = matches!(hp.reader, Reader::Bind { .. });
            let why = match places.get(&hp.path) {
                Some(Place::Inside(_)) => return None,
                // A bind of a host path outside the checkout is a grant, judged as before.
                Some(Place::Outside {
                    written_inside: false,
                }) if bind => return None,
                Some(Place::Missing) if bind => return None,
                Some(Place::Outside {
                    written_inside: true,
                }) => FileWhy::LinkOutside,
                Some(Place::Outside { .. }) => FileWhy::Outside,
                Some(Place::Missing) | None => FileWhy::Missing,
            };
            Some(Breach::File {
                reader: hp.reader,
                path: hp.path,
                why,
            })
        })
        .collect()
}

fn object_breaches(d: &Deployed, stack: &str, proxy: &str) -> Vec<Breach> {
    let prefix = format!("{stack}_");
    let mut out = Vec::new();
    let mut refuse = |kind: ObjectKind, key: &str, why: String, allow: &str| {
        out.push(Breach::Object {
            kind,
            key: key.to_string(),
            why,
            allow_key: format!("{}:{allow}", kind.word()),
        })
    };
    for (key, def) in d.section("volumes") {
        if let Some(why) = volume_outside(&key, def, &prefix) {
            refuse(ObjectKind::Volume, &key, why, &key);
        }
    }
    for (kind, section) in [
        (ObjectKind::Secret, "secrets"),
        (ObjectKind::Config, "configs"),
    ] {
        for (key, def) in d.section(section) {
            if let Some(why) = named_outside(&key, def, &prefix) {
                refuse(kind, &key, why, &key);
            }
        }
    }
    for (key, def) in d.section("networks") {
        let external = truthy(def, "external");
        let name = text(def, "name").unwrap_or(&key).to_string();
        if external && name == proxy {
            continue;
        }
        let why = if external {
            Some(format!("joins the existing network {name}"))
        } else if let Some(driver) = text(def, "driver").filter(|d| *d != "overlay") {
            Some(format!("uses the {driver} network driver"))
        } else if text(def, "name").is_some_and(|n| !n.starts_with(&prefix)) {
            Some(format!(
                "is named {name}, outside the stack's {prefix} prefix"
            ))
        } else {
            None
        };
        if let Some(why) = why {
            refuse(ObjectKind::Network, &key, why, &name);
        }
    }
    out
}

fn volume_outside(key: &str, def: &Value, prefix: &str) -> Option<String> {
    if let Some(why) = named_outside(key, def, prefix) {
        return Some(why);
    }
    if let Some(driver) = text(def, "driver").filter(|d| *d != "local") {
        return Some(format!("uses the volume driver {driver}"));
    }
    let opts = def.get("driver_opts").and_then(Value::as_mapping)?;
    let tmpfs = opts.iter().all(|(k, v)| match k.as_str() {
        Some("type") | Some("device") => v.as_str().map(str::trim) == Some("tmpfs"),
        Some("o") => !v
            .as_str()
            .unwrap_or("")
            .split(',')
            .any(|o| matches!(o.trim(), "bind" | "rbind")),
        _ => false,
    });
    (!tmpfs).then(|| {
        let device = opts
            .get("device")
            .and_then(Value::as_str)
            .map(|d| format!(" (device {d})"))
            .unwrap_or_default();
        format!("has driver_opts other than a tmpfs{device}")
    })
}

/// An external object, or one named outside the stack's prefix.
fn named_outside(key: &str, def: &Value, prefix: &str) -> Option<String> {
    let name = text(def, "name");
    if truthy(def, "external") {
        let name = name.unwrap_or(key);
        if !name.starts_with(prefix) {
            return Some(format!(
                "is external ({name}), another stack's or the host's"
            ));
        }
        return None;
    }
    name.filter(|n| !n.starts_with(prefix))
        .map(|n| format!("is named {n}, outside the stack's {prefix} prefix"))
}

/// Keys an operator may write for objects (validated with the host-access keys).
pub fn validate_object_key(key: &str) -> Option<Result<(), String>> {
    let (kind, value) = key.split_once(':')?;
    if !matches!(kind, "volume" | "secret" | "config" | "network") {
        return None;
    }
    Some(if value.trim().is_empty() || value.trim() != value {
        Err(format!(
            "`{key}` names no {kind}; write {kind}:<its key in the compose file>"
        ))
    } else {
        Ok(())
    })
}

/// Every `file` and `env_file` value anywhere in a raw compose document (anchors, merge
/// keys and extension fields included: a value docker might use is checked before docker
/// reads it). Values are as written: the caller interpolates and resolves them.
pub fn raw_file_values(doc: &Value) -> Vec<String> {
    let mut out = Vec::new();
    walk(doc, &mut out);
    out.sort();
    out.dedup();
    out
}

/// [`raw_file_values`] of a compose text; a text that is not YAML yields none (docker
/// refuses it too, before reading any file it names).
pub fn raw_file_values_of(text: &str) -> Vec<String> {
    serde_yaml_ng::from_str::<Value>(text)
        .map(|doc| raw_file_values(&doc))
        .unwrap_or_default()
}

fn walk(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Mapping(m) => {
            for (k, v) in m {
                if matches!(k.as_str(), Some("file") | Some("env_file")) {
                    match v {
                        Value::String(s) => out.push(s.trim().to_string()),
                        Value::Sequence(items) => out.extend(
                            items
                                .iter()
                                .filter_map(Value::as_str)
                                .map(|s| s.trim().to_string()),
                        ),
                        _ => {}
                    }
                }
                walk(v, out);
            }
        }
        Value::Sequence(items) => items.iter().for_each(|i| walk(i, out)),
        Value::Tagged(t) => walk(&t.value, out),
        _ => {}
    }
}

#[cfg(test)]
mod tests;
