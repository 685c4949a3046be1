//! A service's log as `docker service logs --timestamps` prints it: the output of each of
//! its tasks one after the other (the old version's and the new one's, in no time order),
//! put back in time order so a log tail ends with what happened last.

/// The last `n` lines of `text` in time order. Each line starts with its RFC 3339
/// timestamp; a line without one (a continuation) stays after the line before it. Equal
/// times keep their order.
pub fn tail_in_time_order(text: &str, n: usize) -> Vec<&str> {
    let mut key = String::new();
    let mut lines: Vec<(String, usize, &str)> = text
        .lines()
        .enumerate()
        .map(|(i, line)| {
            if let Some(k) = sort_key(line) {
                key = k;
            }
            (key.clone(), i, line)
        })
        .collect();
    lines.sort();
    let skip = lines.len().saturating_sub(n);
    lines.into_iter().skip(skip).map(|(_, _, l)| l).collect()
}

/// What `docker service logs --timestamps` wrote on stderr, split: the service's own lines
/// (its stderr, each line stamped) and the CLI's own errors (unstamped, such as `error from
/// daemon in stream: Error grabbing logs: … task … not found` when swarm pruned a task of a
/// crash-looping service while its logs were read). The errors are never log lines.
pub fn split_cli_errors(stderr: &str) -> (Vec<&str>, Vec<&str>) {
    stderr
        .lines()
        .filter(|l| !l.trim().is_empty())
        .partition(|l| sort_key(l).is_some())
}

/// `docker logs --timestamps` lines of one container (`<time> <message>`) in the shape of
/// `docker service logs` (`<time> <container> | <message>`), so that a tail reads the same
/// whichever way it was read.
pub fn as_service_lines(container: &str, text: &str) -> String {
    text.lines()
        .map(|l| match l.split_once(' ') {
            Some((stamp, message)) if sort_key(stamp).is_some() => {
                format!("{stamp} {container} | {message}\n")
            }
            _ => format!("{l}\n"),
        })
        .collect()
}

/// The line's timestamp as text that sorts in time order: the fraction of a second padded
/// to nanoseconds (docker trims its trailing zeros, and `.39Z` would sort after `.391Z`).
fn sort_key(line: &str) -> Option<String> {
    let stamp = line.split_whitespace().next()?;
    let body = stamp.strip_suffix('Z')?;
    let (seconds, fraction) = body.split_once('.').unwrap_or((body, ""));
    let well_formed = seconds.len() == 19
        && seconds.as_bytes()[10] == b'T'
        && seconds
            .bytes()
            .enumerate()
            .all(|(i, b)| matches!(i, 4 | 7 | 10 | 13 | 16) || b.is_ascii_digit())
        && fraction.len() <= 9
        && fraction.bytes().all(|b| b.is_ascii_digit());
    well_formed.then(|| format!("{seconds}.{fraction:0<9}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tails_are_in_time_order() {
        let cases: &[(&str, &str, usize, &[&str])] = &[
            (
                "two tasks' output one after the other (the old version's first)",
                "2026-12-02T03:46:00.48Z app.1 | 1.2.0 fatal\n\
                 2026-12-02T03:45:42.2Z app.1 | 1.1.0 cannot reach db\n\
                 2026-12-02T03:45:54.391Z app.1 | 1.1.0 listening\n",
                2,
                &[
                    "2026-12-02T03:45:54.391Z app.1 | 1.1.0 listening",
                    "2026-12-02T03:46:00.48Z app.1 | 1.2.0 fatal",
                ],
            ),
            (
                "trimmed zeros: .39 is before .391",
                "2026-12-02T03:45:54.391Z b\n2026-12-02T03:45:54.39Z a\n",
                5,
                &["2026-12-02T03:45:54.39Z a", "2026-12-02T03:45:54.391Z b"],
            ),
            (
                "a continuation line stays with its line; equal times keep their order",
                "2026-12-02T03:45:59Z late\n2026-12-02T03:45:50Z first\n  at frame 1\n\
                 2026-12-02T03:45:50Z second\n",
                10,
                &[
                    "2026-12-02T03:45:50Z first",
                    "  at frame 1",
                    "2026-12-02T03:45:50Z second",
                    "2026-12-02T03:45:59Z late",
                ],
            ),
            ("nothing", "", 3, &[]),
            (
                "no timestamps at all: as printed",
                "error: no such service\nsecond\n",
                1,
                &["second"],
            ),
        ];
        for (case, text, n, want) in cases {
            assert_eq!(tail_in_time_order(text, *n), *want, "{case}");
        }
    }

    #[test]
    fn the_clis_errors_are_not_the_services_lines() {
        let stderr = "2026-12-07T10:00:01.5Z st_app.1@n1    | cannot reach db:5432\n\
                      error from daemon in stream: Error grabbing logs: rpc error: code = \
                      NotFound desc = task k2v9 not found\n";
        let (lines, errors) = split_cli_errors(stderr);
        assert_eq!(
            lines,
            ["2026-12-07T10:00:01.5Z st_app.1@n1    | cannot reach db:5432"]
        );
        assert_eq!(errors.len(), 1);
        assert!(errors[0].contains("task k2v9 not found"));
    }

    #[test]
    fn container_lines_read_like_service_lines() {
        let text = "2026-12-07T10:00:01.123456789Z fatal: no config\n  at main\n";
        assert_eq!(
            as_service_lines("st_app.1.k2v9", text),
            "2026-12-07T10:00:01.123456789Z st_app.1.k2v9 | fatal: no config\n  at main\n"
        );
    }
}
