//! Recipe versions: annotated git tags named `X.Y.Z+<appversion>`.

use semver::Version;

/// A release tag of a recipe.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Release {
    pub tag: String,
    pub version: Version,
    pub commit: String,
}

/// Parses `1.2.0+1.27.2` (a leading `v` is tolerated). Anything else is not a release.
pub fn parse_release_tag(tag: &str) -> Option<Version> {
    let v = Version::parse(tag.strip_prefix('v').unwrap_or(tag)).ok()?;
    Some(v)
}

/// Tags as `(name, object type, commit)` from git; keeps annotated release tags only, oldest
/// first. A lightweight tag (object type `commit`) is not a release, even if it is named
/// like one: it is returned in the second list so the caller can warn about it.
pub fn releases(tags: &[(String, String, String)]) -> (Vec<Release>, Vec<String>) {
    let mut releases = Vec::new();
    let mut stray = Vec::new();
    for (name, kind, commit) in tags {
        let Some(version) = parse_release_tag(name) else {
            continue;
        };
        if kind != "tag" {
            stray.push(name.clone());
            continue;
        }
        releases.push(Release {
            tag: name.clone(),
            version,
            commit: commit.clone(),
        });
    }
    releases.sort_by(|a, b| a.version.cmp(&b.version));
    (releases, stray)
}

/// The release an upgrade starts from: the newest release that is not the head itself.
pub fn upgrade_base<'a>(releases: &'a [Release], head_commit: &str) -> Option<&'a Release> {
    releases.iter().rev().find(|r| r.commit != head_commit)
}

/// The head's own version: its release tag if the head is a release, else its short commit.
pub fn head_version(releases: &[Release], head_commit: &str) -> String {
    releases
        .iter()
        .rev()
        .find(|r| r.commit == head_commit)
        .map(|r| r.tag.clone())
        .unwrap_or_else(|| short_commit(head_commit))
}

/// abra shows commits by their first 8 characters.
pub fn short_commit(commit: &str) -> String {
    commit.chars().take(8).collect()
}

/// Does a deployed `chaos-version` label name the expected commit? A trailing `+U`
/// (untracked files in the deployer's tree) is ignored; the commit itself must match.
pub fn chaos_version_matches(label: &str, commit: &str) -> bool {
    let label = label.trim();
    let label = label.strip_suffix("+U").unwrap_or(label);
    label.len() >= 7 && commit.starts_with(label)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tag(name: &str, kind: &str, commit: &str) -> (String, String, String) {
        (name.into(), kind.into(), commit.into())
    }

    #[test]
    fn releases_are_annotated_version_tags_sorted() {
        let tags = vec![
            tag("1.1.0+1.1.0", "tag", "bbbb"),
            tag("1.0.0+1.0.0", "tag", "aaaa"),
            tag("1.10.0+2.0", "tag", "dddd"),
            tag("1.2.0+1.2.0", "commit", "cccc"),
            tag("nightly", "tag", "eeee"),
        ];
        let (rel, stray) = releases(&tags);
        let names: Vec<_> = rel.iter().map(|r| r.tag.as_str()).collect();
        assert_eq!(names, ["1.0.0+1.0.0", "1.1.0+1.1.0", "1.10.0+2.0"]);
        assert_eq!(stray, ["1.2.0+1.2.0"]);
    }

    #[test]
    fn base_and_head_versions() {
        let (rel, _) = releases(&[tag("1.0.0+1", "tag", "aaaa"), tag("1.1.0+1", "tag", "bbbb")]);
        // A head newer than every release upgrades from the latest.
        assert_eq!(upgrade_base(&rel, "cccccccccc").unwrap().tag, "1.1.0+1");
        assert_eq!(head_version(&rel, "cccccccccc"), "cccccccc");
        // A head that is the latest release upgrades from the one before.
        assert_eq!(upgrade_base(&rel, "bbbb").unwrap().tag, "1.0.0+1");
        assert_eq!(head_version(&rel, "bbbb"), "1.1.0+1");
        assert!(upgrade_base(&rel[..1], "aaaa").is_none());
    }

    #[test]
    fn chaos_labels() {
        let commit = "0123456789abcdef0123";
        for (label, want) in [
            ("01234567", true),
            ("01234567+U", true),
            ("0123456789abcdef0123", true),
            ("76543210", false),
            ("0123", false),
            ("", false),
        ] {
            assert_eq!(chaos_version_matches(label, commit), want, "{label}");
        }
    }
}
