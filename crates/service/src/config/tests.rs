//! The configuration's tests: good files, overrides, and errors naming file, line, field
//! and fix.

use super::*;

fn no_env(_: &str) -> Option<String> {
    None
}

const GOOD: &str = r#"
host_id = "ci-1"
listen = "127.0.0.1:8099"
public_url = "https://ci.example.org/"
database = "sqlite:/tmp/x.db"
capacity = 2

[forge]
url = "https://git.example.org"
token_env = "MY_TOKEN"
repos = ["coop-cloud/keycloak", { repo = "coop-cloud/n8n", recipe = "n8n-x" }]
allow_list = ["alice"]

[rig]
ci_domain = "ci.example.org"
"#;

#[test]
fn a_good_file_validates() {
    let env = |name: &str| (name == "MY_TOKEN").then(|| "tok-123456".to_string());
    let config = from_str(GOOD, Path::new("ccci.toml"), &env).unwrap();
    assert_eq!(config.capacity, 2);
    assert_eq!(config.public_url, "https://ci.example.org");
    // Every run redacts the host's own secrets: the forge token among them.
    let redactor = ccci_core::secret::Redactor::new(config.rig.host_secrets.clone());
    assert_eq!(
        redactor.redact("a log line: tok-123456"),
        "a log line: [REDACTED]"
    );
    let forge = config.forge.unwrap();
    assert_eq!(forge.token.expose(), "tok-123456");
    assert_eq!(forge.repos[0].recipe, "keycloak");
    assert_eq!(
        forge.repos[0].clone_url,
        "https://git.example.org/coop-cloud/keycloak.git"
    );
    assert_eq!(forge.repos[1].recipe, "n8n-x");
    assert!(
        !format!("{forge:?}").contains("tok-123456"),
        "the token never prints"
    );
}

#[test]
fn environment_overrides_the_file() {
    let env = |name: &str| match name {
        "MY_TOKEN" => Some("tok-123456".to_string()),
        "CCCI_CAPACITY" => Some("3".into()),
        "CCCI_REPOS" => Some("a/b, c/d".into()),
        "CCCI_DATABASE_URL" => Some("postgres://ci@db/ccci".into()),
        _ => None,
    };
    let config = from_str(GOOD, Path::new("ccci.toml"), &env).unwrap();
    assert_eq!(config.capacity, 3);
    assert_eq!(config.database_url.expose(), "postgres://ci@db/ccci");
    let repos: Vec<_> = config
        .forge
        .unwrap()
        .repos
        .into_iter()
        .map(|r| r.repo)
        .collect();
    assert_eq!(repos, ["a/b", "c/d"]);
}

/// Each row: a file, and fragments the error must contain (file:line, field, fix).
#[test]
fn errors_name_file_line_field_and_fix() {
    let rows: &[(&str, &[&str])] = &[
        ("capcity = 2\n[rig]\nci_domain = \"x.org\"\n", &["ccci.toml:1:", "capcity", "unknown field"]),
        ("capacity = 0\n[rig]\nci_domain = \"x.org\"\n", &["ccci.toml:1:", "capacity:", "fix: set how many runs"]),
        ("\n\nlisten = \"nope\"\n[rig]\nci_domain = \"x.org\"\n", &["ccci.toml:3:", "listen:", "fix:"]),
        ("database = \"mysql://x\"\n[rig]\nci_domain = \"x.org\"\n", &["ccci.toml:1:", "database:", "sqlite:"]),
        ("capacity = \"two\"\n", &["ccci.toml:1:", "invalid type"]),
        ("[rig]\n", &["rig.ci_domain", "CCCI_CI_DOMAIN"]),
        (
            "[forge]\nurl = \"https://g.org\"\ntoken_file = \"/nonexistent/token\"\nrepos = [\"bad\"]\n[rig]\nci_domain = \"x.org\"\n",
            &["ccci.toml:3: forge.token_file: cannot read /nonexistent/token", "ccci.toml:4: forge.repos: \"bad\" is not owner/name"],
        ),
        (
            "[forge]\nurl = \"https://g.org\"\ntoken_env = \"T\"\nrepos = [\"a/b\"]\npoll_interval_secs = 0\n[rig]\nci_domain = \"x.org\"\n",
            &["ccci.toml:3: forge.token_env: environment variable T is not set", "ccci.toml:5: forge.poll_interval_secs"],
        ),
    ];
    for (text, fragments) in rows {
        let err = from_str(text, Path::new("ccci.toml"), &no_env).expect_err(text);
        let shown = err.to_string();
        for fragment in *fragments {
            assert!(
                shown.contains(fragment),
                "{text:?}: {shown:?} lacks {fragment:?}"
            );
        }
    }
}

