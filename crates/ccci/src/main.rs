//! `ccci`: parse flags, validate them into a plan, run, map the outcome to an exit code.
//!
//! Exit codes: 0 green · 1 red · 2 bad input or configuration (nothing was created) ·
//! 3 the engine or host failed us (not the recipe's fault).

use anyhow::Result;
use ccci_core::ladder::{Rung, Verdict};
use ccci_runner::recipe::InputError;
use ccci_runner::request::{KeycloakConfig, Rig, RunRequest};
use clap::{Parser, Subcommand};
use std::io::IsTerminal;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

#[derive(Parser)]
#[command(
    name = "ccci",
    version,
    about = "Proves Co-op Cloud recipes on a real Docker Swarm"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(clap::Args, Clone)]
struct RigArgs {
    /// Domain apps live under: `<4 chars>-<6 hex>.<domain>`.
    #[arg(long, env = "CCCI_DOMAIN", default_value = "ci.local")]
    domain: String,
    /// The CI's suite tree (`<dir>/<recipe>/suite.toml`).
    #[arg(long, env = "CCCI_SUITES")]
    suites: Option<PathBuf>,
    /// State: active-run registry, checkouts.
    #[arg(long, env = "CCCI_STATE_DIR", default_value = "/var/lib/ccci")]
    state_dir: PathBuf,
    /// The rig's ingress proxy (host:port); health checks resolve app domains there.
    /// Without it, cc-ci publishes the app's HTTP port on a free host port.
    #[arg(long, env = "CCCI_INGRESS")]
    ingress: Option<SocketAddr>,
    /// Speak HTTPS to the ingress.
    #[arg(long, env = "CCCI_INGRESS_HTTPS")]
    ingress_https: bool,
    /// The CA bundle (PEM) the ingress's certificates must chain to (e.g. the rig's
    /// wildcard CA); default: the public web roots.
    #[arg(long, env = "CCCI_INGRESS_CA")]
    ingress_ca: Option<PathBuf>,
    /// Do service VIPs route on this engine: `auto` detects (no IPVS → no), `yes`, `no`.
    /// Where they do not, cc-ci deploys services with `endpoint_mode: dnsrr` (recorded as a
    /// rig adaptation).
    #[arg(long, env = "CCCI_SERVICE_VIPS", default_value = "auto", value_parser = ["auto", "yes", "no"])]
    service_vips: String,
    /// Hard wall-clock limit of a run, in seconds.
    #[arg(long, env = "CCCI_DEADLINE_SECS", default_value_t = 3600)]
    deadline_secs: u64,
    /// Disk use (percent of the engine's data root) from which a run prunes first (dangling
    /// images, stopped containers and build cache older than 24 h; never volumes).
    #[arg(long, env = "CCCI_PRUNE_THRESHOLD", default_value_t = ccci_runner::request::DEFAULT_PRUNE_THRESHOLD,
          value_parser = clap::value_parser!(u8).range(0..=100))]
    prune_threshold: u8,
    /// The shared Keycloak for SSO dependencies (each run gets its own realm there).
    #[arg(
        long,
        env = "CCCI_KEYCLOAK_URL",
        requires = "keycloak_admin_password_file"
    )]
    keycloak_url: Option<String>,
    /// An admin user of the Keycloak's master realm.
    #[arg(long, env = "CCCI_KEYCLOAK_ADMIN_USER", default_value = "admin")]
    keycloak_admin_user: String,
    /// A file holding that admin's password (required with --keycloak-url).
    #[arg(long, env = "CCCI_KEYCLOAK_ADMIN_PASSWORD_FILE")]
    keycloak_admin_password_file: Option<PathBuf>,
}

