#!/usr/bin/env bash
# Benchmark: the quick lane against the cold run on the same recipe and head. The example
# RECIPE (fixture-web by default: two releases and a newer head, as scripts/demo builds it) gets a
# canonical (`ccci warm seed`, untimed); then, interleaved N times, the cold run of the head
# (the baseline: the whole ladder, the authoritative default) and `--quick` (reattach the
# canonical → upgrade in place → functional). Both must be green; wall-clock medians.
#
#   benches/quick-vs-cold.sh [N] [RECIPE]      (default 3 fixture-web; needs scripts/prepare-host first)
set -euo pipefail
source "$(dirname "$0")/lib.sh"
n=${1:-3}
recipe=${2:-fixture-web}
work=$(mktemp -d)
state="$work/state"
warm_stack=warm-qvcb_ci_local
cleanup() {
  remove_stack "$warm_stack"
  rm -rf "$work"
}
trap cleanup EXIT
"$root/scripts/example-repo" "$recipe" "$work/qvcb"
mkdir -p "$work/suites" && cp -r "$root/suites/$recipe" "$work/suites/qvcb"
uptime=$(sed -n 's/^min_uptime = "\(.*\)"/\1/p' "$work/suites/qvcb/suite.toml")
rig=(--suites "$work/suites" --state-dir "$state")
"$ccci" warm seed "$work/qvcb" "${rig[@]}" --stages install --out "$work/seed" >/dev/null 2>&1 \
  || { echo "the seed was not green" >&2; exit 1; }

cold=(); quick=()
for i in $(seq 1 "$n"); do
  s=$(now)
  "$ccci" run "$work/qvcb" "${rig[@]}" --out "$work/cold$i" >/dev/null 2>&1 || { echo "cold run $i was not green" >&2; exit 1; }
  cold+=("$(since "$s")")
  s=$(now)
  "$ccci" run "$work/qvcb" "${rig[@]}" --quick --out "$work/quick$i" >/dev/null 2>&1 || { echo "quick run $i was not green" >&2; exit 1; }
  quick+=("$(since "$s")")
  [[ $(json "$work/quick$i/results.json" 'r["mode"]') = quick ]] || { echo "run $i did not take the quick lane" >&2; exit 1; }
done
c=$(printf '%s\n' "${cold[@]}" | median)
q=$(printf '%s\n' "${quick[@]}" | median)
ratio=$(awk -v q="$q" -v c="$c" 'BEGIN{printf "%.2f", q/c}')
echo "cold run of the head (baseline): median ${c} s over $n  [${cold[*]}]"
echo "--quick on the canonical       : median ${q} s over $n  [${quick[*]}]"
figure "quick vs cold ($recipe)" "${ratio}× (${q} s / ${c} s)" "≤ 0.3×" "$(verdict 'r<=0.3' r="$ratio")" "median of $n; both wait the suite's min_uptime (${uptime:-30s}) before green"
