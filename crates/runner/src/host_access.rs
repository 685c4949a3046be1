//! The check before every deploy (docs/behaviour.md §7, "the host is not the recipe's";
//! ARCHITECTURE.md "Threat model"): what docker will deploy — `docker stack config` with the
//! deploy's exact files, environment and working directory, after every hook — is judged by
//! [`ccci_core::deployed`] before `docker stack deploy` runs:
//!
//! - every file docker reads for the recipe (its compose files, `configs`/`secrets`
//!   `file:`, `env_file:`, bind sources inside it) must resolve, links followed, inside the
//!   recipe's checkout; the values a compose file could hand docker are checked on cc-ci's
//!   own reading first, so docker never reads a host file for a refused recipe;
//! - engine objects outside the stack (volumes, secrets, configs, networks other than
//!   `proxy`) need the operator's allow list in the CI's tree;
//! - host access a service adds to the base release's (bind mounts, the Docker socket,
//!   capabilities, host namespaces, …) needs it too. The base's grants come from the base
//!   release's own files and environment (its `.env.sample`, `COMPOSE_FILE`, `abra.sh`).

use crate::app::PreparedDeploy;
use crate::ctx::{RunCtx, Which};
use ccci_core::compose::interpolate;
use ccci_core::deployed::{self, Deployed, Place};
use ccci_core::host_access::{self, Grant, Refusal};
use ccci_core::results::{Failure, SuiteSource};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

fn fail(message: String) -> Failure {
    Failure {
        message,
        ..Default::default()
    }
}

/// Checks what deploying `which` with `prepared` would put on the swarm; `Err` refuses it.
/// Returns the document that passed: what the deploy's images are pulled from.
pub async fn check(
    ctx: &mut RunCtx,
    which: Which,
    prepared: &PreparedDeploy,
) -> Result<Deployed, Failure> {
    let doc = judged_document(ctx, prepared).await?;
    let places = places(&doc, &prepared.workdir);
    let allow = ctx.suite.host_access_allow.clone();
    let judged = deployed::judge(
        &doc,
        &ctx.app.stack,
        crate::app::PROXY_NETWORK,
        &places,
        &allow,
    );
    if !judged.breaches.is_empty() {
        let lines: Vec<String> = judged.breaches.iter().map(|b| b.message()).collect();
        return Err(fail(format!(
            "cc-ci refuses to deploy {}: {}",
            deployed_what(ctx, which),
            lines.join("; ")
        )));
    }
    let base = base_grants(ctx).await;
    let added = host_access::added(&judged.grants, &base);
    refuse_added(ctx, which, added, prepared)?;
    Ok(doc)
}

fn deployed_what(ctx: &RunCtx, which: Which) -> String {
    match (which, &ctx.checkouts.base) {
        (Which::Base, Some(b)) => format!("release {}", b.version),
        _ => "the head".to_string(),
    }
}

/// The document docker would deploy, once every file docker reads before it prints one is
/// known to be the recipe's.
async fn judged_document(ctx: &RunCtx, prepared: &PreparedDeploy) -> Result<Deployed, Failure> {
    let texts = recipe_texts(prepared)?;
    for (name, text) in &texts {
        for value in deployed::raw_file_values_of(text) {
            let Ok(path) = interpolate(&value, &prepared.env) else {
                continue; // docker refuses it the same way, reading nothing
            };
            if let Place::Outside { written_inside } =
                resolve(&prepared.workdir, Path::new(path.trim()))
            {
                let how = if written_inside {
                    "a link takes outside the checkout"
                } else {
                    "outside the checkout"
                };
                return Err(fail(format!(
                    "cc-ci refuses to deploy: {name} hands docker the file {path}, {how}. \
                     Docker reads such files on the CI host as root; keep the file in the \
                     recipe (a link to another file of the recipe is fine)"
                )));
            }
        }
    }
    let text = ccci_adapters::stack::config(&prepared.plan(&ctx.app.stack))
        .await
        .map_err(|e| fail(format!("{e:#}")))?;
    Deployed::parse(&text).map_err(|e| fail(e.to_string()))
}

