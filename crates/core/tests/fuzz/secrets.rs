//! Secrets as `.env.sample` and compose declare them: `SECRET_<KEY>_VERSION` lines with their
//! `length=` / `generate=` modifiers, named as abra names them.

use crate::mutate::{mutated, nasty_fragment};
use crate::{assert_specific, config};
use ccci_core::compose::load_stack;
use ccci_core::envfile::EnvFile;
use ccci_core::naming::{secret_specs, stack_name, MAX_SECRET_NAME_LEN};
use proptest::prelude::*;
use std::collections::BTreeMap;

fn modifier_value() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => (0usize..5000).prop_map(|n| n.to_string()),
        1 => "[0-9]{19,30}",
        1 => Just("-1".to_string()),
        1 => Just("false".to_string()),
        1 => nasty_fragment(),
    ]
}

/// Compose secrets and their `.env.sample` lines, keys of any length.
fn recipe() -> impl Strategy<Value = (String, String)> {
    let secret = ("v[0-9]{1,3}", modifier_value(), modifier_value());
    prop::collection::btree_map("[a-z][a-z_]{0,70}", secret, 1..4).prop_map(|secrets| {
        let mut compose = String::from("services:\n  app:\n    image: x:1\nsecrets:\n");
        let mut env = String::new();
        for (key, (version, length, generate)) in secrets {
            compose.push_str(&format!("  {key}:\n    external: true\n"));
            env.push_str(&format!(
                "SECRET_{}_VERSION={version}  # length={length} generate={generate}\n",
                key.to_ascii_uppercase()
            ));
        }
        (compose, env)
    })
}

proptest! {
    #![proptest_config(config())]

    /// Every secret is sized within abra's bounds and named within Docker's limit, or the
    /// run stops with an error naming the line or the name.
    #[test]
    fn fuzz_secrets_lengths_and_names(
        (compose, env) in recipe(),
        env_edits in mutated(Just(String::new())),
        domain in "[a-z0-9.-]{1,80}",
    ) {
        let Ok(env) = EnvFile::parse(&format!("{env}{env_edits}")) else { return Ok(()) };
        let stack = load_stack(&[("compose.yml".into(), compose)], &BTreeMap::new()).unwrap();
        match secret_specs(&stack_name(&domain), &env, &stack) {
            Ok(specs) => {
                prop_assert_eq!(specs.len(), stack.secrets.len());
                for spec in specs {
                    prop_assert!((4..=4096).contains(&spec.length));
                    prop_assert!(spec.engine_name.len() <= MAX_SECRET_NAME_LEN);
                }
            }
            Err(e) => assert_specific(&e.to_string()),
        }
    }
}