#[test]
fn check_names_an_unreadable_file() {
    let err = check(Path::new("/nonexistent/ccci.toml")).unwrap_err();
    let shown = err.to_string();
    assert!(
        shown.starts_with("/nonexistent/ccci.toml: (file): cannot read the file"),
        "{shown}"
    );
    assert!(shown.contains("fix:"), "{shown}");
}

#[test]
fn janitor_interval_defaults_to_ten_minutes_and_zero_means_only_at_start() {
    let base = "[rig]\nci_domain = \"x.org\"\n";
    let interval = |text: &str, env: &dyn Fn(&str) -> Option<String>| {
        from_str(text, Path::new("c.toml"), env)
            .unwrap()
            .janitor_interval
    };
    assert_eq!(interval(base, &no_env), Some(Duration::from_secs(600)));
    let zero = format!("janitor_interval_secs = 0\n{base}");
    assert_eq!(interval(&zero, &no_env), None);
    let env = |name: &str| (name == "CCCI_JANITOR_INTERVAL").then(|| "120".to_string());
    assert_eq!(interval(&zero, &env), Some(Duration::from_secs(120)));
    let short = format!("janitor_interval_secs = 5\n{base}");
    let err = from_str(&short, Path::new("c.toml"), &no_env).unwrap_err();
    assert!(
        err.to_string().contains("c.toml:1: janitor_interval_secs"),
        "{err}"
    );
}

enum Want<'a> {
    /// No Keycloak on the rig.
    None,
    /// (url, admin user, password file name) after validation.
    Keycloak(&'a str, &'a str, &'a str),
    /// Fragments the error must contain.
    Problems(&'a [&'a str]),
}

/// Each row: the `[keycloak]` section (`{dir}` = a directory holding `admin-pw` with a
/// password and an empty `empty-pw`), the environment, and what validation makes of it.
#[test]
fn keycloak_section_validates_with_env_overrides_and_named_problems() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("admin-pw"), "kc-pass-98765\n").unwrap();
    std::fs::write(dir.path().join("empty-pw"), "  \n").unwrap();
    let d = dir.path().display().to_string();
    type Row<'a> = (&'a str, &'a [(&'a str, &'a str)], Want<'a>);
    let rows: &[Row] = &[
        ("", &[], Want::None),
        (
            "[keycloak]\nurl = \"https://sso.example.org/\"\nadmin_password_file = \"{dir}/admin-pw\"\n",
            &[],
            Want::Keycloak("https://sso.example.org", "admin", "admin-pw"),
        ),
        (
            "[keycloak]\nurl = \"https://sso.example.org\"\nadmin_user = \"root\"\nadmin_password_file = \"{dir}/admin-pw\"\n",
            &[("CCCI_KEYCLOAK_URL", "http://kc.local:8080"), ("CCCI_KEYCLOAK_ADMIN_USER", "ops")],
            Want::Keycloak("http://kc.local:8080", "ops", "admin-pw"),
        ),
        (
            "",
            &[("CCCI_KEYCLOAK_URL", "https://sso.x.org"), ("CCCI_KEYCLOAK_ADMIN_PASSWORD_FILE", "{dir}/admin-pw")],
            Want::Keycloak("https://sso.x.org", "admin", "admin-pw"),
        ),
        // The user alone (it has a default) does not conjure a Keycloak.
        ("", &[("CCCI_KEYCLOAK_ADMIN_USER", "ops")], Want::None),
        (
            "[keycloak]\nurl = \"https://sso.example.org\"\nadmin_password_file = \"{dir}/missing-pw\"\n",
            &[],
            Want::Problems(&["c.toml:5: keycloak.admin_password_file: cannot read", "missing-pw", "fix: write the Keycloak admin's password into that file"]),
        ),
        (
            "[keycloak]\nurl = \"https://sso.example.org\"\nadmin_password_file = \"{dir}/empty-pw\"\n",
            &[],
            Want::Problems(&["c.toml:5: keycloak.admin_password_file:", "empty-pw is empty", "fix:"]),
        ),
        (
            "[keycloak]\nurl = \"https://sso.example.org\"\n",
            &[],
            Want::Problems(&["c.toml:3: keycloak: no admin_password_file", "CCCI_KEYCLOAK_ADMIN_PASSWORD_FILE"]),
        ),
        (
            "[keycloak]\nurl = \"sso.example.org\"\nadmin_user = \"\"\nadmin_password_file = \"{dir}/admin-pw\"\n",
            &[],
            Want::Problems(&["c.toml:4: keycloak.url: \"sso.example.org\" is not an http(s) URL", "c.toml:5: keycloak.admin_user: is empty"]),
        ),
        (
            "[keycloak]\nurl = \"https://sso.example.org\"\npassword = \"x\"\n",
            &[],
            Want::Problems(&["c.toml:5:", "unknown field"]),
        ),
    ];
    for (section, env, want) in rows {
        let text = format!(
            "[rig]\nci_domain = \"x.org\"\n{}",
            section.replace("{dir}", &d)
        );
        let env: Vec<(String, String)> = env
            .iter()
            .map(|(k, v)| (k.to_string(), v.replace("{dir}", &d)))
            .collect();
        let lookup = |name: &str| env.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
        let result = from_str(&text, Path::new("c.toml"), &lookup);
        match want {
            Want::None => assert!(result.unwrap().rig.keycloak.is_none(), "{text}"),
            Want::Keycloak(url, user, file) => {
                let config = result.unwrap_or_else(|e| panic!("{text}: {e}"));
                let keycloak = config.rig.keycloak.clone().expect(&text);
                assert_eq!(keycloak.url, *url, "{text}");
                assert_eq!(keycloak.admin_user, *user, "{text}");
                assert_eq!(keycloak.admin_password_file, dir.path().join(file));
                assert_eq!(keycloak.admin_password.expose(), "kc-pass-98765");
                assert!(
                    !format!("{config:?}").contains("kc-pass-98765"),
                    "the password never prints"
                );
            }
            Want::Problems(fragments) => {
                let shown = result.expect_err(&text).to_string();
                for fragment in *fragments {
                    assert!(
                        shown.contains(fragment),
                        "{text:?}: {shown:?} lacks {fragment:?}"
                    );
                }
                assert!(!shown.contains("kc-pass-98765"));
            }
        }
    }
}

