#!/usr/bin/env bash
# Benchmark: a quick run's two ends (docs/behaviour.md §6) — its time to verdict (judged,
# results.json written, the summary printed / the PR reported) and its time to lock release (then
# the canonical has been undeployed, its snapshot restored and its env reset, PASS or FAIL, and
# the next quick run of the recipe may start). Both come from the quick run's own
# `quick_end` record and are shown as ratios against the baseline: the cold run of the same
# head, measured in the same loop. The example RECIPE (fixture-web by default) gets a
# canonical (`ccci warm seed`, untimed); then, interleaved N times, the cold run and
# `--quick` (whose functional test writes into the app's volume). After every quick run the
# canonical's volume must hold exactly the seed's data (sha256 over its files).
#
#   benches/quick-end.sh [N] [RECIPE]      (default 3 fixture-web; needs scripts/prepare-host first)
set -euo pipefail
source "$(dirname "$0")/lib.sh"
n=${1:-3}
recipe=${2:-fixture-web}
work=$(mktemp -d)
state="$work/state"
warm_stack=warm-qend_ci_local
cleanup() {
  remove_stack "$warm_stack"
  rm -rf "$work"
}
trap cleanup EXIT
"$root/scripts/example-repo" "$recipe" "$work/qend"
mkdir -p "$work/suites" && cp -r "$root/suites/$recipe" "$work/suites/qend"
rig=(--suites "$work/suites" --state-dir "$state")
"$ccci" warm seed "$work/qend" "${rig[@]}" --stages install,backup_restore --out "$work/seed" >/dev/null 2>&1 \
  || { echo "the seed was not green" >&2; exit 1; }
# The canonical's data: sha256 over its volume's files.
tree_sum() {
  local mp; mp=$(docker volume inspect -f '{{.Mountpoint}}' "${warm_stack}_data")
  (cd "$mp" && find . -type f -print0 | sort -z | xargs -0 -r sha256sum) | sha256sum | cut -c1-16
}
seeded=$(tree_sum)

cold=(); verdict_s=(); release_s=(); intact=pass
for i in $(seq 1 "$n"); do
  s=$(now)
  "$ccci" run "$work/qend" "${rig[@]}" --out "$work/cold$i" >/dev/null 2>&1 || { echo "cold run $i was not green" >&2; exit 1; }
  cold+=("$(since "$s")")
  "$ccci" run "$work/qend" "${rig[@]}" --quick --out "$work/quick$i" >/dev/null 2>&1 || { echo "quick run $i was not green" >&2; exit 1; }
  r="$work/quick$i/results.json"
  [[ $(json "$r" 'r["mode"]') = quick ]] || { echo "run $i did not take the quick lane" >&2; exit 1; }
  [[ $(json "$r" 'r["quick_end"]["restored"]') = True ]] || { echo "quick run $i did not restore its canonical" >&2; exit 1; }
  verdict_s+=("$(json "$r" 'r["quick_end"]["verdict_ms"] / 1000')")
  release_s+=("$(json "$r" 'r["quick_end"]["lock_released_ms"] / 1000')")
  after=$(tree_sum)
  echo "quick run $i: verdict ${verdict_s[-1]} s, lock released ${release_s[-1]} s; canonical sha256 $after (seed: $seeded)"
  [[ $after = "$seeded" ]] || intact=fail
done
c=$(printf '%s\n' "${cold[@]}" | median)
v=$(printf '%s\n' "${verdict_s[@]}" | median)
l=$(printf '%s\n' "${release_s[@]}" | median)
rv=$(awk -v v="$v" -v c="$c" 'BEGIN{printf "%.2f", v/c}')
rl=$(awk -v l="$l" -v c="$c" 'BEGIN{printf "%.2f", l/c}')
echo "cold run of the head (baseline): median ${c} s over $n  [${cold[*]}]"
echo "--quick, time to verdict       : median ${v} s over $n  [${verdict_s[*]}]"
echo "--quick, time to lock release  : median ${l} s over $n  [${release_s[*]}]"
figure "quick: time to verdict vs cold ($recipe)" "${rv}× (${v} s / ${c} s)" "—" "info" "median of $n; from the run's start to results.json written and the summary printed"
figure "quick: time to lock release vs cold ($recipe)" "${rl}× (${l} s / ${c} s)" "≤ 1×" "$(verdict 'r<=1' r="$rl")" "median of $n; after the verdict: undeploy, snapshot restored, env reset"
figure "quick: canonical data after each quick run" "$([[ $intact = pass ]] && echo "checksums equal" || echo "checksums differ")" "equal" "$intact" "volume sha256 after the seed vs after each green quick run (its functional test writes data)"
