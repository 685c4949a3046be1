//! The recipe lint (L5): `ccci lint` on every example recipe (clean, under a second), its
//! exit codes and JSON; the diff-aware rules on git heads; and on the real swarm, a run that
//! lints first — a lint error leaves the deploy rungs running and the run RED naming the
//! rule, a clean recipe reaches L5 GREEN, `--stages lint` deploys nothing.

use crate::common::*;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};
use std::time::{Duration, Instant};

fn lint(args: &[&str]) -> Output {
    ccci()
        .arg("lint")
        .args(args)
        .stdin(Stdio::null())
        .env("NO_COLOR", "1")
        .output()
        .unwrap()
}

/// `ccci lint --json`: the exit code and the parsed document.
fn lint_json(recipe: &Path, extra: &[&str]) -> (i32, Value, Output) {
    let mut args = vec![recipe.to_str().unwrap(), "--json"];
    args.extend_from_slice(extra);
    let o = lint(&args);
    let doc: Value = serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("--json does not parse: {e}\n{}", explain(&o)));
    (o.status.code().unwrap_or(-1), doc, o)
}

fn rule<'a>(doc: &'a Value, id: &str) -> &'a Value {
    doc["rules"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == id)
        .unwrap_or_else(|| panic!("no rule {id}: {doc}"))
}

/// A rule's findings as `file:line message` lines.
fn findings(rule: &Value) -> String {
    rule["findings"]
        .as_array()
        .map(|fs| {
            fs.iter()
                .map(|f| {
                    format!(
                        "{}:{} {}",
                        f["file"].as_str().unwrap_or(""),
                        f["line"],
                        f["message"].as_str().unwrap_or("")
                    )
                })
                .collect::<Vec<_>>()
                .join("\n")
        })
        .unwrap_or_default()
}

#[test]
fn every_example_recipe_lints_clean_in_under_a_second() {
    let mut seen = 0;
    for entry in std::fs::read_dir(repo_root().join("recipes")).unwrap() {
        let dir = entry.unwrap().path();
        if !dir.join("compose.yml").is_file() {
            continue;
        }
        seen += 1;
        let t = Instant::now();
        let o = lint(&[dir.to_str().unwrap()]);
        let took = t.elapsed();
        assert_eq!(
            o.status.code(),
            Some(0),
            "{}: {}",
            dir.display(),
            explain(&o)
        );
        assert!(took < Duration::from_secs(1), "{}: {took:?}", dir.display());
        let table = String::from_utf8_lossy(&o.stdout);
        assert!(table.contains("R001") && table.contains("C008"), "{table}");
        assert!(table.contains("lint clean: "), "{table}");

        let (code, doc, o) = lint_json(&dir, &[]);
        assert_eq!(code, 0, "{}", explain(&o));
        assert_eq!(doc["clean"], true, "{doc}");
        assert_eq!(doc["errors"], 0, "{doc}");
        for r in doc["rules"].as_array().unwrap() {
            assert!(
                !(r["level"] == "error" && r["status"] == "failed"),
                "{}: {r}",
                dir.display()
            );
        }
    }
    assert!(seen >= 3, "the example recipes were not found");
}

