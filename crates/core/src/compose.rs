//! Compose files as `docker stack deploy` reads them, interpreted just enough for cc-ci:
//! which services exist, their images, deploy labels, replicas and restart policy, and the
//! stack's secrets, volumes, networks and configs — after `COMPOSE_FILE` overlays are merged
//! and `$VAR` interpolation is applied. The deploy itself is left to `docker stack deploy`.

use crate::yaml::names;
use serde_yaml_ng::{Mapping, Value};
use std::collections::{BTreeMap, BTreeSet};
use thiserror::Error;

#[derive(Clone, Debug, Error, PartialEq, Eq)]
#[error("{file}: {message}")]
pub struct ComposeError {
    pub file: String,
    pub message: String,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StackModel {
    pub services: BTreeMap<String, ServiceModel>,
    /// Top-level secrets: key → the engine name (`name:`), if set.
    pub secrets: BTreeMap<String, Option<String>>,
    pub volumes: BTreeSet<String>,
    /// Top-level networks: key → external?
    pub networks: BTreeMap<String, bool>,
    pub configs: BTreeMap<String, Option<String>>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ServiceModel {
    pub image: String,
    /// `deploy.labels`.
    pub labels: BTreeMap<String, String>,
    /// `deploy.mode`: `replicated` (default), `global`, `replicated-job`, `global-job`.
    pub mode: String,
    pub replicas: Option<u64>,
    /// `deploy.restart_policy.condition`: `any` (default), `on-failure`, `none`.
    pub restart_condition: String,
    pub has_healthcheck: bool,
    /// Named volumes mounted: volume key → container path.
    pub volume_mounts: BTreeMap<String, String>,
    pub secrets: Vec<String>,
    /// `depends_on` (swarm ignores it; readiness uses it to name a failing dependency).
    pub depends_on: Vec<String>,
    /// Publishes a port through the ingress routing mesh (`ports:` without `mode: host`),
    /// which `endpoint_mode: dnsrr` does not allow.
    pub ingress_ports: bool,
    /// What the service asks of the host (bind mounts, host namespaces, devices,
    /// capabilities, …): see [`crate::host_access`].
    pub host_access: Vec<crate::host_access::Grant>,
}

impl StackModel {
    /// Every service's host-access grants.
    pub fn grants(&self) -> Vec<crate::host_access::Grant> {
        let services = self.services.values();
        services
            .flat_map(|s| s.host_access.iter().cloned())
            .collect()
    }

    pub fn images(&self) -> BTreeSet<String> {
        self.services.values().map(|s| s.image.clone()).collect()
    }
}

/// Loads and merges `files` (name, text) in order, interpolating with `env`.
pub fn load_stack(
    files: &[(String, String)],
    env: &BTreeMap<String, String>,
) -> Result<StackModel, ComposeError> {
    let mut merged = Value::Mapping(Mapping::new());
    for (name, text) in files {
        let err = |message: String| ComposeError {
            file: name.clone(),
            message,
        };
        let mut doc: Value = serde_yaml_ng::from_str(text).map_err(|e| {
            err(match e.location() {
                Some(l) => format!(
                    "invalid YAML at line {}, column {}: {e}",
                    l.line(),
                    l.column()
                ),
                None => format!("invalid YAML: {e}"),
            })
        })?;
        if !doc.is_mapping() {
            return Err(err(
                "the top level must be a mapping with `services:`".into()
            ));
        }
        // `<<` merge keys, as docker's loader applies them.
        doc.apply_merge()
            .map_err(|e| err(format!("invalid merge key (`<<`): {e}")))?;
        interpolate_value(&mut doc, env, "").map_err(err)?;
        merge_file(&mut merged, doc);
    }
    let file_names = files
        .iter()
        .map(|(n, _)| n.as_str())
        .collect::<Vec<_>>()
        .join(", ");
    model_of(&merged).map_err(|message| ComposeError {
        file: file_names,
        message,
    })
}

fn model_of(doc: &Value) -> Result<StackModel, String> {
    let mut stack = StackModel::default();
    let services = doc
        .get("services")
        .and_then(Value::as_mapping)
        .ok_or("no `services:` mapping")?;
    if services.is_empty() {
        return Err("`services:` is empty".into());
    }
    for (key, svc) in services {
        let name = key.as_str().ok_or("a service name is not a string")?;
        let mut service = service_of(name, svc)?;
        service.host_access = crate::host_access::grants_of(doc, name, svc);
        stack.services.insert(name.to_string(), service);
    }
    for (key, value) in section(doc, "secrets") {
        stack.secrets.insert(key, string_at(&value, "name"));
    }
    for (key, _) in section(doc, "volumes") {
        stack.volumes.insert(key);
    }
    for (key, value) in section(doc, "networks") {
        let external = value
            .get("external")
            .map(|v| v.as_bool().unwrap_or(true))
            .unwrap_or(false);
        stack.networks.insert(key, external);
    }
    for (key, value) in section(doc, "configs") {
        stack.configs.insert(key, string_at(&value, "name"));
    }
    Ok(stack)
}

fn section(doc: &Value, key: &str) -> Vec<(String, Value)> {
    doc.get(key)
        .and_then(Value::as_mapping)
        .map(|m| {
            m.iter()
                .filter_map(|(k, v)| Some((k.as_str()?.to_string(), v.clone())))
                .collect()
        })
        .unwrap_or_default()
}

fn service_of(name: &str, svc: &Value) -> Result<ServiceModel, String> {
    let image = image_of(name, svc)?;
    let deploy = |path: &[&str]| deploy_value(svc, path);
    Ok(ServiceModel {
        depends_on: names(svc.get("depends_on")),
        ingress_ports: has_ingress_port(svc),
        image,
        labels: labels_of(deploy(&["labels"])),
        mode: deploy(&["mode"])
            .and_then(Value::as_str)
            .unwrap_or("replicated")
            .to_string(),
        replicas: replicas_of(name, deploy(&["replicas"]))?,
        restart_condition: deploy(&["restart_policy", "condition"])
            .and_then(Value::as_str)
            .unwrap_or("any")
            .to_string(),
        has_healthcheck: has_healthcheck(svc),
        volume_mounts: named_volume_mounts(svc),
        secrets: secrets_of(svc),
        host_access: Vec::new(),
    })
}

/// `image:`, trimmed: a service must name one (cc-ci deploys images, it does not build them).
fn image_of(name: &str, svc: &Value) -> Result<String, String> {
    svc.get("image")
        .and_then(Value::as_str)
        .filter(|i| !i.trim().is_empty())
        .map(|i| i.trim().to_string())
        .ok_or_else(|| {
            format!(
                "service `{name}` has no `image:` (cc-ci deploys images, it does not build them)"
            )
        })
}

/// The value at `path` under the service's `deploy:`.
fn deploy_value<'a>(svc: &'a Value, path: &[&str]) -> Option<&'a Value> {
    path.iter().try_fold(svc.get("deploy")?, |v, p| v.get(p))
}

