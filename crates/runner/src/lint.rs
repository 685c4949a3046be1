//! The recipe lint (L5) as the runner does it: read a checkout (and its base release, and
//! the repository's tags) into [`ccci_core::lint::LintInput`], lint it (pure, in the core),
//! and record the outcome. A run lints first, before anything is deployed; `--stages lint`
//! lints alone; `ccci lint` lints without a run.

use crate::integrity::JudgedBy;
use crate::progress::Progress;
use crate::recipe::InputError;
use crate::request::RunRequest;
use crate::source::{self, Checkouts};
use ccci_adapters::beneath::{Links, Root, CHECKOUT};
use ccci_core::ladder::{self, Rung, RungStatus, SkipKind};
use ccci_core::lint::{self, BaseRelease, LintInput, LintReport, RecipeTree, Tag};
use ccci_core::plan::{Role, Selected};
use ccci_core::results::{RunFlags, RunMode, RunResults, RungResult, SCHEMA_VERSION};
use ccci_core::suite::Suite;
use ccci_core::version::{self, Release};
use std::path::{Component, Path, PathBuf};
use std::time::Instant;

/// Reads a recipe checkout into data: its compose files (`compose.yml` first, then the
/// other `compose*.yml` / `compose*.yaml`), `.env.sample`, `abra.sh`, `README.md`, the files
/// its configs and secrets are made from, and `release/*` notes. What is absent is `None`,
/// and so is a file cc-ci does not read ([`ccci_adapters::beneath`]: a link leaving the checkout,
/// not a regular file): the lint never sees a byte from outside the checkout.
pub fn read_tree(dir: &Path) -> RecipeTree {
    let root = Root::open(dir, Links::Inside, CHECKOUT).ok();
    let read = |name: &str| {
        root.as_ref()?
            .read(Path::new(name))
            .ok()
            .map(|b| String::from_utf8_lossy(&b).into_owned())
    };
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("compose") && (n.ends_with(".yml") || n.ends_with(".yaml")))
        .collect();
    names.sort_by_key(|n| (n != "compose.yml", n.clone()));
    let compose: Vec<(String, String)> = names
        .into_iter()
        .filter_map(|n| read(&n).map(|t| (n, t)))
        .collect();
    let files = lint::wanted_files(&compose)
        .into_iter()
        // Only files inside the recipe.
        .filter(|f| {
            Path::new(f)
                .components()
                .all(|c| matches!(c, Component::Normal(_)))
        })
        .filter_map(|f| read(&f).map(|t| (f, t)))
        .collect();
    let release_notes = std::fs::read_dir(dir.join("release"))
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            Some((name.clone(), read(&format!("release/{name}"))?))
        })
        .collect();
    RecipeTree {
        compose,
        env_sample: read(".env.sample"),
        abra_sh: read("abra.sh"),
        readme: read("README.md"),
        files,
        release_notes,
    }
}

/// Every tag of a repository and whether it is annotated.
pub fn read_tags(repo: &Path) -> Result<Vec<Tag>, ccci_adapters::git::GitError> {
    tags_where(repo, &[])
}

/// The tags a release's history carried: those on `commit` or an ancestor of it. What the
/// base release's lint sees (a stray tag from years ago is there; one on the head's new
/// commits is not).
pub fn read_tags_at(repo: &Path, commit: &str) -> Result<Vec<Tag>, ccci_adapters::git::GitError> {
    tags_where(repo, &["--merged", commit])
}

fn tags_where(repo: &Path, filter: &[&str]) -> Result<Vec<Tag>, ccci_adapters::git::GitError> {
    let mut args = vec!["for-each-ref", "--format=%(refname:short) %(objecttype)"];
    args.extend_from_slice(filter);
    args.push("refs/tags");
    let out = ccci_adapters::git::git(Some(repo), &args)?;
    Ok(out
        .lines()
        .filter_map(|l| {
            let (name, kind) = l.rsplit_once(' ')?;
            Some(Tag {
                name: name.to_string(),
                annotated: kind == "tag",
            })
        })
        .collect())
}

