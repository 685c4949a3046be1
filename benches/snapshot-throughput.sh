#!/usr/bin/env bash
# Benchmark: snapshot and restore throughput of a warm canonical's volumes. The fixture-web
# example gets a canonical (`ccci warm seed`, untimed); its data volume is then filled with
# SIZE MB of mixed files made here (a third incompressible, a third log-like text, a third
# small files of both). Interleaved N times: `ccci warm snapshot` against the baseline
# `tar -cf - . | zstd -1` of the same volume, and `ccci warm restore` against the baseline
# `zstd -dc | tar -xf -` into an emptied directory. The figure is the baseline's time over
# cc-ci's (1.0× = as fast as tar and zstd; ≥ 0.9× is the goal). Medians; both read the same
# page cache (caches are not dropped: the machine is shared).
#
#   benches/snapshot-throughput.sh [N] [SIZE_MB]   (default 3 and 500; needs scripts/prepare-host)
set -euo pipefail
source "$(dirname "$0")/lib.sh"
n=${1:-3}
size_mb=${2:-500}
command -v zstd >/dev/null || { echo "zstd is missing: apt-get install zstd" >&2; exit 1; }
work=$(mktemp -d)
state="$work/state"
warm_stack=warm-snapb_ci_local
cleanup() {
  remove_stack "$warm_stack"
  rm -rf "$work"
}
trap cleanup EXIT
"$root/scripts/example-repo" fixture-web "$work/snapb"
mkdir -p "$work/suites" && cp -r "$root/suites/fixture-web" "$work/suites/snapb"
rig=(--suites "$work/suites" --state-dir "$state")
"$ccci" warm seed "$work/snapb" "${rig[@]}" --stages install --out "$work/seed" >/dev/null 2>&1 \
  || { echo "the seed was not green" >&2; exit 1; }
mount=$(docker volume inspect -f '{{.Mountpoint}}' "${warm_stack}_data")

# SIZE MB of mixed data in the volume: random bytes, log lines, and many small files of both.
python3 - "$mount/bench" "$size_mb" <<'EOF'
import os, random, sys
root, mb = sys.argv[1], int(sys.argv[2])
third = mb * 1024 * 1024 // 3
os.makedirs(f"{root}/small", exist_ok=True)
with open(f"{root}/blob.bin", "wb") as f:
    f.write(os.urandom(third))
rng = random.Random(10)
with open(f"{root}/app.log", "w") as f:
    written = 0
    while written < third:
        line = (f"2026-12-01T22:{rng.randrange(60):02}:{rng.randrange(60):02}Z INFO req={rng.getrandbits(64):016x} "
                f"path=/api/items/{rng.randrange(100000)} status={rng.choice([200, 200, 200, 404, 500])} "
                f"took={rng.randrange(900)}ms user={rng.choice(['ana', 'bo', 'cy', 'dee'])}\n")
        written += f.write(line)
i = written = 0
while written < third:
    n = rng.randrange(1024, 64 * 1024)
    data = os.urandom(n) if i % 2 else (b"key=value; " * (n // 11 + 1))[:n]
    d = f"{root}/small/{i % 50}"
    os.makedirs(d, exist_ok=True)
    with open(f"{d}/f{i}", "wb") as f:
        written += f.write(data)
    i += 1
EOF
data_bytes=$(du -sb "$mount" | cut -f1)
fingerprint() { (cd "$1" && find . -type f -print0 | sort -z | xargs -0 sha256sum | sha256sum | cut -d' ' -f1); }
before=$(fingerprint "$mount")

ccci_snap=(); base_snap=(); ccci_restore=(); base_restore=()
for i in $(seq 1 "$n"); do
  s=$(now); "$ccci" warm snapshot snapb "${rig[@]}" >/dev/null; ccci_snap+=("$(secs "$s")")
  s=$(now); tar -C "$mount" -cf - . | zstd -1 -q -c >"$work/base.tar.zst"; base_snap+=("$(secs "$s")")
  s=$(now); "$ccci" warm restore snapb "${rig[@]}" >/dev/null; ccci_restore+=("$(secs "$s")")
  s=$(now); rm -rf "$work/scratch" && mkdir "$work/scratch" && zstd -dc -q "$work/base.tar.zst" | tar -C "$work/scratch" -xf -
  base_restore+=("$(secs "$s")")
done
[[ $(fingerprint "$mount") = "$before" ]] || { echo "the restored volume differs from the data before" >&2; exit 1; }
archived=$(du -sb "$state" | cut -f1)

cs=$(printf '%s\n' "${ccci_snap[@]}" | median); bs=$(printf '%s\n' "${base_snap[@]}" | median)
cr=$(printf '%s\n' "${ccci_restore[@]}" | median); br=$(printf '%s\n' "${base_restore[@]}" | median)
mbps() { awk -v b="$data_bytes" -v t="$1" 'BEGIN{printf "%.0f MB/s", b / 1e6 / t}'; }
ratio() { awk -v b="$1" -v c="$2" 'BEGIN{printf "%.2f", b / c}'; }
rs=$(ratio "$bs" "$cs"); rr=$(ratio "$br" "$cr")
echo "data: $data_bytes bytes; cc-ci's state dir after: $archived bytes; zstd -1 archive: $(stat -c %s "$work/base.tar.zst") bytes"
echo "snapshot: ccci warm snapshot median ${cs} s ($(mbps "$cs")) [${ccci_snap[*]}]; tar | zstd -1 (baseline) ${bs} s ($(mbps "$bs")) [${base_snap[*]}]"
echo "restore : ccci warm restore  median ${cr} s ($(mbps "$cr")) [${ccci_restore[*]}]; zstd -dc | tar -x (baseline) ${br} s ($(mbps "$br")) [${base_restore[*]}]"
figure "snapshot throughput vs tar piped to zstd -1 (${size_mb} MB mixed)" "${rs}× ($(mbps "$cs") vs $(mbps "$bs"))" "≥ 0.9×" "$(verdict 'r>=0.9' r="$rs")" "median of $n"
figure "restore throughput vs zstd -dc piped to tar -x (${size_mb} MB mixed)" "${rr}× ($(mbps "$cr") vs $(mbps "$br"))" "≥ 0.9×" "$(verdict 'r>=0.9' r="$rr")" "median of $n; cc-ci also hashes the archive while unpacking into a staging directory, then moves the files in"
