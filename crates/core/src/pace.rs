//! When a readiness wait looks at the stack again. An engine event about the stack wakes the
//! wait at once; the swarm then reports the task's new state a moment after its container's
//! event, so the wait looks again soon (100 ms, doubling) and eases back to the fallback
//! poll, which alone paces a wait that sees no events (a lost event stream costs only that).

/// The fallback poll: the longest a wait sleeps between two looks.
pub const FALLBACK_POLL_MS: u64 = 1000;
/// The first look after the one an event triggered.
const FIRST_FOLLOW_UP_MS: u64 = 100;

/// Where a wait is in its pace: how many looks it made since the last event woke it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Pace {
    looks_since_event: Option<u32>,
}

impl Pace {
    /// The longest to sleep before the next look (an event may end the sleep sooner).
    pub fn next_delay_ms(&self) -> u64 {
        match self.looks_since_event {
            None => FALLBACK_POLL_MS,
            Some(n) => FIRST_FOLLOW_UP_MS
                .saturating_mul(1u64 << n.min(16))
                .min(FALLBACK_POLL_MS),
        }
    }

    /// After a sleep: `woke_on_event` when an event ended it.
    pub fn slept(self, woke_on_event: bool) -> Pace {
        let looks_since_event = match (woke_on_event, self.looks_since_event) {
            (true, _) => Some(0),
            (false, None) => None,
            (false, Some(n)) => Some(n.saturating_add(1)),
        };
        Pace { looks_since_event }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Delays after a sequence of sleeps (true = an event woke it).
    fn delays(wakes: &[bool]) -> Vec<u64> {
        let mut pace = Pace::default();
        let mut out = vec![pace.next_delay_ms()];
        for &woke in wakes {
            pace = pace.slept(woke);
            out.push(pace.next_delay_ms());
        }
        out
    }

    #[test]
    fn pace_table() {
        let table: &[(&str, &[bool], &[u64])] = &[
            (
                "no events: the fallback poll",
                &[false, false],
                &[1000, 1000, 1000],
            ),
            (
                "an event: soon again, doubling, back to the poll",
                &[true, false, false, false, false, false],
                &[1000, 100, 200, 400, 800, 1000, 1000],
            ),
            (
                "a second event restarts the follow-ups",
                &[true, false, true, false],
                &[1000, 100, 200, 100, 200],
            ),
        ];
        for (case, wakes, expected) in table {
            assert_eq!(delays(wakes), *expected, "{case}");
        }
    }

    #[test]
    fn many_quiet_looks_stay_at_the_poll() {
        let mut pace = Pace::default().slept(true);
        for _ in 0..100 {
            pace = pace.slept(false);
        }
        assert_eq!(pace.next_delay_ms(), FALLBACK_POLL_MS);
    }
}
