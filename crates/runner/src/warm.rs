//! Data-warm canonicals (docs/behaviour.md §6): per enrolled recipe one known-good app on the
//! stable domain `warm-<recipe>.<ci domain>`, kept *undeployed* between runs (volumes, secrets and
//! `.env` kept), plus one snapshot of its volumes taken while undeployed.
//!
//! On disk, under `<state_dir>/warm/`:
//! - `<recipe>.json` — the record `{recipe, domain, version, commit, status, ts, stack,
//!   generation}`, written atomically (temp file + rename). It is the commit point: a new
//!   generation only becomes the canonical when the record names it.
//! - `<recipe>/<generation>/` — `snapshot/` (one `tar.zst` per volume + a sha256 manifest),
//!   `app.env` (the app's env at the known-good version) and `secrets.json` (the generated
//!   secret values, mode 0600, for redaction and for re-creating the secrets).
//! - `<recipe>.lock` — an flock held by a seed or a quick run of the recipe.
//!
//! The engine objects (volumes, secrets) are the canonical's live form; [`materialize`]
//! re-creates any that are missing from the snapshot and the stored secrets.

use crate::backup::{self, Manifest, RestoreError, Target};
use crate::ctx::RunCtx;
use anyhow::{Context, Result};
use ccci_adapters::archive::Codec;
use ccci_adapters::atomic::write_atomic;
use ccci_adapters::engine::{Engine, EngineError, Keep};
use ccci_core::secret::Secret;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

pub use crate::canonical::{recipe_dir, record_path, root, Attached, Record};

/// Why a warm canonical could not be undeployed, snapshotted, restored, re-created or
/// stored; `Display` is the message runs and the janitor record.
#[derive(Debug, thiserror::Error)]
pub enum WarmError {
    #[error("undeploying {stack}: still there after 90 s: {left}")]
    StillDeployed { stack: String, left: String },
    #[error("clearing {stack}: left {left}")]
    NotCleared { stack: String, left: String },
    #[error("{stack} is deployed; a snapshot is taken only while undeployed")]
    DeployedAtSnapshot { stack: String },
    #[error("{stack} is deployed; restore only while undeployed")]
    DeployedAtRestore { stack: String },
    /// Whether the stack is deployed could not be told.
    #[error("{0:#}")]
    Observe(anyhow::Error),
    #[error("listing {stack}: {cause:#}")]
    List { stack: String, cause: anyhow::Error },
    #[error("inspecting volume {volume}: {cause}")]
    InspectVolume { volume: String, cause: EngineError },
    #[error("creating volume {volume}: {cause}")]
    CreateVolume { volume: String, cause: EngineError },
    #[error("{0:#}")]
    CreateSecret(anyhow::Error),
    #[error("taking the snapshot: {0}")]
    TakeSnapshot(std::io::Error),
    #[error("reading {}: {cause}", path.display())]
    ReadManifest {
        path: PathBuf,
        cause: std::io::Error,
    },
    #[error("reading {}: {cause}", path.display())]
    ParseManifest {
        path: PathBuf,
        cause: serde_json::Error,
    },
    #[error(transparent)]
    Restore(#[from] RestoreError),
    #[error("writing the env: {0}")]
    WriteEnv(std::io::Error),
    #[error("writing the secrets: {0}")]
    WriteSecrets(std::io::Error),
    #[error("writing the record: {0}")]
    WriteRecord(std::io::Error),
    /// The recipe's warm lock, its record or its env (`recover`).
    #[error("{0:#}")]
    Canonical(anyhow::Error),
}

/// The canonical of `recipe`, if there is one.
pub fn load(state_dir: &Path, recipe: &str) -> Result<Option<Record>> {
    let path = record_path(state_dir, recipe);
    match std::fs::read(&path) {
        Ok(bytes) => Ok(Some(
            serde_json::from_slice(&bytes)
                .with_context(|| format!("reading {}", path.display()))?,
        )),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e).with_context(|| format!("reading {}", path.display())),
    }
}

pub fn write_record(state_dir: &Path, record: &Record) -> std::io::Result<()> {
    write_atomic(
        &record_path(state_dir, &record.recipe),
        &serde_json::to_vec_pretty(record).unwrap_or_default(),
        None,
    )
}

