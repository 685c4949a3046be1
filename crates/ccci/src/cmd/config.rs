//! `ccci config check`: validate the service's configuration and say what it makes of it.

use crate::exit::Exit;
use ccci_service::Config;
use std::path::{Path, PathBuf};

#[derive(clap::Subcommand)]
pub enum Command {
    /// Validate a configuration file (with `CCCI_*` overrides from the environment): says
    /// what is wrong, where, and the fix; exit 0 when it is good, 2 when not.
    ///
    /// The format is documented in crates/service/src/config/mod.rs.
    Check {
        /// The TOML configuration file.
        file: PathBuf,
    },
}

pub async fn run(command: Command) -> anyhow::Result<Exit> {
    let Command::Check { file } = command;
    match ccci_service::check(&file) {
        Ok(config) => {
            print_good(&file, &config);
            println!("  {}", service_vips_line().await);
            Ok(Exit::Success)
        }
        Err(e) => {
            eprintln!("{e}");
            Ok(Exit::BadInput)
        }
    }
}

fn print_good(file: &Path, config: &Config) {
    println!(
        "{}: good (host {}, {} store, capacity {}, {} repositories)",
        file.display(),
        config.host_id,
        if config.database_url.expose().starts_with("sqlite:") {
            "SQLite"
        } else {
            "PostgreSQL"
        },
        config.capacity,
        config.forge.as_ref().map_or(0, |f| f.repos.len()),
    );
    if let Some(kc) = &config.rig.keycloak {
        println!("  keycloak: {} (admin {})", kc.url, kc.admin_user);
    }
    if let Some(n) = &config.nightly {
        println!(
            "  nightly sweep: daily from {:02}:{:02} UTC",
            n.at.hour(),
            n.at.minute()
        );
    }
}

/// What `config check` says of the engine's service VIPs (a warning, never a failure).
async fn service_vips_line() -> String {
    match ccci_adapters::engine::Engine::connect().await {
        Ok(engine) if engine.service_vips_route() => {
            "engine: service VIPs route (IPVS present): stacks are deployed as written".into()
        }
        Ok(_) => "engine: WARNING no IPVS, service VIPs do not route: cc-ci deploys services with endpoint_mode: dnsrr (a recorded rig adaptation)".into(),
        Err(e) => format!("engine: not reachable ({e:#}); runs need it"),
    }
}
