//! `--keep`: a RED run's app left deployed for debugging. The core decides whether a run
//! keeps ([`ccci_core::keep::not_kept_because`]); this writes `kept_until` into the run's
//! registry entry (the janitor leaves the app alone until then and removes it all after,
//! see the janitor in `ccci-hostjobs`) and says how to reach the app, its logs, and how to release it.

use crate::app::Forwarding;
use crate::ctx::RunCtx;
use crate::request::Rig;
use ccci_adapters::registry;
use ccci_core::keep::{format_keep, not_kept_because};
use ccci_core::results::Kept;
use std::time::Duration;

/// How the run ended, as far as keeping its app goes.
pub struct Ending {
    pub green: bool,
    pub warm: bool,
    pub interrupted: bool,
}

/// Keeps the app when `keep` asks and the run may keep it: records `kept_until` (the
/// registry write is atomic: a run killed before it is reaped as a dead run's). Returns
/// what the results record, or `None` (then the app is torn down as always; the progress
/// says why when a keep was asked).
pub async fn keep_if_asked(
    ctx: &RunCtx,
    rig: &Rig,
    keep: Option<Duration>,
    ending: &Ending,
) -> Option<Kept> {
    let keep = keep?;
    if let Some(why) = not_kept_because(ending.green, ending.warm, ending.interrupted) {
        ctx.progress.line(&format!("--keep: {why}"));
        return None;
    }
    let services = match ctx.engine.observe_stack(&ctx.app.stack).await {
        Ok(services) if !services.is_empty() => services,
        _ => {
            ctx.progress
                .line("--keep: nothing of the app is deployed: nothing to keep");
            return None;
        }
    };
    // Whole seconds: `until` is shown to people and compared in Unix seconds.
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let until = time::OffsetDateTime::from_unix_timestamp(now + keep.as_secs() as i64)
        .unwrap_or_else(|_| time::OffsetDateTime::now_utc() + keep);
    if let Err(e) = mark_kept(rig, &ctx.app.stack, until.unix_timestamp()) {
        ctx.progress.line(&format!(
            "--keep: the registry entry was not updated ({e:#}): torn down"
        ));
        return None;
    }
    let names: Vec<String> = services
        .iter()
        .map(|s| ctx.app.service_name(&s.name))
        .collect();
    let kept = describe(ctx, rig, &names, until);
    ctx.progress.line(&format!(
        "kept for debugging for {} (until {}): {}",
        format_keep(keep),
        kept.until,
        kept.reach
    ));
    for line in &kept.logs {
        ctx.progress.line(&format!("   logs: {line}"));
    }
    ctx.progress.line(&format!(
        "   removed by the janitor after that; early: {}",
        kept.release
    ));
    Some(kept)
}

/// Rewrites the run's registry entry with its keep; its work dir goes now (the janitor
/// has nothing to remove there later).
fn mark_kept(rig: &Rig, stack: &str, until: i64) -> anyhow::Result<()> {
    let mut entry = registry::list(&rig.state_dir)
        .into_iter()
        .find(|e| e.stack == stack)
        .ok_or_else(|| anyhow::anyhow!("no registry entry for {stack}"))?;
    entry.kept_until = Some(until);
    entry.work_dir = None;
    registry::register(&rig.state_dir, &entry)
}

/// Where the kept app answers, its logs and its release, for the results and the reports.
fn describe(ctx: &RunCtx, rig: &Rig, services: &[String], until: time::OffsetDateTime) -> Kept {
    let domain = &ctx.app.domain;
    let (url, reach) = match (rig.ingress, ctx.app.forwarder) {
        (Some(ingress), _) => {
            let scheme = if rig.ingress_https { "https" } else { "http" };
            (
                format!("{scheme}://{domain}/"),
                format!(
                    "curl --resolve {domain}:{}:{} {scheme}://{domain}/",
                    ingress.port(),
                    ingress.ip()
                ),
            )
        }
        (None, Some(Forwarding::Loopback { port })) => (
            format!("http://127.0.0.1:{port}/"),
            format!("curl -H 'Host: {domain}' http://127.0.0.1:{port}/"),
        ),
        // cc-ci runs in a container on `proxy`: so does the forwarder, by its name.
        (None, Some(forwarding @ Forwarding::Proxy)) => {
            let addr = forwarding.address(&ctx.app.stack);
            (
                format!("http://{addr}/"),
                format!(
                    "docker run --rm --network proxy ccci-sandbox:latest wget -qO- --header 'Host: {domain}' http://{addr}/"
                ),
            )
        }
        (None, None) => (
            format!("http://{domain}/"),
            format!("curl http://{domain}/"),
        ),
    };
    Kept {
        until: ccci_adapters::clock::rfc3339(until),
        until_unix: until.unix_timestamp(),
        url,
        reach,
        logs: services
            .iter()
            .map(|s| format!("docker service logs {s}"))
            .collect(),
        release: format!(
            "ccci janitor --release {} --state-dir {}",
            ctx.app.stack,
            rig.state_dir.display()
        ),
    }
}
