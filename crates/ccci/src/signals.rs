//! Ctrl-C and SIGTERM: cancel the run, which then tears down before returning.

use tokio_util::sync::CancellationToken;

/// A token cancelled on the first Ctrl-C or SIGTERM.
pub fn cancel_on_signals() -> CancellationToken {
    let token = CancellationToken::new();
    let t = token.clone();
    tokio::spawn(async move {
        let mut term =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = async { match term.as_mut() { Some(s) => { s.recv().await; } None => std::future::pending().await } } => {}
        }
        // Cancel first: if stderr's reader is gone, printing must not stop the teardown
        // (`eprintln!` panics on a closed pipe, which would leave the app up).
        t.cancel();
        use std::io::Write as _;
        let _ = writeln!(
            std::io::stderr(),
            "\nccci: stopping — tearing down (this takes a few seconds)"
        );
    });
    token
}
