//! `ccci warm`: seed, show, snapshot and restore a recipe's data-warm canonical; reconcile the
//! live-warm apps.

use crate::cmd::run::{parse_stages, print_outcome};
use crate::exit::Exit;
use crate::rig_args::RigArgs;
use ccci_core::run_end::RunEnd;
use ccci_runner::recipe::InputError;
use ccci_runner::request::RunRequest;
use std::io::Write as _;
use std::path::PathBuf;
use std::time::Duration;

#[derive(clap::Subcommand)]
pub enum Command {
    /// Seed (or re-seed) a recipe's canonical: a cold-style run of its latest release on the
    /// stable domain `warm-<recipe>.<domain>`. Only a GREEN seed becomes the canonical
    /// (undeployed, volumes and secrets kept, snapshot taken); a red one leaves the old
    /// canonical as it was and removes what it created.
    Seed {
        /// A git repository path or URL with annotated releases.
        recipe: String,
        /// Rungs to run, comma-separated (install is always run).
        #[arg(long, value_delimiter = ',')]
        stages: Option<Vec<String>>,
        /// Where results.json, logs, card and comment go.
        #[arg(long, default_value = "ccci-out")]
        out: PathBuf,
        #[command(flatten)]
        rig: RigArgs,
    },
    /// Print a recipe's canonical record as JSON (exit 1 when it has none).
    Show {
        /// The recipe name.
        recipe: String,
        #[command(flatten)]
        rig: RigArgs,
    },
    /// Restore a recipe's canonical volumes from its snapshot (only while undeployed).
    Restore {
        /// The recipe name.
        recipe: String,
        #[command(flatten)]
        rig: RigArgs,
    },
    /// Re-take a recipe's canonical snapshot from its volumes as they are now (only while
    /// undeployed): after repairing a canonical's data by hand, and for measuring snapshots.
    Snapshot {
        /// The recipe name.
        recipe: String,
        #[command(flatten)]
        rig: RigArgs,
    },
    /// Reconcile the live-warm apps of `<state-dir>/live-warm.toml` once: apply safe
    /// (non-major, no manual migration) upgrades, hold the rest with an alert, roll back an
    /// upgrade that is not healthy. Exit 0 unless a reconcile failed outright.
    Reconcile {
        #[command(flatten)]
        rig: RigArgs,
    },
}

pub async fn run(command: Command) -> anyhow::Result<Exit> {
    match command {
        Command::Seed {
            recipe,
            stages,
            out,
            rig,
        } => seed(recipe, stages, out, &rig).await,
        Command::Show { recipe, rig } => show(&recipe, &rig),
        Command::Restore { recipe, rig } => restore(&recipe, &rig).await,
        Command::Snapshot { recipe, rig } => snapshot(&recipe, &rig).await,
        Command::Reconcile { rig } => reconcile(&rig).await,
    }
}

async fn seed(
    recipe: String,
    stages: Option<Vec<String>>,
    out: PathBuf,
    rig: &RigArgs,
) -> anyhow::Result<Exit> {
    let request = RunRequest {
        recipe_source: recipe,
        git_ref: None,
        stages: parse_stages(stages)?,
        quick: false,
        extra: false,
        out_dir: out.clone(),
        rig: rig.rig()?,
        run_url: None,
        run_id: None,
        user_cancel: Default::default(),
        keep: None,
        on_verdict: Default::default(),
    };
    let state_dir = request.rig.state_dir.clone();
    let cancel = crate::signals::cancel_on_signals();
    let results = ccci_runner::lifecycle::run_role(
        request,
        cancel,
        ccci_runner::progress::Progress::stderr(),
        ccci_runner::lifecycle::Role::Seed,
    )
    .await?;
    let exit = print_outcome(&results, &out);
    let line = match ccci_runner::warm::load(&state_dir, &results.recipe)? {
        Some(r) if results.end == RunEnd::GREEN => format!(
            "warm canonical: {} {} at {} (undeployed, data kept)",
            r.recipe, r.version, r.domain
        ),
        Some(r) => format!(
            "seed not green: the canonical stays at {} {}",
            r.recipe, r.version
        ),
        None => "seed not green: no warm canonical".to_string(),
    };
    let _ = writeln!(std::io::stdout(), "{line}");
    Ok(exit)
}

fn show(recipe: &str, rig: &RigArgs) -> anyhow::Result<Exit> {
    match ccci_runner::warm::load(&rig.rig()?.state_dir, recipe)? {
        Some(r) => {
            println!("{}", serde_json::to_string_pretty(&r)?);
            Ok(Exit::Success)
        }
        None => {
            eprintln!("ccci: no warm canonical of {recipe}");
            Ok(Exit::Red)
        }
    }
}

/// The recipe's canonical, locked for this command (bounded wait), and the engine.
async fn held_canonical(
    recipe: &str,
    rig: &RigArgs,
) -> anyhow::Result<(
    PathBuf,
    ccci_runner::warm::Record,
    ccci_runner::warm::Lock,
    ccci_adapters::engine::Engine,
)> {
    let state_dir = rig.rig()?.state_dir;
    let Some(r) = ccci_runner::warm::load(&state_dir, recipe)? else {
        return Err(InputError::NoCanonical {
            recipe: recipe.to_string(),
        }
        .into());
    };
    let lock = ccci_runner::warm::lock(&state_dir, recipe, Duration::from_secs(60)).await?;
    let engine = ccci_adapters::engine::Engine::connect().await?;
    Ok((state_dir, r, lock, engine))
}

async fn snapshot(recipe: &str, rig: &RigArgs) -> anyhow::Result<Exit> {
    let (state_dir, r, _lock, engine) = held_canonical(recipe, rig).await?;
    let manifest = ccci_runner::warm::snapshot(&engine, &r.stack, &r.snapshot_dir(&state_dir))
        .await
        .map_err(|e| anyhow::anyhow!(e))?;
    let bytes: u64 = manifest.volumes.iter().map(|v| v.bytes).sum();
    println!(
        "snapshot of {} taken: {} volume(s), {bytes} bytes archived",
        r.stack,
        manifest.volumes.len()
    );
    Ok(Exit::Success)
}

async fn restore(recipe: &str, rig: &RigArgs) -> anyhow::Result<Exit> {
    let (state_dir, r, _lock, engine) = held_canonical(recipe, rig).await?;
    ccci_runner::warm::restore(&engine, &r.stack, &r.snapshot_dir(&state_dir))
        .await
        .map_err(|e| anyhow::anyhow!(e))?;
    println!("restored {} from its snapshot ({})", r.stack, r.version);
    Ok(Exit::Success)
}

/// Green unless a reconcile failed outright (then the host's failure, 3).
async fn reconcile(rig: &RigArgs) -> anyhow::Result<Exit> {
    let rig = rig.rig()?;
    let outcomes =
        ccci_hostjobs::livewarm::reconcile_all(&rig, &ccci_runner::progress::Progress::stderr())
            .await?;
    if outcomes.is_empty() {
        println!(
            "no live-warm apps ({} lists none)",
            ccci_hostjobs::livewarm::config_path(&rig.state_dir).display()
        );
    }
    let mut failed = false;
    for (name, outcome) in &outcomes {
        println!("{name}: {outcome}");
        failed |= outcome.is_failure();
    }
    Ok(if failed {
        Exit::HostFailure
    } else {
        Exit::Success
    })
}