impl RigArgs {
    fn rig(&self) -> Rig {
        Rig {
            ci_domain: self.domain.clone(),
            suites_dir: self
                .suites
                .as_ref()
                .map(|s| s.canonicalize().unwrap_or_else(|_| s.clone())),
            // Absolute: deploys run the docker CLI from the recipe's checkout.
            state_dir: std::path::absolute(&self.state_dir)
                .unwrap_or_else(|_| self.state_dir.clone()),
            ingress: self.ingress,
            ingress_https: self.ingress_https,
            ingress_ca: self.ingress_ca.clone(),
            service_vips: match self.service_vips.as_str() {
                "yes" => Some(true),
                "no" => Some(false),
                _ => None,
            },
            deadline: Duration::from_secs(self.deadline_secs),
            prune_threshold: self.prune_threshold,
            keycloak: self.keycloak_url.as_ref().map(|url| KeycloakConfig {
                url: url.trim_end_matches('/').to_string(),
                admin_user: self.keycloak_admin_user.clone(),
                admin_password_file: self
                    .keycloak_admin_password_file
                    .clone()
                    .unwrap_or_default(),
            }),
        }
    }
}

#[derive(Subcommand)]
enum Command {
    /// Run a recipe's lifecycle on the local swarm: install, upgrade, backup/restore,
    /// functional tests; tear down; write results.
    Run {
        /// A recipe directory, a git repository path, or a git URL.
        recipe: String,
        /// The ref to test (branch, tag, commit, `refs/pull/N/head`).
        #[arg(long = "ref")]
        git_ref: Option<String>,
        /// Rungs to run, comma-separated (install is always run).
        #[arg(long, value_delimiter = ',')]
        stages: Option<Vec<String>>,
        /// The warm fast lane (falls back to a cold run without a canonical).
        #[arg(long)]
        quick: bool,
        /// Also run the heavy opt-in suite.
        #[arg(long)]
        extra: bool,
        /// Where results.json, logs, card and comment go.
        #[arg(long, default_value = "ccci-out")]
        out: PathBuf,
        #[command(flatten)]
        rig: RigArgs,
    },
    /// Lint a recipe (L5): abra's published lint rules and cc-ci's rules that compare the
    /// head with its base release. Prints a table (rule id, level, satisfied / failed /
    /// skipped, where it applies, what to fix), or JSON. Nothing is deployed and no engine is
    /// needed. Exit 0 when no error-level rule fails (warnings never fail), 1 when one does,
    /// 2 on bad input.
    Lint {
        /// A recipe directory, a git repository path, or a git URL.
        recipe: String,
        /// The ref to lint (branch, tag, commit, `refs/pull/N/head`); a git recipe only.
        #[arg(long = "ref")]
        git_ref: Option<String>,
        /// Print the report as JSON instead of the table.
        #[arg(long)]
        json: bool,
    },
    /// Check this host (and, with --config, the service's forge and Keycloak) and say
    /// what to fix, one line each. Exit 0 only when nothing fails (warnings are fine).
    Doctor {
        /// The service's configuration file: also check the forge and the Keycloak.
        #[arg(long)]
        config: Option<PathBuf>,
        /// Print JSON instead of lines.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        rig: RigArgs,
    },
    /// Reap what dead runs left on the engine (owner alive → untouched).
    Janitor {
        /// Say what would be removed, remove nothing.
        #[arg(long)]
        dry_run: bool,
        /// Age after which an app with no known owner is reaped, in seconds.
        #[arg(long, default_value_t = 7200)]
        unknown_after_secs: u64,
        #[command(flatten)]
        rig: RigArgs,
    },
    /// Print what cc-ci observes of a stack (services, tasks, update state) as JSON, with its
    /// judgement: the input of the readiness rules, for debugging and recording snapshots.
    Observe {
        /// The stack name (`docker stack ls`).
        stack: String,
    },
    /// The service: poll the forge for `!testme`, run the queue on this host's swarm,
    /// report back, serve the dashboard. Runs until SIGINT / SIGTERM, then stops claiming
    /// and lets running runs finish (within `shutdown_grace_secs`) or tear down.
    Serve {
        /// The TOML configuration file (see `ccci config check --help`).
        #[arg(long, env = "CCCI_CONFIG", default_value = "/etc/ccci/ccci.toml")]
        config: PathBuf,
    },
    /// The service's configuration.
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Warm canonicals (SPEC §5): the data-warm known-good app per enrolled recipe that
    /// `ccci run --quick` reattaches.
    #[command(subcommand)]
    Warm(WarmCommand),
    /// Alerts (held or rolled-back live-warm upgrades, …): list the pending and archived
    /// ones; `--relay` prints each pending alert once as a JSON line on stdout (for the
    /// operator's hook or log) and archives it.
    Alerts {
        /// Relay the pending alerts (each exactly once) and archive them.
        #[arg(long)]
        relay: bool,
        #[arg(long, env = "CCCI_STATE_DIR", default_value = "/var/lib/ccci")]
        state_dir: PathBuf,
    },
    /// The nightly sweep: skipped if a run is in flight; rolls the live-warm apps, runs
    /// every enrolled recipe (`warm = true`, recipe source in `<suites>/<recipe>/source`)
    /// cold on its latest release (green re-seeds its canonical), prunes the warm data of
    /// recipes no longer enrolled, logs disk use. Exit 0 unless the sweep itself failed.
    Nightly {
        #[command(flatten)]
        rig: RigArgs,
    },
    /// Prune dangling images, stopped containers and old build cache when the disk is full.
    Prune {
        /// Actually prune (the default is a dry run).
        #[arg(long)]
        apply: bool,
        /// Disk use (percent) at which pruning starts (default: the rig's
        /// `--prune-threshold`, 80).
        #[arg(long, value_parser = clap::value_parser!(u8).range(0..=100))]
        threshold: Option<u8>,
        #[command(flatten)]
        rig: RigArgs,
    },
}

