//! Where the recipe under test comes from: a plain directory, or a git repository (a path
//! or a URL) cloned into the run's own working directory, so runs of the same recipe never
//! share a working tree. Git is driven through the `git` CLI.

use crate::recipe::{InputError, Recipe};
use ccci_adapters::git::git;
use ccci_core::version::{self, Release};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// One checkout of the recipe at one version.
#[derive(Clone, Debug)]
pub struct Checkout {
    pub recipe: Recipe,
    /// The version label deployed: a release tag, a short commit, or `dev` for a directory.
    pub version: String,
    /// The full commit, for git recipes.
    pub commit: Option<String>,
    /// Set for chaos deploys of a commit (the head): abra's `chaos-version` label.
    pub chaos_commit: Option<String>,
}

#[derive(Clone, Debug)]
pub struct Checkouts {
    pub head: Checkout,
    /// The release the upgrade starts from, if there is one.
    pub base: Option<Checkout>,
    /// Lightweight tags named like versions: ignored, reported.
    pub stray_tags: Vec<String>,
    /// The head's git clone, if the recipe is a git repository.
    pub repo: Option<PathBuf>,
    pub releases: Vec<Release>,
    /// The release commits that are ancestors of the head: the upgrade base is the newest
    /// older one ([`version::upgrade_base`]).
    pub ancestors: BTreeSet<String>,
}

impl Checkouts {
    /// The release the head came from ([`version::upgrade_base`]).
    pub fn upgrade_base(&self) -> Option<&Release> {
        let head = self.head.commit.as_deref()?;
        version::upgrade_base(&self.releases, head, &self.ancestors)
    }
}

pub(crate) fn is_git_source(src: &str) -> bool {
    let p = Path::new(src);
    if p.is_dir() {
        return p.join(".git").exists()
            || git(Some(p), &["rev-parse", "--is-bare-repository"]).is_ok_and(|o| o == "true");
    }
    src.contains("://") || src.starts_with("git@") || src.ends_with(".git")
}

/// The recipe's name: the repository or directory name without `.git`.
pub(crate) fn recipe_name(src: &str) -> String {
    let trimmed = src.trim_end_matches('/');
    let last = if Path::new(trimmed).is_dir() {
        Path::new(trimmed)
            .canonicalize()
            .ok()
            .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
            .unwrap_or_default()
    } else {
        trimmed.rsplit(['/', ':']).next().unwrap_or("").to_string()
    };
    last.trim_end_matches(".git").to_string()
}

/// Version of a plain directory recipe: the `coop-cloud.${STACK_NAME}.version` label's
/// value in its compose file, if it has one, else `dev`.
fn directory_version(recipe: &Recipe) -> String {
    let text = recipe
        .read_text(Path::new("compose.yml"))
        .ok()
        .flatten()
        .unwrap_or_default();
    text.lines()
        .filter_map(|l| l.split_once(".version="))
        .map(|(_, v)| v.trim().trim_matches(['"', '\'']).to_string())
        .find(|v| !v.is_empty() && !v.contains('$'))
        .unwrap_or_else(|| "dev".to_string())
}

/// Prepares the head of `src` at `git_ref` (`None`: the working tree, or the default
/// branch) and, for git recipes, the release list, in `work_dir`.
pub fn prepare_head(
    src: &str,
    git_ref: Option<&str>,
    work_dir: &Path,
) -> Result<Checkouts, InputError> {
    let name = recipe_name(src);
    if !is_git_source(src) {
        if git_ref.is_some() {
            return Err(InputError::RefNeedsGit {
                src: src.to_string(),
            });
        }
        return directory_head(src, &name);
    }
    let (clone, commit) = clone_at(src, git_ref.unwrap_or("HEAD"), work_dir)?;
    let (releases, stray_tags) = version::releases(&tags_of(&clone)?);
    let ancestors = ancestor_releases(&clone, &releases, &commit);
    let recipe = Recipe::load(&clone, Some(&name))?;
    let head_version = version::head_version(&releases, &commit);
    Ok(Checkouts {
        head: Checkout {
            recipe,
            version: head_version,
            chaos_commit: Some(version::short_commit(&commit)),
            commit: Some(commit),
        },
        base: None,
        stray_tags,
        repo: Some(clone),
        releases,
        ancestors,
    })
}

/// Clones the git recipe `src` into `work_dir/head` (anew) with `target` checked out,
/// detached: the clone and the commit checked out.
pub(crate) fn clone_at(
    src: &str,
    target: &str,
    work_dir: &Path,
) -> Result<(PathBuf, String), InputError> {
    let clone = work_dir.join("head");
    let _ = std::fs::remove_dir_all(&clone);
    std::fs::create_dir_all(work_dir).map_err(|e| InputError::WorkDir {
        dir: work_dir.display().to_string(),
        reason: e.to_string(),
    })?;
    let clone_str = clone.display().to_string();
    git(
        None,
        &["clone", "--quiet", "--no-checkout", src, &clone_str],
    )
    .map_err(|reason| InputError::CloneFailed {
        src: src.to_string(),
        reason,
    })?;
    let checkout = resolve_target(&clone, src, target)?;
    let checkout_failed = |reason| InputError::CheckoutFailed {
        src: src.to_string(),
        git_ref: target.to_string(),
        reason,
    };
    git(
        Some(&clone),
        &["checkout", "--quiet", "--detach", &checkout],
    )
    .map_err(checkout_failed)?;
    let commit = git(Some(&clone), &["rev-parse", "HEAD"]).map_err(checkout_failed)?;
    Ok((clone, commit))
}

