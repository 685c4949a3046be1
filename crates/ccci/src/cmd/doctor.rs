//! `ccci doctor`: host checks, plus the configuration's when given one.

use crate::exit::Exit;
use crate::rig_args::RigArgs;
use ccci_core::doctor::{self, Check};
use std::path::PathBuf;

#[derive(clap::Args)]
pub struct Args {
    /// The service's configuration file: also check the forge and the Keycloak.
    #[arg(long)]
    config: Option<PathBuf>,
    /// A recipe directory whose images' registries must answer (repeatable; the enrolled
    /// recipes with a directory source are checked too).
    #[arg(long = "recipe")]
    recipes: Vec<PathBuf>,
    /// Print JSON instead of lines.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    rig: RigArgs,
}

/// Green only when no check failed (warnings are fine).
pub async fn run(args: Args) -> anyhow::Result<Exit> {
    let mut checks = Vec::new();
    let rig = match &args.config {
        Some(file) => match ccci_service::check(file) {
            Ok(cfg) => {
                checks.extend(ccci_service::doctor::config_checks(&cfg).await);
                cfg.rig
            }
            Err(e) => {
                checks.push(Check::fail(
                    "config",
                    e.to_string(),
                    "see `ccci config check`",
                ));
                args.rig.rig()?
            }
        },
        None => args.rig.rig()?,
    };
    let mut all = ccci_hostjobs::doctor::host(&rig).await;
    all.extend(checks);
    all.extend(
        ccci_hostjobs::image_registries::checks(&args.recipes, rig.suites_dir.as_deref()).await,
    );
    if args.json {
        println!("{}", serde_json::to_string_pretty(&all)?);
    } else {
        print!("{}", doctor::text(&all));
    }
    Ok(Exit::green_if(!doctor::failed(&all)))
}
