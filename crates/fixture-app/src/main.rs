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
//! - `LANDING_FAILS` (unset): the landing page `/` answers 500 with an error page while
//!   `/health` (and so the compose healthcheck) still answers 200 — a broken app whose
//!   healthcheck does not notice.
//! - `OIDC_ISSUER`, `OIDC_CLIENT_ID`, `OIDC_CLIENT_SECRET` (unset): shown at `/oidc` (the
//!   secret only by its length), as an SSO-enabled app would be configured.
//! - `CRASH_ONCE` (unset): a file path; if it does not exist, create it and exit 1 — so the
//!   first start after a change fails and the next one (same volume) succeeds.
//! - `NEEDS` (unset): `host:port[,host:port…]`; at start, a TCP connect to each (2 s
//!   timeout), tried again every second for `NEEDS_PATIENCE` seconds (10), as most apps
//!   retry their database a little; then, if any still fails, print `cannot reach
//!   <host:port>: <error>` and exit 1 — an app that waits for its database by exiting and
//!   letting swarm restart it.
//! - `LISTEN_AFTER` (0): print `initialising (listening in N s)` and wait that many seconds
//!   before opening the port — a database that only listens once initialised (`HEALTHY_AFTER`
//!   still counts from the start of the process).
//! - `DATABASE_URL` (unset): `postgres://user@host[:port]/dbname`; the password comes from
//!   `DATABASE_PASSWORD_FILE` (a swarm secret) or `DATABASE_PASSWORD`. At start the app
//!   connects (5 s timeout) and creates its table `fixture_rows`; if the database cannot be
//!   reached it prints `fixture-app: cannot use the database at <url>: <error>` and exits 1,
//!   as catalogue apps do (swarm restarts it). Then `GET /rows` lists the rows (`key=value`
//!   lines, sorted), `GET/PUT/DELETE /rows/<key>` read, write (the body is the value) and
//!   delete one. A database that goes away later fails those requests (503), not `/health`.
//! - `REDIS_URL` (unset): `redis://[:password@]host[:port][/db]` (password also from
//!   `REDIS_PASSWORD_FILE`); checked with a PING at start (exit 1 with
//!   `fixture-app: cannot use redis at <url>: <error>`), then `GET /cache` and
//!   `GET/PUT/DELETE /cache/<key>` like the rows, kept in the Redis hash `fixture:cache`.
//!
//! `fixture-app healthcheck` exits 0 when the local `/health` answers 200: the image needs no
//! shell for its compose healthcheck.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

mod pg;
mod redis;

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
    db: Option<pg::Db>,
    redis: Option<redis::Redis>,
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
    let (db, redis) = (connect_db(&version), connect_redis(&version));
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
        db,
        redis,
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

/// `DATABASE_URL`: the database must be usable at start, else exit 1 saying why.
fn connect_db(version: &str) -> Option<pg::Db> {
    let url = env("DATABASE_URL")?;
    let password = match env("DATABASE_PASSWORD_FILE") {
        Some(file) => match std::fs::read_to_string(&file) {
            Ok(text) => Some(text.trim_end_matches(['\n', '\r']).to_string()),
            Err(e) => die(version, &format!("DATABASE_PASSWORD_FILE {file}: {e}")),
        },
        None => env("DATABASE_PASSWORD"),
    };
    let db = pg::Db::from_env(&url, password).unwrap_or_else(|e| die(version, &e));
    if let Err(e) = db.init() {
        die(
            version,
            &format!("cannot use the database at {}: {e}", db.shown),
        );
    }
    println!("fixture-app: database {} ready", db.shown);
    Some(db)
}

/// `REDIS_URL`: Redis must answer at start, else exit 1 saying why.
fn connect_redis(version: &str) -> Option<redis::Redis> {
    let url = env("REDIS_URL")?;
    let r = redis::Redis::from_env(&url, env("REDIS_PASSWORD_FILE"))
        .unwrap_or_else(|e| die(version, &e));
    if let Err(e) = r.init() {
        die(version, &format!("cannot use redis at {}: {e}", r.shown));
    }
    println!("fixture-app: redis {} ready", r.shown);
    Some(r)
}

fn die(version: &str, message: &str) -> ! {
    eprintln!("fixture-app {version}: {message}");
    std::process::exit(1);
}

