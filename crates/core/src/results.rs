//! `results.json`: the record of one run. Versioned by [`SCHEMA_VERSION`]; every reader
//! (card, comment, JUnit, dashboard) renders from this and nothing else.

use crate::ladder::{Rung, RungOutcome, RungStatus, SkipKind};
use crate::run_end::RunEnd;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// 2: the `lint` rung (L5) and the `lint` block (schema 1 files have neither; their level
/// tops out at 4). 3: a rung's `skip` may be `inherited` (the lint found only errors its
/// base release has too), and lint findings carry `subject` and `provenance`. (Additive
/// fields keep the number: `upgrade_paths` is one.)
pub const SCHEMA_VERSION: u32 = 3;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunMode {
    /// A fresh app, torn down at the end: the authoritative default.
    Cold,
    /// Reattach a warm canonical and upgrade it in place (never gates a merge).
    Quick,
}

/// One functional (or integration, recipe-local) test case.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TestCase {
    pub name: String,
    pub status: RungStatus,
    pub duration_ms: u64,
    /// Failure or skip message, already redacted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RungResult {
    pub name: Rung,
    pub status: RungStatus,
    /// Why it failed or was skipped; for a pass, an optional note.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// For skips: intentional (`EXPECTED_NA`) or not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub skip: Option<SkipKind>,
    pub duration_ms: u64,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tests: Vec<TestCase>,
}

impl RungResult {
    pub fn outcome(&self) -> RungOutcome {
        RungOutcome {
            rung: self.name,
            status: self.status,
            skip: self.skip,
        }
    }
}

/// One upgrade path (`[upgrade] from`, [`crate::upgrade_paths`]): a release installed as an
/// operator has it, upgraded to the head, its data checked. The `upgrade` rung passes only
/// if every path passes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UpgradePath {
    /// The release the path starts from (its tag).
    pub from: String,
    /// How the suite named it: `previous`, `previous-minor`, or the tag itself.
    pub asked: String,
    pub status: RungStatus,
    /// Why it failed or did not run, with the evidence and the fix.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Wall time of the path: install, upgrade, data check (and, beside the ladder, teardown).
    pub duration_ms: u64,
    /// Deploys the path cost (install + upgrade: 2).
    pub deploy_count: u32,
}

impl UpgradePath {
    /// How cards and pages name it: `upgrade from 1.0.0+1.2.3`.
    pub fn title(&self) -> String {
        format!("upgrade from {}", self.from)
    }
}

/// What went wrong, for the comment and the card: the first failure of the run.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Failure {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rung: Option<Rung>,
    pub message: String,
    /// The service the failure is about, if any (e.g. `app`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service: Option<String>,
    /// The swarm task error (`Err` of the task status), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task_error: Option<String>,
    /// The last lines of the failing service's log, redacted.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub log_tail: Vec<String>,
}

/// Where the suite that judged the run came from (docs/behaviour.md §7, integrity).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SuiteSource {
    /// The CI's suite tree (`<suites>/<recipe>/`).
    Ci,
    /// A release's own `.ccci/suite.toml`: the base release (or the head itself when the head
    /// is a release).
    BaseRelease,
    /// The head's own `.ccci/`: the recipe has no release to judge by.
    Head,
    /// No suite anywhere: the defaults judged.
    None,
}

/// Which suite judged the run, and what of the head's own `.ccci/` was not obeyed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SuiteRecord {
    pub source: SuiteSource,
    /// For `base-release`: the release whose `.ccci/` judged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub release: Option<String>,
    /// What the head changed in `.ccci/` that was not obeyed, e.g.
    /// `.ccci/suite.toml: expected_na.backup_restore`, `.ccci/hooks/pre-upgrade`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ignored: Vec<String>,
    /// The head's own test files that ran as extra checks (new or changed in `.ccci/tests/`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub added_tests: Vec<String>,
}

/// Boolean facts about the run that a reader should be able to trust.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunFlags {
    /// After teardown nothing of the stack remained on the engine. (A kept app — see
    /// [`RunResults::kept`] — is torn down later by the janitor; this is then `true`.)
    pub clean_teardown: bool,
    /// No generated secret value was found in any artefact before redaction was applied
    /// to logs (a leak in the app's own log is redacted and reported here as `false`).
    pub no_secret_leak: bool,
    /// The run was interrupted (Ctrl-C, deadline).
    #[serde(default)]
    pub interrupted: bool,
}

