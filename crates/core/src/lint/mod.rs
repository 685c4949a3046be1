//! The recipe lint (L5): abra's published lint rules, natively, plus cc-ci's own rules that
//! compare the head with its base release — what abra cannot see because it looks at one
//! checkout at a time.
//!
//! Pure: the caller reads the recipe (compose files, `.env.sample`, `abra.sh`, README, the
//! files configs and secrets are made from, release notes, tags and whether each is
//! annotated) into a [`LintInput`]; [`lint`] returns a [`LintReport`] with every rule, its
//! level, whether it was satisfied, failed or skipped, what to fix and where.
//!
//! # abra's rules (`R0xx`)
//! abra's Go package `coopcloud.tech/abra/pkg/lint` (`recipe.go`) publishes them as
//! `LintRules`, keyed by level. What was confirmed for this implementation (from the
//! package's published documentation): the rule functions `LintComposeVersion`,
//! `LintHealthchecks`, `LintAllImagesTagged`, `LintNoUnstableTags`, `LintSemverLikeTags`,
//! `LintHasPublishedVersion`, `LintMetadataFilledIn`, `LintEnvConfigPresent`,
//! `LintAppService`, `LintTraefikEnabled` (with `LintTraefikEnabledSkipCondition`),
//! `LintImagePresent`, `LintAbraShVendors`, `LintHasRecipeRepo`, `LintValidTags` and
//! `LintSecretLengths`; R001 "compose config has expected version" (warn, "ensure 'version:
//! "3.8"' in compose configs") and R002 "healthcheck enabled for all services" (warn). The
//! ids R003–R015, their levels and texts follow abra's source as recalled and are marked
//! `unconfirmed` in [`RULES`]; newer abra releases also list an R016 whose text could not
//! be confirmed, so it is not implemented. Where cc-ci cannot check what abra checks (R006
//! looks at abra's recipe catalogue, R013 at git.coopcloud.tech) the rule says what it
//! checks instead, or is skipped with the reason.
//!
//! R015 is a warning in abra's `LintRules` (its `warn` list), as is R013; a long secret name
//! never fails abra's lint, so it never fails cc-ci's.
//!
//! # cc-ci's rules (`C0xx`)
//! C000 compose files parse; C001 a config or secret changed its content but not its name;
//! C002 a variable the head newly requires that installed apps' `.env` lack; C003 the
//! version label disagrees with the head's release tag; C004 an image tag moved backwards;
//! C005–C007 secrets and their `SECRET_<NAME>_VERSION` lines; C008 backupbot volume labels
//! naming no volume.
//!
//! # What a change introduced, and what it inherited
//! A pull request is judged on what it changes (docs/behaviour.md §5). [`lint`] lints the base
//! release too, as it stood (its own tree, its own release tag, the tags its history carried), and
//! marks each finding of a failed error-level rule [`Provenance::Introduced`] or
//! [`Provenance::Inherited`]: inherited when the base's lint failed the same rule on the same
//! [`Finding::subject`] — what the finding is about (a service's image, a secret, a tag, a
//! file), never where it is written, so a moved line or a reworded message is the same
//! finding. Without a base release every finding is introduced. An error the head introduces
//! fails the lint rung (the verdict is RED); one only inherited leaves the rung
//! [`SkipKind::Inherited`](crate::ladder::SkipKind::Inherited): shown with its fix, the level
//! stops at L4, the verdict stays what the deploy rungs make it.

mod abra;
mod own;
mod tree;

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

pub use tree::wanted_files;

/// One checkout of a recipe, read into data by the caller.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RecipeTree {
    /// The recipe's compose files (`compose.yml` first, then the other `compose*.yml` /
    /// `compose*.yaml` of the recipe's top directory, by name): (file name, text).
    pub compose: Vec<(String, String)>,
    pub env_sample: Option<String>,
    pub abra_sh: Option<String>,
    /// `README.md`.
    pub readme: Option<String>,
    /// The files configs and secrets are made from (`file:`), keyed by the path written
    /// there; [`wanted_files`] says which to read.
    pub files: BTreeMap<String, String>,
    /// Release notes: the files under `release/`, by name (`1.2.0+1.27.2`, `next`, …).
    pub release_notes: BTreeMap<String, String>,
}

