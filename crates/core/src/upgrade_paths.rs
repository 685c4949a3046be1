//! Upgrade paths (issue 23): operators skip releases, so a suite may ask for the upgrade to
//! be proven from more than the previous release — `[upgrade] from = ["previous",
//! "previous-minor", "1.0.0+1.0.0"]`. This module names the paths, resolves them against the
//! recipe's releases, and folds their outcomes into the upgrade rung. Pure.
//!
//! - `previous`: the release the head came from (the plan's base, [`crate::version::upgrade_base`],
//!   or `upgrade_base_version`). It is the ladder's own upgrade: backup_restore and functional
//!   run on top of it. Every list names it.
//! - `previous-minor`: the newest release of the minor line before the previous release's.
//!   Releases are `X.Y.Z+app`; the line of a release is its recipe version's `X.Y` (the
//!   `+app` part plays no role). Among the releases older than the head (a head that is a
//!   release itself: of a lower version) and not pre-releases, take those whose `(X, Y)` is
//!   below the previous release's, keep the highest `(X, Y)` of them, and the newest release
//!   of that line. Previous `2.0.3` with releases `1.4.0, 1.5.0, 1.5.2, 2.0.0` → `1.5.2`.
//!   No such release (every release is of the previous line) → the path is not run, and said.
//! - `X.Y.Z+app`: that annotated release tag, exactly; it must be older than the head.
//!
//! A path that lands on a release another path already names is run once.
//!
//! **The rule:** the upgrade rung passes only if every path passes ([`fold`]).

use crate::ladder::{RungStatus, SkipKind};
use crate::results::{RungResult, UpgradePath};
use crate::version::{older_than_head, Release};

/// One entry of `[upgrade] from`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum UpgradeFrom {
    Previous,
    PreviousMinor,
    /// An exact release tag.
    Release(String),
}

impl UpgradeFrom {
    /// The suite's word for it.
    pub fn as_str(&self) -> &str {
        match self {
            UpgradeFrom::Previous => "previous",
            UpgradeFrom::PreviousMinor => "previous-minor",
            UpgradeFrom::Release(tag) => tag,
        }
    }

    fn parse(text: &str) -> Result<UpgradeFrom, String> {
        match text.trim() {
            "previous" => Ok(UpgradeFrom::Previous),
            "previous-minor" => Ok(UpgradeFrom::PreviousMinor),
            tag if crate::version::parse_release_tag(tag).is_some() => {
                Ok(UpgradeFrom::Release(tag.to_string()))
            }
            _ => Err(format!(
                "`{}` is not an upgrade path; write \"previous\", \"previous-minor\" or a release tag X.Y.Z+appversion (e.g. \"1.0.0+1.2.3\")",
                text.trim()
            )),
        }
    }
}

/// The default: the previous release alone (today's upgrade).
pub fn default_from() -> Vec<UpgradeFrom> {
    vec![UpgradeFrom::Previous]
}

/// `[upgrade] from` as written, validated: each entry a known word or a release tag, none
/// twice, `previous` among them. The message names the field and the fix.
pub fn parse_from(entries: &[String]) -> Result<Vec<UpgradeFrom>, String> {
    let mut out: Vec<UpgradeFrom> = Vec::new();
    for entry in entries {
        let from = UpgradeFrom::parse(entry).map_err(|m| format!("upgrade.from: {m}"))?;
        if out.contains(&from) {
            return Err(format!(
                "upgrade.from: \"{}\" is listed twice; list each path once",
                from.as_str()
            ));
        }
        out.push(from);
    }
    if !out.contains(&UpgradeFrom::Previous) {
        return Err(
            "upgrade.from must include \"previous\": the ladder's own upgrade (with backup_restore and functional above it) starts from the previous release; list the other paths beside it, e.g. from = [\"previous\", \"previous-minor\"]"
                .into(),
        );
    }
    Ok(out)
}

/// A path the run tests beside the ladder's own: install `release`, upgrade it to the head.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlannedPath {
    pub asked: UpgradeFrom,
    pub release: Release,
}

