#!/usr/bin/env bash
# Benchmark: the long form of the parser fuzzing (issue 10). Runs every property test of
# crates/core/tests/fuzz/ and crates/forge/tests/fuzz.rs with PROPTEST_CASES cases each
# (default 100,000; CI runs the short form, 2,000) in a release build, and prints one line
# per parser: cases run, tests that found a panic or a failing property (0), wall time.
#
#   benches/fuzz.sh [CASES]      (no swarm needed; exits 1 when any parser failed)
#
# A failing test's log (with proptest's minimal failing input) is kept in the printed path.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cases=${1:-100000}
logs=$(mktemp -d)
cd "$root"
cargo nextest run --release --no-run -p ccci-core -p ccci-forge --test fuzz >/dev/null 2>&1

failed=0
total_cases=0 total_found=0 t_all=$(date +%s)
for spec in ccci-core:compose ccci-core:envfile ccci-core:suite ccci-core:version \
            ccci-core:secrets ccci-core:lint ccci-core:deploy_error ccci-core:junit \
            ccci-forge:trigger ccci-forge:webhook; do
  crate=${spec%%:*}; parser=${spec#*:}
  log="$logs/$parser.log"
  start=$(date +%s.%N)
  PROPTEST_CASES=$cases RUST_BACKTRACE=0 cargo nextest run --release -p "$crate" --test fuzz \
    --no-fail-fast --failure-output final -E "test(/fuzz_${parser}_/)" >"$log" 2>&1 || true
  secs=$(awk -v a="$(date +%s.%N)" -v b="$start" 'BEGIN{printf "%.1f", a-b}')
  # nextest's summary: "N tests run: P passed[, F failed]".
  tests=$(grep -oE '[0-9]+ tests? run' "$log" | grep -oE '^[0-9]+' || echo 0)
  passed=$(grep -oE '[0-9]+ passed' "$log" | grep -oE '^[0-9]+' || echo 0)
  found=$((tests - passed))
  total_cases=$((total_cases + tests * cases)) total_found=$((total_found + found))
  [ "$tests" -gt 0 ] && [ "$found" -eq 0 ] || failed=1
  printf '%-12s %2d tests  cases %10d  panics/failures %d  time %7s s%s\n' \
    "$parser" "$tests" "$((tests * cases))" "$found" "$secs" \
    "$([ "$found" -eq 0 ] && [ "$tests" -gt 0 ] || echo "  (log: $log)")"
done
[ "$failed" -eq 0 ] && rm -rf "$logs"
# The summary line benches/run-all reads (see benches/lib.sh: FIGURE name measured goal result note).
printf 'FIGURE\t%s\t%s\t%s\t%s\t%s\n' "parser fuzzing: panics or failed properties" \
  "$total_found in $total_cases cases" "0" "$([ "$failed" -eq 0 ] && echo pass || echo fail)" \
  "$cases cases per test, $(( $(date +%s) - t_all )) s, release build"
exit "$failed"
