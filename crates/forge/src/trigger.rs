//! The `!testme` trigger rules (docs/behaviour.md §1), pure: a comment body and facts about its
//! author in, a decision out. No I/O; the caller looks up the commenter's permission and remembers
//! which PRs already got a refusal.
//!
//! A trigger is a line that reads `!testme` followed only by flags, standing on its own line,
//! outside fenced code blocks (```` ``` ```` or `~~~`), indented code blocks and `>` quotes:
//!
//! ```text
//! !testme
//! !testme --quick
//! !testme --extra --stages install,upgrade
//! !testme --stages=install, functional
//! !testme --stages lint
//! !testme cancel
//! !testme --keep            (a RED run keeps its app 30 min for debugging)
//! !testme --keep 1h         (at most 2h; `--keep=20m` alike)
//! !testme --sha 4f1c9a3     (test this commit of the PR: 7 to 40 hex digits, or 64)
//! ```
//!
//! Without `--sha` a run tests the commit the PR head pointed at when the comment was made
//! (see [`crate::approval`]); `--sha` names it instead, and must name a commit of the PR.
//!
//! The first such line of a comment counts; one comment starts at most one run.
//! `!testme cancel` (alone on its line, no flags) cancels the PR's queued or running run;
//! it needs the same trust as `!testme`.

use ccci_core::keep::{parse_keep, KeepError, DEFAULT_KEEP};
use ccci_core::ladder::Rung;
use std::fmt;
use std::time::Duration;

/// The command word.
pub const COMMAND: &str = "!testme";

/// What a `!testme` line asks for.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Trigger {
    /// `--quick`: the fast lane (reattach the warm canonical).
    pub quick: bool,
    /// `--extra`: also run the heavy opt-in suite.
    pub extra: bool,
    /// `--stages a,b`: only these rungs, in the order given, without repeats. `None` = all.
    pub stages: Option<Vec<Rung>>,
    /// `--keep [DURATION]`: a RED run leaves its app deployed this long (default 30m,
    /// at most 2h) for debugging.
    pub keep: Option<Duration>,
    /// `--sha HEX`: the commit to test (lowercase hex, 7 to 40 digits, or 64). `None`: the
    /// PR head when the comment was made.
    pub sha: Option<String>,
}

/// What a `!testme` line asks for: a run, or cancelling the PR's run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Command {
    Run(Trigger),
    /// `!testme cancel`.
    Cancel,
}

/// The word after `!testme` that cancels.
pub const CANCEL: &str = "cancel";

/// A `!testme` line the bot could not understand. `Display` is the reply the bot posts.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TriggerError {
    #[error(
        "unknown flag `{0}` (known: --quick, --extra, --stages a,b, --keep 30m, --sha 4f1c9a3)"
    )]
    UnknownFlag(String),
    #[error("unexpected argument `{0}` (flags start with --: --quick, --extra, --stages a,b)")]
    UnexpectedArgument(String),
    #[error("unknown stage `{stage}` (known: {known})", known = known_stages())]
    UnknownStage { stage: String },
    #[error("`--stages` needs a comma-separated list, e.g. `--stages install,upgrade`")]
    MissingStages,
    #[error("`{0}` given twice")]
    RepeatedFlag(String),
    #[error("`--{0}` takes no value")]
    UnexpectedValue(String),
    #[error("`--sha` needs a commit id of the PR: 7 to 40 hex digits (or 64), got `{0}`")]
    BadSha(String),
    #[error("`!testme cancel` takes nothing after it (got `{0}`)")]
    CancelTakesNothing(String),
    #[error(transparent)]
    Keep(#[from] KeepError),
}