/// `deploy.replicas`, a whole number when given.
fn replicas_of(name: &str, replicas: Option<&Value>) -> Result<Option<u64>, String> {
    replicas
        .map(|v| {
            scalar(v)
                .and_then(|s| s.parse::<u64>().ok())
                .ok_or_else(|| format!("service `{name}`: deploy.replicas must be a whole number"))
        })
        .transpose()
}

/// The service's named volumes (not bind mounts) by source, each with its target.
fn named_volume_mounts(svc: &Value) -> BTreeMap<String, String> {
    let mut volume_mounts = BTreeMap::new();
    for mount in sequence(svc, "volumes") {
        let (source, target) = match mount {
            Value::String(short) => {
                let mut parts = short.split(':');
                (
                    parts.next().map(str::to_string),
                    parts.next().map(str::to_string),
                )
            }
            long => (string_at(long, "source"), string_at(long, "target")),
        };
        if let (Some(source), Some(target)) = (source, target) {
            // Bind mounts start with `/` or `.`; named volumes do not.
            if !source.starts_with('/') && !source.starts_with('.') && !source.starts_with('~') {
                volume_mounts.insert(source, target);
            }
        }
    }
    volume_mounts
}

/// The secrets the service uses: short syntax names, long syntax `source`s.
fn secrets_of(svc: &Value) -> Vec<String> {
    sequence(svc, "secrets")
        .filter_map(|s| match s {
            Value::String(name) => Some(name.clone()),
            long => string_at(long, "source"),
        })
        .collect()
}

