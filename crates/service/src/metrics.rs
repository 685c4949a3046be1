//! This host's Prometheus metrics (`prometheus-client`), served at `/metrics`.
//!
//! Counters and histograms are updated as things happen (a run starts, ends, a job is
//! superseded), so a scrape never reads the history: on start the counters begin from one
//! aggregate query ([`Store::ended_counts`]), and from then on they only grow, however many
//! runs the store holds. Gauges (queue depth, running, capacity, pending alerts) are set from
//! cheap counting queries just before each scrape is encoded.
//!
//! With several hosts sharing one store, `ccci_runs_total` and the histograms count this
//! host's runs (sum them over hosts); the gauges are the shared queue's (the same on every
//! host).

use crate::job::{Job, Millis};
use crate::store::{ActiveCounts, EndedCounts, Store, StoreResult};
use ccci_core::run_end::RunEnd;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

/// The `Content-Type` of a scrape: the Prometheus text format, version 0.0.4.
pub use prometheus_client::encoding::prometheus_text::CONTENT_TYPE;

/// Histogram buckets, seconds: from a quick run to past the 60-minute deadline.
const WAIT_BUCKETS: [f64; 11] = [
    1.0, 5.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0, 3600.0, 7200.0,
];
const RUN_BUCKETS: [f64; 11] = [
    30.0, 60.0, 120.0, 300.0, 600.0, 900.0, 1200.0, 1800.0, 2700.0, 3600.0, 5400.0,
];

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct VerdictLabel {
    verdict: String,
}

/// What a scrape reads from the store and the alerts dir at that moment.
#[derive(Clone, Copy, Debug, Default)]
pub struct Snapshot {
    pub active: ActiveCounts,
    pub capacity: u32,
    pub alerts_pending: usize,
}

/// The registry and a handle on each metric in it (handles share their values with it).
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    runs: Family<VerdictLabel, Counter>,
    superseded: Counter,
    queue_depth: Gauge,
    running: Gauge,
    capacity: Gauge,
    wait_seconds: Histogram,
    run_seconds: Histogram,
    alerts_pending: Gauge,
}

impl Metrics {
    /// The metrics of `host`, the counters starting from what the store already counts.
    pub async fn load(store: &Store, host: &str) -> StoreResult<Metrics> {
        Ok(Metrics::starting_from(store.ended_counts(host).await?))
    }

    /// The metrics, the counters starting from `ended`.
    pub fn starting_from(ended: EndedCounts) -> Metrics {
        let metrics = Metrics::empty();
        for (end, n) in [
            (RunEnd::GREEN, ended.green),
            (RunEnd::RED, ended.red),
            (RunEnd::Cancelled, ended.cancelled),
            (RunEnd::Error, ended.error),
        ] {
            metrics.runs_by(end).inc_by(n);
        }
        metrics.superseded.inc_by(ended.superseded);
        metrics
    }

    fn empty() -> Metrics {
        let metrics = Metrics {
            registry: Registry::default(),
            runs: Family::default(),
            superseded: Counter::default(),
            queue_depth: Gauge::default(),
            running: Gauge::default(),
            capacity: Gauge::default(),
            wait_seconds: Histogram::new(WAIT_BUCKETS),
            run_seconds: Histogram::new(RUN_BUCKETS),
            alerts_pending: Gauge::default(),
        };
        metrics.registered()
    }

    /// Registers every handle, in the order a scrape lists them. (The text encoder adds
    /// `_total` to counter names.)
    fn registered(mut self) -> Metrics {
        let r = &mut self.registry;
        r.register(
            "ccci_runs",
            "Finished runs by outcome (green, red; cancelled and error are not failures of the recipe)",
            self.runs.clone(),
        );
        r.register(
            "ccci_superseded",
            "Queued runs replaced by a newer !testme on the same PR",
            self.superseded.clone(),
        );
        r.register(
            "ccci_queue_depth",
            "Jobs waiting for a slot",
            self.queue_depth.clone(),
        );
        r.register(
            "ccci_running",
            "Runs in progress, over all hosts",
            self.running.clone(),
        );
        r.register(
            "ccci_capacity",
            "Slots offered by the hosts seen recently",
            self.capacity.clone(),
        );
        r.register(
            "ccci_wait_seconds",
            "Time from queued to started",
            self.wait_seconds.clone(),
        );
        r.register(
            "ccci_run_seconds",
            "Time from started to finished",
            self.run_seconds.clone(),
        );
        r.register(
            "ccci_alerts_pending",
            "Alerts not yet relayed",
            self.alerts_pending.clone(),
        );
        self
    }