fn known_stages() -> String {
    Rung::SELECTABLE
        .iter()
        .map(|r| r.name())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Finds the `!testme` line of a comment body and parses its flags.
///
/// `Ok(None)`: the comment holds no trigger. `Err(..)`: it holds one the bot can't parse;
/// the error's text is the reply.
/// `!testme cancel` is not a run: `Ok(None)` here, [`parse_command`] reads it.
pub fn parse_trigger(body: &str) -> Result<Option<Trigger>, TriggerError> {
    Ok(parse_command(body)?.and_then(|command| match command {
        Command::Run(trigger) => Some(trigger),
        Command::Cancel => None,
    }))
}

/// Finds the `!testme` line of a comment body and reads it: a run with its flags, or
/// `cancel`. `Ok(None)`: no command; `Err(..)`: one the bot can't parse (the reply).
pub fn parse_command(body: &str) -> Result<Option<Command>, TriggerError> {
    let Some(args) = find_command_line(body) else {
        return Ok(None);
    };
    let mut words = args.split_whitespace();
    if words.next() != Some(CANCEL) {
        return parse_flags(args).map(|t| Some(Command::Run(t)));
    }
    match words.next() {
        None => Ok(Some(Command::Cancel)),
        Some(extra) => Err(TriggerError::CancelTakesNothing(shown(extra))),
    }
}

/// The text after `!testme` on the first line that is a command, if any.
fn find_command_line(body: &str) -> Option<&str> {
    let mut fence: Option<Fence> = None;
    for line in body.lines() {
        let (indent, rest) = split_indent(line);
        if let Some(open) = &fence {
            if open.is_closed_by(indent, rest) {
                fence = None;
            }
            continue;
        }
        if indent >= 4 {
            // An indented code block. (CommonMark would read a line right after a paragraph
            // as its continuation; treating it as code is the cautious reading: no run.)
            continue;
        }
        if let Some(open) = Fence::opened_by(rest) {
            fence = Some(open);
            continue;
        }
        if rest.starts_with('>') {
            continue;
        }
        if let Some(after) = rest.strip_prefix(COMMAND) {
            if after.is_empty() || after.starts_with(char::is_whitespace) {
                return Some(after);
            }
        }
    }
    None
}

/// Leading indentation in columns (a tab counts as reaching the next multiple of 4), and
/// the rest of the line.
fn split_indent(line: &str) -> (usize, &str) {
    let mut columns = 0;
    for (i, c) in line.char_indices() {
        match c {
            ' ' => columns += 1,
            '\t' => columns += 4 - columns % 4,
            _ => return (columns, &line[i..]),
        }
    }
    (columns, "")
}

/// An open fenced code block: its fence character and length.
struct Fence {
    marker: char,
    len: usize,
}

impl Fence {
    fn opened_by(rest: &str) -> Option<Fence> {
        let marker = rest.chars().next().filter(|c| *c == '`' || *c == '~')?;
        let len = rest.chars().take_while(|c| *c == marker).count();
        // A backtick fence's info string may not contain backticks.
        let info = &rest[len..];
        (len >= 3 && !(marker == '`' && info.contains('`'))).then_some(Fence { marker, len })
    }

    fn is_closed_by(&self, indent: usize, rest: &str) -> bool {
        let len = rest.chars().take_while(|c| *c == self.marker).count();
        indent < 4 && len >= self.len && rest[len..].trim().is_empty()
    }
}

fn parse_flags(args: &str) -> Result<Trigger, TriggerError> {
    let mut trigger = Trigger::default();
    let mut tokens = args.split_whitespace().peekable();
    while let Some(token) = tokens.next() {
        let Some(flag) = token.strip_prefix("--") else {
            return Err(TriggerError::UnexpectedArgument(shown(token)));
        };
        let (name, inline_value) = match flag.split_once('=') {
            Some((name, value)) => (name, Some(value)),
            None => (flag, None),
        };
        match name {
            "quick" | "extra" => {
                if inline_value.is_some() {
                    return Err(TriggerError::UnexpectedValue(name.to_string()));
                }
                let slot = if name == "quick" {
                    &mut trigger.quick
                } else {
                    &mut trigger.extra
                };
                if *slot {
                    return Err(TriggerError::RepeatedFlag(token.to_string()));
                }
                *slot = true;
            }
            "stages" => {
                if trigger.stages.is_some() {
                    return Err(TriggerError::RepeatedFlag("--stages".to_string()));
                }
                // The list is everything up to the next flag: `a,b`, `a, b` and `a b` alike.
                let mut list = String::from(inline_value.unwrap_or(""));
                while let Some(next) = tokens.next_if(|t| !t.starts_with("--")) {
                    list.push(',');
                    list.push_str(next);
                }
                trigger.stages = Some(parse_stages(&list)?);
            }
            "keep" => {
                if trigger.keep.is_some() {
                    return Err(TriggerError::RepeatedFlag("--keep".to_string()));
                }
                // The duration is everything up to the next flag (`1h 15m`); none: 30m.
                let mut words: Vec<&str> = inline_value.into_iter().collect();
                while let Some(next) = tokens.next_if(|t| !t.starts_with("--")) {
                    words.push(next);
                }
                trigger.keep = Some(match words.is_empty() {
                    true => DEFAULT_KEEP,
                    false => parse_keep(&words.join(" "))?,
                });
            }
            "sha" => {
                if trigger.sha.is_some() {
                    return Err(TriggerError::RepeatedFlag("--sha".to_string()));
                }
                let value = match inline_value {
                    Some(value) => value,
                    None => tokens.next_if(|t| !t.starts_with("--")).unwrap_or(""),
                };
                trigger.sha = Some(parse_sha(value)?);
            }
            _ => return Err(TriggerError::UnknownFlag(shown(token))),
        }
    }
    Ok(trigger)
}

/// Longest word the bot quotes back in its reply.
const SHOWN_CHARS: usize = 40;

/// A commenter's word as the reply quotes it: at most [`SHOWN_CHARS`] characters (a huge
/// token must not become a huge PR comment) and no backtick or control character (it must
/// not close the reply's code span).
fn shown(word: &str) -> String {
    let mut out: String = word
        .chars()
        .take(SHOWN_CHARS)
        .map(|c| if c == '`' || c.is_control() { '?' } else { c })
        .collect();
    if word.chars().nth(SHOWN_CHARS).is_some() {
        out.push('…');
    }
    out
}

/// A commit id as `--sha` takes it: 7 to 40 hex digits (a SHA-1 id or its prefix), or a
/// whole SHA-256 id (64); returned in lowercase, as Gitea spells ids.
fn parse_sha(value: &str) -> Result<String, TriggerError> {
    let hex = value.chars().all(|c| c.is_ascii_hexdigit());
    if hex && ((7..=40).contains(&value.len()) || value.len() == 64) {
        Ok(value.to_ascii_lowercase())
    } else {
        Err(TriggerError::BadSha(shown(value)))
    }
}

fn parse_stages(list: &str) -> Result<Vec<Rung>, TriggerError> {
    let mut stages = Vec::new();
    for name in list.split(',').map(str::trim).filter(|n| !n.is_empty()) {
        let rung =
            Rung::parse(name).ok_or_else(|| TriggerError::UnknownStage { stage: shown(name) })?;
        if !stages.contains(&rung) {
            stages.push(rung);
        }
    }
    if stages.is_empty() {
        return Err(TriggerError::MissingStages);
    }
    Ok(stages)
}

/// A user's access to a repository, as Gitea's
/// `GET /repos/{owner}/{repo}/collaborators/{user}/permission` names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Permission {
    None,
    Read,
    Write,
    Admin,
    Owner,
}