/// How cc-ci reached an app: through the rig's ingress, or its own forwarder — published on
/// the host's loopback, or over `proxy` when cc-ci runs in a container attached to it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RouteVia {
    Ingress,
    ForwarderLoopback,
    ForwarderProxy,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RouteRecord {
    pub via: RouteVia,
    /// Where cc-ci connected (`host:port`).
    pub addr: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunResults {
    pub schema: u32,
    pub run_id: String,
    pub recipe: String,
    /// Where the recipe came from: a directory or a git URL.
    pub source: String,
    /// The ref asked for (`--ref`), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub head_ref: Option<String>,
    /// The commit under test, when the recipe is a git repository.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub head_commit: Option<String>,
    /// The release the upgrade starts from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base_version: Option<String>,
    /// The version deployed last (the head's label).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub head_version: Option<String>,
    pub mode: RunMode,
    pub domain: String,
    pub stack: String,
    /// How the run ended: green, red, cancelled or error (written `verdict`, as always).
    #[serde(rename = "verdict")]
    pub end: RunEnd,
    pub level: u8,
    pub expected_level: u8,
    /// Ladder rungs first, bottom to top, then rungs beside the ladder.
    pub rungs: Vec<RungResult>,
    /// The upgrade rung's paths, the ladder's own (`previous`) first, when the suite asked
    /// for more than one (`[upgrade] from`); empty otherwise.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub upgrade_paths: Vec<UpgradePath>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure: Option<Failure>,
    /// Milliseconds per phase: create, pull, deploy, converge, teardown, … .
    pub timings_ms: BTreeMap<String, u64>,
    pub deploy_count: u32,
    /// The image each service of the head ran (`service → image ref`), as the compose
    /// files interpolated with the run's `.env` say. Empty when nothing was deployed.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub images: BTreeMap<String, String>,
    /// The image each service's running task (where none runs, its latest task) actually
    /// ran, read from the engine at the end of the run (`service → image`): the digest, not only the tag. Empty when nothing
    /// ran (or in files written before it existed).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub images_ran: BTreeMap<String, ImageRan>,
    /// The keys of the app's `.env` (sorted). Never the values: they may be secrets.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub env_keys: Vec<String>,
    /// What cc-ci changed on the stack for the rig's sake (e.g. `endpoint_mode_dnsrr` on an
    /// engine without IPVS); empty when the stack was deployed exactly as the recipe says.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rig_adaptations: Vec<crate::rig::Adaptation>,
    /// How cc-ci reached the app's domain (its serving checks, markers, screenshot).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub route: Option<RouteRecord>,
    /// Which suite judged the run and what of the head's `.ccci/` was ignored.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suite: Option<SuiteRecord>,
    /// The recipe lint (L5): every rule with its level and status, and where it applies.
    /// Absent when the lint did not run (not selected, `EXPECTED_NA`, schema 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lint: Option<crate::lint::LintReport>,
    pub flags: RunFlags,
    /// RFC 3339 UTC.
    pub started_at: String,
    pub finished_at: String,
    pub duration_ms: u64,
    /// Link to the run page, when a server knows it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_url: Option<String>,
    /// `--keep`: the RED run's app was left deployed for debugging; the janitor removes it
    /// after `until`. Absent when nothing was kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kept: Option<Kept>,
    /// A quick run's end (docs/behaviour.md §6), added once the canonical is back to its known-good
    /// state and the recipe's lock released. Absent for other runs, and in the results
    /// written at the verdict (which are reported before the restore).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quick_end: Option<QuickEnd>,
}

/// The image a service's running task ran, as the engine knows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageRan {
    /// The reference the task ran (its `ContainerSpec.Image`): `name:tag`, with
    /// `@sha256:…` when swarm resolved it.
    pub image: String,
    /// The registry's manifest digest (`sha256:…`), for an image that came from a registry
    /// (the task's pinned digest, else the image's `RepoDigests` for its repository).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub digest: Option<String>,
    /// The engine's image ID (`sha256:…`): every image has one, built here or pulled.
    pub id: String,
}

impl ImageRan {
    /// The reference without its digest: `name:tag` as the compose file names it.
    pub fn tag(&self) -> &str {
        self.image.split('@').next().unwrap_or(&self.image)
    }

    /// What identifies the content: the registry's digest when known, else the image ID.
    pub fn content(&self) -> &str {
        self.digest.as_deref().unwrap_or(&self.id)
    }
}

/// How a quick run ended after its verdict: the canonical undeployed, its snapshot
/// restored and its env reset to the known-good version, then the recipe's lock released.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuickEnd {
    /// The canonical is exactly its known-good self again (snapshot restored, env reset).
    /// `false`: the restore failed — an alert is raised and the janitor puts it back.
    pub restored: bool,
    /// Milliseconds from the run's start to its verdict (judged, `results.json` written,
    /// reported).
    pub verdict_ms: u64,
    /// Milliseconds from the run's start to the recipe's warm lock released (the next
    /// quick run of the recipe may start).
    pub lock_released_ms: u64,
    /// Why the canonical is not restored, when it is not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// A RED run's app left deployed for debugging (`--keep`), and how to reach it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Kept {
    /// When the janitor may remove it: RFC 3339 UTC.
    pub until: String,
    /// The same, in Unix seconds.
    pub until_unix: i64,
    /// Where the app answers: the run's forwarder on the host's loopback
    /// (`http://127.0.0.1:<port>/`, send `Host: <domain>`) or `https://<domain>/` through
    /// the rig's ingress.
    pub url: String,
    /// A command that reaches it from the CI host (e.g. `curl -H 'Host: …' http://…`).
    pub reach: String,
    /// One `docker service logs` command per service of the stack.
    pub logs: Vec<String>,
    /// The command that removes it before its time.
    pub release: String,
}

impl RunResults {
    pub fn rung(&self, rung: Rung) -> Option<&RungResult> {
        self.rungs.iter().find(|r| r.name == rung)
    }

    pub fn outcomes(&self) -> Vec<RungOutcome> {
        self.rungs.iter().map(RungResult::outcome).collect()
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("results serialise")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `quick_end` is additive: absent in older files (and in other runs), round-trips when
    /// present.
    #[test]
    fn quick_end_is_optional_and_round_trips() {
        let check = |quick_end: Option<QuickEnd>| {
            let mut r: RunResults =
                serde_json::from_str(include_str!("../../../docs/cards/green-l5.json")).unwrap();
            assert_eq!(r.quick_end, None, "the example has none");
            r.quick_end = quick_end.clone();
            let text = r.to_json();
            assert_eq!(text.contains("quick_end"), quick_end.is_some(), "{text}");
            let back: RunResults = serde_json::from_str(&text).unwrap();
            assert_eq!(back.quick_end, quick_end);
        };
        check(None);
        check(Some(QuickEnd {
            restored: true,
            verdict_ms: 31_000,
            lock_released_ms: 36_500,
            error: None,
        }));
        check(Some(QuickEnd {
            restored: false,
            verdict_ms: 31_000,
            lock_released_ms: 160_000,
            error: Some("restoring data: disk full".into()),
        }));
    }
}
