#!/usr/bin/env bash
# Benchmark: ready detection. How long after the engine reports the app's last task healthy
# (its `health_status: healthy` event; a swarm task with a healthcheck turns running only
# once healthy) does cc-ci declare the app ready (its "ready after" progress line)? The
# baseline is the docker CLI's own converge on the same image and healthcheck: the time from
# the same event to `docker service create --detach=false` returning. Runs are interleaved.
#
#   benches/ready-detection.sh [N]      (default 5; needs scripts/prepare-host first)
set -euo pipefail
source "$(dirname "$0")/lib.sh"
n=${1:-5}
work=$(mktemp -d)
events_pid=
cleanup() {
  [[ -n $events_pid ]] && kill "$events_pid" 2>/dev/null
  docker service ls -q --filter label=ccci.bench=ready-detection | xargs -r docker service rm >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
cp -r "$root/recipes/fixture-web" "$work/readyb"

# Every health event from now on: "<unix ns> <container name> <status>".
docker events --filter type=container --filter event=health_status \
  --format '{{.TimeNano}} {{.Actor.Attributes.name}} {{.Status}}' >"$work/events" &
events_pid=$!
sleep 1

# The time (s) of the last `healthy` event of a container whose name starts with $1.
healthy_at() {
  awk -v p="$1" 'index($2, p) == 1 && $NF == "healthy" {t = $1} END {if (t) printf "%.3f", t / 1e9}' "$work/events"
}

ccci_lag=(); cli_lag=()
for i in $(seq 1 "$n"); do
  # cc-ci: the progress line is stamped as it arrives.
  "$ccci" run "$work/readyb" --stages install --state-dir "$work/state" --out "$work/out$i" 2>&1 >/dev/null \
    | while IFS= read -r line; do printf '%s %s\n' "$(now)" "$line"; done >"$work/ccci$i.log"
  ready=$(awk '$2 == "ready" && $3 == "after" {print $1; exit}' "$work/ccci$i.log")
  stack=$(json "$work/out$i/results.json" 'r["stack"]')
  sleep 1
  healthy=$(healthy_at "${stack}_app.")
  [[ -n $ready && -n $healthy ]] || { echo "run $i: no ready line or no healthy event" >&2; exit 1; }
  ccci_lag+=("$(awk -v a="$ready" -v b="$healthy" 'BEGIN{printf "%.2f", a-b}')")

  # The docker CLI: same image, same healthcheck, waiting for its own converge.
  name="ready-bench-$$-$i"
  docker service create --detach=false --quiet --name "$name" --label ccci.bench=ready-detection \
    --health-cmd "/usr/local/bin/fixture-app healthcheck" --health-interval 2s --health-timeout 3s \
    --health-retries 3 --health-start-period 30s ccci-fixture:1.2.0 >/dev/null 2>"$work/cli$i.err" \
    || { cat "$work/cli$i.err" >&2; exit 1; }
  returned=$(now)
  sleep 1
  healthy=$(healthy_at "$name.")
  docker service rm "$name" >/dev/null
  [[ -n $healthy ]] || { echo "service $name: no healthy event" >&2; exit 1; }
  cli_lag+=("$(awk -v a="$returned" -v b="$healthy" 'BEGIN{printf "%.2f", a-b}')")
done
c=$(printf '%s\n' "${ccci_lag[@]}" | median)
d=$(printf '%s\n' "${cli_lag[@]}" | median)
echo "healthy → cc-ci ready        : median ${c} s over $n  [${ccci_lag[*]}]"
echo "healthy → docker CLI converge: median ${d} s over $n  [${cli_lag[*]}]  (baseline)"
figure "ready detection: healthy → ready" "${c} s ($(awk -v c="$c" -v d="$d" 'BEGIN{printf "%.2f×", c/d}') the CLI's ${d} s)" "≤ 1 s median" "$(verdict 'c<=1' c="$c")" "median of $n; an engine event (health_status, start, die) wakes the check at once, 1 s poll as fallback; then a GET of the health path through the forwarder"
