//! Integrity (docs/behaviour.md §7): a change never relaxes what judges it.
//!
//! The suite that judges a run — every expectation in `suite.toml` (`expected_na`,
//! timeouts, `min_uptime`, `start_grace`, health path, probes, dependencies,
//! `[upgrade] dropped_volumes`, `[host_access]`, …), its hooks and overlays — comes from, in
//! order:
//! 1. the CI's suite tree, `<suites>/<recipe>/`, when it has a directory for the recipe;
//! 2. else a release's own `.ccci/suite.toml`: the head itself when the head is a release,
//!    else the newest release before it (the default upgrade base);
//! 3. else, only when the recipe has no release at all, the head's own `.ccci/` (nothing
//!    reviewed exists to judge it by; the run says so);
//! 4. else the defaults.
//!
//! What the head adds or changes in its own `.ccci/` can only add checks: its new or changed
//! test files (`tests/`, `tests/extra/`, `tests/integration/`) run after the judging suite's
//! and their failures count; everything else it changes (suite keys, hooks, overlays) is not
//! obeyed, and the run records it (`results.json` `suite.ignored`). `[host_access] allow` is
//! obeyed only from the CI's tree.

use crate::progress::Progress;
use crate::recipe::{InputError, Recipe};
use crate::source::{self, Checkouts};
use ccci_adapters::beneath::{Kind, Links, Root, CHECKOUT};
use ccci_core::results::{SuiteRecord, SuiteSource};
use ccci_core::suite::Suite;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Which suite judges the run, and what of the head's own `.ccci/` was ignored or added.
#[derive(Clone, Debug)]
pub struct JudgedBy {
    pub record: SuiteRecord,
    /// The recipe's name (for the announcement).
    pub recipe: String,
    /// The judging suite's directory, if any.
    pub dir: Option<PathBuf>,
    /// The head's own test files that run as extra checks (absolute paths in the head).
    pub added: Vec<PathBuf>,
    /// The head's `.ccci/` (when it is not the judging suite).
    pub head_dir: Option<PathBuf>,
    /// The recipe's suite file in the CI's tree: where an operator allows host access.
    pub ci_suite_file: String,
}

/// Sub-directories of a suite whose executables are tests.
const TEST_DIRS: &[&str] = &["tests", "tests/extra", "tests/integration"];

/// Reads and parses a `suite.toml`; a malformed one is bad input (exit 2). It is read
/// inside the tree holding its suite directory (a checkout holding `.ccci/`, or the CI's
/// suites dir): a `suite.toml` or `.ccci` that links out of it is refused by name.
pub fn read_suite(file: &Path) -> Result<Suite, InputError> {
    let suite_dir = file.parent().unwrap_or(Path::new("."));
    let tree = suite_dir.parent().unwrap_or(Path::new("/"));
    let rel = file.strip_prefix(tree).unwrap_or(file);
    let text = Root::open(tree, Links::Inside, CHECKOUT)
        .and_then(|root| root.read_to_string(rel))
        .map_err(|e| crate::recipe::refused(&file.display().to_string(), e))?;
    Suite::parse(&file.display().to_string(), &text).map_err(|e| InputError::File {
        file: e.file.clone(),
        message: e
            .line
            .map(|l| format!("line {l}: {}", e.message))
            .unwrap_or(e.message),
    })
}

/// Chooses the judging suite (see the module docs). May check out the judging release as a
/// worktree under `work_dir/judge`.
pub fn resolve(
    checkouts: &Checkouts,
    suites_dir: Option<&Path>,
    work_dir: &Path,
) -> Result<(Suite, Option<PathBuf>, JudgedBy), InputError> {
    let head = &checkouts.head.recipe;
    let head_local = head.dir.join(".ccci");
    let ci_suite_file = match suites_dir {
        Some(d) => d.join(&head.name).join("suite.toml").display().to_string(),
        None => format!("<the CI's suites dir, --suites>/{}/suite.toml", head.name),
    };
    let Judging {
        source,
        release,
        dir,
        mut suite,
    } = judging_suite(checkouts, suites_dir, work_dir, &head_local)?;
    let head_dir = (dir.as_deref() != Some(head_local.as_path()) && head_local.is_dir())
        .then(|| head_local.clone());
    let (mut ignored, added) = match &head_dir {
        Some(hd) => head_changes(hd, dir.as_deref(), &suite),
        None => Default::default(),
    };
    if source != SuiteSource::Ci && !suite.host_access_allow.is_empty() {
        let note = ".ccci/suite.toml: host_access.allow";
        if !ignored.iter().any(|i| i.starts_with(note)) {
            ignored.push(format!(
                "{note} (only the CI's suite tree can allow host access)"
            ));
        }
        suite.host_access_allow.clear();
    }
    let record = SuiteRecord {
        source,
        release,
        ignored,
        added_tests: added
            .iter()
            .filter_map(|p| p.strip_prefix(&head.dir).ok())
            .map(|p| p.display().to_string())
            .collect(),
    };
    let judged_by = JudgedBy {
        record,
        recipe: head.name.clone(),
        dir: dir.clone(),
        added,
        head_dir,
        ci_suite_file,
    };
    Ok((suite, dir, judged_by))
}

