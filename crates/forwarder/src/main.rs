//! cc-ci's forwarder: a tiny TCP forwarder that runs as a container on the swarm's attachable
//! `proxy` overlay network with a port published on 127.0.0.1, so the CI host can reach an
//! app's HTTP service the way a reverse proxy (traefik) does. This engine has no IPVS, so
//! service VIPs do not route; `tasks.<service>` DNS names do.
//!
//! Env:
//! - `UPSTREAM` (required): `host:port` to forward to, e.g. `tasks.mystack_app:8080`. It is
//!   resolved afresh for every connection (the task addresses change on a redeploy).
//! - `LISTEN` (`0.0.0.0:8080`): where to listen.
//!
//! When the upstream cannot be resolved or reached, the client gets `502 Bad Gateway` (as
//! traefik answers when its backend is down) and one line is logged to stderr.

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream, ToSocketAddrs};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
const DEFAULT_LISTEN: &str = "0.0.0.0:8080";

extern "C" fn exit_on_signal(_: libc::c_int) {
    // As PID 1 in a container a process has no default SIGTERM action: without this, every
    // stop waits out the grace period and is then killed.
    unsafe { libc::_exit(0) };
}

fn main() {
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
    let upstream = match check_upstream(std::env::var("UPSTREAM").ok().as_deref()) {
        Ok(u) => u,
        Err(e) => {
            eprintln!("ccci-forwarder: {e}");
            std::process::exit(2);
        }
    };
    let listen = std::env::var("LISTEN")
        .ok()
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| DEFAULT_LISTEN.into());
    let Ok(listen_addr) = listen.parse::<SocketAddr>() else {
        eprintln!("ccci-forwarder: LISTEN={listen:?} is not an address:port like {DEFAULT_LISTEN}");
        std::process::exit(2);
    };
    let listener = match TcpListener::bind(listen_addr) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("ccci-forwarder: cannot listen on {listen}: {e}");
            std::process::exit(1);
        }
    };
    eprintln!("ccci-forwarder: listening on {listen}, forwarding to {upstream}");
    serve(listener, upstream.into());
}

/// Checks that `UPSTREAM` looks like `host:port` (it is resolved later, per connection).
fn check_upstream(value: Option<&str>) -> Result<String, String> {
    let value = value.map(str::trim).unwrap_or("");
    if value.is_empty() {
        return Err("UPSTREAM is not set; set it to host:port, e.g. tasks.mystack_app:8080".into());
    }
    match value.rsplit_once(':') {
        Some((host, port)) if !host.is_empty() && port.parse::<u16>().is_ok_and(|p| p != 0) => {
            Ok(value.to_string())
        }
        _ => Err(format!(
            "UPSTREAM={value:?} is not host:port, e.g. tasks.mystack_app:8080"
        )),
    }
}

/// Accepts connections for ever, forwarding each to `upstream` on its own thread.
fn serve(listener: TcpListener, upstream: Arc<str>) {
    loop {
        match listener.accept() {
            Ok((client, _)) => {
                let upstream = upstream.clone();
                let spawned = thread::Builder::new()
                    .name("conn".into())
                    .stack_size(256 * 1024)
                    .spawn(move || handle(client, &upstream));
                if let Err(e) = spawned {
                    // The client stream was moved into the closure and is dropped (closed).
                    eprintln!("ccci-forwarder: cannot start a thread for a connection: {e}");
                }
            }
            Err(e) => {
                eprintln!("ccci-forwarder: accept failed: {e}");
                // E.g. out of file descriptors: do not spin.
                thread::sleep(Duration::from_millis(100));
            }
        }
    }
}

fn handle(client: TcpStream, upstream: &str) {
    match connect(upstream) {
        Ok(server) => pipe(client, server),
        Err(e) => {
            eprintln!("ccci-forwarder: cannot reach {upstream}: {e}");
            bad_gateway(client, upstream, &e);
        }
    }
}

/// Resolves `upstream` and tries each of its addresses in turn.
fn connect(upstream: &str) -> io::Result<TcpStream> {
    let mut last = None;
    for addr in upstream.to_socket_addrs()? {
        match TcpStream::connect_timeout(&addr, CONNECT_TIMEOUT) {
            Ok(stream) => return Ok(stream),
            Err(e) => last = Some(io::Error::new(e.kind(), format!("{addr}: {e}"))),
        }
    }
    Err(last.unwrap_or_else(|| {
        io::Error::new(io::ErrorKind::NotFound, "name resolved to no addresses")
    }))
}

/// Copies bytes both ways; when one side reaches EOF the other side's write half is shut
/// down, and when a copy fails both connections are shut down so the other copy ends too.
fn pipe(client: TcpStream, server: TcpStream) {
    let (Ok(client_r), Ok(server_w)) = (client.try_clone(), server.try_clone()) else {
        eprintln!("ccci-forwarder: cannot clone a socket handle");
        return;
    };
    let upward = thread::Builder::new()
        .name("up".into())
        .stack_size(64 * 1024)
        .spawn(move || copy_half(client_r, server_w));
    match upward {
        Ok(upward) => {
            copy_half(server, client);
            let _ = upward.join();
        }
        Err(e) => eprintln!("ccci-forwarder: cannot start a thread for a connection: {e}"),
    }
}