/// The lint's input from a run's checkouts: the head, the base release it upgrades from,
/// the repository's tags.
pub fn input_of(checkouts: &Checkouts) -> LintInput {
    let head = &checkouts.head;
    let base = checkouts
        .base
        .as_ref()
        .map(|b| (b.version.clone(), b.recipe.dir.clone(), b.commit.clone()));
    input_from(
        &head.recipe.dir,
        head.commit.as_deref(),
        &checkouts.releases,
        base,
        checkouts.repo.as_deref(),
    )
}

/// The lint's input: the head's checkout (`head_dir`, at `head_commit`), the base release
/// (tag, checkout, commit) and the repository the tags are read from.
fn input_from(
    head_dir: &Path,
    head_commit: Option<&str>,
    releases: &[Release],
    base: Option<(String, PathBuf, Option<String>)>,
    repo: Option<&Path>,
) -> LintInput {
    let head_release = releases
        .iter()
        .rev()
        .find(|r| Some(r.commit.as_str()) == head_commit)
        .map(|r| r.tag.clone());
    LintInput {
        head: read_tree(head_dir),
        head_release,
        base: base.map(|(tag, dir, commit)| BaseRelease {
            tag,
            tree: read_tree(&dir),
            tags: repo
                .zip(commit)
                .map(|(r, c)| read_tags_at(r, &c).unwrap_or_default()),
        }),
        tags: repo.map(|r| read_tags(r).unwrap_or_default()),
    }
}

/// The lint of a run: run it when selected (before anything is deployed), else the skip
/// `select` chose (`EXPECTED_NA`, `--stages`). Returns the rung and, when it ran, the report.
pub fn run_rung(
    checkouts: &Checkouts,
    selected: &Selected,
    progress: &Progress,
) -> (RungResult, Option<LintReport>) {
    if !selected.runs(Rung::Lint) {
        let (kind, reason) = selected
            .skipped
            .get(&Rung::Lint)
            .cloned()
            .unwrap_or((SkipKind::Unintentional, "not run".into()));
        return (crate::rungs::skip(Rung::Lint, kind, reason), None);
    }
    let t = Instant::now();
    let report = lint::lint(&input_of(checkouts));
    let rung = ccci_core::lint_rung::rung_result(&report, t.elapsed().as_millis() as u64);
    progress.line(&format!("── lint: {}", report.summary()));
    for r in report.errors().iter().chain(report.warnings().iter()) {
        for f in &r.findings {
            let at = f.location();
            progress.line(&format!(
                "   {} {}{} {}{}{}",
                r.id,
                r.level.word(),
                if f.is_inherited() {
                    " (inherited from the base)"
                } else {
                    ""
                },
                at,
                if at.is_empty() { "" } else { ": " },
                f.message
            ));
        }
    }
    (rung, Some(report))
}

/// Puts the lint rung where the results list it: at the top of the ladder, before the
/// rungs beside it.
pub fn place(results: &mut Vec<RungResult>, lint: RungResult) {
    let at = results
        .iter()
        .position(|r| !r.name.on_ladder())
        .unwrap_or(results.len());
    results.insert(at, lint);
}

/// `--stages lint` (and nothing else): the lint alone, nothing deployed, no engine.
pub fn alone(stages: Option<&[Rung]>) -> bool {
    stages.is_some_and(|s| !s.is_empty() && s.iter().all(|r| *r == Rung::Lint))
}

/// A run of the lint alone: checkouts, the judging suite (for `EXPECTED_NA`), the base
/// release, the lint; every deploy rung is reported as not selected. Writes the artefacts.
pub fn run_alone(request: RunRequest, progress: Progress) -> anyhow::Result<RunResults> {
    let started = time::OffsetDateTime::now_utc();
    let t0 = Instant::now();
    let run_id = request.run_id.clone().unwrap_or_else(|| {
        format!(
            "{}-{}",
            started.unix_timestamp(),
            ccci_adapters::clock::new_hex6()
        )
    });
    std::fs::create_dir_all(&request.out_dir)
        .map_err(|e| anyhow::anyhow!("creating {}: {e}", request.out_dir.display()))?;
    let work_dir = request.rig.state_dir.join("runs").join(&run_id);
    let linted = lint_checkouts(&request, &work_dir, &progress);
    let _ = std::fs::remove_dir_all(&work_dir);
    let mut run = results_alone(&request, run_id, linted?, started, t0);
    crate::artefacts::write(
        &request.out_dir,
        &mut run,
        &ccci_core::secret::Redactor::new(Vec::new()),
    )?;
    Ok(run)
}

