//! Property-based fuzzing of every parser cc-ci feeds untrusted recipe text through
//! (issue 10): compose and `${VAR}` interpolation, `.env` files, `suite.toml`, release tags,
//! secrets' `length=` modifiers, the lint's readers, `docker stack deploy`'s stderr and
//! suites' JUnit XML. Each parser gets (a) arbitrary text and (b) near-valid text (its
//! grammar, mutated). Properties: it never panics; a rejection is a specific error; accepted
//! input round-trips where the format allows.
//!
//! Case counts come from `PROPTEST_CASES` (default [`DEFAULT_CASES`] per test: the short form
//! CI runs); `benches/fuzz.sh` runs the long form. Every test is named `fuzz_<parser>_…` so
//! the bench can time one parser at a time.

mod compose;
mod envfile;
mod lint;
mod mutate;
mod secrets;
mod suite;
mod tool_output;
mod version;

use proptest::test_runner::Config;

/// Cases per property test when `PROPTEST_CASES` is not set.
pub const DEFAULT_CASES: u32 = 2_000;

/// The proptest configuration every fuzz test uses: `PROPTEST_CASES` or [`DEFAULT_CASES`],
/// and no regression files (each case found is a unit test next to its parser instead).
pub fn config() -> Config {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(DEFAULT_CASES);
    Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    }
}

/// A rejection worth showing a user: says something, and not just "error".
pub fn assert_specific(message: &str) {
    let trimmed = message.trim();
    assert!(
        !trimmed.is_empty() && !trimmed.eq_ignore_ascii_case("error"),
        "vague error: {message:?}"
    );
}
