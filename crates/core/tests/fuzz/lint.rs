//! The recipe lint's readers (compose, `.env.sample`, `abra.sh`, README, release notes,
//! tags) and the host-access keys of `suite.toml`.

use crate::config;
use crate::mutate::{arbitrary_text, mutated};
use ccci_core::host_access::{reaches_docker_socket, validate_key};
use ccci_core::lint::{lint, wanted_files, BaseRelease, LintInput, RecipeTree, Tag};
use proptest::prelude::*;

const COMPOSE: &str = "version: \"3.8\"\nservices:\n  app:\n    image: nginx:1.25.3\n    volumes:\n      - data:/data\n      - /var/run/docker.sock:/s\n    secrets: [db_password]\n    configs:\n      - source: conf\n        target: /c\n    cap_add: [NET_ADMIN]\n    deploy:\n      labels:\n        - traefik.enable=true\n        - coop-cloud.${STACK_NAME}.version=1.0.0+1.25.3\n        - backupbot.backup.volumes.data=true\n    healthcheck:\n      test: [CMD, true]\nsecrets:\n  db_password:\n    external: true\n    name: ${STACK_NAME}_db_password_${SECRET_DB_PASSWORD_VERSION}\nconfigs:\n  conf:\n    name: ${STACK_NAME}_conf_${CONF_VERSION}\n    file: conf.tmpl\nvolumes:\n  data:\n";
const ENV: &str = "TYPE=app\nDOMAIN=app.example.com\nSECRET_DB_PASSWORD_VERSION=v1 # length=32\nCONF_VERSION=v1\n#EXTRA=1\n";
const ABRA_SH: &str = "export CONF_VERSION=v1\nexport ABRA_ENTRYPOINT_VERSION=v2\n";

fn tree() -> impl Strategy<Value = RecipeTree> {
    (
        mutated(Just(COMPOSE.to_string())),
        prop::option::of(mutated(Just(ENV.to_string()))),
        prop::option::of(mutated(Just(ABRA_SH.to_string()))),
        prop::option::of(arbitrary_text()),
        prop::collection::btree_map(arbitrary_text(), arbitrary_text(), 0..3),
    )
        .prop_map(
            |(compose, env_sample, abra_sh, readme, release_notes)| RecipeTree {
                compose: vec![("compose.yml".into(), compose)],
                env_sample,
                abra_sh,
                readme,
                files: [("conf.tmpl".to_string(), "x".to_string())].into(),
                release_notes,
            },
        )
}

fn tags() -> impl Strategy<Value = Option<Vec<Tag>>> {
    prop::option::of(prop::collection::vec(
        (mutated(Just("1.0.0+1.25.3".to_string())), any::<bool>())
            .prop_map(|(name, annotated)| Tag { name, annotated }),
        0..4,
    ))
}

proptest! {
    #![proptest_config(config())]

    /// Whatever the recipe holds, the lint reports on every rule and does not panic.
    #[test]
    fn fuzz_lint_recipe_trees(head in tree(), base in prop::option::of(tree()), tags in tags(), head_release in prop::option::of(arbitrary_text())) {
        let input = LintInput {
            head,
            head_release,
            base: base.map(|tree| BaseRelease {
                tag: "1.0.0+1.25.3".to_string(),
                tree,
                tags: None,
            }),
            tags,
        };
        let report = lint(&input);
        prop_assert!(!report.summary().trim().is_empty());
        let _ = wanted_files(&input.head.compose);
    }

    #[test]
    fn fuzz_lint_host_access_keys(key in prop_oneof![arbitrary_text(), mutated(Just("bind:/var/run/docker.sock".to_string()))]) {
        if let Err(message) = validate_key(&key) {
            prop_assert!(message.contains("is not a host-access key"), "{}", message);
        }
        let _ = reaches_docker_socket(&key);
    }
}
