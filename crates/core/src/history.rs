//! History that helps: for a recipe that is red now, its last green run and the first red
//! run after it, and what changed between their records (versions, head commit, images per
//! service, `.env` keys — never `.env` values), and a digest that moved under an unchanged
//! tag: the most common reason a recipe that did not change turns red overnight.

use crate::results::{ImageRan, RunResults};
use crate::run_end::RunEnd;
use std::collections::{BTreeMap, BTreeSet};

/// Where a red recipe broke: the run ids, newest history first in the input.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Breakage {
    /// The last green run before the reds; `None` when the recipe was never green.
    pub last_green: Option<i64>,
    /// The first red run after it (the oldest red of the current streak).
    pub first_red: i64,
}

/// From finished runs `(id, how it ended)`, newest first: where the current streak of
/// runs that were not green began, or `None` when the newest run is green (or there is none).
pub fn breakage(finished: &[(i64, RunEnd)]) -> Option<Breakage> {
    let (_, newest) = finished.first()?;
    if *newest == RunEnd::GREEN {
        return None;
    }
    let streak = finished
        .iter()
        .take_while(|(_, end)| *end != RunEnd::GREEN)
        .count();
    Some(Breakage {
        last_green: finished.get(streak).map(|(id, _)| *id),
        first_red: finished[streak - 1].0,
    })
}

/// One thing that differs: before (in the green run) and after (in the red one); `None` =
/// not recorded / absent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Change {
    pub what: String,
    pub before: Option<String>,
    pub after: Option<String>,
}

/// What changed from the green run's record to the red one's.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Changes {
    /// `head version`, `base version`, `head commit`, when they differ.
    pub versions: Vec<Change>,
    /// Per service (`app`, `db`, …), when its image differs or it came or went.
    pub images: Vec<Change>,
    pub env_added: Vec<String>,
    pub env_removed: Vec<String>,
    /// Per service whose tag is the same in both runs, when the content it ran differs.
    pub digests_moved: Vec<DigestMoved>,
}

/// A tag that stayed while what it names changed (pushed again in the registry, or rebuilt
/// here): `before` and `after` are the registry digests when both runs know one, else the
/// engine's image IDs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DigestMoved {
    pub service: String,
    /// `name:tag`, the same in both runs.
    pub tag: String,
    pub before: String,
    pub after: String,
}

impl Changes {
    pub fn is_empty(&self) -> bool {
        self.versions.is_empty()
            && self.images.is_empty()
            && self.env_added.is_empty()
            && self.env_removed.is_empty()
            && self.digests_moved.is_empty()
    }
}

/// What changed from `green` to `red`.
pub fn changes(green: &RunResults, red: &RunResults) -> Changes {
    let fields = [
        ("head version", &green.head_version, &red.head_version),
        ("base version", &green.base_version, &red.base_version),
        ("head commit", &green.head_commit, &red.head_commit),
    ];
    let versions = fields
        .into_iter()
        .filter(|(_, before, after)| before != after)
        .map(|(what, before, after)| Change {
            what: what.to_string(),
            before: before.clone(),
            after: after.clone(),
        })
        .collect();
    let before: BTreeSet<&String> = green.env_keys.iter().collect();
    let after: BTreeSet<&String> = red.env_keys.iter().collect();
    Changes {
        versions,
        images: image_changes(&green.images, &red.images),
        env_added: after.difference(&before).map(|k| k.to_string()).collect(),
        env_removed: before.difference(&after).map(|k| k.to_string()).collect(),
        digests_moved: digests_moved(&green.images_ran, &red.images_ran),
    }
}

fn digests_moved(
    before: &BTreeMap<String, ImageRan>,
    after: &BTreeMap<String, ImageRan>,
) -> Vec<DigestMoved> {
    before
        .iter()
        .filter_map(|(service, was)| {
            let now = after.get(service).filter(|now| now.tag() == was.tag())?;
            let (b, a) = match (&was.digest, &now.digest) {
                (Some(b), Some(a)) => (b, a),
                _ => (&was.id, &now.id),
            };
            (b != a).then(|| DigestMoved {
                service: service.clone(),
                tag: was.tag().to_string(),
                before: b.clone(),
                after: a.clone(),
            })
        })
        .collect()
}