/// A git tag of the recipe's repository.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tag {
    pub name: String,
    /// An annotated tag (a tag object); `false` for a lightweight tag.
    pub annotated: bool,
}

/// What the lint looks at.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LintInput {
    /// The head under test.
    pub head: RecipeTree,
    /// The head's release tag, when the head is a release.
    pub head_release: Option<String>,
    /// The release the head upgrades from: the base of the diff-aware rules, and what
    /// tells an error the head introduced from one it inherited. `None` without an earlier
    /// release.
    pub base: Option<BaseRelease>,
    /// Every tag of the repository; `None` for a recipe that is a plain directory.
    pub tags: Option<Vec<Tag>>,
}

/// The base release, as it stood when it was released.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BaseRelease {
    /// Its release tag (`1.1.0+1.27.2`).
    pub tag: String,
    /// Its checkout.
    pub tree: RecipeTree,
    /// The tags its history carried: those on its commit or an ancestor of it (`git tag
    /// --merged`). A lightweight tag from years ago is here; one on the head's new commits
    /// is not. `None` for a recipe that is a plain directory.
    pub tags: Option<Vec<Tag>>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    /// Fails the lint (and L5); the verdict is RED.
    Error,
    /// Shown, never fails.
    Warn,
}

impl Level {
    pub fn word(self) -> &'static str {
        match self {
            Level::Error => "error",
            Level::Warn => "warn",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Satisfied,
    Failed,
    Skipped,
}

impl Status {
    pub fn word(self) -> &'static str {
        match self {
            Status::Satisfied => "satisfied",
            Status::Failed => "failed",
            Status::Skipped => "skipped",
        }
    }
}

/// Whose rule it is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Origin {
    /// abra's published lint rules (`R0xx`).
    Abra,
    /// cc-ci's own (`C0xx`), most of them comparing the head with its base release.
    CcCi,
}

/// Whether an error-level finding is the head's doing.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Provenance {
    /// Absent at the base release (or there is no base release): the head introduced it.
    Introduced,
    /// The base release has it too (same rule, same subject): not this change's doing.
    Inherited,
}

/// Where a rule applies and what exactly is wrong there.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    pub message: String,
    /// The recipe file, relative to the recipe (`compose.yml`, `abra.sh`, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    /// 1-based line in `file`, where it can be told.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
    /// What the finding is about, whatever line it is on and however it is worded: a
    /// compose key (`services.app.image`, `secrets.db_password`), a variable, a tag
    /// (`tag nightly`), a file (`.env.sample`). With the rule's id, the finding's identity
    /// between the head and its base release.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub subject: String,
    /// For a finding of a failed error-level rule: introduced by the head, or inherited
    /// from its base release. Absent on warnings (and in records older than it, where it
    /// reads as introduced).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provenance: Option<Provenance>,
}

impl Finding {
    pub(crate) fn at(message: String, file: &str, line: Option<usize>) -> Finding {
        Finding {
            message,
            file: Some(file.to_string()),
            line,
            subject: file.to_string(),
            provenance: None,
        }
    }

    pub(crate) fn bare(message: String) -> Finding {
        Finding {
            message,
            file: None,
            line: None,
            subject: String::new(),
            provenance: None,
        }
    }

    /// The finding's subject (see [`Finding::subject`]).
    pub(crate) fn about(mut self, subject: impl Into<String>) -> Finding {
        self.subject = subject.into();
        self
    }

    /// Inherited from the base release (not the head's doing).
    pub fn is_inherited(&self) -> bool {
        self.provenance == Some(Provenance::Inherited)
    }