/// Each row: the `[nightly]` section (after a `[rig]` with a suites dir unless the row
/// says otherwise), the environment, and the time, or fragments of the error.
#[test]
fn nightly_at_is_a_utc_time_of_day_and_needs_the_suites_dir() {
    type Row<'a> = (
        &'a str,
        bool,
        Option<&'a str>,
        Result<Option<(u8, u8)>, &'a [&'a str]>,
    );
    let rows: &[Row] = &[
        ("", true, None, Ok(None)),
        ("[nightly]\nat = \"03:00\"\n", true, None, Ok(Some((3, 0)))),
        (
            "[nightly]\nat = \"23:59\"\n",
            true,
            None,
            Ok(Some((23, 59))),
        ),
        ("", true, Some("00:30"), Ok(Some((0, 30)))),
        (
            "[nightly]\nat = \"03:00\"\n",
            true,
            Some("04:15"),
            Ok(Some((4, 15))),
        ),
        (
            "[nightly]\nat = \"24:00\"\n",
            true,
            None,
            Err(&[
                "c.toml:5: nightly.at: \"24:00\" is not a time of day",
                "fix: write the UTC time",
            ]),
        ),
        (
            "[nightly]\nat = \"3:00\"\n",
            true,
            None,
            Err(&["c.toml:5: nightly.at:"]),
        ),
        (
            "[nightly]\nat = \"03:00 pm\"\n",
            true,
            None,
            Err(&["nightly.at:"]),
        ),
        (
            "[nightly]\n",
            true,
            None,
            Err(&["nightly.at: \"\" is not a time of day"]),
        ),
        (
            "[nightly]\nat = \"03:00\"\n",
            false,
            None,
            Err(&[
                "rig.suites_dir: not set, and [nightly] needs it",
                "CCCI_SUITES_DIR",
            ]),
        ),
        (
            "[nightly]\nwhen = \"03:00\"\n",
            true,
            None,
            Err(&["unknown field"]),
        ),
    ];
    for (section, suites, env_at, want) in rows {
        let suites = if *suites {
            "suites_dir = \"/srv/suites\"\n"
        } else {
            ""
        };
        let text = format!("[rig]\nci_domain = \"x.org\"\n{suites}{section}");
        let env = |name: &str| {
            env_at
                .filter(|_| name == "CCCI_NIGHTLY_AT")
                .map(String::from)
        };
        let result = from_str(&text, Path::new("c.toml"), &env);
        match want {
            Ok(at) => {
                let got = result
                    .unwrap_or_else(|e| panic!("{text}: {e}"))
                    .nightly
                    .map(|n| (n.at.hour(), n.at.minute()));
                assert_eq!(got, *at, "{text}");
            }
            Err(fragments) => {
                let shown = result.expect_err(&text).to_string();
                for fragment in *fragments {
                    assert!(
                        shown.contains(fragment),
                        "{text:?}: {shown:?} lacks {fragment:?}"
                    );
                }
            }
        }
    }
}

