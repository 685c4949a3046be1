//! Table tests over documents in the shape `docker stack config` (CLI 28.2) prints:
//! long-syntax mounts with absolute sources, `file:` made absolute, `env_file` kept as
//! written, `name:` filled in for external objects.

use super::*;

const STACK: &str = "st";

fn doc(body: &str) -> Deployed {
    Deployed::parse(&format!("version: \"3.8\"\n{body}")).unwrap()
}

fn svc(body: &str) -> String {
    format!("services:\n  app:\n    image: x\n{body}")
}

fn judged(d: &Deployed, places: &[(&str, Place)], allow: &[&str]) -> Judged {
    let places = places
        .iter()
        .map(|(p, pl)| (p.to_string(), pl.clone()))
        .collect();
    let allow: Vec<String> = allow.iter().map(|s| s.to_string()).collect();
    judge(d, STACK, "proxy", &places, &allow)
}

fn inside(rel: &str) -> Place {
    Place::Inside(rel.into())
}

const LINKED_OUT: Place = Place::Outside {
    written_inside: true,
};
const OUTSIDE: Place = Place::Outside {
    written_inside: false,
};

#[test]
fn every_host_path_docker_reads_is_found() {
    let d = doc(&format!(
        "{}configs:\n  c:\n    file: /r/conf/c.tmpl\nsecrets:\n  s:\n    file: /r/s.txt\n",
        svc("    env_file:\n      - ./a.env\n      - b.env\n    volumes:\n      - type: bind\n        source: /r/conf\n        target: /c\n      - type: volume\n        source: data\n        target: /d\n      - type: tmpfs\n        target: /t\n")
    ));
    let got: Vec<(Reader, String)> = host_paths(&d)
        .into_iter()
        .map(|h| (h.reader, h.path))
        .collect();
    let app = || "app".to_string();
    assert_eq!(
        got,
        vec![
            (Reader::Bind { service: app() }, "/r/conf".into()),
            (Reader::Config { key: "c".into() }, "/r/conf/c.tmpl".into()),
            (Reader::Secret { key: "s".into() }, "/r/s.txt".into()),
            (Reader::EnvFile { service: app() }, "./a.env".into()),
            (Reader::EnvFile { service: app() }, "b.env".into()),
        ]
    );
}

#[test]
fn files_must_resolve_inside_the_checkout() {
    let cfg = "configs:\n  c:\n    file: /r/c.conf\n";
    let env = svc("    env_file: ./app.env\n");
    let table: &[(&str, String, Place, Option<FileWhy>)] = &[
        (
            "a config inside",
            format!("{}{cfg}", svc("")),
            inside("c.conf"),
            None,
        ),
        (
            "a config linking inside",
            format!("{}{cfg}", svc("")),
            inside("other/c.conf"),
            None,
        ),
        (
            "an absolute config",
            format!("{}{cfg}", svc("")),
            OUTSIDE,
            Some(FileWhy::Outside),
        ),
        (
            "a config linking out",
            format!("{}{cfg}", svc("")),
            LINKED_OUT,
            Some(FileWhy::LinkOutside),
        ),
        (
            "a missing config",
            format!("{}{cfg}", svc("")),
            Place::Missing,
            Some(FileWhy::Missing),
        ),
        ("an env_file inside", env.clone(), inside("app.env"), None),
        (
            "an env_file linking out",
            env.clone(),
            LINKED_OUT,
            Some(FileWhy::LinkOutside),
        ),
    ];
    for (case, body, place, want) in table {
        let d = doc(body);
        let path = host_paths(&d)[0].path.clone();
        let j = judged(&d, &[(&path, place.clone())], &[]);
        let got = j.breaches.first().map(|b| match b {
            Breach::File { why, .. } => *why,
            other => panic!("{case}: {other:?}"),
        });
        assert_eq!(&got, want, "{case}");
        // A file breach is never allowed by the operator.
        let allowed = judged(&d, &[(&path, place.clone())], &["bind:/r/c.conf"]);
        assert_eq!(allowed.breaches.len(), want.is_some() as usize, "{case}");
    }
}