/// The paths resolved: the extra ones (not `previous`, which the ladder walks), and notes
/// on paths not run.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Resolved {
    pub extra: Vec<PlannedPath>,
    pub notes: Vec<String>,
}

/// The newest release of the minor line before `previous`'s. See the module docs.
pub fn previous_minor<'a>(
    releases: &'a [Release],
    previous: &Release,
    head_commit: &str,
) -> Option<&'a Release> {
    let line = |r: &Release| (r.version.major, r.version.minor);
    let older_than_head = older_than_head(releases, head_commit);
    releases
        .iter()
        .filter(|r| older_than_head(r) && r.version.pre.is_empty())
        .filter(|r| line(r) < line(previous))
        .max_by(|a, b| line(a).cmp(&line(b)).then(a.version.cmp(&b.version)))
}

/// Resolves `from` against the releases, given the previous release (the plan's base). An
/// exact tag that is not a release, or not older than the head, is an error (its message
/// says the fix); a `previous-minor` with nothing to name is a note.
pub fn resolve(
    from: &[UpgradeFrom],
    previous: &Release,
    releases: &[Release],
    head_commit: &str,
) -> Result<Resolved, String> {
    let mut resolved = Resolved::default();
    let mut taken = vec![previous.tag.clone()];
    for asked in from {
        let release = match asked {
            UpgradeFrom::Previous => continue,
            UpgradeFrom::PreviousMinor => match previous_minor(releases, previous, head_commit) {
                Some(r) => r.clone(),
                None => {
                    resolved.notes.push(format!(
                        "upgrade from previous-minor: no release of a minor line before {}'s ({}.{}); path not run",
                        previous.tag, previous.version.major, previous.version.minor
                    ));
                    continue;
                }
            },
            UpgradeFrom::Release(tag) => exact(tag, releases, head_commit)?.clone(),
        };
        if taken.contains(&release.tag) {
            resolved.notes.push(format!(
                "upgrade from {} ({}): the same release as another path; tested once",
                release.tag,
                asked.as_str()
            ));
            continue;
        }
        taken.push(release.tag.clone());
        resolved.extra.push(PlannedPath {
            asked: asked.clone(),
            release,
        });
    }
    Ok(resolved)
}

