//! How each watched repository's `!testme`s reach cc-ci: through its registered webhook,
//! or by polling, and why (shown on the queue page and at `/api/triggers`).
//!
//! A webhook that stops delivering is noticed here: the webhook handler reports each
//! delivery ([`Triggers::delivered`]), the poller each `!testme` it found on a repository
//! that is on webhook ([`Triggers::polled`]); a `!testme` still undelivered
//! `delivery_grace` after it was made marks the hook broken ([`Triggers::overdue`]), and
//! polling carries on. Only comments made after this process started are judged (one
//! made before may have been delivered to the process before it).
//!
//! Every mode change is logged once, when it happens. The state is in memory: one plain
//! mutex, held for short sections and never across an `.await`.

use crate::job::Millis;
use serde::Serialize;
use std::collections::{BTreeMap, HashSet};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

/// How a repository's triggers arrive.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "mode", rename_all = "snake_case")]
pub enum Mode {
    /// cc-ci's registered hook delivers; polled only every `webhook_poll_interval`.
    Webhook { hook_id: u64 },
    /// Polled every `poll_interval`; `reason` says why not on webhook.
    Polling { reason: String },
    /// The hook is registered but did not deliver a `!testme` polling found; polled every
    /// `poll_interval` until a delivery arrives again.
    Broken { hook_id: u64, evidence: String },
}

impl Mode {
    /// `webhook`, `polling` or `broken webhook`.
    pub fn word(&self) -> &'static str {
        match self {
            Mode::Webhook { .. } => "webhook",
            Mode::Polling { .. } => "polling",
            Mode::Broken { .. } => "broken webhook",
        }
    }

    /// What the dashboard says beside the word.
    pub fn detail(&self) -> String {
        match self {
            Mode::Webhook { hook_id } => format!("hook {hook_id} registered by cc-ci"),
            Mode::Polling { reason } => reason.clone(),
            Mode::Broken { hook_id, evidence } => {
                format!("hook {hook_id} did not deliver {evidence}; polling meanwhile")
            }
        }
    }
}

/// One repository's row.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RepoTrigger {
    pub repo: String,
    #[serde(flatten)]
    pub mode: Mode,
}

/// The shared state (see the module docs).
pub struct Triggers {
    started: Millis,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    modes: BTreeMap<String, Mode>,
    watch: DeliveryWatch,
    /// Repositories whose hook has delivered since this process started: only those are
    /// polled at the slower webhook pace (a hook just registered has proven nothing yet).
    proven: std::collections::HashSet<String>,
}

