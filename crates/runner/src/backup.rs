//! The backup_restore rung (L3), native and faithful to backup-bot-two's labels (deploy
//! labels of a service, as backup-bot-two reads them from swarm):
//!
//! - `backupbot.backup=true` enrols the service: its named volumes are backed up and its
//!   hooks run (any number of services may be enrolled);
//! - `backupbot.backup.volumes.<vol>=false` leaves a volume out;
//! - `backupbot.backup.volumes.<vol>.path=a,b` captures only those paths (relative to the
//!   volume root, files or directories);
//! - `backupbot.backup.pre-hook` / `post-hook` and `backupbot.restore.pre-hook` /
//!   `post-hook` are shell commands (`sh -c`) run by exec in the service's running
//!   container: the backup's pre-hooks of every enrolled service, the capture, then their
//!   post-hooks; likewise around the restore. A container that stops under the exec (409:
//!   the task is between containers) or a service with no running container yet is waited
//!   for and tried again, for up to [`EXEC_PATIENCE`].
//!
//! A malformed label (an unknown `backupbot.*` key, a volume the service does not mount, a
//! value that is not `true`/`false`, an empty hook, a path leaving the volume) is bad input,
//! said at preflight ([`label_problems`]) naming the service, the label and the fix.
//!
//! The rung: write a data marker → wait for updates to settle → back up (each volume as a
//! gzip tar with a sha256 manifest) → the suite's `BACKUP_VERIFY` probe, re-taking the whole
//! backup up to 3 times → change the marker → restore → restart, wait ready → assert the
//! marker is back. The suite's hooks after the capture (`post_backup`, `pre_restore`,
//! `post_restore`) see the backup read-only at `$CCCI_BACKUP_DIR`, like `BACKUP_VERIFY`: a
//! suite writes rows through the app in `pre_backup`, changes them in `pre_restore` and
//! checks them in `post_restore`.

use crate::ctx::RunCtx;
use crate::hooks::{inside, run_sandboxed};
use ccci_adapters::archive::{append_entry, append_tree, Codec, Decoding, Encoder};
use ccci_adapters::beneath::{BeneathError, Kind, Links, Root};
pub use ccci_core::backupbot::{
    enrolled, excluded, label_problems, targets, LabelProblem, Target, BACKUP_POST_HOOK,
    BACKUP_PRE_HOOK, LABEL_BACKUP, RESTORE_POST_HOOK, RESTORE_PRE_HOOK,
};
use ccci_core::compose::{load_stack, StackModel};
use ccci_core::ladder::RungStatus;
use ccci_core::results::{Failure, TestCase};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// How long a label hook waits for a running container of its service (none running, or
/// the one found stopped under the exec) before it fails.
pub const EXEC_PATIENCE: Duration = Duration::from_secs(60);

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
    /// The paths captured (relative to the volume root); empty = the whole volume.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub paths: Vec<String>,
    /// Paths the labels name that did not exist when the backup was taken.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub missing: Vec<String>,
}

fn fail(message: impl Into<String>) -> Failure {
    Failure {
        message: message.into(),
        ..Default::default()
    }
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
    let mut texts: Vec<(String, String)> = Vec::new();
    for f in &files {
        let text = crate::recipe::read_stack_file(recipe, f).map_err(|e| fail(e.to_string()))?;
        texts.push((f.display().to_string(), text));
    }
    load_stack(&texts, &ctx.app.interpolation_env(recipe)).map_err(|e| fail(e.to_string()))
}

/// Runs a backup-bot label hook (`sh -c …`) in the service's running container; when the
/// service has none running, or the container stops under the exec, waits (1 s at a time,
/// up to [`EXEC_PATIENCE`]) for the next one.
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
    ctx.progress
        .line(&format!("   {label} in {service}: {cmd}"));
    let started = Instant::now();
    let run = async {
        loop {
            let waited = started.elapsed() >= EXEC_PATIENCE;
            let why = match ctx.engine.running_container(&full).await {
                Ok(Some(container)) => match ctx.engine.exec_shell(&container, cmd).await {
                    Ok(ran) => return Ok(ran),
                    Err(e) if e.container_gone() => {
                        format!("the container stopped under the exec ({e})")
                    }
                    Err(e) => return Err(format!("exec in {service}: {e}")),
                },
                Ok(None) => "no running container".to_string(),
                Err(e) => return Err(format!("listing the containers of {service}: {e}")),
            };
            if waited {
                return Err(format!(
                    "no running container of {service} to run {label} in after {} s: {why}",
                    EXEC_PATIENCE.as_secs()
                ));
            }
            ctx.progress.line(&format!(
                "   {label}: {service} is between containers ({why}); trying again"
            ));
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    };
    let (code, output) =
        tokio::time::timeout(Duration::from_secs(ctx.suite.deploy_timeout_secs), run)
            .await
            .map_err(|_| fail(format!("{label} of {service} did not finish in time")))?
            .map_err(|message| Failure {
                message,
                service: Some(service.to_string()),
                ..Default::default()
            })?;
    if code != 0 {
        return Err(Failure {
            message: format!("{label} of service {service} failed (exit {code}): {cmd}"),
            service: Some(service.to_string()),
            log_tail: crate::hooks::last_lines(&ctx.redactor.redact(&output), 20),
            ..Default::default()
        });
    }
    Ok(())
}

/// Where a target's data lives on this host (`/var/lib/docker/volumes/<v>/_data`).
async fn mountpoint(ctx: &RunCtx, volume: &str) -> Result<PathBuf, Failure> {
    ctx.engine
        .volume_path(volume)
        .await
        .map_err(|e| fail(format!("inspecting volume {volume}: {e}")))
}

/// Archives each target (whole volume or its paths) into `dir`, compressed with `codec`,
/// and writes the manifest. The new backup is written beside `dir` and swapped in only once
/// whole and checked ([`ccci_adapters::swap`]): a take that fails leaves the previous one as it was.
pub(crate) fn take(
    dir: &Path,
    mounts: &[(Target, PathBuf)],
    codec: Codec,
) -> std::io::Result<Manifest> {
    ccci_adapters::swap::sweep(dir)?;
    let staged = ccci_adapters::swap::staging(dir)?;
    let taken = write_archives(&staged, mounts, codec).and_then(|manifest| {
        check_written(&staged, &manifest)?;
        Ok(manifest)
    });
    match taken {
        Ok(manifest) => {
            ccci_adapters::swap::replace(dir, &staged)?;
            Ok(manifest)
        }
        Err(e) => {
            let _ = std::fs::remove_dir_all(&staged);
            Err(e)
        }
    }
}

