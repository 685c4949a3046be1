#!/usr/bin/env bash
# Starts a throwaway PostgreSQL cluster on loopback for the tests and prints its URL.
#
#   eval "$(scripts/start-postgres.sh)"    # exports CCCI_TEST_PG_URL, CCCI_TEST_PG_DIR, CCCI_TEST_PG_STOP
#   $CCCI_TEST_PG_STOP; rm -rf "$CCCI_TEST_PG_DIR"   # when done
#
# Port: $CCCI_TEST_PG_PORT, or the first free one from 55432 on (another cluster, say a
# second checkout's test run, may hold one). Data lives in a fresh temp dir; nothing is kept.
# initdb refuses root, so as root the cluster runs as the `postgres` user.
set -euo pipefail

bindir="${PG_BINDIR:-}"
if [ -z "$bindir" ]; then
  for d in /usr/lib/postgresql/*/bin; do [ -x "$d/initdb" ] && bindir="$d"; done
fi
if [ -z "$bindir" ] || [ ! -x "$bindir/initdb" ]; then
  echo "start-postgres: no initdb found; install it with: apt-get install -y postgresql" >&2
  exit 1
fi

as_user=()
if [ "$(id -u)" = 0 ]; then
  id postgres >/dev/null 2>&1 || useradd --system --no-create-home postgres
  as_user=(runuser -u postgres --)
fi

dir="$(mktemp -d /tmp/ccci-pg.XXXXXX)"
chmod 700 "$dir"
[ "$(id -u)" = 0 ] && chown postgres "$dir"

"${as_user[@]}" "$bindir/initdb" -D "$dir/data" -U ccci --auth=trust -E UTF8 >"$dir/initdb.log" 2>&1 || {
  cat "$dir/initdb.log" >&2; exit 1; }
port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
if [ -n "${CCCI_TEST_PG_PORT:-}" ]; then
  ports=("$CCCI_TEST_PG_PORT")
else
  ports=($(seq 55432 55463))
fi
port=""
for p in "${ports[@]}"; do
  port_free "$p" || continue
  if "${as_user[@]}" "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 30 \
    -o "-c listen_addresses=127.0.0.1 -p $p -k $dir -c fsync=off -c max_connections=200" start >/dev/null; then
    port="$p"
    break
  fi
done
if [ -z "$port" ]; then
  echo "start-postgres: could not start PostgreSQL on any of ports ${ports[*]}; server log:" >&2
  cat "$dir/server.log" >&2 2>/dev/null || true
  exit 1
fi
"${as_user[@]}" "$bindir/createdb" -h 127.0.0.1 -p "$port" -U ccci ccci_test

echo "export CCCI_TEST_PG_URL='postgres://ccci@127.0.0.1:$port/ccci_test'"
echo "export CCCI_TEST_PG_DIR='$dir'"
echo "export CCCI_TEST_PG_STOP='${as_user[*]} $bindir/pg_ctl -D $dir/data -m fast stop'"
