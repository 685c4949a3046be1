//! "Data survives the upgrade" (SPEC §2): before the upgrade a marker goes into every
//! volume of the base stack (and, where the suite says how, a record through the app);
//! after it each must still be there, in the volume the service now mounts. Which volumes
//! the head renamed or dropped is decided purely by `ccci_core::volumes`.

use crate::beneath::{BeneathError, Links, Root};
use crate::ctx::RunCtx;
use ccci_core::ladder::RungStatus;
use ccci_core::results::{Failure, TestCase};
use ccci_core::volumes::{self, BaseVolume, Fate};
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
    /// Each base volume with its data's mountpoint (when one existed before the upgrade).
    volumes: Vec<(BaseVolume, Option<PathBuf>)>,
    app_marker: Option<String>,
    since: Instant,
}

fn fail(message: String) -> Failure {
    Failure {
        message,
        ..Default::default()
    }
}

/// Writes the markers into the base stack's volumes (and through the app).
pub async fn write(ctx: &RunCtx) -> Result<Written, Failure> {
    let since = Instant::now();
    let head = &ctx.checkouts.head.recipe;
    let base = &ctx
        .checkouts
        .base
        .as_ref()
        .unwrap_or(&ctx.checkouts.head)
        .recipe;
    let model = |r| ctx.app.model(r).map_err(|e| fail(e.to_string()));
    let compared = volumes::compare(&model(base)?, &model(head)?, &ctx.suite.dropped_volumes);
    let value = format!("ccci-upgrade-marker-{}", crate::clock::now_ms());
    let mut written = Vec::new();
    for v in compared {
        let engine_volume = format!("{}_{}", ctx.app.stack, v.volume);
        // A volume no task has mounted yet does not exist: nothing to lose.
        // Written fresh, relative to the volume's root: a link the app planted at the
        // marker's name is replaced, never written through.
        let file = match ctx.engine.volume_mountpoint(&engine_volume).await {
            Some(mount) => {
                volume_root(&mount)
                    .and_then(|root| root.write_new(Path::new(MARKER_FILE), value.as_bytes()))
                    .map_err(|e| {
                        fail(format!(
                            "writing the upgrade marker into volume {}: {e}",
                            v.volume
                        ))
                    })?;
                Some(mount)
            }
            None => None,
        };
        written.push((v, file));
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
        volumes: written,
        app_marker,
        since,
    })
}

/// After the upgrade: every base volume still mounted and still holding its marker, the
/// app's record still readable. Removes the marker files it wrote.
pub async fn check(ctx: &RunCtx, written: Written) -> Result<TestCase, Failure> {
    let mut lost: Vec<String> = written
        .volumes
        .iter()
        .filter_map(|(v, _)| v.loss())
        .collect();
    for (v, mount) in &written.volumes {
        let Some(mount) = mount else { continue };
        let marker = Path::new(MARKER_FILE);
        let root = volume_root(mount).ok();
        let kept = root.as_ref().and_then(|r| r.read_to_string(marker).ok());
        if let Some(root) = &root {
            let _ = root.remove_file(marker);
        }
        if v.fate == Fate::Kept && kept.as_deref() != Some(written.value.as_str()) {
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
    let expected: Vec<String> = written
        .volumes
        .iter()
        .filter(|(v, _)| v.expected && v.fate != Fate::Kept)
        .map(|(v, _)| format!("volume `{}` dropped as the suite expects", v.volume))
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
            written.volumes.len(),
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
