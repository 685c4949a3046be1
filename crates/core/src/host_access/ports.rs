//! Published ports: a `ports:` entry makes the swarm's hosts listen for the app (ingress
//! mode on every node through the routing mesh, host mode on the node running the task), so
//! the CI host itself accepts connections on the recipe's behalf.
//!
//! Keys:
//! - `ports:<published>/<protocol>`: one port (`"2222:22"` is `ports:2222/tcp`);
//! - `ports:<low>-<high>/<protocol>`: consecutive published ports of one service and
//!   protocol, one grant (`"9000-9002:9000-9002"`, which docker prints as three ports, or
//!   adjacent entries). Ranges are compared with the base's and the operator's keys port by
//!   port ([`uncovered`]): what is refused is exactly the ports neither publishes, and a
//!   range key allows every port in it;
//! - `ports:auto/<protocol>`: a port published without a number (`"80"`, `":80"`, `"0:80"`,
//!   long syntax without `published`): the swarm picks one (30000-32767 by default). One key
//!   a service and protocol, however many such ports.
//!
//! The protocol is lower case (`tcp` when none is written); the mode (`host`, `ingress`) and
//! a host address (`"127.0.0.1:8025:25"`: swarm ignores it and listens on every address) are
//! not in the key.

use crate::yaml::seq;
use serde_yaml_ng::Value;
use std::collections::{BTreeMap, BTreeSet};

/// What a `ports:` key names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum PortKey {
    Range {
        low: u16,
        high: u16,
        protocol: String,
    },
    Auto {
        protocol: String,
    },
}

impl PortKey {
    /// The key's meaning, from a whole key (`ports:2222/tcp`); `None` for another kind.
    pub(super) fn parse(key: &str) -> Option<PortKey> {
        let (ports, protocol) = key.strip_prefix("ports:")?.split_once('/')?;
        let protocol = protocol.to_string();
        if ports == "auto" {
            return Some(PortKey::Auto { protocol });
        }
        let (low, high) = port_range(ports)?;
        Some(PortKey::Range {
            low,
            high,
            protocol,
        })
    }

    pub(super) fn key(&self) -> String {
        match self {
            PortKey::Range {
                low,
                high,
                protocol,
            } if low == high => format!("ports:{low}/{protocol}"),
            PortKey::Range {
                low,
                high,
                protocol,
            } => format!("ports:{low}-{high}/{protocol}"),
            PortKey::Auto { protocol } => format!("ports:auto/{protocol}"),
        }
    }
}

/// The port grants of a service, as (key, needle): published ranges by protocol, then the
/// protocols published without a number.
pub(super) fn grants(svc: &Value) -> Vec<(String, String)> {
    let mut published: BTreeMap<String, BTreeSet<u16>> = BTreeMap::new();
    let mut auto: BTreeSet<String> = BTreeSet::new();
    for entry in seq(svc.get("ports")) {
        match entry_ports(entry) {
            Some((Some((low, high)), protocol)) => {
                published.entry(protocol).or_default().extend(low..=high)
            }
            Some((None, protocol)) => {
                auto.insert(protocol);
            }
            // Docker refuses an entry it cannot read: nothing is published.
            None => {}
        }
    }
    let mut out = Vec::new();
    for (protocol, ports) in published {
        for (low, high) in runs(&ports) {
            let key = PortKey::Range {
                low,
                high,
                protocol: protocol.clone(),
            };
            out.push((key.key(), low.to_string()));
        }
    }
    for protocol in auto {
        out.push((PortKey::Auto { protocol }.key(), "ports".to_string()));
    }
    out
}

/// The published range of one `ports:` entry (`None`: the swarm picks the port) and its
/// protocol; `None` for an entry docker cannot read.
type EntryPorts = (Option<(u16, u16)>, String);

