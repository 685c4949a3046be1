//! `/metrics` in the Prometheus text exposition format, computed from the store on each
//! scrape (so it is right across restarts and over all hosts sharing the store).

use crate::job::{Job, JobState};
use crate::store::QueueView;
use std::fmt::Write as _;

/// Histogram buckets, seconds: from a quick run to past the 60-minute deadline.
const WAIT_BUCKETS: &[f64] = &[
    1.0, 5.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0, 3600.0, 7200.0,
];
const RUN_BUCKETS: &[f64] = &[
    30.0, 60.0, 120.0, 300.0, 600.0, 900.0, 1200.0, 1800.0, 2700.0, 3600.0, 5400.0,
];

fn histogram(out: &mut String, name: &str, help: &str, buckets: &[f64], values: &[f64]) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} histogram");
    for bound in buckets {
        let n = values.iter().filter(|v| **v <= *bound).count();
        let _ = writeln!(out, "{name}_bucket{{le=\"{bound}\"}} {n}");
    }
    let _ = writeln!(out, "{name}_bucket{{le=\"+Inf\"}} {}", values.len());
    let _ = writeln!(out, "{name}_sum {}", values.iter().sum::<f64>());
    let _ = writeln!(out, "{name}_count {}", values.len());
}

pub fn render(jobs: &[Job], queue: &QueueView) -> String {
    let mut out = String::new();
    let done: Vec<&Job> = jobs.iter().filter(|j| j.state == JobState::Done).collect();
    let _ = writeln!(out, "# HELP ccci_runs_total Finished runs by verdict.");
    let _ = writeln!(out, "# TYPE ccci_runs_total counter");
    for verdict in ["green", "red"] {
        let n = done
            .iter()
            .filter(|j| j.verdict.map(crate::job::verdict_str) == Some(verdict))
            .count();
        let _ = writeln!(out, "ccci_runs_total{{verdict=\"{verdict}\"}} {n}");
    }
    let superseded = jobs
        .iter()
        .filter(|j| j.state == JobState::Superseded)
        .count();
    let _ = writeln!(
        out,
        "# HELP ccci_superseded_total Queued runs replaced by a newer !testme on the same PR."
    );
    let _ = writeln!(out, "# TYPE ccci_superseded_total counter");
    let _ = writeln!(out, "ccci_superseded_total {superseded}");
    let _ = writeln!(out, "# HELP ccci_queue_depth Jobs waiting for a slot.");
    let _ = writeln!(out, "# TYPE ccci_queue_depth gauge");
    let _ = writeln!(out, "ccci_queue_depth {}", queue.queued.len());
    let _ = writeln!(out, "# HELP ccci_running Runs in progress, over all hosts.");
    let _ = writeln!(out, "# TYPE ccci_running gauge");
    let _ = writeln!(out, "ccci_running {}", queue.running.len());
    let _ = writeln!(
        out,
        "# HELP ccci_capacity Slots offered by the hosts seen recently."
    );
    let _ = writeln!(out, "# TYPE ccci_capacity gauge");
    let _ = writeln!(out, "ccci_capacity {}", queue.capacity);
    let waits: Vec<f64> = jobs
        .iter()
        .filter_map(|j| Some((j.started_at? - j.enqueued_at) as f64 / 1000.0))
        .collect();
    histogram(
        &mut out,
        "ccci_wait_seconds",
        "Time from queued to started.",
        WAIT_BUCKETS,
        &waits,
    );
    let runs: Vec<f64> = done
        .iter()
        .filter_map(|j| Some((j.finished_at? - j.started_at?) as f64 / 1000.0))
        .collect();
    histogram(
        &mut out,
        "ccci_run_seconds",
        "Time from started to finished.",
        RUN_BUCKETS,
        &runs,
    );
    out
}