fn write_archives(
    dir: &Path,
    mounts: &[(Target, PathBuf)],
    codec: Codec,
) -> std::io::Result<Manifest> {
    let mut manifest = Manifest::default();
    for (target, mount) in mounts {
        let archive = codec.archive_name(&target.volume);
        let mut tar = tar::Builder::new(Encoder::create(&dir.join(&archive), codec)?);
        let missing = capture(&mut tar, target, mount)?;
        let written = tar.into_inner()?.finish()?;
        manifest.volumes.push(ManifestEntry {
            volume: target.volume.clone(),
            archive,
            sha256: written.sha256,
            bytes: written.bytes,
            paths: target.paths.clone(),
            missing,
        });
    }
    std::fs::write(
        dir.join("manifest.json"),
        serde_json::to_vec_pretty(&manifest).unwrap_or_default(),
    )?;
    Ok(manifest)
}

/// Archives what `target` covers of the volume at `mount`, following no link: the whole
/// volume, or each labelled path that exists (the rest is returned, missing). A labelled
/// path that is a link or passes through one is refused, naming the volume and the label:
/// what it points at is not the volume's (backup-bot-two would store the bare link too).
fn capture<W: std::io::Write>(
    tar: &mut tar::Builder<W>,
    target: &Target,
    mount: &Path,
) -> std::io::Result<Vec<String>> {
    let volume = Root::open(mount, Links::None, VOLUME).map_err(std::io::Error::other)?;
    if target.paths.is_empty() {
        append_tree(tar, &volume, Path::new(""))?;
        return Ok(Vec::new());
    }
    let mut missing = Vec::new();
    for p in &target.paths {
        match volume.kind_if_any(Path::new(p)) {
            Ok(None) => missing.push(p.clone()),
            Ok(Some(Kind::Link)) | Err(BeneathError::Link { .. }) => {
                return Err(std::io::Error::other(linked_path(target, p)))
            }
            Ok(Some(_)) => append_entry(tar, &volume, Path::new(p), Path::new(p))?,
            Err(e) => {
                return Err(std::io::Error::other(format!(
                    "volume {}: {e}",
                    target.volume
                )))
            }
        }
    }
    Ok(missing)
}

/// What the root of a volume's data is called in messages.
const VOLUME: &str = "the volume";

fn linked_path(target: &Target, path: &str) -> String {
    format!(
        "volume {}: `{path}` (label backupbot.backup.volumes.{}.path of service {}) is a link or passes through one; cc-ci follows no link inside a volume, so nothing behind it is backed up or restored: keep the data itself at that path",
        target.volume, target.volume, target.service
    )
}

/// A written backup is whole: its manifest reads back and every archive has the length the
/// manifest gives (the hash was taken of the very bytes written; restore checks it).
fn check_written(dir: &Path, manifest: &Manifest) -> std::io::Result<()> {
    let bad = |what: String| std::io::Error::other(format!("the new backup is not whole: {what}"));
    let read: Manifest = serde_json::from_slice(&std::fs::read(dir.join("manifest.json"))?)
        .map_err(|e| bad(format!("manifest.json: {e}")))?;
    if read.volumes.len() != manifest.volumes.len() {
        return Err(bad("manifest.json lists other volumes".into()));
    }
    for entry in &manifest.volumes {
        let len = std::fs::metadata(dir.join(&entry.archive))?.len();
        if len != entry.bytes {
            return Err(bad(format!(
                "{} is {len} bytes, not {}",
                entry.archive, entry.bytes
            )));
        }
    }
    Ok(())
}

/// Puts each archive back into its volume in one pass: unpacked into a staging directory
/// beside the volume (same filesystem) while its sha256 is taken, the hash compared at the
/// end, and only then the staged files moved in (rename). A bad archive leaves the volume
/// as it was.
pub(crate) fn restore(
    dir: &Path,
    manifest: &Manifest,
    mounts: &[(Target, PathBuf)],
) -> Result<(), RestoreError> {
    for (target, mount) in mounts {
        let entry = manifest
            .volumes
            .iter()
            .find(|e| e.volume == target.volume)
            .ok_or_else(|| RestoreError::NoArchive {
                volume: target.volume.clone(),
            })?;
        let codec =
            Codec::of_archive(&entry.archive).ok_or_else(|| RestoreError::UnknownArchive {
                archive: entry.archive.clone(),
            })?;
        let staging = Staging::beside(mount).map_err(RestoreError::Stage)?;
        unpack_checked(&dir.join(&entry.archive), codec, entry, &staging.unpacked())?;
        move_in(&staging, mount, target).map_err(|cause| RestoreError::MoveIn {
            volume: target.volume.clone(),
            cause,
        })?;
    }
    Ok(())
}

/// A restore's staging directory beside a volume's mount (`/var/lib/docker/volumes/<v>/`,
/// out of the app's reach): `new/` holds the unpacked archive, `old/` what the restore
/// replaces; removed when dropped (`remove_dir_all` follows no link inside).
struct Staging(PathBuf);

impl Staging {
    fn beside(mount: &Path) -> std::io::Result<Staging> {
        let parent = mount.parent().unwrap_or(Path::new("/"));
        let name = mount.file_name().map(|n| n.to_string_lossy().into_owned());
        let prefix = format!(".ccci-restore-{}-", name.unwrap_or_default());
        for e in std::fs::read_dir(parent)?.flatten() {
            if e.file_name().to_string_lossy().starts_with(&prefix) {
                std::fs::remove_dir_all(e.path())?; // a crashed restore's leftovers
            }
        }
        let path = parent.join(format!("{prefix}{}", std::process::id()));
        std::fs::create_dir(&path)?;
        let staging = Staging(path);
        std::fs::create_dir(staging.unpacked())?;
        std::fs::create_dir(staging.set_aside())?;
        Ok(staging)
    }

    fn unpacked(&self) -> PathBuf {
        self.0.join("new")
    }

    fn set_aside(&self) -> PathBuf {
        self.0.join("old")
    }
}

