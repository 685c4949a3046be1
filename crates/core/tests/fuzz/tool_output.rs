//! What tools hand back about a recipe: `docker stack deploy`'s stderr (explained in the
//! recipe's terms) and the JUnit XML a suite's tests write.

use crate::mutate::{arbitrary_text, mutated};
use crate::{assert_specific, config};
use ccci_core::deploy_error::{explain, RecipeFacts};
use ccci_core::junit_input::read;
use proptest::prelude::*;

const COMPOSE: &str = "services:\n  app:\n    image: nginx:1.25\n    secrets: [api_key]\n    configs: [{source: conf, target: /c}]\n    networks: [proxy, backend]\nsecrets:\n  api_key:\n    external: true\n    name: ${STACK_NAME}_api_key_${SECRET_API_KEY_VERSION}\nconfigs:\n  conf:\n    name: ${STACK_NAME}_conf_${CONF_VERSION}\n    file: conf.tmpl\nnetworks:\n  proxy:\n    external: true\n  backend:\n";

/// Lines docker prints when a deploy fails, one of each kind `explain` knows.
fn docker_line() -> impl Strategy<Value = String> {
    prop::sample::select(vec![
        "failed to update config dex1_conf_v1: Error response from daemon: rpc error: code = InvalidArgument desc = only updates to Labels are allowed",
        "docker stack deploy dex1 failed: failed to update secret dex1_api_key_v3: Error response from daemon: rpc error: code = InvalidArgument desc = only updates to Labels are allowed",
        "network \"backend\" is declared as external, but could not be found. You need to create a swarm-scoped network before the stack is deployed",
        "service app: secret not found: dex1_api_key_v1",
        "service app: undefined config \"conf\"",
        "open /recipe/conf.tmpl: no such file or directory",
        "services.app Additional property foo is not allowed",
        "services.app.deploy.replicas must be a integer",
    ])
    .prop_map(str::to_string)
}

fn facts() -> impl Strategy<Value = RecipeFacts> {
    (
        mutated(Just(COMPOSE.to_string())),
        prop::option::of(arbitrary_text()),
        prop::option::of(arbitrary_text()),
    )
        .prop_map(|(compose, abra_sh, env_sample)| RecipeFacts {
            stack: "dex1".into(),
            compose_files: vec![("compose.yml".into(), compose)],
            abra_sh,
            env_sample,
        })
}

/// An explanation, when there is one, says something and quotes a line docker printed.
fn check_explain(stderr: &str, facts: &RecipeFacts) {
    if let Some(explanation) = explain(stderr, facts) {
        assert_specific(&explanation.text);
        assert!(
            stderr.contains(explanation.docker_line.trim()),
            "{explanation:?}"
        );
    }
}

const JUNIT: &str = "<?xml version=\"1.0\"?><testsuites><testsuite name=\"s\" tests=\"3\"><testcase classname=\"tests.test_api.Api\" name=\"test_ok\" time=\"0.011\"/><testcase classname=\"t\" name=\"test_bad\" time=\"1e308\"><failure message=\"boom\">trace\nlast</failure></testcase><testcase name=\"test_skip\" time=\"-3\"><skipped message=\"later\"/></testcase></testsuite></testsuites>";

proptest! {
    #![proptest_config(config())]

    #[test]
    fn fuzz_deploy_error_arbitrary_stderr(stderr in arbitrary_text(), facts in facts()) {
        check_explain(&stderr, &facts);
    }

    #[test]
    fn fuzz_deploy_error_near_valid(lines in prop::collection::vec(mutated(docker_line()), 1..4), facts in facts()) {
        check_explain(&lines.join("\n"), &facts);
    }

    #[test]
    fn fuzz_junit_arbitrary_and_near_valid(xml in prop_oneof![arbitrary_text(), mutated(Just(JUNIT.to_string()))], prefix in arbitrary_text()) {
        match read(&xml, &prefix) {
            Ok(cases) => prop_assert!(cases.iter().all(|c| c.name.starts_with(&prefix))),
            Err(message) => {
                let why = message.strip_prefix("invalid JUnit XML: ").unwrap_or("");
                assert_specific(why);
            }
        }
    }
}
