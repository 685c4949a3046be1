#!/usr/bin/env bash
# Benchmark: what the minimum uptime before GREEN costs a healthy run.
#
# Runs the fixture-web example through the whole cold ladder (a git repository with two
# releases and a head) N times with `min_uptime = 0` (the baseline: no uptime gate) and N
# times with the default (30 s), interleaved so both see the same machine, and reports the
# medians, their ratio, and the wait the gate itself recorded (`timings_ms.min_uptime`): the
# gate overlaps the functional rung, so it costs only what is left of 30 s after the last
# restart (backup/restore restarts the app).
#
#   benches/min-uptime-cost.sh [N]      (default 3; needs scripts/prepare-host first)
set -euo pipefail
source "$(dirname "$0")/lib.sh"
n=${1:-3}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
repo="$work/fixture-web"
"$root/scripts/example-repo" fixture-web "$repo"
for mode in off default; do
  mkdir -p "$work/suites-$mode/fixture-web"
  grep -v '^min_uptime' "$root/suites/fixture-web/suite.toml" > "$work/suites-$mode/fixture-web/suite.toml"
  cp -r "$root/suites/fixture-web/tests" "$work/suites-$mode/fixture-web/"
done
sed -i '1i min_uptime = 0' "$work/suites-off/fixture-web/suite.toml"

off=(); on=(); waits=()
for i in $(seq 1 "$n"); do
  for mode in off default; do
    s=$(date +%s.%N)
    "$ccci" run "$repo" --suites "$work/suites-$mode" --state-dir "$work/state" --out "$work/$mode$i" >/dev/null 2>&1 \
      || { echo "run $mode $i was not green" >&2; exit 1; }
    t=$(awk -v a="$(date +%s.%N)" -v b="$s" 'BEGIN{printf "%.1f", a-b}')
    if [ "$mode" = off ]; then off+=("$t"); else on+=("$t"); fi
  done
  waits+=("$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["timings_ms"].get("min_uptime",0)/1000)' "$work/default$i/results.json")")
done
o=$(printf '%s\n' "${off[@]}" | median)
d=$(printf '%s\n' "${on[@]}" | median)
w=$(printf '%s\n' "${waits[@]}" | median)
echo "full ladder, min_uptime = 0 (baseline): median ${o} s over $n  [${off[*]}]"
echo "full ladder, min_uptime = 30 s        : median ${d} s over $n  [${on[*]}]"
awk -v d="$d" -v o="$o" -v w="$w" 'BEGIN{printf "ratio default/baseline: %.2f   the gate waited (median): %.1f s\n", d/o, w}'
figure "min_uptime gate: full ladder 30 s gate / no gate" "$(awk -v d="$d" -v o="$o" 'BEGIN{printf "%.2f×", d/o}') (${d} s / ${o} s)" "—" info "median of $n; the gate itself waited ${w} s"