/// The suite that judges, where it came from, and the release it belongs to.
struct Judging {
    source: SuiteSource,
    release: Option<String>,
    dir: Option<PathBuf>,
    suite: Suite,
}

/// The CI's tree first; else the release the head is (or upgrades from), with its own
/// `.ccci/`; the head's own suite only for a recipe without releases; else defaults.
fn judging_suite(
    checkouts: &Checkouts,
    suites_dir: Option<&Path>,
    work_dir: &Path,
    head_local: &Path,
) -> Result<Judging, InputError> {
    let head = &checkouts.head.recipe;
    if let Some(ci) = suites_dir
        .map(|d| d.join(&head.name))
        .filter(|d| d.is_dir())
    {
        let file = ci.join("suite.toml");
        let suite = if file.is_file() {
            read_suite(&file)?
        } else {
            Suite::default()
        };
        return Ok(Judging {
            source: SuiteSource::Ci,
            release: None,
            dir: Some(ci),
            suite,
        });
    }
    let head_commit = checkouts.head.commit.as_deref().unwrap_or_default();
    let judge = checkouts
        .releases
        .iter()
        .rev()
        .find(|r| r.commit == head_commit)
        .or_else(|| checkouts.upgrade_base());
    Ok(match (judge, &checkouts.repo) {
        (Some(release), Some(repo)) => {
            let local = if release.commit == head_commit {
                head_local.to_path_buf()
            } else {
                let tree = work_dir.join("judge");
                source::release_tree(repo, &release.commit, &tree)?;
                tree.join(".ccci")
            };
            let file = local.join("suite.toml");
            let found = file.is_file();
            Judging {
                source: if found {
                    SuiteSource::BaseRelease
                } else {
                    SuiteSource::None
                },
                release: Some(release.tag.clone()),
                suite: if found {
                    read_suite(&file)?
                } else {
                    Suite::default()
                },
                dir: found.then_some(local),
            }
        }
        _ if head_local.join("suite.toml").is_file() => Judging {
            source: SuiteSource::Head,
            release: None,
            dir: Some(head_local.to_path_buf()),
            suite: read_suite(&head_local.join("suite.toml"))?,
        },
        _ => Judging {
            source: SuiteSource::None,
            release: None,
            dir: None,
            suite: Suite::default(),
        },
    })
}

/// What the head's own `.ccci/` (`hd`) changes against the judging suite (`dir`): settings
/// and hooks it cannot use (ignored, said), and the tests it adds (they run, sandboxed).
fn head_changes(hd: &Path, dir: Option<&Path>, suite: &Suite) -> (Vec<String>, Vec<PathBuf>) {
    let judging = dir.map(files).unwrap_or_default();
    let tests: Vec<PathBuf> = TEST_DIRS
        .iter()
        .flat_map(|sub| test_files(&hd.join(sub)))
        .filter_map(|t| t.strip_prefix(hd).ok().map(Path::to_path_buf))
        .collect();
    let (mut ignored, mut added) = (Vec::new(), Vec::new());
    for (rel, bytes) in files(hd) {
        if judging.get(&rel) == Some(&bytes) {
            continue;
        }
        let shown = format!(".ccci/{}", rel.display());
        if rel == Path::new("suite.toml") {
            let text = String::from_utf8_lossy(&bytes);
            match Suite::parse(&shown, &text) {
                Ok(head_suite) => ignored.extend(
                    suite
                        .differences(&head_suite)
                        .into_iter()
                        .map(|k| format!("{shown}: {k}")),
                ),
                Err(e) => ignored.push(format!("{shown} (does not parse: {e})")),
            }
        } else if tests.contains(&rel) {
            added.push(hd.join(&rel));
        } else if !rel.starts_with("tests") {
            // Hooks, overlays, verify probes: the judging suite's are used.
            ignored.push(shown);
        }
    }
    (ignored, added)
}

