//! Whether a container has opened a listening TCP socket, read from the host's
//! `/proc/<pid>/net/tcp{,6}` (the container's network namespace, seen through its main
//! process). Only possible when the engine runs on this host and cc-ci shares its PID
//! namespace; otherwise the answer is "unknown" and readiness falls back to the start grace.

use std::path::Path;

/// `Some(true)` when the container's namespace has a socket in LISTEN state, `Some(false)`
/// when it has none, `None` when it cannot be seen (no such process, or the PID is not the
/// container's here: another PID namespace, a remote engine).
pub fn listening(pid: i64, container_id: &str) -> Option<bool> {
    if pid <= 0 || container_id.is_empty() {
        return None;
    }
    let proc_dir = Path::new("/proc").join(pid.to_string());
    // The PID must be this container's process here: its cgroup names the container.
    let cgroup = std::fs::read_to_string(proc_dir.join("cgroup")).ok()?;
    if !cgroup.contains(container_id) {
        return None;
    }
    let mut seen_any = false;
    for table in ["net/tcp", "net/tcp6"] {
        if let Ok(text) = std::fs::read_to_string(proc_dir.join(table)) {
            seen_any = true;
            if has_listener(&text) {
                return Some(true);
            }
        }
    }
    seen_any.then_some(false)
}

/// Does a `/proc/net/tcp` table have a socket in state `0A` (LISTEN) that other
/// containers can reach? Loopback listeners do not count: Docker's embedded DNS listens on
/// 127.0.0.11 in every container, and a server bound to localhost serves nobody else.
pub fn has_listener(table: &str) -> bool {
    table.lines().skip(1).any(|line| {
        let mut fields = line.split_whitespace();
        let local = fields.nth(1).unwrap_or("");
        let state = fields.nth(1);
        state == Some("0A") && !is_loopback(local.split(':').next().unwrap_or(""))
    })
}

/// A `/proc/net/tcp{,6}` address (hex, little-endian per 32-bit word) on loopback.
fn is_loopback(hex: &str) -> bool {
    const V4_MAPPED: &str = "0000000000000000FFFF0000";
    match hex.len() {
        8 => hex.ends_with("7F"),
        32 if hex.starts_with(V4_MAPPED) => hex.ends_with("7F"),
        32 => hex == "00000000000000000000000001000000",
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listen_state_is_found_in_a_recorded_table() {
        // Recorded from a container whose app listens on 8080 and has one connection.
        let listening = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n   0: 00000000:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 31337 1 0000000000000000 100 0 0 10 0\n   1: 0100007F:1F90 0100007F:A1B2 01 00000000:00000000 00:00000000 00000000     0        0 31338 1 0000000000000000 20 4 30 10 -1\n";
        assert!(has_listener(listening));
        let connected_only = "  sl  local_address rem_address   st\n   0: 0100007F:A1B2 0A00000A:1538 02 00000000:00000000\n";
        assert!(!has_listener(connected_only));
        assert!(!has_listener("  sl  local_address rem_address   st\n"));
        // Docker's embedded DNS (127.0.0.11) and a localhost-only server serve no one else.
        let dns_only = "  sl  local_address rem_address   st\n   0: 0B00007F:A1B3 00000000:0000 0A 00000000:00000000\n   1: 0100007F:1538 00000000:0000 0A 00000000:00000000\n";
        assert!(!has_listener(dns_only));
        let v6_any = "  sl  local_address                         remote_address                        st\n   0: 00000000000000000000000000000000:1538 00000000000000000000000000000000:0000 0A 00000000:00000000\n";
        assert!(has_listener(v6_any));
        let v6_loop = "  sl  local_address                         remote_address                        st\n   0: 00000000000000000000000001000000:1538 00000000000000000000000000000000:0000 0A 00000000:00000000\n   1: 0000000000000000FFFF00000B00007F:1538 00000000000000000000000000000000:0000 0A 00000000:00000000\n";
        assert!(!has_listener(v6_loop));
    }

    #[test]
    fn an_unknown_pid_is_unknown() {
        assert_eq!(listening(0, "abc"), None);
        assert_eq!(listening(i64::from(i32::MAX), "abc"), None);
        // Our own process is not a container: its cgroup does not name one.
        assert_eq!(
            listening(i64::from(std::process::id()), "0123456789ab"),
            None
        );
    }
}
