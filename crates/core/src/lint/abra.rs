//! abra's published lint rules (`R001`…`R015`), implemented natively over the parsed
//! recipe. Ids, levels and texts: see the module docs of [`super`] for what was confirmed.

use super::tree::{scalar, Parsed};
use super::{Ctx, Finding, Outcome};
use crate::deploy_error::template_vars;
use crate::key_line::key_line;
use serde_yaml_ng::Value;

pub(super) fn check(id: &str, ctx: &Ctx) -> Outcome {
    let p = &ctx.head;
    let needs_compose = !matches!(id, "R006" | "R007" | "R008" | "R013" | "R014");
    if needs_compose && !p.has_services() {
        return Outcome::Skipped("no compose file with services parses (see C000)".into());
    }
    match id {
        "R001" => compose_version(p),
        "R002" => healthchecks(p),
        "R003" => images_tagged(p),
        "R004" => no_unstable_tags(p),
        "R005" => semver_like_tags(p),
        "R006" => published_version(ctx),
        "R007" => metadata_filled_in(p),
        "R008" => match p.tree.env_sample {
            Some(_) => Outcome::Satisfied,
            None => Outcome::Failed(vec![Finding::bare(
                "the recipe has no .env.sample: operators start their app's .env from it".into(),
            )
            .about(".env.sample")]),
        },
        "R009" => {
            if p.services().iter().any(|(name, _)| name == "app") {
                Outcome::Satisfied
            } else {
                let names: Vec<String> = p.services().into_iter().map(|(n, _)| n).collect();
                Outcome::Failed(vec![p.finding_at(
                    &["services"],
                    format!(
                        "no service is named `app` (services: {}); abra's commands address the app service by that name",
                        names.join(", ")
                    ),
                )])
            }
        }
        "R010" => traefik_enabled(p),
        "R011" => images_present(p),
        "R012" => abra_sh_vendors(p),
        "R013" => {
            Outcome::Skipped("needs the network (git.coopcloud.tech); cc-ci lints offline".into())
        }
        "R014" => annotated_tags(ctx),
        "R015" => secret_lengths(p),
        _ => Outcome::Skipped("not implemented".into()),
    }
}

fn compose_version(p: &Parsed) -> Outcome {
    let mut findings = Vec::new();
    for d in &p.docs {
        match d.value.get("version").and_then(scalar) {
            Some(v) if v == "3.8" => {}
            Some(v) => findings.push(Finding::at(
                format!("`version: \"{v}\"`, not \"3.8\""),
                d.name,
                key_line(d.text, &["version"]),
            )),
            None => findings.push(Finding::at(
                "no `version:` (abra expects \"3.8\")".into(),
                d.name,
                Some(1),
            )),
        }
    }
    Outcome::from_findings(findings)
}

fn healthchecks(p: &Parsed) -> Outcome {
    let mut findings = Vec::new();
    for (name, svc) in p.services() {
        let hc = svc.get("healthcheck");
        let disabled = hc.is_some_and(|h| {
            h.get("disable").and_then(Value::as_bool) == Some(true)
                || h.get("test")
                    .and_then(Value::as_sequence)
                    .and_then(|t| t.first())
                    .and_then(Value::as_str)
                    == Some("NONE")
        });
        if hc.is_none() || disabled {
            findings.push(p.finding_at(
                &["services", &name],
                format!("service `{name}` has no healthcheck"),
            ));
        }
    }
    Outcome::from_findings(findings)
}

/// `name[:tag][@digest]` → (name, tag, digest).
pub(crate) fn split_image(image: &str) -> (&str, Option<&str>, Option<&str>) {
    let (rest, digest) = match image.split_once('@') {
        Some((r, d)) => (r, Some(d)),
        None => (image, None),
    };
    let slash = rest.rfind('/').map(|i| i + 1).unwrap_or(0);
    match rest[slash..].rfind(':') {
        Some(i) => (&rest[..slash + i], Some(&rest[slash + i + 1..]), digest),
        None => (rest, None, digest),
    }
}

/// Each service's image, with where it is written.
fn images(p: &Parsed) -> Vec<(String, String)> {
    p.services()
        .into_iter()
        .filter_map(|(name, svc)| p.image(svc).map(|i| (name, i)))
        .collect()
}

fn images_tagged(p: &Parsed) -> Outcome {
    let findings = images(p)
        .into_iter()
        .filter(|(_, image)| {
            let (_, tag, digest) = split_image(image);
            tag.is_none() && digest.is_none()
        })
        .map(|(name, image)| {
            p.finding_at(
                &["services", &name, "image"],
                format!("service `{name}`: image `{image}` has no tag"),
            )
        })
        .collect();
    Outcome::from_findings(findings)
}

