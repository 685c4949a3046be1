//! Host access: what in a recipe's compose files reaches past its containers into the CI
//! host, so that a change cannot take the host (docs/behaviour.md §7, "the host is not the
//! recipe's").
//!
//! Each **grant** is one thing a service asks of the host, with a stable **key**:
//!
//! | key | compose |
//! | --- | --- |
//! | `bind:<host path>` | a bind mount: short syntax `/host:/ctr`, `./rel:/ctr`, `~/x:/ctr`; long syntax `type: bind`; a named volume whose `driver_opts` bind a host `device`. The Docker socket (`/var/run/docker.sock`, `/run/docker.sock`, or a directory holding it) above all |
//! | `devices:<host path>` | `devices: ["/dev/fuse:/dev/fuse"]` |
//! | `cap_add:<CAP>` | `cap_add: [NET_ADMIN]` (upper case, without `CAP_`) |
//! | `network_mode:host` | `network_mode: host` |
//! | `networks:host` | `networks: [host]`, or a network whose `name:` is `host` |
//! | `pid:host`, `ipc:host`, `uts:host`, `userns_mode:host`, `cgroup:host` | the host's namespaces |
//! | `privileged:true` | `privileged: true` |
//! | `security_opt:<opt>` | `security_opt` turning confinement off: `apparmor:unconfined`, `seccomp:unconfined`, `systempaths=unconfined`, `label:disable` (a `=` is written as `:` in the key) |
//! | `ports:<published>/<protocol>`, `ports:<low>-<high>/<protocol>`, `ports:auto/<protocol>` | a published port (the host listens for the app): `"2222:22"`, `"9000-9002:9000-9002"` (consecutive ports of a service are one range, compared port by port), `"53:53/udp"`, long syntax in `host` or `ingress` mode; `ports:auto/tcp` for `"80"` (the swarm picks the port). Protocol lower case, mode and address not in the key (module `ports`) |
//! | `logging:<driver>` | a logging driver whose logs the host's dockerd ships or writes outside the engine's store: `syslog`, `gelf`, `fluentd`, `journald`, a plugin, … (`json-file`, `local`, `none` are no grant) (module `logging`) |
//!
//! A head whose services add grants their base release did not have ([`added`]) is refused
//! before anything is deployed, unless the operator allows the keys for that recipe in the
//! CI's suite tree (`[host_access] allow = ["bind:/var/run/docker.sock"]` in
//! `<suites>/<recipe>/suite.toml`, never in the recipe's own `.ccci/`). A recipe without a
//! release compares against nothing: all its grants are new.

use crate::yaml::{names, seq};
use serde_yaml_ng::Value;

mod logging;
mod ports;

/// One thing a service asks of the host.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Grant {
    pub service: String,
    /// The stable key (`bind:/var/run/docker.sock`, `cap_add:NET_ADMIN`, …).
    pub key: String,
    /// The compose key it is written under (`volumes`, `cap_add`, …), to find its line.
    pub field: String,
    /// The text to look for on its line (the host path, the capability as written, …).
    pub needle: String,
}

/// Where the Docker socket lives on a host.
const DOCKER_SOCKETS: &[&str] = &["/var/run/docker.sock", "/run/docker.sock"];

/// Namespace keys whose value `host` shares the host's namespace.
const HOST_NAMESPACES: &[&str] = &["network_mode", "pid", "ipc", "uts", "userns_mode", "cgroup"];