/// The recipe's compose files, each inside its checkout (links followed), as text.
fn recipe_texts(prepared: &PreparedDeploy) -> Result<Vec<(String, String)>, Failure> {
    let mut texts = Vec::new();
    for file in &prepared.recipe_files {
        let name = file
            .strip_prefix(&prepared.workdir)
            .unwrap_or(file)
            .display()
            .to_string();
        if !matches!(resolve(&prepared.workdir, file), Place::Inside(_)) {
            return Err(fail(format!(
                "cc-ci refuses to deploy: COMPOSE_FILE names {name}, which is not a file inside \
                 the recipe's checkout (an absolute path, `..`, or a link out of it); name the \
                 recipe's own compose files"
            )));
        }
        let text = ccci_adapters::beneath::read_in_checkout(&prepared.workdir, file)
            .map_err(|e| fail(format!("reading {name}: {e}")))?;
        texts.push((name, text));
    }
    Ok(texts)
}

/// Where each host path of the document resolves, links followed.
fn places(doc: &Deployed, workdir: &Path) -> BTreeMap<String, Place> {
    deployed::host_paths(doc)
        .into_iter()
        .map(|hp| {
            let place = resolve(workdir, Path::new(&hp.path));
            (hp.path, place)
        })
        .collect()
}

/// Resolves `path` (relative to `root`, or absolute) with every link followed: inside the
/// root (canonically), outside it, or missing.
fn resolve(root: &Path, path: &Path) -> Place {
    let joined = root.join(path);
    let Ok(canonical_root) = root.canonicalize() else {
        return Place::Missing;
    };
    let written_inside = lexically_inside(&joined, root);
    match joined.canonicalize() {
        Ok(real) => match real.strip_prefix(&canonical_root) {
            Ok(rel) => Place::Inside(rel.display().to_string()),
            Err(_) => Place::Outside { written_inside },
        },
        // A dangling link is outside whatever it names.
        Err(_) if joined.symlink_metadata().is_ok() => Place::Outside { written_inside },
        Err(_) => Place::Missing,
    }
}

/// `path` as written (`..` folded, links not followed) lies inside `root`.
fn lexically_inside(path: &Path, root: &Path) -> bool {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            std::path::Component::ParentDir => {
                out.pop();
            }
            std::path::Component::CurDir => {}
            other => out.push(other),
        }
    }
    out.starts_with(root)
}

/// The base release's grants, from its own files and environment (computed once a run).
async fn base_grants(ctx: &mut RunCtx) -> Vec<Grant> {
    if let Some(known) = &ctx.base_grants {
        return known.clone();
    }
    let grants = match compute_base_grants(ctx).await {
        Ok(g) => g,
        Err(why) => {
            ctx.progress.line(&format!(
                "   the base release's host access could not be read ({why}); the head's is compared with none"
            ));
            Vec::new()
        }
    };
    ctx.base_grants = Some(grants.clone());
    grants
}

async fn compute_base_grants(ctx: &RunCtx) -> Result<Vec<Grant>, String> {
    let Some(base) = &ctx.checkouts.base else {
        return Ok(Vec::new());
    };
    let recipe = &base.recipe;
    let env = crate::app::operator_env(recipe, &base.version, &ctx.app.domain, &ctx.suite);
    let mut files = recipe.compose_files(&env).map_err(|e| e.to_string())?;
    // The judging suite's overlays are the operator's (or a release's): the base has them
    // too. The head's own suite's are the head's.
    if ctx.judged_by.record.source != SuiteSource::Head {
        files.extend(ctx.app.suite_overlays.iter().cloned());
    }
    let mut vars = recipe.abra_exports.clone();
    vars.extend(env.to_map());
    vars.insert("STACK_NAME".into(), ctx.app.stack.clone());
    let prepared = PreparedDeploy {
        workdir: recipe.dir.clone(),
        recipe_files: recipe.compose_files(&env).map_err(|e| e.to_string())?,
        files,
        env: vars,
    };
    let doc = judged_document(ctx, &prepared)
        .await
        .map_err(|f| f.message)?;
    let places = places(&doc, &prepared.workdir);
    Ok(deployed::judge(
        &doc,
        &ctx.app.stack,
        crate::app::PROXY_NETWORK,
        &places,
        &[],
    )
    .grants)
}