#[test]
fn exit_codes_one_for_an_error_two_for_bad_input_and_json_parses() {
    let rig = Rig::new();
    // An error-level rule: no service is routed by traefik (R010).
    let recipe = rig.recipe_copy("fixture-web", "lintweb");
    edit(
        &recipe,
        "compose.yml",
        "        - \"traefik.enable=true\"\n",
        "",
    );
    let o = lint(&[recipe.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1), "{}", explain(&o));
    let table = String::from_utf8_lossy(&o.stdout);
    assert!(table.contains("R010  error FAILED"), "{table}");
    assert!(
        table.contains("fix: include \"traefik.enable=true\" deploy label"),
        "{table}"
    );
    assert!(table.contains("lint FAILED: 1 error: R010"), "{table}");
    let (code, doc, _) = lint_json(&recipe, &[]);
    assert_eq!(code, 1);
    assert_eq!(doc["clean"], false);
    assert_eq!(doc["errors"], 1);
    assert_eq!(doc["recipe"], "lintweb");
    let r010 = rule(&doc, "R010");
    assert_eq!(r010["status"], "failed");
    assert_eq!(r010["level"], "error");
    assert_eq!(r010["origin"], "abra");
    assert!(findings(r010).starts_with("compose.yml:"), "{r010}");

    // Warnings only: exit 0, the warnings shown.
    let recipe = rig.recipe_copy("fixture-web", "lintwarn");
    edit(
        &recipe,
        "compose.yml",
        "image: ccci-fixture:1.2.0",
        "image: ccci-fixture:latest",
    );
    let (code, doc, o) = lint_json(&recipe, &[]);
    assert_eq!(code, 0, "{}", explain(&o));
    assert_eq!(doc["warnings"], 2, "{doc}");
    assert_eq!(rule(&doc, "R004")["status"], "failed");

    // A missing .env.sample in a directory is a lint failure (R008), not bad input.
    let recipe = rig.recipe_copy("fixture-web", "lintnosample");
    std::fs::remove_file(recipe.join(".env.sample")).unwrap();
    let (code, doc, _) = lint_json(&recipe, &[]);
    assert_eq!(code, 1);
    assert_eq!(rule(&doc, "R008")["status"], "failed");

    // Bad input: exit 2, nothing printed to stdout.
    let missing = rig.path("no-such-recipe");
    let plain = rig.recipe_copy("fixture-web", "lintplain");
    let repo = rig.git_recipe("fixture-web", "lintref", &["1.0.0"], "1.1.0", |_| {});
    for args in [
        vec![missing.to_str().unwrap()],
        vec![plain.to_str().unwrap(), "--ref", "main"],
        vec![repo.to_str().unwrap(), "--ref", "no-such-branch"],
    ] {
        let o = lint(&args);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", explain(&o));
        assert!(o.stdout.is_empty(), "{args:?}: {}", explain(&o));
        assert!(
            String::from_utf8_lossy(&o.stderr).contains("error"),
            "{}",
            explain(&o)
        );
        // --json: the refusal as JSON on stdout, the exit code unchanged.
        let mut json = args.clone();
        json.push("--json");
        let o = lint(&json);
        assert_eq!(o.status.code(), Some(2), "{json:?}: {}", explain(&o));
        let doc: Value = serde_json::from_slice(&o.stdout).unwrap_or_else(|e| {
            panic!(
                "{json:?}: --json refusal does not parse: {e}\n{}",
                explain(&o)
            )
        });
        assert_eq!(doc["refused"], true, "{doc}");
        assert_eq!(doc["recipe"], args[0], "{doc}");
        assert!(
            doc["error"].as_str().unwrap().contains(args[0]),
            "the refusal names what the user gave: {doc}"
        );
    }
}

#[test]
fn a_git_repository_with_releases_lints_clean_against_its_base() {
    let rig = Rig::new();
    let repo = config_repo(&rig, "lintgit", |_| {});
    let (code, doc, o) = lint_json(&repo, &[]);
    assert_eq!(code, 0, "{}", explain(&o));
    assert_eq!(doc["base"], "1.1.0+1.1.0", "{doc}");
    assert_eq!(doc["commit"].as_str().unwrap().len(), 40);
    for id in ["R006", "R014", "C001", "C002", "C004"] {
        assert_eq!(rule(&doc, id)["status"], "satisfied", "{id}: {doc}");
    }
    // The head as a release: its label must be the tag.
    git(&repo, &["tag", "-a", "1.2.0+1.2.0", "-m", "release 1.2.0"]);
    let (code, doc, _) = lint_json(&repo, &[]);
    assert_eq!(code, 0);
    assert_eq!(rule(&doc, "C003")["status"], "satisfied", "{doc}");
    git(&repo, &["tag", "-a", "1.3.0+1.2.0", "-m", "release 1.3.0"]);
    let (code, doc, _) = lint_json(&repo, &["--ref", "1.3.0+1.2.0"]);
    assert_eq!(code, 1, "{doc}");
    assert!(
        findings(rule(&doc, "C003")).contains("the head is release 1.3.0+1.2.0 but service `app` is labelled `coop-cloud.${STACK_NAME}.version=1.2.0+1.2.0`"),
        "{doc}"
    );
    // A lightweight tag: abra's R014.
    git(&repo, &["tag", "nightly"]);
    let (code, doc, _) = lint_json(&repo, &[]);
    assert_eq!(code, 1);
    assert!(
        findings(rule(&doc, "R014")).contains("`nightly` is a lightweight tag"),
        "{doc}"
    );
}