fn no_unstable_tags(p: &Parsed) -> Outcome {
    let findings = images(p)
        .into_iter()
        .filter(|(_, image)| split_image(image).1 == Some("latest"))
        .map(|(name, image)| {
            p.finding_at(
                &["services", &name, "image"],
                format!("service `{name}`: image `{image}` uses the unstable tag `latest`"),
            )
        })
        .collect();
    Outcome::from_findings(findings)
}

/// `1`, `1.2`, `v1.2.3`, `16-alpine`, `1.27.2-bookworm`: numbers and dots, an optional
/// leading `v`, an optional `-suffix`. (abra uses its `tagcmp` library; the exact grammar
/// accepted there is not confirmed here.)
pub(crate) fn semver_like(tag: &str) -> bool {
    let tag = tag.strip_prefix('v').unwrap_or(tag);
    let (core, suffix) = match tag.split_once('-') {
        Some((c, s)) => (c, Some(s)),
        None => (tag, None),
    };
    let parts: Vec<&str> = core.split('.').collect();
    (1..=4).contains(&parts.len())
        && parts
            .iter()
            .all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_digit()))
        && suffix.is_none_or(|s| {
            !s.is_empty()
                && s.chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
        })
}

fn semver_like_tags(p: &Parsed) -> Outcome {
    let findings = images(p)
        .into_iter()
        .filter_map(|(name, image)| {
            let tag = split_image(&image).1?.to_string();
            (!semver_like(&tag)).then(|| {
                p.finding_at(
                    &["services", &name, "image"],
                    format!(
                        "service `{name}`: image `{image}`: the tag `{tag}` is not semver-like"
                    ),
                )
            })
        })
        .collect();
    Outcome::from_findings(findings)
}

/// abra looks the recipe up in its catalogue; cc-ci checks the repository for a release.
fn published_version(ctx: &Ctx) -> Outcome {
    let Some(tags) = ctx.tags else {
        return Outcome::Skipped("a plain directory has no release tags".into());
    };
    let releases: Vec<&str> = tags
        .iter()
        .filter(|t| t.annotated && crate::version::parse_release_tag(&t.name).is_some())
        .map(|t| t.name.as_str())
        .collect();
    match releases.last() {
        Some(_) => Outcome::Noted(format!(
            "{} release(s) in the repository (cc-ci checks the repository's annotated release tags, not abra's catalogue)",
            releases.len()
        )),
        None => Outcome::Failed(vec![Finding::bare(
            "the repository has no release: no annotated tag X.Y.Z+<app version>".into(),
        )
        .about("release tags")]),
    }
}

/// R007's subject: the README's metadata, however it falls short.
const README_METADATA: &str = "README.md metadata";

/// The README's `<!-- metadata -->` block: `* **Category**: Apps` lines.
const METADATA_FIELDS: [&str; 6] = [
    "Category",
    "Image",
    "Healthcheck",
    "Backups",
    "Email",
    "SSO",
];

fn metadata_filled_in(p: &Parsed) -> Outcome {
    let Some(readme) = &p.tree.readme else {
        return Outcome::Failed(vec![Finding::bare(
            "the recipe has no README.md (its metadata block describes the recipe to the catalogue)".into(),
        )
        .about(README_METADATA)]);
    };
    let lines: Vec<&str> = readme.lines().collect();
    let start = lines
        .iter()
        .position(|l| l.trim().eq_ignore_ascii_case("<!-- metadata -->"));
    let Some(start) = start else {
        return Outcome::Failed(vec![Finding::at(
            format!(
                "no `<!-- metadata -->` … `<!-- endmetadata -->` block with {}",
                METADATA_FIELDS.join(", ")
            ),
            "README.md",
            None,
        )
        .about(README_METADATA)]);
    };
    let mut found = std::collections::BTreeMap::new();
    for line in &lines[start + 1..] {
        let t = line.trim();
        if t.eq_ignore_ascii_case("<!-- endmetadata -->") {
            break;
        }
        let body = t.trim_start_matches(['*', '-']).trim();
        if let Some(rest) = body.strip_prefix("**") {
            if let Some((key, value)) = rest.split_once("**") {
                let key = key.trim().trim_end_matches(':').trim();
                let value = value.trim().trim_start_matches(':').trim();
                found.insert(key.to_ascii_lowercase(), value.to_string());
            }
        }
    }
    let missing: Vec<&str> = METADATA_FIELDS
        .iter()
        .copied()
        .filter(|f| {
            found
                .get(&f.to_ascii_lowercase())
                .is_none_or(|v| v.is_empty() || v == "?")
        })
        .collect();
    if missing.is_empty() {
        Outcome::Satisfied
    } else {
        Outcome::Failed(vec![Finding::at(
            format!("metadata not filled in: {}", missing.join(", ")),
            "README.md",
            Some(start + 1),
        )
        .about(README_METADATA)])
    }
}

