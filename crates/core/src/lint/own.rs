//! cc-ci's own rules (`C000`…`C008`). Most compare the head with its base release, which
//! abra, linting one checkout, cannot: what operators who installed the base will meet when
//! they upgrade.

use super::abra::split_image;
use super::tree::{mounts, Parsed};
use super::{Ctx, Finding, Outcome};
use crate::deploy_error::{next_version, template_vars};
use serde_yaml_ng::Value;
use std::collections::{BTreeMap, BTreeSet};

pub(super) fn check(id: &str, ctx: &Ctx) -> Outcome {
    let p = &ctx.head;
    if id == "C000" {
        return compose_parses(p);
    }
    if !p.has_services() {
        return Outcome::Skipped("no compose file with services parses (see C000)".into());
    }
    match id {
        "C001" => with_base(ctx, changed_without_bump),
        "C002" => with_base(ctx, newly_required),
        "C003" => version_label(ctx),
        "C004" => with_base(ctx, image_downgrades),
        "C005" => secrets_have_versions(p),
        "C006" => versions_have_secrets(p),
        "C007" => secret_lengths(p),
        "C008" => backup_volumes(p),
        _ => Outcome::Skipped("not implemented".into()),
    }
}

fn with_base(ctx: &Ctx, rule: fn(&Parsed, &str, &Parsed, &Ctx) -> Outcome) -> Outcome {
    match &ctx.base {
        Some((tag, base)) => rule(&ctx.head, tag, base, ctx),
        None => Outcome::Skipped("no base release to compare the head with".into()),
    }
}

fn compose_parses(p: &Parsed) -> Outcome {
    if p.tree.compose.is_empty() {
        return Outcome::Failed(vec![
            Finding::bare("the recipe has no compose.yml".into()).about("compose.yml")
        ]);
    }
    let mut findings = p.broken.clone();
    if findings.is_empty() && !p.has_services() {
        let first = &p.tree.compose[0].0;
        findings.push(
            Finding::at(
                "no service: the compose files have no `services:` mapping with entries".into(),
                first,
                None,
            )
            .about("services"),
        );
    }
    Outcome::from_findings(findings)
}

fn file_key(f: &str) -> &str {
    f.trim_start_matches("./")
}

/// C001: swarm configs and secrets are immutable; one whose content changed needs a new
/// name, which its version variable gives it. Docker refuses the upgrade otherwise ("only
/// updates to Labels are allowed").
fn changed_without_bump(head: &Parsed, base_tag: &str, base: &Parsed, _: &Ctx) -> Outcome {
    let mut findings = Vec::new();
    let mut compared = 0;
    for (section, kind) in [("configs", "config"), ("secrets", "secret")] {
        let base_entries: BTreeMap<String, &Value> = base.section(section).into_iter().collect();
        for (key, entry) in head.section(section) {
            let Some(src) = entry.get("file").and_then(Value::as_str) else {
                continue;
            };
            let Some(old) = base_entries.get(&key) else {
                continue;
            };
            let old_src = old.get("file").and_then(Value::as_str).unwrap_or(src);
            let (Some(now), Some(was)) = (
                head.tree.files.get(file_key(src)),
                base.tree.files.get(file_key(old_src)),
            ) else {
                continue;
            };
            compared += 1;
            if now == was {
                continue;
            }
            let template = entry.get("name").and_then(Value::as_str);
            let old_template = old.get("name").and_then(Value::as_str);
            let what = format!(
                "{kind} `{key}` (content from `{src}`) changed since {base_tag} but kept its name"
            );
            let Some(template) = template else {
                findings.push(head.finding_at(
                    &[section, &key],
                    format!(
                        "{what} `<stack>_{key}`: it has no version in its name; write `name: ${{STACK_NAME}}_{key}_${{{}_VERSION}}` and bump that variable whenever the content changes",
                        if kind == "secret" { format!("SECRET_{}", key.to_ascii_uppercase()) } else { key.to_ascii_uppercase() }
                    ),
                ));
                continue;
            };
            let name_now = head.interpolate(template);
            let name_was = base.interpolate(old_template.unwrap_or(template));
            if name_now != name_was {
                continue;
            }
            let vars = template_vars(template);
            let mut finding = None;
            let mut bumps = Vec::new();
            for var in &vars {
                match head.setting(var) {
                    Some((file, line, value, text)) => {
                        let next = next_version(&value)
                            .map(|n| format!(", e.g. to `{n}`"))
                            .unwrap_or_default();
                        bumps.push(format!(
                            "bump {var}, now `{value}` ({file} line {line}: `{text}`){next}"
                        ));
                        finding.get_or_insert((file, line));
                    }
                    None => bumps.push(format!(
                        "its name uses {var}, which neither abra.sh nor .env.sample sets: set it and bump it"
                    )),
                }
            }
            let message = format!(
                "{what} `{name_now}`: docker refuses the upgrade (\"only updates to Labels are allowed\"); {}",
                bumps.join("; ")
            );
            findings.push(
                match finding {
                    Some((file, line)) => Finding::at(message, file, Some(line)),
                    None => head.finding_at(&[section, &key, "name"], message),
                }
                .about(format!("{section}.{key}")),
            );
        }
    }
    if findings.is_empty() && compared == 0 {
        return Outcome::Noted(format!(
            "no config or secret file present in both the head and {base_tag}"
        ));
    }
    Outcome::from_findings(findings)
}

