#!/usr/bin/env bash
# ccci-postgres entrypoint, written for cc-ci to behave like the official postgres image's for
# what recipes use:
#   - `postgres [args]` (or just `-c ...` args): as root, owns $PGDATA and the socket dir to
#     postgres and re-runs itself as postgres; on first start (no $PGDATA/PG_VERSION)
#     initialises the cluster with POSTGRES_USER (default postgres), POSTGRES_PASSWORD or
#     POSTGRES_PASSWORD_FILE, POSTGRES_DB (default $POSTGRES_USER), POSTGRES_INITDB_ARGS,
#     POSTGRES_HOST_AUTH_METHOD (default scram-sha-256, for connections that are not local), and
#     runs /docker-entrypoint-initdb.d/*.sh|*.sql|*.sql.gz; then execs postgres in the
#     foreground (the image's stop signal is SIGINT: fast shutdown).
#   - anything else is exec'd as given.
set -Eeo pipefail

log() { echo "docker-entrypoint.sh: $*" >&2; }
die() { log "error: $*"; exit 1; }

# file_env VAR [default]: VAR from $VAR or from the file named by $VAR_FILE (not both).
file_env() {
  local var=$1 file=${1}_FILE val=${2:-}
  if [ -n "${!var:-}" ] && [ -n "${!file:-}" ]; then die "both $var and $file are set (they are exclusive)"; fi
  if [ -n "${!var:-}" ]; then
    val=${!var}
  elif [ -n "${!file:-}" ]; then
    [ -r "${!file}" ] || die "$file: cannot read ${!file}"
    val=$(<"${!file}")
  fi
  export "$var=$val"
  unset "$file"
}

# psql on the init-time server (local socket, trusted).
init_psql() {
  psql -v ON_ERROR_STOP=1 --no-psqlrc --no-password --username "$POSTGRES_USER" "$@"
}

init_cluster() {
  local auth=${POSTGRES_HOST_AUTH_METHOD:-scram-sha-256}
  if [ -z "$POSTGRES_PASSWORD" ] && [ "$auth" != trust ]; then
    die "the database is uninitialised and no superuser password is set: set POSTGRES_PASSWORD or POSTGRES_PASSWORD_FILE (or POSTGRES_HOST_AUTH_METHOD=trust to allow connections without one)"
  fi
  log "initialising $PGDATA for user $POSTGRES_USER"
  local -a args
  read -r -a args <<<"${POSTGRES_INITDB_ARGS:-}"
  if [ -n "$POSTGRES_PASSWORD" ]; then
    initdb --username="$POSTGRES_USER" --pwfile=<(printf '%s\n' "$POSTGRES_PASSWORD") "${args[@]}"
  else
    initdb --username="$POSTGRES_USER" "${args[@]}"
  fi
  # Local connections stay trusted (initdb's default); every other host authenticates.
  printf '\n# cc-ci: connections from other hosts\nhost all all all %s\n' "$auth" >>"$PGDATA/pg_hba.conf"

  # A server only this script can reach (no TCP) for the database and the init scripts.
  pg_ctl -D "$PGDATA" -o "-c listen_addresses='' -p ${PGPORT:-5432}" -w start
  export PGPASSWORD=$POSTGRES_PASSWORD
  if [ "$POSTGRES_DB" != postgres ]; then
    local exists
    exists=$(init_psql --dbname postgres --set db="$POSTGRES_DB" -tA <<<"SELECT 1 FROM pg_database WHERE datname = :'db';")
    [ "$exists" = 1 ] || init_psql --dbname postgres --set db="$POSTGRES_DB" <<<'CREATE DATABASE :"db";'
  fi
  local f
  for f in /docker-entrypoint-initdb.d/*; do
    [ -e "$f" ] || continue
    case $f in
      *.sh)
        if [ -x "$f" ]; then log "running $f"; "$f"
        else log "sourcing $f"; # shellcheck disable=SC1090
          . "$f"; fi ;;
      *.sql) log "running $f"; init_psql --dbname "$POSTGRES_DB" -f "$f" ;;
      *.sql.gz) log "running $f"; gunzip -c "$f" | init_psql --dbname "$POSTGRES_DB" ;;
      *) log "ignoring $f" ;;
    esac
  done
  unset PGPASSWORD
  pg_ctl -D "$PGDATA" -m fast -w stop
  log "PostgreSQL init process complete; ready for start up"
}

case ${1:-} in -*) set -- postgres "$@" ;; esac

if [ "${1:-}" = postgres ]; then
  export PGDATA=${PGDATA:-/var/lib/postgresql/data}
  # Read while still root (a secret file may be readable by root only); the re-run as postgres
  # inherits the result.
  file_env POSTGRES_PASSWORD
  export POSTGRES_USER=${POSTGRES_USER:-postgres}
  export POSTGRES_DB=${POSTGRES_DB:-$POSTGRES_USER}
  if [ "$(id -u)" = 0 ]; then
    mkdir -p "$PGDATA" /var/run/postgresql
    find "$PGDATA" \! -user postgres -exec chown postgres:postgres '{}' +
    chmod 700 "$PGDATA" || :
    chown postgres:postgres /var/run/postgresql
    chmod 3777 /var/run/postgresql
    export HOME=/var/lib/postgresql
    exec setpriv --reuid=postgres --regid=postgres --init-groups -- "$(readlink -f "${BASH_SOURCE[0]}")" "$@"
  fi
  if [ ! -s "$PGDATA/PG_VERSION" ]; then
    # A data dir that another uid (docker run --user) may create must be private to postgres.
    mkdir -p "$PGDATA"
    chmod 700 "$PGDATA" || :
    init_cluster
  else
    log "$PGDATA holds a database already; skipping initialisation"
  fi
fi

exec "$@"
