//! The host-access check at the start of the install rung (SPEC §6, "the host is not the
//! recipe's"): a head whose compose files add host access (bind mounts of host paths, the
//! Docker socket above all, host namespaces, devices, capabilities, …) that its base release
//! did not have is refused before any secret, volume or service exists, unless the operator
//! allows those keys for the recipe in the CI's suite tree. The rules and keys are
//! [`ccci_core::host_access`]'s.

use crate::ctx::RunCtx;
use crate::recipe::Recipe;
use ccci_core::compose::{load_stack, StackModel};
use ccci_core::envfile::EnvFile;
use ccci_core::host_access::{self, Refusal};
use ccci_core::results::{Failure, SuiteSource};

fn fail(message: String) -> Failure {
    Failure {
        message,
        ..Default::default()
    }
}

/// A checkout's compose files as this app deploys them (`env`, the recipe's `abra.sh`
/// exports and the stack name), named relative to the recipe. The suite's overlays count
/// only when the suite is the head's own (the CI's tree and a release are trusted).
fn load(
    ctx: &RunCtx,
    recipe: &Recipe,
    env: &EnvFile,
    overlays: bool,
) -> Result<(StackModel, Vec<(String, String)>), Failure> {
    let mut files = recipe.compose_files(env).map_err(|e| {
        fail(format!(
            "reading the compose files for the host-access check: {e}"
        ))
    })?;
    if overlays {
        files.extend(ctx.app.suite_overlays.iter().cloned());
    }
    let mut texts = Vec::new();
    for f in &files {
        let text = crate::recipe::read_stack_file(recipe, f).map_err(|e| fail(e.to_string()))?;
        let name = f
            .strip_prefix(&recipe.dir)
            .unwrap_or(f)
            .display()
            .to_string();
        texts.push((name, text));
    }
    let mut vars = recipe.abra_exports.clone();
    vars.extend(env.to_map());
    vars.insert("STACK_NAME".into(), ctx.app.stack.clone());
    let model = load_stack(&texts, &vars).map_err(|e| fail(format!("host-access check: {e}")))?;
    Ok((model, texts))
}

/// Refuses host access the head adds to its base release (see the module docs).
pub fn check(ctx: &RunCtx) -> Result<(), Failure> {
    let own_suite = ctx.judged_by.record.source == SuiteSource::Head;
    let (head, head_files) = load(ctx, &ctx.checkouts.head.recipe, &ctx.app.env, own_suite)?;
    let base = match &ctx.checkouts.base {
        // The base as this app would deploy it; failing that (the head's COMPOSE_FILE names
        // a file the base lacks, and no upgrade is asked), with its own COMPOSE_FILE.
        Some(b) => {
            let model = load(ctx, &b.recipe, &ctx.app.env, false).or_else(|_| {
                let mut env = ctx.app.env.clone();
                env.set(
                    "COMPOSE_FILE",
                    b.recipe
                        .env_sample
                        .get("COMPOSE_FILE")
                        .unwrap_or("compose.yml"),
                );
                load(ctx, &b.recipe, &env, false)
            })?;
            Some((b.version.clone(), model.0))
        }
        None => None,
    };
    let added = host_access::added(&head, base.as_ref().map(|(_, m)| m));
    let refused = host_access::refused(added.clone(), &ctx.suite.host_access_allow);
    for g in added.iter().filter(|g| !refused.contains(g)) {
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
    let refusals: Vec<Refusal> = refused
        .into_iter()
        .map(|grant| Refusal {
            at: host_access::locate(&grant, &head_files),
            grant,
        })
        .collect();
    Err(Failure {
        message: host_access::refusal_message(
            &refusals,
            base.as_ref().map(|(v, _)| v.as_str()),
            &ctx.judged_by.ci_suite_file,
        ),
        service: Some(service),
        ..Default::default()
    })
}