fn image_changes(
    before: &BTreeMap<String, String>,
    after: &BTreeMap<String, String>,
) -> Vec<Change> {
    let services: BTreeSet<&String> = before.keys().chain(after.keys()).collect();
    services
        .into_iter()
        .filter(|s| before.get(*s) != after.get(*s))
        .map(|s| Change {
            what: s.clone(),
            before: before.get(s).cloned(),
            after: after.get(s).cloned(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    const G: RunEnd = RunEnd::GREEN;
    const R: RunEnd = RunEnd::RED;

    #[test]
    fn the_red_streak_begins_after_the_last_green() {
        type Row<'a> = (&'a [(i64, RunEnd)], Option<Breakage>);
        let rows: &[Row] = &[
            (&[], None),
            (&[(3, G), (2, R)], None),
            (
                &[(5, R), (4, R), (3, G), (2, R)],
                Some(Breakage {
                    last_green: Some(3),
                    first_red: 4,
                }),
            ),
            (
                &[(5, R), (3, G)],
                Some(Breakage {
                    last_green: Some(3),
                    first_red: 5,
                }),
            ),
            (
                &[(2, R), (1, R)],
                Some(Breakage {
                    last_green: None,
                    first_red: 1,
                }),
            ),
        ];
        for (history, want) in rows {
            assert_eq!(breakage(history), *want, "{history:?}");
        }
    }

    fn record(version: &str, commit: &str, images: &[(&str, &str)], keys: &[&str]) -> RunResults {
        let mut r: RunResults = serde_json::from_value(serde_json::json!({
            "schema": 2, "run_id": "r", "recipe": "x", "source": "s", "mode": "cold",
            "domain": "d", "stack": "s", "verdict": "green", "level": 4, "expected_level": 4,
            "rungs": [], "timings_ms": {}, "deploy_count": 1,
            "flags": {"clean_teardown": true, "no_secret_leak": true},
            "started_at": "", "finished_at": "", "duration_ms": 0
        }))
        .unwrap();
        r.head_version = Some(version.into());
        r.base_version = Some("1.0.0+1".into());
        r.head_commit = Some(commit.into());
        r.images = images
            .iter()
            .map(|(s, i)| (s.to_string(), i.to_string()))
            .collect();
        r.env_keys = keys.iter().map(|k| k.to_string()).collect();
        r
    }

    fn change(what: &str, before: Option<&str>, after: Option<&str>) -> Change {
        Change {
            what: what.into(),
            before: before.map(String::from),
            after: after.map(String::from),
        }
    }

    #[test]
    fn changes_name_versions_images_and_env_keys() {
        let green = record(
            "1.1.0+2",
            "aaa",
            &[("app", "nginx:1.25"), ("db", "pg:15")],
            &["DOMAIN", "OLD"],
        );
        let same = record(
            "1.1.0+2",
            "aaa",
            &[("app", "nginx:1.25"), ("db", "pg:15")],
            &["DOMAIN", "OLD"],
        );
        assert!(changes(&green, &same).is_empty());

        let red = record(
            "1.2.0+2",
            "bbb",
            &[("app", "nginx:1.27"), ("cache", "redis:7")],
            &["DOMAIN", "NEW"],
        );
        let got = changes(&green, &red);
        assert_eq!(
            got.versions,
            [
                change("head version", Some("1.1.0+2"), Some("1.2.0+2")),
                change("head commit", Some("aaa"), Some("bbb")),
            ]
        );
        assert_eq!(
            got.images,
            [
                change("app", Some("nginx:1.25"), Some("nginx:1.27")),
                change("cache", None, Some("redis:7")),
                change("db", Some("pg:15"), None),
            ]
        );
        assert_eq!(got.env_added, ["NEW"]);
        assert_eq!(got.env_removed, ["OLD"]);
    }

    fn ran(image: &str, digest: Option<&str>, id: &str) -> ImageRan {
        ImageRan {
            image: image.into(),
            digest: digest.map(String::from),
            id: id.into(),
        }
    }

    #[test]
    fn a_digest_that_moved_under_an_unchanged_tag_is_named() {
        let tag = "127.0.0.1:5000/x/app:1.2";
        type Row<'a> = (&'a str, ImageRan, ImageRan, Option<(&'a str, &'a str)>);
        let rows: Vec<Row> = vec![
            (
                "same content",
                ran(tag, Some("sha256:a"), "i1"),
                ran(tag, Some("sha256:a"), "i1"),
                None,
            ),
            (
                "pushed again",
                ran(tag, Some("sha256:a"), "i1"),
                ran(&format!("{tag}@sha256:b"), Some("sha256:b"), "i2"),
                Some(("sha256:a", "sha256:b")),
            ),
            (
                "rebuilt locally",
                ran("app:1", None, "i1"),
                ran("app:1", None, "i2"),
                Some(("i1", "i2")),
            ),
            // One run pulled it, the other had it locally: the IDs decide.
            (
                "same image, digest learnt",
                ran(tag, None, "i1"),
                ran(tag, Some("sha256:a"), "i1"),
                None,
            ),
            (
                "the tag changed: an image change, not a move",
                ran("app:1", None, "i1"),
                ran("app:2", None, "i2"),
                None,
            ),
        ];
        for (name, before, after, want) in rows {
            let mut green = record("1", "c", &[], &[]);
            let mut red = record("1", "c", &[], &[]);
            green.images_ran.insert("app".into(), before);
            red.images_ran.insert("app".into(), after);
            let got = changes(&green, &red).digests_moved;
            let got: Vec<(&str, &str)> = got
                .iter()
                .map(|m| (m.before.as_str(), m.after.as_str()))
                .collect();
            assert_eq!(got, want.into_iter().collect::<Vec<_>>(), "{name}");
            if want.is_some() {
                assert!(!changes(&green, &red).is_empty(), "{name}");
            }
        }
    }
}