    /// `compose.yml:12`, `abra.sh`, or empty.
    pub fn location(&self) -> String {
        match (&self.file, self.line) {
            (Some(f), Some(l)) => format!("{f}:{l}"),
            (Some(f), None) => f.clone(),
            _ => String::new(),
        }
    }
}

/// One rule's result.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuleResult {
    /// `R001`…`R015` (abra), `C000`…`C008` (cc-ci).
    pub id: String,
    pub level: Level,
    pub origin: Origin,
    /// What the rule asks for.
    pub rule: String,
    pub status: Status,
    /// What to do when it fails.
    pub fix: String,
    /// Where it failed and why (failed rules), empty otherwise.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub findings: Vec<Finding>,
    /// Why it was skipped, or a note on how it was satisfied.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

impl RuleResult {
    pub fn is_error(&self) -> bool {
        self.status == Status::Failed && self.level == Level::Error
    }

    pub fn is_warning(&self) -> bool {
        self.status == Status::Failed && self.level == Level::Warn
    }

    /// A failed error-level rule every finding of which the base release has too.
    pub fn is_inherited(&self) -> bool {
        self.is_error()
            && !self.findings.is_empty()
            && self.findings.iter().all(Finding::is_inherited)
    }

    /// A failed error-level rule with a finding the head introduced: it fails the lint.
    pub fn is_introduced(&self) -> bool {
        self.is_error() && !self.is_inherited()
    }

    /// `R012 config versions are vendored in abra.sh`.
    pub fn title(&self) -> String {
        format!("{} {}", self.id, self.rule)
    }

    /// `compose.yml:29: config `nginx_conf` …; abra.sh: …` — every finding, where and what.
    pub fn findings_text(&self) -> String {
        self.findings
            .iter()
            .map(|f| match f.location().as_str() {
                "" => f.message.clone(),
                loc => format!("{loc}: {}", f.message),
            })
            .collect::<Vec<_>>()
            .join("; ")
    }

    /// The first finding (where and what) and how many more, for one-line renderings.
    fn first_finding(&self) -> String {
        let Some(f) = self.findings.first() else {
            return String::new();
        };
        let at = f.location();
        let mut s = if at.is_empty() {
            format!(": {}", f.message)
        } else {
            format!(" ({at}): {}", f.message)
        };
        if self.findings.len() > 1 {
            s.push_str(&format!(" (+{} more)", self.findings.len() - 1));
        }
        s
    }
}

/// The lint of one head.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LintReport {
    /// The release the diff-aware rules compared the head with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base: Option<String>,
    /// Every rule, abra's first, in id order.
    pub rules: Vec<RuleResult>,
}

fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        format!("1 {word}")
    } else {
        format!("{n} {word}s")
    }
}

