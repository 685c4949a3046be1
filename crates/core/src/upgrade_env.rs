//! The app's `.env` and secrets across an upgrade, as an operator lives it with abra: the
//! base release is installed from its own `.env.sample`; `abra app upgrade` keeps the app's
//! `.env` (the operator's values, their `SECRET_*_VERSION`s included) and moves the version;
//! `abra app secret generate` then creates the secrets the new release names that the app
//! does not have yet.
//!
//! Where cc-ci does more than abra: abra never writes the head's new `.env.sample` variables
//! into the app's `.env` (`abra app check` lists them; the operator adds them, as release
//! notes ask). cc-ci adds exactly those — each key the app's `.env` lacks, with the sample's
//! value and modifiers — and says which, so that a secret or setting a release introduces is
//! judged as the operator who followed the notes has it. A value the app already has is
//! never changed: a bumped `SECRET_*_VERSION` in the head's sample does not rotate the app's.

use crate::envfile::EnvFile;
use crate::naming::SecretSpec;

/// The app's `.env` after the upgrade to a head whose `.env.sample` is `head_sample`, and
/// the keys it added (in the sample's order).
pub fn upgraded(app_env: &EnvFile, head_sample: &EnvFile) -> (EnvFile, Vec<String>) {
    let mut env = app_env.clone();
    let mut added = Vec::new();
    for entry in &head_sample.entries {
        if env.entry(&entry.key).is_none() {
            env.entries.push(entry.clone());
            added.push(entry.key.clone());
        }
    }
    (env, added)
}

/// The secrets of the head (named with the upgraded `.env`) that the installed app does not
/// have: the only ones the upgrade generates. `installed` are engine names.
pub fn added_secrets(installed: &[&str], head: Vec<SecretSpec>) -> Vec<SecretSpec> {
    head.into_iter()
        .filter(|s| !installed.contains(&s.engine_name.as_str()))
        .collect()
}

/// The keys the app's `.env` keeps at another value than the head's `.env.sample` gives
/// (`TYPE`, `DOMAIN` and the keys in `set_by_ci` — the judging suite's settings — aside):
/// what to name when the upgraded head fails, since abra never changes them. Keys only: a
/// value may be a secret.
pub fn kept_otherwise(app_env: &EnvFile, head_sample: &EnvFile, set_by_ci: &[&str]) -> Vec<String> {
    head_sample
        .entries
        .iter()
        .filter(|e| !["TYPE", "DOMAIN"].contains(&e.key.as_str()))
        .filter(|e| !set_by_ci.contains(&e.key.as_str()))
        .filter(|e| app_env.get(&e.key).is_some_and(|v| v != e.value))
        .map(|e| e.key.clone())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(text: &str) -> EnvFile {
        EnvFile::parse(text).unwrap()
    }

    fn spec(engine_name: &str) -> SecretSpec {
        SecretSpec {
            key: engine_name.into(),
            env_var: String::new(),
            version: "v1".into(),
            length: 32,
            generate: true,

            engine_name: engine_name.into(),
        }
    }

    #[test]
    fn the_operators_env_is_kept_and_only_new_keys_are_added() {
        // (app's .env, head's .env.sample, the upgraded values, the keys added)
        type Row<'a> = (&'a str, &'a str, &'a [(&'a str, &'a str)], &'a [&'a str]);
        let rows: &[Row] = &[
            // Nothing new: the app's .env as it is.
            ("A=1\n", "A=1\n", &[("A", "1")], &[]),
            // The operator's value wins over the head's new default.
            ("A=mine\n", "A=theirs\n", &[("A", "mine")], &[]),
            // A variable the head introduces is added with the sample's value.
            (
                "A=1\n",
                "A=1\nNEW=x\n",
                &[("A", "1"), ("NEW", "x")],
                &["NEW"],
            ),
            // A bumped secret version does not rotate the app's secret.
            (
                "SECRET_DB_VERSION=v1\n",
                "SECRET_DB_VERSION=v2\n",
                &[("SECRET_DB_VERSION", "v1")],
                &[],
            ),
            // A secret the head adds gets its version line.
            (
                "SECRET_DB_VERSION=v1\n",
                "SECRET_DB_VERSION=v1\nSECRET_API_VERSION=v1 # length=64\n",
                &[("SECRET_DB_VERSION", "v1"), ("SECRET_API_VERSION", "v1")],
                &["SECRET_API_VERSION"],
            ),
            // The operator's COMPOSE_FILE stays: the head's extra file is not switched on.
            (
                "COMPOSE_FILE=compose.yml\n",
                "COMPOSE_FILE=compose.yml:compose.new.yml\n",
                &[("COMPOSE_FILE", "compose.yml")],
                &[],
            ),
            // A variable the head drops stays in the app's .env (abra removes nothing).
            ("OLD=1\n", "", &[("OLD", "1")], &[]),
        ];
        for (app, head, want, added_want) in rows {
            let (got, added) = upgraded(&env(app), &env(head));
            for (k, v) in *want {
                assert_eq!(got.get(k), Some(*v), "{app:?} + {head:?}: {k}");
            }
            assert_eq!(got.entries.len(), want.len(), "{app:?} + {head:?}");
            assert_eq!(added, *added_want, "{app:?} + {head:?}");
        }
        let (got, _) = upgraded(&env("A=1\n"), &env("S=v1 # length=64\n"));
        assert_eq!(got.entry("S").unwrap().modifiers["length"], "64");
    }

    #[test]
    fn the_keys_the_app_keeps_otherwise_are_named() {
        let rows: &[(&str, &str, &[&str])] = &[
            ("A=1\n", "A=1\n", &[]),
            ("A=1\nMODE=v1\n", "A=1\nMODE=v2\n", &["MODE"]),
            ("TYPE=r:1\nDOMAIN=x\n", "TYPE=r\nDOMAIN=y\n", &[]),
            // Set by the judging suite: not the operator's choice.
            ("SUITE=ci\n", "SUITE=sample\n", &[]),
            // New in the head (added, not kept) or dropped by it: not kept otherwise.
            ("A=1\n", "NEW=1\n", &[]),
        ];
        for (app, head, want) in rows {
            assert_eq!(
                kept_otherwise(&env(app), &env(head), &["SUITE"]),
                *want,
                "{app:?} {head:?}"
            );
        }
    }

    #[test]
    fn only_the_secrets_the_head_adds_are_generated() {
        let rows: &[(&[&str], &[&str], &[&str])] = &[
            (&["s_db_v1"], &["s_db_v1"], &[]),
            (&["s_db_v1"], &["s_db_v1", "s_api_v1"], &["s_api_v1"]),
            // A head that drops a secret generates nothing; the base's stays.
            (&["s_db_v1", "s_old_v1"], &["s_db_v1"], &[]),
            // A version the upgraded env names anew is a new engine secret.
            (&["s_db_v1"], &["s_db_v2"], &["s_db_v2"]),
            (&[], &["s_a_v1"], &["s_a_v1"]),
        ];
        for (installed, head, want) in rows {
            let got: Vec<String> = added_secrets(installed, head.iter().map(|n| spec(n)).collect())
                .into_iter()
                .map(|s| s.engine_name)
                .collect();
            assert_eq!(got, *want, "{installed:?} → {head:?}");
        }
    }
}