#[test]
fn binds_are_grants_keyed_by_their_place() {
    let bind = |src: &str| {
        svc(&format!(
            "    volumes:\n      - type: bind\n        source: {src}\n        target: /x\n"
        ))
    };
    let table: &[(&str, &str, Place, &[&str], usize)] = &[
        (
            "the socket",
            "/var/run/docker.sock",
            OUTSIDE,
            &["bind:/var/run/docker.sock"],
            0,
        ),
        (
            "a dir of the recipe",
            "/r/conf",
            inside("conf"),
            &["bind:./conf"],
            0,
        ),
        (
            "a recipe dir linking to /etc",
            "/r/conf",
            LINKED_OUT,
            &[],
            1,
        ),
        (
            "a host dir not there",
            "/srv/none",
            Place::Missing,
            &["bind:/srv/none"],
            0,
        ),
    ];
    for (case, src, place, want, breaches) in table {
        let d = doc(&bind(src));
        let j = judged(&d, &[(src, place.clone())], &[]);
        let keys: Vec<&str> = j.grants.iter().map(|g| g.key.as_str()).collect();
        assert_eq!(&keys, want, "{case}");
        assert_eq!(j.breaches.len(), *breaches, "{case}");
    }
}

#[test]
fn objects_outside_the_stack_need_the_operators_consent() {
    let table: &[(&str, &str, Option<&str>)] = &[
        ("a plain volume", "volumes:\n  data: {}\n", None),
        ("a volume named in the stack", "volumes:\n  data:\n    name: st_data_v2\n", None),
        ("a tmpfs volume", "volumes:\n  t:\n    driver_opts:\n      type: tmpfs\n      device: tmpfs\n      o: size=10m\n", None),
        ("a volume binding /etc", "volumes:\n  v:\n    driver_opts:\n      type: none\n      device: /etc\n      o: bind\n", Some("volume:v")),
        ("a volume on a device", "volumes:\n  v:\n    driver_opts:\n      type: ext4\n      device: /dev/vda\n", Some("volume:v")),
        ("a volume of proc", "volumes:\n  v:\n    driver_opts:\n      type: proc\n      device: proc\n", Some("volume:v")),
        ("a volume driver", "volumes:\n  v:\n    driver: rexray\n", Some("volume:v")),
        ("another stack's volume", "volumes:\n  v:\n    name: warm-foo_data\n", Some("volume:v")),
        ("an external volume", "volumes:\n  v:\n    name: keycloak_db\n    external: true\n", Some("volume:v")),
        ("an external secret of the stack", "secrets:\n  s:\n    name: st_s_v1\n    external: true\n", None),
        ("another stack's secret", "secrets:\n  s:\n    name: keycloak_admin_v1\n    external: true\n", Some("secret:s")),
        ("a config named outside", "configs:\n  c:\n    name: ccci_conf\n    file: /r/c\n", Some("config:c")),
        ("the proxy network", "networks:\n  proxy:\n    name: proxy\n    external: true\n", None),
        ("an internal network", "networks:\n  internal: {}\n", None),
        ("another external network", "networks:\n  kc:\n    name: keycloak_internal\n    external: true\n", Some("network:keycloak_internal")),
        ("the host network", "networks:\n  h:\n    name: host\n    external: true\n", Some("network:host")),
        ("a bridge network", "networks:\n  b:\n    driver: bridge\n", Some("network:b")),
        ("a network named outside", "networks:\n  n:\n    name: other_net\n", Some("network:other_net")),
    ];
    for (case, body, want) in table {
        let d = doc(&format!("{}{body}", svc("")));
        let places = [("/r/c", inside("c"))];
        let j = judged(&d, &places, &[]);
        let got = j.breaches.first().map(|b| match b {
            Breach::Object { allow_key, .. } => allow_key.as_str(),
            other => panic!("{case}: {other:?}"),
        });
        assert_eq!(got, *want, "{case}");
        if let Some(key) = want {
            assert!(j.breaches[0].message().contains(key), "{case}");
            let allowed = judged(&d, &places, &[key]);
            assert!(allowed.breaches.is_empty(), "{case}: allowed");
        }
    }
}