impl Permission {
    /// Gitea's word for it. Unknown words read as `None` (fail closed).
    pub fn parse(word: &str) -> Permission {
        match word.trim().to_ascii_lowercase().as_str() {
            "read" => Permission::Read,
            "write" => Permission::Write,
            "admin" => Permission::Admin,
            "owner" => Permission::Owner,
            _ => Permission::None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Permission::None => "none",
            Permission::Read => "read",
            Permission::Write => "write",
            Permission::Admin => "admin",
            Permission::Owner => "owner",
        }
    }

    /// Write access or more: may start runs.
    pub fn can_trigger(self) -> bool {
        self >= Permission::Write
    }
}

impl fmt::Display for Permission {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Who may start runs, besides users with write access. Logins compare case-insensitively,
/// as Gitea's do.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TrustPolicy {
    /// The bot's own login: its comments are never commands.
    pub bot_login: String,
    /// Users trusted whatever their repository permission.
    pub allow_list: Vec<String>,
}

impl TrustPolicy {
    pub fn is_bot(&self, login: &str) -> bool {
        !self.bot_login.is_empty() && self.bot_login.eq_ignore_ascii_case(login)
    }

    pub fn is_allow_listed(&self, login: &str) -> bool {
        self.allow_list
            .iter()
            .any(|a| a.eq_ignore_ascii_case(login))
    }

