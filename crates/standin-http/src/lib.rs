//! A loopback HTTP server for stand-ins, started and stopped: the part the stand-ins of
//! services that cannot run on the build machine (`ccci-forge`'s Gitea stand-in,
//! `ccci-adapters`' Keycloak stand-in) share. Binding comes first ([`Listener::bind`]), so
//! a stand-in knows its address (its base URL is in the answers it gives) before it builds
//! the router it serves ([`Listener::serve`]). The [`Server`] that returns stops on
//! [`Server::stop`] (graceful, bounded) or when dropped (at once).
//!
//! # Layout
//! One file, no modules: [`Listener`] and [`Server`].

use axum::Router;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// How long [`Server::stop`] lets requests in flight finish before the server is aborted.
const STOP_GRACE: Duration = Duration::from_secs(5);

/// A bound port that serves nothing yet.
pub struct Listener {
    listener: TcpListener,
    addr: SocketAddr,
}

impl Listener {
    /// Binds a free port of `127.0.0.1`.
    pub async fn loopback() -> std::io::Result<Listener> {
        Listener::bind(Ipv4Addr::LOCALHOST.into()).await
    }

    /// Binds a free port of `ip` (e.g. a gateway address containers reach this host on).
    pub async fn bind(ip: IpAddr) -> std::io::Result<Listener> {
        let listener = TcpListener::bind((ip, 0)).await?;
        let addr = listener.local_addr()?;
        Ok(Listener { listener, addr })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The web root, `http://IP:PORT`.
    pub fn base_url(&self) -> String {
        base_url(self.addr)
    }

    /// Serves `app` on a task of the current runtime until the [`Server`] is stopped or
    /// dropped.
    pub fn serve(self, app: Router) -> Server {
        let (shutdown, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let _ = axum::serve(self.listener, app)
                .with_graceful_shutdown(async {
                    let _ = stopped.await;
                })
                .await;
        });
        Server {
            addr: self.addr,
            shutdown: Some(shutdown),
            task: Some(task),
        }
    }
}

/// A running server. Dropping it stops it at once; [`Server::stop`] lets requests in
/// flight finish first.
pub struct Server {
    addr: SocketAddr,
    /// Fires axum's graceful shutdown: the server stops accepting and ends once the
    /// requests in flight are answered. Taken by `stop` or `Drop`.
    shutdown: Option<oneshot::Sender<()>>,
    /// The serving task (axum's accept loop, which stops accepting as soon as `shutdown`
    /// fires, then waits for the open connections): awaited for a bounded grace by `stop`,
    /// aborted by `Drop` and by a `stop` whose grace ran out. Either way the port refuses
    /// new connections at once; a connection axum already handed to its own task lives on
    /// until it ends or the runtime does.
    task: Option<JoinHandle<()>>,
}

impl Server {
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The web root, `http://IP:PORT`.
    pub fn base_url(&self) -> String {
        base_url(self.addr)
    }

    /// Stops the server, letting requests in flight finish for at most 5 s.
    pub async fn stop(self) {
        self.stop_within(STOP_GRACE).await;
    }

    /// Stops the server, letting requests in flight finish for at most `grace`; then it is
    /// aborted.
    pub async fn stop_within(mut self, grace: Duration) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(task) = self.task.take() {
            let abort = task.abort_handle();
            if tokio::time::timeout(grace, task).await.is_err() {
                abort.abort();
            }
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

fn base_url(addr: SocketAddr) -> String {
    format!("http://{addr}")
}