#[test]
fn database_passwords_are_not_echoed() {
    let text = "database = \"mysql://u:hunter2@x\"\n[rig]\nci_domain = \"x.org\"\n";
    let err = from_str(text, Path::new("c.toml"), &no_env).unwrap_err();
    assert!(!err.to_string().contains("hunter2"));
}

/// Moved from the scheduler (its `rig_from` is gone: the validated rig is the config's).
#[test]
fn the_rig_carries_the_configured_keycloak() {
    let dir = tempfile::tempdir().unwrap();
    let password = dir.path().join("kc");
    std::fs::write(&password, "pw-1234").unwrap();
    let base = "[rig]\nci_domain = \"ci.example.org\"\n";
    let without = from_str(base, Path::new("c.toml"), &|_| None).unwrap();
    assert!(without.rig.keycloak.is_none());
    let text = format!(
        "{base}[keycloak]\nurl = \"https://sso.example.org\"\nadmin_password_file = \"{}\"\n",
        password.display()
    );
    let with = from_str(&text, Path::new("c.toml"), &|_| None).unwrap();
    let keycloak = with.rig.keycloak.expect("a keycloak in the rig");
    assert_eq!(keycloak.url, "https://sso.example.org");
    assert_eq!(keycloak.admin_user, "admin");
    assert_eq!(keycloak.admin_password_file, password);
    assert_eq!(
        keycloak.admin_password.expose(),
        "pw-1234",
        "read once, at validation"
    );
}

/// The settings `ccci run` reads from the environment are the service's too.
#[test]
fn the_rig_reads_the_same_variables_as_the_cli() {
    let env = |name: &str| match name {
        "CCCI_CI_DOMAIN" => Some("ci.example.org".to_string()),
        "CCCI_INGRESS_HTTPS" => Some("true".into()),
        "CCCI_DEADLINE_SECS" => Some("900".into()),
        "CCCI_SERVICE_VIPS" => Some("no".into()),
        _ => None,
    };
    let config = from_str("", Path::new("c.toml"), &env).unwrap();
    assert_eq!(config.rig.ci_domain, "ci.example.org");
    assert!(config.rig.ingress_https);
    assert_eq!(config.rig.deadline, Duration::from_secs(900));
    assert_eq!(config.rig.service_vips, Some(false));
    assert_eq!(config.rig.state_dir, Path::new("/var/lib/ccci/state"));
    let text = "[rig]\nci_domain = \"x.org\"\ndeadline_secs = 30\nservice_vips = \"maybe\"\n";
    let shown = from_str(text, Path::new("c.toml"), &no_env)
        .unwrap_err()
        .to_string();
    for fragment in [
        "c.toml:3: rig.deadline_secs: 30 is out of range",
        "c.toml:4: rig.service_vips: \"maybe\" is neither auto, yes nor no",
    ] {
        assert!(shown.contains(fragment), "{shown:?} lacks {fragment:?}");
    }
}

#[test]
fn prune_threshold_defaults_to_80_percent_with_env_override_and_a_named_problem() {
    let threshold = |text: &str, env: &dyn Fn(&str) -> Option<String>| {
        from_str(text, Path::new("c.toml"), env)
            .map(|c| c.rig.prune_threshold)
            .map_err(|e| e.to_string())
    };
    let base = "[rig]\nci_domain = \"x.org\"\n";
    assert_eq!(threshold(base, &no_env), Ok(80));
    let set = format!("{base}prune_threshold = 5\n");
    assert_eq!(threshold(&set, &no_env), Ok(5));
    let env = |name: &str| (name == "CCCI_PRUNE_THRESHOLD").then(|| "0".to_string());
    assert_eq!(threshold(&set, &env), Ok(0));
    let bad = format!("{base}prune_threshold = 101\n");
    let err = threshold(&bad, &no_env).unwrap_err();
    assert!(
        err.contains("c.toml:3: rig.prune_threshold: 101 is not a percentage"),
        "{err}"
    );
}

