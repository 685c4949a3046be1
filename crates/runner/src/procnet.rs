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

/// Does a `/proc/net/tcp` table have a socket in state `0A` (LISTEN)?
pub fn has_listener(table: &str) -> bool {
    table
        .lines()
        .skip(1)
        .any(|line| line.split_whitespace().nth(3) == Some("0A"))
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
