//! HTTP and TCP probes: is the app serving, the way its users reach it?

use std::net::SocketAddr;
use std::time::Duration;

/// How requests reach an app's domain.
#[derive(Clone, Debug)]
pub enum Route {
    /// Through the rig's ingress proxy (e.g. traefik) at this address, by domain name, in the
    /// spirit of curl's `--resolve`: the URL keeps the domain (Host header, SNI).
    Ingress { addr: SocketAddr, https: bool },
    /// No proxy on this rig: cc-ci's forwarder, a container on the `proxy` network, passes
    /// connections to the service and port the proxy would route to (its tasks, by DNS);
    /// requests carry the domain as Host header. `addr` (`host:port`) is where cc-ci reaches
    /// it: its loopback publish (`127.0.0.1:<port>`), or — when cc-ci itself runs in a
    /// container on `proxy` — the forwarder's container name on that network
    /// (`ccci-fwd-<stack>:80`, resolved by the engine's DNS).
    Forwarded { addr: String },
}

#[derive(Clone, Debug)]
pub struct HttpTarget {
    pub domain: String,
    pub route: Route,
    /// For an HTTPS ingress: the CA bundle (PEM) its certificates must chain to; `None`
    /// for the public web roots. Certificates are always verified.
    pub ca_pem: Option<Vec<u8>>,
}

/// Why a probe got no usable answer; `Display` is the message runs record.
#[derive(Debug, thiserror::Error)]
pub enum ProbeError {
    /// The HTTP client could not be built (e.g. a CA bundle that does not parse).
    #[error("{0}")]
    Client(reqwest::Error),
    /// Through an HTTPS ingress, the certificate served for the domain does not verify: the
    /// proxy's fallback or self-signed default certificate, not the app's.
    #[error(
        "{method} {url}: the certificate the proxy serves for {domain} is not valid ({cause}); a proxy's fallback or self-signed default certificate means it does not serve this app (verified against {trusted})"
    )]
    WrongCertificate {
        method: reqwest::Method,
        url: String,
        domain: String,
        cause: String,
        /// What the certificate was verified against.
        trusted: &'static str,
    },
    /// No answer: refused, reset, timed out, DNS, …
    #[error("{method} {url}: {cause}")]
    NoAnswer {
        method: reqwest::Method,
        url: String,
        cause: String,
    },
    /// A marker PUT through the app answered anything but 2xx.
    #[error("PUT {path} answered {status}")]
    MarkerRefused { path: String, status: u16 },
    /// A TCP connect failed.
    #[error("connect {addr} (#{attempt}): {cause}")]
    Connect {
        addr: String,
        attempt: u32,
        cause: std::io::Error,
    },
    /// A TCP connect did not finish in time.
    #[error("connect {addr} (#{attempt}): timed out")]
    ConnectTimedOut { addr: String, attempt: u32 },
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HttpReply {
    pub status: u16,
    pub body: String,
}

impl HttpTarget {
    /// The base URL tests use to reach the app (no trailing slash).
    pub fn base_url(&self) -> String {
        match &self.route {
            Route::Ingress { https, .. } => {
                format!(
                    "{}://{}",
                    if *https { "https" } else { "http" },
                    self.domain
                )
            }
            Route::Forwarded { addr } => format!("http://{addr}"),
        }
    }

    fn client(&self, timeout: Duration) -> reqwest::Result<reqwest::Client> {
        let mut builder = reqwest::Client::builder()
            .timeout(timeout)
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy();
        if let Route::Ingress { addr, .. } = &self.route {
            builder = builder.resolve(&self.domain, *addr);
            if let Some(pem) = &self.ca_pem {
                // Only the rig's CA: a proxy's fallback or self-signed default certificate
                // is not the app's.
                builder = builder.tls_built_in_root_certs(false);
                for cert in reqwest::Certificate::from_pem_bundle(pem)? {
                    builder = builder.add_root_certificate(cert);
                }
            }
        }
        builder.build()
    }

    /// GET `path` (or a full URL) with the domain as Host.
    pub async fn get(&self, path: &str, timeout: Duration) -> Result<HttpReply, ProbeError> {
        self.request(reqwest::Method::GET, path, None, timeout)
            .await
    }

    /// A request to `path` (or a full URL) with the domain as Host.
    pub async fn request(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Vec<u8>>,
        timeout: Duration,
    ) -> Result<HttpReply, ProbeError> {
        let url = if path.starts_with("http://") || path.starts_with("https://") {
            path.to_string()
        } else {
            format!("{}{}", self.base_url(), path)
        };
        let client = self.client(timeout).map_err(ProbeError::Client)?;
        let mut req = client.request(method.clone(), &url);
        if matches!(self.route, Route::Forwarded { .. }) {
            req = req.header(reqwest::header::HOST, &self.domain);
        }
        if let Some(body) = body {
            req = req.body(body);
        }
        let resp = req
            .send()
            .await
            .map_err(|e| self.send_error(method, url, &e))?;
        let status = resp.status().as_u16();
        let body = resp.text().await.unwrap_or_default();
        Ok(HttpReply { status, body })
    }
}

impl HttpTarget {
    /// Names a request that got no answer; a certificate that does not verify is its own case.
    fn send_error(&self, method: reqwest::Method, url: String, e: &reqwest::Error) -> ProbeError {
        let cause = root_cause(e);
        if !is_certificate_error(&cause) {
            return ProbeError::NoAnswer { method, url, cause };
        }
        let trusted = if self.ca_pem.is_some() {
            "the rig's CA bundle"
        } else {
            "the public web roots"
        };
        ProbeError::WrongCertificate {
            method,
            url,
            domain: self.domain.clone(),
            cause,
            trusted,
        }
    }
}