fn entry_ports(entry: &Value) -> Option<EntryPorts> {
    match entry {
        Value::String(short) => short_syntax(short),
        Value::Number(_) => Some((None, "tcp".into())),
        long @ Value::Mapping(_) => {
            let protocol = long
                .get("protocol")
                .and_then(Value::as_str)
                .map(|p| p.trim().to_ascii_lowercase())
                .filter(|p| !p.is_empty())
                .unwrap_or_else(|| "tcp".into());
            let published = match long.get("published") {
                None | Some(Value::Null) => None,
                Some(Value::Number(n)) => Some(port_range(&n.to_string())?),
                Some(Value::String(s)) if s.trim().is_empty() => None,
                Some(Value::String(s)) => Some(port_range(s.trim())?),
                Some(_) => return None,
            };
            Some((published.filter(|(low, _)| *low != 0), protocol))
        }
        _ => None,
    }
}

/// Short syntax: `[address:][published[-high]:]target[-high][/protocol]`.
fn short_syntax(text: &str) -> Option<EntryPorts> {
    let text = text.trim();
    let (spec, protocol) = match text.rsplit_once('/') {
        Some((spec, protocol)) => (spec, protocol.trim().to_ascii_lowercase()),
        None => (text, "tcp".to_string()),
    };
    let mut parts = spec.rsplitn(3, ':');
    port_range(parts.next()?.trim())?;
    let published = match parts.next().map(str::trim) {
        None | Some("") => None,
        Some(p) => Some(port_range(p)?).filter(|(low, _)| *low != 0),
    };
    Some((published, protocol))
}

/// `2222` or `9000-9002` (low ≤ high).
fn port_range(text: &str) -> Option<(u16, u16)> {
    let (low, high) = text.split_once('-').unwrap_or((text, text));
    let low: u16 = low.parse().ok()?;
    let high: u16 = high.parse().ok()?;
    (low <= high).then_some((low, high))
}

/// Consecutive ports as (low, high) runs.
fn runs(ports: &BTreeSet<u16>) -> Vec<(u16, u16)> {
    let mut out: Vec<(u16, u16)> = Vec::new();
    for &port in ports {
        match out.last_mut() {
            Some((_, high)) if u32::from(*high) + 1 == u32::from(port) => *high = port,
            _ => out.push((port, port)),
        }
    }
    out
}

/// The part of a port-range grant that none of `keys` covers, as grants (`None`: `grant` is
/// no published range, compare its key whole).
pub(super) fn uncovered(grant: &super::Grant, keys: &[&str]) -> Option<Vec<super::Grant>> {
    let PortKey::Range {
        low,
        high,
        protocol,
    } = PortKey::parse(&grant.key)?
    else {
        return None;
    };
    let mut covering: Vec<(u16, u16)> = keys
        .iter()
        .filter_map(|k| match PortKey::parse(k)? {
            PortKey::Range {
                low,
                high,
                protocol: p,
            } if p == protocol => Some((low, high)),
            _ => None,
        })
        .collect();
    covering.sort_unstable();
    let left = subtract((low, high), &covering);
    Some(
        left.into_iter()
            .map(|(low, high)| super::Grant {
                key: PortKey::Range {
                    low,
                    high,
                    protocol: protocol.clone(),
                }
                .key(),
                needle: low.to_string(),
                ..grant.clone()
            })
            .collect(),
    )
}

/// `range` without the `sorted` ranges.
fn subtract(range: (u16, u16), sorted: &[(u16, u16)]) -> Vec<(u16, u16)> {
    let (low, high) = (u32::from(range.0), u32::from(range.1));
    let mut next = low;
    let mut left = Vec::new();
    for &(a, b) in sorted {
        let (a, b) = (u32::from(a), u32::from(b));
        if b < next {
            continue;
        }
        if a > high {
            break;
        }
        if a > next {
            left.push((next, a - 1));
        }
        next = b + 1;
    }
    if next <= high {
        left.push((next, high));
    }
    // Every bound lies within `range`, so fits a u16.
    left.into_iter()
        .map(|(a, b)| (a as u16, b as u16))
        .collect()
}

