#!/usr/bin/env bash
# Benchmark: dashboard latency with a full store. `ccci serve` on a fresh SQLite store
# (no forge; started once to create the schema) gets 10,000 finished runs over 40 recipes,
# written straight into its `jobs` table; then Debian's `wrk` (loopback only, bounded by -d)
# loads `/` and `/recipes/{name}` and reports each one's p99. The baseline is `/healthz` on
# the same server in the same run: the floor of the HTTP stack and one store query.
#
#   benches/dashboard-p99.sh [SECS] [RUNS]   (default 10 s per page and 10000 runs)
set -euo pipefail
source "$(dirname "$0")/lib.sh"
secs=${1:-10}
runs=${2:-10000}
command -v wrk >/dev/null || { echo "wrk is missing: apt-get install wrk (Debian)" >&2; exit 1; }
work=$(mktemp -d)
pid=
stop() { [[ -n $pid ]] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null; pid=; }
cleanup() { stop; rm -rf "$work"; }
trap cleanup EXIT
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
base="http://127.0.0.1:$port"
cat >"$work/ccci.toml" <<TOML
host_id = "bench"
listen = "127.0.0.1:$port"
public_url = "$base"
database = "sqlite:$work/ccci.db"
runs_dir = "$work/runs"
janitor_interval_secs = 0

[rig]
ci_domain = "p99.bench.invalid"
state_dir = "$work/state"
TOML
serve() {
  "$ccci" serve --config "$work/ccci.toml" >>"$work/serve.log" 2>&1 &
  pid=$!
  for _ in $(seq 1 60); do
    curl -fsS "$base/healthz" >/dev/null 2>&1 && return
    sleep 0.5
  done
  cat "$work/serve.log" >&2; exit 1
}
serve; stop

# RUNS finished jobs, newest last, over 40 recipes: mostly green, some red, a few superseded.
python3 - "$work/ccci.db" "$runs" <<'EOF'
import json, random, sqlite3, sys
db, n = sqlite3.connect(sys.argv[1]), int(sys.argv[2])
rng, t0 = random.Random(99), 1_780_000_000_000
rows = []
for i in range(n):
    recipe = f"recipe-{i % 40:02}"
    at = t0 + i * 60_000
    state, verdict = ("superseded", None) if i % 50 == 7 else ("done", rng.choice(["green"] * 4 + ["red"]))
    rows.append((recipe, f"coop-cloud/{recipe}", i % 300 + 1, f"{rng.getrandbits(160):040x}", None,
                 f"https://git.example/coop-cloud/{recipe}.git", json.dumps({"quick": i % 3 == 0}),
                 "someone", state, verdict, 4 if verdict == "green" else 2, "bench", None, at, at + 5_000,
                 at + 65_000, None, 1, None))
db.executemany("INSERT INTO jobs (recipe, repo, pr_number, head_sha, git_ref, clone_url, flags, requested_by, "
               "state, verdict, level, host, lease_expires_at, enqueued_at, started_at, finished_at, comment_id, "
               "attempts, note) VALUES (" + ",".join("?" * 19) + ")", rows)
db.commit()
EOF
serve
for path in / /recipes/recipe-07 /healthz; do
  curl -fsS -o /dev/null "$base$path" || { echo "GET $path failed" >&2; exit 1; }
done

# p99 and p50 in ms ("P99 P50") of `wrk --latency` on $1 (2 connections, one thread: a few
# users at once). The p50 is printed too: on a loaded shared machine the p99 is mostly the
# scheduler's, the p50 the page's own cost.
latency_ms() {
  wrk -t1 -c2 -d"${secs}s" --timeout 5s --latency "$base$1" >"$work/wrk.out"
  grep -q "Non-2xx" "$work/wrk.out" && { cat "$work/wrk.out" >&2; echo "GET $1: non-2xx answers" >&2; exit 1; }
  awk '$1 == "99%" || $1 == "50%" {v = $2; u = v; sub(/[0-9.]+/, "", u); sub(/[a-z]+$/, "", v);
       ms[$1] = (u == "us" ? v / 1000 : u == "s" ? v * 1000 : v)}
       END {printf "%.2f %.2f\n", ms["99%"], ms["50%"]}' "$work/wrk.out"
}
read -r floor floor50 < <(latency_ms /healthz)
read -r home home50 < <(latency_ms /)
read -r recipe recipe50 < <(latency_ms /recipes/recipe-07)
load=$(cut -d' ' -f1 /proc/loadavg)
echo "p99 (p50) with $runs runs in the store (wrk, ${secs} s each, 2 connections; load average $load on $(nproc) CPUs):"
echo "  /healthz (baseline) ${floor} ms (${floor50});  / ${home} ms (${home50});  /recipes/{name} ${recipe} ms (${recipe50})"
x() { awk -v a="$1" -v b="$floor" 'BEGIN{printf "%.1f", a/b}'; }
note="wrk, ${secs} s, 2 connections, loopback; p50"
figure "dashboard p99: / ($runs runs in SQLite)" "${home} ms ($(x "$home")× /healthz ${floor} ms)" "≤ 20 ms" "$(verdict 'm<=20' m="$home")" "$note ${home50} ms (/healthz ${floor50} ms); load average $load"
figure "dashboard p99: /recipes/{name} ($runs runs in SQLite)" "${recipe} ms ($(x "$recipe")× /healthz ${floor} ms)" "≤ 20 ms" "$(verdict 'm<=20' m="$recipe")" "$note ${recipe50} ms; load average $load"