/// How a compose file refers to a variable.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Use {
    /// `${X:?err}`, `${X?err}`: the deploy fails without it.
    Required,
    /// `${X}`, `$X`: it becomes empty without it.
    Plain,
    /// `${X:-d}`, `${X-d}`, `${X:+a}`, `${X+a}`: works without it.
    Defaulted,
}

/// Every `$X` / `${X…}` of a compose text (comment lines and `$$` left out): (name, use,
/// 1-based line).
pub(crate) fn var_uses(text: &str) -> Vec<(String, Use, usize)> {
    let mut out = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        if raw.trim_start().starts_with('#') {
            continue;
        }
        let mut rest = raw;
        while let Some(pos) = rest.find('$') {
            let after = &rest[pos + 1..];
            if let Some(tail) = after.strip_prefix('$') {
                rest = tail;
                continue;
            }
            if let Some(body) = after.strip_prefix('{') {
                let len = body
                    .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                    .unwrap_or(body.len());
                let (name, op) = body.split_at(len);
                let kind = if op.starts_with(":?") || op.starts_with('?') {
                    Use::Required
                } else if op.starts_with('}') || op.is_empty() {
                    Use::Plain
                } else {
                    Use::Defaulted
                };
                if !name.is_empty() {
                    out.push((name.to_string(), kind, i + 1));
                }
                rest = body.find('}').map(|e| &body[e + 1..]).unwrap_or("");
            } else {
                let len = after
                    .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                    .unwrap_or(after.len());
                if len > 0 && !after.starts_with(|c: char| c.is_ascii_digit()) {
                    out.push((after[..len].to_string(), Use::Plain, i + 1));
                }
                rest = &after[len..];
            }
        }
    }
    out
}

/// Variables abra sets itself at deploy.
const SET_BY_ABRA: [&str; 1] = ["STACK_NAME"];

/// C002: a variable the head's compose needs (no default) that the base's `.env.sample`
/// did not set: every app installed from the base has an `.env` without it, so its upgrade
/// fails (`${X:?}`) or runs with it empty (`${X}`), unless the release notes tell operators.
fn newly_required(head: &Parsed, base_tag: &str, base: &Parsed, _: &Ctx) -> Outcome {
    let base_files: BTreeSet<&str> = base.tree.compose.iter().map(|(n, _)| n.as_str()).collect();
    let needed_before: BTreeSet<String> = base
        .tree
        .compose
        .iter()
        .flat_map(|(_, t)| var_uses(t))
        .filter(|(_, u, _)| *u != Use::Defaulted)
        .map(|(n, _, _)| n)
        .collect();
    // Notes the head adds or changes: what operators read before upgrading.
    let notes: Vec<(&String, &String)> = head
        .tree
        .release_notes
        .iter()
        .filter(|(name, text)| base.tree.release_notes.get(*name) != Some(*text))
        .collect();
    let mut seen = BTreeSet::new();
    let mut findings = Vec::new();
    let mut noted = Vec::new();
    for (file, text) in &head.tree.compose {
        // A compose file the base did not have is not in any installed app's COMPOSE_FILE.
        if !base_files.contains(file.as_str()) {
            continue;
        }
        for (var, use_, line) in var_uses(text) {
            if use_ == Use::Defaulted
                || SET_BY_ABRA.contains(&var.as_str())
                || needed_before.contains(&var)
                || base.sample_sets(&var)
                || head.abra.iter().any(|s| s.key == var)
                || !seen.insert(var.clone())
            {
                continue;
            }
            if let Some((name, _)) = notes.iter().find(|(_, t)| mentions(t, &var)) {
                noted.push(format!("{var} (release/{name})"));
                continue;
            }
            let how = match use_ {
                Use::Required => "the upgrade fails (`${…:?}`)",
                _ => "the app gets it empty",
            };
            findings.push(Finding::at(
                format!(
                    "the head requires {var} without a default, and the base release {base_tag}'s .env.sample did not set it: every app installed from it has an .env without {var}, so {how}. Give it a default in compose (`${{{var}:-…}}`), or tell operators in the release notes (release/<next version>) to add {var} to their .env"
                ),
                file,
                Some(line),
            ).about(format!("variable {var}")));
        }
    }
    if findings.is_empty() && !noted.is_empty() {
        return Outcome::Noted(format!(
            "newly required, and the release notes tell operators: {}",
            noted.join(", ")
        ));
    }
    Outcome::from_findings(findings)
}

