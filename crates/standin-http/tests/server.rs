//! The stand-ins' server on a real loopback port: it serves the router it is given at its
//! base URL, `stop` answers the requests in flight (and gives up, bounded, on one that
//! never ends), and a stopped or dropped server no longer accepts.

use axum::routing::get;
use axum::Router;
use ccci_standin_http::{Listener, Server};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;

async fn answers(server: &Server) -> Result<String, reqwest::Error> {
    reqwest::get(format!("{}/", server.base_url()))
        .await?
        .text()
        .await
}

/// Whether the port refuses connections within about a second.
async fn refuses(server_addr: std::net::SocketAddr) -> bool {
    for _ in 0..100 {
        if tokio::net::TcpStream::connect(server_addr).await.is_err() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    false
}

/// A router whose `/` says when it is entered, then answers after `delay` (never, if
/// `None`), setting `answered` as it does.
fn slow_router(entered: mpsc::Sender<()>, delay: Option<Duration>) -> (Router, Arc<AtomicBool>) {
    let answered = Arc::new(AtomicBool::new(false));
    let flag = answered.clone();
    let router = Router::new().route(
        "/",
        get(move || async move {
            let _ = entered.send(()).await;
            match delay {
                Some(delay) => tokio::time::sleep(delay).await,
                None => std::future::pending::<()>().await,
            }
            flag.store(true, Ordering::SeqCst);
            "late"
        }),
    );
    (router, answered)
}

#[tokio::test]
async fn serves_the_router_at_its_base_url_until_stopped() {
    let listener = Listener::loopback().await.unwrap();
    let addr = listener.addr();
    assert!(addr.ip().is_loopback() && addr.port() != 0, "{addr}");
    assert_eq!(
        listener.base_url(),
        format!("http://127.0.0.1:{}", addr.port())
    );
    let server = listener.serve(Router::new().route("/", get(|| async { "ok" })));
    assert_eq!(server.addr(), addr);
    assert_eq!(answers(&server).await.unwrap(), "ok");
    server.stop().await;
    assert!(refuses(addr).await, "{addr} still accepts after stop");
}

#[tokio::test]
async fn stop_answers_the_request_in_flight_first() {
    let (entered, mut inside) = mpsc::channel(1);
    let listener = Listener::loopback().await.unwrap();
    let url = format!("{}/", listener.base_url());
    let (router, answered) = slow_router(entered, Some(Duration::from_millis(300)));
    let server = listener.serve(router);
    let request = tokio::spawn(async move { reqwest::get(url).await?.text().await });
    inside.recv().await.unwrap();
    server.stop().await;
    assert!(
        answered.load(Ordering::SeqCst),
        "stop returned before the answer"
    );
    assert_eq!(request.await.unwrap().unwrap(), "late");
}

#[tokio::test]
async fn stop_gives_up_on_a_request_that_never_ends() {
    let (entered, mut inside) = mpsc::channel(1);
    let listener = Listener::loopback().await.unwrap();
    let (addr, url) = (listener.addr(), format!("{}/", listener.base_url()));
    let server = listener.serve(slow_router(entered, None).0);
    let request = tokio::spawn(async move { reqwest::get(url).await?.text().await });
    inside.recv().await.unwrap();
    let grace = Duration::from_millis(300);
    let before = std::time::Instant::now();
    server.stop_within(grace).await;
    let waited = before.elapsed();
    assert!(
        waited >= grace && waited < grace * 3,
        "stop waited {waited:?} for a grace of {grace:?}"
    );
    assert!(refuses(addr).await, "{addr} still accepts after stop");
    assert!(
        !request.is_finished(),
        "the endless request has no answer to give"
    );
}

#[tokio::test]
async fn a_dropped_server_no_longer_accepts() {
    let listener = Listener::loopback().await.unwrap();
    let addr = listener.addr();
    let server = listener.serve(Router::new().route("/", get(|| async { "ok" })));
    assert_eq!(answers(&server).await.unwrap(), "ok");
    drop(server);
    assert!(refuses(addr).await, "{addr} still accepts after drop");
}
