//! backup-bot-two's labels, as recipes use them (deploy labels of a service, as
//! backup-bot-two reads them from swarm), read from a stack model: which services are
//! enrolled, which volumes and paths a backup captures, which are excluded, and every
//! malformed label (bad input, said at preflight naming the service, the label and the fix).
//! See the runner's `backup` module for the rung that acts on them.

use crate::compose::{ServiceModel, StackModel};

/// Enrols a service.
pub const LABEL_BACKUP: &str = "backupbot.backup";
/// `backupbot.backup.volumes.<vol>` (`=false`) and `backupbot.backup.volumes.<vol>.path`.
const VOLUMES_PREFIX: &str = "backupbot.backup.volumes.";
pub const BACKUP_PRE_HOOK: &str = "backupbot.backup.pre-hook";
pub const BACKUP_POST_HOOK: &str = "backupbot.backup.post-hook";
pub const RESTORE_PRE_HOOK: &str = "backupbot.restore.pre-hook";
pub const RESTORE_POST_HOOK: &str = "backupbot.restore.post-hook";
/// backup-bot-two's switch for restores; accepted, cc-ci restores every enrolled service.
const LABEL_RESTORE: &str = "backupbot.restore";
const HOOKS: [&str; 4] = [
    BACKUP_PRE_HOOK,
    BACKUP_POST_HOOK,
    RESTORE_PRE_HOOK,
    RESTORE_POST_HOOK,
];

/// One volume to capture.
#[derive(Clone, Debug)]
pub struct Target {
    pub service: String,
    pub volume: String,
    /// The engine's volume name (`<stack>_<volume>`).
    pub engine_volume: String,
    /// Paths inside the volume; empty = the whole volume.
    pub paths: Vec<String>,
}

fn is_true(value: Option<&String>) -> bool {
    value.is_some_and(|v| v.trim().eq_ignore_ascii_case("true"))
}

fn is_false(value: Option<&String>) -> bool {
    value.is_some_and(|v| v.trim().eq_ignore_ascii_case("false"))
}

/// `a, b/c` → `["a", "b/c"]` (a leading `/` is taken as the volume root).
fn label_paths(value: &str) -> Vec<String> {
    value
        .split(',')
        .map(|s| s.trim().trim_start_matches('/').to_string())
        .filter(|s| !s.is_empty())
        .collect()
}

/// Services enrolled with `backupbot.backup=true`, by name.
pub fn enrolled(model: &StackModel) -> Vec<String> {
    model
        .services
        .iter()
        .filter(|(_, svc)| is_true(svc.labels.get(LABEL_BACKUP)))
        .map(|(name, _)| name.clone())
        .collect()
}

/// Reads the backup labels of the deployed (head or base) checkout: every named volume of
/// every enrolled service, less the excluded ones, limited to the labelled paths.
pub fn targets(model: &StackModel, stack: &str) -> Vec<Target> {
    let mut out = Vec::new();
    for name in enrolled(model) {
        let svc = &model.services[&name];
        for volume in svc.volume_mounts.keys() {
            let key = format!("{VOLUMES_PREFIX}{volume}");
            if is_false(svc.labels.get(&key)) {
                continue;
            }
            let paths = svc
                .labels
                .get(&format!("{key}.path"))
                .map(|p| label_paths(p))
                .unwrap_or_default();
            out.push(Target {
                service: name.clone(),
                volume: volume.clone(),
                engine_volume: format!("{stack}_{volume}"),
                paths,
            });
        }
    }
    out
}

/// The volumes enrolled services leave out (`backupbot.backup.volumes.<vol>=false`).
pub fn excluded(model: &StackModel) -> Vec<String> {
    let mut out = Vec::new();
    for name in enrolled(model) {
        let svc = &model.services[&name];
        for volume in svc.volume_mounts.keys() {
            if is_false(svc.labels.get(&format!("{VOLUMES_PREFIX}{volume}"))) {
                out.push(volume.clone());
            }
        }
    }
    out
}

/// A malformed `backupbot.*` label: its service, the label, what is wrong and the fix.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LabelProblem {
    pub service: String,
    pub label: String,
    pub value: String,
    pub problem: String,
}

impl std::fmt::Display for LabelProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "service `{}`: label `{}={}`: {}",
            self.service, self.label, self.value, self.problem
        )
    }
}

/// Every malformed `backupbot.*` label of the stack. Empty = the labels are sound.
pub fn label_problems(model: &StackModel) -> Vec<LabelProblem> {
    let mut out = Vec::new();
    for (name, svc) in &model.services {
        for (key, value) in &svc.labels {
            if key == "backupbot" || key.starts_with("backupbot.") {
                if let Some(problem) = label_problem(svc, key, value) {
                    out.push(LabelProblem {
                        service: name.clone(),
                        label: key.clone(),
                        value: value.clone(),
                        problem,
                    });
                }
            }
        }
    }
    out
}

fn label_problem(svc: &ServiceModel, key: &str, value: &str) -> Option<String> {
    let boolean =
        |v: &str| v.trim().eq_ignore_ascii_case("true") || v.trim().eq_ignore_ascii_case("false");
    let volumes = || {
        let names: Vec<&str> = svc.volume_mounts.keys().map(String::as_str).collect();
        if names.is_empty() {
            "it mounts no named volume".to_string()
        } else {
            format!("its named volumes: {}", names.join(", "))
        }
    };
    if key == LABEL_BACKUP || key == LABEL_RESTORE {
        return (!boolean(value)).then(|| format!("write `{key}=true` (or `false`)"));
    }
    if HOOKS.contains(&key) {
        return value
            .trim()
            .is_empty()
            .then(|| "the hook is empty; give the shell command to run, or drop the label".into());
    }
    if let Some(rest) = key.strip_prefix(VOLUMES_PREFIX) {
        let (volume, is_path) = match rest.strip_suffix(".path") {
            Some(v) => (v, true),
            None => (rest, false),
        };
        if volume.is_empty() || volume.contains('.') {
            return Some(format!(
                "not a volume label; write `{VOLUMES_PREFIX}<volume>=false` or `{VOLUMES_PREFIX}<volume>.path=<paths>`"
            ));
        }
        if !svc.volume_mounts.contains_key(volume) {
            return Some(format!(
                "this service does not mount a volume `{volume}` ({}); name one of its volumes",
                volumes()
            ));
        }
        if !is_path {
            return (!boolean(value)).then(|| {
                format!("write `{key}=false` to leave the volume out (every volume is backed up unless it says false)")
            });
        }
        let paths = label_paths(value);
        if paths.is_empty() {
            return Some("no path given; write paths relative to the volume root, separated by commas (e.g. `backup.sql`)".into());
        }
        if let Some(p) = paths.iter().find(|p| p.split('/').any(|c| c == "..")) {
            return Some(format!(
                "the path `{p}` leaves the volume; paths are relative to the volume root"
            ));
        }
        return None;
    }
    if key == "backupbot.backup.path" {
        return Some(format!(
            "backup-bot-two limits what is backed up per volume: write `{VOLUMES_PREFIX}<volume>.path=<paths relative to the volume root>` ({})",
            volumes()
        ));
    }
    Some(format!(
        "not a backup-bot-two label; known: {LABEL_BACKUP}, {}, {VOLUMES_PREFIX}<volume>, {VOLUMES_PREFIX}<volume>.path, {LABEL_RESTORE}",
        HOOKS.join(", ")
    ))
}