/// abra skips it for recipes without a `DOMAIN` (not served through the proxy).
fn traefik_enabled(p: &Parsed) -> Outcome {
    if !p.sample_sets("DOMAIN") {
        return Outcome::Skipped(
            ".env.sample sets no DOMAIN: the recipe is not served through the proxy".into(),
        );
    }
    let enabled = p.services().iter().any(|(_, svc)| {
        p.labels(svc)
            .get("traefik.enable")
            .is_some_and(|v| v.trim().eq_ignore_ascii_case("true"))
    });
    if enabled {
        Outcome::Satisfied
    } else {
        Outcome::Failed(vec![p.finding_at(
            &["services", "app"],
            "no service has the deploy label `traefik.enable=true`: the proxy will not route the app's DOMAIN".into(),
        )
        .about("traefik.enable")])
    }
}

fn images_present(p: &Parsed) -> Outcome {
    let findings = p
        .services()
        .into_iter()
        .filter(|(_, svc)| p.image(svc).is_none())
        .map(|(name, _)| {
            p.finding_at(
                &["services", &name],
                format!(
                    "service `{name}` has no `image:` (recipes deploy images; they are not built)"
                ),
            )
        })
        .collect();
    Outcome::from_findings(findings)
}

/// Every config's name carries a version variable, exported by abra.sh (abra reads the
/// versions of the configs the recipe vendors from there).
fn abra_sh_vendors(p: &Parsed) -> Outcome {
    let configs = p.section("configs");
    if configs.is_empty() {
        return Outcome::Noted("the recipe has no configs".into());
    }
    let mut findings = Vec::new();
    for (key, cfg) in configs {
        let name = cfg.get("name").and_then(Value::as_str);
        let vars = name.map(template_vars).unwrap_or_default();
        if vars.is_empty() {
            let var = format!("{}_VERSION", key.to_ascii_uppercase());
            findings.push(p.finding_at(
                &["configs", &key],
                format!(
                    "config `{key}` has no version in its name: write `name: ${{STACK_NAME}}_{key}_${{{var}}}` and `export {var}=v1` in abra.sh"
                ),
            ));
            continue;
        }
        for var in vars {
            if p.abra.iter().any(|s| s.key == var) {
                continue;
            }
            let why = if p.tree.abra_sh.is_none() {
                "the recipe has no abra.sh"
            } else {
                "abra.sh does not export it"
            };
            findings.push(p.finding_at(
                &["configs", &key, "name"],
                format!("config `{key}`: its name uses {var}, and {why}: add `export {var}=v1` to abra.sh"),
            ).about(format!("configs.{key}.name {var}")));
        }
    }
    Outcome::from_findings(findings)
}

fn annotated_tags(ctx: &Ctx) -> Outcome {
    let Some(tags) = ctx.tags else {
        return Outcome::Skipped("a plain directory has no tags".into());
    };
    let light: Vec<&str> = tags
        .iter()
        .filter(|t| !t.annotated)
        .map(|t| t.name.as_str())
        .collect();
    if light.is_empty() {
        return Outcome::Satisfied;
    }
    Outcome::Failed(
        light
            .into_iter()
            .map(|t| {
                Finding::bare(format!(
                    "tag `{t}` is a lightweight tag; re-create it annotated: `git tag -d {t} && git tag -a {t} -m \"release {t}\"`"
                ))
                .about(format!("tag {t}"))
            })
            .collect(),
    )
}

/// abra's secret names are `<stack>_<secret>_<version>` within Docker's 64 characters.
pub(crate) const MAX_SECRET_KEY_LEN: usize = 12;

fn secret_lengths(p: &Parsed) -> Outcome {
    let findings = p
        .section("secrets")
        .into_iter()
        .filter(|(key, _)| key.len() > MAX_SECRET_KEY_LEN)
        .map(|(key, _)| {
            p.finding_at(
                &["secrets", &key],
                format!(
                    "secret `{key}` is {} characters, more than {MAX_SECRET_KEY_LEN}",
                    key.len()
                ),
            )
        })
        .collect();
    Outcome::from_findings(findings)
}