#[test]
fn a_config_edited_without_a_version_bump_is_a_lint_error_before_anything_is_deployed() {
    let rig = Rig::new();
    // The head changes app.conf and keeps FIXTURE_CONF_VERSION=v1.
    let repo = config_repo(&rig, "lintcfg", |dir| {
        std::fs::write(dir.join("app.conf"), "conf B\n").unwrap()
    });
    let (code, doc, o) = lint_json(&repo, &[]);
    assert_eq!(code, 1, "{}", explain(&o));
    let c001 = rule(&doc, "C001");
    assert_eq!(c001["status"], "failed", "{doc}");
    let text = findings(c001);
    for word in [
        "abra.sh:3",
        "config `app_conf` (content from `app.conf`) changed since 1.1.0+1.1.0",
        "only updates to Labels are allowed",
        "bump FIXTURE_CONF_VERSION, now `v1`",
        "e.g. to `v2`",
    ] {
        assert!(text.contains(word), "{word:?} not in {text}");
    }

    // `ccci run --stages lint`: the lint alone, before (and without) any deploy.
    let run = rig.run(&repo, None, &["--stages", "lint"]);
    assert_eq!(run.code, 1, "{}", run.explain());
    let r = run.results();
    assert_eq!(r["schema"], ccci_core::results::SCHEMA_VERSION);
    assert_eq!(r["verdict"], "red", "{r}");
    assert_eq!(r["deploy_count"], 0, "{r}");
    assert_eq!(r["domain"], "", "nothing was planned: {r}");
    assert_eq!(run.rung("lint")["status"], "fail", "{r}");
    assert_eq!(run.rung("install")["status"], "skip", "{r}");
    assert!(
        run.rung("install")["reason"]
            .as_str()
            .unwrap()
            .contains("--stages lint"),
        "{r}"
    );
    assert_eq!(r["failure"]["rung"], "lint", "{r}");
    assert!(
        r["failure"]["message"]
            .as_str()
            .unwrap()
            .starts_with("C001 "),
        "{r}"
    );
    assert_eq!(r["lint"]["base"], "1.1.0+1.1.0", "{r}");
    let card = std::fs::read_to_string(run.out.join("card.svg")).unwrap();
    assert!(card.contains("C001"), "the card names the rule");
    assert!(registered_stack(&rig.state_dir()).is_none());

    // Bumped: clean.
    edit(
        &repo,
        "abra.sh",
        "FIXTURE_CONF_VERSION=v1",
        "FIXTURE_CONF_VERSION=v2",
    );
    commit_all(&repo, "bump the config");
    let (code, doc, _) = lint_json(&repo, &[]);
    assert_eq!(code, 0, "{doc}");
    assert_eq!(rule(&doc, "C001")["status"], "satisfied");
}

/// What `ccci lint` says must never name its temporary clone (deleted when it exits).
fn names_no_temporary_clone(o: &Output) {
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(!all.contains("ccci-lint-"), "{}", explain(o));
}

