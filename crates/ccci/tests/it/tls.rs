//! Certificates mean something: through an HTTPS ingress the certificate the proxy serves
//! for the app's domain is verified against the rig's CA. A real proxy here: nginx (built
//! from Debian's package) on the `proxy` network, routing `<app>.ci.local` to the app's
//! tasks as traefik would, published on loopback.

use crate::common::*;
use std::path::Path;
use std::process::Command;

fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .current_dir(dir)
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A test CA, a wildcard certificate for `*.ci.local` it signed, and a self-signed
/// "fallback" certificate like a proxy's default.
fn certificates(dir: &Path) {
    std::fs::create_dir_all(dir).unwrap();
    let days = ["-days", "2"];
    openssl(
        dir,
        &[
            &[
                "req",
                "-x509",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-keyout",
                "ca.key",
                "-out",
                "ca.crt",
                "-subj",
                "/CN=cc-ci test CA",
            ][..],
            &days,
        ]
        .concat(),
    );
    openssl(
        dir,
        &[
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "good.key",
            "-out",
            "good.csr",
            "-subj",
            "/CN=*.ci.local",
        ],
    );
    std::fs::write(dir.join("san.ext"), "subjectAltName=DNS:*.ci.local\n").unwrap();
    openssl(
        dir,
        &[
            &[
                "x509",
                "-req",
                "-in",
                "good.csr",
                "-CA",
                "ca.crt",
                "-CAkey",
                "ca.key",
                "-CAcreateserial",
                "-out",
                "good.crt",
                "-extfile",
                "san.ext",
            ][..],
            &days,
        ]
        .concat(),
    );
    openssl(
        dir,
        &[
            &[
                "req",
                "-x509",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-keyout",
                "fallback.key",
                "-out",
                "fallback.crt",
                "-subj",
                "/CN=default certificate",
            ][..],
            &days,
        ]
        .concat(),
    );
    for f in ["good.key", "fallback.key"] {
        let p = dir.join(f);
        std::fs::set_permissions(&p, std::os::unix::fs::PermissionsExt::from_mode(0o644)).unwrap();
    }
}

/// An nginx ingress serving `cert` for every `*.ci.local` host; removed when dropped.
struct Ingress {
    name: String,
    port: u16,
}

impl Ingress {
    fn start(rig: &Rig, certs: &Path, cert: &str) -> Ingress {
        let conf = rig.path(&format!("ingress-{cert}"));
        std::fs::create_dir_all(&conf).unwrap();
        std::fs::write(
            conf.join("ingress.conf"),
            format!(
                r#"map $host $ccci_stack {{ "~^(?<sub>[^.]+)\.ci\.local$" "${{sub}}_ci_local"; default "none"; }}
server {{
  listen 443 ssl default_server;
  ssl_certificate /certs/{cert}.crt;
  ssl_certificate_key /certs/{cert}.key;
  resolver 127.0.0.11 valid=2s ipv6=off;
  location / {{
    proxy_pass http://tasks.${{ccci_stack}}_app:8080;
    proxy_set_header Host $host;
  }}
}}
"#
            ),
        )
        .unwrap();
        let port = free_port();
        let name = format!("ccci-test-ingress-{cert}-{}", std::process::id());
        let created = Command::new("docker")
            .args(["create", "--name", &name, "--network", "proxy"])
            .args(["-p", &format!("127.0.0.1:{port}:443")])
            .arg("-v")
            .arg(format!("{}:/etc/nginx/conf.d:ro", conf.display()))
            .arg("-v")
            .arg(format!("{}:/certs:ro", certs.display()))
            .arg("ccci-nginx:latest")
            .output()
            .unwrap();
        assert!(
            created.status.success(),
            "{}",
            String::from_utf8_lossy(&created.stderr)
        );
        let out = tokio::runtime::Runtime::new()
            .unwrap()
            .block_on(ccci_adapters::rig_container::start(
                &name,
                false,
                std::time::Duration::from_secs(60),
            ))
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        Ingress { name, port }
    }

    fn flags(&self, ca: &Path) -> Vec<String> {
        vec![
            "--ingress".into(),
            format!("127.0.0.1:{}", self.port),
            "--ingress-https".into(),
            "--ingress-ca".into(),
            ca.display().to_string(),
        ]
    }
}

impl Drop for Ingress {
    fn drop(&mut self) {
        let _ = Command::new("docker")
            .args(["rm", "-f", &self.name])
            .output();
    }
}

const SUITE: &str = "health_path = \"/health\"\ndeploy_timeout = \"2m\"\nmin_uptime = 0\n";

#[test]
fn the_proxys_certificate_is_verified_a_fallback_one_is_red_and_the_rigs_is_green() {
    let rig = Rig::new();
    let certs = rig.path("certs");
    certificates(&certs);
    let ca = certs.join("ca.crt");

    let good = Ingress::start(&rig, &certs, "good");
    let recipe = rig.recipe_copy("fixture-web", "tlsg");
    let suites = rig.suite("tlsg", SUITE);
    let flags = good.flags(&ca);
    let mut args: Vec<&str> = flags.iter().map(String::as_str).collect();
    args.extend(["--stages", "install,functional"]);
    let run = rig.run(&recipe, Some(&suites), &args);
    assert_eq!(run.code, 0, "{}", run.explain());
    let tests = run.rung("functional")["tests"].to_string();
    assert!(tests.contains("TLS certificate for tlsg-"), "{tests}");
    assert!(!tests.contains("TLS not checked"), "{tests}");
    assert!(leftovers(&run.stack()).is_empty());

    let fallback = Ingress::start(&rig, &certs, "fallback");
    let recipe = rig.recipe_copy("fixture-web", "tlsf");
    let suites = rig.suite("tlsf", SUITE);
    let flags = fallback.flags(&ca);
    let mut args: Vec<&str> = flags.iter().map(String::as_str).collect();
    args.extend(["--stages", "install,functional"]);
    let started = std::time::Instant::now();
    let run = rig.run(&recipe, Some(&suites), &args);
    assert_eq!(run.code, 1, "{}", run.explain());
    let failure = &run.results()["failure"];
    assert_eq!(failure["rung"], "install", "{failure}");
    let message = failure["message"].as_str().unwrap();
    assert!(
        message.contains("certificate the proxy serves for tlsf-"),
        "{message}"
    );
    assert!(message.contains("fallback or self-signed"), "{message}");
    // Fails fast, not at the 2 min DEPLOY_TIMEOUT.
    assert!(started.elapsed().as_secs() < 90, "{}", run.explain());
    assert!(leftovers(&run.stack()).is_empty());
}

#[test]
fn without_an_ingress_the_run_says_tls_was_not_checked() {
    let rig = Rig::new();
    let recipe = rig.recipe_copy("fixture-web", "tlsn");
    let suites = rig.suite("tlsn", SUITE);
    let run = rig.run(&recipe, Some(&suites), &["--stages", "install,functional"]);
    assert_eq!(run.code, 0, "{}", run.explain());
    let tests = run.rung("functional")["tests"].to_string();
    assert!(tests.contains("TLS not checked"), "{tests}");
}