#[derive(Subcommand)]
enum WarmCommand {
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
    /// Reconcile the live-warm apps of `<state-dir>/live-warm.toml` once: apply safe
    /// (non-major, no manual migration) upgrades, hold the rest with an alert, roll back an
    /// upgrade that is not healthy. Exit 0 unless a reconcile failed outright.
    Reconcile {
        #[command(flatten)]
        rig: RigArgs,
    },
}

#[derive(Subcommand)]
enum ConfigCommand {
    /// Validate a configuration file (with `CCCI_*` overrides from the environment): says
    /// what is wrong, where, and the fix; exit 0 when it is good, 2 when not.
    ///
    /// The format is documented in crates/service/src/config.rs.
    Check {
        /// The TOML configuration file.
        file: PathBuf,
    },
}

/// `ccci doctor`: host checks, plus the configuration's when given one.
async fn doctor(config: Option<PathBuf>, json: bool, rig: Rig) -> Result<ExitCode> {
    use ccci_core::doctor::{self, Check};
    let mut checks = Vec::new();
    let rig = match &config {
        Some(file) => match ccci_service::check(file) {
            Ok(cfg) => {
                checks.extend(ccci_service::doctor::config_checks(&cfg).await);
                ccci_service::scheduler::rig_from(&cfg)
            }
            Err(e) => {
                checks.push(Check::fail(
                    "config",
                    e.to_string(),
                    "see `ccci config check`",
                ));
                rig
            }
        },
        None => rig,
    };
    let mut all = ccci_runner::doctor::host(&rig).await;
    all.extend(checks);
    if json {
        println!("{}", serde_json::to_string_pretty(&all)?);
    } else {
        print!("{}", doctor::text(&all));
    }
    Ok(ExitCode::from(doctor::exit_code(&all)))
}