/// Each row: the `[retention]` section (after `[rig]`, so at line 3), the environment,
/// and the limits `(days, bytes)`, or fragments of the error.
#[test]
fn retention_keeps_days_and_gigabytes_and_names_a_bad_value() {
    type Row<'a> = (
        &'a str,
        &'a [(&'a str, &'a str)],
        Result<(Option<u32>, Option<u64>), &'a [&'a str]>,
    );
    let rows: &[Row] = &[
        ("", &[], Ok((None, None))),
        ("[retention]\ndays = 30\n", &[], Ok((Some(30), None))),
        (
            "[retention]\nmax_gb = 20\n",
            &[],
            Ok((None, Some(20_000_000_000))),
        ),
        (
            "[retention]\nmax_gb = 0.5\n",
            &[],
            Ok((None, Some(500_000_000))),
        ),
        ("[retention]\ndays = 0\nmax_gb = 0\n", &[], Ok((None, None))),
        ("", &[("CCCI_RETENTION_DAYS", "7")], Ok((Some(7), None))),
        (
            "[retention]\ndays = 30\nmax_gb = 20\n",
            &[("CCCI_RETENTION_DAYS", "0"), ("CCCI_RETENTION_MAX_GB", "2")],
            Ok((None, Some(2_000_000_000))),
        ),
        (
            "[retention]\ndays = -1\n",
            &[],
            Err(&[
                "c.toml:4: retention.days: -1 is out of range",
                "fix: keep run directories a whole number of days",
            ]),
        ),
        (
            "[retention]\ndays = 30\nmax_gb = -2\n",
            &[],
            Err(&[
                "c.toml:5: retention.max_gb: -2 is out of range",
                "fix: set the gigabytes",
            ]),
        ),
        (
            "",
            &[("CCCI_RETENTION_MAX_GB", "lots")],
            Err(&["retention.max_gb:", "CCCI_RETENTION_MAX_GB"]),
        ),
        (
            "[retention]\ndays = \"30\"\n",
            &[],
            Err(&["c.toml:4:", "invalid type"]),
        ),
        ("[retention]\nmax_days = 30\n", &[], Err(&["unknown field"])),
    ];
    for (section, vars, want) in rows {
        let text = format!("[rig]\nci_domain = \"x.org\"\n{section}");
        let env = |name: &str| {
            vars.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.to_string())
        };
        let result = from_str(&text, Path::new("c.toml"), &env);
        match want {
            Ok((days, bytes)) => {
                let limits = result.unwrap_or_else(|e| panic!("{text}: {e}")).retention;
                assert_eq!((limits.days, limits.max_bytes), (*days, *bytes), "{text}");
            }
            Err(fragments) => {
                let shown = result.expect_err(&text).to_string();
                for fragment in *fragments {
                    assert!(
                        shown.contains(fragment),
                        "{text:?}: {shown:?} lacks {fragment:?}"
                    );
                }
            }
        }
    }
}

#[test]
fn the_webhook_registers_at_public_url_by_default_with_overrides_and_a_named_problem() {
    let env = |name: &str| match name {
        "MY_TOKEN" => Some("tok-123456".to_string()),
        "HOOK" => Some("hook-secret-1".to_string()),
        _ => None,
    };
    let text = format!("{GOOD}\n[webhook]\nsecret_env = [\"HOOK\"]\n");
    let config = from_str(&text, Path::new("ccci.toml"), &env).unwrap();
    let hook = config.webhook.unwrap();
    assert_eq!(hook.url, "https://ci.example.org/webhook/gitea");
    assert!(hook.register);
    assert_eq!(hook.delivery_grace, Duration::from_secs(120));
    let forge = config.forge.unwrap();
    assert_eq!(forge.webhook_poll_interval, Duration::from_secs(300));

    let overridden = |name: &str| match name {
        "CCCI_WEBHOOK_URL" => Some("http://10.0.0.5:8080/webhook/gitea".to_string()),
        "CCCI_WEBHOOK_REGISTER" => Some("false".to_string()),
        other => env(other),
    };
    let hook = from_str(&text, Path::new("ccci.toml"), &overridden)
        .unwrap()
        .webhook
        .unwrap();
    assert_eq!(hook.url, "http://10.0.0.5:8080/webhook/gitea");
    assert!(!hook.register);

    let bad = format!("{text}url = \"ci.example.org/hook\"\ndelivery_grace_secs = 0\n");
    let err = from_str(&bad, Path::new("ccci.toml"), &env)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("webhook.url: \"ci.example.org/hook\" is not an http(s) URL"),
        "{err}"
    );
    assert!(err.contains("CCCI_WEBHOOK_URL"), "{err}");
    assert!(err.contains("webhook.delivery_grace_secs"), "{err}");
}