/// The grants of one service of a merged, interpolated compose document.
pub(crate) fn grants_of(doc: &Value, service: &str, svc: &Value) -> Vec<Grant> {
    let mut out: Vec<Grant> = Vec::new();
    let mut push = |key: String, field: &str, needle: String| {
        if !out.iter().any(|g| g.key == key) {
            out.push(Grant {
                service: service.to_string(),
                key,
                field: field.to_string(),
                needle,
            });
        }
    };
    let volume_binds = volume_binds(doc);
    for mount in seq(svc.get("volumes")) {
        // The source, and whether the entry itself binds a host path.
        let (source, binds_host) = match mount {
            Value::String(short) => {
                let mut parts = short.splitn(2, ':');
                let source = parts.next().unwrap_or("").trim();
                if parts.next().is_none() {
                    continue; // an anonymous volume: `- /data`
                }
                (source, is_host_path(source))
            }
            long => {
                let kind = long.get("type").and_then(Value::as_str);
                let Some(source) = long.get("source").and_then(Value::as_str) else {
                    continue;
                };
                let source = source.trim();
                (
                    source,
                    kind == Some("bind") || (kind.is_none() && is_host_path(source)),
                )
            }
        };
        // A named volume whose driver options bind a host device binds it just the same.
        let host_path = if binds_host {
            Some(source)
        } else {
            volume_binds
                .iter()
                .find(|(v, _)| v == source)
                .map(|(_, device)| device.as_str())
        };
        if let Some(path) = host_path {
            push(
                format!("bind:{}", norm_path(path)),
                "volumes",
                source.into(),
            );
        }
    }
    for field in HOST_NAMESPACES {
        if svc.get(*field).and_then(Value::as_str).map(str::trim) == Some("host") {
            push(format!("{field}:host"), field, (*field).into());
        }
    }
    let top_networks = doc.get("networks");
    for name in names(svc.get("networks")) {
        let engine_name = top_networks
            .and_then(|n| n.get(name.as_str()))
            .and_then(|n| n.get("name"))
            .and_then(Value::as_str)
            .unwrap_or(&name);
        if engine_name.trim() == "host" {
            push("networks:host".into(), "networks", name.clone());
        }
    }
    for device in seq(svc.get("devices")) {
        let source = match device {
            Value::String(s) => s.split(':').next().unwrap_or("").trim().to_string(),
            long => long
                .get("source")
                .and_then(Value::as_str)
                .unwrap_or("")
                .trim()
                .to_string(),
        };
        if !source.is_empty() {
            push(format!("devices:{}", norm_path(&source)), "devices", source);
        }
    }
    for cap in seq(svc.get("cap_add")).filter_map(Value::as_str) {
        let written = cap.trim();
        if !written.is_empty() {
            push(
                format!("cap_add:{}", norm_cap(written)),
                "cap_add",
                written.into(),
            );
        }
    }
    let privileged = match svc.get("privileged") {
        Some(Value::Bool(b)) => *b,
        Some(Value::String(s)) => s.trim() == "true",
        _ => false,
    };
    if privileged {
        push("privileged:true".into(), "privileged", "privileged".into());
    }
    for (key, needle) in ports::grants(svc) {
        push(key, "ports", needle);
    }
    if let Some((key, needle)) = logging::grant(svc) {
        push(key, "logging", needle);
    }
    for opt in seq(svc.get("security_opt")).filter_map(Value::as_str) {
        let written = opt.trim();
        if relaxes_confinement(written) {
            push(
                format!("security_opt:{}", norm_security_opt(written)),
                "security_opt",
                written.into(),
            );
        }
    }
    out
}

/// Top-level volumes whose local driver binds a host directory: (volume key, device).
fn volume_binds(doc: &Value) -> Vec<(String, String)> {
    let Some(volumes) = doc.get("volumes").and_then(Value::as_mapping) else {
        return Vec::new();
    };
    volumes
        .iter()
        .filter_map(|(k, v)| {
            let opts = v.get("driver_opts")?;
            let o = opts.get("o").and_then(Value::as_str).unwrap_or("");
            let device = opts.get("device").and_then(Value::as_str)?;
            o.split(',')
                .any(|x| x.trim() == "bind" || x.trim() == "rbind")
                .then(|| {
                    (
                        k.as_str().unwrap_or("").to_string(),
                        device.trim().to_string(),
                    )
                })
        })
        .collect()
}

/// A bind mount's source in short syntax: an absolute, relative or home path.
fn is_host_path(source: &str) -> bool {
    source.starts_with('/') || source.starts_with('.') || source.starts_with('~')
}