/// `text` names `var` as a word.
fn mentions(text: &str, var: &str) -> bool {
    text.match_indices(var).any(|(i, _)| {
        let before = text[..i].chars().next_back();
        let after = text[i + var.len()..].chars().next();
        let word = |c: Option<char>| c.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_');
        !word(before) && !word(after)
    })
}

/// The label abra stamps and reads back as the deployed version, as recipes write it.
const VERSION_LABEL: &str = "coop-cloud.${STACK_NAME}.version";

/// The recipe's own version label (`coop-cloud.${STACK_NAME}.version`, or with
/// `$STACK_NAME`), not the other `coop-cloud.…` labels a service may carry.
fn is_version_label(raw_key: &str) -> bool {
    matches!(
        raw_key.trim(),
        VERSION_LABEL | "coop-cloud.$STACK_NAME.version"
    )
}

/// C003: a release's `coop-cloud.${STACK_NAME}.version` label is what abra reads back as
/// the deployed version; it must be the release's tag. Only that label is compared: a
/// service's other `coop-cloud.*` labels are not the recipe's version.
fn version_label(ctx: &Ctx) -> Outcome {
    let Some(tag) = ctx.head_release else {
        return Outcome::Skipped("the head is not a release".into());
    };
    let p = &ctx.head;
    let mut labels = Vec::new();
    for (name, svc) in p.services() {
        for (key, value) in p.raw_labels(svc) {
            if is_version_label(&key) {
                let value = p.interpolate(value.trim().trim_matches(['"', '\'']));
                labels.push((name.clone(), key, value));
            }
        }
    }
    if labels.is_empty() {
        return Outcome::Failed(vec![p
            .finding_at(
                &["services", "app"],
                format!(
                    "the head is release {tag} but no service has a `{VERSION_LABEL}` label: abra cannot tell which version is deployed"
                ),
            )
            .about(VERSION_LABEL)]);
    }
    let findings: Vec<Finding> = labels
        .into_iter()
        .filter(|(_, _, v)| v != tag)
        .map(|(svc, key, v)| {
            p.in_service(
                &svc,
                &key,
                format!("services.{svc} {VERSION_LABEL}"),
                format!("the head is release {tag} but service `{svc}` is labelled `{key}={v}`"),
            )
        })
        .collect();
    Outcome::from_findings(findings)
}

/// The numbers of an image tag (`v1.27.2-alpine` → [1, 27, 2]); `None` when it has none.
fn tag_numbers(tag: &str) -> Option<Vec<u64>> {
    let tag = tag.strip_prefix('v').unwrap_or(tag);
    let core = tag.split('-').next().unwrap_or(tag);
    core.split('.').map(|p| p.parse::<u64>().ok()).collect()
}

/// C004: an image of a service that goes back to an older tag than the base release ran.
fn image_downgrades(head: &Parsed, base_tag: &str, base: &Parsed, _: &Ctx) -> Outcome {
    let base_images: BTreeMap<String, String> = base
        .services()
        .into_iter()
        .filter_map(|(n, s)| base.image(s).map(|i| (n, i)))
        .collect();
    let mut findings = Vec::new();
    for (name, svc) in head.services() {
        let (Some(now), Some(was)) = (head.image(svc), base_images.get(&name)) else {
            continue;
        };
        let (repo, tag, _) = split_image(&now);
        let (old_repo, old_tag, _) = split_image(was);
        let (Some(tag), Some(old_tag)) = (tag, old_tag) else {
            continue;
        };
        if repo != old_repo {
            continue;
        }
        if let (Some(n), Some(o)) = (tag_numbers(tag), tag_numbers(old_tag)) {
            if n < o {
                findings.push(head.finding_at(
                    &["services", &name, "image"],
                    format!(
                        "service `{name}`: image {repo} goes back from `{old_tag}` ({base_tag}) to `{tag}`"
                    ),
                ));
            }
        }
    }
    Outcome::from_findings(findings)
}