    /// Whether deciding on this comment needs the author's repository permission: only
    /// when it holds a command (valid or not) by someone neither the bot nor allow-listed.
    /// Saves a forge request per ordinary comment.
    pub fn needs_permission(&self, author: &str, body: &str) -> bool {
        !self.is_bot(author)
            && !self.is_allow_listed(author)
            && !matches!(parse_command(body), Ok(None))
    }
}

/// What the bot does with one newly created PR comment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Decision {
    /// Nothing: see the reason.
    Ignore(IgnoreReason),
    /// Queue a run with these flags.
    Run(Trigger),
    /// A trusted user's `!testme cancel`: cancel the PR's queued or running run.
    Cancel,
    /// A trusted user's `!testme` the bot can't parse: reply with the error.
    ReplyInvalid(TriggerError),
    /// An untrusted user's `!testme`: post the one refusal for this PR, and remember it.
    Refuse,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IgnoreReason {
    /// The comment holds no `!testme` line.
    NoCommand,
    /// The bot wrote it.
    OwnComment,
    /// An untrusted user, and this PR already got its refusal.
    AlreadyRefused,
}

/// Decides what one newly created PR comment leads to.
///
/// `permission` is the author's permission on the repository, `None` when unknown (not
/// looked up because [`TrustPolicy::needs_permission`] said no, or the lookup failed:
/// unknown is untrusted unless allow-listed). `already_refused_on_pr` is the caller's memory
/// of a refusal posted on this PR.
pub fn decide(
    policy: &TrustPolicy,
    author: &str,
    body: &str,
    permission: Option<Permission>,
    already_refused_on_pr: bool,
) -> Decision {
    if policy.is_bot(author) {
        return Decision::Ignore(IgnoreReason::OwnComment);
    }
    let parsed = match parse_command(body) {
        Ok(None) => return Decision::Ignore(IgnoreReason::NoCommand),
        Ok(Some(command)) => Ok(command),
        Err(error) => Err(error),
    };
    let trusted = policy.is_allow_listed(author) || permission.is_some_and(Permission::can_trigger);
    match (trusted, parsed) {
        (true, Ok(Command::Run(trigger))) => Decision::Run(trigger),
        (true, Ok(Command::Cancel)) => Decision::Cancel,
        (true, Err(error)) => Decision::ReplyInvalid(error),
        (false, _) if already_refused_on_pr => Decision::Ignore(IgnoreReason::AlreadyRefused),
        (false, _) => Decision::Refuse,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Rung::*;

    /// One row: a body and what parsing it yields, written compactly:
    /// `None`, `Ok(quick, extra, stages)`, or `Err(message fragment)`.
    enum Want {
        Nothing,
        Run(bool, bool, Option<&'static [Rung]>),
        Error(&'static str),
    }

    /// `--keep` rows: a body and the keep it asks for (seconds), or an error fragment.
    #[test]
    fn parses_keep() {
        let ok: &[(&str, Option<u64>)] = &[
            ("!testme", None),
            ("!testme --keep", Some(1800)),
            ("!testme --keep 20s", Some(20)),
            ("!testme --keep=1h", Some(3600)),
            ("!testme --keep 1h 15m --quick", Some(4500)),
            ("!testme --quick --keep", Some(1800)),
            ("!testme --keep --stages install", Some(1800)),
            ("!testme --keep 2h", Some(7200)),
        ];
        for (body, want) in ok {
            let got = parse_trigger(body).unwrap().unwrap();
            assert_eq!(got.keep, want.map(Duration::from_secs), "{body:?}");
        }
        assert!(
            parse_trigger("!testme --keep 1h 15m --quick")
                .unwrap()
                .unwrap()
                .quick
        );
        let bad: &[(&str, &str)] = &[
            ("!testme --keep 3h", "at most 2h"),
            ("!testme --keep soon", "--keep `soon`: not a duration"),
            ("!testme --keep 0s", "at least 1s"),
            ("!testme --keep= ", "--keep"),
            ("!testme --keep --keep", "given twice"),
            ("!testme --keep 5m --keep 10m", "given twice"),
            ("!testme --keep `x`", "--keep `?x?`"),
        ];
        for (body, fragment) in bad {
            let reply = parse_trigger(body).unwrap_err().to_string();
            assert!(reply.contains(fragment), "{body:?}: {reply}");
        }
    }

    /// `--sha` rows: a body and the commit it names, or an error fragment.
    #[test]
    fn parses_sha() {
        let full = "4f1c9a3e2b7d8c6f5a4e3d2c1b0a9f8e7d6c5b4a";
        let sha256 = full.repeat(2)[..64].to_string();
        let ok: &[(String, Option<&str>)] = &[
            ("!testme".into(), None),
            ("!testme --sha 4F1C9A3".into(), Some("4f1c9a3")),
            ("!testme --sha=4f1c9a3e --quick".into(), Some("4f1c9a3e")),
            (format!("!testme --stages lint --sha {full}"), Some(full)),
            (format!("!testme --sha {sha256}"), Some(&sha256)),
        ];
        for (body, want) in ok {
            let got = parse_trigger(body).unwrap().unwrap();
            assert_eq!(got.sha.as_deref(), *want, "{body:?}");
        }
        let bad: &[(&str, &str)] = &[
            ("!testme --sha", "`--sha` needs a commit id"),
            ("!testme --sha --quick", "got ``"),
            ("!testme --sha 4f1c9a", "got `4f1c9a`"),
            ("!testme --sha main", "got `main`"),
            ("!testme --sha HEAD~1", "got `HEAD~1`"),
            (
                "!testme --sha 4f1c9a3 4f1c9a3",
                "unexpected argument `4f1c9a3`",
            ),
            ("!testme --sha 4f1c9a3 --sha 4f1c9a3", "`--sha` given twice"),
            ("!testme 4f1c9a3", "unexpected argument `4f1c9a3`"),
        ];
        for (body, fragment) in bad {
            let reply = parse_trigger(body).unwrap_err().to_string();
            assert!(reply.contains(fragment), "{body:?}: {reply}");
        }
        let long = "a".repeat(41);
        assert!(parse_trigger(&format!("!testme --sha {long}")).is_err());
    }

    fn check(body: &str, want: Want) {
        let got = parse_trigger(body);
        match (want, &got) {
            (Want::Nothing, Ok(None)) => {}
            (Want::Run(quick, extra, stages), Ok(Some(t)))
                if t.quick == quick && t.extra == extra && t.stages.as_deref() == stages => {}
            (Want::Error(fragment), Err(e)) if e.to_string().contains(fragment) => {}
            _ => panic!("body {body:?}: got {got:?}"),
        }
    }

    #[test]
    fn parses_commands_and_flags() {
        let rows: &[(&str, Want)] = &[
            ("!testme", Want::Run(false, false, None)),
            ("!testme\n", Want::Run(false, false, None)),
            ("  !testme  ", Want::Run(false, false, None)),
            (
                "Please run\n!testme --quick\nthanks",
                Want::Run(true, false, None),
            ),
            ("!testme --extra --quick", Want::Run(true, true, None)),
            (
                "!testme --stages install,upgrade",
                Want::Run(false, false, Some(&[Install, Upgrade])),
            ),
            (
                "!testme --stages=backup_restore, functional --extra",
                Want::Run(false, true, Some(&[BackupRestore, Functional])),
            ),
            // The recipe lint (L5) alone: nothing is deployed.
            (
                "!testme --stages lint",
                Want::Run(false, false, Some(&[Lint])),
            ),
            (
                "!testme --stages backup-restore install install",
                Want::Run(false, false, Some(&[BackupRestore, Install])),
            ),
            ("!testme\r\n--quick", Want::Run(false, false, None)),
            (
                "first\n!testme --quick\n!testme --extra",
                Want::Run(true, false, None),
            ),
        ];
        for (body, want) in rows {
            check(body, clone_want(want));
        }
    }

    /// Found by fuzzing: the reply quoted the offending word whole, so a 10,000-character
    /// argument became a 10,000-character PR comment, and a backtick in it closed the
    /// reply's code span.
    #[test]
    fn the_reply_quotes_a_long_or_odd_word_shortened_and_inert() {
        let long = "x".repeat(10_000);
        for body in [
            format!("!testme {long}"),
            format!("!testme --{long}"),
            format!("!testme --stages {long}"),
        ] {
            let reply = parse_trigger(&body).unwrap_err().to_string();
            assert!(reply.len() < 200 && reply.contains("xxx…"), "{reply}");
        }
        let reply = parse_trigger("!testme --a`@everyone`")
            .unwrap_err()
            .to_string();
        assert_eq!(
            reply,
            TriggerError::UnknownFlag("--a?@everyone?".into()).to_string()
        );
    }

    #[test]
    fn reads_cancel() {
        let rows: &[(&str, Result<Option<Command>, &str>)] = &[
            ("!testme cancel", Ok(Some(Command::Cancel))),
            ("  !testme   cancel  \n", Ok(Some(Command::Cancel))),
            (
                "please stop\n!testme cancel\nthanks",
                Ok(Some(Command::Cancel)),
            ),
            (
                "!testme cancel --quick",
                Err("takes nothing after it (got `--quick`)"),
            ),
            (
                "!testme cancel now",
                Err("takes nothing after it (got `now`)"),
            ),
            (
                "!testme --quick cancel",
                Err("unexpected argument `cancel`"),
            ),
            ("!testme CANCEL", Err("unexpected argument `CANCEL`")),
            ("!testme cancelled", Err("unexpected argument `cancelled`")),
            ("> !testme cancel", Ok(None)),
            ("```\n!testme cancel\n```", Ok(None)),
            ("!testme", Ok(Some(Command::Run(Trigger::default())))),
        ];
        for (body, want) in rows {
            let got = parse_command(body);
            match (want, &got) {
                (Ok(want), Ok(got)) if want == got => {}
                (Err(fragment), Err(e)) if e.to_string().contains(fragment) => {}
                _ => panic!("body {body:?}: got {got:?}"),
            }
        }
        // Cancel is not a run.
        assert_eq!(parse_trigger("!testme cancel"), Ok(None));
    }

    #[test]
    fn ignores_commands_that_are_not_on_their_own_line_or_are_quoted_or_code() {
        let rows: &[&str] = &[
            "",
            "looks good to me",
            "please !testme",
            "!testmenow",
            "!TESTME",
            "`!testme`",
            "> !testme",
            ">!testme --quick",
            "  > !testme",
            "```\n!testme\n```",
            "~~~sh\n!testme\n~~~",
            "````\n```\n!testme\n````",
            "```\n!testme",
            "    !testme",
            "\t!testme",
            "~~~\n!testme\n```\n!testme\n",
        ];
        for body in rows {
            check(body, Want::Nothing);
        }
    }

    #[test]
    fn commands_after_a_closed_fence_count() {
        check(
            "```\ncode\n```\n!testme --quick",
            Want::Run(true, false, None),
        );
        check("~~~~\n~~~\n~~~~\n!testme", Want::Run(false, false, None));
        // ``` with a backtick in the info string is inline code, not a fence.
        check("``` `x` ```\n!testme", Want::Run(false, false, None));
    }

    #[test]
    fn reports_what_is_wrong_with_a_bad_command() {
        let rows: &[(&str, &str)] = &[
            ("!testme --fast", "unknown flag `--fast`"),
            ("!testme please", "unexpected argument `please`"),
            ("!testme --stages install,deploy", "unknown stage `deploy`"),
            (
                "!testme --stages recipe_local",
                "unknown stage `recipe_local`",
            ),
            ("!testme --stages", "`--stages` needs"),
            ("!testme --stages --quick", "`--stages` needs"),
            ("!testme --stages=,", "`--stages` needs"),
            ("!testme --quick --quick", "given twice"),
            ("!testme --stages install --stages upgrade", "given twice"),
            ("!testme --quick=yes", "takes no value"),
        ];
        for (body, fragment) in rows {
            check(body, Want::Error(fragment));
        }
        let e = parse_trigger("!testme --stages nope").unwrap_err();
        assert!(e
            .to_string()
            .contains("install, upgrade, backup_restore, functional, lint"));
    }

    fn clone_want(want: &Want) -> Want {
        match want {
            Want::Nothing => Want::Nothing,
            Want::Run(q, e, s) => Want::Run(*q, *e, *s),
            Want::Error(f) => Want::Error(f),
        }
    }

    #[test]
    fn permission_words() {
        for (word, want, can) in [
            ("owner", Permission::Owner, true),
            ("admin", Permission::Admin, true),
            ("write", Permission::Write, true),
            ("Write", Permission::Write, true),
            ("read", Permission::Read, false),
            ("none", Permission::None, false),
            ("maintain", Permission::None, false),
        ] {
            assert_eq!(Permission::parse(word), want, "{word}");
            assert_eq!(Permission::parse(word).can_trigger(), can, "{word}");
        }
    }

    #[test]
    fn decides_who_may_run() {
        let policy = TrustPolicy {
            bot_login: "cc-ci".into(),
            allow_list: vec!["Friend".into()],
        };
        let run = Decision::Run(Trigger::default());
        let quick = Decision::Run(Trigger {
            quick: true,
            ..Trigger::default()
        });
        use IgnoreReason::*;
        use Permission as P;
        let rows: Vec<(&str, &str, Option<Permission>, bool, Decision)> = vec![
            // author, body, permission, already refused on this PR, decision
            ("alice", "!testme", Some(P::Write), false, run.clone()),
            ("alice", "!testme --quick", Some(P::Admin), true, quick),
            ("alice", "!testme", Some(P::Owner), false, run.clone()),
            (
                "alice",
                "lgtm",
                Some(P::Owner),
                false,
                Decision::Ignore(NoCommand),
            ),
            ("friend", "!testme", None, false, run.clone()),
            ("FRIEND", "!testme", Some(P::Read), false, run.clone()),
            ("mallory", "!testme", Some(P::Read), false, Decision::Refuse),
            ("mallory", "!testme", None, false, Decision::Refuse),
            (
                "mallory",
                "!testme",
                Some(P::Read),
                true,
                Decision::Ignore(AlreadyRefused),
            ),
            (
                "mallory",
                "!testme --bogus",
                Some(P::None),
                false,
                Decision::Refuse,
            ),
            (
                "mallory",
                "hi",
                Some(P::None),
                false,
                Decision::Ignore(NoCommand),
            ),
            (
                "cc-ci",
                "!testme",
                Some(P::Admin),
                false,
                Decision::Ignore(OwnComment),
            ),
            (
                "CC-CI",
                "!testme",
                None,
                false,
                Decision::Ignore(OwnComment),
            ),
            (
                "alice",
                "!testme cancel",
                Some(P::Write),
                false,
                Decision::Cancel,
            ),
            ("friend", "!testme cancel", None, false, Decision::Cancel),
            (
                "mallory",
                "!testme cancel",
                Some(P::Read),
                false,
                Decision::Refuse,
            ),
            (
                "cc-ci",
                "!testme cancel",
                Some(P::Admin),
                false,
                Decision::Ignore(OwnComment),
            ),
            (
                "alice",
                "!testme --fast",
                Some(P::Write),
                false,
                Decision::ReplyInvalid(TriggerError::UnknownFlag("--fast".into())),
            ),
        ];
        for (author, body, permission, refused, want) in rows {
            assert_eq!(
                decide(&policy, author, body, permission, refused),
                want,
                "{author} {body:?} {permission:?} {refused}"
            );
        }
    }

    #[test]
    fn permission_lookup_only_when_it_matters() {
        let policy = TrustPolicy {
            bot_login: "cc-ci".into(),
            allow_list: vec!["friend".into()],
        };
        assert!(policy.needs_permission("alice", "!testme"));
        assert!(policy.needs_permission("alice", "!testme --bogus"));
        assert!(policy.needs_permission("alice", "!testme cancel"));
        assert!(!policy.needs_permission("alice", "nice work"));
        assert!(!policy.needs_permission("friend", "!testme"));
        assert!(!policy.needs_permission("cc-ci", "!testme"));
    }
}
