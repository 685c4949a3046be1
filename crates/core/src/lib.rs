//! cc-ci's pure core.
//!
//! **Architecture invariant:** nothing in this crate does I/O — no files, processes, clocks,
//! randomness or network. Every function takes observed state in and returns a decision or a
//! model out, so it cannot fail on the outside world and is tested with data tables.
//!
//! # Layout
//! - [`secret`]: secret values that refuse to print, and the redactor.
//! - [`ladder`]: rungs, the level ladder (L5 = lint clean) and the verdict.
//! - [`plan`]: a run's plan before anything is deployed: role, base, rungs, expected level.
//! - [`judge`]: a run's ending, level and first failure, judged once from what happened.
//! - [`run_end`]: how a run ended: a verdict (green, red), cancelled, or cc-ci's error.
//! - [`lint`]: the recipe lint (L5): abra's published rules and cc-ci's base-vs-head rules.
//! - [`lint_rung`]: the lint rung of a run, from the lint's report.
//! - [`results`]: the versioned `results.json` record.
//! - [`envfile`]: `.env` / `.env.sample` parsing, modifiers and expansion.
//! - [`compose`]: compose files merged and interpolated into a [`compose::StackModel`].
//! - [`host_access`]: what a compose file asks of the host (bind mounts, the Docker socket,
//!   host namespaces, devices, capabilities, published ports, logging drivers); grants a
//!   head adds to its base release.
//! - [`deployed`]: what `docker stack config` says docker will deploy, judged before every
//!   deploy: host paths docker reads, service grants, engine objects outside the stack.
//! - [`backupbot`]: backup-bot-two's labels: enrolled services, volumes and paths, problems.
//! - [`deploy_error`]: `docker stack deploy` failures the recipe author can fix, explained.
//! - [`key_line`]: the line of a key in a compose text, for findings and explained failures.
//! - [`pull_error`]: a failed `docker pull` explained: cause, whose to fix (recipe or rig), the fix.
//! - [`naming`]: app domains, stack names and secret names as abra derives them.
//! - [`pace`]: when a readiness wait looks again (at once on an engine event, else polled).
//! - [`readiness`]: convergence, crash-loop and stays-up rules over observed swarm state.
//! - [`rig`]: rig adaptations (`endpoint_mode: dnsrr` where service VIPs do not route).
//! - [`volumes`]: which base volumes the head keeps, renames or drops (data survives the upgrade).
//! - [`service_log`]: a service's log tail put back in time order (tasks are printed one by one).
//! - [`suite`]: `suite.toml` test-suite metadata.
//! - [`version`]: release tags, the upgrade base (the release the head came from), chaos-version labels.
//! - [`upgrade_env`]: the app's `.env` and secrets across an upgrade, as abra keeps them.
//! - [`upgrade_paths`]: `[upgrade] from`: the releases an upgrade is proven from, and the rule.
//! - [`junit_input`]: JUnit XML written by suite tests, read into test cases.
//! - [`retention`]: which run directories to remove for the operator's age and size limits.
//! - [`history`]: where a red recipe broke (last green, first red) and what changed between.
//! - [`keep`]: `--keep`: how long a RED run's app stays deployed for debugging, and what it says.
//! - [`live`]: a run in flight as its run directory shows it: the live log, rung events, timeline.
//! - [`doctor`]: `ccci doctor`'s checks judged and rendered, one line each with its fix.
//! - [`livewarm`]: the live-warm reconciler's rule: apply, hold (major bump or flagged notes), install.
//! - [`doctor`]: `ccci doctor`'s verdict over the checks adapters gathered, and its lines.
//! - [`live`]: a run in flight as its run directory shows it: the live log, rung events, the timeline.
//! - [`rig`]: rig adaptations (`endpoint_mode: dnsrr` where service VIPs do not route).
//! - [`volumes`]: which base volumes the head keeps, renames or drops across the upgrade.
//! - [`yaml`]: compose YAML values read leniently (a list of items, a list or mapping of names).

pub mod backupbot;
pub mod compose;
pub mod deploy_error;
pub mod deployed;
pub mod doctor;
pub mod envfile;
pub mod history;
pub mod host_access;
pub mod judge;
pub mod junit_input;
pub mod keep;
pub mod key_line;
pub mod ladder;
pub mod lint;
pub mod lint_rung;
pub mod live;
pub mod livewarm;
pub mod naming;
pub mod pace;
pub mod plan;
pub mod pull_error;
pub mod readiness;
pub mod results;
pub mod retention;
pub mod rig;
pub mod run_end;
pub mod secret;
pub mod service_log;
pub mod suite;
pub mod upgrade_env;
pub mod upgrade_paths;
pub mod version;
pub mod volumes;
pub mod yaml;
