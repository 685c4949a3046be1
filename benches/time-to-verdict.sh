#!/usr/bin/env bash
# Benchmark: how fast does cc-ci reach a verdict on the real swarm?
#
# Runs the example recipe N times healthy (the baseline: install → ready → teardown) and N
# times crash-looping (CRASH_AT_START=1, DEPLOY_TIMEOUT 10 min), interleaved so both see the
# same machine, and reports medians and the ratio crash-loop-red / healthy-green. A ratio
# near 1 means a broken recipe frees its slot about as fast as a good one installs; the
# DEPLOY_TIMEOUT (600 s) is what a runner without fail-fast would hold the slot for. It also
# reports teardown's share of a healthy run.
#
#   benches/time-to-verdict.sh [N]      (default 5; needs scripts/prepare-host first)
set -euo pipefail
source "$(dirname "$0")/lib.sh"
n=${1:-5}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/suites/benchred"
printf 'health_path = "/health"\ndeploy_timeout = "10m"\n' > "$work/suites/benchred/suite.toml"
cp -r "$root/recipes/fixture-web" "$work/benchgreen"
cp -r "$root/recipes/fixture-web" "$work/benchred"
echo "CRASH_AT_START=1" >> "$work/benchred/.env.sample"

green=(); red=()
for i in $(seq 1 "$n"); do
  s=$(date +%s.%N)
  "$ccci" run "$work/benchgreen" --stages install --state-dir "$work/state" --out "$work/g$i" >/dev/null 2>&1 \
    || { echo "healthy run $i was not green" >&2; exit 1; }
  green+=("$(awk -v a="$(date +%s.%N)" -v b="$s" 'BEGIN{printf "%.1f", a-b}')")
  s=$(date +%s.%N)
  if "$ccci" run "$work/benchred" --suites "$work/suites" --stages install --state-dir "$work/state" --out "$work/r$i" >/dev/null 2>&1; then
    echo "crash-looping run $i was not red" >&2; exit 1
  fi
  red+=("$(awk -v a="$(date +%s.%N)" -v b="$s" 'BEGIN{printf "%.1f", a-b}')")
done
g=$(printf '%s\n' "${green[@]}" | median)
r=$(printf '%s\n' "${red[@]}" | median)
echo "healthy install → green   (baseline): median ${g} s over $n  [${green[*]}]"
echo "crash loop → red                    : median ${r} s over $n  [${red[*]}]"
awk -v r="$r" -v g="$g" 'BEGIN{printf "ratio red/green: %.2f   ratio red/DEPLOY_TIMEOUT(600 s): %.3f\n", r/g, r/600}'
# Teardown's share of a healthy run (services first, then the rest once every task is gone):
# from each green run's results.json, against that run's own wall time.
td=$(for i in $(seq 1 "$n"); do
  python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); print(r["timings_ms"]["teardown"]/1000)' "$work/g$i/results.json"
done | median)
awk -v t="$td" -v g="$g" 'BEGIN{printf "teardown of a healthy run: median %.1f s   share of the green run: %.2f\n", t, t/g}'
figure "time to verdict: crash loop red / healthy green" "$(awk -v r="$r" -v g="$g" 'BEGIN{printf "%.2f×", r/g}') (${r} s / ${g} s)" "—" info "median of $n; vs the 600 s DEPLOY_TIMEOUT: $(awk -v r="$r" 'BEGIN{printf "%.3f×", r/600}')"