/// Checks the value of an operator's `ports:` key.
pub(super) fn check_value(value: &str) -> Result<(), &'static str> {
    let key = format!("ports:{value}");
    let protocol_ok = |p: &str| matches!(p, "tcp" | "udp" | "sctp");
    match PortKey::parse(&key) {
        Some(k @ PortKey::Range { .. }) if k.key() == key => match &k {
            PortKey::Range { low: 0, .. } => Err("port 0 is published as ports:auto/<protocol>"),
            PortKey::Range { protocol, .. } if protocol_ok(protocol) => Ok(()),
            _ => Err("the protocol is tcp, udp or sctp"),
        },
        Some(PortKey::Auto { protocol }) if protocol_ok(&protocol) => Ok(()),
        _ => Err(
            "write the published port or range and its protocol: ports:2222/tcp, \
             ports:9000-9002/udp, ports:auto/tcp",
        ),
    }
}

/// What a port grant gives the app, in a phrase.
pub(super) fn describe(key: &str) -> String {
    match PortKey::parse(key) {
        Some(PortKey::Range {
            low,
            high,
            protocol,
        }) if low == high => {
            format!("the published port {low}/{protocol} (the CI host listens on it for the app)")
        }
        Some(PortKey::Range {
            low,
            high,
            protocol,
        }) => format!(
            "the published ports {low}-{high}/{protocol} (the CI host listens on them for the app)"
        ),
        Some(PortKey::Auto { protocol }) => format!(
            "a published {protocol} port the swarm numbers (the CI host listens on it for the app)"
        ),
        None => format!("published ports ({key})"),
    }
}

/// The line (index into `block`, a service's lines) of the `ports:` entry that publishes
/// the first port of `key`, or a port without a number for `ports:auto`.
pub(super) fn line_of(key: &PortKey, block: &[&str]) -> Option<usize> {
    let start = block
        .iter()
        .position(|l| !super::is_comment(l) && l.trim_start().starts_with("ports:"))?;
    let indent = super::indent(block[start]);
    let in_section = |l: &str| {
        l.trim().is_empty()
            || super::is_comment(l)
            || super::indent(l) > indent
            || (super::indent(l) == indent && l.trim_start().starts_with("- "))
    };
    let end = (start + 1..block.len())
        .find(|i| !in_section(block[*i]))
        .unwrap_or(block.len());
    (start..end).find(|i| {
        let l = block[*i];
        !super::is_comment(l) && entries_on(l).iter().any(|e| publishes(key, e))
    })
}

/// A `ports:` entry as a line shows it.
struct OnLine {
    /// The published range; `None`: a port without a number.
    published: Option<(u16, u16)>,
    /// `None`: not on this line (long syntax writes it on another).
    protocol: Option<String>,
}

/// The entries a line of a `ports:` section writes (flow style: several).
fn entries_on(line: &str) -> Vec<OnLine> {
    line.split([',', '[', ']', '{', '}'])
        .filter_map(|token| {
            let token = token.trim().trim_start_matches("- ").trim();
            let token = token.trim_matches(['"', '\'']);
            if let Some(n) = token.strip_prefix("published:") {
                let n = n.trim().trim_matches(['"', '\'']);
                return Some(OnLine {
                    published: port_range(n),
                    protocol: None,
                });
            }
            let short = token.starts_with(|c: char| c.is_ascii_digit() || c == '[' || c == ':')
                && !token.contains(char::is_whitespace);
            let (published, protocol) = short_syntax(token).filter(|_| short)?;
            Some(OnLine {
                published,
                protocol: Some(protocol),
            })
        })
        .collect()
}

fn publishes(key: &PortKey, entry: &OnLine) -> bool {
    let same = |protocol: &str| entry.protocol.as_deref().is_none_or(|w| w == protocol);
    match key {
        PortKey::Range { low, protocol, .. } => {
            entry.published.is_some_and(|(a, b)| (a..=b).contains(low)) && same(protocol)
        }
        PortKey::Auto { protocol } => {
            entry.published.is_none() && entry.protocol.is_some() && same(protocol)
        }
    }
}

#[cfg(test)]
mod tests;