#[test]
fn git_mode_lints_what_abra_lints_a_missing_env_sample_is_r008_and_no_domain_skips_r010() {
    let rig = Rig::new();
    // The head drops .env.sample: an R008 finding the head introduced, not bad input.
    let repo = rig.git_recipe(
        "fixture-web",
        "lintnosamplegit",
        &["1.0.0"],
        "1.1.0",
        |dir| std::fs::remove_file(dir.join(".env.sample")).unwrap(),
    );
    let (code, doc, o) = lint_json(&repo, &[]);
    assert_eq!(code, 1, "{}", explain(&o));
    names_no_temporary_clone(&o);
    let r008 = rule(&doc, "R008");
    assert_eq!(r008["status"], "failed", "{doc}");
    assert_eq!(r008["findings"][0]["provenance"], "introduced", "{r008}");
    assert_eq!(doc["base"], "1.0.0+1.0.0", "{doc}");
    let o = lint(&[repo.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1), "{}", explain(&o));
    names_no_temporary_clone(&o);
    assert!(
        String::from_utf8_lossy(&o.stdout).contains("R008  error FAILED"),
        "{}",
        explain(&o)
    );

    // A cron-style recipe: no DOMAIN, nothing routed by traefik, in every release. abra
    // skips R010 for it; so does cc-ci, and the lint is clean.
    let cron = rig.recipe_copy("fixture-web", "lintcronsrc");
    edit(&cron, ".env.sample", "DOMAIN=fixture-web.example.com\n", "");
    let text = std::fs::read_to_string(cron.join("compose.yml")).unwrap();
    let text: String = text
        .lines()
        .filter(|l| !l.contains("traefik.") && !l.contains("      - DOMAIN"))
        .map(|l| format!("{l}\n"))
        .collect();
    std::fs::write(cron.join("compose.yml"), text).unwrap();
    let repo = rig.git_recipe_from(&cron, "lintcron", &["1.0.0"], "1.1.0", |_| {});
    let (code, doc, o) = lint_json(&repo, &[]);
    assert_eq!(code, 0, "{}", explain(&o));
    let r010 = rule(&doc, "R010");
    assert_eq!(r010["status"], "skipped", "{doc}");
    assert!(
        r010["note"].as_str().unwrap().contains("no DOMAIN"),
        "{r010}"
    );
    assert_eq!(doc["clean"], true, "{doc}");

    // A repository that is no recipe at all is refused, naming the repository and the ref
    // the user gave, never the clone.
    let empty = rig.path("lintnotarecipe");
    std::fs::create_dir_all(&empty).unwrap();
    std::fs::write(empty.join("README.md"), "# not a recipe\n").unwrap();
    git(&empty, &["init", "--quiet", "--initial-branch=main"]);
    commit_all(&empty, "readme");
    let o = lint(&[empty.to_str().unwrap(), "--ref", "main"]);
    assert_eq!(o.status.code(), Some(2), "{}", explain(&o));
    names_no_temporary_clone(&o);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(
        stderr.contains(&format!(
            "{} at main: not a recipe directory (no compose.yml and no .env.sample)",
            empty.display()
        )),
        "{}",
        explain(&o)
    );
}

