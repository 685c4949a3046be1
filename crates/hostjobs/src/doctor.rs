//! `ccci doctor` for the host: what `ccci run` needs (docs/behaviour.md §8), checked and explained.

use ccci_adapters::engine::{Engine, OwnContainer};
use ccci_adapters::sandbox::SANDBOX_IMAGE;
use ccci_adapters::stack::FORWARDER_IMAGE;
use ccci_core::doctor::{self, Check};
use ccci_runner::app::PROXY_NETWORK;
use ccci_runner::request::Rig;

/// Every host check, in order; the engine's are skipped (one failure) when it is not reachable.
pub async fn host(rig: &Rig) -> Vec<Check> {
    let mut checks = Vec::new();
    let engine = match Engine::connect().await {
        Ok(e) => e,
        Err(e) => {
            checks.push(Check::fail(
                "docker",
                format!("{e:#}"),
                "start dockerd, or set DOCKER_HOST to the engine",
            ));
            checks.push(state_dir(rig));
            return checks;
        }
    };
    match engine.host_facts().await {
        Ok(facts) => {
            checks.push(Check::ok("docker", format!("Engine {}", facts.version)));
            checks.push(swarm(facts.swarm_active, facts.manager));
            checks.push(clock(facts.system_time.as_deref()));
        }
        Err(e) => checks.push(Check::fail(
            "docker",
            format!("{e:#}"),
            "check the engine answers `docker info`",
        )),
    }
    checks.push(proxy_network(engine.network_kind(PROXY_NETWORK).await));
    if let Some(own) = engine.own_container().await {
        checks.extend(in_container(&engine, rig, &own).await);
    }
    checks.push(if engine.service_vips_route() {
        Check::ok("ipvs", "service VIPs route: stacks are deployed as written")
    } else {
        Check::warn(
            "ipvs",
            "no IPVS: service VIPs do not route on this engine",
            "nothing to do: cc-ci deploys services with endpoint_mode: dnsrr (a recorded rig adaptation)",
        )
    });
    for image in [FORWARDER_IMAGE, SANDBOX_IMAGE] {
        checks.push(if engine.image_present(image).await {
            Check::ok("image", format!("{image} present"))
        } else {
            Check::fail(
                "image",
                format!("{image} missing"),
                "build it: scripts/prepare-host (images/build.sh, images/debian/build.sh sandbox)",
            )
        });
    }
    checks.push(state_dir(rig));
    checks.push(
        match ccci_adapters::prune::disk_used_percent(&existing_parent(&rig.state_dir)) {
            Ok(used) => doctor::disk(used, rig.prune_threshold),
            Err(e) => Check::fail(
                "disk",
                format!("{e:#}"),
                "check the state dir's file system",
            ),
        },
    );
    checks
}

fn swarm(active: bool, manager: bool) -> Check {
    match (active, manager) {
        (true, true) => Check::ok("swarm", "active, this node is a manager"),
        (true, false) => Check::fail(
            "swarm",
            "this node is a worker",
            "run cc-ci on a manager node",
        ),
        _ => Check::fail(
            "swarm",
            "not in swarm mode",
            "docker swarm init --advertise-addr 127.0.0.1",
        ),
    }
}

fn clock(engine_time: Option<&str>) -> Check {
    let parsed = engine_time.and_then(|t| {
        time::OffsetDateTime::parse(t, &time::format_description::well_known::Rfc3339).ok()
    });
    match parsed {
        Some(t) => doctor::clock((time::OffsetDateTime::now_utc() - t).whole_seconds()),
        None => Check::warn(
            "clock",
            "the engine did not say its time",
            "check `docker info`",
        ),
    }
}

fn proxy_network(kind: Option<(String, bool)>) -> Check {
    let create = format!("docker network create --driver overlay --attachable --label ccci.rig=true {PROXY_NETWORK} (scripts/prepare-host does)");
    match kind {
        Some((driver, true)) if driver == "overlay" => Check::ok(
            "proxy",
            format!("`{PROXY_NETWORK}` is an attachable overlay network"),
        ),
        Some((driver, attachable)) => Check::fail(
            "proxy",
            format!(
                "`{PROXY_NETWORK}` is a {driver} network{}",
                if attachable { "" } else { ", not attachable" }
            ),
            format!("remove it and {create}"),
        ),
        None => Check::fail("proxy", format!("no `{PROXY_NETWORK}` network"), create),
    }
}

/// cc-ci in a container (the cc-ci recipe): the engine resolves the paths cc-ci hands it on
/// the host, so the state dir (sandbox bind mounts) and the engine's volumes dir (data
/// markers, backups) must be the same paths there; and without an ingress it reaches its
/// forwarders over `proxy`, so it must be attached to it.
async fn in_container(engine: &Engine, rig: &Rig, own: &OwnContainer) -> Vec<Check> {
    let mut checks = vec![doctor::same_path(
        "the state dir",
        &rig.state_dir,
        &own.mounts,
    )];
    match engine.data_root().await {
        Ok(root) => checks.push(doctor::same_path(
            "the engine's volumes dir",
            &root.join("volumes"),
            &own.mounts,
        )),
        Err(e) => checks.push(Check::fail(
            "same path",
            format!("the engine did not say its data root: {e:#}"),
            "check the engine answers `docker info`",
        )),
    }
    let on_proxy = own.networks.iter().any(|n| n == PROXY_NETWORK);
    checks.push(match (on_proxy, rig.ingress) {
        (true, _) => Check::ok(
            "container",
            format!("in container {} on `{PROXY_NETWORK}`: forwarders are reached there", short(&own.id)),
        ),
        (false, Some(_)) => Check::ok(
            "container",
            format!("in container {}: apps are reached through the ingress", short(&own.id)),
        ),
        (false, None) => Check::fail(
            "container",
            format!("in container {}, not attached to `{PROXY_NETWORK}`, and no ingress", short(&own.id)),
            format!("attach the service to the `{PROXY_NETWORK}` network (its forwarders are reached there), or set an ingress"),
        ),
    });
    checks
}

fn short(id: &str) -> &str {
    &id[..id.len().min(12)]
}

fn state_dir(rig: &Rig) -> Check {
    let dir = &rig.state_dir;
    let probe = dir.join(format!(".doctor-{}", std::process::id()));
    let writable = std::fs::create_dir_all(dir).and_then(|()| std::fs::write(&probe, b"ok"));
    let _ = std::fs::remove_file(&probe);
    match writable {
        Ok(()) => Check::ok("state dir", format!("{} writable", dir.display())),
        Err(e) => Check::fail(
            "state dir",
            format!("{}: {e}", dir.display()),
            "create it and make it writable by cc-ci's user (--state-dir, CCCI_STATE_DIR)",
        ),
    }
}

fn existing_parent(path: &std::path::Path) -> std::path::PathBuf {
    path.ancestors()
        .find(|p| p.exists())
        .unwrap_or(std::path::Path::new("/"))
        .to_path_buf()
}
