//! "Data survives the upgrade" (docs/behaviour.md §3): before the upgrade a marker goes into every
//! volume of the base stack (and, where the suite says how, a record through the app);
//! after it each must still be there, in the volume the service now mounts. Which volumes
//! the head renamed or dropped is decided purely by `ccci_core::volumes`.

use crate::ctx::RunCtx;
use ccci_adapters::beneath::{BeneathError, Links, Root};
use ccci_core::ladder::RungStatus;
use ccci_core::results::{Failure, TestCase};
use ccci_core::volumes::{self, BaseVolume, Fate, Mounted};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

const MARKER_FILE: &str = ".ccci-upgrade-marker";

/// A volume's data, held so that no link inside it is followed.
fn volume_root(mount: &Path) -> Result<Root, BeneathError> {
    Root::open(mount, Links::None, "the volume")
}

/// What was written before the upgrade, to check after it.
pub struct Written {
    value: String,
    /// The volumes the base's services mounted, as the engine has them.
    before: Vec<Mounted>,
    /// Each engine volume that held data before the upgrade, with its mountpoint.
    marked: Vec<(String, PathBuf)>,
    app_marker: Option<String>,
    since: Instant,
}

fn fail(message: String) -> Failure {
    Failure {
        message,
        ..Default::default()
    }
}

/// The volumes the stack's services mount now, from the engine.
async fn mounted(ctx: &RunCtx) -> Result<Vec<Mounted>, Failure> {
    ctx.engine
        .volume_mounts(&ctx.app.stack)
        .await
        .map_err(|e| fail(format!("reading the volumes the services mount: {e:#}")))
}

/// Writes the markers into every volume the base's services mount (and through the app).
/// Which volumes come from the engine, not from the compose files' keys: a head that keeps
/// a key but gives it another `name:` is caught.
pub async fn write(ctx: &RunCtx) -> Result<Written, Failure> {
    let since = Instant::now();
    let before = mounted(ctx).await?;
    let value = format!("ccci-upgrade-marker-{}", ccci_adapters::clock::now_ms());
    let mut marked = Vec::new();
    let mut volumes: Vec<&str> = before.iter().map(|m| m.volume.as_str()).collect();
    volumes.dedup();
    for volume in volumes {
        // A volume no task has mounted yet does not exist: nothing to lose.
        let Some(mount) = ctx.engine.volume_mountpoint(volume).await else {
            continue;
        };
        // Written fresh, relative to the volume's root: a link the app planted at the
        // marker's name is replaced, never written through.
        volume_root(&mount)
            .and_then(|root| root.write_new(Path::new(MARKER_FILE), value.as_bytes()))
            .map_err(|e| {
                fail(format!(
                    "writing the upgrade marker into volume {volume}: {e}"
                ))
            })?;
        marked.push((volume.to_string(), mount));
    }
    let app_marker = ctx.suite.backup.marker_path.clone();
    if let Some(path) = &app_marker {
        ctx.app.route.put_marker(path, &value).await.map_err(|e| {
            fail(format!(
                "writing the app's data marker at {path} before the upgrade: {e}"
            ))
        })?;
    }
    Ok(Written {
        value,
        before,
        marked,
        app_marker,
        since,
    })
}

/// After the upgrade: every base volume still mounted and still holding its marker, the
/// app's record still readable. Removes the marker files it wrote.
pub async fn check(ctx: &RunCtx, written: Written) -> Result<TestCase, Failure> {
    let after = mounted(ctx).await?;
    let fates = volumes::compare_mounted(
        &ctx.app.stack,
        &written.before,
        &after,
        &ctx.suite.dropped_volumes,
    );
    let mut lost: Vec<String> = fates.iter().filter_map(BaseVolume::loss).collect();
    for (volume, mount) in &written.marked {
        let marker = Path::new(MARKER_FILE);
        let root = volume_root(mount).ok();
        let kept = root.as_ref().and_then(|r| r.read_to_string(marker).ok());
        if let Some(root) = &root {
            let _ = root.remove_file(marker);
        }
        let still_mounted = fates.iter().find(|v| {
            v.fate == Fate::Kept
                && written
                    .before
                    .iter()
                    .any(|b| &b.volume == volume && b.service == v.service && b.target == v.target)
        });
        if let (Some(v), false) = (
            still_mounted,
            kept.as_deref() == Some(written.value.as_str()),
        ) {
            lost.push(format!(
                "volume `{}` of service {} lost its data across the upgrade: the marker cc-ci wrote into it before the upgrade is gone ({MARKER_FILE} in {})",
                v.volume,
                v.service,
                mount.display()
            ));
        }
    }
    if let Some(path) = &written.app_marker {
        match ctx.app.route.get(path, Duration::from_secs(10)).await {
            Ok(r) if r.status == 200 && r.body.trim() == written.value => {}
            Ok(r) => lost.push(format!(
                "the record written through the app before the upgrade is gone: GET {path} answered {}",
                r.status
            )),
            Err(e) => lost.push(format!("reading the app's record at {path} after the upgrade: {e}")),
        }
    }
    let expected: Vec<String> = fates
        .iter()
        .filter(|v| v.expected && v.fate != Fate::Kept)
        .map(|v| format!("volume `{}` dropped as the suite expects", v.volume))
        .collect();
    if !lost.is_empty() {
        return Err(fail(format!(
            "data did not survive the upgrade: {}",
            lost.join("; ")
        )));
    }
    Ok(TestCase {
        name: format!(
            "data survived the upgrade ({} volumes{})",
            fates.len(),
            if expected.is_empty() {
                String::new()
            } else {
                format!("; {}", expected.join(", "))
            }
        ),
        status: RungStatus::Pass,
        duration_ms: written.since.elapsed().as_millis() as u64,
        message: None,
    })
}
