//! `ccci alerts`: the pending and relayed alerts, or `--relay` each pending one once.

use crate::exit::Exit;
use ccci_runner::rig_settings::{env, DEFAULT_STATE_DIR};
use std::io::Write as _;
use std::path::PathBuf;

#[derive(clap::Args)]
pub struct Args {
    /// Relay the pending alerts (each exactly once) and archive them.
    #[arg(long)]
    relay: bool,
    /// The rig's state dir (as `--state-dir` of the other commands).
    #[arg(long, env = env::STATE_DIR, default_value = DEFAULT_STATE_DIR)]
    state_dir: PathBuf,
}

pub fn run(args: Args) -> anyhow::Result<Exit> {
    if args.relay {
        let relayed = ccci_adapters::alerts::relay(&args.state_dir, |a| {
            let mut out = std::io::stdout();
            writeln!(out, "{}", serde_json::to_string(a)?)?;
            out.flush()?;
            Ok(())
        })?;
        eprintln!("relayed {} alert(s)", relayed.len());
        return Ok(Exit::Success);
    }
    let mut out = std::io::stdout();
    for a in ccci_adapters::alerts::pending(&args.state_dir) {
        let _ = writeln!(out, "pending  {} {} {}: {}", a.ts, a.app, a.kind, a.message);
    }
    for a in ccci_adapters::alerts::archived(&args.state_dir) {
        let _ = writeln!(out, "relayed  {} {} {}: {}", a.ts, a.app, a.kind, a.message);
    }
    Ok(Exit::Success)
}