impl Triggers {
    /// `started`: when this process started (comments before it are not judged). Rounded
    /// down to the second, as the forge keeps comment times.
    pub fn new(started: Millis) -> Triggers {
        Triggers {
            started: started - started.rem_euclid(1000),
            state: Mutex::new(State::default()),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Sets `repo`'s mode; logs the change (nothing when unchanged).
    pub fn set(&self, repo: &str, mode: Mode) {
        let previous = self.lock().modes.insert(repo.to_string(), mode.clone());
        if previous.as_ref() == Some(&mode) {
            return;
        }
        match &mode {
            Mode::Webhook { .. } => tracing::info!(repo, "triggers by webhook: {}", mode.detail()),
            Mode::Polling { .. } => tracing::info!(repo, "triggers by polling: {}", mode.detail()),
            Mode::Broken { .. } => tracing::warn!(repo, "webhook broken: {}", mode.detail()),
        }
    }

    pub fn mode(&self, repo: &str) -> Option<Mode> {
        self.lock().modes.get(repo).cloned()
    }

    /// The mode that sets `repo`'s poll pace: its mode once its hook has delivered, `None`
    /// (the normal pace) before — a hook registered but never seen delivering (an address the
    /// forge cannot reach, a proxy in between) must not slow the first `!testme` down.
    pub fn pacing_mode(&self, repo: &str) -> Option<Mode> {
        let state = self.lock();
        let mode = state.modes.get(repo)?;
        match mode {
            Mode::Webhook { .. } if !state.proven.contains(repo) => None,
            _ => Some(mode.clone()),
        }
    }

    /// Every repository's mode, by name.
    pub fn snapshot(&self) -> Vec<RepoTrigger> {
        let state = self.lock();
        let rows = state.modes.iter().map(|(repo, mode)| RepoTrigger {
            repo: repo.clone(),
            mode: mode.clone(),
        });
        rows.collect()
    }

    /// A signed delivery of comment `comment_id` on `repo` arrived. A broken hook that
    /// delivers again is back on webhook.
    pub fn delivered(&self, repo: &str, comment_id: u64) {
        let back = {
            let mut state = self.lock();
            state.watch.delivered(repo, comment_id);
            state.proven.insert(repo.to_string());
            match state.modes.get(repo) {
                Some(Mode::Broken { hook_id, .. }) => Some(*hook_id),
                _ => None,
            }
        };
        if let Some(hook_id) = back {
            self.set(repo, Mode::Webhook { hook_id });
        }
    }

    /// The poller found `!testme` comment `comment_id`, made at `created`, on `repo`. Only
    /// a repository on webhook, and a comment made since this process started, is watched.
    pub fn polled(&self, repo: &str, comment_id: u64, created: Millis) {
        let mut state = self.lock();
        let on_webhook = matches!(state.modes.get(repo), Some(Mode::Webhook { .. }));
        if on_webhook && created >= self.started {
            state.watch.polled(repo, comment_id, created);
        }
    }

    /// Marks broken each repository on webhook with a `!testme` undelivered `grace` after
    /// it was made; returns those repositories.
    pub fn overdue(&self, now: Millis, grace: Duration) -> Vec<String> {
        let late = self.lock().watch.overdue(now, grace);
        let mut broken = Vec::new();
        for (repo, comment_id) in late {
            if let Some(Mode::Webhook { hook_id }) = self.mode(&repo) {
                let evidence = format!("!testme comment {comment_id} (found by polling)");
                self.lock().proven.remove(&repo);
                self.set(&repo, Mode::Broken { hook_id, evidence });
                broken.push(repo);
            }
        }
        broken
    }
}

/// Which `!testme`s were delivered, and which the poller found that are not yet. Pure.
#[derive(Default)]
struct DeliveryWatch {
    delivered: HashSet<(String, u64)>,
    /// `(repo, comment id)` → when the comment was made.
    pending: BTreeMap<(String, u64), Millis>,
}

impl DeliveryWatch {
    /// Delivered ids are kept this long, then forgotten (the poller meets a comment once).
    const KEEP: usize = 10_000;

    fn delivered(&mut self, repo: &str, comment_id: u64) {
        let key = (repo.to_string(), comment_id);
        self.pending.remove(&key);
        if self.delivered.len() >= Self::KEEP {
            self.delivered.clear();
        }
        self.delivered.insert(key);
    }

    fn polled(&mut self, repo: &str, comment_id: u64, created: Millis) {
        let key = (repo.to_string(), comment_id);
        if !self.delivered.contains(&key) {
            self.pending.insert(key, created);
        }
    }

    /// The pending comments made more than `grace` before `now`, removed.
    fn overdue(&mut self, now: Millis, grace: Duration) -> Vec<(String, u64)> {
        let grace = grace.as_millis() as Millis;
        let late: Vec<(String, u64)> = self
            .pending
            .iter()
            .filter(|(_, created)| now - **created > grace)
            .map(|(key, _)| key.clone())
            .collect();
        for key in &late {
            self.pending.remove(key);
        }
        late
    }
}

/// Which of `repos` a poll tick at `now` polls: those on webhook once
/// `webhook_interval` has passed since they were last polled, the others every tick.
pub fn due_repos<'a>(
    repos: impl IntoIterator<Item = (&'a str, Option<&'a Mode>)>,
    last_polled: &BTreeMap<String, Millis>,
    now: Millis,
    webhook_interval: Duration,
) -> Vec<String> {
    let interval = webhook_interval.as_millis() as Millis;
    repos
        .into_iter()
        .filter(|(repo, mode)| match mode {
            Some(Mode::Webhook { .. }) => last_polled
                .get(*repo)
                .is_none_or(|last| now - last >= interval),
            _ => true,
        })
        .map(|(repo, _)| repo.to_string())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const GRACE: Duration = Duration::from_secs(120);

    #[test]
    fn a_testme_the_hook_never_delivered_marks_it_broken_and_a_delivery_mends_it() {
        let t = Triggers::new(1_000);
        t.set("o/hooked", Mode::Webhook { hook_id: 7 });
        t.set(
            "o/polled",
            Mode::Polling {
                reason: "403".into(),
            },
        );
        t.polled("o/hooked", 1, 2_000); // delivered after polling found it
        t.delivered("o/hooked", 1);
        t.delivered("o/hooked", 2); // delivered before polling found it
        t.polled("o/hooked", 2, 2_000);
        t.polled("o/hooked", 3, 500); // made before the process started
        t.polled("o/polled", 4, 2_000); // not on webhook
        t.polled("o/hooked", 5, 2_000); // never delivered
        assert_eq!(
            t.overdue(2_000 + 119_000, GRACE),
            Vec::<String>::new(),
            "within grace"
        );
        assert_eq!(
            t.overdue(2_000 + 121_000, GRACE),
            vec!["o/hooked".to_string()]
        );
        assert_eq!(
            t.mode("o/hooked"),
            Some(Mode::Broken {
                hook_id: 7,
                evidence: "!testme comment 5 (found by polling)".into()
            })
        );
        assert!(t.overdue(10_000_000, GRACE).is_empty(), "reported once");
        t.delivered("o/hooked", 6);
        assert_eq!(t.mode("o/hooked"), Some(Mode::Webhook { hook_id: 7 }));
    }

    #[test]
    fn a_hook_is_polled_at_the_webhook_pace_only_once_it_has_delivered() {
        let t = Triggers::new(1_000);
        let hooked = Mode::Webhook { hook_id: 7 };
        t.set("o/hooked", hooked.clone());
        assert_eq!(
            t.pacing_mode("o/hooked"),
            None,
            "registered, nothing delivered yet"
        );
        t.delivered("o/hooked", 1);
        assert_eq!(t.pacing_mode("o/hooked"), Some(hooked));
        t.polled("o/hooked", 2, 2_000);
        assert_eq!(
            t.overdue(2_000 + 121_000, GRACE),
            vec!["o/hooked".to_string()]
        );
        t.set("o/hooked", Mode::Webhook { hook_id: 8 }); // re-registered after breaking
        assert_eq!(
            t.pacing_mode("o/hooked"),
            None,
            "the new hook has proven nothing"
        );
        assert_eq!(t.pacing_mode("o/none"), None);
    }

    #[test]
    fn webhook_repositories_are_polled_at_their_own_slower_pace() {
        let hooked = Mode::Webhook { hook_id: 1 };
        let broken = Mode::Broken {
            hook_id: 1,
            evidence: String::new(),
        };
        let last: BTreeMap<String, Millis> = [("a", 1_000), ("b", 1_000), ("c", 1_000)]
            .into_iter()
            .map(|(r, t)| (r.to_string(), t))
            .collect();
        let repos = || {
            [
                ("a", Some(&hooked)),
                ("b", Some(&broken)),
                ("c", None),
                ("d", Some(&hooked)),
            ]
        };
        let five_minutes = Duration::from_secs(300);
        assert_eq!(
            due_repos(repos(), &last, 31_000, five_minutes),
            ["b", "c", "d"]
        );
        assert_eq!(
            due_repos(repos(), &last, 301_000, five_minutes),
            ["a", "b", "c", "d"]
        );
    }
}
