//! The backup_restore rung (L3), native and faithful to backup-bot-two's labels:
//!
//! - `backupbot.backup=true` on a service's deploy labels enrols its named volumes;
//! - `backupbot.backup.volumes.<vol>=false` leaves a volume out;
//! - `backupbot.backup.volumes.<vol>.path=a,b` captures only those paths (relative to the
//!   volume root);
//! - `backupbot.backup.pre-hook` / `post-hook` and `backupbot.restore.pre-hook` /
//!   `post-hook` are shell commands run by exec in the service's running container.
//!
//! The rung: write a data marker → wait for updates to settle → back up (each volume as a
//! gzip tar with a sha256 manifest) → the suite's `BACKUP_VERIFY` probe, re-taking the whole
//! backup up to 3 times → change the marker → restore → restart, wait ready → assert the
//! marker is back.

use crate::hooks::{inside, run_sandboxed};
use crate::lifecycle::RunCtx;
use ccci_core::compose::{load_stack, StackModel};
use ccci_core::ladder::RungStatus;
use ccci_core::results::{Failure, TestCase};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use tokio::process::Command;

/// One volume to capture.
#[derive(Clone, Debug)]
pub struct Target {
    pub service: String,
    pub volume: String,
    /// The engine's volume name (`<stack>_<volume>`).
    pub engine_volume: String,
    /// Paths inside the volume; empty = the whole volume.
    pub paths: Vec<String>,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Manifest {
    pub volumes: Vec<ManifestEntry>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ManifestEntry {
    pub volume: String,
    pub archive: String,
    pub sha256: String,
    pub bytes: u64,
}

fn fail(message: impl Into<String>) -> Failure {
    Failure {
        message: message.into(),
        ..Default::default()
    }
}

/// Reads the backup labels of the deployed (head or base) checkout.
pub fn targets(model: &StackModel, stack: &str) -> Vec<Target> {
    let mut out = Vec::new();
    for (name, svc) in &model.services {
        if svc.labels.get("backupbot.backup").map(|v| v.trim()) != Some("true") {
            continue;
        }
        for volume in svc.volume_mounts.keys() {
            let key = format!("backupbot.backup.volumes.{volume}");
            if svc.labels.get(&key).map(|v| v.trim()) == Some("false") {
                continue;
            }
            let paths = svc
                .labels
                .get(&format!("{key}.path"))
                .map(|p| {
                    p.split(',')
                        .map(|s| s.trim().trim_start_matches('/').to_string())
                        .filter(|s| !s.is_empty())
                        .collect()
                })
                .unwrap_or_default();
            out.push(Target {
                service: name.clone(),
                volume: volume.clone(),
                engine_volume: format!("{stack}_{volume}"),
                paths,
            });
        }
    }
    out
}

fn deployed_model(ctx: &RunCtx) -> Result<StackModel, Failure> {
    let checkout = if ctx.head_version.is_some() {
        &ctx.checkouts.head
    } else {
        ctx.checkouts.base.as_ref().unwrap_or(&ctx.checkouts.head)
    };
    let recipe = &checkout.recipe;
    let mut files = recipe
        .compose_files(&ctx.app.env)
        .map_err(|e| fail(e.to_string()))?;
    files.extend(ctx.app.suite_overlays.iter().cloned());
    let texts: Vec<(String, String)> = files
        .iter()
        .map(|f| {
            (
                f.display().to_string(),
                std::fs::read_to_string(f).unwrap_or_default(),
            )
        })
        .collect();
    load_stack(&texts, &ctx.app.interpolation_env(recipe)).map_err(|e| fail(e.to_string()))
}

async fn container_of(service: &str) -> Result<String, Failure> {
    let out = Command::new("docker")
        .args([
            "ps",
            "-q",
            "--filter",
            &format!("label=com.docker.swarm.service.name={service}"),
            "--filter",
            "status=running",
        ])
        .output()
        .await
        .map_err(|e| fail(format!("docker ps: {e}")))?;
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .next()
        .map(str::to_string)
        .ok_or_else(|| {
            fail(format!(
                "no running container of {service} to run a hook in"
            ))
        })
}

/// Runs a backup-bot label hook (`sh -c …`) in the service's running container.
async fn label_hook(
    ctx: &RunCtx,
    model: &StackModel,
    service: &str,
    label: &str,
) -> Result<(), Failure> {
    let Some(cmd) = model
        .services
        .get(service)
        .and_then(|s| s.labels.get(label))
    else {
        return Ok(());
    };
    let full = ctx.app.service_name(service);
    let container = container_of(&full).await?;
    ctx.progress
        .line(&format!("   {label} in {service}: {cmd}"));
    let ran = tokio::time::timeout(
        Duration::from_secs(ctx.suite.deploy_timeout_secs),
        Command::new("docker")
            .args(["exec", &container, "sh", "-c", cmd])
            .kill_on_drop(true)
            .output(),
    )
    .await
    .map_err(|_| fail(format!("{label} of {service} did not finish in time")))?
    .map_err(|e| fail(format!("docker exec: {e}")))?;
    if !ran.status.success() {
        let mut text = String::from_utf8_lossy(&ran.stdout).into_owned();
        text.push_str(&String::from_utf8_lossy(&ran.stderr));
        return Err(Failure {
            message: format!("{label} of service {service} failed: {cmd}"),
            service: Some(service.to_string()),
            log_tail: ctx
                .redactor
                .redact(&text)
                .lines()
                .map(str::to_string)
                .collect(),
            ..Default::default()
        });
    }
    Ok(())
}

/// Where a target's data lives on this host (`/var/lib/docker/volumes/<v>/_data`).
async fn mountpoint(ctx: &RunCtx, volume: &str) -> Result<PathBuf, Failure> {
    let v = ctx
        .engine
        .docker()
        .inspect_volume(volume)
        .await
        .map_err(|e| fail(format!("inspecting volume {volume}: {e}")))?;
    Ok(PathBuf::from(v.mountpoint))
}

fn roots(mount: &Path, target: &Target) -> Vec<PathBuf> {
    if target.paths.is_empty() {
        vec![mount.to_path_buf()]
    } else {
        target.paths.iter().map(|p| mount.join(p)).collect()
    }
}

/// Archives each target (whole volume or its paths) into `dir` and writes the manifest.
pub(crate) fn take(dir: &Path, mounts: &[(Target, PathBuf)]) -> std::io::Result<Manifest> {
    let _ = std::fs::remove_dir_all(dir);
    std::fs::create_dir_all(dir)?;
    let mut manifest = Manifest::default();
    for (target, mount) in mounts {
        let archive = format!("{}.tar.gz", target.volume);
        let path = dir.join(&archive);
        let file = std::fs::File::create(&path)?;
        let gz = flate2::write::GzEncoder::new(file, flate2::Compression::fast());
        let mut tar = tar::Builder::new(gz);
        tar.mode(tar::HeaderMode::Complete);
        tar.follow_symlinks(false);
        if target.paths.is_empty() {
            tar.append_dir_all(".", mount)?;
        } else {
            for p in &target.paths {
                let src = mount.join(p);
                if src.is_dir() {
                    tar.append_dir_all(p, &src)?;
                } else if src.exists() {
                    tar.append_path_with_name(&src, p)?;
                }
            }
        }
        tar.into_inner()?.finish()?;
        let bytes = std::fs::read(&path)?;
        manifest.volumes.push(ManifestEntry {
            volume: target.volume.clone(),
            archive,
            sha256: hex::encode(Sha256::digest(&bytes)),
            bytes: bytes.len() as u64,
        });
    }
    std::fs::write(
        dir.join("manifest.json"),
        serde_json::to_vec_pretty(&manifest).unwrap_or_default(),
    )?;
    Ok(manifest)
}

/// Checks each archive against the manifest, clears what it covers, and unpacks it.
pub(crate) fn restore(
    dir: &Path,
    manifest: &Manifest,
    mounts: &[(Target, PathBuf)],
) -> Result<(), String> {
    for (target, mount) in mounts {
        let entry = manifest
            .volumes
            .iter()
            .find(|e| e.volume == target.volume)
            .ok_or_else(|| format!("backup has no archive of volume {}", target.volume))?;
        let bytes = std::fs::read(dir.join(&entry.archive)).map_err(|e| e.to_string())?;
        if hex::encode(Sha256::digest(&bytes)) != entry.sha256 {
            return Err(format!(
                "archive of {} does not match its checksum",
                target.volume
            ));
        }
        for root in roots(mount, target) {
            clear(&root).map_err(|e| format!("clearing {}: {e}", root.display()))?;
        }
        let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(&bytes[..]));
        archive.set_preserve_permissions(true);
        archive.set_preserve_ownerships(true);
        archive.set_overwrite(true);
        archive
            .unpack(mount)
            .map_err(|e| format!("unpacking {}: {e}", target.volume))?;
    }
    Ok(())
}

fn clear(root: &Path) -> std::io::Result<()> {
    if root.is_file() {
        return std::fs::remove_file(root);
    }
    let Ok(entries) = std::fs::read_dir(root) else {
        return Ok(());
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() && !p.is_symlink() {
            std::fs::remove_dir_all(&p)?;
        } else {
            std::fs::remove_file(&p)?;
        }
    }
    Ok(())
}

fn marker_file(mount: &Path, target: &Target) -> PathBuf {
    match target.paths.first() {
        Some(p) => mount.join(p).join(".ccci-marker"),
        None => mount.join(".ccci-marker"),
    }
}

fn case(name: &str, ok: bool, message: Option<String>, since: Instant) -> TestCase {
    TestCase {
        name: name.to_string(),
        status: if ok {
            RungStatus::Pass
        } else {
            RungStatus::Fail
        },
        duration_ms: since.elapsed().as_millis() as u64,
        message,
    }
}

pub async fn backup_restore(ctx: &mut RunCtx) -> Result<Vec<TestCase>, Failure> {
    let model = deployed_model(ctx)?;
    let targets = targets(&model, &ctx.app.stack);
    if targets.is_empty() {
        return Err(fail(
            "no service carries `backupbot.backup=true` with a named volume, so nothing can be backed up; \
             if the app is stateless declare `[expected_na] backup_restore = \"…\"` in its suite.toml",
        ));
    }
    let mut mounts = Vec::new();
    for t in &targets {
        mounts.push((t.clone(), mountpoint(ctx, &t.engine_volume).await?));
    }
    let mut cases = Vec::new();
    let marker = format!("ccci-marker-{}", crate::lifecycle::now_ms());
    let app_marker = ctx.suite.backup.marker_path.clone();

    // 1. Write the markers: one file per volume, and the app's own when the suite says how.
    let t = Instant::now();
    for (target, mount) in &mounts {
        let file = marker_file(mount, target);
        if let Some(parent) = file.parent() {
            let _ = std::fs::create_dir_all(parent);
        }
        std::fs::write(&file, &marker)
            .map_err(|e| fail(format!("writing the data marker {}: {e}", file.display())))?;
    }
    if let Some(path) = &app_marker {
        let reply = ctx
            .app
            .route
            .request(
                reqwest::Method::PUT,
                path,
                Some(marker.clone().into_bytes()),
                Duration::from_secs(10),
            )
            .await
            .map_err(|e| fail(format!("writing the app's data marker at {path}: {e}")))?;
        if !(200..300).contains(&reply.status) {
            return Err(fail(format!(
                "writing the app's data marker: PUT {path} answered {}",
                reply.status
            )));
        }
    }
    cases.push(case("data marker written", true, None, t));

    // 2. Settle: no update in flight, app healthy (bounded by DEPLOY_TIMEOUT).
    ctx.wait_ready().await.map_err(|mut f| {
        f.message = format!("before the backup: {}", f.message);
        f
    })?;

    // 3. Back up, verified by BACKUP_VERIFY, re-taken up to `attempts` times.
    let backup_dir = ctx.out_dir.join("backup");
    let attempts = ctx.suite.backup.attempts.unwrap_or(3).max(1);
    let t = Instant::now();
    let mut manifest = None;
    let mut last_verify_output = String::new();
    crate::hooks::run_hook(ctx, "pre_backup").await?;
    for attempt in 1..=attempts {
        let services: Vec<String> = unique_services(&targets);
        for s in &services {
            label_hook(ctx, &model, s, "backupbot.backup.pre-hook").await?;
        }
        let taken =
            take(&backup_dir, &mounts).map_err(|e| fail(format!("taking the backup: {e}")))?;
        for s in &services {
            label_hook(ctx, &model, s, "backupbot.backup.post-hook").await?;
        }
        let Some(verify) = ctx.suite.backup.verify.clone() else {
            manifest = Some(taken);
            break;
        };
        let dir = ctx.suite_dir.clone().unwrap_or_else(|| PathBuf::from("."));
        // The probe reads the backup read-only, inside the sandbox.
        let env = vec![
            (
                "CCCI_BACKUP_DIR".into(),
                format!("{}/backup", crate::sandbox::RUN_DIR),
            ),
            ("CCCI_BACKUP_ATTEMPT".into(), attempt.to_string()),
        ];
        let files = vec![(backup_dir.clone(), "backup".to_string())];
        let program = vec![inside(&dir, &dir.join(&verify))];
        let ran = run_sandboxed(ctx, &dir, program, env, files)
            .await
            .map_err(|e| fail(format!("BACKUP_VERIFY: {e}")))?;
        last_verify_output = ctx.redactor.redact(&ran.output);
        if ran.success {
            ctx.progress
                .line(&format!("   BACKUP_VERIFY accepted take {attempt}"));
            manifest = Some(taken);
            break;
        }
        ctx.progress.line(&format!(
            "   BACKUP_VERIFY rejected take {attempt} of {attempts}"
        ));
    }
    let Some(manifest) = manifest else {
        return Err(Failure {
            message: format!(
                "BACKUP_VERIFY ({}) rejected the backup {attempts} times; the capture is bad",
                ctx.suite.backup.verify.clone().unwrap_or_default()
            ),
            log_tail: crate::hooks::last_lines(&last_verify_output, 20),
            ..Default::default()
        });
    };
    crate::hooks::run_hook(ctx, "post_backup").await?;
    let bytes: u64 = manifest.volumes.iter().map(|v| v.bytes).sum();
    cases.push(case(
        &format!(
            "backup taken ({} volumes, {bytes} bytes)",
            manifest.volumes.len()
        ),
        true,
        None,
        t,
    ));

    // 4. Change the markers, so only a real restore brings them back.
    for (target, mount) in &mounts {
        let _ = std::fs::write(marker_file(mount, target), "changed after backup");
    }
    if let Some(path) = &app_marker {
        let _ = ctx
            .app
            .route
            .request(
                reqwest::Method::PUT,
                path,
                Some(b"changed after backup".to_vec()),
                Duration::from_secs(10),
            )
            .await;
    }

    // 5. Restore, then restart the services so the app reads the restored data.
    let t = Instant::now();
    crate::hooks::run_hook(ctx, "pre_restore").await?;
    let services = unique_services(&targets);
    for s in &services {
        label_hook(ctx, &model, s, "backupbot.restore.pre-hook").await?;
    }
    restore(&backup_dir, &manifest, &mounts).map_err(|e| fail(format!("restoring: {e}")))?;
    for s in &services {
        label_hook(ctx, &model, s, "backupbot.restore.post-hook").await?;
    }
    for s in &services {
        let _ = Command::new("docker")
            .args([
                "service",
                "update",
                "--force",
                "--detach=true",
                "--quiet",
                &ctx.app.service_name(s),
            ])
            .output()
            .await;
    }
    ctx.wait_ready().await.map_err(|mut f| {
        f.message = format!("after the restore: {}", f.message);
        f
    })?;
    crate::hooks::run_hook(ctx, "post_restore").await?;

    // 6. The markers must be back.
    let mut lost = Vec::new();
    for (target, mount) in &mounts {
        let file = marker_file(mount, target);
        if std::fs::read_to_string(&file).ok().as_deref() != Some(marker.as_str()) {
            lost.push(format!("volume {} ({})", target.volume, file.display()));
        }
    }
    if let Some(path) = &app_marker {
        match ctx.app.route.get(path, Duration::from_secs(10)).await {
            Ok(r) if r.status == 200 && r.body.trim() == marker => {}
            Ok(r) => lost.push(format!(
                "the app's marker at {path} (answered {} {:?})",
                r.status,
                r.body.chars().take(60).collect::<String>()
            )),
            Err(e) => lost.push(format!("the app's marker at {path} ({e})")),
        }
    }
    if !lost.is_empty() {
        return Err(fail(format!(
            "data marker not restored: {}",
            lost.join("; ")
        )));
    }
    cases.push(case("data marker restored", true, None, t));
    Ok(cases)
}

fn unique_services(targets: &[Target]) -> Vec<String> {
    let mut s: Vec<String> = targets.iter().map(|t| t.service.clone()).collect();
    s.dedup();
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    #[test]
    fn targets_follow_backupbot_labels() {
        let compose = r#"
services:
  app:
    image: x
    volumes: [data:/data, cache:/cache, uploads:/up]
    deploy:
      labels:
        - backupbot.backup=true
        - backupbot.backup.volumes.cache=false
        - backupbot.backup.volumes.uploads.path=a, b/c
  db:
    image: y
    volumes: [db:/var/lib/db]
volumes: {data: {}, cache: {}, uploads: {}, db: {}}
"#;
        let model =
            load_stack(&[("compose.yml".into(), compose.into())], &BTreeMap::new()).unwrap();
        let t = targets(&model, "st");
        let got: Vec<(String, String, Vec<String>)> = t
            .iter()
            .map(|t| (t.volume.clone(), t.engine_volume.clone(), t.paths.clone()))
            .collect();
        assert_eq!(
            got,
            vec![
                ("data".into(), "st_data".into(), vec![]),
                (
                    "uploads".into(),
                    "st_uploads".into(),
                    vec!["a".into(), "b/c".into()]
                ),
            ]
        );
    }

    #[test]
    fn take_and_restore_round_trip_byte_identically() {
        let root = std::env::temp_dir().join(format!("ccci-backup-{}", std::process::id()));
        let vol = root.join("vol");
        std::fs::create_dir_all(vol.join("sub")).unwrap();
        std::fs::write(vol.join("a.txt"), b"alpha").unwrap();
        std::fs::write(vol.join("sub/b.bin"), [0u8, 1, 2, 255]).unwrap();
        let target = Target {
            service: "app".into(),
            volume: "data".into(),
            engine_volume: "st_data".into(),
            paths: vec![],
        };
        let mounts = vec![(target, vol.clone())];
        let manifest = take(&root.join("backup"), &mounts).unwrap();
        assert_eq!(manifest.volumes.len(), 1);
        std::fs::write(vol.join("a.txt"), b"changed").unwrap();
        std::fs::write(vol.join("new.txt"), b"not in backup").unwrap();
        restore(&root.join("backup"), &manifest, &mounts).unwrap();
        assert_eq!(std::fs::read(vol.join("a.txt")).unwrap(), b"alpha");
        assert_eq!(
            std::fs::read(vol.join("sub/b.bin")).unwrap(),
            [0u8, 1, 2, 255]
        );
        assert!(!vol.join("new.txt").exists());
        // A corrupted archive is refused.
        std::fs::write(root.join("backup/data.tar.gz"), b"garbage").unwrap();
        assert!(restore(&root.join("backup"), &manifest, &mounts)
            .unwrap_err()
            .contains("checksum"));
        let _ = std::fs::remove_dir_all(&root);
    }
}
