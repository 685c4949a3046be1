//! `ccci prune`: dangling images, stopped containers and old build cache, when the disk is
//! full and no run is in flight.

use crate::exit::Exit;
use crate::rig_args::RigArgs;

#[derive(clap::Args)]
pub struct Args {
    /// Actually prune (the default is a dry run).
    #[arg(long)]
    apply: bool,
    /// Disk use (percent) at which pruning starts (default: the rig's `--prune-threshold`).
    #[arg(long, value_parser = clap::value_parser!(u8).range(0..=100))]
    threshold: Option<u8>,
    #[command(flatten)]
    rig: RigArgs,
}

pub async fn run(args: Args) -> anyhow::Result<Exit> {
    let rig = args.rig.rig()?;
    let threshold = args.threshold.unwrap_or(rig.prune_threshold);
    let report = ccci_adapters::prune::prune(&rig.state_dir, threshold, !args.apply).await?;
    print!("{report}");
    Ok(Exit::Success)
}
