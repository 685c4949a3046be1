//! `ccci prune`: dangling images, stopped containers and old build cache, when the disk is
//! full and no run is in flight.

use crate::cli::RigArgs;
use crate::exit::Exit;

#[derive(clap::Args)]
pub struct Args {
    /// Actually prune (the default is a dry run).
    #[arg(long)]
    apply: bool,
    /// Disk use (percent) at which pruning starts.
    #[arg(long, default_value_t = 80)]
    threshold: u8,
    #[command(flatten)]
    rig: RigArgs,
}

pub async fn run(args: Args) -> anyhow::Result<Exit> {
    let report = ccci_runner::janitor::prune(&args.rig.rig()?, args.threshold, !args.apply).await?;
    print!("{report}");
    Ok(Exit::Success)
}
