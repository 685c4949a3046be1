#!/usr/bin/env bash
# Benchmark: cc-ci's cold lifecycle against a plain bash script doing the same docker steps,
# rung by rung and as a whole: what cc-ci adds to what swarm itself costs.
#
# The recipe is fixture-web (release 1.1.0, head 1.2.0, as scripts/example-repo builds it),
# judged by its CI suite with `min_uptime = "0s"` and no test scripts: the uptime gate is a
# verdict policy, not overhead, and the bash side runs no tests. Interleaved N times:
#
#   cc-ci  `ccci run REPO` (cold): its rungs' own durations from results.json, its teardown
#          timing, and the wall clock of the whole command;
#   bash   the baseline below, timed the same way:
#     install         git archive of both checkouts, the secrets, a helper container on the
#                     `proxy` network (cc-ci starts its forwarder there), `docker stack
#                     deploy` of the base release, wait ready;
#     upgrade         a marker file in the volume, `docker stack deploy` of the head, wait
#                     ready, the marker is still there;
#     backup_restore  a marker, the backupbot pre-hook (`sync` by exec), `tar | gzip` of the
#                     volume with a sha256 (cc-ci's backup codec), the marker changed, the
#                     volume emptied and unpacked, the post-hook, `docker service update
#                     --force`, wait ready, the marker is back;
#     functional      the suite's HTTP check (`/` names the app) through the helper;
#     teardown        `docker stack rm`, waiting the containers and the network out, then
#                     the volume, the secrets and the helper removed.
#   "wait ready" polls every 0.5 s until the service's update (if one started) is
#   `completed` — swarm's own end of an update, after its monitor window, as the CLI's
#   converge waits — with one task's container healthy and `/health` answering 200. A
#   script that stopped at the first healthy task would call ready an update swarm may
#   still roll back.
#
#   benches/lifecycle-vs-bash.sh [N]      (default 3; needs scripts/prepare-host first)
set -euo pipefail
source "$(dirname "$0")/lib.sh"
n=${1:-3}
work=$(mktemp -d)
helper=lvb-helper-$$
cleanup() {
  docker rm -f "$helper" >/dev/null 2>&1 || true
  for s in $(docker stack ls --format '{{.Name}}' | grep '^lvbbash' || true); do remove_stack "$s"; done
  docker secret ls -q --filter name=lvbbash | xargs -r docker secret rm >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
"$root/scripts/example-repo" fixture-web "$work/lvb"
mkdir -p "$work/suites/lvb"
sed 's/^min_uptime = .*/min_uptime = "0s"/' "$root/suites/fixture-web/suite.toml" >"$work/suites/lvb/suite.toml"
grep -q '^min_uptime = "0s"' "$work/suites/lvb/suite.toml" || { echo "the suite's min_uptime was not set to 0s" >&2; exit 1; }
docker network inspect proxy >/dev/null 2>&1 || docker network create --driver overlay --attachable proxy >/dev/null
rungs=(install upgrade backup_restore functional teardown)

# --- the bash baseline -------------------------------------------------------------------
http() { docker exec "$helper" curl -fsS -m 2 "http://tasks.$svc:8080$1"; }
update_started() { docker service inspect -f '{{if .UpdateStatus}}{{.UpdateStatus.StartedAt}}{{else}}-{{end}}' "$svc"; }
# Ready: the update begun after $1 (a previous StartedAt; "" at install) completed, one
# healthy container, /health 200. Bounded by 120 s.
wait_ready() {
  local before=$1 deadline=$((SECONDS + 120)) state started
  while ((SECONDS < deadline)); do
    read -r state started < <(docker service inspect -f '{{if .UpdateStatus}}{{.UpdateStatus.State}} {{.UpdateStatus.StartedAt}}{{else}}none -{{end}}' "$svc")
    if [[ -z $before || $started != "$before" ]] && [[ $state = completed || $state = none ]] \
      && [[ $(docker ps -q --filter "label=com.docker.swarm.service.name=$svc" --filter health=healthy | wc -l) = 1 ]] \
      && http /health >/dev/null 2>&1; then
      return 0
    fi
    sleep 0.5
  done
  echo "bash baseline: $svc not ready in 120 s" >&2
  return 1
}
deploy() { docker stack deploy --resolve-image never -c "$1/compose.yml" "$stack" >/dev/null 2>&1; }
mountpoint() { docker volume inspect -f '{{.Mountpoint}}' "${stack}_data"; }
app_exec() { docker exec "$(docker ps -q --filter "label=com.docker.swarm.service.name=$svc" | head -1)" sh -c "$1"; }

bash_install() {
  git -C "$work/lvb" archive 1.1.0+1.1.0 | (mkdir -p "$b/base" && tar -x -C "$b/base")
  git -C "$work/lvb" archive HEAD | (mkdir -p "$b/head" && tar -x -C "$b/head")
  set -a; source "$b/base/.env.sample"; set +a
  export STACK_NAME=$stack DOMAIN=$stack.ci.local EXTRA_DOMAINS=''
  openssl rand -hex 16 | docker secret create "${stack}_db_password_v1" - >/dev/null
  openssl rand -hex 24 | docker secret create "${stack}_admin_token_v1" - >/dev/null
  docker run -d --rm --name "$helper" --network proxy ccci-sandbox:latest sleep 600 >/dev/null
  deploy "$b/base"
  wait_ready ""
}
bash_upgrade() {
  echo "$stack" >"$(mountpoint)/ccci-upgrade-marker"
  local before; before=$(update_started)
  deploy "$b/head"
  wait_ready "$before"
  grep -qx "$stack" "$(mountpoint)/ccci-upgrade-marker"
}
bash_backup_restore() {
  local mp; mp=$(mountpoint)
  echo before-backup >"$mp/ccci-marker"
  app_exec sync
  tar -C "$mp" -cf - . | gzip >"$b/data.tar.gz"
  sha256sum "$b/data.tar.gz" >"$b/data.sha256"
  echo changed >"$mp/ccci-marker"
  sha256sum -c --quiet "$b/data.sha256"
  find "$mp" -mindepth 1 -delete
  gzip -dc "$b/data.tar.gz" | tar -x -C "$mp"
  app_exec sync
  local before; before=$(update_started)
  docker service update --force --detach=true --quiet "$svc" >/dev/null
  wait_ready "$before"
  grep -qx before-backup "$mp/ccci-marker"
}
bash_functional() { http / | grep -q "fixture app"; }
bash_teardown() {
  docker stack rm "$stack" >/dev/null
  local deadline=$((SECONDS + 120))
  while ((SECONDS < deadline)); do
    [[ -z $(docker ps -aq --filter "label=com.docker.stack.namespace=$stack") ]] \
      && ! docker network inspect "${stack}_internal" >/dev/null 2>&1 && break
    sleep 0.5
  done
  docker volume rm "${stack}_data" >/dev/null
  docker secret rm "${stack}_db_password_v1" "${stack}_admin_token_v1" >/dev/null
  docker rm -f "$helper" >/dev/null
}
# One bash lifecycle: prints "rung seconds" per rung and "whole seconds".
bash_lifecycle() {
  stack=lvbbash$1 svc=lvbbash$1_app b=$work/bash$1
  mkdir -p "$b"
  local t0 s; t0=$(now)
  for r in "${rungs[@]}"; do
    s=$(now)
    "bash_$r" || { echo "bash baseline: $r failed" >&2; return 1; }
    echo "$r $(secs "$s")"
  done
  echo "whole $(secs "$t0")"
}

# --- cc-ci --------------------------------------------------------------------------------
ccci_lifecycle() {
  local out=$work/ccci$1 s; s=$(now)
  "$ccci" run "$work/lvb" --suites "$work/suites" --state-dir "$work/state" --out "$out" >"$work/ccci$1.log" 2>&1 \
    || { echo "cc-ci run $1 was not green (log: $work/ccci$1.log)" >&2; tail -20 "$work/ccci$1.log" >&2; return 1; }
  local whole; whole=$(secs "$s")
  python3 - "$out/results.json" <<'EOF'
import json, sys
r = json.load(open(sys.argv[1]))
for x in r["rungs"]:
    if x["name"] in ("install", "upgrade", "backup_restore", "functional"):
        print(x["name"], "%.2f" % (x["duration_ms"] / 1000))
print("teardown", "%.2f" % (r["timings_ms"].get("teardown", 0) / 1000))
EOF
  echo "whole $whole"
}

declare -A times
per_rung=""
for i in $(seq 1 "$n"); do
  while read -r k v; do times[bash_$k]+="$v "; done < <(bash_lifecycle "$i")
  while read -r k v; do times[ccci_$k]+="$v "; done < <(ccci_lifecycle "$i")
done
med() { tr ' ' '\n' <<<"${times[$1]}" | grep . | median; }
printf '%-16s %10s %10s %7s\n' rung bash cc-ci ratio
for r in "${rungs[@]}" whole; do
  bm=$(med "bash_$r"); cm=$(med "ccci_$r")
  ratio=$(awk -v c="$cm" -v b="$bm" 'BEGIN{printf "%.2f", (b > 0 ? c/b : 0)}')
  printf '%-16s %9ss %9ss %6s×   [bash: %s] [cc-ci: %s]\n' "$r" "$bm" "$cm" "$ratio" "${times[bash_$r]% }" "${times[ccci_$r]% }"
  if [[ $r = whole ]]; then
    figure "cold lifecycle overhead vs a plain bash docker script (whole)" "${ratio}× (${cm} s / ${bm} s)" "≤ 1.05×" \
      "$(verdict 'r<=1.05' r="$ratio")" "median of $n, fixture-web 1.1.0 → head, min_uptime 0 s; rungs: ${per_rung%; }"
  else
    per_rung+="$r ${ratio}× (${cm}/${bm} s); "
  fi
done