#[test]
fn the_raw_walk_finds_file_values_anywhere() {
    let raw: Value = serde_yaml_ng::from_str(
        "x-base: &b\n  env_file: ${HOME}/.token\nservices:\n  app:\n    <<: *b\n    env_file: [a.env, b.env]\nconfigs:\n  c:\n    file: ./c\n",
    )
    .unwrap();
    assert_eq!(
        raw_file_values(&raw),
        vec!["${HOME}/.token", "./c", "a.env", "b.env"]
    );
}

#[test]
fn messages_name_the_place_and_the_fix_never_content() {
    let b = Breach::File {
        reader: Reader::Config {
            key: "app_conf".into(),
        },
        path: "/r/conf/link".into(),
        why: FileWhy::LinkOutside,
    };
    let m = b.message();
    for want in [
        "config `app_conf`",
        "/r/conf/link",
        "a link takes outside",
        "keep the file in the recipe",
    ] {
        assert!(m.contains(want), "{m}");
    }
    assert_eq!(
        Deployed::parse("a: [").unwrap_err().to_string(),
        "docker stack config printed a document cc-ci cannot read (line 2)"
    );
    assert_eq!(validate_object_key("volume:data"), Some(Ok(())));
    assert!(matches!(validate_object_key("network:"), Some(Err(_))));
    assert_eq!(validate_object_key("bind:/x"), None);
}

/// Documents recorded from the real `docker stack config` (CLI 28.2.2, `env -i PATH=$PATH
/// docker stack config -c …`) of the compose files beside each in
/// `crates/core/fixtures/stack_config/<case>/`. Where cc-ci's own merge reads these files
/// otherwise, the note says how: what is pulled is docker's reading.
#[test]
fn the_images_are_those_docker_will_deploy() {
    type Images = &'static [(&'static str, &'static str)];
    let table: &[(&str, &str, Images)] = &[
        (
            // A list merge whose first entry merges another anchor: docker resolves the
            // nested `<<` first (the earlier entry wins); cc-ci's merge reads the second
            // entry's `cc-ci-reads:1`.
            "anchor_chain",
            include_str!("../../fixtures/stack_config/anchor_chain/stack-config.yml"),
            &[("app", "docker-deploys:1")],
        ),
        (
            // An overlay's image interpolated to nothing does not override (cc-ci's merge
            // reads an empty image and refuses the recipe).
            "overlay_empty_image",
            include_str!("../../fixtures/stack_config/overlay_empty_image/stack-config.yml"),
            &[("app", "base:1")],
        ),
        (
            // `!!binary` is decoded (cc-ci's merge reads the base64 text as the image).
            "binary_tag",
            include_str!("../../fixtures/stack_config/binary_tag/stack-config.yml"),
            &[("app", "ccci-fixture:1.2.0")],
        ),
        (
            // Only the first YAML document counts (cc-ci's merge refuses the file).
            "first_document_only",
            include_str!("../../fixtures/stack_config/first_document_only/stack-config.yml"),
            &[("app", "first:1")],
        ),
        (
            // Interpolated; kept as written (spaces and digest: docker deploys that
            // string); a service without an image names none.
            "several_services",
            include_str!("../../fixtures/stack_config/several_services/stack-config.yml"),
            &[
                ("app", "ccci-fixture:1.2.0"),
                (
                    "db",
                    "  postgres:16@sha256:0000000000000000000000000000000000000000000000000000000000000000  ",
                ),
            ],
        ),
    ];
    for (case, text, want) in table {
        let got = Deployed::parse(text).unwrap().images();
        let want: BTreeMap<String, String> = want
            .iter()
            .map(|(s, i)| (s.to_string(), i.to_string()))
            .collect();
        assert_eq!(got, want, "{case}");
    }
}