/// `NEEDS`: a TCP connect (2 s timeout) to each `host:port`, retried every second for
/// `NEEDS_PATIENCE` seconds; exit 1 if one still fails.
fn check_needs(needs: &str) {
    let patience = env("NEEDS_PATIENCE")
        .and_then(|v| v.parse().ok())
        .unwrap_or(10u64);
    let deadline = std::time::Instant::now() + Duration::from_secs(patience);
    for target in needs.split(',').map(str::trim).filter(|t| !t.is_empty()) {
        loop {
            match reach(target) {
                Ok(()) => break,
                Err(_) if std::time::Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_secs(1))
                }
                Err(e) => {
                    eprintln!("cannot reach {target}: {e}");
                    std::process::exit(1);
                }
            }
        }
    }
}

/// One TCP connect to `host:port` (2 s timeout).
fn reach(target: &str) -> std::io::Result<()> {
    let addr = target.to_socket_addrs()?.next().ok_or_else(|| {
        std::io::Error::new(
            std::io::ErrorKind::NotFound,
            "name resolved to no addresses",
        )
    })?;
    TcpStream::connect_timeout(&addr, Duration::from_secs(2)).map(|_| ())
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
        ("GET", "/") if env("LANDING_FAILS").is_some() => (
            "500 Internal Server Error",
            "text/html; charset=utf-8",
            b"<!doctype html><html><body><h1>Internal Server Error</h1>\
              <p>fixture-app: the landing page failed: template error</p></body></html>\n"
                .to_vec(),
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
        (_, p) if p == "/rows" || p.starts_with("/rows/") => {
            rows(app, method, &p["/rows".len()..], body)
        }
        (_, p) if p == "/cache" || p.starts_with("/cache/") => {
            cache(app, method, &p["/cache".len()..], body)
        }
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

/// A key of `/rows/<key>` or `/cache/<key>` (empty: the whole list).
fn store_key(rest: &str) -> Result<Option<String>, &'static str> {
    match rest.strip_prefix('/') {
        None => Ok(None),
        Some(k) if k.is_empty() || k.contains('/') || k.contains('=') => Err("bad key\n"),
        Some(k) => Ok(Some(k.to_string())),
    }
}

fn status_line(code: u16) -> &'static str {
    match code {
        200 => "200 OK",
        404 => "404 Not Found",
        _ => "500 Internal Server Error",
    }
}

fn rows(app: &App, method: &str, rest: &str, body: &[u8]) -> (&'static str, &'static str, Vec<u8>) {
    const TEXT: &str = "text/plain; charset=utf-8";
    let Some(db) = &app.db else {
        return (
            "404 Not Found",
            TEXT,
            b"no database (DATABASE_URL is not set)\n".to_vec(),
        );
    };
    let op = match (method, store_key(rest)) {
        (_, Err(e)) => return ("400 Bad Request", TEXT, e.as_bytes().to_vec()),
        ("GET", Ok(None)) => pg::RowOp::List,
        ("GET", Ok(Some(k))) => pg::RowOp::Get(k),
        ("PUT" | "POST", Ok(Some(k))) => {
            pg::RowOp::Put(k, String::from_utf8_lossy(body).into_owned())
        }
        ("DELETE", Ok(Some(k))) => pg::RowOp::Delete(k),
        _ => return ("405 Method Not Allowed", TEXT, Vec::new()),
    };
    match db.rows(op) {
        Ok((code, text)) => (status_line(code), TEXT, text.into_bytes()),
        Err(e) => (
            "503 Service Unavailable",
            TEXT,
            format!("database: {e}\n").into_bytes(),
        ),
    }
}

fn cache(
    app: &App,
    method: &str,
    rest: &str,
    body: &[u8],
) -> (&'static str, &'static str, Vec<u8>) {
    const TEXT: &str = "text/plain; charset=utf-8";
    let Some(r) = &app.redis else {
        return (
            "404 Not Found",
            TEXT,
            b"no redis (REDIS_URL is not set)\n".to_vec(),
        );
    };
    let op = match (method, store_key(rest)) {
        (_, Err(e)) => return ("400 Bad Request", TEXT, e.as_bytes().to_vec()),
        ("GET", Ok(None)) => redis::KeyOp::List,
        ("GET", Ok(Some(k))) => redis::KeyOp::Get(k),
        ("PUT" | "POST", Ok(Some(k))) => redis::KeyOp::Put(k, body.to_vec()),
        ("DELETE", Ok(Some(k))) => redis::KeyOp::Delete(k),
        _ => return ("405 Method Not Allowed", TEXT, Vec::new()),
    };
    match r.keys(op) {
        Ok((code, bytes)) => (status_line(code), TEXT, bytes),
        Err(e) => (
            "503 Service Unavailable",
            TEXT,
            format!("{e}\n").into_bytes(),
        ),
    }
}
