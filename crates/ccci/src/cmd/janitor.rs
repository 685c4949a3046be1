//! `ccci janitor`: reap what dead runs left on the engine (owner alive or app kept →
//! untouched); `--release STACK` removes a kept app early.

use crate::exit::Exit;
use crate::rig_args::RigArgs;
use std::time::Duration;

#[derive(clap::Args)]
pub struct Args {
    /// Say what would be removed, remove nothing.
    #[arg(long)]
    dry_run: bool,
    /// Age after which an app with no known owner is reaped, in seconds.
    #[arg(long, default_value_t = 7200)]
    unknown_after_secs: u64,
    /// Remove this app kept for debugging (`ccci run --keep`) now, before its time.
    #[arg(long, value_name = "STACK")]
    release: Option<String>,
    #[command(flatten)]
    rig: RigArgs,
}

pub async fn run(args: Args) -> anyhow::Result<Exit> {
    if let Some(stack) = &args.release {
        print!(
            "{}",
            ccci_hostjobs::janitor::release(&args.rig.rig()?, stack).await?
        );
        return Ok(Exit::Success);
    }
    let report = ccci_hostjobs::janitor::reap(
        &args.rig.rig()?,
        Duration::from_secs(args.unknown_after_secs),
        args.dry_run,
    )
    .await?;
    print!("{report}");
    Ok(Exit::Success)
}