#[test]
fn overlays_merge_as_docker_merges_them_and_a_secret_is_versioned_by_its_names_variable() {
    // Shapes of public recipes: an overlay adding a label to `app` (their basic-auth
    // overlay) keeps compose.yml's `traefik.enable=true`; a secret whose name uses
    // `${SECRET_OVH_CONSUMER_KEY}` (no `_VERSION`) is versioned by that variable, as abra
    // versions it by its interpolated name.
    let rig = Rig::new();
    let recipe = rig.recipe_copy("fixture-web", "lintoverlay");
    std::fs::write(
        recipe.join("compose.ovh.yml"),
        "version: \"3.8\"\nservices:\n  app:\n    secrets:\n      - ovh_key\n    deploy:\n      labels:\n        - \"traefik.http.routers.${STACK_NAME}.middlewares=${STACK_NAME}_auth\"\nsecrets:\n  ovh_key:\n    external: true\n    name: ${STACK_NAME}_ovh_key_${SECRET_OVH_KEY}\n",
    )
    .unwrap();
    env_line(&recipe, "# COMPOSE_FILE=\"compose.yml:compose.ovh.yml\"");
    env_line(&recipe, "# SECRET_OVH_KEY=v1");
    let (code, doc, o) = lint_json(&recipe, &[]);
    assert_eq!(code, 0, "{}", explain(&o));
    for id in ["R010", "C005"] {
        assert_eq!(rule(&doc, id)["status"], "satisfied", "{id}: {doc}");
    }
    // Without the variable in .env.sample: C005 names the variable the name uses.
    edit(&recipe, ".env.sample", "# SECRET_OVH_KEY=v1\n", "");
    let (code, doc, _) = lint_json(&recipe, &[]);
    assert_eq!(code, 1, "{doc}");
    assert!(
        findings(rule(&doc, "C005"))
            .contains("compose.ovh.yml:10 secret `ovh_key` has no `SECRET_OVH_KEY` line"),
        "{doc}"
    );
}

#[test]
fn a_long_secret_name_is_a_warning_as_in_abra() {
    let rig = Rig::new();
    let recipe = rig.recipe_copy("fixture-web", "lintlongsecret");
    let compose = std::fs::read_to_string(recipe.join("compose.yml")).unwrap();
    std::fs::write(
        recipe.join("compose.yml"),
        compose
            .replace("admin_token", "administrator_token")
            .replace("ADMIN_TOKEN", "ADMINISTRATOR_TOKEN"),
    )
    .unwrap();
    edit(
        &recipe,
        ".env.sample",
        "SECRET_ADMIN_TOKEN_VERSION",
        "SECRET_ADMINISTRATOR_TOKEN_VERSION",
    );
    let (code, doc, o) = lint_json(&recipe, &[]);
    assert_eq!(
        code,
        0,
        "a warning does not make the recipe red: {}",
        explain(&o)
    );
    let r015 = rule(&doc, "R015");
    assert_eq!(
        (&r015["level"], &r015["status"]),
        (&Value::from("warn"), &Value::from("failed")),
        "{r015}"
    );
    assert!(
        findings(r015).contains("secret `administrator_token` is 19 characters"),
        "{r015}"
    );
}

#[test]
fn c003_reads_only_the_recipes_own_version_label() {
    let rig = Rig::new();
    // A release whose app service also carries another `coop-cloud.….version` label.
    let repo = rig.git_recipe("fixture-web", "lintlabels", &["1.0.0"], "1.1.0", |dir| {
        edit(
            dir,
            "compose.yml",
            "        - \"backupbot.backup=true\"\n",
            "        - \"backupbot.backup=true\"\n        - \"coop-cloud.${STACK_NAME}.app.version=30.0.4\"\n",
        )
    });
    git(&repo, &["tag", "-a", "1.1.0+1.1.0", "-m", "release 1.1.0"]);
    let (code, doc, o) = lint_json(&repo, &[]);
    assert_eq!(code, 0, "{}", explain(&o));
    assert_eq!(rule(&doc, "C003")["status"], "satisfied", "{doc}");
    // The recipe's own label disagreeing is named as written.
    edit(
        &repo,
        "compose.yml",
        "version=1.1.0+1.1.0",
        "version=1.0.9+1.1.0",
    );
    commit_all(&repo, "a wrong label");
    git(&repo, &["tag", "-a", "1.1.1+1.1.0", "-m", "release 1.1.1"]);
    let (code, doc, _) = lint_json(&repo, &[]);
    assert_eq!(code, 1, "{doc}");
    let text = findings(rule(&doc, "C003"));
    assert!(
        text.contains("service `app` is labelled `coop-cloud.${STACK_NAME}.version=1.0.9+1.1.0`"),
        "{text}"
    );
    assert!(!text.contains("30.0.4"), "{text}");
}