/// A plain directory, run as it is: no releases, no base.
fn directory_head(src: &str, name: &str) -> Result<Checkouts, InputError> {
    let recipe = Recipe::load(Path::new(src), Some(name))?;
    let version = directory_version(&recipe);
    Ok(Checkouts {
        head: Checkout {
            recipe,
            version,
            commit: None,
            chaos_commit: None,
        },
        base: None,
        stray_tags: Vec::new(),
        repo: None,
        releases: Vec::new(),
        ancestors: BTreeSet::new(),
    })
}

/// What to check out for `target` in the fresh clone. A PR head may live on a ref a plain
/// clone does not fetch (refs/pull/N/head): fetch it by name; a PR's commit SHA may only be
/// reachable from the forge's pull refs (not every forge serves an arbitrary SHA), so those
/// are fetched when the SHA itself is not.
pub(crate) fn resolve_target(clone: &Path, src: &str, target: &str) -> Result<String, InputError> {
    let resolves = |r: &str| {
        git(
            Some(clone),
            &["rev-parse", "--verify", &format!("{r}^{{commit}}")],
        )
        .is_ok()
    };
    if resolves(target) {
        return Ok(target.to_string());
    }
    let fetched = git(Some(clone), &["fetch", "--quiet", "origin", target]).is_ok();
    if fetched && resolves("FETCH_HEAD") {
        return git(Some(clone), &["rev-parse", "FETCH_HEAD"]).map_err(InputError::from);
    }
    let _ = git(
        Some(clone),
        &[
            "fetch",
            "--quiet",
            "origin",
            "+refs/pull/*/head:refs/ccci/pull/*",
        ],
    );
    if resolves(target) {
        Ok(target.to_string())
    } else {
        Err(InputError::RefNotFound {
            src: src.to_string(),
            git_ref: target.to_string(),
        })
    }
}

/// The commits of `releases` that are ancestors of `head` in `clone` (git's own answer:
/// `merge-base --is-ancestor` exits 0 for an ancestor, 1 for not).
pub(crate) fn ancestor_releases(
    clone: &Path,
    releases: &[Release],
    head: &str,
) -> BTreeSet<String> {
    releases
        .iter()
        .filter(|r| {
            git(
                Some(clone),
                &["merge-base", "--is-ancestor", &r.commit, head],
            )
            .is_ok()
        })
        .map(|r| r.commit.clone())
        .collect()
}

/// Every tag of the clone: (name, object type, commit id).
pub(crate) fn tags_of(clone: &Path) -> Result<Vec<(String, String, String)>, InputError> {
    let tag_lines = git(
        Some(clone),
        &[
            "for-each-ref",
            "refs/tags",
            "--format=%(refname:short) %(objecttype) %(*objectname)%(objectname)",
        ],
    )
    .map_err(InputError::from)?;
    Ok(tag_lines
        .lines()
        .filter_map(|l| {
            let mut parts = l.split_whitespace();
            let name = parts.next()?.to_string();
            let kind = parts.next()?.to_string();
            // For annotated tags %(*objectname) (the commit) comes first, then the tag
            // object's own id; for lightweight tags only the commit.
            let ids = parts.next()?;
            Some((name, kind, ids.chars().take(40).collect()))
        })
        .collect())
}

/// Checks out the upgrade base the plan chose ([`ccci_core::plan::RunPlan::base`]) beside
/// the head.
pub fn prepare_base(
    checkouts: &mut Checkouts,
    base: Option<&Release>,
    work_dir: &Path,
) -> Result<(), InputError> {
    let (Some(repo), Some(base)) = (checkouts.repo.clone(), base) else {
        return Ok(());
    };
    let dir = work_dir.join("base");
    let dir_str = dir.display().to_string();
    git(
        Some(&repo),
        &[
            "worktree",
            "add",
            "--quiet",
            "--detach",
            &dir_str,
            &base.commit,
        ],
    )
    .map_err(|reason| InputError::BaseCheckout {
        tag: base.tag.clone(),
        reason,
    })?;
    let recipe = Recipe::load(&dir, Some(&checkouts.head.recipe.name))?;
    checkouts.base = Some(Checkout {
        recipe,
        version: base.tag.clone(),
        commit: Some(base.commit.clone()),
        chaos_commit: None,
    });
    Ok(())
}

/// Checks out `commit` of the head's clone as a worktree at `dir` (a release whose own
/// `.ccci/` suite judges the run).
pub fn release_tree(repo: &Path, commit: &str, dir: &Path) -> Result<(), InputError> {
    let dir_str = dir.display().to_string();
    git(
        Some(repo),
        &["worktree", "add", "--quiet", "--detach", &dir_str, commit],
    )
    .map(|_| ())
    .map_err(|reason| InputError::SuiteCheckout {
        commit: commit.to_string(),
        reason,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use ccci_adapters::git::GitError;

    #[test]
    fn a_failing_git_gives_its_own_words() {
        let dir = std::env::temp_dir().join(format!("ccci-not-a-repo-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let err = git(Some(&dir), &["rev-parse", "HEAD"]).unwrap_err();
        let _ = std::fs::remove_dir_all(&dir);
        let GitError::Failed { stderr } = &err else {
            panic!("expected git to fail: {err:?}");
        };
        assert!(stderr.contains("not a git repository"), "{stderr}");
        assert_eq!(err.to_string(), *stderr);
    }
}