#[derive(Serialize, Deserialize)]
struct StoredSecret {
    name: String,
    value: String,
}

pub fn write_secrets(path: &Path, secrets: &[(String, Secret)]) -> std::io::Result<()> {
    let stored: Vec<StoredSecret> = secrets
        .iter()
        .map(|(n, v)| StoredSecret {
            name: n.clone(),
            value: v.expose().to_string(),
        })
        .collect();
    write_atomic(
        path,
        &serde_json::to_vec(&stored).unwrap_or_default(),
        Some(0o600),
    )
}

/// The canonical's secrets: engine name and value.
pub fn read_secrets(record: &Record, state_dir: &Path) -> Vec<(String, Secret)> {
    let stored: Vec<StoredSecret> = std::fs::read(record.secrets_path(state_dir))
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_default();
    stored
        .into_iter()
        .map(|s| (s.name, Secret::new(s.value)))
        .collect()
}

/// The names of the canonical's stored secrets; unlike [`read_secrets`], a file that cannot
/// be read is an error (nothing may be removed on its word).
fn stored_secret_names(record: &Record, state_dir: &Path) -> Result<Vec<String>, WarmError> {
    let path = record.secrets_path(state_dir);
    let stored: Vec<StoredSecret> = std::fs::read(&path)
        .map_err(anyhow::Error::from)
        .and_then(|b| Ok(serde_json::from_slice(&b)?))
        .with_context(|| format!("reading {}", path.display()))
        .map_err(WarmError::Canonical)?;
    Ok(stored.into_iter().map(|s| s.name).collect())
}

/// Resets the canonical's `.env` to its known-good version (`TYPE=<recipe>:<version>`).
pub fn reset_env(record: &Record, state_dir: &Path) -> Result<()> {
    let path = record.env_path(state_dir);
    let text =
        std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    let mut env = ccci_core::envfile::EnvFile::parse(&text)
        .map_err(|e| anyhow::anyhow!("{} line {}: {}", path.display(), e.line, e.message))?;
    env.set("TYPE", format!("{}:{}", record.recipe, record.version));
    write_atomic(&path, env.render().as_bytes(), None)?;
    Ok(())
}

