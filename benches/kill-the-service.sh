#!/usr/bin/env bash
# Benchmark: kill the service. A `ccci serve` (SQLite store, no forge, lease 5 s) claims a
# queued run of fixture-static (install, min_uptime 5 s) and is SIGKILLed mid-run; a second
# serve on the same store and rig state (another host id, as a restarted or standby host)
# reaps the dead run's stack at start, re-queues the job once its lease has expired and runs
# it to a verdict. Over N trials it counts, per job, the verdicts recorded and the
# results.json written across both hosts' run directories [exactly one each], and the time
# from the kill to the verdict; the baseline is the same job run uninterrupted by one serve
# (queue → verdict), measured in the same script.
#
#   benches/kill-the-service.sh [N]      (default 3; needs scripts/prepare-host first)
set -euo pipefail
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/service.sh"
n=${1:-3}
lease=5
bench_domain=ksvc.ci.invalid
work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do serve_stop "$p"; done; rm -rf "$work"; }
trap cleanup EXIT
recipe_with_suite fixture-static "$work/src/killsvc" <<'TOML'
health_path = "/health"
deploy_timeout = "2m"
min_uptime = 5
TOML
db=$work/ccci.db
state=$work/state

# One uninterrupted run: queue → verdict (the baseline).
config=$(serve_config "$work/base" bench-base "$db" 1 "$lease" "$state")
serve_start "$config" "$work/base.log"; pids+=("$serve_pid")
s=$(now)
id=$(queue_job "$db" "$work/src/killsvc" install)
wait_jobs "$db" "id = $id AND state = 'done'" 300 || { echo "the baseline run did not finish" >&2; exit 1; }
base=$(since "$s")
serve_stop "$serve_pid"; pids=()
echo "baseline: uninterrupted run, queue → $(job_field "$db" "$id" verdict) in $base s"

once=0 times=()
for i in $(seq 1 "$n"); do
  doomed=$(serve_config "$work/doomed-$i" "bench-doomed-$i" "$db" 1 "$lease" "$state")
  serve_start "$doomed" "$work/doomed-$i.log"; dpid=$serve_pid; pids=("$dpid")
  id=$(queue_job "$db" "$work/src/killsvc" install)
  wait_jobs "$db" "id = $id AND state = 'running'" 60 || { echo "trial $i: the job never started" >&2; exit 1; }
  sleep $((2 + RANDOM % 6))   # somewhere in the clone, deploy or ready wait
  kill -KILL "$dpid"; wait "$dpid" 2>/dev/null || true; pids=()
  k=$(now)
  survivor=$(serve_config "$work/survivor-$i" "bench-survivor-$i" "$db" 1 "$lease" "$state")
  serve_start "$survivor" "$work/survivor-$i.log"; pids=("$serve_pid")
  wait_jobs "$db" "id = $id AND state = 'done'" 300 || { echo "trial $i: the job was not run to a verdict" >&2; exit 1; }
  t=$(since "$k")
  serve_stop "$serve_pid"; pids=()
  verdicts=$(jobs_count "$db" "id = $id AND verdict IS NOT NULL")
  results=$(find "$work"/doomed-"$i"/runs/"$id" "$work"/survivor-"$i"/runs/"$id" -name results.json 2>/dev/null | wc -l)
  rows=$(jobs_count "$db" "recipe = 'killsvc'")
  printf 'trial %s: job %s %s after %s attempt(s), kill → verdict %s s; verdicts %s, results.json %s, host %s\n' \
    "$i" "$id" "$(job_field "$db" "$id" verdict)" "$(job_field "$db" "$id" attempts)" "$t" "$verdicts" "$results" "$(job_field "$db" "$id" host)"
  [[ $verdicts = 1 && $results = 1 && $rows = $((i + 1)) ]] && once=$((once + 1))
  times+=("$t")
done
left=$(leftovers)
echo "docker objects of the bench's stacks left after the trials: $left"
med=$(printf '%s\n' "${times[@]}" | median)
figure "kill the service: each job exactly once" "$once/$n (kill → verdict median ${med} s, $(awk -v a="$med" -v b="$base" 'BEGIN{printf "%.2f×", a/b}') an uninterrupted run's $base s)" \
  "$n/$n" "$([[ $once = "$n" && $left = 0 ]] && echo pass || echo fail)" "lease ${lease} s; one verdict and one results.json per job; docker objects left: $left"
