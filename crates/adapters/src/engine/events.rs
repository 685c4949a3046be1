//! The engine's event stream for one stack, as a wake-up signal: a readiness wait sleeps
//! until something of the stack changes (a container starts, dies or turns healthy; a service
//! is updated) instead of a whole poll interval. The events carry no state the caller
//! reads — the caller observes the stack again — so a missed or dropped event costs at most
//! the caller's fallback poll.

use super::Engine;
use bollard::query_parameters::EventsOptions;
use futures_util::StreamExt;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;
use tokio::task::JoinHandle;

/// A subscription to the engine's events about one stack. Dropping it ends the subscription.
pub struct StackEvents {
    /// Set by the reader task on each event of the stack and taken by [`StackEvents::wait`].
    /// `Notify` keeps at most one permit, so a burst of events between two waits wakes the
    /// waiter once: it observes the stack once, not once per event.
    changed: Arc<Notify>,
    /// The reader of the event stream; aborted on drop. If the stream ends or fails (the
    /// engine restarted), the task ends and waits fall back to their bound.
    reader: JoinHandle<()>,
}

impl Engine {
    /// Subscribes to the events of stack `stack`'s containers and services (those named
    /// `<stack>_…`). The subscription starts at once; events from before it are not seen.
    pub fn stack_events(&self, stack: &str) -> StackEvents {
        let options = EventsOptions {
            filters: Some(HashMap::from([(
                "type".to_string(),
                vec!["container".to_string(), "service".to_string()],
            )])),
            ..Default::default()
        };
        let mut stream = self.docker.events(Some(options));
        let prefix = format!("{stack}_");
        let changed = Arc::new(Notify::new());
        let notify = changed.clone();
        let reader = tokio::spawn(async move {
            while let Some(Ok(event)) = stream.next().await {
                let name = event
                    .actor
                    .as_ref()
                    .and_then(|a| a.attributes.as_ref())
                    .and_then(|a| a.get("name"));
                if name.is_some_and(|n| n.starts_with(&prefix)) {
                    notify.notify_one();
                }
            }
        });
        StackEvents { changed, reader }
    }
}

impl StackEvents {
    /// Waits until the stack's next event, or `at_most`. Returns whether an event woke it
    /// (including one that came since the last wait).
    pub async fn wait(&self, at_most: Duration) -> bool {
        tokio::time::timeout(at_most, self.changed.notified())
            .await
            .is_ok()
    }
}

impl Drop for StackEvents {
    fn drop(&mut self) {
        self.reader.abort();
    }
}
