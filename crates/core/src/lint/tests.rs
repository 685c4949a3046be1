//! Each rule's failing case, on a small recipe shaped like the catalogue's, and a clean one.

use super::*;

const COMPOSE: &str = r#"---
version: "3.8"

services:
  app:
    image: nginx:1.27.2
    networks:
      - proxy
    environment:
      - DOMAIN
    configs:
      - source: nginx_conf
        target: /etc/nginx/conf.d/default.conf
    secrets:
      - db_password
    volumes:
      - content:/usr/share/nginx/html
    healthcheck:
      test: ["CMD", "true"]
    deploy:
      labels:
        - "traefik.enable=true"
        - "traefik.http.routers.${STACK_NAME}.rule=Host(`${DOMAIN}`)"
        - "coop-cloud.${STACK_NAME}.version=1.1.0+1.27.2"
        - "backupbot.backup=true"

configs:
  nginx_conf:
    name: ${STACK_NAME}_nginx_conf_${NGINX_CONF_VERSION}
    file: nginx.conf

secrets:
  db_password:
    external: true
    name: ${STACK_NAME}_db_password_${SECRET_DB_PASSWORD_VERSION}

volumes:
  content:

networks:
  proxy:
    external: true
"#;

const SAMPLE: &str = "TYPE=demo\n\nDOMAIN=demo.example.com\nLETS_ENCRYPT_ENV=production\n\nSECRET_DB_PASSWORD_VERSION=v1 # length=32\n\n## Optional\n#SMTP_HOST=mail.example.com\n";

const ABRA: &str = "#!/bin/bash\nexport NGINX_CONF_VERSION=v1\n";

const README: &str = "# demo\n\n<!-- metadata -->\n* **Category**: Apps\n* **Status**: 1\n* **Image**: nginx\n* **Healthcheck**: Yes\n* **Backups**: Yes\n* **Email**: No\n* **Tests**: No\n* **SSO**: No\n<!-- endmetadata -->\n";

pub(crate) fn tree() -> RecipeTree {
    RecipeTree {
        compose: vec![("compose.yml".into(), COMPOSE.into())],
        env_sample: Some(SAMPLE.into()),
        abra_sh: Some(ABRA.into()),
        readme: Some(README.into()),
        files: [("nginx.conf".to_string(), "server {}\n".to_string())].into(),
        release_notes: BTreeMap::new(),
    }
}

fn tags(names: &[(&str, bool)]) -> Option<Vec<Tag>> {
    Some(
        names
            .iter()
            .map(|(n, a)| Tag {
                name: n.to_string(),
                annotated: *a,
            })
            .collect(),
    )
}

/// The head as a release 1.1.0 on top of the base 1.0.0 (the same tree).
pub(crate) fn input() -> LintInput {
    LintInput {
        head: tree(),
        head_release: None,
        base: Some(BaseRelease {
            tag: "1.0.0+1.27.2".into(),
            tree: tree(),
            tags: tags(&[("1.0.0+1.27.2", true)]),
        }),
        tags: tags(&[("1.0.0+1.27.2", true)]),
    }
}

fn base_tree(i: &mut LintInput) -> &mut RecipeTree {
    &mut i.base.as_mut().unwrap().tree
}

/// The same change to the head and to its base release.
pub(crate) fn both(i: &mut LintInput, change: impl Fn(&mut RecipeTree)) {
    change(&mut i.head);
    change(base_tree(i));
}

pub(crate) fn edit(tree: &mut RecipeTree, from: &str, to: &str) {
    let text = &mut tree.compose[0].1;
    assert!(text.contains(from), "compose has no {from:?}");
    *text = text.replacen(from, to, 1);
}

fn rule<'r>(report: &'r LintReport, id: &str) -> &'r RuleResult {
    report.rules.iter().find(|r| r.id == id).unwrap()
}

