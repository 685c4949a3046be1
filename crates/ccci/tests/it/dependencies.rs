//! SSO dependencies (docs/behaviour.md §5) against the Keycloak stand-in (Keycloak cannot run
//! here): a realm per run created at the start and deleted at the end, the OIDC settings in the
//! app's env before its single first deploy, the integration rung, the janitor reaping the realm
//! of a SIGKILLed run and never a live run's, and the client secret in no artefact.

use crate::common::*;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Child;

fn write_exec(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

/// A fixture-web copy whose app reads OIDC settings from its env, and a suite declaring
/// the keycloak dependency with `oidc_at_install`, a `post_install` hook that checks the
/// first deploy already carried the issuer, and (optionally) an integration test that
/// checks the realm and signs in with the client through the Keycloak.
fn sso_recipe(rig: &Rig, name: &str, integration_test: bool) -> (PathBuf, PathBuf) {
    let recipe = rig.recipe_copy("fixture-web", name);
    edit(
        &recipe,
        "compose.yml",
        "      - DATA_DIR=/data\n",
        "      - DATA_DIR=/data\n      - OIDC_ISSUER\n      - OIDC_CLIENT_ID\n      - OIDC_CLIENT_SECRET\n",
    );
    let suites = rig.suite(
        name,
        "health_path = \"/health\"\ndeploy_timeout = \"2m\"\ndependencies = [\"keycloak\"]\noidc_at_install = true\n\n[hooks]\npost_install = \"hooks/oidc-env\"\n",
    );
    let dir = suites.join(name);
    // Right after the first (and only) deploy: the app's service env has the issuer and
    // client of the run's realm.
    write_exec(
        &dir.join("hooks/oidc-env"),
        r#"#!/bin/sh
set -eu
issuer=$(jq -r .keycloak.issuer "$CCCI_DEPENDENCY_FILE")
client=$(jq -r .keycloak.client_id "$CCCI_DEPENDENCY_FILE")
# Asked of the app itself, through its domain: what its first deploy configured it with.
oidc=$(curl -fsS --max-time 10 "$CCCI_BASE_URL/oidc")
echo "$oidc" | grep -qx "issuer=$issuer" || { echo "OIDC_ISSUER is not $issuer in the deployed app: $oidc"; exit 1; }
echo "$oidc" | grep -qx "client_id=$client" || { echo "OIDC_CLIENT_ID is not $client"; exit 1; }
len=$(echo "$oidc" | sed -n 's/^client_secret_length=//p')
[ "${len:-0}" -gt 25 ] || { echo "no OIDC_CLIENT_SECRET"; exit 1; }
echo "the first deploy carried the OIDC settings of $issuer"
"#,
    );
    if integration_test {
        write_exec(
            &dir.join("tests/integration/realm-and-client"),
            r#"#!/bin/sh
set -eu
f="$CCCI_DEPENDENCY_FILE"
url=$(jq -r .keycloak.url "$f"); realm=$(jq -r .keycloak.realm "$f")
issuer=$(jq -r .keycloak.issuer "$f"); client=$(jq -r .keycloak.client_id "$f")
secret=$(jq -r .keycloak.client_secret "$f")
case "$realm" in "$CCCI_RECIPE"-??????) ;; *) echo "realm $realm is not <recipe>-<hex>"; exit 1;; esac
hex=${realm##*-}
case "$CCCI_DOMAIN" in *"-$hex."*) ;; *) echo "realm hex $hex is not the app's ($CCCI_DOMAIN)"; exit 1;; esac
curl -fsS --max-time 10 "$url/realms/$realm/.well-known/openid-configuration" \
  | jq -e --arg i "$issuer" '.issuer == $i' >/dev/null || { echo "realm $realm has no issuer $issuer"; exit 1; }
curl -fsS --max-time 10 -d grant_type=client_credentials -d "client_id=$client" \
  --data-urlencode "client_secret=$secret" "$url/realms/$realm/protocol/openid-connect/token" \
  | jq -e '.access_token | length > 0' >/dev/null || { echo "client $client cannot sign in"; exit 1; }
grep -q "^OIDC_ISSUER=$issuer" "$CCCI_ENV_FILE" || { echo "the app env lacks the issuer"; exit 1; }
echo "realm $realm and client $client verified"
"#,
        );
    }
    (recipe, suites)
}

/// Every file under `dir` whose content contains `needle`.
fn files_containing(dir: &Path, needle: &str) -> Vec<String> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if String::from_utf8_lossy(&std::fs::read(&p).unwrap_or_default())
                .contains(needle)
            {
                found.push(p.display().to_string());
            }
        }
    }
    found
}