/// What the lint alone found: the checkouts, the judging suite, the rungs selected, and
/// the lint's rung and report.
struct LintedAlone {
    checkouts: Checkouts,
    suite: Suite,
    judged_by: JudgedBy,
    selected: Selected,
    lint_rung: RungResult,
    report: Option<LintReport>,
}

/// The head (and base release) checked out into `work_dir`, the judging suite resolved,
/// the run planned and the lint run.
fn lint_checkouts(
    request: &RunRequest,
    work_dir: &Path,
    progress: &Progress,
) -> Result<LintedAlone, InputError> {
    let mut checkouts =
        source::prepare_head(&request.recipe_source, request.git_ref.as_deref(), work_dir)?;
    let (suite, _, judged_by) =
        crate::integrity::resolve(&checkouts, request.rig.suites_dir.as_deref(), work_dir)?;
    let plan = crate::planning::plan_run(request, Role::Run, &suite, &checkouts, None)?;
    source::prepare_base(&mut checkouts, plan.base.as_ref(), work_dir)?;
    judged_by.announce(progress);
    let selected = plan.selected;
    let (lint_rung, report) = run_rung(&checkouts, &selected, progress);
    Ok(LintedAlone {
        checkouts,
        suite,
        judged_by,
        selected,
        lint_rung,
        report,
    })
}

/// The lint's rung in its place among the others, each reported as not selected (an
/// intentional skip keeps its reason).
fn rungs_alone(selected: &Selected, lint_rung: RungResult) -> Vec<RungResult> {
    let not_selected = "not selected (--stages lint: the lint alone, nothing deployed)";
    let mut rungs: Vec<RungResult> = selected
        .reported()
        .into_iter()
        .map(|rung| {
            let (kind, reason) = match selected.skipped.get(&rung) {
                Some((SkipKind::Intentional, reason)) => (SkipKind::Intentional, reason.clone()),
                _ => (SkipKind::Unintentional, not_selected.to_string()),
            };
            crate::rungs::skip(rung, kind, reason)
        })
        .collect();
    place(&mut rungs, lint_rung);
    rungs
}

/// The first failed rung as the run's failure.
fn first_failure(rungs: &[RungResult]) -> Option<ccci_core::results::Failure> {
    rungs
        .iter()
        .find(|r| r.status == RungStatus::Fail)
        .map(|r| ccci_core::results::Failure {
            rung: Some(r.name),
            message: r.reason.clone().unwrap_or_default(),
            ..Default::default()
        })
}

/// The record of the lint alone: judged on its rungs, nothing deployed, nothing left.
fn results_alone(
    request: &RunRequest,
    run_id: String,
    linted: LintedAlone,
    started: time::OffsetDateTime,
    t0: Instant,
) -> RunResults {
    let rungs = rungs_alone(&linted.selected, linted.lint_rung);
    let outcomes: Vec<_> = rungs.iter().map(RungResult::outcome).collect();
    let dependency_unverified = !linted.suite.dependencies.is_empty();
    let expected_na: Vec<Rung> = linted.suite.expected_na.keys().copied().collect();
    let failure = first_failure(&rungs);
    let finished = time::OffsetDateTime::now_utc();
    RunResults {
        schema: SCHEMA_VERSION,
        run_id,
        recipe: linted.checkouts.head.recipe.name.clone(),
        source: request.recipe_source.clone(),
        head_ref: request.git_ref.clone(),
        head_commit: linted.checkouts.head.commit.clone(),
        base_version: None,
        head_version: Some(linted.checkouts.head.version.clone()),
        mode: RunMode::Cold,
        domain: String::new(),
        stack: String::new(),
        end: ladder::verdict(&outcomes, dependency_unverified).into(),
        level: ladder::level(&outcomes),
        expected_level: ladder::expected_level(&expected_na),
        rungs,
        upgrade_paths: Vec::new(),
        failure,
        timings_ms: [("lint".to_string(), t0.elapsed().as_millis() as u64)].into(),
        deploy_count: 0,
        images: Default::default(),
        images_ran: Default::default(),
        env_keys: Vec::new(),
        rig_adaptations: Vec::new(),
        route: None,
        suite: Some(linted.judged_by.record.clone()),
        lint: linted.report,
        flags: RunFlags {
            clean_teardown: true,
            no_secret_leak: true,
            interrupted: false,
        },
        started_at: ccci_adapters::clock::rfc3339(started),
        finished_at: ccci_adapters::clock::rfc3339(finished),
        duration_ms: t0.elapsed().as_millis() as u64,
        run_url: request.run_url.clone(),
        kept: None,
        quick_end: None,
    }
}

