//! `ccci nightly`: the nightly sweep once; a red recipe is not a sweep failure.

use crate::exit::Exit;
use crate::rig_args::RigArgs;

#[derive(clap::Args)]
pub struct Args {
    #[command(flatten)]
    rig: RigArgs,
}

/// Green unless the sweep itself failed (then the host's failure, 3).
pub async fn run(args: Args) -> anyhow::Result<Exit> {
    let rig = args.rig.rig()?;
    let cancel = crate::signals::cancel_on_signals();
    let summary = ccci_hostjobs::nightly::sweep(&rig, cancel).await?;
    print!("{}", summary.text());
    Ok(if summary.errors.is_empty() {
        Exit::Success
    } else {
        Exit::HostFailure
    })
}