fn norm_path(path: &str) -> String {
    let p = path.trim();
    if p.len() > 1 {
        p.trim_end_matches('/').to_string()
    } else {
        p.to_string()
    }
}

fn norm_cap(cap: &str) -> String {
    let upper = cap.trim().to_ascii_uppercase();
    upper.strip_prefix("CAP_").unwrap_or(&upper).to_string()
}

fn relaxes_confinement(opt: &str) -> bool {
    let o = opt.to_ascii_lowercase();
    o.contains("unconfined") || o == "label:disable" || o == "label=disable"
}

fn norm_security_opt(opt: &str) -> String {
    opt.replacen('=', ":", 1)
}

/// Is this host path the Docker socket, or a directory that holds it?
pub fn reaches_docker_socket(path: &str) -> bool {
    let p = norm_path(path);
    DOCKER_SOCKETS
        .iter()
        .any(|s| *s == p || p == "/" || s.starts_with(&format!("{p}/")))
}

/// Checks a key an operator wrote in `[host_access] allow`.
pub fn validate_key(key: &str) -> Result<(), String> {
    let bad = |why: &str| {
        Err(format!(
            "`{key}` is not a host-access key ({why}); keys look like bind:/var/run/docker.sock, \
             devices:/dev/fuse, cap_add:NET_ADMIN, network_mode:host, networks:host, pid:host, \
             ipc:host, privileged:true, security_opt:seccomp:unconfined, ports:2222/tcp, \
             ports:9000-9002/udp, ports:auto/tcp, logging:syslog"
        ))
    };
    let Some((kind, value)) = key.split_once(':') else {
        return bad("no `kind:`");
    };
    match kind {
        "bind" | "devices" if is_host_path(value) && norm_path(value) == value => Ok(()),
        "bind" | "devices" => bad("give the host path as written, without a trailing /"),
        "cap_add" if !value.is_empty() && norm_cap(value) == value => Ok(()),
        "cap_add" => bad("write the capability in upper case without CAP_, e.g. cap_add:NET_ADMIN"),
        "networks" if value == "host" => Ok(()),
        k if HOST_NAMESPACES.contains(&k) && value == "host" => Ok(()),
        "privileged" if value == "true" => Ok(()),
        "security_opt" if relaxes_confinement(value) && norm_security_opt(value) == value => Ok(()),
        "security_opt" => {
            bad("only options that turn confinement off are grants, written with `:`")
        }
        "ports" => ports::check_value(value).or_else(bad),
        "logging" => logging::check_value(value).or_else(bad),
        _ => bad("unknown kind or value"),
    }
}

/// The grants of `head` that its base release (`base`; none without a release) did not
/// have, service by service (each as its stack model lists them, `StackModel::grants`).
pub fn added(head: &[Grant], base: &[Grant]) -> Vec<Grant> {
    head.iter()
        .flat_map(|g| {
            let same_service: Vec<&str> = base
                .iter()
                .filter(|b| b.service == g.service)
                .map(|b| b.key.as_str())
                .collect();
            not_covered(g, &same_service)
        })
        .collect()
}

/// The grants the operator did not allow (`allow`: keys from the CI's suite tree).
pub fn refused(added: Vec<Grant>, allow: &[String]) -> Vec<Grant> {
    let allow: Vec<&str> = allow.iter().map(String::as_str).collect();
    added.iter().flat_map(|g| not_covered(g, &allow)).collect()
}

/// What of `grant` none of `keys` covers: nothing or all of it, or the ports of a published
/// range that no range of the keys holds.
fn not_covered(grant: &Grant, keys: &[&str]) -> Vec<Grant> {
    ports::uncovered(grant, keys).unwrap_or_else(|| {
        if keys.contains(&grant.key.as_str()) {
            Vec::new()
        } else {
            vec![grant.clone()]
        }
    })
}