/// fixture-web with two releases and a head, and a stray lightweight tag on the first
/// release's commit — from years ago, as some upstream recipes have.
fn stray_tag_repo(rig: &Rig, name: &str) -> PathBuf {
    let repo = rig.git_recipe("fixture-web", name, &["1.0.0", "1.1.0"], "1.2.0", |_| {});
    git(&repo, &["tag", "old-pin", "1.0.0+1.0.0^{commit}"]);
    repo
}

#[test]
fn a_pr_is_judged_on_what_it_changes_an_error_at_the_base_is_shown_not_red() {
    let rig = Rig::new();
    let repo = stray_tag_repo(&rig, "lintstray");
    let (code, doc, o) = lint_json(&repo, &[]);
    assert_eq!(
        code,
        0,
        "an inherited error does not fail the head: {}",
        explain(&o)
    );
    assert_eq!(doc["clean"], false, "{doc}");
    assert_eq!(
        (&doc["introduced"], &doc["inherited"]),
        (&Value::from(0), &Value::from(1)),
        "{doc}"
    );
    let r014 = rule(&doc, "R014");
    assert_eq!(r014["status"], "failed", "{r014}");
    assert_eq!(r014["findings"][0]["subject"], "tag old-pin", "{r014}");
    assert_eq!(r014["findings"][0]["provenance"], "inherited", "{r014}");
    let o = lint(&[repo.to_str().unwrap()]);
    let table = String::from_utf8_lossy(&o.stdout);
    for want in [
        "R014  error inherited",
        "`old-pin` is a lightweight tag",
        "(already at the base release 1.1.0+1.1.0)",
        "fix: replace lightweight tags with annotated tags",
        "lint not clean, none introduced: 1 error inherited from the base release 1.1.0+1.1.0: R014 (no L5 until fixed)",
    ] {
        assert!(table.contains(want), "{want:?} not in\n{table}");
    }

    // `--stages lint`: not RED, the lint rung an inherited skip (the level stops below L5),
    // every artefact showing the finding with its fix.
    let run = rig.run(&repo, None, &["--stages", "lint"]);
    assert_eq!(run.code, 0, "{}", run.explain());
    let r = run.results();
    assert_eq!(r["verdict"], "green", "{r}");
    let lint_rung = run.rung("lint");
    assert_eq!(
        (&lint_rung["status"], &lint_rung["skip"]),
        (&Value::from("skip"), &Value::from("inherited")),
        "{r}"
    );
    assert!(
        lint_rung["reason"]
            .as_str()
            .unwrap()
            .starts_with("already at the base release 1.1.0+1.1.0, not introduced by this change"),
        "{r}"
    );
    assert_eq!(
        rule(&r["lint"], "R014")["findings"][0]["provenance"],
        "inherited",
        "{r}"
    );
    let comment = std::fs::read_to_string(run.out.join("comment.md")).unwrap();
    assert!(
        comment.contains("`R014`") && comment.contains("already at the base"),
        "{comment}"
    );
    assert!(
        comment.contains("replace lightweight tags with annotated tags"),
        "{comment}"
    );
    let card = std::fs::read_to_string(run.out.join("card.svg")).unwrap();
    assert!(card.contains("errors at base"), "the card says it");
    assert!(
        run.stdout
            .contains("R014 error inherited from the base release 1.1.0+1.1.0"),
        "{}",
        run.stdout
    );

    // A lightweight tag on the head's own commit is the head's doing: RED.
    git(&repo, &["tag", "wip"]);
    let (code, doc, _) = lint_json(&repo, &[]);
    assert_eq!(code, 1, "{doc}");
    let r014 = rule(&doc, "R014");
    let provenance: Vec<(&str, &str)> = r014["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["subject"].as_str().unwrap(),
                f["provenance"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        provenance,
        [("tag old-pin", "inherited"), ("tag wip", "introduced")],
        "{r014}"
    );
}

#[test]
fn on_the_swarm_an_inherited_lint_error_leaves_the_run_green_at_l4() {
    let rig = Rig::new();
    let repo = stray_tag_repo(&rig, "lintinh");
    let suites = rig.quick_suite("lintinh");
    let run = rig.run(&repo, Some(&suites), &[]);
    assert_eq!(run.code, 0, "{}", run.explain());
    let r = run.results();
    assert_eq!(r["verdict"], "green", "{r}");
    for rung in ["install", "upgrade", "backup_restore", "functional"] {
        assert_eq!(run.rung(rung)["status"], "pass", "{rung}: {r}");
    }
    assert_eq!(
        (&r["level"], &r["expected_level"]),
        (&Value::from(4), &Value::from(5)),
        "{r}"
    );
    assert_eq!(run.rung("lint")["skip"], "inherited", "{r}");
    assert!(r.get("failure").is_none(), "{r}");
    assert!(
        run.stdout.contains("GREEN  level L4 (expected L5)"),
        "{}",
        run.stdout
    );
    let comment = std::fs::read_to_string(run.out.join("comment.md")).unwrap();
    assert!(
        comment.contains("| L5 lint | ⚠️ errors already at the base |"),
        "{comment}"
    );
    assert!(
        leftovers(&run.stack()).is_empty(),
        "left: {:?}",
        leftovers(&run.stack())
    );
}

/// fixture-web as a repository whose head requires `GREETING` (`${GREETING:?…}`) and adds
/// it to its own `.env.sample` — which apps installed from the base never got.
fn greeting_repo(rig: &Rig, name: &str) -> PathBuf {
    rig.git_recipe("fixture-web", name, &["1.0.0", "1.1.0"], "1.2.0", |dir| {
        edit(
            dir,
            "compose.yml",
            "      - DATA_DIR=/data\n",
            "      - DATA_DIR=/data\n      - GREETING=${GREETING:?set GREETING in the app's .env}\n",
        );
        env_line(dir, "GREETING=hello");
    })
}

#[test]
fn a_newly_required_variable_is_a_lint_error_unless_the_release_notes_say_so() {
    let rig = Rig::new();
    let repo = greeting_repo(&rig, "lintvar");
    let (code, doc, o) = lint_json(&repo, &[]);
    assert_eq!(code, 1, "{}", explain(&o));
    let c002 = rule(&doc, "C002");
    let text = findings(c002);
    for word in [
        "compose.yml:",
        "requires GREETING without a default",
        "base release 1.1.0+1.1.0's .env.sample did not set it",
        "the upgrade fails",
        "`${GREETING:-…}`",
        "release notes",
    ] {
        assert!(text.contains(word), "{word:?} not in {text}");
    }
    // Release notes telling operators to add it: satisfied, with a note.
    std::fs::create_dir_all(repo.join("release")).unwrap();
    std::fs::write(
        repo.join("release/1.2.0+1.2.0"),
        "Before upgrading, add GREETING=<your greeting> to the app's .env.\n",
    )
    .unwrap();
    commit_all(&repo, "release notes");
    let (code, doc, _) = lint_json(&repo, &[]);
    assert_eq!(code, 0, "{doc}");
    let c002 = rule(&doc, "C002");
    assert_eq!(c002["status"], "satisfied");
    assert!(
        c002["note"].as_str().unwrap().contains("GREETING"),
        "{c002}"
    );
}

#[test]
fn a_lint_error_leaves_the_deploy_rungs_running_and_the_run_red_naming_the_rule() {
    let rig = Rig::new();
    let repo = greeting_repo(&rig, "lintred");
    let suites = rig.quick_suite("lintred");
    let run = rig.run(&repo, Some(&suites), &[]);
    assert_eq!(run.code, 1, "{}", run.explain());
    let r = run.results();
    assert_eq!(r["verdict"], "red", "{r}");
    // The deploy rungs ran and passed: the maintainer sees how far the recipe gets.
    for rung in ["install", "upgrade", "backup_restore", "functional"] {
        assert_eq!(run.rung(rung)["status"], "pass", "{rung}: {r}");
    }
    assert_eq!(r["level"], 4, "{r}");
    assert_eq!(r["expected_level"], 5, "{r}");
    assert_eq!(run.rung("lint")["status"], "fail", "{r}");
    let failure = &r["failure"];
    assert_eq!(failure["rung"], "lint", "{failure}");
    let message = failure["message"].as_str().unwrap();
    assert!(
        message.starts_with("C002 ") && message.contains("GREETING"),
        "{message}"
    );
    assert_eq!(rule(&r["lint"], "C002")["status"], "failed");
    // The lint ran first, before anything was deployed.
    let linted = run
        .stderr
        .find("── lint")
        .expect("the lint's progress line");
    let deployed = run.stderr.find("── install").expect("the install rung");
    assert!(linted < deployed, "{}", run.stderr);
    // The card, the comment and the JUnit name the rule.
    let card = std::fs::read_to_string(run.out.join("card.svg")).unwrap();
    assert!(card.contains("C002"), "card");
    let comment = std::fs::read_to_string(run.out.join("comment.md")).unwrap();
    assert!(comment.contains("### Lint (L5)"), "{comment}");
    assert!(
        comment.contains("`C002`") && comment.contains("GREETING"),
        "{comment}"
    );
    let junit = std::fs::read_to_string(run.out.join("junit.xml")).unwrap();
    assert!(junit.contains("C002 no newly required variable"), "{junit}");
    assert!(run.stdout.contains("lint C002 error"), "{}", run.stdout);
    assert!(
        leftovers(&run.stack()).is_empty(),
        "left: {:?}",
        leftovers(&run.stack())
    );
}

#[test]
fn a_clean_recipe_reaches_l5_green_and_expected_na_can_skip_the_lint() {
    let rig = Rig::new();
    let repo = rig.git_recipe(
        "fixture-web",
        "lintl5",
        &["1.0.0", "1.1.0"],
        "1.2.0",
        |_| {},
    );
    let suites = rig.quick_suite("lintl5");
    let run = rig.run(&repo, Some(&suites), &[]);
    assert_eq!(run.code, 0, "{}", run.explain());
    let r = run.results();
    assert_eq!(r["schema"], ccci_core::results::SCHEMA_VERSION);
    assert_eq!(r["verdict"], "green", "{r}");
    assert_eq!(r["level"], 5, "{r}");
    assert_eq!(r["expected_level"], 5, "{r}");
    assert_eq!(run.rung("lint")["status"], "pass", "{r}");
    assert!(
        run.rung("lint")["reason"]
            .as_str()
            .unwrap()
            .starts_with("clean: "),
        "{r}"
    );
    assert_eq!(r["lint"]["base"], "1.1.0+1.1.0");
    let names: Vec<&str> = r["rungs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        ["install", "upgrade", "backup_restore", "functional", "lint"]
    );
    assert!(run.stdout.contains("L5 lint"), "{}", run.stdout);
    assert!(
        run.stdout.contains("GREEN  level L5 (expected L5)"),
        "{}",
        run.stdout
    );
    assert!(leftovers(&run.stack()).is_empty());

    // EXPECTED_NA marks the lint intentionally skipped: the level stops at L4, as expected.
    let toml = suites.join("lintl5/suite.toml");
    let text = std::fs::read_to_string(&toml).unwrap();
    std::fs::write(
        &toml,
        format!("{text}\n[expected_na]\nlint = \"linted upstream\"\n"),
    )
    .unwrap();
    let run = rig.run_into(&repo, Some(&suites), &["--stages", "lint"], "out-na");
    assert_eq!(run.code, 0, "{}", run.explain());
    let r = run.results();
    assert_eq!(run.rung("lint")["status"], "skip", "{r}");
    assert_eq!(run.rung("lint")["skip"], "intentional", "{r}");
    assert_eq!(r["expected_level"], 4, "{r}");
    assert!(r.get("lint").is_none(), "{r}");
}
