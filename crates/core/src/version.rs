//! Recipe versions: annotated git tags named `X.Y.Z+<appversion>`.

use semver::Version;
use std::collections::{BTreeMap, BTreeSet};

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

/// The release an upgrade starts from: the release the head came from — the newest release
/// whose commit is an ancestor of the head (`ancestors`: the release commits git says are,
/// `git merge-base --is-ancestor`) and that is older than the head: not the head's own
/// commit and, when the head is a release itself, of a lower version. Never a newer
/// release: an older release or a hotfix branch is compared with its own past, not with
/// what was released after it.
pub fn upgrade_base<'a>(
    releases: &'a [Release],
    head_commit: &str,
    ancestors: &BTreeSet<String>,
) -> Option<&'a Release> {
    let older = older_than_head(releases, head_commit);
    releases
        .iter()
        .rev()
        .find(|r| older(r) && ancestors.contains(&r.commit))
}

/// Whether a release is older than the head: not the head's own commit and, when the head
/// is a release itself, of a lower version.
pub fn older_than_head<'a>(
    releases: &'a [Release],
    head_commit: &'a str,
) -> impl Fn(&Release) -> bool + 'a {
    let head_version = releases
        .iter()
        .filter(|r| r.commit == head_commit)
        .map(|r| &r.version)
        .max();
    move |r: &Release| r.commit != head_commit && head_version.is_none_or(|v| r.version < *v)
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

/// An image reference split as the engine means it: registry/repository, tag (`latest`
/// when none), digest. `nginx`, `library/nginx` and `docker.io/library/nginx:latest` are
/// one image.
fn image_parts(reference: &str) -> (String, String, Option<String>) {
    let (named, digest) = match reference.split_once('@') {
        Some((n, d)) => (n, Some(d.to_string())),
        None => (reference, None),
    };
    let slash = named.rfind('/').map_or(0, |i| i + 1);
    let (name, tag) = match named[slash..].rfind(':') {
        Some(i) => (&named[..slash + i], &named[slash + i + 1..]),
        None => (named, "latest"),
    };
    let name = name.strip_prefix("docker.io/").unwrap_or(name);
    let name = name.strip_prefix("library/").unwrap_or(name);
    (name.to_string(), tag.to_string(), digest)
}

/// Does a task that runs `running` (swarm pins the digest it resolved:
/// `nginx:1.27@sha256:…`) run the image the compose file names (`named`)? Same repository
/// and tag, and the same digest when the compose file pins one.
pub fn runs_image(named: &str, running: &str) -> bool {
    let (n_name, n_tag, n_digest) = image_parts(named);
    let (r_name, r_tag, r_digest) = image_parts(running);
    n_name == r_name && n_tag == r_tag && n_digest.is_none_or(|d| r_digest.as_ref() == Some(&d))
}

/// A service the upgrade left on another image than the head names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NotMoved {
    pub service: String,
    /// What its running task runs (as the engine reports it, digest included).
    pub running: String,
    /// What the head's compose files name.
    pub named: String,
}

impl std::fmt::Display for NotMoved {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "the version did not move to the head: service {} runs {} but the head names {} (swarm kept or put back the old spec: a paused or rolled-back update). Fix: make the head's {} start and pass its healthcheck, so swarm completes the update",
            self.service, self.running, self.named, self.service
        )
    }
}

