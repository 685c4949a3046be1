#!/usr/bin/env bash
# Benchmark: crash loop to RED. On the fixture-stack example (an app that reaches its
# database `db` by service name and exits until it answers), install only, DEPLOY_TIMEOUT
# 5 min (so a red comes from the fail-fast rules, never the time-out):
#   - baseline: the healthy stack, install → ready → GREEN;
#   - a lone crash loop (the app crashes at start, its database is fine) → RED [≤ 30 s];
#   - a visibly broken dependency (the database crashes at start) → RED naming db [≤ 60 s];
#   - the waiting app (the database listens only after 35 s; the app exits until then)
#     → must stay GREEN in the same run of the script.
# Each time is the install rung's duration (deploy → verdict known), the median of N.
#
#   benches/crash-to-red.sh [N]      (default 3; needs scripts/prepare-host first)
set -euo pipefail
source "$(dirname "$0")/lib.sh"
n=${1:-3}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$root/scripts/example-repo" fixture-stack "$work/crsh"

# suite <case> <app env lines…>: a suite dir for the case.
suite() {
  local dir="$work/suites-$1/crsh"; shift
  mkdir -p "$dir"
  { printf 'health_path = "/health"\ndeploy_timeout = "5m"\nmin_uptime = 0\n[app_env]\n'; printf '%s\n' "$@"; } >"$dir/suite.toml"
}
suite healthy
suite lone 'APP_CRASH_AT_START = "1"'
suite dependency 'DB_CRASH_AT_START = "1"'
suite waiting 'DB_LISTEN_AFTER = "35"'

declare -A times=() verdicts=()
for i in $(seq 1 "$n"); do
  for c in healthy lone dependency waiting; do
    out="$work/out-$c-$i"
    "$ccci" run "$work/crsh" --stages install --suites "$work/suites-$c" --state-dir "$work/state" --out "$out" >/dev/null 2>&1 || true
    times[$c]+="$(json "$out/results.json" '[x for x in r["rungs"] if x["name"] == "install"][0]["duration_ms"] / 1000') "
    verdicts[$c]+="$(json "$out/results.json" 'r["verdict"] + ("/" + str((r.get("failure") or {}).get("service")) if r["verdict"] == "red" else "")') "
  done
done
med() { printf '%.1f' "$(tr ' ' '\n' <<<"${times[$1]}" | grep . | median)"; }
g=$(med healthy) l=$(med lone) d=$(med dependency) w=$(med waiting)
for c in healthy lone dependency waiting; do
  printf '%-10s install median %6s s over %s  [%s]  verdicts: %s\n' "$c" "$(med "$c")" "$n" "${times[$c]% }" "${verdicts[$c]% }"
done
all() { [[ $(tr ' ' '\n' <<<"${verdicts[$1]}" | grep . | sort -u) = "$2" ]]; }
x() { awk -v a="$1" -v b="$g" 'BEGIN{printf "%.2f×", a/b}'; }
ok_lone=$(all lone red/app && verdict 'l<=30' l="$l" || echo fail)
ok_dep=$(all dependency red/db && verdict 'd<=60' d="$d" || echo fail)
ok_wait=$(all waiting green && echo pass || echo fail)
figure "crash loop → RED (lone)" "${l} s ($(x "$l") healthy install ${g} s)" "≤ 30 s" "$ok_lone" "median of $n; red naming app every time: $(all lone red/app && echo yes || echo no)"
figure "broken dependency → RED" "${d} s ($(x "$d") healthy install)" "≤ 60 s" "$ok_dep" "median of $n; red naming db every time: $(all dependency red/db && echo yes || echo no)"
figure "waiting app stays GREEN" "${w} s, verdicts: ${verdicts[waiting]% }" "green" "$ok_wait" "the database listens only after 35 s"
