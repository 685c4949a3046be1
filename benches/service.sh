# Shared by the benchmarks that drive `ccci serve` (sourced after lib.sh, not run): a
# service on a SQLite store with no forge, jobs queued straight into the store (the rows
# the poller would write), and the store read back. Needs python3 (its sqlite3 module).
#
# Set bench_domain (the rig's ci_domain) per script, so `leftovers` counts only its stacks.
#
#   serve_config DIR HOST_ID DB CAPACITY LEASE_SECS [STATE_DIR]   → prints the config path
#   serve_start CONFIG LOG                                         → sets $serve_pid
#   queue_job DB RECIPE_REPO_DIR STAGES [DEADLINE_NOTE]            → prints the job id
#   job_field DB ID COLUMN                                         → the column's value
#   jobs_count DB WHERE                                            → rows matching WHERE

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

serve_config() {
  local dir=$1 host=$2 db=$3 capacity=$4 lease=$5 state=${6:-$1/state} port
  port=$(free_port)
  mkdir -p "$dir"
  cat >"$dir/ccci.toml" <<TOML
host_id = "$host"
listen = "127.0.0.1:$port"
public_url = "http://127.0.0.1:$port"
database = "sqlite:$db"
runs_dir = "$dir/runs"
capacity = $capacity
lease_secs = $lease
claim_interval_secs = 1
janitor_interval_secs = 0
shutdown_grace_secs = 5

[rig]
ci_domain = "${bench_domain:-bench.ci.invalid}"
state_dir = "$state"
TOML
  echo "$dir/ccci.toml"
}

# Starts `ccci serve` in the background and waits (≤ 60 s) until /healthz answers.
serve_start() {
  local config=$1 log=$2 port
  port=$(sed -n 's/^listen = "127.0.0.1:\([0-9]*\)"/\1/p' "$config")
  "$ccci" serve --config "$config" >"$log" 2>&1 &
  serve_pid=$!
  for _ in $(seq 1 120); do
    curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && return 0
    sleep 0.5
  done
  echo "ccci serve did not answer /healthz in 60 s; its log:" >&2
  cat "$log" >&2
  return 1
}

# SIGTERM, then wait ≤ 60 s (the service lets running runs finish or tears them down).
serve_stop() {
  local pid=$1
  kill -TERM "$pid" 2>/dev/null || return 0
  for _ in $(seq 1 120); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}

sql() { python3 -c 'import sqlite3,sys
c=sqlite3.connect(sys.argv[1], timeout=30); cur=c.execute(sys.argv[2], sys.argv[3:]); rows=cur.fetchall(); c.commit()
for r in rows: print("|".join("" if v is None else str(v) for v in r))' "$@"; }

# Queues a job for the recipe repository DIR at its HEAD, stages as a comma list.
queue_job() {
  local db=$1 repo=$2 stages=$3 sha name flags
  sha=$(git -C "$repo" rev-parse HEAD)
  name=$(basename "$repo")
  flags=$(python3 -c 'import json,sys; print(json.dumps({"quick": False, "extra": False, "stages": sys.argv[1].split(",")}))' "$stages")
  sql "$db" "INSERT INTO jobs (recipe, repo, pr_number, head_sha, git_ref, clone_url, flags, requested_by, state, enqueued_at) VALUES (?, ?, NULL, ?, NULL, ?, ?, 'bench', 'queued', CAST(strftime('%s','now') AS INTEGER) * 1000) RETURNING id" \
    "$name" "bench/$name" "$sha" "$repo" "$flags"
}
job_field() { sql "$1" "SELECT $3 FROM jobs WHERE id = ?" "$2"; }
jobs_count() { sql "$1" "SELECT count(*) FROM jobs WHERE $2"; }

# Waits ≤ $3 s until `jobs_count DB WHERE` reaches $4 (default: at least 1); 1 on time-out.
wait_jobs() {
  local db=$1 where=$2 secs=$3 want=${4:-1}
  for _ in $(seq 1 $((secs * 2))); do
    (( $(jobs_count "$db" "$where") >= want )) && return 0
    sleep 0.5
  done
  return 1
}

# A recipe repository NAME under DIR from recipes/SRC (scripts/example-repo), its suite
# shipped inside it (.ccci/suite.toml, given on stdin) and any further arguments appended to
# its .env.sample (the fixture app's knobs, e.g. APP_CRASH_AT_START=1), committed on the head.
recipe_with_suite() {
  local src=$1 dir=$2; shift 2
  mkdir -p "$(dirname "$dir")"
  "$root/scripts/example-repo" "$src" "$dir" >/dev/null
  mkdir -p "$dir/.ccci"
  cat >"$dir/.ccci/suite.toml"
  (( $# == 0 )) || printf '%s\n' "$@" >>"$dir/.env.sample"
  git -C "$dir" -c user.name=cc-ci -c user.email=bench@cc-ci.local add -A
  git -C "$dir" -c user.name=cc-ci -c user.email=bench@cc-ci.local commit --quiet -m "bench suite"
}

# Docker objects (services, containers, volumes, networks, secrets, configs) of stacks under
# $bench_domain still on the engine.
leftovers() {
  local suffix="_${bench_domain//./_}" kind count=0
  for kind in service container volume network secret config; do
    local cmd=(docker "$kind" ls); [[ $kind = container ]] && cmd=(docker ps -a)
    count=$((count + $("${cmd[@]}" --filter label=com.docker.stack.namespace --format '{{.Label "com.docker.stack.namespace"}}' | grep -c -- "$suffix\$" || true)))
  done
  echo "$count"
}