/// "Version moved", measured on the engine: every running task of each service the head
/// names runs the head's image (`named`: service → image as the head's compose files say
/// with the app's `.env`; `running`: service → the images of its running tasks). A service
/// with no running task (a finished job, zero replicas) is readiness's to judge. The first
/// service left behind, by name.
pub fn not_moved(
    named: &BTreeMap<String, String>,
    running: &BTreeMap<String, Vec<String>>,
) -> Option<NotMoved> {
    named.iter().find_map(|(service, image)| {
        let stale = running
            .get(service)?
            .iter()
            .find(|r| !runs_image(image, r))?;
        Some(NotMoved {
            service: service.clone(),
            running: stale.clone(),
            named: image.clone(),
        })
    })
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

    fn set(commits: &[&str]) -> BTreeSet<String> {
        commits.iter().map(|c| c.to_string()).collect()
    }

    #[test]
    fn base_and_head_versions() {
        let (rel, _) = releases(&[tag("1.0.0+1", "tag", "aaaa"), tag("1.1.0+1", "tag", "bbbb")]);
        let both = set(&["aaaa", "bbbb"]);
        // A head newer than every release upgrades from the latest.
        assert_eq!(
            upgrade_base(&rel, "cccccccccc", &both).unwrap().tag,
            "1.1.0+1"
        );
        assert_eq!(head_version(&rel, "cccccccccc"), "cccccccc");
        // A head that is the latest release upgrades from the one before.
        assert_eq!(
            upgrade_base(&rel, "bbbb", &set(&["aaaa"])).unwrap().tag,
            "1.0.0+1"
        );
        assert_eq!(head_version(&rel, "bbbb"), "1.1.0+1");
        assert!(upgrade_base(&rel[..1], "aaaa", &set(&[])).is_none());
    }

    /// The base is the release the head came from: the newest older release on its history.
    #[test]
    fn the_base_is_the_release_the_head_came_from() {
        let (rel, _) = releases(&[
            tag("1.0.0+1", "tag", "r100"),
            tag("1.1.0+1", "tag", "r110"),
            tag("1.1.1+1", "tag", "r111"),
            tag("2.0.0+1", "tag", "r200"),
        ]);
        // (head, release commits that are its ancestors, expected base)
        let rows: &[(&str, &[&str], Option<&str>)] = &[
            // A commit on main after every release: the newest.
            ("main", &["r100", "r110", "r111", "r200"], Some("2.0.0+1")),
            // `--ref 1.1.0+1`: its own past, never the newer 2.0.0 (no "downgrade").
            ("r110", &["r100"], Some("1.0.0+1")),
            // A hotfix branch off 1.1.0, beside 1.1.1 and 2.0.0: from 1.1.0.
            ("hotfix", &["r100", "r110"], Some("1.1.0+1")),
            // A commit between 1.0.0 and 1.1.0 (on main's history before 1.1.0).
            ("mid", &["r100"], Some("1.0.0+1")),
            // A head sharing no history with any release: nothing to upgrade from.
            ("orphan", &[], None),
            // The oldest release: nothing older.
            ("r100", &[], None),
            // A release tag whose commit is an ancestor but of a higher version (a tag
            // moved back in history) is not older than the head.
            ("r111", &["r100", "r110", "r200"], Some("1.1.0+1")),
        ];
        for (head, ancestors, want) in rows {
            let got = upgrade_base(&rel, head, &set(ancestors)).map(|r| r.tag.as_str());
            assert_eq!(got, *want, "head {head}");
        }
    }

    #[test]
    fn a_task_runs_the_image_the_compose_file_names() {
        let d = "sha256:aaaa";
        for (named, running, want) in [
            ("nginx:1.27", "nginx:1.27@sha256:aaaa", true),
            ("nginx", "docker.io/library/nginx:latest@sha256:aaaa", true),
            ("library/nginx:1.27", "nginx:1.27", true),
            ("nginx:1.27@sha256:aaaa", "nginx:1.27@sha256:aaaa", true),
            ("nginx:1.27@sha256:bbbb", "nginx:1.27@sha256:aaaa", false),
            ("nginx:1.27", "nginx:1.25@sha256:aaaa", false),
            ("nginx:1.27", "caddy:1.27", false),
            (
                "registry.example:5000/app:2",
                "registry.example:5000/app:2@sha256:aaaa",
                true,
            ),
            (
                "registry.example:5000/app",
                "registry.example:5000/app:latest",
                true,
            ),
            (
                "registry.example:5000/app:2",
                "registry.example:5000/app:1",
                false,
            ),
        ] {
            assert_eq!(
                runs_image(named, running),
                want,
                "{named} vs {running} ({d})"
            );
        }
    }

    #[test]
    fn the_version_moved_when_every_running_task_runs_the_heads_image() {
        let named: BTreeMap<String, String> = [("app", "web:2"), ("worker", "job:2")]
            .iter()
            .map(|(s, i)| (s.to_string(), i.to_string()))
            .collect();
        let running = |rows: &[(&str, &[&str])]| -> BTreeMap<String, Vec<String>> {
            rows.iter()
                .map(|(s, is)| (s.to_string(), is.iter().map(|i| i.to_string()).collect()))
                .collect()
        };
        // (what runs, the service left behind and what it runs)
        type Running<'a> = &'a [(&'a str, &'a [&'a str])];
        let rows: &[(Running, Option<(&str, &str)>)] = &[
            (
                &[("app", &["web:2@sha256:1"]), ("worker", &["job:2"])],
                None,
            ),
            // A paused update: the old task still runs beside none of the new.
            (
                &[("app", &["web:1@sha256:0"]), ("worker", &["job:2"])],
                Some(("app", "web:1@sha256:0")),
            ),
            // Half-way: one replica moved, one did not.
            (
                &[("app", &["web:2", "web:1"]), ("worker", &["job:2"])],
                Some(("app", "web:1")),
            ),
            (
                &[("app", &["web:2"]), ("worker", &["job:1"])],
                Some(("worker", "job:1")),
            ),
            // No running task (a finished job): readiness judges it, not this rule.
            (&[("app", &["web:2"]), ("worker", &[])], None),
            (&[("app", &["web:2"])], None),
            // A service the head does not name (left from the base) is not the head's.
            (&[("app", &["web:2"]), ("old", &["x:1"])], None),
        ];
        for (run, want) in rows {
            let got = not_moved(&named, &running(run));
            let got = got
                .as_ref()
                .map(|n| (n.service.as_str(), n.running.as_str()));
            assert_eq!(got, *want, "{run:?}");
        }
        let msg = not_moved(&named, &running(&[("app", &["web:1@sha256:0"])]))
            .unwrap()
            .to_string();
        assert!(
            msg.contains("service app runs web:1@sha256:0 but the head names web:2"),
            "{msg}"
        );
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