/// `SECRET_DB_PASSWORD_VERSION` → `DB_PASSWORD`.
fn secret_of_var(key: &str) -> Option<&str> {
    key.strip_prefix("SECRET_")?
        .strip_suffix("_VERSION")
        .filter(|s| !s.is_empty())
}

/// C005: abra names a secret `<stack>_<key>_<version>`, the version being what the
/// secret's `name:` interpolates to after its last `_` — by convention
/// `${SECRET_<KEY>_VERSION}`, but whatever variable the name uses is what must be set.
/// The sample must list that variable (commented out for an optional secret), or abra.sh
/// export it.
fn secrets_have_versions(p: &Parsed) -> Outcome {
    let mut findings = Vec::new();
    for (key, secret) in p.section("secrets") {
        // A secret made from a file is not generated.
        if secret.get("file").is_some() {
            continue;
        }
        let conventional = format!("SECRET_{}_VERSION", key.to_ascii_uppercase());
        let name = secret.get("name").and_then(Value::as_str).unwrap_or("");
        let uses = var_uses(name);
        let named: Vec<String> = template_vars(name)
            .into_iter()
            .filter(|v| !SET_BY_ABRA.contains(&v.as_str()))
            .collect();
        let vars = if named.is_empty() {
            vec![conventional]
        } else {
            // `${X:-v1}`: the name has a version without the variable.
            named
                .into_iter()
                .filter(|v| uses.iter().any(|(n, u, _)| n == v && *u != Use::Defaulted))
                .collect()
        };
        for var in vars {
            let set = p.sample.iter().any(|s| s.key == var) || p.abra.iter().any(|s| s.key == var);
            if !set {
                findings.push(p.finding_at(
                    &["secrets", &key],
                    format!(
                        "secret `{key}` has no `{var}` line in .env.sample: abra cannot name or generate it; add `{var}=v1` (commented out if the secret is optional)"
                    ),
                ));
            }
        }
    }
    Outcome::from_findings(findings)
}

/// C006: a version line for a secret no compose file declares (abra generates a secret
/// nothing uses).
fn versions_have_secrets(p: &Parsed) -> Outcome {
    let keys: BTreeSet<String> = p
        .section("secrets")
        .into_iter()
        .map(|(k, _)| k.to_ascii_uppercase())
        .collect();
    let findings = p
        .sample
        .iter()
        .filter(|s| !s.commented)
        .filter_map(|s| {
            let name = secret_of_var(&s.key)?;
            (!keys.contains(name)).then(|| {
                Finding::at(
                    format!(
                        "`{}` is set but no compose file declares a secret `{}`",
                        s.key,
                        name.to_ascii_lowercase()
                    ),
                    ".env.sample",
                    Some(s.line),
                )
                .about(s.key.clone())
            })
        })
        .collect();
    Outcome::from_findings(findings)
}

/// C007: `# length=N` sizes the generated secret.
fn secret_lengths(p: &Parsed) -> Outcome {
    let findings = p
        .sample
        .iter()
        .filter(|s| secret_of_var(&s.key).is_some())
        .filter_map(|s| {
            let raw = s.modifiers.get("length")?;
            let ok = raw.parse::<usize>().is_ok_and(|n| (4..=4096).contains(&n));
            (!ok).then(|| {
                Finding::at(
                    format!(
                        "`{}` has `length={raw}`: not a whole number from 4 to 4096",
                        s.key
                    ),
                    ".env.sample",
                    Some(s.line),
                )
                .about(s.key.clone())
            })
        })
        .collect();
    Outcome::from_findings(findings)
}

const VOLUMES_PREFIX: &str = "backupbot.backup.volumes.";

/// C008: backup-bot-two reads `backupbot.backup.volumes.<volume>[.path]` of a service for
/// that service's own volume; naming another is a label that can never take effect.
fn backup_volumes(p: &Parsed) -> Outcome {
    let mut findings = Vec::new();
    for (name, svc) in p.services() {
        let own = mounts(svc);
        for key in p.labels(svc).keys() {
            let Some(rest) = key.strip_prefix(VOLUMES_PREFIX) else {
                continue;
            };
            let volume = rest.strip_suffix(".path").unwrap_or(rest);
            if own.iter().any(|v| v == volume) {
                continue;
            }
            let has = if own.is_empty() {
                "it mounts no named volume".to_string()
            } else {
                format!("its named volumes: {}", own.join(", "))
            };
            findings.push(p.in_service(
                &name,
                key,
                format!("services.{name} {key}"),
                format!("service `{name}`: label `{key}` names no volume of the service ({has})"),
            ));
        }
    }
    Outcome::from_findings(findings)
}