/// Lints and asserts `id` failed (and is the only failure of its level when `only`),
/// returning its findings' messages and locations joined.
fn fails(input: &LintInput, id: &str) -> String {
    let report = lint(input);
    let r = rule(&report, id);
    assert_eq!(r.status, Status::Failed, "{id} did not fail: {r:?}");
    assert!(!r.findings.is_empty());
    r.findings
        .iter()
        .map(|f| format!("{} @ {}", f.message, f.location()))
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn a_catalogue_shaped_recipe_lints_clean_without_warnings() {
    let report = lint(&input());
    for r in &report.rules {
        assert_ne!(r.status, Status::Failed, "{r:?}");
    }
    assert!(report.clean());
    assert_eq!(report.base.as_deref(), Some("1.0.0+1.27.2"));
    assert!(
        report.summary().starts_with("clean: "),
        "{}",
        report.summary()
    );
    assert_eq!(rule(&report, "R013").status, Status::Skipped);
    assert_eq!(
        rule(&report, "C003").status,
        Status::Skipped,
        "the head is no release"
    );
    assert!(report.failure_message().is_none());
    // Every rule of the catalogue is reported once, in order.
    let ids: Vec<&str> = report.rules.iter().map(|r| r.id.as_str()).collect();
    let want: Vec<&str> = RULES.iter().map(|r| r.id).collect();
    assert_eq!(ids, want);
}

#[test]
fn r001_compose_version() {
    let mut i = input();
    edit(&mut i.head, "version: \"3.8\"", "version: \"3.7\"");
    assert!(fails(&i, "R001").contains("compose.yml:2"));
}

#[test]
fn r002_healthchecks() {
    let mut i = input();
    edit(
        &mut i.head,
        "    healthcheck:\n      test: [\"CMD\", \"true\"]\n",
        "",
    );
    assert!(fails(&i, "R002").contains("service `app` has no healthcheck @ compose.yml:5"));
    let mut i = input();
    edit(&mut i.head, "test: [\"CMD\", \"true\"]", "disable: true");
    fails(&i, "R002");
}

#[test]
fn r003_r004_r005_image_tags() {
    let mut i = input();
    edit(&mut i.head, "image: nginx:1.27.2", "image: nginx");
    assert!(fails(&i, "R003").contains("image `nginx` has no tag @ compose.yml:6"));
    let mut i = input();
    edit(&mut i.head, "image: nginx:1.27.2", "image: nginx:latest");
    assert!(fails(&i, "R004").contains("unstable tag `latest`"));
    assert!(fails(&i, "R005").contains("`latest` is not semver-like"));
    let mut i = input();
    edit(
        &mut i.head,
        "image: nginx:1.27.2",
        "image: nginx:mainline-alpine",
    );
    fails(&i, "R005");
    for good in ["1", "16-alpine", "v1.2.3", "1.27.2-bookworm", "2024.01.05"] {
        assert!(abra::semver_like(good), "{good}");
    }
    for bad in ["latest", "stable", "1.x", "", "1..2"] {
        assert!(!abra::semver_like(bad), "{bad}");
    }
    // A registry with a port is not a tag.
    assert_eq!(
        abra::split_image("reg.local:5000/app"),
        ("reg.local:5000/app", None, None)
    );
    assert_eq!(
        abra::split_image("reg.local:5000/app:2@sha256:ab"),
        ("reg.local:5000/app", Some("2"), Some("sha256:ab"))
    );
}

#[test]
fn r006_published_version() {
    let mut i = input();
    i.tags = tags(&[("nightly", true), ("1.0.0+1.27.2", false)]);
    assert!(fails(&i, "R006").contains("no annotated tag"));
    i.tags = None;
    assert_eq!(rule(&lint(&i), "R006").status, Status::Skipped);
}

#[test]
fn r007_readme_metadata() {
    let mut i = input();
    i.head.readme = Some(README.replace("* **Backups**: Yes", "* **Backups**:"));
    assert!(fails(&i, "R007").contains("metadata not filled in: Backups @ README.md:3"));
    i.head.readme = Some("# demo\n".into());
    assert!(fails(&i, "R007").contains("no `<!-- metadata -->`"));
    i.head.readme = None;
    fails(&i, "R007");
}

#[test]
fn r008_env_sample() {
    let mut i = input();
    i.head.env_sample = None;
    fails(&i, "R008");
    assert!(!lint(&i).clean());
}

#[test]
fn r009_app_service() {
    let mut i = input();
    edit(&mut i.head, "  app:\n", "  web:\n");
    assert!(fails(&i, "R009").contains("no service is named `app` (services: web)"));
}

#[test]
fn r010_traefik_enabled_and_its_skip() {
    let mut i = input();
    edit(&mut i.head, "        - \"traefik.enable=true\"\n", "");
    assert!(fails(&i, "R010").contains("traefik.enable=true"));
    // Not served through the proxy: no DOMAIN in .env.sample.
    i.head.env_sample = Some(SAMPLE.replace("DOMAIN=demo.example.com\n", ""));
    assert_eq!(rule(&lint(&i), "R010").status, Status::Skipped);
}

#[test]
fn r011_images_present() {
    let mut i = input();
    edit(&mut i.head, "    image: nginx:1.27.2\n", "");
    assert!(fails(&i, "R011").contains("service `app` has no `image:`"));
}

#[test]
fn r012_config_versions_vendored_in_abra_sh() {
    let mut i = input();
    i.head.abra_sh = Some("#!/bin/bash\n".into());
    let text = fails(&i, "R012");
    assert!(text.contains("uses NGINX_CONF_VERSION"), "{text}");
    assert!(text.contains("compose.yml:29"), "{text}");
    let mut i = input();
    edit(
        &mut i.head,
        "    name: ${STACK_NAME}_nginx_conf_${NGINX_CONF_VERSION}\n",
        "",
    );
    assert!(fails(&i, "R012").contains("no version in its name"));
}

#[test]
fn r014_annotated_tags_only() {
    let mut i = input();
    i.tags = tags(&[("1.0.0+1.27.2", true), ("1.1.0+1.27.2", false)]);
    assert!(fails(&i, "R014").contains("`1.1.0+1.27.2` is a lightweight tag"));
    i.tags = None;
    assert_eq!(rule(&lint(&i), "R014").status, Status::Skipped);
}

#[test]
fn r015_secret_name_length() {
    let mut i = input();
    both(&mut i, |t| {
        t.compose[0].1 = t.compose[0]
            .1
            .replace("db_password", "database_password")
            .replace("DB_PASSWORD", "DATABASE_PASSWORD");
        t.env_sample = Some(SAMPLE.replace("SECRET_DB_PASSWORD", "SECRET_DATABASE_PASSWORD"));
    });
    assert!(fails(&i, "R015").contains("secret `database_password` is 17 characters"));
    // abra lists R015 among its warnings: a long secret name never fails the lint.
    let report = lint(&i);
    assert_eq!(rule(&report, "R015").level, Level::Warn);
    assert!(report.clean(), "{}", report.summary());
}

#[test]
fn c000_compose_parses() {
    let mut i = input();
    i.head.compose[0].1 = "services:\n  app: [unclosed\n".into();
    let text = fails(&i, "C000");
    assert!(text.contains("invalid YAML"), "{text}");
    // The rules that read compose are skipped, not failed.
    let report = lint(&i);
    assert_eq!(rule(&report, "R009").status, Status::Skipped);
    i.head.compose.clear();
    assert!(fails(&i, "C000").contains("no compose.yml"));
}

#[test]
fn c001_config_changed_without_a_version_bump() {
    let mut i = input();
    i.head
        .files
        .insert("nginx.conf".into(), "server { listen 80; }\n".into());
    let text = fails(&i, "C001");
    for word in [
        "config `nginx_conf` (content from `nginx.conf`) changed since 1.0.0+1.27.2",
        "only updates to Labels are allowed",
        "bump NGINX_CONF_VERSION, now `v1` (abra.sh line 2",
        "e.g. to `v2`",
        "@ abra.sh:2",
    ] {
        assert!(text.contains(word), "{word:?} not in {text}");
    }
    // Bumped: satisfied.
    i.head.abra_sh = Some(ABRA.replace("v1", "v2"));
    assert_eq!(rule(&lint(&i), "C001").status, Status::Satisfied);
    // No base release: skipped.
    i.base = None;
    assert_eq!(rule(&lint(&i), "C001").status, Status::Skipped);
}

#[test]
fn c002_a_newly_required_variable_installed_apps_lack() {
    let mut i = input();
    edit(
        &mut i.head,
        "      - DOMAIN\n",
        "      - DOMAIN\n      - GREETING=${GREETING:?set GREETING in .env}\n",
    );
    // Adding it to the head's .env.sample does not help apps installed from the base.
    i.head.env_sample = Some(format!("{SAMPLE}GREETING=hello\n"));
    let text = fails(&i, "C002");
    for word in [
        "requires GREETING without a default",
        "base release 1.0.0+1.27.2's .env.sample did not set it",
        "the upgrade fails",
        "`${GREETING:-…}`",
        "release notes",
        "@ compose.yml:11",
    ] {
        assert!(text.contains(word), "{word:?} not in {text}");
    }
    // Release notes that tell operators make it pass, with a note.
    i.head.release_notes.insert(
        "1.1.0+1.27.2".into(),
        "Add GREETING=… to your .env before upgrading.\n".into(),
    );
    let report = lint(&i);
    let r = rule(&report, "C002");
    assert_eq!(r.status, Status::Satisfied);
    assert!(r
        .note
        .as_deref()
        .unwrap()
        .contains("GREETING (release/1.1.0+1.27.2)"));
    // A plain `${X}` counts too; a default does not; nor a variable the base sample set.
    let mut i = input();
    edit(
        &mut i.head,
        "      - DOMAIN\n",
        "      - DOMAIN\n      - A=${NEWVAR}\n      - B=${OTHER:-x}\n      - C=$LETS_ENCRYPT_ENV\n",
    );
    let text = fails(&i, "C002");
    assert!(
        text.contains("NEWVAR") && text.contains("gets it empty"),
        "{text}"
    );
    assert!(
        !text.contains("OTHER") && !text.contains("LETS_ENCRYPT_ENV"),
        "{text}"
    );
    // The base already needed it the same way: nothing new.
    let mut i = input();
    edit(
        &mut i.head,
        "      - DOMAIN\n",
        "      - DOMAIN\n      - A=${NEWVAR}\n",
    );
    edit(
        base_tree(&mut i),
        "      - DOMAIN\n",
        "      - DOMAIN\n      - A=${NEWVAR}\n",
    );
    assert_eq!(rule(&lint(&i), "C002").status, Status::Satisfied);
}

#[test]
fn c003_version_label_disagrees_with_the_release_tag() {
    let mut i = input();
    i.head_release = Some("1.2.0+1.27.2".into());
    let text = fails(&i, "C003");
    assert!(
        text.contains("release 1.2.0+1.27.2 but service `app` is labelled `coop-cloud.${STACK_NAME}.version=1.1.0+1.27.2` @ compose.yml:24"),
        "{text}"
    );
    i.head_release = Some("1.1.0+1.27.2".into());
    assert_eq!(rule(&lint(&i), "C003").status, Status::Satisfied);
    edit(
        &mut i.head,
        "        - \"coop-cloud.${STACK_NAME}.version=1.1.0+1.27.2\"\n",
        "",
    );
    assert!(fails(&i, "C003").contains("no service has a `coop-cloud.${STACK_NAME}.version` label"));
}

#[test]
fn c003_compares_only_the_recipes_own_version_label_and_quotes_it_as_written() {
    // Other `coop-cloud.*.version` labels (a service's own, another stack's) are not the
    // recipe's version: they never fail C003.
    let mut i = input();
    i.head_release = Some("1.1.0+1.27.2".into());
    edit(
        &mut i.head,
        "        - \"backupbot.backup=true\"\n",
        "        - \"backupbot.backup=true\"\n        - \"coop-cloud.${STACK_NAME}.app.version=2.0.0\"\n        - \"coop-cloud.backupbot.version=9\"\n",
    );
    assert_eq!(
        rule(&lint(&i), "C003").status,
        Status::Satisfied,
        "{:?}",
        rule(&lint(&i), "C003")
    );
    // Only such labels, without the recipe's own: the label is missing.
    edit(
        &mut i.head,
        "        - \"coop-cloud.${STACK_NAME}.version=1.1.0+1.27.2\"\n",
        "",
    );
    assert!(fails(&i, "C003").contains("no service has a `coop-cloud.${STACK_NAME}.version` label"));
    // Written with `$STACK_NAME` and as a mapping: still the recipe's own, quoted as written.
    let mut i = input();
    i.head_release = Some("1.2.0+1.27.2".into());
    edit(
        &mut i.head,
        "      labels:\n        - \"traefik.enable=true\"\n        - \"traefik.http.routers.${STACK_NAME}.rule=Host(`${DOMAIN}`)\"\n        - \"coop-cloud.${STACK_NAME}.version=1.1.0+1.27.2\"\n        - \"backupbot.backup=true\"\n",
        "      labels:\n        traefik.enable: \"true\"\n        coop-cloud.$STACK_NAME.version: 1.1.0+1.27.2\n",
    );
    let text = fails(&i, "C003");
    assert!(
        text.contains("service `app` is labelled `coop-cloud.$STACK_NAME.version=1.1.0+1.27.2` @ compose.yml:23"),
        "{text}"
    );
}

#[test]
fn c004_image_tag_moved_backwards_is_a_warning() {
    let mut i = input();
    edit(&mut i.head, "image: nginx:1.27.2", "image: nginx:1.26.3");
    assert!(fails(&i, "C004")
        .contains("image nginx goes back from `1.27.2` (1.0.0+1.27.2) to `1.26.3`"));
    assert!(lint(&i).clean(), "a warning never fails the lint");
    // Another repository is not a downgrade.
    let mut i = input();
    edit(&mut i.head, "image: nginx:1.27.2", "image: caddy:1.0");
    assert_eq!(rule(&lint(&i), "C004").status, Status::Satisfied);
}

#[test]
fn c005_c006_c007_secrets_and_their_version_lines() {
    let mut i = input();
    i.head.env_sample = Some(SAMPLE.replace("SECRET_DB_PASSWORD_VERSION=v1 # length=32\n", ""));
    assert!(
        fails(&i, "C005").contains("secret `db_password` has no `SECRET_DB_PASSWORD_VERSION` line")
    );
    // Commented out (an optional secret) is enough.
    i.head.env_sample = Some(SAMPLE.replace("SECRET_DB", "#SECRET_DB"));
    assert_eq!(rule(&lint(&i), "C005").status, Status::Satisfied);
    // Whatever variable the secret's name uses is the one that must be set (a real recipe
    // writes `${SECRET_OVH_CONSUMER_KEY}`): abra versions the secret by its interpolated name.
    let mut i = input();
    edit(&mut i.head, "${SECRET_DB_PASSWORD_VERSION}", "${DB_PW_V}");
    i.head.env_sample = Some(SAMPLE.replace("SECRET_DB_PASSWORD_VERSION=v1", "# DB_PW_V=v1"));
    assert_eq!(
        rule(&lint(&i), "C005").status,
        Status::Satisfied,
        "{:?}",
        rule(&lint(&i), "C005")
    );
    i.head.env_sample = Some(SAMPLE.to_string());
    assert!(fails(&i, "C005").contains("secret `db_password` has no `DB_PW_V` line"));
    // A default in the name versions it without the variable.
    edit(&mut i.head, "${DB_PW_V}", "${DB_PW_V:-v1}");
    assert_eq!(rule(&lint(&i), "C005").status, Status::Satisfied);

    let mut i = input();
    i.head.env_sample = Some(format!("{SAMPLE}SECRET_ADMIN_TOKEN_VERSION=v1\n"));
    assert!(fails(&i, "C006")
        .contains("no compose file declares a secret `admin_token` @ .env.sample:10"));
    assert!(lint(&i).clean());

    let mut i = input();
    i.head.env_sample = Some(SAMPLE.replace("length=32", "length=thirty"));
    let text = fails(&i, "C007");
    assert!(
        text.contains("`length=thirty`: not a whole number from 4 to 4096 @ .env.sample:6"),
        "{text}"
    );
}

#[test]
fn c008_backupbot_volume_label_naming_no_volume() {
    let mut i = input();
    edit(
        &mut i.head,
        "        - \"backupbot.backup=true\"\n",
        "        - \"backupbot.backup=true\"\n        - \"backupbot.backup.volumes.data.path=dump.sql\"\n",
    );
    let text = fails(&i, "C008");
    assert!(
        text.contains("label `backupbot.backup.volumes.data.path` names no volume of the service (its named volumes: content) @ compose.yml:26"),
        "{text}"
    );
}

#[test]
fn the_failure_message_names_the_first_error_rule_and_the_others() {
    let mut i = input();
    i.head.abra_sh = Some("#!/bin/bash\n".into());
    i.tags = tags(&[("1.0.0+1.27.2", false)]);
    let report = lint(&i);
    let msg = report.failure_message().unwrap();
    assert!(
        msg.starts_with("R012 config versions are vendored (compose.yml:29): config `nginx_conf`"),
        "{msg}"
    );
    assert!(
        msg.contains("Fix: vendor config versions in an abra.sh"),
        "{msg}"
    );
    assert!(
        msg.contains("Also failing: R014 only annotated tags used for recipe version"),
        "{msg}"
    );
    assert!(
        report.summary().starts_with("2 errors: R012, R014"),
        "{}",
        report.summary()
    );
}

#[test]
fn the_report_round_trips_as_json() {
    let mut i = input();
    i.head.abra_sh = None;
    let report = lint(&i);
    let json = serde_json::to_string(&report).unwrap();
    assert!(
        json.contains(r#""id":"R012","level":"error","origin":"abra""#),
        "{json}"
    );
    assert!(json.contains(r#""status":"failed""#));
    let back: LintReport = serde_json::from_str(&json).unwrap();
    assert_eq!(back, report);
}

#[test]
fn wanted_files_are_the_config_and_secret_sources() {
    let compose = vec![
        ("compose.yml".to_string(), COMPOSE.to_string()),
        (
            "compose.x.yml".to_string(),
            "configs:\n  b:\n    file: ./b.conf\nsecrets:\n  s:\n    file: s.txt\n".to_string(),
        ),
    ];
    assert_eq!(wanted_files(&compose), ["b.conf", "nginx.conf", "s.txt"]);
}

#[test]
fn var_uses_table() {
    use own::{var_uses, Use};
    let uses = var_uses("a: ${A:?x}\n# ${COMMENTED}\nb: $B ${C-d} $$D ${E}\n");
    let got: Vec<(&str, Use, usize)> = uses.iter().map(|(n, u, l)| (n.as_str(), *u, *l)).collect();
    assert_eq!(
        got,
        [
            ("A", Use::Required, 1),
            ("B", Use::Plain, 3),
            ("C", Use::Defaulted, 3),
            ("E", Use::Plain, 3),
        ]
    );
}

// What the head introduced, and what it inherited from its base release (docs/behaviour.md §5).

/// Each error-level rule's findings as `id subject provenance`.
fn provenance(report: &LintReport) -> Vec<String> {
    report
        .errors()
        .iter()
        .flat_map(|r| {
            r.findings.iter().map(move |f| {
                format!(
                    "{} {} {}",
                    r.id,
                    f.subject,
                    match f.provenance {
                        Some(Provenance::Introduced) => "introduced",
                        Some(Provenance::Inherited) => "inherited",
                        None => "-",
                    }
                )
            })
        })
        .collect()
}

#[test]
fn an_error_at_the_base_too_is_inherited_and_one_the_head_adds_is_introduced() {
    // A stray lightweight tag from years ago: the base's history carried it.
    let old_tag = [("0.9.0+1.26.0", false), ("1.0.0+1.27.2", true)];
    let mut i = input();
    i.tags = tags(&old_tag);
    i.base.as_mut().unwrap().tags = tags(&old_tag);
    let report = lint(&i);
    assert_eq!(provenance(&report), ["R014 tag 0.9.0+1.26.0 inherited"]);
    assert!(
        !report.clean(),
        "inherited errors keep the lint from clean (L5)"
    );
    assert!(!report.fails(), "but do not fail it");
    assert!(report.failure_message().is_none());
    let summary = report.summary();
    assert_eq!(
        summary,
        "not clean, none introduced: 1 error inherited from the base release 1.0.0+1.27.2: R014"
    );
    let said = report.inherited_message().unwrap();
    for word in [
        "already at the base release 1.0.0+1.27.2, not introduced by this change",
        "(not RED; no L5 until fixed)",
        "R014 only annotated tags used for recipe version: tag `0.9.0+1.26.0` is a lightweight tag",
        "Fix: replace lightweight tags with annotated tags",
    ] {
        assert!(said.contains(word), "{word:?} not in {said}");
    }

    // A lightweight tag on the head's own commits is the head's.
    i.tags = tags(&[
        ("0.9.0+1.26.0", false),
        ("1.0.0+1.27.2", true),
        ("wip", false),
    ]);
    let report = lint(&i);
    assert_eq!(
        provenance(&report),
        ["R014 tag 0.9.0+1.26.0 inherited", "R014 tag wip introduced"]
    );
    assert!(report.fails(), "one introduced finding fails the rule");
    let message = report.failure_message().unwrap();
    assert!(message.starts_with("R014 only annotated tags"), "{message}");

    // No base release: every finding is introduced.
    i.base = None;
    let report = lint(&i);
    assert_eq!(
        provenance(&report),
        [
            "R014 tag 0.9.0+1.26.0 introduced",
            "R014 tag wip introduced"
        ]
    );
}

#[test]
fn a_finding_is_the_same_wherever_it_moved_and_however_the_line_reads() {
    // The base routes nothing through traefik and has an unversioned config; the head
    // keeps both, on other lines (a comment added above), and adds a third error.
    let mut i = input();
    both(&mut i, |t| {
        edit(t, "        - \"traefik.enable=true\"\n", "");
        edit(
            t,
            "    name: ${STACK_NAME}_nginx_conf_${NGINX_CONF_VERSION}\n",
            "",
        );
    });
    edit(
        &mut i.head,
        "services:\n",
        "# moved down a line\nservices:\n",
    );
    edit(&mut i.head, "    image: nginx:1.27.2\n", "");
    let report = lint(&i);
    assert_eq!(
        provenance(&report),
        [
            "R010 traefik.enable inherited",
            "R011 services.app introduced",
            "R012 configs.nginx_conf inherited",
        ]
    );
    assert_eq!(
        report.summary(),
        "1 error: R011; 2 inherited from the base release 1.0.0+1.27.2: R010, R012"
    );
    let message = report.failure_message().unwrap();
    assert!(
        message.starts_with("R011 all services have images"),
        "{message}"
    );
    assert!(
        message
            .ends_with("Already at the base release 1.0.0+1.27.2 (not this change's): R010, R012"),
        "{message}"
    );
}

#[test]
fn a_missing_env_sample_at_the_base_too_is_inherited() {
    let mut i = input();
    i.head.env_sample = None;
    base_tree(&mut i).env_sample = None;
    let report = lint(&i);
    assert!(
        provenance(&report).contains(&"R008 .env.sample inherited".to_string()),
        "{:?}",
        provenance(&report)
    );
    assert!(!report.fails(), "{}", report.summary());
}

#[test]
fn every_finding_says_what_it_is_about() {
    // A head breaking many rules at once: each finding has a subject.
    let mut i = input();
    i.head_release = Some("2.0.0+1.27.2".into());
    i.tags = tags(&[("nightly", false)]);
    i.head.readme = None;
    i.head.abra_sh = None;
    i.head.env_sample = Some(format!(
        "{}SECRET_X_VERSION=v1 # length=x\n",
        SAMPLE.replace("DOMAIN=demo.example.com\n", "")
    ));
    i.head.files.insert("nginx.conf".into(), "changed\n".into());
    edit(&mut i.head, "version: \"3.8\"", "version: \"3.7\"");
    edit(&mut i.head, "image: nginx:1.27.2", "image: nginx");
    edit(&mut i.head, "  app:\n", "  web:\n");
    edit(
        &mut i.head,
        "    healthcheck:\n      test: [\"CMD\", \"true\"]\n",
        "      - GREETING=${GREETING:?x}\n",
    );
    edit(
        &mut i.head,
        "        - \"backupbot.backup=true\"\n",
        "        - \"backupbot.backup.volumes.nope=true\"\n",
    );
    edit(
        &mut i.head,
        "  db_password:\n    external",
        "  a_very_long_secret:\n    external",
    );
    let report = lint(&i);
    let mut failed = 0;
    for r in report.rules.iter().filter(|r| r.status == Status::Failed) {
        failed += 1;
        for f in &r.findings {
            assert!(!f.subject.is_empty(), "{} {f:?}", r.id);
        }
    }
    assert!(failed >= 12, "{}", report.summary());
}

#[test]
fn provenance_round_trips_as_json_and_older_records_read_as_introduced() {
    let mut i = input();
    both(&mut i, |t| t.env_sample = None);
    let report = lint(&i);
    let json = serde_json::to_string(&report).unwrap();
    assert!(
        json.contains(r#""subject":".env.sample","provenance":"inherited""#),
        "{json}"
    );
    let back: LintReport = serde_json::from_str(&json).unwrap();
    assert_eq!(back, report);
    // A record from before provenance: its errors fail as they did.
    let old = json.replace(r#","provenance":"inherited""#, "");
    let old: LintReport = serde_json::from_str(&old).unwrap();
    assert!(old.fails());
}

#[test]
fn compose_files_merge_as_docker_merges_them_labels_and_lists_add_up() {
    // An overlay (compose.basicauth.yml in a real recipe) adding labels and a secret to
    // `app` keeps the base file's `traefik.enable=true`, its other labels and its secret.
    let overlay = "version: \"3.8\"\nservices:\n  app:\n    secrets:\n      - usersfile\n    environment:\n      - USERSFILE=/run/secrets/usersfile\n    deploy:\n      labels:\n        - \"traefik.http.routers.${STACK_NAME}.middlewares=${STACK_NAME}_basicauth\"\nsecrets:\n  usersfile:\n    external: true\n    name: ${STACK_NAME}_usersfile_${SECRET_USERSFILE_VERSION}\n";
    let mut i = input();
    i.head
        .compose
        .push(("compose.basicauth.yml".into(), overlay.into()));
    i.head.env_sample = Some(format!("{SAMPLE}#SECRET_USERSFILE_VERSION=v1\n"));
    let report = lint(&i);
    for id in ["R010", "C005", "C003"] {
        assert_ne!(
            rule(&report, id).status,
            Status::Failed,
            "{id}: {:?}",
            rule(&report, id)
        );
    }
    let p = tree::Parsed::new(&i.head);
    let (_, app) = p.services().into_iter().find(|(n, _)| n == "app").unwrap();
    let labels = p.raw_labels(app);
    assert_eq!(
        labels.get("traefik.enable").map(String::as_str),
        Some("true"),
        "{labels:?}"
    );
    assert!(
        labels.contains_key("traefik.http.routers.${STACK_NAME}.middlewares"),
        "{labels:?}"
    );
    let secrets: Vec<&str> = app["secrets"]
        .as_sequence()
        .unwrap()
        .iter()
        .filter_map(|s| s.as_str())
        .collect();
    assert_eq!(secrets, ["db_password", "usersfile"]);
    // A scalar is replaced, as docker replaces it.
    i.head.compose[1].1 = "services:\n  app:\n    image: nginx:1.27.3\n".into();
    let p = tree::Parsed::new(&i.head);
    let (_, app) = p.services().into_iter().find(|(n, _)| n == "app").unwrap();
    assert_eq!(p.image(app).as_deref(), Some("nginx:1.27.3"));
}
