#!/usr/bin/env bash
# Benchmark: what does a `/metrics` scrape cost with a long history?
#
# Seeds 10,000 finished runs into a real SQLite store (through the store's own API), starts
# `ccci serve` on it, and requests `/healthz` (the baseline: one small store read, no
# rendering) and `/metrics` ROUNDS times each, interleaved so both see the same machine. It
# reports p50 and p99 of each and their ratio. A scrape reads two counting queries and the
# alerts dir and encodes counters kept in memory: no job is loaded, so the ratio stays near
# 1 however long the history grows.
#
#   benches/metrics-scrape.sh [ROUNDS]      (default 500; no swarm needed; the test profile:
#   the figures are ratios, both sides built alike)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
export CCCI_BENCH_ROUNDS=${1:-500}
cd "$root"
cargo nextest run -p ccci-service --test it --run-ignored only --no-capture \
  -E 'test(=dashboard::bench_metrics_scrape_against_healthz)' 2>&1 | grep -E '^p(50|99):'