/// A `healthcheck:` that is not `disable: true`.
fn has_healthcheck(svc: &Value) -> bool {
    svc.get("healthcheck")
        .map(|h| h.get("disable").and_then(Value::as_bool) != Some(true))
        .unwrap_or(false)
}

/// Any `ports:` entry published through the routing mesh.
fn has_ingress_port(svc: &Value) -> bool {
    sequence(svc, "ports").any(publishes_through_ingress)
}

/// The items of the sequence at `key` (none when it is absent or not a sequence).
fn sequence<'a>(svc: &'a Value, key: &str) -> impl Iterator<Item = &'a Value> {
    svc.get(key)
        .and_then(Value::as_sequence)
        .into_iter()
        .flatten()
}

fn string_at(v: &Value, key: &str) -> Option<String> {
    v.get(key).and_then(Value::as_str).map(str::to_string)
}

/// A `ports:` entry published through the routing mesh: short syntax with a host part
/// (`"8080:80"`), or long syntax with `published` and no `mode: host`.
fn publishes_through_ingress(port: &Value) -> bool {
    match port {
        Value::Mapping(_) => {
            port.get("published").is_some()
                && port.get("mode").and_then(Value::as_str) != Some("host")
        }
        other => scalar(other).is_some_and(|s| s.contains(':')),
    }
}