/// Does this error text come from certificate verification?
fn is_certificate_error(cause: &str) -> bool {
    let c = cause.to_lowercase();
    c.contains("certificate") || c.contains("unknownissuer") || c.contains("notvalidforname")
}

impl HttpTarget {
    /// Whether the serving check verified TLS: only through an HTTPS ingress.
    pub fn verifies_tls(&self) -> bool {
        matches!(self.route, Route::Ingress { https: true, .. })
    }
}

impl HttpTarget {
    /// PUTs `value` at `path` through the app (a data marker the suite says how to write);
    /// anything but 2xx is an error naming the path and the answer.
    pub async fn put_marker(&self, path: &str, value: &str) -> Result<(), ProbeError> {
        let reply = self
            .request(
                reqwest::Method::PUT,
                path,
                Some(value.as_bytes().to_vec()),
                Duration::from_secs(10),
            )
            .await?;
        if (200..300).contains(&reply.status) {
            Ok(())
        } else {
            Err(ProbeError::MarkerRefused {
                path: path.to_string(),
                status: reply.status,
            })
        }
    }
}

fn root_cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut cause = e;
    while let Some(next) = cause.source() {
        cause = next;
    }
    cause.to_string()
}

/// `connects` consecutive successful TCP connects to `addr`, each bounded by `timeout`.
pub async fn tcp_probe(addr: &str, connects: u32, timeout: Duration) -> Result<(), ProbeError> {
    for attempt in 1..=connects.max(1) {
        let addr_owned = || addr.to_string();
        match tokio::time::timeout(timeout, tokio::net::TcpStream::connect(addr)).await {
            Ok(Ok(_)) => {}
            Ok(Err(cause)) => {
                return Err(ProbeError::Connect {
                    addr: addr_owned(),
                    attempt,
                    cause,
                })
            }
            Err(_) => {
                return Err(ProbeError::ConnectTimedOut {
                    addr: addr_owned(),
                    attempt,
                })
            }
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    Ok(())
}

/// A free loopback TCP port, for an app's forwarder when the rig has no proxy.
pub fn free_port() -> std::io::Result<u16> {
    let listener = std::net::TcpListener::bind(("127.0.0.1", 0))?;
    Ok(listener.local_addr()?.port())
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// A loopback address nothing listens on.
    fn closed_addr() -> SocketAddr {
        let listener = std::net::TcpListener::bind(("127.0.0.1", 0)).unwrap();
        listener.local_addr().unwrap()
    }

    fn forwarded(addr: SocketAddr) -> HttpTarget {
        HttpTarget {
            domain: "app.ci.example".into(),
            route: Route::Forwarded {
                addr: addr.to_string(),
            },
            ca_pem: None,
        }
    }

    /// Answers one request with `status` and an empty body.
    async fn answering(status: &'static str) -> SocketAddr {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
            .await
            .unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            let (mut conn, _) = listener.accept().await.unwrap();
            let mut buf = [0u8; 4096];
            let _ = conn.read(&mut buf).await;
            let reply =
                format!("HTTP/1.1 {status}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n");
            let _ = conn.write_all(reply.as_bytes()).await;
        });
        addr
    }

    #[tokio::test]
    async fn a_refused_connect_is_a_connect_error_naming_the_attempt() {
        let addr = closed_addr().to_string();
        let err = tcp_probe(&addr, 2, Duration::from_secs(2))
            .await
            .unwrap_err();
        assert!(
            matches!(&err, ProbeError::Connect { attempt: 1, .. }),
            "{err:?}"
        );
        assert!(
            err.to_string()
                .starts_with(&format!("connect {addr} (#1): ")),
            "{err}"
        );
    }

    #[tokio::test]
    async fn no_answer_names_method_and_url_and_is_not_a_certificate_error() {
        let addr = closed_addr();
        let err = forwarded(addr)
            .get("/health", Duration::from_secs(2))
            .await
            .unwrap_err();
        assert!(matches!(err, ProbeError::NoAnswer { .. }), "{err:?}");
        assert!(
            err.to_string()
                .starts_with(&format!("GET http://{addr}/health: ")),
            "{err}"
        );
    }

    #[tokio::test]
    async fn a_refused_marker_names_path_and_status() {
        let addr = answering("403 Forbidden").await;
        let err = forwarded(addr)
            .put_marker("/marker", "v")
            .await
            .unwrap_err();
        assert!(
            matches!(&err, ProbeError::MarkerRefused { status: 403, .. }),
            "{err:?}"
        );
        assert_eq!(err.to_string(), "PUT /marker answered 403");
    }

    #[test]
    fn a_wrong_certificate_reads_as_before() {
        let err = ProbeError::WrongCertificate {
            method: reqwest::Method::GET,
            url: "https://app.ci.example/".into(),
            domain: "app.ci.example".into(),
            cause: "invalid peer certificate: UnknownIssuer".into(),
            trusted: "the rig's CA bundle",
        };
        assert_eq!(
            err.to_string(),
            "GET https://app.ci.example/: the certificate the proxy serves for app.ci.example is not valid (invalid peer certificate: UnknownIssuer); a proxy's fallback or self-signed default certificate means it does not serve this app (verified against the rig's CA bundle)"
        );
    }
}