impl Drop for Staging {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Unpacks `archive` into `into` while a worker thread decompresses and hashes it; a hash
/// other than the manifest's is a [`RestoreError::Checksum`] (also when the corruption made
/// the unpack itself fail).
fn unpack_checked(
    archive: &Path,
    codec: Codec,
    entry: &ManifestEntry,
    into: &Path,
) -> Result<(), RestoreError> {
    let file = std::fs::File::open(archive).map_err(RestoreError::ReadArchive)?;
    let mut decoding = Decoding::start(file, codec).map_err(RestoreError::ReadArchive)?;
    let mut unpacked = {
        let mut tar = tar::Archive::new(&mut decoding);
        tar.set_preserve_permissions(true);
        tar.set_preserve_ownerships(true);
        tar.set_overwrite(true);
        tar.unpack(into)
    };
    if unpacked.is_ok() {
        // What follows tar's end marker (padding): read, so the worker's last write cannot
        // meet a closed pipe.
        unpacked = std::io::copy(&mut decoding, &mut std::io::sink()).map(drop);
    }
    let decoded = decoding.finish().map_err(RestoreError::ReadArchive)?;
    if decoded.sha256 != entry.sha256 {
        return Err(RestoreError::Checksum {
            volume: entry.volume.clone(),
        });
    }
    unpacked
        .and(decoded.stream)
        .map_err(|cause| RestoreError::Unpack {
            volume: entry.volume.clone(),
            cause,
        })
}

/// Replaces what the target covers in `mount` with the staged files: the whole volume's
/// contents (its root keeps its mode and owner, as the tar crate does not apply `.`), or
/// each of its paths. Every step is a rename relative to directories held open, following
/// no link: what is there now (a link the app planted meanwhile, say) is moved aside into
/// the staging's `old/`, never written through, and a path through a link is refused.
fn move_in(staging: &Staging, mount: &Path, target: &Target) -> std::io::Result<()> {
    let held = |dir: &Path, what| Root::open(dir, Links::None, what).map_err(std::io::Error::other);
    let volume = held(mount, VOLUME)?;
    let (new, old) = (
        held(&staging.unpacked(), "the restore's staging")?,
        held(&staging.set_aside(), "the restore's staging")?,
    );
    let moved = |from: &Root, p: &Path, into: &Root, to: &Path| {
        from.move_to(p, into, to).map_err(std::io::Error::other)
    };
    if target.paths.is_empty() {
        for (name, _) in volume.entries().map_err(std::io::Error::other)? {
            moved(&volume, Path::new(&name), &old, Path::new(&name))?;
        }
        for (name, _) in new.entries().map_err(std::io::Error::other)? {
            moved(&new, Path::new(&name), &volume, Path::new(&name))?;
        }
        return Ok(());
    }
    for (i, p) in target.paths.iter().enumerate() {
        let path = Path::new(p);
        let aside = PathBuf::from(i.to_string());
        match moved(&volume, path, &old, &aside) {
            Err(_)
                if volume
                    .kind(path)
                    .is_err_and(|e| matches!(e, BeneathError::Link { .. })) =>
            {
                return Err(std::io::Error::other(linked_path(target, p)))
            }
            other => other?,
        };
        if new
            .kind_if_any(path)
            .map_err(std::io::Error::other)?
            .is_some()
        {
            if let Some(parent) = path.parent() {
                volume
                    .make_dirs(parent)
                    .map_err(|_| std::io::Error::other(linked_path(target, p)))?;
            }
            moved(&new, path, &volume, path)?;
        }
    }
    Ok(())
}

/// Why a backup could not be put back into its volumes.
#[derive(Debug, thiserror::Error)]
pub enum RestoreError {
    #[error("backup has no archive of volume {volume}")]
    NoArchive { volume: String },
    #[error("{0}")]
    ReadArchive(std::io::Error),
    #[error("making a staging directory beside the volume: {0}")]
    Stage(std::io::Error),
    #[error("{archive} is not an archive cc-ci writes (.tar.gz or .tar.zst); take the snapshot or backup again")]
    UnknownArchive { archive: String },
    #[error("archive of {volume} does not match its checksum")]
    Checksum { volume: String },
    #[error("moving the unpacked files into volume {volume}: {cause}")]
    MoveIn {
        volume: String,
        cause: std::io::Error,
    },
    #[error("unpacking {volume}: {cause}")]
    Unpack {
        volume: String,
        cause: std::io::Error,
    },
}

/// Where the rung's marker file goes: the volume root, or for a path-limited volume the
/// first of its paths that is a directory. A volume limited to files (a database dump) gets
/// none: a marker there would not be in the backup, and its data is proven through the app
/// (`[backup] marker_path`) and the suite's hooks. The path is relative to the volume's
/// root; a path that is (or passes through) a link is no directory of the volume's.
fn marker_file(volume: &Root, target: &Target) -> Option<PathBuf> {
    if target.paths.is_empty() {
        return Some(PathBuf::from(MARKER));
    }
    target
        .paths
        .iter()
        .map(PathBuf::from)
        .find(|dir| volume.kind(dir).is_ok_and(|k| k == Kind::Dir))
        .map(|dir| dir.join(MARKER))
}

const MARKER: &str = ".ccci-marker";

/// A marker file in a volume: written fresh (whatever the app put there, a link included, is
/// replaced, never written through) and read without following links.
struct VolumeFile {
    volume: String,
    mount: PathBuf,
    /// Relative to the volume's root.
    path: PathBuf,
}

impl VolumeFile {
    fn root(&self) -> Result<Root, BeneathError> {
        Root::open(&self.mount, Links::None, VOLUME)
    }

    fn write(&self, value: &str) -> Result<(), BeneathError> {
        self.root()?.write_new(&self.path, value.as_bytes())
    }

    fn read(&self) -> Option<String> {
        self.root().ok()?.read_to_string(&self.path).ok()
    }

    /// The sha256 of the file's bytes, read without following links.
    fn hash(&self) -> Option<String> {
        use sha2::Digest as _;
        let mut file = self.root().ok()?.open_file(&self.path).ok()?;
        let mut hasher = sha2::Sha256::new();
        std::io::copy(&mut file, &mut hasher).ok()?;
        Some(hex::encode(hasher.finalize()))
    }