fn copy_half(mut from: TcpStream, mut to: TcpStream) {
    match io::copy(&mut from, &mut to) {
        Ok(_) => {
            let _ = to.shutdown(Shutdown::Write);
        }
        Err(_) => {
            let _ = from.shutdown(Shutdown::Both);
            let _ = to.shutdown(Shutdown::Both);
        }
    }
}

fn bad_gateway_reply(upstream: &str, error: &io::Error) -> Vec<u8> {
    let body = format!("cc-ci forwarder: cannot reach {upstream}: {error}\n");
    let mut reply = format!(
        "HTTP/1.1 502 Bad Gateway\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )
    .into_bytes();
    reply.extend_from_slice(body.as_bytes());
    reply
}

fn bad_gateway(mut client: TcpStream, upstream: &str, error: &io::Error) {
    if client
        .write_all(&bad_gateway_reply(upstream, error))
        .is_err()
    {
        return;
    }
    let _ = client.shutdown(Shutdown::Write);
    // Read what the client sent (its request) until it closes: closing a socket with unread
    // data makes the kernel send a reset, which can make the client lose the reply.
    let _ = client.set_read_timeout(Some(Duration::from_secs(2)));
    let mut buf = [0u8; 4096];
    let mut drained = 0usize;
    while drained < 1024 * 1024 {
        match client.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => drained += n,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Starts the forwarder on an ephemeral loopback port; returns its address.
    fn start_forwarder(upstream: String) -> SocketAddr {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        thread::spawn(move || serve(listener, upstream.into()));
        addr
    }

    fn exchange(addr: SocketAddr, request: &[u8]) -> Vec<u8> {
        let mut stream = TcpStream::connect(addr).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(20)))
            .unwrap();
        // Write from another thread: a large request must not wait for its echo to be read.
        let mut writer = stream.try_clone().unwrap();
        let request = request.to_vec();
        let written = thread::spawn(move || {
            writer.write_all(&request).unwrap();
            writer.shutdown(Shutdown::Write).unwrap();
        });
        let mut reply = Vec::new();
        stream.read_to_end(&mut reply).unwrap();
        written.join().unwrap();
        reply
    }

    #[test]
    fn bytes_round_trip() {
        // An echo server: copies everything back, then closes when the client has.
        let echo = TcpListener::bind("127.0.0.1:0").unwrap();
        let upstream = echo.local_addr().unwrap().to_string();
        thread::spawn(move || {
            for stream in echo.incoming().flatten() {
                thread::spawn(move || {
                    let mut writer = stream.try_clone().unwrap();
                    let mut reader = stream;
                    let _ = io::copy(&mut reader, &mut writer);
                });
            }
        });
        let fwd = start_forwarder(upstream);
        // Large enough to need many reads and writes both ways.
        let request: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
        assert_eq!(exchange(fwd, &request), request);
        // A second connection works too (the upstream is resolved again).
        assert_eq!(exchange(fwd, b"hello\n"), b"hello\n");
    }

    #[test]
    fn http_round_trip() {
        let http = TcpListener::bind("127.0.0.1:0").unwrap();
        let upstream = http.local_addr().unwrap().to_string();
        thread::spawn(move || {
            for mut stream in http.incoming().flatten() {
                let mut buf = [0u8; 1024];
                let n = stream.read(&mut buf).unwrap_or(0);
                let ok = buf[..n].starts_with(b"GET /health ");
                let reply: &[u8] = if ok {
                    b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nConnection: close\r\n\r\nok\n"
                } else {
                    b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                };
                let _ = stream.write_all(reply);
            }
        });
        let fwd = start_forwarder(upstream);
        let reply = exchange(fwd, b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n");
        assert_eq!(
            reply,
            b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nConnection: close\r\n\r\nok\n"
        );
    }

    #[test]
    fn refused_upstream_gets_502() {
        // A port that was just free: connecting to it is refused.
        let upstream = {
            let l = TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().to_string()
        };
        let fwd = start_forwarder(upstream.clone());
        let reply = exchange(fwd, b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n");
        let reply = String::from_utf8(reply).unwrap();
        let (head, body) = reply.split_once("\r\n\r\n").unwrap();
        let mut lines = head.split("\r\n");
        assert_eq!(lines.next(), Some("HTTP/1.1 502 Bad Gateway"));
        let headers: Vec<&str> = lines.collect();
        assert!(headers.contains(&"Content-Type: text/plain"), "{head}");
        assert!(headers.contains(&"Connection: close"), "{head}");
        let length = format!("Content-Length: {}", body.len());
        assert!(headers.contains(&length.as_str()), "{head}");
        assert!(
            body.starts_with(&format!("cc-ci forwarder: cannot reach {upstream}: ")),
            "{body}"
        );
        assert!(body.ends_with('\n'), "{body:?}");
    }

    #[test]
    fn upstream_must_be_host_port() {
        assert!(check_upstream(None).is_err());
        assert!(check_upstream(Some("")).is_err());
        assert!(check_upstream(Some("tasks.app")).is_err());
        assert!(check_upstream(Some(":8080")).is_err());
        assert!(check_upstream(Some("app:http")).is_err());
        assert!(check_upstream(Some("app:0")).is_err());
        assert_eq!(
            check_upstream(Some("tasks.mystack_app:8080")).unwrap(),
            "tasks.mystack_app:8080"
        );
        assert!(check_upstream(Some("[::1]:80")).is_ok());
    }
}