/// What a grant gives the app, in a phrase.
pub fn describe(grant: &Grant) -> String {
    let (kind, value) = grant.key.split_once(':').unwrap_or((&grant.key, ""));
    match kind {
        "bind" if reaches_docker_socket(value) => {
            let what = if DOCKER_SOCKETS.contains(&value) {
                format!("a bind mount of the Docker socket {value}")
            } else {
                format!("a bind mount of {value}, which holds the Docker socket")
            };
            format!("{what} (the app under test would own the CI host)")
        }
        "bind" => format!("a bind mount of the host path {value}"),
        "devices" => format!("the host device {value}"),
        "cap_add" => format!("the capability {value} (cap_add)"),
        "network_mode" => "host networking (network_mode: host)".into(),
        "networks" => format!("host networking (the `host` network, as {})", grant.needle),
        "privileged" => "privileged mode (privileged: true)".into(),
        "security_opt" => format!("unconfined security (security_opt: {})", grant.needle),
        "ports" => ports::describe(&grant.key),
        "logging" => logging::describe(value),
        ns => format!("the host's {ns} namespace ({ns}: host)"),
    }
}

/// The file and 1-based line where a grant is written: first inside its service's block of
/// a compose file, then anywhere (a volume's `driver_opts`). Best effort: `None` when the
/// text differs from the interpolated value.
pub fn locate(grant: &Grant, files: &[(String, String)]) -> Option<(String, usize)> {
    if let Some(found) = locate_entry(grant, files) {
        return Some(found);
    }
    for needle in [grant.needle.as_str(), grant.field.as_str()] {
        for (name, text) in files {
            if let Some((start, end)) = service_block(text, &grant.service) {
                let lines: Vec<&str> = text.lines().collect();
                if let Some(i) = (start..end)
                    .find(|i| !is_comment(lines[*i]) && contains_word(lines[*i], needle))
                {
                    return Some((name.clone(), i + 1));
                }
            }
        }
        if needle == grant.needle {
            for (name, text) in files {
                if let Some(i) = text
                    .lines()
                    .position(|l| !is_comment(l) && contains_word(l, needle))
                {
                    return Some((name.clone(), i + 1));
                }
            }
        }
    }
    None
}

/// A published port's or a logging driver's own entry in its service's block, in the first
/// file that writes it (an overlay may add it).
fn locate_entry(grant: &Grant, files: &[(String, String)]) -> Option<(String, usize)> {
    let port = ports::PortKey::parse(&grant.key);
    if port.is_none() && grant.field != "logging" {
        return None;
    }
    for (name, text) in files {
        let Some((start, end)) = service_block(text, &grant.service) else {
            continue;
        };
        let lines: Vec<&str> = text.lines().collect();
        let block = &lines[start..end];
        let found = match &port {
            Some(key) => ports::line_of(key, block),
            None => logging::line_of(&grant.needle, block),
        };
        if let Some(i) = found {
            return Some((name.clone(), start + i + 1));
        }
    }
    None
}

fn is_comment(line: &str) -> bool {
    line.trim_start().starts_with('#')
}

fn indent(line: &str) -> usize {
    line.len() - line.trim_start().len()
}

/// The line range (0-based, end exclusive) of `services.<service>` in a compose text.
fn service_block(text: &str, service: &str) -> Option<(usize, usize)> {
    let lines: Vec<&str> = text.lines().collect();
    let significant = |l: &str| !l.trim().is_empty() && !is_comment(l);
    let services = lines.iter().position(|l| {
        indent(l) == 0 && l.trim_end().split('#').next().unwrap_or("").trim_end() == "services:"
    })?;
    let mut child_indent = None;
    let mut start = None;
    for (i, line) in lines.iter().enumerate().skip(services + 1) {
        if !significant(line) {
            continue;
        }
        let ind = indent(line);
        if ind == 0 {
            break;
        }
        let child = *child_indent.get_or_insert(ind);
        if let Some(s) = start {
            if ind <= child {
                return Some((s, i));
            }
        } else if ind == child {
            let key = line.trim().split('#').next().unwrap_or("").trim_end();
            let key = key.strip_suffix(':').unwrap_or("");
            if key.trim_matches(['"', '\'']) == service {
                start = Some(i + 1);
            }
        }
    }
    let s = start?;
    let end = (s..lines.len())
        .find(|i| significant(lines[*i]) && indent(lines[*i]) == 0)
        .unwrap_or(lines.len());
    Some((s, end))
}