/// What `ccci lint` lints: the recipe (a directory, a git repository path or URL) at
/// `git_ref`, against the release it upgrades from.
pub struct Linted {
    pub recipe: String,
    /// The head's commit, for a git recipe.
    pub commit: Option<String>,
    pub report: LintReport,
}

/// `ccci lint`: a plain directory is read as it is; a git repository is cloned into
/// `work_dir` (removed after) and checked out at `git_ref`, with the release it upgrades
/// from as the base. The lint reads what it finds: a recipe abra lints is linted, never
/// refused — a missing `.env.sample` is R008, a recipe without `DOMAIN` skips R010. Bad
/// input (no such directory, not a repository, unknown ref, neither a compose file nor a
/// `.env.sample`) is an [`InputError`] naming what the user gave (the repository, the ref,
/// the file), never the temporary clone.
pub fn lint_source(
    src: &str,
    git_ref: Option<&str>,
    work_dir: &Path,
) -> Result<Linted, InputError> {
    let path = Path::new(src);
    if path.is_dir() && !source::is_git_source(src) {
        if git_ref.is_some() {
            return Err(InputError::RefNeedsGit {
                src: src.to_string(),
            });
        }
        let name = path
            .canonicalize()
            .ok()
            .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
            .unwrap_or_else(|| src.to_string());
        let input = LintInput {
            head: read_tree(path),
            ..Default::default()
        };
        refuse_non_recipe(&input.head, src)?;
        return Ok(Linted {
            recipe: name,
            commit: None,
            report: lint::lint(&input),
        });
    }
    if !path.exists() && !src.contains("://") && !src.starts_with("git@") {
        return Err(InputError::NotARecipe {
            path: src.to_string(),
            reason: "no such directory".into(),
        });
    }
    let result = lint_git(src, git_ref, work_dir);
    let _ = std::fs::remove_dir_all(work_dir);
    result
}

/// Neither a compose file nor a `.env.sample`: not a recipe at all (`shown` is what the
/// user gave: the directory, or the repository at its ref).
fn refuse_non_recipe(tree: &RecipeTree, shown: &str) -> Result<(), InputError> {
    if tree.compose.is_empty() && tree.env_sample.is_none() {
        return Err(InputError::NotARecipe {
            path: shown.to_string(),
            reason: "no compose.yml and no .env.sample".into(),
        });
    }
    Ok(())
}

/// A git recipe: clone, check out `git_ref`, check out the release it upgrades from
/// beside it, lint. Nothing here loads the recipe for a deploy: the lint judges what is
/// there (a run's checkouts, by contrast, refuse a recipe they cannot deploy).
fn lint_git(src: &str, git_ref: Option<&str>, work_dir: &Path) -> Result<Linted, InputError> {
    let target = git_ref.unwrap_or("HEAD");
    let (clone, commit) = source::clone_at(src, target, work_dir)?;
    let (releases, _) = version::releases(&source::tags_of(&clone)?);
    // The lint compares the head with the release it upgrades from.
    let ancestors = source::ancestor_releases(&clone, &releases, &commit);
    let base = version::upgrade_base(&releases, &commit, &ancestors).cloned();
    let base_dir = work_dir.join("base");
    if let Some(b) = &base {
        let dir = base_dir.display().to_string();
        ccci_adapters::git::git(
            Some(&clone),
            &["worktree", "add", "--quiet", "--detach", &dir, &b.commit],
        )
        .map_err(|reason| InputError::BaseCheckout {
            tag: format!("{} of {src}", b.tag),
            reason,
        })?;
    }
    let input = input_from(
        &clone,
        Some(&commit),
        &releases,
        base.map(|b| (b.tag, base_dir, Some(b.commit))),
        Some(&clone),
    );
    refuse_non_recipe(&input.head, &format!("{src} at {target}"))?;
    Ok(Linted {
        recipe: source::recipe_name(src),
        commit: Some(commit),
        report: lint::lint(&input),
    })
}
