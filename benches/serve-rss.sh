#!/usr/bin/env bash
# Benchmark: `ccci serve` idle memory. Starts the service on a fresh SQLite store (no forge:
# the dashboard alone, as the recipe's service runs before it is given one), waits until
# `/healthz` answers and the start-up janitor has run, lets it idle, then reads its resident
# set (VmRSS) a few times. The baseline is the same binary doing nothing but parse and exit
# (`ccci --version`, its peak RSS), measured in the same script: what the service adds on top
# of the binary's own footprint.
#
#   benches/serve-rss.sh [IDLE_SECS]      (default 10; no swarm needed but the engine)
set -euo pipefail
source "$(dirname "$0")/lib.sh"
idle=${1:-10}
work=$(mktemp -d)
pid=
cleanup() { [[ -n $pid ]] && kill "$pid" 2>/dev/null; wait 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cat >"$work/ccci.toml" <<TOML
host_id = "bench"
listen = "127.0.0.1:$port"
public_url = "http://127.0.0.1:$port"
database = "sqlite:$work/ccci.db"
runs_dir = "$work/runs"
janitor_interval_secs = 0

[rig]
ci_domain = "rss.bench.invalid"
state_dir = "$work/state"
TOML
"$ccci" serve --config "$work/ccci.toml" >"$work/serve.log" 2>&1 &
pid=$!
for _ in $(seq 1 60); do
  curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break
  sleep 0.5
done
curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null || { cat "$work/serve.log"; exit 1; }
sleep "$idle"
rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }
samples=$(for _ in 1 2 3 4 5; do rss_kb "$pid"; sleep 1; done | median)
base_kb=$(python3 -c 'import resource, subprocess, sys
subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, check=True)
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)' "$ccci" --version)
mb=$(awk -v k="$samples" 'BEGIN{printf "%.1f", k/1024}')
base_mb=$(awk -v k="$base_kb" 'BEGIN{printf "%.1f", k/1024}')
echo "ccci serve idle RSS: $mb MB (median of 5 after ${idle} s idle); ccci --version peak: $base_mb MB"
figure "ccci serve idle RSS" "$mb MB ($(awk -v a="$mb" -v b="$base_mb" 'BEGIN{printf "%.1f", a/b}')× the binary's own $base_mb MB)" \
  "≤ 30 MB" "$(verdict "m<=30" m="$mb")" "SQLite store, no forge, after ${idle} s idle"
