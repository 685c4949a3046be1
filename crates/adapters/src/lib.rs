//! cc-ci's adapters: everything that speaks to the outside world for a run or a host job,
//! and nothing that knows what a run is. The lowest of the runner's three rooms
//! (`ccci-hostjobs` → `ccci-runner` → `ccci-adapters`): an adapter never uses the run
//! (`ccci-runner`) nor a host job (`ccci-hostjobs`); it takes the fields it needs, never a
//! `RunRequest` or a `Rig`.
//!
//! # Layout
//! - [`engine`]: the Docker Engine adapter, the only module that speaks the Engine API.
//! - [`stack`]: `docker stack deploy/rm/config`, service logs, pulls (the docker CLI).
//! - [`rig_container`]: cc-ci's own containers on the proxy network (forwarder, sandboxes).
//! - [`sandbox`]: suite code run in a throwaway, locked-down container, never on the host.
//! - [`teardown`]: removing a stack and everything it left, bounded.
//! - [`procnet`]: whether a container listens on a non-loopback TCP port (`/proc/<pid>/net`).
//! - [`probe`]: HTTP and TCP probes through the route users take.
//! - [`git`]: the `git` CLI, bounded; [`git::GitError`].
//! - [`beneath`]: files opened inside a held directory (openat2), never through a link leaving it.
//! - [`archive`]: a volume's tar archive, gzip (backups) or zstd (warm snapshots), hashed as written.
//! - [`swap`]: a directory swapped in whole (`renameat2` exchange).
//! - [`atomic`]: a file written whole or not at all (temp file, then rename).
//! - [`registry`]: the active-run registry the janitor relies on.
//! - [`alerts`]: alert files (raised by runs, the scheduler and live-warm; relayed once).
//! - [`prune`]: how full the engine's disk is, and the prune (every run's check first, `ccci prune`).
//! - [`keycloak`]: the shared Keycloak of SSO dependencies: per-run realms, orphan reaping.
//! - `keycloak_standin` (feature `standin`): a Keycloak stand-in for tests.
//! - [`clock`]: the time of day and random ids.
pub mod alerts;
pub mod archive;
pub mod atomic;
pub mod beneath;
pub mod clock;
pub mod engine;
pub mod git;
pub mod keycloak;
#[cfg(feature = "standin")]
pub mod keycloak_standin;
pub mod probe;
pub mod procnet;
pub mod prune;
pub mod registry;
pub mod rig_container;
pub mod sandbox;
pub mod stack;
pub mod swap;
pub mod teardown;