/// `needle` in `line`, not as part of a longer word or path.
fn contains_word(line: &str, needle: &str) -> bool {
    if needle.is_empty() {
        return false;
    }
    let word = |c: char| c.is_alphanumeric() || matches!(c, '_' | '-' | '.' | '/');
    let starts_word = needle.chars().next().is_some_and(word);
    let ends_word = needle.chars().last().is_some_and(word);
    line.match_indices(needle).any(|(i, _)| {
        let before = line[..i].chars().last();
        let after = line[i + needle.len()..].chars().next();
        (!starts_word || !before.is_some_and(word)) && (!ends_word || !after.is_some_and(word))
    })
}

/// One refused grant and where it is written (`None`: not found in the compose texts).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refusal {
    pub grant: Grant,
    pub at: Option<(String, usize)>,
}

/// The install rung's failure message for refused grants: each with service, file and
/// line, what it gives, the base release, and how an operator allows it (`allow_file`: the
/// recipe's suite file in the CI's tree).
pub fn refusal_message(
    refusals: &[Refusal],
    base_version: Option<&str>,
    allow_file: &str,
) -> String {
    let clauses: Vec<String> = refusals
        .iter()
        .map(|r| {
            let at = match &r.at {
                Some((file, line)) => format!("{file}:{line}"),
                None => "compose files".into(),
            };
            format!(
                "service {} in {at} adds {}",
                r.grant.service,
                describe(&r.grant)
            )
        })
        .collect();
    let before = match base_version {
        Some(v) => format!("that release {v} did not have"),
        None => "and the recipe has no release to compare with (a recipe's first host access \
                 always needs the operator's consent)"
            .to_string(),
    };
    let it = if refusals.len() == 1 { "it" } else { "them" };
    let mut keys: Vec<String> = Vec::new();
    for r in refusals {
        let k = format!("\"{}\"", r.grant.key);
        if !keys.contains(&k) {
            keys.push(k);
        }
    }
    format!(
        "{} {before}; cc-ci refuses to deploy {it}. An operator can allow {it} for this recipe \
         in the CI's tree: {allow_file} [host_access] allow = [{}]",
        clauses.join("; "),
        keys.join(", ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compose::{load_stack, StackModel};
    use std::collections::BTreeMap;

    fn model(text: &str) -> StackModel {
        load_stack(&[("compose.yml".into(), text.into())], &BTreeMap::new()).unwrap()
    }

    fn keys(text: &str) -> Vec<(String, String)> {
        let m = model(text);
        m.services
            .values()
            .flat_map(|s| {
                s.host_access
                    .iter()
                    .map(|g| (g.service.clone(), g.key.clone()))
            })
            .collect()
    }

    fn svc(body: &str) -> String {
        format!("services:\n  app:\n    image: x\n{body}")
    }

    #[test]
    fn every_kind_of_grant() {
        let table: &[(&str, &[&str])] = &[
            ("    volumes: [\"/var/run/docker.sock:/var/run/docker.sock\"]\n", &["bind:/var/run/docker.sock"]),
            ("    volumes: [\"/run/docker.sock:/var/run/docker.sock:ro\"]\n", &["bind:/run/docker.sock"]),
            ("    volumes: [\"./conf/:/etc/app\"]\n", &["bind:./conf"]),
            ("    volumes: [\"~/x:/x\"]\n", &["bind:~/x"]),
            ("    volumes: [\"/:/host\"]\n", &["bind:/"]),
            (
                "    volumes:\n      - type: bind\n        source: /etc\n        target: /host-etc\n",
                &["bind:/etc"],
            ),
            (
                "    volumes:\n      - type: volume\n        source: data\n        target: /data\n",
                &[],
            ),
            ("    volumes: [\"data:/data\", \"/anonymous\"]\n", &[]),
            ("    network_mode: host\n", &["network_mode:host"]),
            ("    network_mode: bridge\n", &[]),
            ("    networks: [host]\n", &["networks:host"]),
            ("    networks: [proxy]\n", &[]),
            ("    pid: host\n", &["pid:host"]),
            ("    ipc: host\n", &["ipc:host"]),
            ("    ipc: shareable\n", &[]),
            ("    uts: host\n    userns_mode: host\n", &["uts:host", "userns_mode:host"]),
            ("    devices: [\"/dev/fuse:/dev/fuse:rwm\"]\n", &["devices:/dev/fuse"]),
            ("    cap_add: [NET_ADMIN, cap_sys_admin]\n", &["cap_add:NET_ADMIN", "cap_add:SYS_ADMIN"]),
            ("    privileged: true\n", &["privileged:true"]),
            ("    privileged: false\n", &[]),
            (
                "    security_opt: [\"apparmor:unconfined\", \"seccomp=unconfined\", \"no-new-privileges:true\"]\n",
                &["security_opt:apparmor:unconfined", "security_opt:seccomp:unconfined"],
            ),
        ];
        for (body, want) in table {
            let got: Vec<String> = keys(&svc(body)).into_iter().map(|(_, k)| k).collect();
            assert_eq!(&got, want, "{body}");
            for k in got {
                assert_eq!(validate_key(&k), Ok(()), "{k}");
            }
        }
    }

    #[test]
    fn host_network_by_name_and_bind_volumes_by_driver() {
        let text = "services:\n  app:\n    image: x\n    networks: [outside]\n    volumes: [\"hostdata:/data\"]\n\
                    networks:\n  outside:\n    external: true\n    name: host\n\
                    volumes:\n  hostdata:\n    driver_opts:\n      type: none\n      o: bind\n      device: /srv/data\n";
        let got: Vec<String> = keys(text).into_iter().map(|(_, k)| k).collect();
        assert_eq!(got, ["bind:/srv/data", "networks:host"]);
    }

    #[test]
    fn added_compares_service_by_service() {
        let base = model(&format!(
            "{}  db:\n    image: y\n    cap_add: [NET_ADMIN]\n",
            svc("    volumes: [\"/var/run/docker.sock:/var/run/docker.sock\"]\n")
        ));
        // Already in the base: nothing new.
        assert!(added(&base.grants(), &base.grants()).is_empty());
        // The same capability on another service is new there.
        let head = model(&format!(
            "{}  db:\n    image: y\n    cap_add: [NET_ADMIN]\n",
            svc("    volumes: [\"/var/run/docker.sock:/var/run/docker.sock\"]\n    cap_add: [NET_ADMIN]\n")
        ));
        let new: Vec<(String, String)> = added(&head.grants(), &base.grants())
            .into_iter()
            .map(|g| (g.service, g.key))
            .collect();
        assert_eq!(new, [("app".to_string(), "cap_add:NET_ADMIN".to_string())]);
        // No release: everything is new.
        assert_eq!(added(&head.grants(), &[]).len(), 3);
        // Allowed by the operator: not refused.
        let allow = vec!["cap_add:NET_ADMIN".to_string()];
        assert!(refused(added(&head.grants(), &base.grants()), &allow).is_empty());
        assert_eq!(
            refused(added(&head.grants(), &[]), &allow)
                .into_iter()
                .map(|g| g.key)
                .collect::<Vec<_>>(),
            ["bind:/var/run/docker.sock"]
        );
    }

    #[test]
    fn locates_the_line_in_the_service_block() {
        let compose = "version: \"3.8\"\nservices:\n  db:\n    image: y\n    volumes:\n      - /srv:/srv\n  app:\n    image: x\n    # - /var/run/docker.sock:/x\n    volumes:\n      - data:/data\n      - /var/run/docker.sock:/var/run/docker.sock\n    cap_add:\n      - CAP_NET_ADMIN\n    pid: host\nvolumes:\n  data:\n";
        let overlay = "services:\n  app:\n    privileged: true\n";
        let files = vec![
            ("compose.yml".to_string(), compose.to_string()),
            ("compose.extra.yml".to_string(), overlay.to_string()),
        ];
        let m = load_stack(&files, &BTreeMap::new()).unwrap();
        let at = |key: &str| {
            let g = m.services["app"]
                .host_access
                .iter()
                .find(|g| g.key == key)
                .unwrap_or_else(|| panic!("no {key}"));
            locate(g, &files)
        };
        assert_eq!(
            at("bind:/var/run/docker.sock"),
            Some(("compose.yml".into(), 12))
        );
        assert_eq!(at("cap_add:NET_ADMIN"), Some(("compose.yml".into(), 14)));
        assert_eq!(at("pid:host"), Some(("compose.yml".into(), 15)));
        assert_eq!(at("privileged:true"), Some(("compose.extra.yml".into(), 3)));
        // The db's bind is found in its own block, not in app's.
        let db = &m.services["db"].host_access[0];
        assert_eq!(locate(db, &files), Some(("compose.yml".into(), 6)));
        // Written through a variable: not found verbatim, the field's line in the block.
        let g = Grant {
            service: "app".into(),
            key: "bind:/opt".into(),
            field: "volumes".into(),
            needle: "/opt".into(),
        };
        assert_eq!(locate(&g, &files), Some(("compose.yml".into(), 10)));
        let g = Grant {
            service: "web".into(),
            ..g
        };
        assert_eq!(locate(&g, &files), None);
    }

    #[test]
    fn the_message_names_file_service_grant_base_and_the_allow_line() {
        let grant = Grant {
            service: "app".into(),
            key: "bind:/var/run/docker.sock".into(),
            field: "volumes".into(),
            needle: "/var/run/docker.sock".into(),
        };
        let one = [Refusal {
            grant: grant.clone(),
            at: Some(("compose.yml".into(), 23)),
        }];
        assert_eq!(
            refusal_message(&one, Some("1.1.0+1.1.0"), "/ci/suites/web/suite.toml"),
            "service app in compose.yml:23 adds a bind mount of the Docker socket /var/run/docker.sock \
             (the app under test would own the CI host) that release 1.1.0+1.1.0 did not have; \
             cc-ci refuses to deploy it. An operator can allow it for this recipe in the CI's tree: \
             /ci/suites/web/suite.toml [host_access] allow = [\"bind:/var/run/docker.sock\"]"
        );
        let two = [
            one[0].clone(),
            Refusal {
                grant: Grant {
                    service: "db".into(),
                    key: "pid:host".into(),
                    field: "pid".into(),
                    needle: "pid".into(),
                },
                at: None,
            },
        ];
        let msg = refusal_message(&two, None, "s.toml");
        assert!(
            msg.contains("; service db in compose files adds the host's pid namespace (pid: host)"),
            "{msg}"
        );
        assert!(msg.contains("no release to compare with"), "{msg}");
        assert!(
            msg.ends_with("allow = [\"bind:/var/run/docker.sock\", \"pid:host\"]"),
            "{msg}"
        );
    }

    #[test]
    fn socket_reach_and_key_validation() {
        for (p, want) in [
            ("/var/run/docker.sock", true),
            ("/var/run/", true),
            ("/run", true),
            ("/", true),
            ("/var", true),
            ("/var/lib", false),
            ("/srv/docker.sock", false),
        ] {
            assert_eq!(reaches_docker_socket(p), want, "{p}");
        }
        for bad in [
            "docker.sock",
            "bind:var/run",
            "bind:/var/run/",
            "cap_add:net_admin",
            "cap_add:CAP_NET_ADMIN",
            "pid:container",
            "privileged:yes",
            "security_opt:no-new-privileges:false",
            "security_opt:seccomp=unconfined",
            "ports:80",
        ] {
            assert!(validate_key(bad).is_err(), "{bad}");
        }
    }
}