fn scalar(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// Labels as a list (`- "a=b"`) or a mapping (`a: b`).
pub(crate) fn labels_of(v: Option<&Value>) -> BTreeMap<String, String> {
    match v {
        Some(Value::Sequence(items)) => items
            .iter()
            .filter_map(Value::as_str)
            .map(|l| match l.split_once('=') {
                Some((k, v)) => (k.to_string(), v.to_string()),
                None => (l.to_string(), String::new()),
            })
            .collect(),
        Some(Value::Mapping(m)) => m
            .iter()
            .filter_map(|(k, v)| Some((k.as_str()?.to_string(), scalar(v).unwrap_or_default())))
            .collect(),
        _ => BTreeMap::new(),
    }
}

/// Merges one compose file over the files before it, as `docker stack deploy` does
/// (docker/cli's loader): services with [`merge_service`], everything else deep-merged.
pub(crate) fn merge_file(base: &mut Value, overlay: Value) {
    let (Value::Mapping(b), Value::Mapping(o)) = (&mut *base, overlay.clone()) else {
        return merge(base, overlay);
    };
    for (k, v) in o {
        match (k.as_str(), b.get_mut(&k)) {
            (Some("services"), Some(Value::Mapping(services))) => {
                let Value::Mapping(over) = v else {
                    continue;
                };
                for (name, svc) in over {
                    match services.get_mut(&name) {
                        Some(existing) => merge_service(existing, svc),
                        None => {
                            services.insert(name, svc);
                        }
                    }
                }
            }
            (_, Some(existing)) => merge(existing, v),
            (_, None) => {
                b.insert(k, v);
            }
        }
    }
}

/// One service of an overlay over the same service before it, with docker's rules: mounts
/// merged by target, secrets and configs by source, environment and labels by key, other
/// lists (`cap_add`, `devices`, `dns`, …) appended, `command`/`entrypoint` replaced,
/// mappings deep-merged.
pub(crate) fn merge_service(base: &mut Value, overlay: Value) {
    let (Value::Mapping(b), Value::Mapping(o)) = (&mut *base, overlay.clone()) else {
        return merge(base, overlay);
    };
    for (k, v) in o {
        let Some(existing) = b.get_mut(&k) else {
            b.insert(k, v);
            continue;
        };
        match k.as_str().unwrap_or("") {
            "volumes" => merge_seq_by(existing, v, |m| field_of(m, "target", 1)),
            "secrets" | "configs" => merge_seq_by(existing, v, |m| field_of(m, "source", 0)),
            "environment" | "labels" | "extra_hosts" => merge_keyed(existing, v),
            "deploy" => merge_deploy(existing, v),
            "command" | "entrypoint" => *existing = v,
            _ => match (&mut *existing, v) {
                (Value::Sequence(items), Value::Sequence(more)) => {
                    for item in more {
                        if !items.contains(&item) {
                            items.push(item);
                        }
                    }
                }
                (e, v) => merge(e, v),
            },
        }
    }
}

fn merge_deploy(base: &mut Value, overlay: Value) {
    let (Value::Mapping(b), Value::Mapping(o)) = (&mut *base, overlay.clone()) else {
        return merge(base, overlay);
    };
    for (k, v) in o {
        match (k.as_str(), b.get_mut(&k)) {
            (Some("labels"), Some(existing)) => merge_keyed(existing, v),
            (_, Some(existing)) => merge(existing, v),
            (_, None) => {
                b.insert(k, v);
            }
        }
    }
}

/// The merge key of a list entry: a long-syntax entry's `field`, or the `index`th
/// `:`-separated part of a short one (`data:/data` → target `/data`).
fn field_of(entry: &Value, field: &str, index: usize) -> String {
    match entry {
        Value::String(s) => s.split(':').nth(index).unwrap_or(s).trim().to_string(),
        long => long
            .get(field)
            .and_then(Value::as_str)
            .unwrap_or("")
            .trim()
            .to_string(),
    }
}

fn merge_seq_by(base: &mut Value, overlay: Value, key: impl Fn(&Value) -> String) {
    let (Value::Sequence(items), Value::Sequence(more)) = (&mut *base, overlay.clone()) else {
        return merge(base, overlay);
    };
    for item in more {
        let k = key(&item);
        match items.iter_mut().find(|i| key(i) == k) {
            Some(existing) => *existing = item,
            None => items.push(item),
        }
    }
}

/// Environment and labels, as a list of `K=V` or a mapping, merged by key.
fn merge_keyed(base: &mut Value, overlay: Value) {
    let mut map = keyed(base);
    for (k, v) in keyed(&overlay) {
        map.insert(k, v);
    }
    *base = Value::Mapping(map);
}

fn keyed(v: &Value) -> Mapping {
    match v {
        Value::Mapping(m) => m.clone(),
        Value::Sequence(items) => items
            .iter()
            .filter_map(Value::as_str)
            .map(|l| match l.split_once('=') {
                Some((k, v)) => (Value::from(k), Value::from(v)),
                None => (Value::from(l), Value::Null),
            })
            .collect(),
        _ => Mapping::new(),
    }
}

/// Deep-merges mappings; anything else in `overlay` replaces what `base` had.
pub(crate) fn merge(base: &mut Value, overlay: Value) {
    match (base, overlay) {
        (Value::Mapping(b), Value::Mapping(o)) => {
            for (k, v) in o {
                match b.get_mut(&k) {
                    Some(existing) => merge(existing, v),
                    None => {
                        b.insert(k, v);
                    }
                }
            }
        }
        (b, o) => *b = o,
    }
}

fn interpolate_value(
    v: &mut Value,
    env: &BTreeMap<String, String>,
    path: &str,
) -> Result<(), String> {
    match v {
        Value::String(s) => {
            *s = interpolate(s, env).map_err(|m| format!("at `{path}`: {m}"))?;
        }
        Value::Sequence(items) => {
            for (i, item) in items.iter_mut().enumerate() {
                interpolate_value(item, env, &format!("{path}[{i}]"))?;
            }
        }
        Value::Mapping(m) => {
            for (k, item) in m.iter_mut() {
                let key = k.as_str().unwrap_or("?");
                let child = if path.is_empty() {
                    key.to_string()
                } else {
                    format!("{path}.{key}")
                };
                interpolate_value(item, env, &child)?;
            }
        }
        _ => {}
    }
    Ok(())
}

/// Compose-style interpolation: `$$`, `$VAR`, `${VAR}`, `${VAR:-d}`, `${VAR-d}`,
/// `${VAR:?msg}`, `${VAR?msg}`. An unset variable without a default becomes empty.
pub fn interpolate(text: &str, env: &BTreeMap<String, String>) -> Result<String, String> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find('$') {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        if let Some(tail) = after.strip_prefix('$') {
            out.push('$');
            rest = tail;
        } else if let Some(braced) = after.strip_prefix('{') {
            let end = braced
                .find('}')
                .ok_or_else(|| "unterminated `${…}` (no closing `}`)".to_string())?;
            out.push_str(&substitute(&braced[..end], env)?);
            rest = &braced[end + 1..];
        } else {
            let len = after
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(after.len());
            if len == 0 {
                out.push('$');
            } else {
                out.push_str(env.get(&after[..len]).map(String::as_str).unwrap_or(""));
            }
            rest = &after[len..];
        }
    }
    out.push_str(rest);
    Ok(out)
}

