#!/usr/bin/env bash
# Benchmark: capacity. The same queue of recipe runs (install only, min_uptime 0), queued at
# once into a fresh SQLite store, drained by one `ccci serve` (no forge) with capacity 1 —
# the baseline: one after another — and then by one with capacity 2, in the same script;
# the figure is the wall time from queueing to the last verdict, capacity 2 / capacity 1
# [≤ 0.6×]. The queue mixes outcomes: fixture-static runs (green), fixture-stack runs whose
# app crashes at start (red, failed fast) and one fixture-stack run wedged on a database
# that never listens (the app waits and exits; its suite asks a 40 s deploy timeout), queued
# first, so the others must flow past it. The
# suites are the CI's (`[rig] suites_dir`): a head's own `.ccci/suite.toml` cannot change its
# checks, so a suite shipped only in the head would be ignored (it was, in the first runs:
# the wedged run then took ~160 s, ended by the crash-loop rule).
#
#   benches/capacity.sh [RUNS]      (default 6: 3 green, 2 red, 1 wedged; RUNS=4: 2, 1, 1)
set -euo pipefail
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/service.sh"
runs=${1:-6}
bench_domain=cap.ci.invalid
work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do serve_stop "$p"; done; rm -rf "$work"; }
trap cleanup EXIT

# suite TIMEOUT NAME: the CI's suite for recipe NAME (also printed, for the repository).
suite() {
  mkdir -p "$work/suites/$2"
  printf 'health_path = "/health"\nmin_uptime = 0\ndeploy_timeout = "%s"\n' "$1" | tee "$work/suites/$2/suite.toml"
}
reds=$(( runs >= 6 ? 2 : 1 )); greens=$(( runs - reds - 1 ))
# The wedged run is queued first: the figure asks whether the rest of the queue flows past a
# run that holds its slot until its deadline (at capacity 1 everything waits behind it).
suite 40s capwedged | recipe_with_suite fixture-stack "$work/src/capwedged" DB_LISTEN_AFTER=100000
repos=("$work/src/capwedged")
for i in $(seq 1 "$greens"); do
  suite 2m "capgreen$i" | recipe_with_suite fixture-static "$work/src/capgreen$i"; repos+=("$work/src/capgreen$i")
done
for i in $(seq 1 "$reds"); do
  suite 2m "capred$i" | recipe_with_suite fixture-stack "$work/src/capred$i" APP_CRASH_AT_START=1; repos+=("$work/src/capred$i")
done

# drain CAPACITY: queue every run, time until the last verdict; prints seconds.
drain() {
  local cap=$1 db=$work/cap$1.db config s
  config=$(serve_config "$work/serve$cap" "bench-cap$cap" "$db" "$cap" 30)
  printf 'suites_dir = "%s"\n' "$work/suites" >>"$config" # [rig] is the config's last table
  serve_start "$config" "$work/serve$cap.log"; pids=("$serve_pid")
  s=$(now)
  for r in "${repos[@]}"; do queue_job "$db" "$r" install >/dev/null; done
  wait_jobs "$db" "state = 'done'" 900 "${#repos[@]}" || { echo "capacity $cap: the queue did not drain in 900 s" >&2; exit 1; }
  since "$s"
  serve_stop "$serve_pid"; pids=()
  sql "$db" "SELECT recipe, verdict, (finished_at - started_at) / 1000.0, note FROM jobs ORDER BY id" | sed "s/^/  capacity $cap: /" >&2
}
one=$(drain 1)
two=$(drain 2)
verdicts() { sql "$work/cap$1.db" "SELECT verdict FROM jobs ORDER BY id" | tr '\n' ' '; }
echo "capacity 1 (baseline): ${one} s   capacity 2: ${two} s   verdicts: $(verdicts 2)"
same=$([[ $(verdicts 1) = "$(verdicts 2)" ]] && echo yes || echo no)
wedged=$(sql "$work/cap2.db" "SELECT (finished_at - started_at) / 1000 FROM jobs WHERE recipe = 'capwedged'")
left=$(leftovers)
ratio=$(awk -v a="$two" -v b="$one" 'BEGIN{printf "%.2f", a/b}')
result=$(verdict 'r<=0.6' r="$ratio")
[[ $same = yes && $left = 0 ]] || result=fail
figure "capacity 2: $runs queued runs vs one after another" "${ratio}× (${two} s / ${one} s)" "≤ 0.6×" "$result" \
  "$greens green, $reds red (crash at start), 1 wedged (database never listens; ended red after ${wedged} s); same verdicts both ways: $same; docker objects left: $left"