    fn runs_by(&self, end: RunEnd) -> Counter {
        self.runs
            .get_or_create(&VerdictLabel {
                verdict: end.name().to_string(),
            })
            .clone()
    }

    /// A claimed job started: how long it waited in the queue.
    pub fn run_started(&self, job: &Job) {
        if let Some(started) = job.started_at {
            self.wait_seconds
                .observe(seconds(started - job.enqueued_at));
        }
    }

    /// A run of this host was recorded as finished at `finished_at`.
    pub fn run_finished(&self, job: &Job, end: RunEnd, finished_at: Millis) {
        self.runs_by(end).inc();
        if let Some(started) = job.started_at {
            self.run_seconds.observe(seconds(finished_at - started));
        }
    }

    /// `n` queued jobs were superseded.
    pub fn superseded(&self, n: usize) {
        self.superseded.inc_by(n as u64);
    }

    /// How many runs of this host ended so (since the store began).
    pub fn runs_total(&self, end: RunEnd) -> u64 {
        self.runs_by(end).get()
    }

    /// The exposition text: the gauges set from `now`, then every metric encoded.
    pub fn render(&self, now: &Snapshot) -> String {
        self.queue_depth.set(gauge_value(now.active.queued));
        self.running.set(gauge_value(now.active.running));
        self.capacity.set(i64::from(now.capacity));
        self.alerts_pending
            .set(gauge_value(now.alerts_pending as u64));
        let mut text = String::new();
        // Writing into a String cannot fail; an encoder error would leave a partial text.
        if let Err(e) =
            prometheus_client::encoding::prometheus_text::encode(&mut text, &self.registry)
        {
            tracing::warn!("metrics: encoding failed: {e}");
        }
        text
    }
}

fn seconds(ms: Millis) -> f64 {
    ms.max(0) as f64 / 1000.0
}

fn gauge_value(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::job::JobState;

    fn job(enqueued_at: Millis, started_at: Millis) -> Job {
        Job {
            enqueued_at,
            started_at: Some(started_at),
            ..Job::sample(JobState::Running)
        }
    }

    #[test]
    fn counters_start_from_the_store_and_grow_as_runs_end() {
        let metrics = Metrics::starting_from(EndedCounts {
            green: 12_000,
            red: 3,
            superseded: 7,
            ..EndedCounts::default()
        });
        let run = job(0, 2_000);
        metrics.run_started(&run);
        metrics.run_finished(&run, RunEnd::GREEN, 62_000);
        // Not failures of the recipe: counted apart, red unchanged.
        let cancelled = job(0, 70_000);
        metrics.run_finished(&cancelled, RunEnd::Cancelled, 71_000);
        metrics.run_finished(&cancelled, RunEnd::Error, 71_000);
        metrics.superseded(2);
        let snapshot = Snapshot {
            active: ActiveCounts {
                queued: 4,
                running: 1,
            },
            capacity: 2,
            alerts_pending: 1,
        };
        let text = metrics.render(&snapshot);
        for line in [
            "# TYPE ccci_runs_total counter",
            "ccci_runs_total{verdict=\"green\"} 12001",
            "ccci_runs_total{verdict=\"red\"} 3",
            "ccci_runs_total{verdict=\"cancelled\"} 1",
            "ccci_runs_total{verdict=\"error\"} 1",
            "ccci_superseded_total 9",
            "ccci_queue_depth 4",
            "ccci_running 1",
            "ccci_capacity 2",
            "ccci_alerts_pending 1",
            "ccci_wait_seconds_count 1",
            "ccci_wait_seconds_sum 2.0",
            "ccci_run_seconds_sum 62.0",
            "ccci_run_seconds_bucket{le=\"60\"} 3",
            "ccci_run_seconds_bucket{le=\"30\"} 2",
            "ccci_run_seconds_bucket{le=\"+Inf\"} 3",
        ] {
            assert!(
                text.contains(&format!("{line}\n")),
                "{line} missing:\n{text}"
            );
        }
        assert_eq!(metrics.runs_total(RunEnd::GREEN), 12_001);
    }
}
