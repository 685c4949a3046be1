//! Release tags and chaos-version labels.

use crate::config;
use crate::mutate::{arbitrary_text, mutated};
use ccci_core::version::{chaos_version_matches, parse_release_tag, releases, short_commit};
use proptest::prelude::*;

/// `X.Y.Z+<appversion>`, with a `v`, leading zeros, huge numbers and pre-releases.
fn tag_text() -> impl Strategy<Value = String> {
    let number = prop_oneof!["[0-9]{1,3}", "0[0-9]{1,3}", "[0-9]{18,25}"];
    (
        prop::option::of(Just("v")),
        number.clone(),
        number.clone(),
        number,
        prop::option::of("[0-9A-Za-z.-]{0,12}"),
        prop::option::of("[0-9A-Za-z.-]{0,12}"),
    )
        .prop_map(|(v, a, b, c, pre, meta)| {
            let mut s = format!("{}{a}.{b}.{c}", v.unwrap_or(""));
            if let Some(pre) = pre {
                s.push_str(&format!("-{pre}"));
            }
            if let Some(meta) = meta {
                s.push_str(&format!("+{meta}"));
            }
            s
        })
}

/// A parsed version formats and parses back to itself.
fn check(tag: &str) {
    if let Some(version) = parse_release_tag(tag) {
        assert_eq!(parse_release_tag(&version.to_string()), Some(version));
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn fuzz_version_arbitrary_text(tag in arbitrary_text()) {
        check(&tag);
    }

    #[test]
    fn fuzz_version_near_valid(tag in mutated(tag_text())) {
        check(&tag);
    }

    #[test]
    fn fuzz_version_release_lists(
        tags in prop::collection::vec((mutated(tag_text()), "tag|commit|blob", "[0-9a-f]{0,40}"), 0..12),
        head in arbitrary_text(),
        label in arbitrary_text(),
    ) {
        let (rel, stray) = releases(&tags);
        prop_assert!(rel.len() + stray.len() <= tags.len());
        prop_assert!(rel.windows(2).all(|w| w[0].version <= w[1].version));
        prop_assert!(short_commit(&head).chars().count() <= 8);
        let _ = chaos_version_matches(&label, &head);
    }
}