/// What `config check` says of the engine's service VIPs (a warning, never a failure).
async fn service_vips_line() -> String {
    match ccci_runner::engine::Engine::connect().await {
        Ok(engine) if engine.service_vips_route() => {
            "engine: service VIPs route (IPVS present): stacks are deployed as written".into()
        }
        Ok(_) => "engine: WARNING no IPVS, service VIPs do not route: cc-ci deploys services with endpoint_mode: dnsrr (a recorded rig adaptation)".into(),
        Err(e) => format!("engine: not reachable ({e:#}); runs need it"),
    }
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("CCCI_LOG")
                .unwrap_or_else(|_| "warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("ccci: cannot start the async runtime: {e}");
            return ExitCode::from(3);
        }
    };
    match runtime.block_on(dispatch(cli.command)) {
        Ok(code) => code,
        Err(e) => {
            let input = e.downcast_ref::<InputError>().is_some();
            eprintln!("ccci: error: {e:#}");
            ExitCode::from(if input { 2 } else { 3 })
        }
    }
}

fn parse_stages(stages: Option<Vec<String>>) -> Result<Option<Vec<Rung>>> {
    let Some(names) = stages else {
        return Ok(None);
    };
    let mut rungs = Vec::new();
    for name in names {
        let rung = Rung::parse(&name).ok_or_else(|| {
            InputError::Other(format!(
                "--stages: unknown stage {name:?}; known: install, upgrade, backup_restore, functional, lint, integration"
            ))
        })?;
        rungs.push(rung);
    }
    Ok(Some(rungs))
}

/// Ctrl-C and SIGTERM cancel the run; the run then tears down before returning.
fn cancel_on_signals() -> CancellationToken {
    let token = CancellationToken::new();
    let t = token.clone();
    tokio::spawn(async move {
        let mut term =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = async { match term.as_mut() { Some(s) => { s.recv().await; } None => std::future::pending().await } } => {}
        }
        // Cancel first: if stderr's reader is gone, printing must not stop the teardown
        // (`eprintln!` panics on a closed pipe, which would leave the app up).
        t.cancel();
        use std::io::Write as _;
        let _ = writeln!(
            std::io::stderr(),
            "\nccci: stopping — tearing down (this takes a few seconds)"
        );
    });
    token
}

