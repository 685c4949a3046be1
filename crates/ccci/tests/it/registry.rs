//! The pull path against a real registry (issue 23): Debian's `docker-registry`
//! (distribution 2.8) on loopback, one per test, its own port and storage under the test's
//! temp dir. The engine allows plain HTTP to 127.0.0.0/8 registries by default, so no TLS
//! and no engine restart: htpasswd auth works over plain HTTP too.
//!
//! The example recipes' images are pushed there from the local builds under a scratch
//! repository (`127.0.0.1:<port>/pullpath/…`), the scratch tag removed locally (never the
//! shared `ccci-*` images), and the runs pull them.

use crate::common::*;
use ccci_runner::progress::Progress;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const REGISTRY_BIN: &str = "/usr/bin/docker-registry";
const USER: &str = "pullpath";
const PASSWORD: &str = "pullpath-s3cret";

/// A `docker-registry` of one test, stopped (and every local reference to its images
/// removed) when dropped.
struct LocalRegistry {
    child: Child,
    port: u16,
    dir: PathBuf,
    /// A docker CLI config of the test's own (the login for pushing to an auth registry),
    /// never the host's `~/.docker`.
    docker_config: PathBuf,
}

/// The registry binary, or `None` where it is missing — except under `CI=true`.
fn registry_bin() -> Option<&'static str> {
    if Path::new(REGISTRY_BIN).exists() {
        return Some(REGISTRY_BIN);
    }
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("{REGISTRY_BIN} is missing under CI=true: apt-get install docker-registry (scripts/prepare-host does)");
    }
    eprintln!("skipped: {REGISTRY_BIN} is missing (apt-get install docker-registry)");
    None
}

/// `GET /v2/`'s status line, if something answers on `port` within a second.
fn v2_status(port: u16) -> Option<String> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(1))).ok()?;
    stream
        .write_all(b"GET /v2/ HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
        .ok()?;
    let mut answer = String::new();
    stream.read_to_string(&mut answer).ok()?;
    answer.lines().next().map(str::to_string)
}