#[test]
fn sso_standin_run_is_green_with_its_realm_provisioned_before_the_first_deploy_and_deleted_after() {
    let rig = Rig::new();
    let sso = Sso::start(&rig);
    let (recipe, suites) = sso_recipe(&rig, "ssoapp", true);
    let run = rig.run(&recipe, Some(&suites), &strs(&sso.run_flags()));
    assert_eq!(run.code, 0, "{}", run.explain());
    let r = run.results();
    assert_eq!(r["verdict"], "green", "{r}");
    assert_eq!(
        r["deploy_count"], 1,
        "the OIDC settings needed no second deploy"
    );
    assert_eq!(run.rung("install")["status"], "pass");
    let integration = run.rung("integration");
    assert_eq!(integration["status"], "pass", "{integration}");
    let tests = integration["tests"].as_array().unwrap();
    assert!(
        tests
            .iter()
            .any(|t| t["name"] == "realm-and-client" && t["status"] == "pass"),
        "{integration}"
    );

    // The realm was `<recipe>-<app hex>`, created and then deleted.
    let domain = r["domain"].as_str().unwrap();
    let hex = &domain.split('.').next().unwrap()[5..];
    let realm = format!("ssoapp-{hex}");
    let requests = sso.standin.requests();
    assert!(
        requests.iter().any(|q| q == "POST /admin/realms"),
        "{requests:?}"
    );
    assert!(
        requests
            .iter()
            .any(|q| *q == format!("DELETE /admin/realms/{realm}")),
        "{requests:?}"
    );
    assert!(sso.run_realms().is_empty(), "{:?}", sso.run_realms());
    assert!(run
        .stderr
        .contains(&format!("keycloak realm {realm} deleted")));

    // The client secret is in no artefact, nor in what ccci printed.
    let secrets = sso.standin.client_secrets();
    assert_eq!(secrets.len(), 1);
    for secret in &secrets {
        assert!(files_containing(&run.out, secret).is_empty());
        assert!(!run.stdout.contains(secret.as_str()) && !run.stderr.contains(secret.as_str()));
    }
    assert_eq!(r["flags"]["no_secret_leak"], true);
    assert_eq!(r["flags"]["clean_teardown"], true, "{}", run.explain());
    assert!(leftovers(&run.stack()).is_empty());
    // The dependency file (it holds the secret) went with the run's work dir.
    assert!(files_containing(&rig.state_dir(), &secrets[0]).is_empty());
}

#[test]
fn sso_standin_dependency_without_integration_tests_is_red() {
    let rig = Rig::new();
    let sso = Sso::start(&rig);
    let (recipe, suites) = sso_recipe(&rig, "ssonotest", false);
    let run = rig.run(&recipe, Some(&suites), &strs(&sso.run_flags()));
    assert_red_for_an_unverified_dependency(&run, "no integration tests");
    assert!(sso.run_realms().is_empty(), "{:?}", sso.run_realms());
    assert!(leftovers(&run.stack()).is_empty());
}

/// Starts an SSO run that stays in its install wait (healthy only after 120 s) and returns
/// it once its realm exists in the stand-in and its app is on the engine, with the realm.
fn start_slow_sso_run(rig: &Rig, sso: &Sso, name: &str, guard: &mut Guard) -> (Child, String) {
    let (recipe, suites) = sso_recipe(rig, name, true);
    make_slow(&recipe);
    let mut realm = None;
    let (child, _) = spawn_run_until(
        rig,
        &recipe,
        &suites,
        &strs(&sso.run_flags()),
        name,
        guard,
        |stack| {
            realm = sso
                .run_realms()
                .into_iter()
                .find(|r| r.starts_with(&format!("{name}-")));
            realm.is_some() && !engine_objects("service", stack).is_empty()
        },
    );
    (child, realm.unwrap())
}

fn janitor(rig: &Rig, sso: &Sso) -> String {
    ccci_ok(rig, "janitor", &strs(&sso.flags()))
}

#[test]
fn sso_standin_janitor_reaps_a_sigkilled_runs_realm_and_never_a_live_runs() {
    let rig = Rig::new();
    let sso = Sso::start(&rig);
    let mut guard = Guard::default();
    let (mut dead, dead_realm) = start_slow_sso_run(&rig, &sso, "ssokilled", &mut guard);
    let (live, live_realm) = start_slow_sso_run(&rig, &sso, "ssolive", &mut guard);
    // Another rig sharing the Keycloak: its realm is never this janitor's to reap.
    sso.standin.add_realm(
        "otherapp-abcdef",
        &[("ccci.owner", "elsewhere:/var/lib/ccci")],
    );
    dead.kill().unwrap(); // SIGKILL: no teardown, the realm stays.
    dead.wait().unwrap();
    assert!(sso.run_realms().contains(&dead_realm));

    let report = janitor(&rig, &sso);
    assert!(
        report.contains(&format!("keycloak realm {dead_realm}: reaped")),
        "{report}"
    );
    assert!(
        report.contains(&format!("keycloak realm {live_realm}: live, left alone")),
        "{report}"
    );
    let realms = sso.run_realms();
    assert!(!realms.contains(&dead_realm), "{realms:?}");
    assert!(realms.contains(&live_realm), "{realms:?}");
    assert!(
        realms.contains(&"otherapp-abcdef".to_string()),
        "{realms:?}"
    );
    assert!(!report.contains("otherapp"), "{report}");

    // Ctrl-C on the live run: torn down, its realm deleted too.
    assert_eq!(unsafe { libc::kill(live.id() as i32, libc::SIGINT) }, 0);
    let run = rig.finish(live.wait_with_output().unwrap(), "out-ssolive");
    assert_eq!(run.code, 1, "{}", run.explain());
    assert_eq!(run.results()["flags"]["interrupted"], true);
    assert!(!sso.run_realms().contains(&live_realm));
    assert!(leftovers(&run.stack()).is_empty());
    for secret in sso.standin.client_secrets() {
        assert!(files_containing(&run.out, &secret).is_empty());
    }
}