fn exact<'a>(tag: &str, releases: &'a [Release], head_commit: &str) -> Result<&'a Release, String> {
    let names = || {
        releases
            .iter()
            .map(|r| r.tag.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let release = releases.iter().find(|r| r.tag == tag).ok_or_else(|| {
        format!(
            "upgrade.from: \"{tag}\" is not a release of this recipe (releases: {}); name an annotated release tag exactly as tagged, or use \"previous-minor\"",
            names()
        )
    })?;
    if !older_than_head(releases, head_commit)(release) {
        return Err(format!(
            "upgrade.from: \"{tag}\" is not older than the head; an upgrade path starts from an older release: remove it or name one of the older releases"
        ));
    }
    Ok(release)
}

/// **The rule**: the upgrade rung passes only if every path passes. The ladder's own upgrade
/// (`rung`) failing stays its own failure; else the first extra path that failed fails the
/// rung, naming the path; else an extra path that did not run (the run stopped) leaves the
/// rung unproven: a skip, which caps the level. A skipped rung stays as it is.
pub fn fold(rung: &mut RungResult, extra: &[UpgradePath]) {
    if rung.status != RungStatus::Pass {
        return;
    }
    if let Some(failed) = extra.iter().find(|p| p.status == RungStatus::Fail) {
        let title = failed.title();
        let reason = failed.reason.as_deref().unwrap_or("failed");
        rung.status = RungStatus::Fail;
        // A path's reason usually names the path already.
        rung.reason = Some(match reason.starts_with(&title) {
            true => reason.to_string(),
            false => format!("{title}: {reason}"),
        });
    } else if let Some(unrun) = extra.iter().find(|p| p.status != RungStatus::Pass) {
        rung.status = RungStatus::Skip;
        rung.skip = Some(SkipKind::Unintentional);
        rung.reason = Some(format!(
            "{} did not run: {}",
            unrun.title(),
            unrun.reason.as_deref().unwrap_or("not reached")
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ladder::Rung;
    use crate::version::releases;

    fn rel(tags: &[&str]) -> Vec<Release> {
        let tags: Vec<_> = tags
            .iter()
            .map(|t| (t.to_string(), "tag".to_string(), format!("c-{t}")))
            .collect();
        releases(&tags).0
    }

    fn tag_of(releases: &[Release], tag: &str) -> Release {
        releases.iter().find(|r| r.tag == tag).unwrap().clone()
    }

    #[test]
    fn from_lists_are_validated_naming_the_fix() {
        let ok = |l: &[&str]| parse_from(&l.iter().map(|s| s.to_string()).collect::<Vec<_>>());
        assert_eq!(
            ok(&["previous", "previous-minor", "1.0.0+1.2"]).unwrap(),
            [
                UpgradeFrom::Previous,
                UpgradeFrom::PreviousMinor,
                UpgradeFrom::Release("1.0.0+1.2".into())
            ]
        );
        // (list, words the error must contain)
        let rows: &[(&[&str], &str)] = &[
            (
                &["previous", "latest"],
                "`latest` is not an upgrade path; write \"previous\"",
            ),
            (&["previous", "1.0"], "`1.0` is not an upgrade path"),
            (&["previous-minor"], "must include \"previous\""),
            (&[], "must include \"previous\""),
            (&["previous", "previous"], "listed twice"),
        ];
        for (list, needle) in rows {
            let err = ok(list).unwrap_err();
            assert!(err.starts_with("upgrade.from"), "{list:?}: {err}");
            assert!(err.contains(needle), "{list:?}: {err}");
        }
    }

    /// `previous-minor`: the newest release of the highest minor line below the previous's.
    #[test]
    fn previous_minor_is_the_newest_release_of_the_line_before() {
        let all = rel(&[
            "1.4.0+a",
            "1.5.0+a",
            "1.5.2+a",
            "1.6.0-rc.1+a",
            "2.0.0+b",
            "2.0.3+b",
            "2.1.0+c",
        ]);
        // (previous, head commit, expected)
        let rows: &[(&str, &str, Option<&str>)] = &[
            // Across a major: 2.0's line before is 1.5 (the rc of 1.6 is no release line).
            ("2.0.3+b", "head", Some("1.5.2+a")),
            ("2.1.0+c", "head", Some("2.0.3+b")),
            ("1.5.2+a", "head", Some("1.4.0+a")),
            // The oldest line has none before it.
            ("1.4.0+a", "head", None),
            // A head that is a release (2.0.3) never names a newer release.
            ("2.0.0+b", "c-2.0.3+b", Some("1.5.2+a")),
        ];
        for (previous, head, want) in rows {
            let got = previous_minor(&all, &tag_of(&all, previous), head).map(|r| r.tag.as_str());
            assert_eq!(got, *want, "previous {previous}");
        }
    }

    #[test]
    fn paths_resolve_against_the_releases() {
        let all = rel(&["1.0.0+1", "1.0.1+1", "1.1.0+2", "1.2.0+3"]);
        let previous = tag_of(&all, "1.2.0+3");
        let from =
            |l: &[&str]| parse_from(&l.iter().map(|s| s.to_string()).collect::<Vec<_>>()).unwrap();
        // (from, head commit, Ok(extra tags, notes count) or Err(words))
        type Row<'a> = (
            &'a [&'a str],
            &'a str,
            Result<(&'a [&'a str], usize), &'a str>,
        );
        let rows: &[Row] = &[
            (&["previous"], "head", Ok((&[], 0))),
            (&["previous", "previous-minor"], "head", Ok((&["1.1.0+2"], 0))),
            (&["previous", "1.0.0+1", "previous-minor"], "head", Ok((&["1.0.0+1", "1.1.0+2"], 0))),
            // Listed twice by two names: tested once, said.
            (&["previous", "previous-minor", "1.1.0+2"], "head", Ok((&["1.1.0+2"], 1))),
            (&["previous", "1.2.0+3"], "head", Ok((&[], 1))),
            (&["previous", "9.9.9+9"], "head", Err("is not a release of this recipe (releases: 1.0.0+1, 1.0.1+1, 1.1.0+2, 1.2.0+3)")),
            (&["previous", "1.2.0+3"], "c-1.2.0+3", Err("is not older than the head")),
        ];
        for (list, head, want) in rows {
            let got = resolve(&from(list), &previous, &all, head);
            match (got, want) {
                (Ok(r), Ok((tags, notes))) => {
                    let got: Vec<&str> = r.extra.iter().map(|p| p.release.tag.as_str()).collect();
                    assert_eq!(got, *tags, "{list:?}");
                    assert_eq!(r.notes.len(), *notes, "{list:?}: {:?}", r.notes);
                }
                (Err(e), Err(needle)) => assert!(e.contains(needle), "{list:?}: {e}"),
                (got, _) => panic!("{list:?}: {got:?}"),
            }
        }
        // previous-minor with nothing before the previous's line: a note, no path.
        let one_line = rel(&["1.0.0+1", "1.0.1+1"]);
        let r = resolve(
            &from(&["previous", "previous-minor"]),
            &tag_of(&one_line, "1.0.1+1"),
            &one_line,
            "head",
        )
        .unwrap();
        assert!(r.extra.is_empty());
        assert!(
            r.notes[0].contains("no release of a minor line before 1.0.1+1's (1.0)"),
            "{:?}",
            r.notes
        );
    }

    fn path(from: &str, status: RungStatus, reason: Option<&str>) -> UpgradePath {
        UpgradePath {
            from: from.into(),
            asked: from.into(),
            status,
            reason: reason.map(str::to_string),
            duration_ms: 1000,
            deploy_count: 2,
        }
    }

    /// The upgrade rung passes only if every path passes.
    #[test]
    fn the_upgrade_rung_passes_only_if_every_path_passes() {
        use RungStatus::*;
        // (the ladder's own upgrade, extra paths, expected status, words of the reason)
        type Row<'a> = (
            RungStatus,
            &'a [(RungStatus, Option<&'a str>)],
            RungStatus,
            &'a str,
        );
        let rows: &[Row] = &[
            (Pass, &[], Pass, ""),
            (Pass, &[(Pass, None), (Pass, None)], Pass, ""),
            (
                Pass,
                &[(Pass, None), (Fail, Some("data did not survive"))],
                Fail,
                "upgrade from 1.0.0+1: data did not survive",
            ),
            (Fail, &[(Fail, Some("other"))], Fail, "own"),
            (
                Pass,
                &[(Skip, Some("run stopped"))],
                Skip,
                "upgrade from 1.0.0+1 did not run: run stopped",
            ),
            (
                Pass,
                &[(Skip, None), (Fail, Some("x"))],
                Fail,
                "upgrade from 1.0.0+1: x",
            ),
            // Named once when the path's reason names it already.
            (
                Pass,
                &[(Fail, Some("upgrade from 1.0.0+1: lost"))],
                Fail,
                "upgrade from 1.0.0+1: lost",
            ),
            (Skip, &[(Fail, Some("x"))], Skip, "own"),
        ];
        for (own, extra, want, words) in rows {
            let mut rung = RungResult {
                name: Rung::Upgrade,
                status: *own,
                reason: Some("own".into()),
                skip: None,
                duration_ms: 1,
                tests: Vec::new(),
            };
            let paths: Vec<UpgradePath> =
                extra.iter().map(|(s, r)| path("1.0.0+1", *s, *r)).collect();
            fold(&mut rung, &paths);
            assert_eq!(rung.status, *want, "{own:?} {extra:?}");
            let reason = rung.reason.as_deref().unwrap_or("");
            assert!(reason.contains(words), "{own:?} {extra:?}: {reason}");
            assert_eq!(
                reason.matches("upgrade from").count(),
                words.matches("upgrade from").count(),
                "{reason}"
            );
        }
    }
}