fn substitute(expr: &str, env: &BTreeMap<String, String>) -> Result<String, String> {
    let name_len = expr
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(expr.len());
    let (name, op) = expr.split_at(name_len);
    if name.is_empty() {
        return Err(format!("invalid interpolation `${{{expr}}}`"));
    }
    let value = env.get(name).map(String::as_str);
    let set_nonempty = value.is_some_and(|v| !v.is_empty());
    Ok(match op {
        "" => value.unwrap_or("").to_string(),
        _ if op.starts_with(":-") => if set_nonempty {
            value.unwrap_or("")
        } else {
            &op[2..]
        }
        .to_string(),
        _ if op.starts_with('-') => value.unwrap_or(&op[1..]).to_string(),
        _ if op.starts_with(":?") || op.starts_with('?') => {
            let strict = op.starts_with(':');
            let ok = if strict {
                set_nonempty
            } else {
                value.is_some()
            };
            if !ok {
                let msg = op.trim_start_matches(':').trim_start_matches('?');
                return Err(format!("required variable {name} is missing: {msg}"));
            }
            value.unwrap_or("").to_string()
        }
        _ if op.starts_with(":+") => if set_nonempty { &op[2..] } else { "" }.to_string(),
        _ if op.starts_with('+') => if value.is_some() { &op[1..] } else { "" }.to_string(),
        _ => return Err(format!("invalid interpolation `${{{expr}}}`")),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    const BASE: &str = r#"
version: "3.8"
services:
  app:
    image: "ccci-fixture:${APP_TAG:-1.0.0}"
    networks: [proxy, internal]
    volumes:
      - data:/data
      - ./local:/local
    secrets: [db_password]
    healthcheck:
      test: ["CMD", "fixture-app", "healthcheck"]
    deploy:
      restart_policy:
        condition: on-failure
      labels:
        - "traefik.enable=true"
        - "traefik.http.routers.${STACK_NAME}.rule=Host(`${DOMAIN}`)"
        - "backupbot.backup=true"
  db:
    image: ccci-fixture:1.0.0
    deploy:
      replicas: 0
      labels:
        - coop-cloud.${STACK_NAME}.version=1.0.0+1.0.0
secrets:
  db_password:
    external: true
    name: ${STACK_NAME}_db_password_${SECRET_DB_PASSWORD_VERSION}
volumes:
  data:
networks:
  proxy:
    external: true
  internal:
"#;

    #[test]
    fn loads_merges_and_interpolates() {
        let overlay = "services:\n  app:\n    image: ccci-fixture:1.2.0\n    environment: [X=1]\n";
        let files = vec![
            ("compose.yml".to_string(), BASE.to_string()),
            ("compose.extra.yml".to_string(), overlay.to_string()),
        ];
        let e = env(&[
            ("STACK_NAME", "demo_ci_local"),
            ("DOMAIN", "demo.ci.local"),
            ("SECRET_DB_PASSWORD_VERSION", "v2"),
        ]);
        let stack = load_stack(&files, &e).unwrap();
        let app = &stack.services["app"];
        assert_eq!(app.image, "ccci-fixture:1.2.0");
        assert_eq!(app.restart_condition, "on-failure");
        assert!(app.has_healthcheck);
        assert_eq!(
            app.labels["traefik.http.routers.demo_ci_local.rule"],
            "Host(`demo.ci.local`)"
        );
        assert_eq!(
            app.volume_mounts.get("data").map(String::as_str),
            Some("/data")
        );
        assert!(!app.volume_mounts.contains_key("./local"));
        assert_eq!(stack.services["db"].replicas, Some(0));
        assert_eq!(
            stack.services["db"].labels["coop-cloud.demo_ci_local.version"],
            "1.0.0+1.0.0"
        );
        assert_eq!(
            stack.secrets["db_password"].as_deref(),
            Some("demo_ci_local_db_password_v2")
        );
        assert_eq!(stack.networks.get("proxy"), Some(&true));
        assert_eq!(stack.networks.get("internal"), Some(&false));
        assert!(stack.volumes.contains("data"));
    }

    /// Overlays merge as docker's loader merges them (checked against `docker stack config`
    /// of the same files, CLI 28.2): labels and environment by key, mounts by target, other
    /// lists appended, `<<` merge keys applied.
    #[test]
    fn overlays_merge_as_docker_merges_them() {
        let base = "services:\n  app:\n    image: x\n    cap_add: [CHOWN]\n    environment: [A=1, B=2]\n    volumes: [\"data:/data\", \"cache:/cache\"]\n    deploy:\n      labels: [\"traefik.port=8080\", \"keep=1\"]\n";
        let over = "x-h: &h\n  cap_add: [SYS_ADMIN]\nservices:\n  app:\n    <<: *h\n    environment: {B: '3'}\n    volumes: [\"/etc:/data\"]\n    deploy:\n      labels: [\"team=ops\"]\n";
        let m = load_stack(
            &[
                ("compose.yml".into(), base.into()),
                ("o.yml".into(), over.into()),
            ],
            &BTreeMap::new(),
        )
        .unwrap();
        let app = &m.services["app"];
        assert_eq!(app.labels["traefik.port"], "8080");
        assert_eq!(app.labels["keep"], "1");
        assert_eq!(app.labels["team"], "ops");
        let keys: Vec<&str> = app.host_access.iter().map(|g| g.key.as_str()).collect();
        assert!(keys.contains(&"bind:/etc"), "{keys:?}");
        assert!(keys.contains(&"cap_add:SYS_ADMIN"), "{keys:?}");
        // `/etc:/data` replaced `data:/data` (same target): the named volume is gone.
        let mounts: Vec<(&str, &str)> = app
            .volume_mounts
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        assert_eq!(mounts, vec![("cache", "/cache")]);
    }

    #[test]
    fn errors_name_file_and_problem() {
        let cases: &[(&str, &str)] = &[
            (
                "services:\n  app:\n    image: [unclosed\n",
                "invalid YAML at line",
            ),
            ("- just\n- a list\n", "top level must be a mapping"),
            (
                "services:\n  app:\n    environment: [A=1]\n",
                "service `app` has no `image:`",
            ),
            (
                "services:\n  app:\n    image: x:${TAG:?set TAG}\n",
                "required variable TAG is missing",
            ),
            ("volumes: {}\n", "no `services:`"),
            (
                "services:\n  app:\n    image: x\n    deploy:\n      replicas: many\n",
                "deploy.replicas",
            ),
        ];
        for (text, needle) in cases {
            let err =
                load_stack(&[("compose.yml".into(), text.to_string())], &env(&[])).unwrap_err();
            assert_eq!(err.file, "compose.yml");
            assert!(
                err.message.contains(needle),
                "{text:?} gave {}",
                err.message
            );
        }
    }

    #[test]
    fn interpolation_table() {
        let e = env(&[("A", "1"), ("E", "")]);
        for (input, want) in [
            ("$A", "1"),
            ("${A}", "1"),
            ("$$A", "$A"),
            ("${E:-d}", "d"),
            ("${E-d}", ""),
            ("${U-d}", "d"),
            ("${A:+set}", "set"),
            ("${U:+set}", ""),
            ("${A:?boom}", "1"),
            ("x$", "x$"),
        ] {
            assert_eq!(interpolate(input, &e).as_deref(), Ok(want), "{input}");
        }
        assert!(interpolate("${E:?empty}", &e).is_err());
        assert!(interpolate("${A", &e).is_err());
    }
}