/// Refuses grants the base did not have and the operator did not allow.
fn refuse_added(
    ctx: &RunCtx,
    which: Which,
    added: Vec<Grant>,
    prepared: &PreparedDeploy,
) -> Result<(), Failure> {
    let refused = host_access::refused(added.clone(), &ctx.suite.host_access_allow);
    // What the operator's keys let through: the added grants less the refused (a published
    // range may be allowed in part).
    for g in &host_access::added(&added, &refused) {
        ctx.progress.line(&format!(
            "   host access allowed by the CI's suite: service {} adds {} ({})",
            g.service,
            g.key,
            host_access::describe(g)
        ));
    }
    let Some(first) = refused.first() else {
        return Ok(());
    };
    let service = first.service.clone();
    let texts = recipe_texts(prepared).unwrap_or_default();
    let refusals: Vec<Refusal> = refused
        .into_iter()
        .map(|grant| Refusal {
            at: host_access::locate(&grant, &texts),
            grant,
        })
        .collect();
    let base_version = match which {
        Which::Base => None,
        Which::Head => ctx.checkouts.base.as_ref().map(|b| b.version.as_str()),
    };
    Err(Failure {
        message: host_access::refusal_message(
            &refusals,
            base_version,
            &ctx.judged_by.ci_suite_file,
        ),
        service: Some(service),
        ..Default::default()
    })
}

/// Before anything of the install exists: what the install and the upgrade would deploy,
/// each document's images pulled once it passed, so a missing one is found before anything
/// is created (every deploy checks again, and pulls what a hook made it name).
pub async fn check_before_install(ctx: &mut RunCtx, deploys_base: bool) -> Result<(), Failure> {
    ctx.check(Which::Head).await?;
    if deploys_base {
        ctx.check(Which::Base).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_resolve_with_links_followed() {
        let base = std::env::temp_dir().join(format!("ccci-resolve-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&base);
        let root = base.join("recipe");
        std::fs::create_dir_all(root.join("conf")).unwrap();
        std::fs::write(root.join("conf/a.conf"), "x").unwrap();
        std::fs::write(base.join("token"), "secret").unwrap();
        std::os::unix::fs::symlink("a.conf", root.join("conf/in.conf")).unwrap();
        std::os::unix::fs::symlink("../../token", root.join("conf/out.conf")).unwrap();
        std::os::unix::fs::symlink("/nonexistent/x", root.join("dangling")).unwrap();
        let table: &[(&str, Place)] = &[
            ("conf/a.conf", Place::Inside("conf/a.conf".into())),
            ("./conf/in.conf", Place::Inside("conf/a.conf".into())),
            (
                "conf/out.conf",
                Place::Outside {
                    written_inside: true,
                },
            ),
            (
                "../token",
                Place::Outside {
                    written_inside: false,
                },
            ),
            (
                "dangling",
                Place::Outside {
                    written_inside: true,
                },
            ),
            ("conf/none", Place::Missing),
        ];
        for (path, want) in table {
            assert_eq!(&resolve(&root, Path::new(path)), want, "{path}");
        }
        let abs = base.join("token");
        assert_eq!(
            resolve(&root, &abs),
            Place::Outside {
                written_inside: false
            }
        );
        let _ = std::fs::remove_dir_all(&base);
    }
}
