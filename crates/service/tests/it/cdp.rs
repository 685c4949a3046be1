//! Just enough of the Chrome DevTools Protocol to watch a page over time: headless Chromium
//! with a debugging port on loopback, one page, `Page.navigate` and `Runtime.evaluate`.
//! (`--dump-dom` sees a page once, at its load; a live page needs a second look.)

use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// Every DevTools call answers within this, or the test fails.
const CALL_BOUND: Duration = Duration::from_secs(30);

pub struct Browser {
    page: WebSocketStream<MaybeTlsStream<TcpStream>>,
    next_id: u64,
    _child: tokio::process::Child,
    _profile: tempfile::TempDir,
}

impl Browser {
    /// Starts `browser` headless on `about:blank` and attaches to its page.
    pub async fn launch(browser: &Path) -> Browser {
        let profile = tempfile::tempdir().unwrap();
        let mut child = tokio::process::Command::new(browser)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-dev-shm-usage",
                "--remote-debugging-address=127.0.0.1",
                "--remote-debugging-port=0",
            ])
            .arg(format!("--user-data-dir={}", profile.path().display()))
            .arg("about:blank")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("chromium starts");
        let mut stderr = BufReader::new(child.stderr.take().unwrap()).lines();
        let port = tokio::time::timeout(CALL_BOUND, async {
            while let Ok(Some(line)) = stderr.next_line().await {
                if let Some(url) = line.strip_prefix("DevTools listening on ws://") {
                    let host_port = url.split('/').next().unwrap_or("");
                    return host_port
                        .rsplit(':')
                        .next()
                        .and_then(|p| p.parse::<u16>().ok());
                }
            }
            None
        })
        .await
        .ok()
        .flatten()
        .expect("chromium says where DevTools listens");
        // Keep draining its stderr so it never blocks on a full pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = stderr.next_line().await {} });
        let targets: Value = reqwest::get(format!("http://127.0.0.1:{port}/json/list"))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let page_url = targets
            .as_array()
            .and_then(|t| t.iter().find(|t| t["type"] == "page"))
            .and_then(|t| t["webSocketDebuggerUrl"].as_str())
            .unwrap_or_else(|| panic!("no page target: {targets}"))
            .to_string();
        let (page, _) = tokio_tungstenite::connect_async(page_url).await.unwrap();
        Browser {
            page,
            next_id: 1,
            _child: child,
            _profile: profile,
        }
    }

    /// One DevTools call; its result (events in between are passed over).
    pub async fn call(&mut self, method: &str, params: Value) -> Value {
        let id = self.next_id;
        self.next_id += 1;
        let request = json!({"id": id, "method": method, "params": params}).to_string();
        self.page.send(Message::text(request)).await.unwrap();
        tokio::time::timeout(CALL_BOUND, async {
            while let Some(message) = self.page.next().await {
                let Ok(Message::Text(text)) = message else {
                    continue;
                };
                let reply: Value = serde_json::from_str(&text).unwrap();
                if reply["id"] == id {
                    assert!(reply["error"].is_null(), "{method}: {reply}");
                    return reply["result"].clone();
                }
            }
            panic!("the browser closed the connection during {method}")
        })
        .await
        .unwrap_or_else(|_| panic!("{method} did not answer within {CALL_BOUND:?}"))
    }

    pub async fn navigate(&mut self, url: &str) {
        self.call("Page.navigate", json!({ "url": url })).await;
    }

    /// Navigates to `url` and waits until the page has loaded.
    pub async fn open(&mut self, url: &str) {
        self.navigate(url).await;
        self.wait_until("document.readyState === 'complete'").await;
    }

    /// Waits until `condition` is true in the page; panics after 10 s.
    pub async fn wait_until(&mut self, condition: &str) {
        let bound = Duration::from_secs(10);
        self.wait_for(condition, condition, Value::Bool(true), bound)
            .await;
    }

    /// The value of a JavaScript expression in the page.
    pub async fn eval(&mut self, expression: &str) -> Value {
        let result = self
            .call(
                "Runtime.evaluate",
                json!({"expression": expression, "returnByValue": true}),
            )
            .await;
        result["result"]["value"].clone()
    }

    /// Waits until `expression` evaluates to `expected` (every 200 ms); panics after `bound`.
    pub async fn wait_for(
        &mut self,
        what: &str,
        expression: &str,
        expected: Value,
        bound: Duration,
    ) {
        let deadline = tokio::time::Instant::now() + bound;
        loop {
            let value = self.eval(expression).await;
            if value == expected {
                return;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "timed out after {bound:?} waiting for {what} (last: {value})"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}
