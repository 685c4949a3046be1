//! `.env` / `.env.sample` files: parse, render, expand.

use crate::mutate::{arbitrary_text, mutated, nasty_fragment};
use crate::{assert_specific, config};
use ccci_core::envfile::{expand, EnvFile};
use proptest::prelude::*;

fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        60 => "[A-Z_][A-Z0-9_]{0,10}",
        1 => Just(String::new()),
        1 => "[0-9][A-Z]{0,3}",
        1 => nasty_fragment(),
    ]
}

fn value() -> impl Strategy<Value = String> {
    let word = prop_oneof![
        12 => "[a-z0-9./:,_-]{0,12}",
        1 => Just("$OTHER".to_string()),
        1 => Just("${A:-d}".to_string()),
        1 => Just("${A".to_string()),
        1 => any::<char>().prop_map(String::from),
        1 => nasty_fragment(),
    ];
    let raw = prop::collection::vec(word, 0..4).prop_map(|w| w.join(" "));
    (raw, 0u8..13).prop_map(|(raw, quoting)| match quoting {
        0..=3 => raw,
        4..=7 => format!("'{}'", raw.replace('\'', "")),
        8..=11 => format!("\"{}\"", raw.replace('\\', "").replace('"', "\\\"")),
        _ => format!("\"{raw}"),
    })
}

/// A trailing modifier comment such as `# length=32 charset=hex`.
fn comment() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        "[a-z]{1,8}=[0-9]{1,30}".prop_map(|m| format!("  # {m}")),
        (arbitrary_text()).prop_map(|c| format!(" #{c}")),
    ]
}

fn line() -> impl Strategy<Value = String> {
    (any::<bool>(), key(), value(), comment(), 0u8..8).prop_map(
        |(export, key, value, comment, kind)| match kind {
            0 => format!("# {key}={value}"),
            1 => String::new(),
            _ => format!(
                "{}{key}={value}{comment}",
                if export { "export " } else { "" }
            ),
        },
    )
}

fn env_text() -> impl Strategy<Value = String> {
    (prop::collection::vec(line(), 0..12), any::<bool>())
        .prop_map(|(lines, crlf)| lines.join(if crlf { "\r\n" } else { "\n" }))
}

/// Parses `text`; a rejection names a line of the file and says what is wrong. Accepted
/// input renders back to a file that parses to the same values and modifiers.
fn check(text: &str) {
    match EnvFile::parse(text) {
        Ok(env) => {
            let rendered = env.render();
            let again = EnvFile::parse(&rendered)
                .unwrap_or_else(|e| panic!("{text:?} rendered as {rendered:?}: {e}"));
            assert_eq!(again.to_map(), env.to_map(), "rendered as {rendered:?}");
            for entry in &env.entries {
                let back = again.entry(&entry.key).map(|e| &e.modifiers);
                assert_eq!(back, Some(&entry.modifiers), "rendered as {rendered:?}");
            }
        }
        Err(e) => {
            assert!(
                e.line >= 1 && e.line <= text.lines().count(),
                "{e} in {text:?}"
            );
            assert_specific(&e.message);
        }
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn fuzz_envfile_arbitrary_text(text in arbitrary_text()) {
        check(&text);
    }

    #[test]
    fn fuzz_envfile_near_valid(text in mutated(env_text())) {
        check(&text);
    }

    /// Any value set by the runner (a generated secret, a domain) survives render and parse.
    #[test]
    fn fuzz_envfile_set_values_round_trip(key in "[A-Z_][A-Z0-9_]{0,10}", value in arbitrary_text()) {
        let mut env = EnvFile::default();
        env.set(&key, value.clone());
        let again = EnvFile::parse(&env.render()).unwrap();
        prop_assert_eq!(again.get(&key), Some(value.as_str()));
    }

    #[test]
    fn fuzz_envfile_expand_arbitrary(text in arbitrary_text(), known in arbitrary_text()) {
        let out = expand(&text, |name| (name == "A").then_some(known.as_str()));
        // Text without `$` is left as it is.
        if !text.contains('$') {
            prop_assert_eq!(out, text);
        }
    }
}