/// `ccci lint`: the table or JSON; exit 0 clean, 1 an error-level rule failed (bad input is
/// an `InputError`, exit 2).
fn lint(recipe: &str, git_ref: Option<&str>, json: bool) -> Result<ExitCode> {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    let work = std::env::temp_dir().join(format!("ccci-lint-{}-{nanos}", std::process::id()));
    let linted = ccci_runner::lint::lint_source(recipe, git_ref, &work)?;
    let report = &linted.report;
    use std::io::Write as _;
    let mut stdout = std::io::stdout();
    if json {
        let doc = serde_json::json!({
            "recipe": linted.recipe,
            "commit": linted.commit,
            "base": report.base,
            "clean": report.clean(),
            "errors": report.errors().len(),
            "warnings": report.warnings().len(),
            "summary": report.summary(),
            "rules": report.rules,
        });
        let _ = writeln!(stdout, "{}", serde_json::to_string_pretty(&doc)?);
    } else {
        let color = stdout.is_terminal() && std::env::var_os("NO_COLOR").is_none();
        let _ = write!(
            stdout,
            "{}",
            ccci_report::lint::table(&linted.recipe, linted.commit.as_deref(), report, color)
        );
    }
    Ok(if report.clean() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// Prints the summary (saying when it was the quick lane) and maps the verdict to the exit code.
fn print_outcome(results: &ccci_core::results::RunResults, out: &std::path::Path) -> ExitCode {
    let color = std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    // A closed stdout must not turn a finished run into a panic (exit 101).
    use std::io::Write as _;
    let mut stdout = std::io::stdout();
    let _ = write!(stdout, "{}", ccci_report::summary::text(results, color));
    if results.mode == ccci_core::results::RunMode::Quick {
        let _ = writeln!(
            stdout,
            "quick lane: the fast lane on the warm canonical; it never gates a merge and never advances the canonical"
        );
    }
    let _ = writeln!(stdout, "results: {}", out.join("results.json").display());
    match results.verdict {
        Verdict::Green => ExitCode::SUCCESS,
        Verdict::Red => ExitCode::from(1),
    }
}

async fn dispatch(command: Command) -> Result<ExitCode> {
    match command {
        Command::Lint {
            recipe,
            git_ref,
            json,
        } => lint(&recipe, git_ref.as_deref(), json),
        Command::Run {
            recipe,
            git_ref,
            stages,
            quick,
            extra,
            out,
            rig,
        } => {
            let request = RunRequest {
                recipe_source: recipe,
                git_ref,
                stages: parse_stages(stages)?,
                quick,
                extra,
                out_dir: out.clone(),
                rig: rig.rig(),
                run_url: None,
                run_id: None,
            };
            let cancel = cancel_on_signals();
            let results = ccci_runner::lifecycle::run(request, cancel).await?;
            Ok(print_outcome(&results, &out))
        }
        Command::Warm(WarmCommand::Seed {
            recipe,
            stages,
            out,
            rig,
        }) => {
            let request = RunRequest {
                recipe_source: recipe,
                git_ref: None,
                stages: parse_stages(stages)?,
                quick: false,
                extra: false,
                out_dir: out.clone(),
                rig: rig.rig(),
                run_url: None,
                run_id: None,
            };
            let state_dir = request.rig.state_dir.clone();
            let cancel = cancel_on_signals();
            let results = ccci_runner::lifecycle::run_role(
                request,
                cancel,
                ccci_runner::progress::Progress::stderr(),
                ccci_runner::lifecycle::Role::Seed,
            )
            .await?;
            let code = print_outcome(&results, &out);
            let record = ccci_runner::warm::load(&state_dir, &results.recipe)?;
            use std::io::Write as _;
            let mut stdout = std::io::stdout();
            match record {
                Some(r) if results.verdict == Verdict::Green => {
                    let _ = writeln!(
                        stdout,
                        "warm canonical: {} {} at {} (undeployed, data kept)",
                        r.recipe, r.version, r.domain
                    );
                }
                Some(r) => {
                    let _ = writeln!(
                        stdout,
                        "seed not green: the canonical stays at {} {}",
                        r.recipe, r.version
                    );
                }
                None => {
                    let _ = writeln!(stdout, "seed not green: no warm canonical");
                }
            }
            Ok(code)
        }
        Command::Warm(WarmCommand::Show { recipe, rig }) => {
            match ccci_runner::warm::load(&rig.state_dir, &recipe)? {
                Some(r) => {
                    println!("{}", serde_json::to_string_pretty(&r)?);
                    Ok(ExitCode::SUCCESS)
                }
                None => {
                    eprintln!("ccci: no warm canonical of {recipe}");
                    Ok(ExitCode::from(1))
                }
            }
        }
        Command::Warm(WarmCommand::Restore { recipe, rig }) => {
            let state_dir = rig.state_dir.clone();
            let Some(r) = ccci_runner::warm::load(&state_dir, &recipe)? else {
                return Err(InputError::Other(format!("no warm canonical of {recipe}")).into());
            };
            let _lock =
                ccci_runner::warm::lock(&state_dir, &recipe, Duration::from_secs(60)).await?;
            let engine = ccci_runner::engine::Engine::connect().await?;
            ccci_runner::warm::restore(&engine, &r.stack, &r.snapshot_dir(&state_dir))
                .await
                .map_err(|e| anyhow::anyhow!(e))?;
            println!("restored {} from its snapshot ({})", r.stack, r.version);
            Ok(ExitCode::SUCCESS)
        }
        Command::Warm(WarmCommand::Reconcile { rig }) => {
            let outcomes = ccci_runner::livewarm::reconcile_all(
                &rig.rig(),
                &ccci_runner::progress::Progress::stderr(),
            )
            .await?;
            if outcomes.is_empty() {
                println!(
                    "no live-warm apps ({} lists none)",
                    ccci_runner::livewarm::config_path(&rig.state_dir).display()
                );
            }
            let mut failed = false;
            for (name, outcome) in &outcomes {
                println!("{name}: {outcome}");
                failed |= outcome.is_failure();
            }
            Ok(if failed {
                ExitCode::from(3)
            } else {
                ExitCode::SUCCESS
            })
        }
        Command::Alerts { relay, state_dir } => {
            use std::io::Write as _;
            if relay {
                let relayed = ccci_runner::alerts::relay(&state_dir, |a| {
                    let mut out = std::io::stdout();
                    writeln!(out, "{}", serde_json::to_string(a)?)?;
                    out.flush()?;
                    Ok(())
                })?;
                eprintln!("relayed {} alert(s)", relayed.len());
            } else {
                let mut out = std::io::stdout();
                for a in ccci_runner::alerts::pending(&state_dir) {
                    let _ = writeln!(out, "pending  {} {} {}: {}", a.ts, a.app, a.kind, a.message);
                }
                for a in ccci_runner::alerts::archived(&state_dir) {
                    let _ = writeln!(out, "relayed  {} {} {}: {}", a.ts, a.app, a.kind, a.message);
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Nightly { rig } => {
            let cancel = cancel_on_signals();
            let summary = ccci_runner::nightly::sweep(&rig.rig(), cancel).await?;
            print!("{}", summary.text());
            Ok(if summary.errors.is_empty() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(3)
            })
        }
        Command::Doctor { config, json, rig } => doctor(config, json, rig.rig()).await,
        Command::Janitor {
            dry_run,
            unknown_after_secs,
            rig,
        } => {
            let report = ccci_runner::janitor::reap(
                &rig.rig(),
                Duration::from_secs(unknown_after_secs),
                dry_run,
            )
            .await?;
            print!("{report}");
            Ok(ExitCode::SUCCESS)
        }
        Command::Observe { stack } => {
            let engine = ccci_runner::engine::Engine::connect().await?;
            let services = engine.observe_stack(&stack).await?;
            let now_ms = ccci_runner::lifecycle::now_ms();
            let judgement = ccci_core::readiness::judge(
                &services,
                now_ms,
                ccci_core::readiness::CrashLoopPolicy::default(),
            );
            let snapshot = serde_json::json!({
                "stack": stack,
                "now_ms": now_ms,
                "judgement": format!("{judgement:?}"),
                "services": services,
            });
            println!("{}", serde_json::to_string_pretty(&snapshot)?);
            Ok(ExitCode::SUCCESS)
        }
        Command::Serve { config } => {
            let config =
                ccci_service::check(&config).map_err(|e| InputError::Other(e.to_string()))?;
            let stop = cancel_on_signals();
            ccci_service::serve(config, async move { stop.cancelled().await }).await?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Config(ConfigCommand::Check { file }) => match ccci_service::check(&file) {
            Ok(config) => {
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
                if let Some(kc) = &config.keycloak {
                    println!("  keycloak: {} (admin {})", kc.url, kc.admin_user);
                }
                if let Some(n) = &config.nightly {
                    println!(
                        "  nightly sweep: daily from {:02}:{:02} UTC",
                        n.at.hour(),
                        n.at.minute()
                    );
                }
                println!("  {}", service_vips_line().await);
                Ok(ExitCode::SUCCESS)
            }
            Err(e) => {
                eprintln!("{e}");
                Ok(ExitCode::from(2))
            }
        },
        Command::Prune {
            apply,
            threshold,
            rig,
        } => {
            let rig = rig.rig();
            let threshold = threshold.unwrap_or(rig.prune_threshold);
            let report = ccci_runner::janitor::prune(&rig, threshold, !apply).await?;
            print!("{report}");
            Ok(ExitCode::SUCCESS)
        }
    }
}
