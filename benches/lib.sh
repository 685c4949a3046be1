# Shared by the benchmark scripts (sourced, not run). Each script measures one or more
# figures, each a ratio or a time against a baseline measured in the same script on the same
# machine, and ends with one `FIGURE` line per figure, which `benches/run-all` collects:
#
#   FIGURE<TAB>name<TAB>measured<TAB>goal<TAB>pass|fail|info|not measured<TAB>note
#
# The release binary is built once (set CCCI=/path/to/ccci to use another build).
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
if [[ -z ${CCCI:-} ]]; then
  cargo build --quiet --release -p ccci --manifest-path "$root/Cargo.toml"
  CCCI="$root/target/release/ccci"
fi
ccci=$CCCI

# Median of numbers on stdin, one a line.
median() { sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
now() { date +%s.%N; }
# Seconds from $1 to $2 (or to now), one decimal.
since() { awk -v a="${2:-$(now)}" -v b="$1" 'BEGIN{printf "%.1f", a-b}'; }
# Seconds from $1 to now, two decimals (for steps that take well under a second).
secs() { awk -v a="$(now)" -v b="$1" 'BEGIN{printf "%.2f", a-b}'; }
# pass when awk's condition over the named values holds, else fail:  verdict "m<=30" m=12
verdict() {
  local cond=$1; shift
  local args=(); for kv in "$@"; do args+=(-v "$kv"); done
  awk "${args[@]}" "BEGIN{exit !($cond)}" && echo pass || echo fail
}
figure() { printf 'FIGURE\t%s\t%s\t%s\t%s\t%s\n' "$@"; }
# A JSON field of a results.json: json FILE 'python expression over r'
json() { python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$1" "$2"; }

# Removes the stack $1 and everything labelled with it (a warm canonical the bench made).
remove_stack() {
  docker stack rm "$1" >/dev/null 2>&1 || true
  for _ in $(seq 1 60); do
    [[ -z $(docker ps -aq --filter "label=com.docker.stack.namespace=$1") ]] && break
    sleep 1
  done
  for kind in volume secret config network; do
    docker "$kind" ls -q --filter "label=com.docker.stack.namespace=$1" | xargs -r docker "$kind" rm >/dev/null 2>&1 || true
  done
}