fn ids(rules: &[&RuleResult]) -> String {
    rules
        .iter()
        .map(|r| r.id.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

impl LintReport {
    /// Failed error-level rules, introduced or inherited: any keeps the lint from clean.
    pub fn errors(&self) -> Vec<&RuleResult> {
        self.rules.iter().filter(|r| r.is_error()).collect()
    }

    /// Failed error-level rules the head introduced: each one fails the lint rung (RED).
    pub fn introduced(&self) -> Vec<&RuleResult> {
        self.rules.iter().filter(|r| r.is_introduced()).collect()
    }

    /// Failed error-level rules the base release has too: shown with their fix, capping the
    /// level at L4, never RED.
    pub fn inherited(&self) -> Vec<&RuleResult> {
        self.rules.iter().filter(|r| r.is_inherited()).collect()
    }

    /// Failed warn-level rules: shown, never failing.
    pub fn warnings(&self) -> Vec<&RuleResult> {
        self.rules.iter().filter(|r| r.is_warning()).collect()
    }

    /// No error-level rule failed (L5).
    pub fn clean(&self) -> bool {
        self.errors().is_empty()
    }

    /// An error-level rule the head introduced failed: the lint fails, the verdict is RED.
    pub fn fails(&self) -> bool {
        !self.introduced().is_empty()
    }

    pub fn count(&self, status: Status) -> usize {
        self.rules.iter().filter(|r| r.status == status).count()
    }

    /// `the base release 1.1.0+1.1.0`, or `the base release` when unknown.
    pub(crate) fn base_words(&self) -> String {
        match &self.base {
            Some(b) => format!("the base release {b}"),
            None => "the base release".into(),
        }
    }

    /// One line: `clean: 20 satisfied, 2 warnings (R002, R007), 1 skipped`;
    /// `2 errors: R012, C001; 1 inherited from the base release 1.1.0+1.1.0: R014; 1 warning
    /// (R002)` (the errors counted are the head's); or, when every error is the base's,
    /// `not clean, none introduced: 1 error inherited from the base release 1.1.0+1.1.0: R014`.
    pub fn summary(&self) -> String {
        let (introduced, inherited, warnings) =
            (self.introduced(), self.inherited(), self.warnings());
        let mut parts = Vec::new();
        if !inherited.is_empty() {
            parts.push(format!(
                "{} from {}: {}",
                if introduced.is_empty() {
                    format!("{} inherited", plural(inherited.len(), "error"))
                } else {
                    format!("{} inherited", inherited.len())
                },
                self.base_words(),
                ids(&inherited)
            ));
        }
        if !warnings.is_empty() {
            parts.push(format!(
                "{} ({})",
                plural(warnings.len(), "warning"),
                ids(&warnings)
            ));
        }
        if !introduced.is_empty() {
            let head = format!(
                "{}: {}",
                plural(introduced.len(), "error"),
                ids(&introduced)
            );
            return std::iter::once(head)
                .chain(parts)
                .collect::<Vec<_>>()
                .join("; ");
        }
        if !inherited.is_empty() {
            return format!("not clean, none introduced: {}", parts.join("; "));
        }
        parts.insert(0, format!("{} satisfied", self.count(Status::Satisfied)));
        let skipped = self.count(Status::Skipped);
        if skipped > 0 {
            parts.push(format!("{skipped} skipped"));
        }
        format!("clean: {}", parts.join(", "))
    }

    /// What the card, comment and summary say when the lint fails: the first error-level
    /// rule the head introduced by name, where and what is wrong, the fix, the others' ids,
    /// and those inherited from the base. `None` when the head introduced none.
    pub fn failure_message(&self) -> Option<String> {
        let introduced = self.introduced();
        let first = introduced.first()?;
        let mut s = format!(
            "{}{}. Fix: {}",
            first.title(),
            first.first_finding(),
            first.fix
        );
        if introduced.len() > 1 {
            let rest: Vec<String> = introduced[1..].iter().map(|r| r.title()).collect();
            s.push_str(&format!(". Also failing: {}", rest.join("; ")));
        }
        let inherited = self.inherited();
        if !inherited.is_empty() {
            s.push_str(&format!(
                ". Already at {} (not this change's): {}",
                self.base_words(),
                ids(&inherited)
            ));
        }
        Some(s)
    }

    /// What is said when every error is inherited: each rule by name, where, what, its
    /// fix, and that the base release has it too. `None` when there is none, or when the
    /// head introduced an error (then [`LintReport::failure_message`] speaks).
    pub fn inherited_message(&self) -> Option<String> {
        if self.fails() {
            return None;
        }
        let inherited = self.inherited();
        if inherited.is_empty() {
            return None;
        }
        let each: Vec<String> = inherited
            .iter()
            .map(|r| format!("{}{}. Fix: {}", r.title(), r.first_finding(), r.fix))
            .collect();
        Some(format!(
            "already at {}, not introduced by this change (not RED; no L5 until fixed): {}",
            self.base_words(),
            each.join(". ")
        ))
    }
}

/// A rule of the catalogue.
#[derive(Clone, Copy, Debug)]
pub struct RuleInfo {
    pub id: &'static str,
    pub level: Level,
    pub origin: Origin,
    pub rule: &'static str,
    pub fix: &'static str,
    /// For abra's rules: whether the id, level and text were confirmed against abra's
    /// published documentation for this implementation (see the module docs).
    pub confirmed: bool,
}

const fn abra(
    id: &'static str,
    level: Level,
    rule: &'static str,
    fix: &'static str,
    confirmed: bool,
) -> RuleInfo {
    RuleInfo {
        id,
        level,
        origin: Origin::Abra,
        rule,
        fix,
        confirmed,
    }
}

const fn own(id: &'static str, level: Level, rule: &'static str, fix: &'static str) -> RuleInfo {
    RuleInfo {
        id,
        level,
        origin: Origin::CcCi,
        rule,
        fix,
        confirmed: true,
    }
}

/// Every rule, in the order reported.
pub const RULES: &[RuleInfo] = &[
    abra("R001", Level::Warn, "compose config has expected version", "ensure 'version: \"3.8\"' in compose configs", true),
    abra("R002", Level::Warn, "healthcheck enabled for all services", "wire up healthchecks", true),
    abra("R003", Level::Warn, "all images use a tag", "use a tag for all images", false),
    abra("R004", Level::Warn, "no unstable tags", "tag all images with stable tags", false),
    abra("R005", Level::Warn, "tags use semver-like format", "use semver-like tags", false),
    abra("R006", Level::Warn, "has published version", "publish a recipe version: an annotated release tag X.Y.Z+<app version>", false),
    abra("R007", Level::Warn, "README.md metadata filled in", "fill out all the metadata in README.md's <!-- metadata --> block", false),
    abra("R008", Level::Error, ".env.sample provided", "create an example .env.sample", false),
    abra("R009", Level::Error, "one service named 'app'", "name a service 'app'", false),
    abra("R010", Level::Error, "traefik routing enabled", "include \"traefik.enable=true\" deploy label", false),
    abra("R011", Level::Error, "all services have images", "ensure \"image: ...\" set on all services", false),
    abra("R012", Level::Error, "config versions are vendored", "vendor config versions in an abra.sh", false),
    abra("R013", Level::Warn, "git.coopcloud.tech repo exists", "upload your recipe to git.coopcloud.tech/coop-cloud/...", false),
    abra("R014", Level::Error, "only annotated tags used for recipe version", "replace lightweight tags with annotated tags", false),
    abra("R015", Level::Warn, "long secret names", "reduce length of secret names to 12 chars", false),
    own("C000", Level::Error, "compose files parse", "make every compose file valid YAML with a top-level `services:` mapping"),
    own("C001", Level::Error, "a changed config or secret gets a new name", "bump the version variable in its `name:` (abra.sh for configs, .env.sample for secrets) whenever its content changes: swarm configs and secrets are immutable"),
    own("C002", Level::Error, "no newly required variable installed apps lack", "give the variable a default in compose (`${X:-value}`), or tell operators in the release notes (release/<version>) to add it to their .env"),
    own("C003", Level::Error, "the version label matches the release tag", "set `coop-cloud.${STACK_NAME}.version=<tag>` on the app service to the release's tag"),
    own("C004", Level::Warn, "image tags do not move backwards", "check the tag: going back from the base release's image is a downgrade of operators' data; if deliberate, say so in the release notes"),
    own("C005", Level::Error, "every secret has its SECRET_<NAME>_VERSION", "add `SECRET_<NAME>_VERSION=v1` (commented out if optional) to .env.sample for each secret"),
    own("C006", Level::Warn, "every SECRET_<NAME>_VERSION has its secret", "remove the line, or declare the secret in a compose file"),
    own("C007", Level::Error, "secret `length=` modifiers are numbers", "write `# length=<a whole number from 4 to 4096>` after the SECRET_<NAME>_VERSION value"),
    own("C008", Level::Error, "backupbot volume labels name a volume of their service", "name one of the service's own named volumes in `backupbot.backup.volumes.<volume>`"),
];

/// A rule's outcome before it is dressed as a [`RuleResult`].
pub(crate) enum Outcome {
    Satisfied,
    /// Satisfied, with a note on how.
    Noted(String),
    Failed(Vec<Finding>),
    Skipped(String),
}

impl Outcome {
    pub(crate) fn from_findings(findings: Vec<Finding>) -> Outcome {
        if findings.is_empty() {
            Outcome::Satisfied
        } else {
            Outcome::Failed(findings)
        }
    }
}

/// Lints the head (and, against its base release, what it changed), and tells each error
/// the head introduced from one the base release has too (see the module docs).
pub fn lint(input: &LintInput) -> LintReport {
    let head = tree::Parsed::new(&input.head);
    let base = input
        .base
        .as_ref()
        .map(|b| (b.tag.as_str(), tree::Parsed::new(&b.tree)));
    let mut report = LintReport {
        base: input.base.as_ref().map(|b| b.tag.clone()),
        rules: check_all(&Ctx {
            head,
            head_release: input.head_release.as_deref(),
            tags: input.tags.as_deref(),
            base,
        }),
    };
    let at_base = input.base.as_ref().map(|b| {
        check_all(&Ctx {
            head: tree::Parsed::new(&b.tree),
            head_release: Some(&b.tag),
            tags: b.tags.as_deref(),
            base: None,
        })
    });
    mark_provenance(&mut report.rules, at_base.as_deref());
    report
}

/// Every rule of the catalogue over one checkout.
fn check_all(ctx: &Ctx) -> Vec<RuleResult> {
    RULES
        .iter()
        .map(|info| {
            let outcome = match info.origin {
                Origin::Abra => abra::check(info.id, ctx),
                Origin::CcCi => own::check(info.id, ctx),
            };
            let (status, findings, note) = match outcome {
                Outcome::Satisfied => (Status::Satisfied, Vec::new(), None),
                Outcome::Noted(n) => (Status::Satisfied, Vec::new(), Some(n)),
                Outcome::Failed(f) => (Status::Failed, f, None),
                Outcome::Skipped(why) => (Status::Skipped, Vec::new(), Some(why)),
            };
            RuleResult {
                id: info.id.to_string(),
                level: info.level,
                origin: info.origin,
                rule: info.rule.to_string(),
                status,
                fix: info.fix.to_string(),
                findings,
                note,
            }
        })
        .collect()
}

/// Marks each finding of a failed error-level rule: inherited when the base release's own
/// lint failed the same rule on the same subject, else introduced (always, without a base).
fn mark_provenance(head: &mut [RuleResult], base: Option<&[RuleResult]>) {
    for rule in head.iter_mut().filter(|r| r.is_error()) {
        let at_base = base.and_then(|b| {
            b.iter()
                .find(|r| r.id == rule.id && r.status == Status::Failed)
        });
        for f in &mut rule.findings {
            let inherited =
                at_base.is_some_and(|b| b.findings.iter().any(|g| g.subject == f.subject));
            f.provenance = Some(if inherited {
                Provenance::Inherited
            } else {
                Provenance::Introduced
            });
        }
    }
}

/// What every rule sees: one checkout, and for the diff-aware rules its base.
pub(crate) struct Ctx<'a> {
    pub(crate) head: tree::Parsed<'a>,
    /// The checkout's release tag, when it is a release.
    pub(crate) head_release: Option<&'a str>,
    /// The repository's tags (as the checkout sees them); `None` for a plain directory.
    pub(crate) tags: Option<&'a [Tag]>,
    pub(crate) base: Option<(&'a str, tree::Parsed<'a>)>,
}

#[cfg(test)]
pub(crate) mod tests;
