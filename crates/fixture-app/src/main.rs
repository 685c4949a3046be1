//! cc-ci's fixture app: a tiny HTTP server whose behaviour is chosen by env, so that
//! example recipes can be healthy, slow, crash-looping, stateful or leaky on purpose.
//!
//! Env (all optional):
//! - `PORT` (8080): where to listen.
//! - `APP_VERSION` ("dev"): served at `/version` and on the landing page.
//! - `HEALTHY_AFTER` (0): seconds after start before `/health` answers 200 (503 before).
//! - `NEVER_HEALTHY` (unset): `/health` always answers 503.
//! - `CRASH_AT_START` (unset): print an error and exit 1 at once.
//! - `EXIT_AFTER` (unset): exit 1 after that many seconds.
//! - `DATA_DIR` ("/data"): `GET/PUT/DELETE /data/<name>` read and write files there.
//! - `PRINT_SECRETS` (unset): print every file under `/run/secrets` to stdout at start.
//! - `LANDING_SHOWS_SECRETS` (unset): the landing page shows the files under `/run/secrets`
//!   (a careless admin page).
//! - `OIDC_ISSUER`, `OIDC_CLIENT_ID`, `OIDC_CLIENT_SECRET` (unset): shown at `/oidc` (the
//!   secret only by its length), as an SSO-enabled app would be configured.
//! - `CRASH_ONCE` (unset): a file path; if it does not exist, create it and exit 1 — so the
//!   first start after a change fails and the next one (same volume) succeeds.
//! - `NEEDS` (unset): `host:port[,host:port…]`; at start, one TCP connect to each (2 s
//!   timeout); if any fails, print `cannot reach <host:port>: <error>` and exit 1 — an app that
//!   waits for its database by exiting and letting swarm restart it.
//! - `LISTEN_AFTER` (0): print `initialising (listening in N s)` and wait that many seconds
//!   before opening the port — a database that only listens once initialised (`HEALTHY_AFTER`
//!   still counts from the start of the process).
//!
//! `fixture-app healthcheck` exits 0 when the local `/health` answers 200: the image needs no
//! shell for its compose healthcheck.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

fn port() -> u16 {
    env("PORT").and_then(|p| p.parse().ok()).unwrap_or(8080)
}

fn main() {
    let arg = std::env::args().nth(1);
    match arg.as_deref() {
        Some("healthcheck") => std::process::exit(healthcheck()),
        Some("serve") | None => serve(),
        Some(other) => {
            eprintln!("fixture-app: unknown command {other:?}; use `serve` or `healthcheck`");
            std::process::exit(2);
        }
    }
}

fn healthcheck() -> i32 {
    let Ok(mut stream) = TcpStream::connect(("127.0.0.1", port())) else {
        return 1;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(3)));
    let _ = stream.write_all(b"GET /health HTTP/1.0\r\nHost: localhost\r\n\r\n");
    let mut reply = String::new();
    let _ = stream.read_to_string(&mut reply);
    i32::from(!reply.starts_with("HTTP/1.0 200") && !reply.starts_with("HTTP/1.1 200"))
}

struct App {
    started: Instant,
    version: String,
    healthy_after: Duration,
    never_healthy: bool,
    data_dir: PathBuf,
}

extern "C" fn exit_on_signal(_: libc::c_int) {
    // As PID 1 in a container a process has no default SIGTERM action: without this, every
    // stop waits out the grace period and is then killed.
    unsafe { libc::_exit(0) };
}

fn serve() {
    // SAFETY: installing an async-signal-safe handler that only calls _exit.
    unsafe {
        libc::signal(
            libc::SIGTERM,
            exit_on_signal as *const () as libc::sighandler_t,
        );
        libc::signal(
            libc::SIGINT,
            exit_on_signal as *const () as libc::sighandler_t,
        );
    }
    if let Some(needs) = env("NEEDS") {
        check_needs(&needs);
    }
    let version = env("APP_VERSION").unwrap_or_else(|| "dev".into());
    if env("CRASH_AT_START").is_some() {
        eprintln!("fixture-app {version}: fatal: CRASH_AT_START is set, refusing to start");
        std::process::exit(1);
    }
    if let Some(path) = env("CRASH_ONCE") {
        if !Path::new(&path).exists() {
            let _ = std::fs::write(&path, b"crashed once\n");
            eprintln!("fixture-app {version}: fatal: CRASH_ONCE: first start, {path} created");
            std::process::exit(1);
        }
    }
    if env("PRINT_SECRETS").is_some() {
        print_secrets(Path::new("/run/secrets"));
    }
    if let Some(secs) = env("EXIT_AFTER").and_then(|s| s.parse::<u64>().ok()) {
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_secs(secs));
            eprintln!("fixture-app: EXIT_AFTER={secs} reached, exiting with status 1");
            std::process::exit(1);
        });
    }
    let app = App {
        started: Instant::now(),
        version,
        healthy_after: Duration::from_secs(
            env("HEALTHY_AFTER")
                .and_then(|s| s.parse().ok())
                .unwrap_or(0),
        ),
        never_healthy: env("NEVER_HEALTHY").is_some(),
        data_dir: PathBuf::from(env("DATA_DIR").unwrap_or_else(|| "/data".into())),
    };
    if let Some(secs) = env("LISTEN_AFTER").and_then(|s| s.parse::<u64>().ok()) {
        println!("initialising (listening in {secs} s)");
        std::thread::sleep(Duration::from_secs(secs));
    }
    let listener = match TcpListener::bind(("0.0.0.0", port())) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("fixture-app: cannot listen on port {}: {e}", port());
            std::process::exit(1);
        }
    };
    println!("fixture-app {} listening on :{}", app.version, port());
    let app = std::sync::Arc::new(app);
    for stream in listener.incoming().flatten() {
        let app = app.clone();
        std::thread::spawn(move || {
            let _ = handle(&app, stream);
        });
    }
}

