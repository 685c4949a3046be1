//! `ccci serve`: the service, until SIGINT / SIGTERM; then it drains.

use crate::exit::Exit;
use std::path::PathBuf;

#[derive(clap::Args)]
pub struct Args {
    /// The TOML configuration file (see `ccci config check --help`).
    #[arg(long, env = "CCCI_CONFIG", default_value = "/etc/ccci/ccci.toml")]
    config: PathBuf,
}

/// A bad configuration is bad input (exit 2), named by file, line, field and fix.
pub async fn run(args: Args) -> anyhow::Result<Exit> {
    let config = ccci_service::check(&args.config)?;
    let stop = crate::signals::cancel_on_signals();
    ccci_service::serve(config, async move { stop.cancelled().await }).await?;
    Ok(Exit::Success)
}