impl JudgedBy {
    /// The head's extra test files in `sub` (`tests`, `tests/extra`, `tests/integration`)
    /// of its `.ccci/`, with the directory they run in.
    pub fn added_in(&self, sub: &str) -> Vec<(PathBuf, PathBuf)> {
        let Some(hd) = &self.head_dir else {
            return Vec::new();
        };
        let in_sub = hd.join(sub);
        self.added
            .iter()
            .filter(|p| p.parent() == Some(in_sub.as_path()))
            .map(|p| (hd.clone(), p.clone()))
            .collect()
    }

    /// Says which suite judges the run and what of the head's was ignored or added.
    pub fn announce(&self, progress: &Progress) {
        let r = &self.record;
        let dir = self
            .dir
            .as_deref()
            .map(|d| d.display().to_string())
            .unwrap_or_default();
        progress.line(&match (r.source, &r.release) {
            (SuiteSource::Ci, _) => format!("suite: the CI's suite {dir} judges this run"),
            (SuiteSource::BaseRelease, Some(v)) => {
                format!("suite: release {v}'s own .ccci/suite.toml judges this run")
            }
            (SuiteSource::Head, _) => format!(
                "suite: {} has no release yet, so the head's own .ccci/suite.toml judges this run \
                 (nothing reviewed exists to judge it by)",
                self.recipe
            ),
            (_, Some(v)) => format!(
                "suite: no suite for {} in the CI's tree or in release {v}: the defaults judge this run",
                self.recipe
            ),
            (_, None) => format!(
                "suite: no suite for {}: the defaults judge this run",
                self.recipe
            ),
        });
        if !r.ignored.is_empty() {
            progress.line(&format!(
                "note: the change edits the recipe's own tests (.ccci/), which cannot relax what \
                 judges it; not obeyed: {}",
                r.ignored.join(", ")
            ));
        }
        if !r.added_tests.is_empty() {
            progress.line(&format!(
                "note: the head's own tests run as extra checks: {}",
                r.added_tests.join(", ")
            ));
        }
    }
}

/// Every file under `root` (a checkout's `.ccci/`), relative path → bytes, read inside the
/// checkout: a link to a file inside it is read, one leaving it (or to a directory) is not.
fn files(root: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut out = BTreeMap::new();
    let checkout = root.parent().unwrap_or(Path::new("/"));
    let Ok(checkout) = Root::open(checkout, Links::Inside, CHECKOUT) else {
        return out;
    };
    let top = root.file_name().map(PathBuf::from).unwrap_or_default();
    let mut dirs = vec![PathBuf::new()];
    while let Some(d) = dirs.pop() {
        let Ok(listing) = checkout.dir(&top.join(&d)).and_then(|dir| dir.entries()) else {
            continue;
        };
        for (name, kind) in listing {
            let rel = d.join(&name);
            match kind {
                Kind::Dir => dirs.push(rel),
                Kind::File | Kind::Link => {
                    if let Ok(bytes) = checkout.read(&top.join(&rel)) {
                        out.insert(rel, bytes);
                    }
                }
                Kind::Other => {}
            }
        }
    }
    out
}

/// Loads the suite of a recipe deployed as it is (a live-warm app's release): its own
/// `.ccci/suite.toml` first, then the CI's suite tree, else defaults. A run under test
/// chooses its judging suite with [`resolve`] instead.
pub fn load_suite(
    recipe: &Recipe,
    suites_dir: Option<&Path>,
) -> Result<(Suite, Option<PathBuf>), InputError> {
    let candidates = [
        Some(recipe.dir.join(".ccci")),
        suites_dir.map(|d| d.join(&recipe.name)),
    ];
    for dir in candidates.into_iter().flatten() {
        let file = dir.join("suite.toml");
        if file.is_file() {
            return Ok((read_suite(&file)?, Some(dir)));
        }
        if dir.is_dir() && !dir.ends_with(".ccci") {
            return Ok((Suite::default(), Some(dir)));
        }
    }
    Ok((Suite::default(), None))
}

/// Test executables of a suite: executable files, and `test_*.py` / `*_test.py` files.
pub(crate) fn test_files(dir: &Path) -> Vec<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_file())
        .filter(|p| {
            let name = p
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let py =
                name.ends_with(".py") && (name.starts_with("test_") || name.ends_with("_test.py"));
            let exec = std::fs::metadata(p).is_ok_and(|m| m.permissions().mode() & 0o111 != 0);
            py || (exec && !name.ends_with(".py"))
        })
        .collect();
    files.sort();
    files
}