/// An exclusive lock on a recipe's canonical, held by a seed or a quick run (flock: released
/// by the kernel on any death, so it never goes stale).
pub struct Lock(#[allow(dead_code)] std::fs::File);

pub async fn lock(state_dir: &Path, recipe: &str, bound: Duration) -> Result<Lock> {
    use std::os::fd::AsRawFd as _;
    let path = root(state_dir).join(format!("{recipe}.lock"));
    std::fs::create_dir_all(root(state_dir))?;
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .with_context(|| format!("opening {}", path.display()))?;
    let end = Instant::now() + bound;
    loop {
        // SAFETY: flock on a file descriptor we own; no memory is involved.
        let rc = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
        if rc == 0 {
            return Ok(Lock(file));
        }
        if Instant::now() >= end {
            anyhow::bail!(
                "the warm canonical of {recipe} is busy (another seed or quick run holds {}) for {} s",
                path.display(),
                bound.as_secs()
            );
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// Undeploys a stack keeping its data: its services, networks and configs go (in
/// [`Engine::clear_stack`]'s order), its volumes and secrets stay. Bounded by 90 s.
/// (`docker stack rm` is not used: it also deletes the secrets labelled with the stack.)
pub async fn undeploy(engine: &Engine, stack: &str) -> Result<(), WarmError> {
    let left = engine
        .clear_stack(stack, Keep::Data, Duration::from_secs(90))
        .await;
    if left.is_empty() {
        Ok(())
    } else {
        Err(WarmError::StillDeployed {
            stack: stack.to_string(),
            left: left.describe(),
        })
    }
}

/// Is anything of the stack running (services or containers)?
pub async fn deployed(engine: &Engine, stack: &str) -> Result<bool> {
    let o = engine.stack_objects(stack).await?;
    Ok(!o.services.is_empty() || !o.containers.is_empty())
}

async fn mountpoint(engine: &Engine, volume: &str) -> Result<PathBuf, WarmError> {
    engine
        .volume_path(volume)
        .await
        .map_err(|cause| WarmError::InspectVolume {
            volume: volume.to_string(),
            cause,
        })
}

/// The stack's engine objects, for a warm operation.
async fn objects_of(
    engine: &Engine,
    stack: &str,
) -> Result<ccci_adapters::engine::StackObjects, WarmError> {
    engine
        .stack_objects(stack)
        .await
        .map_err(|cause| WarmError::List {
            stack: stack.to_string(),
            cause,
        })
}

fn target(stack: &str, engine_volume: &str) -> Target {
    let short = engine_volume
        .strip_prefix(&format!("{stack}_"))
        .unwrap_or(engine_volume)
        .to_string();
    Target {
        service: String::new(),
        volume: short,
        engine_volume: engine_volume.to_string(),
        paths: Vec::new(),
    }
}

/// Snapshots every volume of the (undeployed) stack into `dir`: one tar.zst per volume and a
/// sha256 manifest (restore also reads the tar.gz of snapshots taken before zstd).
pub async fn snapshot(engine: &Engine, stack: &str, dir: &Path) -> Result<Manifest, WarmError> {
    if deployed(engine, stack).await.map_err(WarmError::Observe)? {
        return Err(WarmError::DeployedAtSnapshot {
            stack: stack.to_string(),
        });
    }
    let objects = objects_of(engine, stack).await?;
    let mut mounts = Vec::new();
    for v in &objects.volumes {
        mounts.push((target(stack, v), mountpoint(engine, v).await?));
    }
    backup::take(dir, &mounts, Codec::Zstd).map_err(WarmError::TakeSnapshot)
}

fn read_manifest(dir: &Path) -> Result<Manifest, WarmError> {
    let path = dir.join("manifest.json");
    let bytes = match std::fs::read(&path) {
        Ok(bytes) => bytes,
        Err(cause) => return Err(WarmError::ReadManifest { path, cause }),
    };
    serde_json::from_slice(&bytes).map_err(|cause| WarmError::ParseManifest { path, cause })
}

async fn ensure_volume(engine: &Engine, stack: &str, name: &str) -> Result<bool, WarmError> {
    if engine.volume_exists(name).await {
        return Ok(false);
    }
    engine
        .create_stack_volume(stack, name)
        .await
        .map_err(|cause| WarmError::CreateVolume {
            volume: name.to_string(),
            cause,
        })?;
    Ok(true)
}

/// Restores the snapshot in `dir` into the stack's volumes (creating missing ones): each
/// volume afterwards holds exactly the snapshot's files. Only while undeployed.
pub async fn restore(engine: &Engine, stack: &str, dir: &Path) -> Result<(), WarmError> {
    restore_only(engine, stack, dir, false).await
}

async fn restore_only(
    engine: &Engine,
    stack: &str,
    dir: &Path,
    missing_only: bool,
) -> Result<(), WarmError> {
    if deployed(engine, stack).await.map_err(WarmError::Observe)? {
        return Err(WarmError::DeployedAtRestore {
            stack: stack.to_string(),
        });
    }
    let manifest = read_manifest(dir)?;
    let mut mounts = Vec::new();
    for entry in &manifest.volumes {
        let name = format!("{stack}_{}", entry.volume);
        let created = ensure_volume(engine, stack, &name).await?;
        if missing_only && !created {
            continue;
        }
        mounts.push((target(stack, &name), mountpoint(engine, &name).await?));
    }
    Ok(backup::restore(dir, &manifest, &mounts)?)
}

/// Makes sure the canonical's engine objects exist: a missing volume is re-created from the
/// snapshot, a missing secret from the stored value. Existing ones are left as they are.
pub async fn materialize(
    engine: &Engine,
    record: &Record,
    state_dir: &Path,
) -> Result<(), WarmError> {
    restore_only(engine, &record.stack, &record.snapshot_dir(state_dir), true).await?;
    let existing = objects_of(engine, &record.stack).await?.secrets;
    for (name, value) in read_secrets(record, state_dir) {
        if !existing.contains(&name) {
            engine
                .create_secret(&record.stack, &name, &value)
                .await
                .map_err(WarmError::CreateSecret)?;
        }
    }
    Ok(())
}

/// Puts a warm stack whose seed or quick run died (SIGKILL, a crash of ours) back to the
/// recipe's known-good canonical: everything of the stack goes (a dead seed may have left
/// secrets with new values under the canonical's names), then the canonical's volumes are
/// re-created from its snapshot and its secrets from the stored values, and its env is
/// reset to the known-good version — all undeployed, as a canonical rests. Without a
/// canonical (a first seed died) the stack is simply removed. Holds the recipe's warm lock.
pub async fn recover(
    engine: &Engine,
    state_dir: &Path,
    recipe: &str,
    stack: &str,
) -> Result<String, WarmError> {
    let _lock = lock(state_dir, recipe, Duration::from_secs(5))
        .await
        .map_err(WarmError::Canonical)?;
    recover_locked(engine, state_dir, recipe, stack).await
}

/// [`recover`] by a caller that holds the recipe's warm lock already.
async fn recover_locked(
    engine: &Engine,
    state_dir: &Path,
    recipe: &str,
    stack: &str,
) -> Result<String, WarmError> {
    let left = engine
        .clear_stack(stack, Keep::Nothing, Duration::from_secs(120))
        .await;
    if !left.is_empty() {
        return Err(WarmError::NotCleared {
            stack: stack.to_string(),
            left: left.describe(),
        });
    }
    let record = load(state_dir, recipe)
        .map_err(WarmError::Canonical)?
        .filter(|r| r.stack == stack);
    let Some(record) = record else {
        return Ok("no canonical: the warm stack was removed".into());
    };
    materialize(engine, &record, state_dir).await?;
    reset_env(&record, state_dir).map_err(WarmError::Canonical)?;
    Ok(format!(
        "canonical put back to its known-good {} (undeployed, snapshot restored)",
        record.version
    ))
}

/// Removes every generation directory of `recipe` except `keep`.
pub fn prune_generations(state_dir: &Path, recipe: &str, keep: &str) {
    for e in std::fs::read_dir(recipe_dir(state_dir, recipe))
        .into_iter()
        .flatten()
        .flatten()
    {
        if e.file_name().to_string_lossy() != keep {
            let _ = std::fs::remove_dir_all(e.path());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_round_trips_and_is_written_atomically() {
        let state = std::env::temp_dir().join(format!("ccci-warm-{}", std::process::id()));
        assert!(load(&state, "fx").unwrap().is_none());
        let rec = Record {
            recipe: "fx".into(),
            domain: "warm-fx.ci.local".into(),
            version: "1.1.0+1.1.0".into(),
            commit: Some("abc".into()),
            status: "green".into(),
            ts: "2026-01-01T00:00:00Z".into(),
            stack: "warm-fx_ci_local".into(),
            generation: "gen-1".into(),
        };
        write_record(&state, &rec).unwrap();
        assert_eq!(load(&state, "fx").unwrap(), Some(rec.clone()));
        // No temp file is left beside the record.
        let names: Vec<String> = std::fs::read_dir(root(&state))
            .unwrap()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, vec!["fx.json".to_string()]);
        // Secrets are stored owner-only and read back.
        std::fs::create_dir_all(rec.gen_dir(&state)).unwrap();
        write_secrets(
            &rec.secrets_path(&state),
            &[("s_a_v1".into(), Secret::new("x"))],
        )
        .unwrap();
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(rec.secrets_path(&state))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        let back = read_secrets(&rec, &state);
        assert_eq!(back.len(), 1);
        assert_eq!(back[0].1.expose(), "x");
        // The env is reset to the known-good version.
        std::fs::write(
            rec.env_path(&state),
            "TYPE=fx:abcdef12\nDOMAIN=warm-fx.ci.local\n",
        )
        .unwrap();
        reset_env(&rec, &state).unwrap();
        let env = std::fs::read_to_string(rec.env_path(&state)).unwrap();
        assert!(env.contains("TYPE=fx:1.1.0+1.1.0"), "{env}");
        prune_generations(&state, "fx", "gen-1");
        assert!(rec.gen_dir(&state).is_dir());
        let _ = std::fs::remove_dir_all(&state);
    }

    /// A quick run that could not put its canonical back leaves its registry entry to the
    /// janitor: no longer in flight (so the janitor settles it with `recover`, even while
    /// the service's process lives on), and not kept.
    #[test]
    fn a_canonical_left_to_the_janitor_is_not_in_flight() {
        use ccci_adapters::registry;
        let state = std::env::temp_dir().join(format!("ccci-warm-left-{}", std::process::id()));
        let pid = std::process::id();
        let run = registry::ActiveRun {
            run_id: "r1".into(),
            domain: "warm-fx.ci.local".into(),
            stack: "warm-fx_ci_local".into(),
            recipe: "fx".into(),
            pid,
            pid_start: registry::process_start(pid),
            started_at: 0,
            work_dir: None,
            realm: None,
            kept_until: None,
        };
        registry::register(&state, &run).unwrap();
        assert!(registry::in_flight(&run));
        leave_to_janitor(&state, "warm-fx_ci_local").unwrap();
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        let left = registry::list(&state);
        assert_eq!(left.len(), 1);
        assert!(!registry::in_flight(&left[0]), "{:?}", left[0]);
        assert!(!registry::is_kept(&left[0], now), "{:?}", left[0]);
        assert!(leave_to_janitor(&state, "warm-other_ci_local").is_err());
        let _ = std::fs::remove_dir_all(&state);
    }
}

/// A run's hold on its recipe's canonical: the lock, held for the whole run, and the
/// record the run started from.
pub enum Hold {
    /// A cold run: no canonical involved.
    Cold,
    /// A seed (or a cold run promoted to re-seed): `old` is the canonical it may replace.
    Seed { old: Option<Record>, _lock: Lock },
    /// A quick run: the canonical it reattaches and upgrades in place.
    Quick { record: Record, _lock: Lock },
}

/// For a quick run: the recipe's canonical, locked and re-read under the lock (a seed may
/// have replaced it meanwhile), a canonical an earlier run left put back first
/// ([`settle_left`]); `None` when there is none.
pub async fn hold_canonical(
    state_dir: &Path,
    recipe: &str,
    bound: Duration,
    progress: &crate::progress::Progress,
) -> Result<Option<(Record, Lock)>> {
    if load(state_dir, recipe)?.is_none() {
        return Ok(None);
    }
    let lock = lock(state_dir, recipe, bound).await?;
    let Some(record) = load(state_dir, recipe)? else {
        return Ok(None);
    };
    if let Some(done) = settle_left(state_dir, &record).await? {
        progress.line(&done);
    }
    Ok(Some((record, lock)))
}

/// Under the recipe's lock, before a quick run reattaches: a run of the canonical's stack
/// that ended without putting it back ([`leave_to_janitor`]) or died (its lock went with
/// it) is settled first, as the janitor would — the canonical put back ([`recover`]) — so
/// a quick run never starts from what an earlier head left.
async fn settle_left(state_dir: &Path, record: &Record) -> Result<Option<String>> {
    use ccci_adapters::registry;
    let left: Vec<_> = registry::list(state_dir)
        .into_iter()
        .filter(|e| e.stack == record.stack && !registry::in_flight(e))
        .collect();
    if left.is_empty() {
        return Ok(None);
    }
    let engine = Engine::connect().await?;
    let done = recover_locked(&engine, state_dir, &record.recipe, &record.stack)
        .await
        .with_context(|| {
            format!(
                "putting back the canonical of {} that run {} left",
                record.recipe, left[0].run_id
            )
        })?;
    for e in left {
        if let Some(dir) = &e.work_dir {
            let _ = std::fs::remove_dir_all(dir);
        }
        registry::unregister(state_dir, &e.stack);
    }
    Ok(Some(format!(
        "the canonical of {} was left by an earlier run: {done}",
        record.recipe
    )))
}

/// The hold the plan's warm role needs; a quick run's canonical (already locked) is kept
/// when the plan uses it, released when it does not.
pub async fn hold(
    plan: &ccci_core::plan::WarmPlan,
    quick: Option<(Record, Lock)>,
    state_dir: &Path,
    recipe: &str,
    bound: Duration,
) -> Result<Hold> {
    use ccci_core::plan::WarmPlan;
    Ok(match (plan, quick) {
        (WarmPlan::Quick { .. }, Some((record, lock))) => Hold::Quick {
            record,
            _lock: lock,
        },
        (WarmPlan::Seed, held) => {
            let lock = match held {
                Some((_, lock)) => lock,
                None => lock(state_dir, recipe, bound).await?,
            };
            Hold::Seed {
                old: load(state_dir, recipe)?,
                _lock: lock,
            }
        }
        _ => Hold::Cold,
    })
}

/// A quick run's app takes the canonical's kept env and secrets, not fresh ones.
pub fn reattach(
    app: &mut crate::app::App,
    record: &Record,
    state_dir: &Path,
    first_version: &str,
) -> Result<()> {
    let path = record.env_path(state_dir);
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("reading the canonical's env {}", path.display()))?;
    app.env =
        ccci_core::envfile::EnvFile::parse(&text).map_err(|e| crate::recipe::InputError::File {
            file: path.display().to_string(),
            message: format!("line {}: {}", e.line, e.message),
        })?;
    app.env
        .set("TYPE", format!("{}:{first_version}", app.recipe));
    let stored = read_secrets(record, state_dir);
    app.secrets.retain_mut(|(spec, value)| {
        match stored.iter().find(|(n, _)| *n == spec.engine_name) {
            Some((_, v)) => {
                *value = v.clone();
                true
            }
            None => false,
        }
    });
    Ok(())
}

/// How a seed's or quick run's warm end went.
#[derive(Default)]
pub struct End {
    /// What teardown could not remove.
    pub leftovers: ccci_adapters::engine::StackObjects,
    /// The warm end failed. A seed then cannot be green; a quick run's verdict, judged
    /// before its end, stands (the failure is an alert, see `lifecycle::conclude_quick`).
    pub failure: Option<String>,
}

/// The end of a seed: a green one becomes the canonical; otherwise its stack goes and the
/// old canonical (if any) is put back.
pub async fn end_seed(ctx: &RunCtx, old: Option<&Record>, green: bool, state_dir: &Path) -> End {
    let why = match green {
        false => "the seed is not green".to_string(),
        true => match promote(ctx, state_dir).await {
            Ok(rec) => {
                ctx.progress.line(&format!(
                    "warm canonical of {} is now {} at {} (undeployed, data kept)",
                    rec.recipe, rec.version, rec.domain
                ));
                return End::default();
            }
            Err(why) => why.to_string(),
        },
    };
    ctx.progress.line(&format!(
        "not promoted ({why}); tearing down {}",
        ctx.app.stack
    ));
    let leftovers = ccci_adapters::teardown::teardown(&ctx.engine, &ctx.app.stack).await;
    if let Some(old) = old {
        match materialize(&ctx.engine, old, state_dir).await {
            Ok(()) => ctx.progress.line(&format!(
                "the canonical at {} is back in place",
                old.version
            )),
            Err(e) => ctx.progress.line(&format!(
                "re-creating the canonical at {} failed: {e}",
                old.version
            )),
        }
    }
    End {
        leftovers,
        failure: green.then(|| format!("promoting the canonical failed: {why}")),
    }
}

/// The end of a quick run, after its verdict (docs/behaviour.md §6), PASS or FAIL: the canonical is
/// undeployed, its snapshot restored, what the head added (volumes, secrets) removed and
/// its env reset to the known-good version, so the next quick run starts from exactly the
/// known-good data. Called under the recipe's warm lock. When that fails, the stack is
/// cleared and re-created from the snapshot ([`recover`]); when that fails too, `failure`
/// says why (the caller alerts and leaves the canonical to the janitor).
pub async fn end_quick(ctx: &RunCtx, record: &Record, state_dir: &Path) -> End {
    let stack = &ctx.app.stack;
    ctx.progress.line(&format!(
        "putting the canonical {stack} back to its known-good {}: undeploying, restoring its snapshot, resetting its env",
        record.version
    ));
    let first = match put_back(&ctx.engine, record, state_dir).await {
        Ok(()) => {
            ctx.progress.line(&format!(
                "the canonical is back at its known-good {} (snapshot restored, env reset)",
                record.version
            ));
            return End::default();
        }
        Err(e) => e,
    };
    ctx.progress.line(&format!(
        "putting the canonical back failed ({first}); clearing {stack} and re-creating it from the snapshot"
    ));
    match recover_locked(&ctx.engine, state_dir, &record.recipe, stack).await {
        Ok(done) => {
            ctx.progress.line(&done);
            End::default()
        }
        Err(e) => {
            let mut leftovers = ctx.engine.stack_objects(stack).await.unwrap_or_default();
            leftovers.volumes.clear();
            leftovers.secrets.clear();
            End {
                leftovers,
                failure: Some(format!(
                    "{first}; re-creating it from the snapshot failed too: {e}"
                )),
            }
        }
    }
}

/// Undeploy keeping data, restore the snapshot into the canonical's volumes, remove the
/// volumes and secrets that are not the canonical's, reset the env.
async fn put_back(engine: &Engine, record: &Record, state_dir: &Path) -> Result<(), WarmError> {
    let stack = &record.stack;
    let dir = record.snapshot_dir(state_dir);
    undeploy(engine, stack).await?;
    restore(engine, stack, &dir).await?;
    let manifest = read_manifest(&dir)?;
    let ours = |v: &String| {
        manifest
            .volumes
            .iter()
            .any(|e| *v == format!("{stack}_{}", e.volume))
    };
    let kept = stored_secret_names(record, state_dir)?;
    let objects = objects_of(engine, stack).await?;
    let volumes: Vec<String> = objects.volumes.into_iter().filter(|v| !ours(v)).collect();
    let secrets: Vec<String> = objects
        .secrets
        .into_iter()
        .filter(|s| !kept.contains(s))
        .collect();
    let refused = engine.remove_data(&volumes, &secrets).await;
    if !refused.is_empty() {
        return Err(WarmError::NotCleared {
            stack: stack.clone(),
            left: refused.join(", "),
        });
    }
    reset_env(record, state_dir).map_err(WarmError::Canonical)
}

/// A quick run that could not put its canonical back leaves it to the janitor: its
/// registry entry stays, marked ended (`kept_until` now: not in flight, nothing kept), so
/// the janitor's next sweep runs [`recover`] once the run's lock is released.
pub fn leave_to_janitor(state_dir: &Path, stack: &str) -> Result<()> {
    let mut entry = ccci_adapters::registry::list(state_dir)
        .into_iter()
        .find(|e| e.stack == stack)
        .with_context(|| format!("no registry entry for {stack}"))?;
    entry.kept_until = Some(time::OffsetDateTime::now_utc().unix_timestamp());
    ccci_adapters::registry::register(state_dir, &entry)
}

/// A green seed becomes the canonical: undeploy keeping volumes and secrets, snapshot into a
/// new generation beside the old one, store env and secrets, then write the record (the
/// commit point) and drop the older generations.
async fn promote(ctx: &RunCtx, state_dir: &Path) -> Result<Record, WarmError> {
    undeploy(&ctx.engine, &ctx.app.stack).await?;
    let now = time::OffsetDateTime::now_utc();
    let generation = format!("gen-{}", now.unix_timestamp_nanos() / 1_000_000);
    let head = &ctx.checkouts.head;
    let record = Record {
        recipe: ctx.app.recipe.clone(),
        domain: ctx.app.domain.clone(),
        version: head.version.clone(),
        commit: head.commit.clone(),
        status: "green".into(),
        ts: ccci_adapters::clock::rfc3339(now),
        stack: ctx.app.stack.clone(),
        generation: generation.clone(),
    };
    match store_generation(ctx, &record, state_dir).await {
        Ok(()) => {
            prune_generations(state_dir, &record.recipe, &generation);
            Ok(record)
        }
        Err(e) => {
            let _ = std::fs::remove_dir_all(record.gen_dir(state_dir));
            Err(e)
        }
    }
}

/// Snapshot, env, secrets, then the record: the generation becomes the canonical last.
async fn store_generation(
    ctx: &RunCtx,
    record: &Record,
    state_dir: &Path,
) -> Result<(), WarmError> {
    snapshot(&ctx.engine, &ctx.app.stack, &record.snapshot_dir(state_dir)).await?;
    let mut env = ctx.app.env.clone();
    env.set("TYPE", format!("{}:{}", record.recipe, record.version));
    write_atomic(&record.env_path(state_dir), env.render().as_bytes(), None)
        .map_err(WarmError::WriteEnv)?;
    let secrets: Vec<_> = ctx
        .app
        .secrets
        .iter()
        .map(|(spec, v)| (spec.engine_name.clone(), v.clone()))
        .collect();
    write_secrets(&record.secrets_path(state_dir), &secrets).map_err(WarmError::WriteSecrets)?;
    write_record(state_dir, record).map_err(WarmError::WriteRecord)
}