fn docker(args: &[&str]) -> String {
    let out = Command::new("docker").args(args).output().unwrap();
    assert!(
        out.status.success(),
        "docker {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

impl LocalRegistry {
    /// Starts one in `<rig>/registry-<port>`; `auth` adds htpasswd (bcrypt) auth.
    fn start(rig: &Rig, auth: bool) -> Option<LocalRegistry> {
        let bin = registry_bin()?;
        let port = free_port();
        let dir = rig.path(&format!("registry-{port}"));
        std::fs::create_dir_all(dir.join("data")).unwrap();
        let mut config = format!(
            "version: 0.1\nlog:\n  level: info\nstorage:\n  filesystem:\n    rootdirectory: {}\nhttp:\n  addr: 127.0.0.1:{port}\n",
            dir.join("data").display()
        );
        if auth {
            let htpasswd = Command::new("htpasswd")
                .args(["-Bbn", USER, PASSWORD])
                .output()
                .expect("htpasswd (apache2-utils) makes the registry's password file");
            std::fs::write(dir.join("htpasswd"), htpasswd.stdout).unwrap();
            config.push_str(&format!(
                "auth:\n  htpasswd:\n    realm: pullpath\n    path: {}\n",
                dir.join("htpasswd").display()
            ));
        }
        std::fs::write(dir.join("config.yml"), config).unwrap();
        let log = std::fs::File::create(dir.join("registry.log")).unwrap();
        let child = Command::new(bin)
            .arg("serve")
            .arg(dir.join("config.yml"))
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap();
        let docker_config = dir.join("docker-config");
        std::fs::create_dir_all(&docker_config).unwrap();
        let mut registry = LocalRegistry {
            child,
            port,
            dir,
            docker_config,
        };
        let started = Instant::now();
        while v2_status(port).is_none() {
            if let Ok(Some(status)) = registry.child.try_wait() {
                panic!("the registry exited ({status}): {}", registry.log());
            }
            assert!(
                started.elapsed() < Duration::from_secs(15),
                "the registry did not answer within 15 s: {}",
                registry.log()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        if auth {
            registry.login();
        }
        Some(registry)
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("registry.log")).unwrap_or_default()
    }

    fn host(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// `127.0.0.1:<port>/pullpath/<name>`.
    fn image(&self, name: &str) -> String {
        format!("{}/pullpath/{name}", self.host())
    }

    fn login(&self) {
        let mut login = Command::new("docker")
            .arg("--config")
            .arg(&self.docker_config)
            .args(["login", "-u", USER, "--password-stdin", &self.host()])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        login
            .stdin
            .take()
            .unwrap()
            .write_all(PASSWORD.as_bytes())
            .unwrap();
        let out = login.wait_with_output().unwrap();
        assert!(out.status.success(), "docker login: {out:?}");
    }

    /// Tags `local` as `image`, pushes it, removes the scratch tag locally (the local
    /// image itself stays), and returns the digest the registry gave it.
    fn push(&self, local: &str, image: &str) -> String {
        docker(&["tag", local, image]);
        let out = Command::new("docker")
            .arg("--config")
            .arg(&self.docker_config)
            .args(["push", image])
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "docker push {image}: {stdout}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        docker(&["rmi", image]);
        stdout
            .split_whitespace()
            .skip_while(|w| *w != "digest:")
            .nth(1)
            .unwrap_or_else(|| panic!("no digest in: {stdout}"))
            .to_string()
    }

    /// Removes every local reference to this registry's images (tags and digests); an
    /// image only these named (the test's own) goes with them.
    fn forget_local(&self) {
        let listed = docker(&[
            "image",
            "ls",
            "--digests",
            "--format",
            "{{.Repository}} {{.Tag}} {{.Digest}}",
        ]);
        for line in listed.lines() {
            let mut words = line.split_whitespace();
            let (Some(repo), Some(tag), Some(digest)) = (words.next(), words.next(), words.next())
            else {
                continue;
            };
            if !repo.starts_with(&format!("{}/", self.host())) {
                continue;
            }
            for reference in [format!("{repo}:{tag}"), format!("{repo}@{digest}")] {
                if !reference.contains("<none>") {
                    let _ = Command::new("docker").args(["rmi", &reference]).output();
                }
            }
        }
    }
}

impl Drop for LocalRegistry {
    fn drop(&mut self) {
        self.forget_local();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A copy of `fixture-static` whose app image is `image`.
fn recipe_naming(rig: &Rig, name: &str, image: &str) -> PathBuf {
    let recipe = rig.recipe_copy("fixture-static", name);
    edit(
        &recipe,
        "compose.yml",
        "image: ccci-fixture:1.2.0",
        &format!("image: {image}"),
    );
    recipe
}

/// A loopback address that counts the connections it gets and drops each at once: a
/// registry cc-ci must never reach (the thread lives as long as the test binary).
struct Untouched {
    addr: std::net::SocketAddr,
    seen: Arc<AtomicUsize>,
}

impl Untouched {
    fn listen() -> Untouched {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let seen = Arc::new(AtomicUsize::new(0));
        let counter = seen.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                counter.fetch_add(1, Ordering::SeqCst);
                drop(stream);
            }
        });
        Untouched { addr, seen }
    }

    fn image(&self) -> String {
        format!("{}/pullpath/fixture:unjudged", self.addr)
    }

    fn connections(&self) -> usize {
        self.seen.load(Ordering::SeqCst)
    }
}

/// A copy of `fixture-static` whose compose file docker and cc-ci's own merge read two ways
/// (the shape of `crates/core/fixtures/stack_config/anchor_chain/`): a list merge whose
/// first entry merges another anchor. Docker resolves that nested `<<` first, so the earlier
/// entry wins and it deploys `docker_deploys`; cc-ci's merge reads `ccci_reads`. Both
/// readings are checked here, so the test cannot pass on a shape they agree on.
fn recipe_read_two_ways(rig: &Rig, name: &str, docker_deploys: &str, ccci_reads: &str) -> PathBuf {
    let recipe = rig.recipe_copy("fixture-static", name);
    edit(
        &recipe,
        "compose.yml",
        "services:\n  app:\n    image: ccci-fixture:1.2.0\n",
        &format!(
            "x-image: &image\n  image: {docker_deploys}\nx-deployed: &deployed\n  <<: *image\nx-pinned: &pinned\n  image: {ccci_reads}\n\nservices:\n  app:\n    <<: [*deployed, *pinned]\n"
        ),
    );
    let compose = recipe.join("compose.yml");
    let text = std::fs::read_to_string(&compose).unwrap();
    let env: std::collections::BTreeMap<String, String> = [("STACK_NAME", "st"), ("DOMAIN", "d")]
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .into();
    let ours = ccci_core::compose::load_stack(&[("compose.yml".into(), text)], &env).unwrap();
    assert_eq!(
        ours.services["app"].image, ccci_reads,
        "cc-ci's own reading"
    );
    let printed = Command::new("docker")
        .args(["stack", "config", "-c"])
        .arg(&compose)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .envs(&env)
        .output()
        .unwrap();
    assert!(printed.status.success(), "{printed:?}");
    let docker = ccci_core::deployed::Deployed::parse(&String::from_utf8_lossy(&printed.stdout));
    assert_eq!(
        docker.unwrap().images()["app"],
        docker_deploys,
        "docker's reading"
    );
    recipe
}

/// A run whose preflight failed: nothing deployed, the message in stderr; exit 2 when the
/// recipe is to fix it (bad input: RED on a PR), 3 when the rig is (cc-ci's error, no claim
/// about the recipe).
fn assert_pull_refused(run: &Run, code: i32, says: &[&str]) {
    assert_eq!(run.code, code, "{}", run.explain());
    for fragment in says {
        assert!(
            run.stderr.contains(fragment),
            "{fragment:?} missing:\n{}",
            run.stderr
        );
    }
}

#[test]
fn a_recipe_whose_images_live_in_a_registry_is_pulled_with_progress_and_runs_green() {
    let rig = Rig::new();
    let Some(registry) = LocalRegistry::start(&rig, false) else {
        return;
    };
    let image = format!("{}:1.2.0", registry.image("fixture"));
    let digest = registry.push("ccci-fixture:1.2.0", &image);
    assert!(docker(&["image", "ls", "-q", &image]).trim().is_empty());
    let recipe = recipe_naming(&rig, "pullgreen", &image);
    let run = rig.run(&recipe, None, &["--stages", "install"]);
    assert_eq!(run.code, 0, "{}", run.explain());
    assert!(
        run.stderr
            .contains(&format!("pulling {image} (not present locally)")),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains(&format!("pulled {image} in ")),
        "{}",
        run.stderr
    );
    let r = run.results();
    assert_eq!(r["verdict"], "green", "{r}");
    assert!(r["timings_ms"]["pull"].is_u64(), "{r}");
    // What the task ran: the digest the registry gave the push, not only the tag.
    let ran = &r["images_ran"]["app"];
    assert_eq!(ran["digest"], digest.as_str(), "{r}");
    assert!(
        ran["image"].as_str().is_some_and(|i| i.starts_with(&image)),
        "{r}"
    );
    assert!(
        ran["id"].as_str().is_some_and(|i| i.starts_with("sha256:")),
        "{r}"
    );
    assert!(leftovers(&run.stack()).is_empty());
}

/// The run's live log (what the run page streams) shows the pull as it happens.
#[test]
fn a_pull_shows_its_progress_on_the_live_log() {
    let rig = Rig::new();
    let Some(registry) = LocalRegistry::start(&rig, false) else {
        return;
    };
    let image = format!("{}:live", registry.image("fixture"));
    registry.push("ccci-fixture:1.2.0", &image);
    let out = rig.path("live");
    std::fs::create_dir_all(&out).unwrap();
    let progress = Progress::live(&out);
    let pulled = tokio::runtime::Runtime::new()
        .unwrap()
        .block_on(ccci_runner::pull::pull(
            &image,
            Duration::from_secs(120),
            &progress,
        ));
    assert!(pulled.is_ok(), "{pulled:?}");
    let log = std::fs::read_to_string(out.join(ccci_core::live::LIVE_LOG)).unwrap();
    for want in [
        format!("pulling {image} (not present locally)"),
        format!("pull {image}: live: Pulling from pullpath/fixture"),
        format!("pull {image}: Digest: sha256:"),
        format!("pulled {image} in "),
    ] {
        assert!(log.contains(&want), "{want:?} missing:\n{log}");
    }
}

#[test]
fn pull_errors_against_a_real_registry_are_explained_with_the_fix() {
    let rig = Rig::new();
    let Some(open) = LocalRegistry::start(&rig, false) else {
        return;
    };
    let Some(locked) = LocalRegistry::start(&rig, true) else {
        return;
    };
    // A tag the registry does not have: the recipe's to fix.
    let missing = format!("{}:9.9.9", open.image("fixture"));
    let run = rig.run(
        &recipe_naming(&rig, "pullnotag", &missing),
        None,
        &["--stages", "install"],
    );
    assert_pull_refused(
        &run,
        2,
        &[
            &format!("the registry {} has no image `{missing}`", open.host()),
            &format!("fix: push `{missing}` to {}", open.host()),
            "(docker: manifest for",
        ],
    );
    // A registry that does not answer (a closed port).
    let closed = format!("127.0.0.1:{}", free_port());
    let image = format!("{closed}/pullpath/fixture:1.2.0");
    let run = rig.run(
        &recipe_naming(&rig, "pullclosed", &image),
        None,
        &["--stages", "install"],
    );
    assert_pull_refused(
        &run,
        3,
        &[
            &format!("the registry {closed} did not answer"),
            &format!("curl -sI http://{closed}/v2/"),
            "connection refused",
        ],
    );
    // An image that needs credentials the engine does not have (htpasswd over plain HTTP
    // on loopback: distribution does not demand TLS for it).
    let private = format!("{}:1.2.0", locked.image("fixture"));
    locked.push("ccci-fixture:1.2.0", &private);
    let run = rig.run(
        &recipe_naming(&rig, "pullauth", &private),
        None,
        &["--stages", "install"],
    );
    assert_pull_refused(
        &run,
        3,
        &[
            &format!("the registry {} wants credentials", locked.host()),
            &format!("`docker login {}`", locked.host()),
            "no basic auth credentials",
        ],
    );
    assert!(!run.stderr.contains(PASSWORD));
}

/// A registry that accepts connections and never answers: the pull is stopped at the
/// rig's bound (`--pull-timeout-secs`) and explained, not waited on.
#[test]
fn a_stalled_pull_is_bounded_and_explained() {
    let rig = Rig::new();
    let stalled = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = stalled.local_addr().unwrap();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in stalled.incoming() {
            held.push(stream);
        }
    });
    let image = format!("{addr}/pullpath/fixture:1.2.0");
    let started = Instant::now();
    let run = rig.run(
        &recipe_naming(&rig, "pullslow", &image),
        None,
        &["--stages", "install", "--pull-timeout-secs", "3"],
    );
    assert_pull_refused(
        &run,
        3,
        &[
            &format!("pulling `{image}` from {addr} did not finish in time"),
            "no answer after 3s",
            "--pull-timeout-secs",
        ],
    );
    assert!(
        started.elapsed() < Duration::from_secs(60),
        "{:?}",
        started.elapsed()
    );
}

/// The image pulled is the one docker deploys — the document `docker stack config` prints
/// for the deploy, judged — never the one cc-ci's own merge reads, whose registry is never
/// reached.
#[test]
fn the_image_pulled_is_the_one_docker_deploys_not_cc_cis_own_reading() {
    let rig = Rig::new();
    let Some(registry) = LocalRegistry::start(&rig, false) else {
        return;
    };
    let deployed = format!("{}:judged", registry.image("fixture"));
    let digest = registry.push("ccci-fixture:1.2.0", &deployed);
    let never = Untouched::listen();
    let recipe = recipe_read_two_ways(&rig, "jdgdpull", &deployed, &never.image());
    let run = rig.run(&recipe, None, &["--stages", "install"]);
    assert_eq!(run.code, 0, "{}", run.explain());
    for want in [
        format!("pulling {deployed} (not present locally)"),
        format!("pulled {deployed} in "),
    ] {
        assert!(
            run.stderr.contains(&want),
            "{want:?} missing:\n{}",
            run.stderr
        );
    }
    assert!(!run.stderr.contains(&never.image()), "{}", run.stderr);
    assert_eq!(
        never.connections(),
        0,
        "cc-ci reached a registry the judge never saw"
    );
    let r = run.results();
    assert_eq!(r["verdict"], "green", "{r}");
    assert_eq!(r["images_ran"]["app"]["digest"], digest.as_str(), "{r}");
    assert!(leftovers(&run.stack()).is_empty());
}

/// The other way: docker would deploy an image the registry lacks while cc-ci's own merge
/// reads one present here. The missing image is found before anything is created and is
/// the recipe's mistake (exit 2, naming docker's image, the file and the fix) — not a
/// deploy waiting on a task that cannot start.
#[test]
fn an_image_the_registry_lacks_is_found_whatever_cc_cis_own_reading_names() {
    let rig = Rig::new();
    let Some(registry) = LocalRegistry::start(&rig, false) else {
        return;
    };
    let missing = format!("{}:9.9.9", registry.image("fixture"));
    let recipe = recipe_read_two_ways(&rig, "jdgmpull", &missing, "ccci-fixture:1.2.0");
    let run = rig.run(&recipe, None, &["--stages", "install"]);
    assert_pull_refused(
        &run,
        2,
        &[
            "compose.yml: service `app` uses image",
            &format!("the registry {} has no image `{missing}`", registry.host()),
            &format!("fix: push `{missing}` to {}", registry.host()),
        ],
    );
    assert!(stacks_with_prefix("jdgm-").is_empty(), "something was left");
    assert!(registered_stack(&rig.state_dir()).is_none());
    let runs = rig.state_dir().join("runs");
    let left = std::fs::read_dir(&runs).map(|d| d.count()).unwrap_or(0);
    assert_eq!(left, 0, "working files left in {}", runs.display());
}

/// Nothing is pulled before the document passed the judge: a recipe cc-ci refuses (it
/// adds the Docker socket) is RED at install, and the registry its image names is never
/// reached.
#[test]
fn a_refused_document_pulls_nothing() {
    let rig = Rig::new();
    let never = Untouched::listen();
    let recipe = rig.recipe_copy("fixture-static", "jdgrpull");
    edit(
        &recipe,
        "compose.yml",
        "    image: ccci-fixture:1.2.0\n",
        &format!(
            "    image: {}\n    volumes:\n      - /var/run/docker.sock:/var/run/docker.sock\n",
            never.image()
        ),
    );
    let run = rig.run(&recipe, None, &["--stages", "install"]);
    assert_eq!(run.code, 1, "{}", run.explain());
    assert_eq!(run.rung("install")["status"], "fail");
    let message = run.results()["failure"]["message"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(message.contains("cc-ci refuses to deploy it"), "{message}");
    assert!(!run.stderr.contains("pulling "), "{}", run.stderr);
    assert_eq!(never.connections(), 0, "cc-ci pulled before the judge");
    assert!(leftovers(&run.stack()).is_empty());
}

/// The most common overnight red: the recipe did not change, the tag was pushed again.
/// Two runs of one recipe, the same tag with other content the second time: the second
/// run's record names another digest, and the recipe page's "where it broke" says the
/// digest moved under the unchanged tag.
#[test]
fn a_digest_that_moved_under_an_unchanged_tag_is_shown_where_it_broke() {
    let rig = Rig::new();
    let Some(registry) = LocalRegistry::start(&rig, false) else {
        return;
    };
    let image = format!("{}:1.2.0", registry.image("moving"));
    let first = registry.push("ccci-fixture:1.2.0", &image);
    let recipe = recipe_naming(&rig, "pullmove", &image);
    let green = rig.run_into(&recipe, None, &["--stages", "install"], "green");
    assert_eq!(green.code, 0, "{}", green.explain());

    // Other content under the same tag: an app that exits at once.
    let broken = format!("{}:broken", registry.image("scratch"));
    let mut build = Command::new("docker")
        .args(["build", "--quiet", "-t", &broken, "-"])
        .env("DOCKER_BUILDKIT", "0")
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    build
        .stdin
        .take()
        .unwrap()
        .write_all(b"FROM ccci-fixture:1.2.0\nENTRYPOINT [\"/bin/sh\", \"-c\", \"echo this content is broken >&2; exit 1\"]\n")
        .unwrap();
    assert!(build.wait().unwrap().success());
    let second = registry.push(&broken, &image);
    assert_ne!(first, second);
    registry.forget_local();
    let red = rig.run_into(&recipe, None, &["--stages", "install"], "red");
    assert_eq!(red.results()["verdict"], "red", "{}", red.explain());

    let record = |run: &Run| -> ccci_core::results::RunResults {
        serde_json::from_slice(&std::fs::read(run.out.join("results.json")).unwrap()).unwrap()
    };
    let (green, red) = (record(&green), record(&red));
    assert_eq!(
        green.images["app"], red.images["app"],
        "the tag did not change"
    );
    assert_eq!(
        green.images_ran["app"].digest.as_deref(),
        Some(first.as_str())
    );
    assert_eq!(
        red.images_ran["app"].digest.as_deref(),
        Some(second.as_str())
    );

    use ccci_service::dashboard::history::{broke_section, change_rows, BrokeView, RunLink};
    let rows = change_rows(&green, &red);
    assert_eq!(rows.len(), 1, "only the digest changed: {rows:?}");
    assert_eq!(rows[0].before, format!("{image}@{first}"));
    assert_eq!(rows[0].after, format!("{image}@{second}"));
    let link = |id| RunLink {
        id,
        href: format!("/runs/{id}"),
        finished: "—".into(),
        level: ccci_service::dashboard::views::level_chip(None),
    };
    let page = broke_section(&BrokeView {
        last_green: Some(link(1)),
        first_red: link(2),
        changes: Some(rows),
        missing: Vec::new(),
    })
    .into_string();
    for want in [
        "image content of app: digest moved under the unchanged tag".to_string(),
        "was pushed again with other content".to_string(),
        format!("{image}@{second}"),
    ] {
        assert!(page.contains(&want), "{want:?} missing:\n{page}");
    }
}

/// `ccci doctor --recipe`: the registries its images name answer (up: ok), or not (down:
/// a failed check naming the registry and the fix).
#[test]
fn doctor_checks_the_registries_a_recipes_images_name() {
    let rig = Rig::new();
    let Some(registry) = LocalRegistry::start(&rig, false) else {
        return;
    };
    let up = recipe_naming(&rig, "docup", &format!("{}:1", registry.image("doctor")));
    let closed = format!("127.0.0.1:{}", free_port());
    let down = recipe_naming(&rig, "docdown", &format!("{closed}/pullpath/doctor:1"));
    let check = |recipe: &Path| -> serde_json::Value {
        let out = ccci()
            .args(["doctor", "--json", "--state-dir"])
            .arg(rig.state_dir())
            .arg("--recipe")
            .arg(recipe)
            .env_remove("CCCI_SUITES_DIR")
            .output()
            .unwrap();
        let all: serde_json::Value = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stdout)));
        all.as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == "registry")
            .cloned()
            .unwrap_or_else(|| panic!("no registry check: {all}"))
    };
    let ok = check(&up);
    assert_eq!(ok["status"], "ok", "{ok}");
    assert!(
        ok["detail"].as_str().unwrap().contains(&registry.host()),
        "{ok}"
    );
    let failed = check(&down);
    assert_eq!(failed["status"], "fail", "{failed}");
    assert!(
        failed["detail"].as_str().unwrap().contains(&closed),
        "{failed}"
    );
    assert!(
        failed["fix"]
            .as_str()
            .unwrap()
            .contains(&format!("curl -sI http://{closed}/v2/")),
        "{failed}"
    );
    drop(registry);
}