/// `NEEDS`: one TCP connect (2 s timeout) to each `host:port`; exit 1 if any fails.
fn check_needs(needs: &str) {
    for target in needs.split(',').map(str::trim).filter(|t| !t.is_empty()) {
        let reached = target.to_socket_addrs().and_then(|mut addrs| {
            let addr = addrs.next().ok_or_else(|| {
                std::io::Error::new(
                    std::io::ErrorKind::NotFound,
                    "name resolved to no addresses",
                )
            })?;
            TcpStream::connect_timeout(&addr, Duration::from_secs(2))
        });
        if let Err(e) = reached {
            eprintln!("cannot reach {target}: {e}");
            std::process::exit(1);
        }
    }
}

fn print_secrets(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        if let Ok(value) = std::fs::read_to_string(entry.path()) {
            println!(
                "secret {} = {}",
                entry.file_name().to_string_lossy(),
                value.trim()
            );
        }
    }
}

fn secrets_html() -> String {
    let Ok(entries) = std::fs::read_dir("/run/secrets") else {
        return String::new();
    };
    entries
        .flatten()
        .filter_map(|e| {
            let value = std::fs::read_to_string(e.path()).ok()?;
            Some(format!(
                "<p>{}: {}</p>",
                e.file_name().to_string_lossy(),
                value.trim()
            ))
        })
        .collect()
}

fn handle(app: &App, mut stream: TcpStream) -> std::io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut request_line = String::new();
    reader.read_line(&mut request_line)?;
    let mut parts = request_line.split_whitespace();
    let method = parts.next().unwrap_or("").to_string();
    let path = parts.next().unwrap_or("/").to_string();
    let mut content_length = 0usize;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 || line == "\r\n" || line == "\n" {
            break;
        }
        if let Some((name, value)) = line.split_once(':') {
            if name.eq_ignore_ascii_case("content-length") {
                content_length = value.trim().parse().unwrap_or(0);
            }
        }
    }
    let mut body = vec![0u8; content_length.min(16 * 1024 * 1024)];
    reader.read_exact(&mut body)?;
    let (status, content_type, reply) = route(app, &method, &path, &body);
    let head = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        reply.len()
    );
    stream.write_all(head.as_bytes())?;
    stream.write_all(&reply)?;
    stream.flush()
}

fn route(
    app: &App,
    method: &str,
    path: &str,
    body: &[u8],
) -> (&'static str, &'static str, Vec<u8>) {
    const TEXT: &str = "text/plain; charset=utf-8";
    match (method, path) {
        ("GET", "/health") => {
            if app.never_healthy || app.started.elapsed() < app.healthy_after {
                ("503 Service Unavailable", TEXT, b"starting\n".to_vec())
            } else {
                ("200 OK", TEXT, b"ok\n".to_vec())
            }
        }
        ("GET", "/version") => ("200 OK", TEXT, format!("{}\n", app.version).into_bytes()),
        // What an SSO-enabled app was configured with (the secret only by its length).
        ("GET", "/oidc") => (
            "200 OK",
            TEXT,
            format!(
                "issuer={}\nclient_id={}\nclient_secret_length={}\n",
                env("OIDC_ISSUER").unwrap_or_default(),
                env("OIDC_CLIENT_ID").unwrap_or_default(),
                env("OIDC_CLIENT_SECRET").map(|s| s.len()).unwrap_or(0)
            )
            .into_bytes(),
        ),
        ("GET", "/") => (
            "200 OK",
            "text/html; charset=utf-8",
            format!(
                "<!doctype html><html><head><title>fixture app</title></head>\
                 <body><h1>fixture app</h1><p>version {}</p>{}</body></html>\n",
                app.version,
                if env("LANDING_SHOWS_SECRETS").is_some() {
                    secrets_html()
                } else {
                    String::new()
                }
            )
            .into_bytes(),
        ),
        (_, p) if p.starts_with("/data/") => data(app, method, &p["/data/".len()..], body),
        _ => ("404 Not Found", TEXT, b"not found\n".to_vec()),
    }
}

fn data(app: &App, method: &str, name: &str, body: &[u8]) -> (&'static str, &'static str, Vec<u8>) {
    const TEXT: &str = "text/plain; charset=utf-8";
    if name.is_empty() || name.contains('/') || name.starts_with('.') {
        return ("400 Bad Request", TEXT, b"bad name\n".to_vec());
    }
    let file = app.data_dir.join(name);
    match method {
        "GET" => match std::fs::read(&file) {
            Ok(content) => ("200 OK", TEXT, content),
            Err(_) => ("404 Not Found", TEXT, b"no such data\n".to_vec()),
        },
        "PUT" | "POST" => match std::fs::write(&file, body) {
            Ok(()) => ("200 OK", TEXT, b"stored\n".to_vec()),
            Err(e) => (
                "500 Internal Server Error",
                TEXT,
                format!("{e}\n").into_bytes(),
            ),
        },
        "DELETE" => match std::fs::remove_file(&file) {
            Ok(()) => ("200 OK", TEXT, b"deleted\n".to_vec()),
            Err(_) => ("404 Not Found", TEXT, b"no such data\n".to_vec()),
        },
        _ => ("405 Method Not Allowed", TEXT, Vec::new()),
    }
}