    /// The file as messages name it: the volume and the path inside it.
    fn shown(&self) -> String {
        format!("{} in volume {}", self.path.display(), self.volume)
    }
}

/// What the backup holds, for the rung's record: `uploads: whole volume; postgres: backup.sql;
/// left out: cache`.
fn describe_backup(manifest: &Manifest, excluded: &[String]) -> String {
    let mut parts: Vec<String> = manifest
        .volumes
        .iter()
        .map(|v| {
            let what = if v.paths.is_empty() {
                "whole volume".to_string()
            } else {
                v.paths.join(", ")
            };
            match v.missing.is_empty() {
                true => format!("{}: {what}", v.volume),
                false => format!("{}: {what} (missing: {})", v.volume, v.missing.join(", ")),
            }
        })
        .collect();
    if !excluded.is_empty() {
        parts.push(format!("left out: {}", excluded.join(", ")));
    }
    parts.join("; ")
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

/// What the rung backs up and restores, read from the deployed checkout's labels.
struct BackupPlan {
    model: StackModel,
    /// Each target with where its volume's data lives on this host.
    mounts: Vec<(Target, PathBuf)>,
    /// Services whose label hooks run: every enrolled one.
    hooked: Vec<String>,
    /// Services restarted after the restore: those with a volume restored.
    restored: Vec<String>,
    /// Volumes enrolled services leave out.
    left_out: Vec<String>,
    /// Where the backup is taken (`<out>/backup`).
    dir: PathBuf,
}

/// This run's data marker: its value, the files it is written to (volume, file), and the
/// app's own marker path when the suite says how (`[backup] marker_path`).
struct DataMarker {
    value: String,
    files: Vec<VolumeFile>,
    /// Files a path-limited volume's labels name (a database dump) where no marker can go:
    /// each with the sha256 of what the backup saved, which the restore must bring back.
    saved: Vec<(VolumeFile, String)>,
    app_path: Option<String>,
}

pub async fn backup_restore(ctx: &mut RunCtx) -> Result<Vec<TestCase>, Failure> {
    let plan = plan_backup(ctx).await?;
    let marker = DataMarker::new(ctx, &plan);
    let mut cases = Vec::new();

    // 1. Write the markers.
    let t = Instant::now();
    marker.write(ctx).await?;
    cases.push(case("data marker written", true, None, t));

    // 2. Settle: no update in flight, app healthy (bounded by DEPLOY_TIMEOUT).
    ctx.wait_ready().await.map_err(|mut f| {
        f.message = format!("before the backup: {}", f.message);
        f
    })?;

    // 3. Back up, verified by BACKUP_VERIFY.
    let t = Instant::now();
    let manifest = back_up(ctx, &plan).await?;
    saved_everything(&plan, &manifest)?;
    let marker = marker.with_saved_files(&plan);
    let bytes: u64 = manifest.volumes.iter().map(|v| v.bytes).sum();
    cases.push(case(
        &format!(
            "backup taken ({} volumes, {bytes} bytes)",
            manifest.volumes.len()
        ),
        true,
        Some(describe_backup(&manifest, &plan.left_out)),
        t,
    ));

    // 4. Change the markers, so only a real restore brings them back.
    marker.change(ctx).await;

    // 5. Restore, then restart the services so the app reads the restored data.
    let t = Instant::now();
    restore_backup(ctx, &plan, &manifest).await?;

    // 6. The markers must be back.
    let lost = marker.lost(ctx).await;
    if !lost.is_empty() {
        return Err(fail(format!(
            "data marker not restored: {}",
            lost.join("; ")
        )));
    }
    cases.push(case("data marker restored", true, None, t));
    Ok(cases)
}

/// Reads the backup labels of the deployed checkout and finds each target's volume; no
/// target is a failure naming the fix.
async fn plan_backup(ctx: &RunCtx) -> Result<BackupPlan, Failure> {
    let model = deployed_model(ctx)?;
    let mut targets = targets(&model, &ctx.app.stack);
    backs_up_what_the_base_did(ctx, &targets)?;
    if targets.is_empty() {
        return Err(fail(
            "no service carries `backupbot.backup=true` with a named volume, so nothing can be backed up; \
             if the app is stateless declare `[expected_na] backup_restore = \"…\"` in its suite.toml",
        ));
    }
    engine_volumes(ctx, &model, &mut targets).await?;
    let mut mounts = Vec::new();
    for t in &targets {
        mounts.push((t.clone(), mountpoint(ctx, &t.engine_volume).await?));
    }
    Ok(BackupPlan {
        hooked: enrolled(&model),
        restored: unique_services(&targets),
        left_out: excluded(&model),
        model,
        mounts,
        dir: ctx.out_dir.join("backup"),
    })
}

/// Each target's volume as the engine mounts it in the running service (not the name cc-ci
/// would assume from the compose key): a label on a volume the service does not mount
/// saves nothing.
async fn engine_volumes(
    ctx: &RunCtx,
    model: &StackModel,
    targets: &mut [Target],
) -> Result<(), Failure> {
    let mounted = ctx
        .engine
        .volume_mounts(&ctx.app.stack)
        .await
        .map_err(|e| fail(format!("reading the volumes the services mount: {e:#}")))?;
    for t in targets.iter_mut() {
        let at = model.services[&t.service].volume_mounts.get(&t.volume);
        match mounted
            .iter()
            .find(|m| m.service == t.service && Some(&m.target) == at)
        {
            Some(m) => t.engine_volume = m.volume.clone(),
            None => {
                return Err(fail(format!(
                    "volume `{}` of service {} is enrolled for backup (backupbot.backup=true) but the running service mounts no volume at {}: nothing of it can be backed up",
                    t.volume,
                    t.service,
                    at.map(String::as_str).unwrap_or("?")
                )))
            }
        }
    }
    Ok(())
}

/// A change cannot back up less than its base release did (docs/behaviour.md §7, integrity): every
/// volume the base enrolled must still be enrolled, unless the CI's suite says it is gone
/// on purpose (`[upgrade] dropped_volumes`).
fn backs_up_what_the_base_did(ctx: &RunCtx, targets: &[Target]) -> Result<(), Failure> {
    let Some(base) = &ctx.checkouts.base else {
        return Ok(());
    };
    let Ok(base_model) = ctx.app.model(&base.recipe) else {
        return Ok(());
    };
    let dropped: Vec<String> = ccci_core::backupbot::targets(&base_model, &ctx.app.stack)
        .into_iter()
        .filter(|b| {
            !targets
                .iter()
                .any(|t| t.service == b.service && t.volume == b.volume)
                && !ctx.suite.dropped_volumes.contains(&b.volume)
        })
        .map(|b| format!("volume `{}` of service {}", b.volume, b.service))
        .collect();
    if dropped.is_empty() {
        return Ok(());
    }
    Err(fail(format!(
        "release {} backs up {}, and the head no longer does (its backupbot labels leave {} out): a change cannot back up less than its base. Keep `backupbot.backup=true` on the service (and no `backupbot.backup.volumes.<volume>=false`), or, if the volume is gone on purpose, the CI's suite can say so: [upgrade] dropped_volumes",
        base.version,
        dropped.join(", "),
        if dropped.len() == 1 { "it" } else { "them" }
    )))
}

/// A backup that saves nothing is a failed backup: a labelled path that did not exist when
/// the backup was taken is RED, naming the volume, its label and service.
fn saved_everything(plan: &BackupPlan, manifest: &Manifest) -> Result<(), Failure> {
    let mut empty = Vec::new();
    for v in &manifest.volumes {
        let service = plan
            .mounts
            .iter()
            .find(|(t, _)| t.volume == v.volume)
            .map(|(t, _)| t.service.as_str())
            .unwrap_or("?");
        for path in &v.missing {
            empty.push(format!(
                "`{path}` in volume {} (label backupbot.backup.volumes.{}.path of service {service})",
                v.volume, v.volume
            ));
        }
    }
    if empty.is_empty() {
        return Ok(());
    }
    Err(fail(format!(
        "the backup saved nothing at {}: the path did not exist when the backup was taken. Name a path the app (or its backupbot pre-hook) writes, or drop the path label to back up the whole volume",
        empty.join("; ")
    )))
}

impl DataMarker {
    /// One file per volume (where one can be in the backup), and the app's own.
    fn new(ctx: &RunCtx, plan: &BackupPlan) -> DataMarker {
        DataMarker {
            value: format!("ccci-marker-{}", ccci_adapters::clock::now_ms()),
            files: plan
                .mounts
                .iter()
                .filter_map(|(target, mount)| {
                    let volume = Root::open(mount, Links::None, VOLUME).ok()?;
                    Some(VolumeFile {
                        volume: target.volume.clone(),
                        mount: mount.clone(),
                        path: marker_file(&volume, target)?,
                    })
                })
                .collect(),
            saved: Vec::new(),
            app_path: ctx.suite.backup.marker_path.clone(),
        }
    }

    /// After the backup: every file of a volume that got no marker file, with the hash of
    /// what was saved (its content is the marker: the restore must bring it back).
    fn with_saved_files(mut self, plan: &BackupPlan) -> DataMarker {
        for (target, mount) in &plan.mounts {
            if self.files.iter().any(|f| f.volume == target.volume) {
                continue;
            }
            let Ok(volume) = Root::open(mount, Links::None, VOLUME) else {
                continue;
            };
            for p in &target.paths {
                let path = PathBuf::from(p);
                if !volume.kind(&path).is_ok_and(|k| k == Kind::File) {
                    continue;
                }
                let file = VolumeFile {
                    volume: target.volume.clone(),
                    mount: mount.clone(),
                    path,
                };
                if let Some(hash) = file.hash() {
                    self.saved.push((file, hash));
                }
            }
        }
        self
    }

    async fn write(&self, ctx: &RunCtx) -> Result<(), Failure> {
        for file in &self.files {
            file.write(&self.value).map_err(|e| {
                fail(format!(
                    "writing the data marker into volume {}: {e}",
                    file.volume
                ))
            })?;
        }
        if let Some(path) = &self.app_path {
            ctx.app
                .route
                .put_marker(path, &self.value)
                .await
                .map_err(|e| fail(format!("writing the app's data marker at {path}: {e}")))?;
        }
        Ok(())
    }

    /// Overwrites every marker (best effort), so only a real restore brings them back.
    async fn change(&self, ctx: &RunCtx) {
        for file in self.files.iter().chain(self.saved.iter().map(|(f, _)| f)) {
            let _ = file.write("changed after backup");
        }
        if let Some(path) = &self.app_path {
            let _ = ctx.app.route.put_marker(path, "changed after backup").await;
        }
    }

    /// The markers that do not hold this run's value, described. Empty = all are back.
    async fn lost(&self, ctx: &RunCtx) -> Vec<String> {
        let mut lost = Vec::new();
        for file in &self.files {
            if file.read().as_deref() != Some(self.value.as_str()) {
                lost.push(file.shown());
            }
        }
        for (file, hash) in &self.saved {
            if file.hash().as_deref() != Some(hash.as_str()) {
                lost.push(format!("{} (not as the backup saved it)", file.shown()));
            }
        }
        if let Some(path) = &self.app_path {
            match ctx.app.route.get(path, Duration::from_secs(10)).await {
                Ok(r) if r.status == 200 && r.body.trim() == self.value => {}
                Ok(r) => lost.push(format!(
                    "the app's marker at {path} (answered {} {:?})",
                    r.status,
                    r.body.chars().take(60).collect::<String>()
                )),
                Err(e) => lost.push(format!("the app's marker at {path} ({e})")),
            }
        }
        lost
    }
}

/// The suite's hooks after the capture may read the backup, read-only, as `BACKUP_VERIFY`
/// does: where they find it inside the sandbox …
fn backup_env() -> Vec<(String, String)> {
    vec![(
        "CCCI_BACKUP_DIR".to_string(),
        format!("{}/backup", ccci_adapters::sandbox::RUN_DIR),
    )]
}

/// … and the host directory mounted there.
fn backup_files(plan: &BackupPlan) -> Vec<(PathBuf, String)> {
    vec![(plan.dir.clone(), "backup".to_string())]
}

/// Runs one label hook in every enrolled service, in name order.
async fn label_hooks(ctx: &RunCtx, plan: &BackupPlan, label: &str) -> Result<(), Failure> {
    for s in &plan.hooked {
        label_hook(ctx, &plan.model, s, label).await?;
    }
    Ok(())
}

/// `pre_backup`, the capture (with its label hooks) re-taken until `BACKUP_VERIFY` accepts
/// it, then `post_backup`.
async fn back_up(ctx: &mut RunCtx, plan: &BackupPlan) -> Result<Manifest, Failure> {
    crate::hooks::run_hook(ctx, "pre_backup").await?;
    let manifest = take_until_verified(ctx, plan).await?;
    crate::hooks::run_hook_with(ctx, "post_backup", backup_env(), backup_files(plan)).await?;
    Ok(manifest)
}

/// Takes the backup, up to `[backup] attempts` times (3 by default), until the suite's
/// `BACKUP_VERIFY` probe accepts a take; without a probe the first take stands.
async fn take_until_verified(ctx: &RunCtx, plan: &BackupPlan) -> Result<Manifest, Failure> {
    let attempts = ctx.suite.backup.attempts.unwrap_or(3).max(1);
    let mut last_verify_output = String::new();
    for attempt in 1..=attempts {
        label_hooks(ctx, plan, BACKUP_PRE_HOOK).await?;
        let taken = take(&plan.dir, &plan.mounts, Codec::Gzip)
            .map_err(|e| fail(format!("taking the backup: {e}")))?;
        label_hooks(ctx, plan, BACKUP_POST_HOOK).await?;
        let Some(verify) = ctx.suite.backup.verify.clone() else {
            return Ok(taken);
        };
        let ran = run_backup_verify(ctx, plan, &verify, attempt).await?;
        last_verify_output = ctx.redactor.redact(&ran.output);
        if ran.success {
            ctx.progress
                .line(&format!("   BACKUP_VERIFY accepted take {attempt}"));
            return Ok(taken);
        }
        ctx.progress.line(&format!(
            "   BACKUP_VERIFY rejected take {attempt} of {attempts}"
        ));
    }
    Err(Failure {
        message: format!(
            "BACKUP_VERIFY ({}) rejected the backup {attempts} times; the capture is bad",
            ctx.suite.backup.verify.clone().unwrap_or_default()
        ),
        log_tail: crate::hooks::last_lines(&last_verify_output, 20),
        ..Default::default()
    })
}

/// Runs the suite's `BACKUP_VERIFY` probe on take `attempt`. The probe reads the backup
/// read-only, inside the sandbox.
async fn run_backup_verify(
    ctx: &RunCtx,
    plan: &BackupPlan,
    verify: &str,
    attempt: u32,
) -> Result<crate::hooks::Ran, Failure> {
    let dir = ctx.suite_dir.clone().unwrap_or_else(|| PathBuf::from("."));
    let mut env = backup_env();
    env.push(("CCCI_BACKUP_ATTEMPT".into(), attempt.to_string()));
    let program = vec![inside(&dir, &dir.join(verify))];
    run_sandboxed(ctx, &dir, program, env, backup_files(plan))
        .await
        .map_err(|e| fail(format!("BACKUP_VERIFY: {e}")))
}

/// `pre_restore`, the restore (with its label hooks), the restored services restarted,
/// then `post_restore`.
async fn restore_backup(
    ctx: &mut RunCtx,
    plan: &BackupPlan,
    manifest: &Manifest,
) -> Result<(), Failure> {
    crate::hooks::run_hook_with(ctx, "pre_restore", backup_env(), backup_files(plan)).await?;
    label_hooks(ctx, plan, RESTORE_PRE_HOOK).await?;
    restore(&plan.dir, manifest, &plan.mounts).map_err(|e| fail(format!("restoring: {e}")))?;
    label_hooks(ctx, plan, RESTORE_POST_HOOK).await?;
    restart_restored(ctx, plan).await?;
    crate::hooks::run_hook_with(ctx, "post_restore", backup_env(), backup_files(plan)).await
}

/// Restarts the restored services so the app reads the restored data. One service at a
/// time, dependencies first (the database before the app that needs it), each ready before
/// the next: the app never starts against a database that is itself restarting, and a
/// network never loses all its tasks at once (on Engine 20.10 that can fail a stopping task
/// with "error while removing network").
async fn restart_restored(ctx: &mut RunCtx, plan: &BackupPlan) -> Result<(), Failure> {
    for s in restart_order(&plan.restored, &plan.model) {
        let _ = ccci_adapters::stack::force_update(&ctx.app.service_name(&s)).await;
        ctx.wait_ready().await.map_err(|mut f| {
            f.message = format!("after the restore (restarting {s}): {}", f.message);
            f
        })?;
    }
    Ok(())
}

/// `services` ordered so that each comes after those it `depends_on` (by name where no
/// dependency decides; a cycle is broken by name).
fn restart_order(services: &[String], model: &StackModel) -> Vec<String> {
    let mut left: Vec<String> = services.to_vec();
    left.sort();
    let mut out: Vec<String> = Vec::new();
    while !left.is_empty() {
        let ready = left.iter().position(|s| {
            model
                .services
                .get(s)
                .is_none_or(|svc| svc.depends_on.iter().all(|d| !left.contains(d) || d == s))
        });
        out.push(left.remove(ready.unwrap_or(0)));
    }
    out
}

fn unique_services(targets: &[Target]) -> Vec<String> {
    let mut s: Vec<String> = targets.iter().map(|t| t.service.clone()).collect();
    s.sort();
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

    fn model(compose: &str) -> StackModel {
        load_stack(&[("compose.yml".into(), compose.into())], &BTreeMap::new()).unwrap()
    }

    /// A stack whose `db` service carries `labels` (YAML mapping lines), beside an app.
    fn db_with(labels: &[&str]) -> StackModel {
        let mut compose = String::from(
            "services:\n  app:\n    image: x\n    volumes: [data:/data]\n  db:\n    image: y\n    volumes: [postgres:/var/lib/postgresql/data, run:/run]\n    deploy:\n      labels:\n",
        );
        for l in labels {
            compose.push_str(&format!("        {l}\n"));
        }
        compose.push_str("volumes: {data: {}, postgres: {}, run: {}}\n");
        model(&compose)
    }

    #[test]
    fn several_services_are_enrolled_with_their_own_exclusions_and_paths() {
        let m = model(
            r#"
services:
  app:
    image: x
    volumes: [uploads:/data, cache:/cache]
    deploy:
      labels: ["backupbot.backup=true", "backupbot.backup.volumes.cache=false"]
  db:
    image: y
    volumes: [postgres:/var/lib/postgresql/data]
    deploy:
      labels:
        backupbot.backup: "true"
        backupbot.backup.volumes.postgres.path: "/backup.sql"
        backupbot.backup.pre-hook: "pg_dump -f /var/lib/postgresql/data/backup.sql"
  worker:
    image: z
    volumes: [scratch:/tmp]
    deploy:
      labels: ["backupbot.backup=false"]
volumes: {uploads: {}, cache: {}, postgres: {}, scratch: {}}
"#,
        );
        assert_eq!(enrolled(&m), vec!["app", "db"]);
        assert_eq!(excluded(&m), vec!["cache"]);
        let got: Vec<(String, String, Vec<String>)> = targets(&m, "st")
            .into_iter()
            .map(|t| (t.service, t.volume, t.paths))
            .collect();
        assert_eq!(
            got,
            vec![
                ("app".into(), "uploads".into(), vec![]),
                ("db".into(), "postgres".into(), vec!["backup.sql".into()]),
            ]
        );
        assert_eq!(unique_services(&targets(&m, "st")), vec!["app", "db"]);
        assert!(label_problems(&m).is_empty(), "{:?}", label_problems(&m));
    }

    #[test]
    fn services_restart_after_what_they_depend_on() {
        let m = model(
            r#"
services:
  app: {image: x, depends_on: [db, cache]}
  worker: {image: x, depends_on: [app]}
  db: {image: y}
  cache: {image: z, depends_on: [db]}
"#,
        );
        let all = |names: &[&str]| names.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            restart_order(&all(&["worker", "app", "db", "cache"]), &m),
            all(&["db", "cache", "app", "worker"])
        );
        // Only the services restored; a dependency not among them does not hold one back.
        assert_eq!(
            restart_order(&all(&["app", "cache"]), &m),
            all(&["cache", "app"])
        );
        let cycle = model(
            "services:\n  a: {image: x, depends_on: [b]}\n  b: {image: x, depends_on: [a]}\n",
        );
        assert_eq!(restart_order(&all(&["b", "a"]), &cycle), all(&["a", "b"]));
    }

    #[test]
    fn malformed_labels_name_service_label_and_fix() {
        let cases: &[(&str, &str)] = &[
            ("backupbot.backup: \"yes\"", "write `backupbot.backup=true`"),
            (
                "backupbot.backup.volumes.pgdata: \"false\"",
                "does not mount a volume `pgdata` (its named volumes: postgres, run)",
            ),
            (
                "backupbot.backup.volumes.postgres: \"no\"",
                "write `backupbot.backup.volumes.postgres=false`",
            ),
            (
                "backupbot.backup.volumes.postgres.path: \" , \"",
                "no path given",
            ),
            (
                "backupbot.backup.volumes.postgres.path: \"a,../etc\"",
                "the path `../etc` leaves the volume",
            ),
            (
                "backupbot.backup.volumes.pgdata.path: \"backup.sql\"",
                "does not mount a volume `pgdata`",
            ),
            (
                "backupbot.backup.volumes.postgres.paths: \"x\"",
                "not a volume label",
            ),
            ("backupbot.backup.pre-hook: \"  \"", "the hook is empty"),
            (
                "backupbot.backup.prehook: \"pg_dump\"",
                "not a backup-bot-two label; known: backupbot.backup, backupbot.backup.pre-hook",
            ),
            (
                "backupbot.backup.path: \"/var/lib/postgresql/data/backup.sql\"",
                "write `backupbot.backup.volumes.<volume>.path=",
            ),
            (
                "backupbot.restore: \"maybe\"",
                "write `backupbot.restore=true`",
            ),
        ];
        for (label, expected) in cases {
            let enrol = "backupbot.backup: \"true\"";
            let labels: &[&str] = if label.starts_with("backupbot.backup:") {
                &[label]
            } else {
                &[enrol, label]
            };
            let problems = label_problems(&db_with(labels));
            assert_eq!(problems.len(), 1, "{label}: {problems:?}");
            let shown = problems[0].to_string();
            assert!(
                shown.starts_with("service `db`: label `backupbot."),
                "{shown}"
            );
            assert!(shown.contains(expected), "{label}: {shown}");
        }
        // Sound labels, in any case, on any service.
        let sound = db_with(&[
            "backupbot.backup: \"True\"",
            "backupbot.backup.volumes.run: \"false\"",
            "backupbot.backup.volumes.postgres.path: \"backup.sql, dumps/\"",
            "backupbot.backup.pre-hook: \"pg_dump > x\"",
            "backupbot.backup.post-hook: \"rm x\"",
            "backupbot.restore.pre-hook: \"true\"",
            "backupbot.restore.post-hook: \"psql < x\"",
            "backupbot.restore: \"true\"",
            "traefik.enable: \"true\"",
        ]);
        assert!(
            label_problems(&sound).is_empty(),
            "{:?}",
            label_problems(&sound)
        );
    }

    #[test]
    fn markers_go_where_the_backup_reaches() {
        let root = std::env::temp_dir().join(format!("ccci-marker-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        std::fs::create_dir_all(root.join("uploads")).unwrap();
        std::fs::write(root.join("backup.sql"), b"-- dump").unwrap();
        let target = |paths: &[&str]| Target {
            service: "db".into(),
            volume: "v".into(),
            engine_volume: "st_v".into(),
            paths: paths.iter().map(|p| p.to_string()).collect(),
        };
        std::os::unix::fs::symlink(std::env::temp_dir(), root.join("linked")).unwrap();
        let volume = Root::open(&root, Links::None, VOLUME).unwrap();
        assert_eq!(
            marker_file(&volume, &target(&[])),
            Some(PathBuf::from(".ccci-marker"))
        );
        assert_eq!(
            marker_file(&volume, &target(&["backup.sql", "linked", "uploads"])),
            Some(PathBuf::from("uploads/.ccci-marker")),
            "a linked directory is not the volume's"
        );
        // Only files (or nothing yet): no marker, never a directory named like the dump.
        assert_eq!(
            marker_file(&volume, &target(&["backup.sql", "later.sql"])),
            None
        );
        assert!(!root.join("later.sql").exists());
        let _ = std::fs::remove_dir_all(&root);
    }

    #[test]
    fn the_backup_is_described_volume_by_volume() {
        let entry = |volume: &str, paths: &[&str], missing: &[&str]| ManifestEntry {
            volume: volume.into(),
            archive: format!("{volume}.tar.gz"),
            sha256: String::new(),
            bytes: 1,
            paths: paths.iter().map(|p| p.to_string()).collect(),
            missing: missing.iter().map(|p| p.to_string()).collect(),
        };
        let manifest = Manifest {
            volumes: vec![
                entry("uploads", &[], &[]),
                entry("postgres", &["backup.sql"], &["extra"]),
            ],
        };
        assert_eq!(
            describe_backup(&manifest, &["cache".into()]),
            "uploads: whole volume; postgres: backup.sql (missing: extra); left out: cache"
        );
    }

    #[test]
    fn take_and_restore_round_trip_byte_identically() {
        for codec in [Codec::Gzip, Codec::Zstd] {
            round_trip(codec);
        }
    }

    fn round_trip(codec: Codec) {
        let root =
            std::env::temp_dir().join(format!("ccci-backup-{}-{codec:?}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        let vol = root.join("vol");
        std::fs::create_dir_all(vol.join("sub")).unwrap();
        std::fs::write(vol.join("a.txt"), b"alpha").unwrap();
        std::fs::write(vol.join("sub/b.bin"), [0u8, 1, 2, 255]).unwrap();
        // Larger than the pipe between the decompressing thread and the unpack.
        let big: Vec<u8> = (0..2_000_000u64).map(|i| (i * 7919 % 251) as u8).collect();
        std::fs::write(vol.join("sub/big.bin"), &big).unwrap();
        let target = Target {
            service: "app".into(),
            volume: "data".into(),
            engine_volume: "st_data".into(),
            paths: vec![],
        };
        let mounts = vec![(target, vol.clone())];
        let manifest = take(&root.join("backup"), &mounts, codec).unwrap();
        std::fs::write(vol.join("sub/big.bin"), b"changed").unwrap();
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
        assert!(std::fs::read(vol.join("sub/big.bin")).unwrap() == big);
        // A corrupted archive is refused and leaves the volume as it was, whether the
        // corruption breaks the unpack (garbage) or only shows in the hash (a trailing byte).
        std::fs::write(vol.join("a.txt"), b"changed").unwrap();
        let archive = root.join("backup").join(codec.archive_name("data"));
        let mut longer = std::fs::read(&archive).unwrap();
        longer.push(0);
        for corrupt in [longer, b"garbage".to_vec()] {
            std::fs::write(&archive, corrupt).unwrap();
            let refused = restore(&root.join("backup"), &manifest, &mounts).unwrap_err();
            assert!(
                matches!(refused, RestoreError::Checksum { .. }),
                "{refused}"
            );
            assert!(refused.to_string().contains("checksum"));
            assert_eq!(std::fs::read(vol.join("a.txt")).unwrap(), b"changed");
            assert!(vol.join("sub/b.bin").exists());
        }
        assert_eq!(entries(&root), ["backup", "vol"], "no staging is left");
        let _ = std::fs::remove_dir_all(&root);
    }

    fn entries(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn a_restore_keeps_the_volume_roots_mode_and_owner() {
        use std::os::unix::fs::{MetadataExt, PermissionsExt};
        let root = std::env::temp_dir().join(format!("ccci-backup-root-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        let vol = root.join("vol");
        std::fs::create_dir_all(&vol).unwrap();
        std::fs::write(vol.join("f"), b"x").unwrap();
        std::fs::set_permissions(&vol, std::fs::Permissions::from_mode(0o750)).unwrap();
        std::os::unix::fs::chown(&vol, Some(4321), Some(4321)).unwrap();
        let mounts = vec![(data_target(), vol.clone())];
        let manifest = take(&root.join("backup"), &mounts, Codec::Zstd).unwrap();
        restore(&root.join("backup"), &manifest, &mounts).unwrap();
        let meta = std::fs::metadata(&vol).unwrap();
        assert_eq!(meta.permissions().mode() & 0o7777, 0o750);
        assert_eq!((meta.uid(), meta.gid()), (4321, 4321));
        let _ = std::fs::remove_dir_all(&root);
    }

    fn data_target() -> Target {
        Target {
            service: "app".into(),
            volume: "data".into(),
            engine_volume: "st_data".into(),
            paths: vec![],
        }
    }

    #[test]
    fn a_take_that_fails_midway_keeps_the_previous_backup_restorable() {
        let root = std::env::temp_dir().join(format!("ccci-backup-fail-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        let (vol, dir) = (root.join("vol"), root.join("backup"));
        std::fs::create_dir_all(&vol).unwrap();
        std::fs::write(vol.join("a.txt"), b"good").unwrap();
        let mounts = vec![(data_target(), vol.clone())];
        take(&dir, &mounts, Codec::Zstd).unwrap();
        // The second volume disappeared: the take fails after the first archive is written.
        std::fs::write(vol.join("a.txt"), b"newer").unwrap();
        let mut gone = data_target();
        gone.volume = "gone".into();
        let failing = vec![mounts[0].clone(), (gone, root.join("no-such-volume"))];
        assert!(take(&dir, &failing, Codec::Zstd).is_err());
        assert_eq!(
            entries(&root),
            ["backup", "vol"],
            "the failed take left nothing"
        );
        let kept: Manifest =
            serde_json::from_slice(&std::fs::read(dir.join("manifest.json")).unwrap()).unwrap();
        assert_eq!(kept.volumes.len(), 1);
        restore(&dir, &kept, &mounts).unwrap();
        assert_eq!(std::fs::read(vol.join("a.txt")).unwrap(), b"good");
        // A crashed take's staging is swept by the next take.
        std::fs::create_dir_all(root.join(".backup.new-1")).unwrap();
        take(&dir, &mounts, Codec::Zstd).unwrap();
        assert_eq!(entries(&root), ["backup", "vol"]);
        let _ = std::fs::remove_dir_all(&root);
    }

    /// A volume beside a host directory holding a file cc-ci must never read or write.
    fn volume_beside_host(name: &str) -> (PathBuf, PathBuf, PathBuf) {
        let root = std::env::temp_dir().join(format!("ccci-backup-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        let (vol, host) = (root.join("vol"), root.join("host"));
        std::fs::create_dir_all(vol.join("uploads")).unwrap();
        std::fs::create_dir_all(&host).unwrap();
        std::fs::write(host.join("token"), b"HOST-TOKEN").unwrap();
        std::fs::write(vol.join("uploads/a"), b"data").unwrap();
        (root, vol, host)
    }

    fn archived_names(archive: &Path) -> Vec<(String, tar::EntryType)> {
        let file = std::fs::File::open(archive).unwrap();
        let mut tar =
            tar::Archive::new(ccci_adapters::archive::decoder(file, Codec::Gzip).unwrap());
        let mut names = Vec::new();
        for e in tar.entries().unwrap() {
            let mut e = e.unwrap();
            let mut body = Vec::new();
            std::io::Read::read_to_end(&mut e, &mut body).unwrap();
            assert!(!String::from_utf8_lossy(&body).contains("HOST-TOKEN"));
            names.push((
                e.path().unwrap().display().to_string(),
                e.header().entry_type(),
            ));
        }
        names
    }

    #[test]
    fn a_capture_stores_links_as_links_and_a_restore_writes_through_none() {
        let (root, vol, host) = volume_beside_host("links");
        std::os::unix::fs::symlink(&host, vol.join("to-host")).unwrap();
        let mounts = vec![(data_target(), vol.clone())];
        let manifest = take(&root.join("backup"), &mounts, Codec::Gzip).unwrap();
        let names = archived_names(&root.join("backup/data.tar.gz"));
        assert!(
            names.contains(&("to-host".into(), tar::EntryType::Symlink)),
            "{names:?}"
        );
        assert!(!names.iter().any(|(n, _)| n.contains("token")), "{names:?}");
        // The app swaps its data directory for a link to the host before the restore.
        std::fs::remove_dir_all(vol.join("uploads")).unwrap();
        std::os::unix::fs::symlink(&host, vol.join("uploads")).unwrap();
        restore(&root.join("backup"), &manifest, &mounts).unwrap();
        assert!(vol.join("uploads").is_dir() && !vol.join("uploads").is_symlink());
        assert_eq!(std::fs::read(vol.join("uploads/a")).unwrap(), b"data");
        assert!(vol.join("to-host").is_symlink());
        assert_eq!(entries(&host), ["token"], "nothing written to the host");
        assert_eq!(std::fs::read(host.join("token")).unwrap(), b"HOST-TOKEN");
        let _ = std::fs::remove_dir_all(&root);
    }

    #[test]
    fn a_labelled_path_through_a_link_is_refused_naming_volume_and_label() {
        let (root, vol, host) = volume_beside_host("label");
        let mut target = data_target();
        target.paths = vec!["uploads".into()];
        let mounts = vec![(target.clone(), vol.clone())];
        let manifest = take(&root.join("backup"), &mounts, Codec::Gzip).unwrap();
        for planted in ["uploads", "uploads/a"] {
            target.paths = vec![planted.into()];
            std::fs::remove_dir_all(vol.join("uploads")).unwrap();
            std::os::unix::fs::symlink(&host, vol.join("uploads")).unwrap();
            let refused = take(
                &root.join("other"),
                &[(target.clone(), vol.clone())],
                Codec::Gzip,
            )
            .unwrap_err()
            .to_string();
            assert!(refused.contains("volume data"), "{refused}");
            assert!(
                refused.contains("backupbot.backup.volumes.data.path"),
                "{refused}"
            );
            assert!(!refused.contains("HOST-TOKEN"));
            // A restore into the planted link moves the link aside (the final name) or
            // refuses (a link on the way); it never writes to the host.
            target.paths = vec![planted.into()];
            let _ = restore(
                &root.join("backup"),
                &manifest,
                &[(target.clone(), vol.clone())],
            );
            assert_eq!(
                entries(&host),
                ["token"],
                "{planted}: nothing written to the host"
            );
            assert_eq!(std::fs::read(host.join("token")).unwrap(), b"HOST-TOKEN");
            let _ = std::fs::remove_file(vol.join("uploads"));
            let _ = std::fs::remove_dir_all(vol.join("uploads"));
            std::fs::create_dir_all(vol.join("uploads")).unwrap();
        }
        let _ = std::fs::remove_dir_all(&root);
    }
}
