#!/usr/bin/env bash
# ccci-mariadb entrypoint, written for cc-ci to behave like the official mariadb image's for
# what recipes use:
#   - `mariadbd [args]` (or `mysqld`, or just `--option` args): as root, owns the data dir and
#     /run/mysqld to mysql and re-runs itself as mysql; on first start (no mysql/ system schema
#     in the data dir) runs mariadb-install-db and sets up, from MARIADB_* (or MYSQL_*) variables:
#     ROOT_PASSWORD (or _FILE; or ALLOW_EMPTY_ROOT_PASSWORD=1, RANDOM_ROOT_PASSWORD=1),
#     ROOT_HOST (default %), DATABASE, USER, PASSWORD (or _FILE), then runs
#     /docker-entrypoint-initdb.d/*.sh|*.sql|*.sql.gz; then execs the server in the foreground.
#   - anything else is exec'd as given.
set -Eeo pipefail

log() { echo "docker-entrypoint.sh: $*" >&2; }
die() { log "error: $*"; exit 1; }

# mdb_env NAME [default]: MARIADB_NAME from $MARIADB_NAME, $MARIADB_NAME_FILE, $MYSQL_NAME or
# $MYSQL_NAME_FILE (the first that is set).
mdb_env() {
  local name=$1 val=${2:-} var
  for var in "MARIADB_$name" "MYSQL_$name"; do
    local file=${var}_FILE
    if [ -n "${!var:-}" ] && [ -n "${!file:-}" ]; then die "both $var and $file are set (they are exclusive)"; fi
    if [ -n "${!var:-}" ]; then val=${!var}; break; fi
    if [ -n "${!file:-}" ]; then
      [ -r "${!file}" ] || die "$file: cannot read ${!file}"
      val=$(<"${!file}"); break
    fi
  done
  export "MARIADB_$name=$val"
  unset "MARIADB_${name}_FILE" "MYSQL_${name}_FILE"
}

# SQL string literal and identifier quoting.
sql_str() { local s=${1//\\/\\\\}; s=${s//\'/\\\'}; printf "'%s'" "$s"; }
sql_id() { printf '`%s`' "${1//\`/\`\`}"; }

# The value the server would use for a setting, with the given command line.
server_setting() { # <setting> <server command...>
  local name=$1; shift
  "$@" --verbose --help 2>/dev/null | awk -v n="$name" '$1 == n { print $2; exit }'
}

socket=/run/mysqld/mysqld.sock

init_client() { mariadb --protocol=socket --socket="$socket" -uroot --batch "$@"; }

init_datadir() { # <data dir> <server command...>
  local datadir=$1; shift
  if [ -z "$MARIADB_ROOT_PASSWORD" ] && [ -z "$MARIADB_ALLOW_EMPTY_ROOT_PASSWORD" ] && [ -z "$MARIADB_RANDOM_ROOT_PASSWORD" ]; then
    die "the database is uninitialised and no root password option is set: set one of MARIADB_ROOT_PASSWORD (or _FILE), MARIADB_ALLOW_EMPTY_ROOT_PASSWORD, MARIADB_RANDOM_ROOT_PASSWORD"
  fi
  if [ -n "$MARIADB_RANDOM_ROOT_PASSWORD" ] && [ -z "$MARIADB_ROOT_PASSWORD" ]; then
    MARIADB_ROOT_PASSWORD=$(od -An -N24 -tx1 /dev/urandom | tr -d ' \n')
    log "GENERATED ROOT PASSWORD: $MARIADB_ROOT_PASSWORD"
  fi
  [ "$MARIADB_USER" != root ] || die "MARIADB_USER=root: the root user is set up by MARIADB_ROOT_PASSWORD"
  if [ -n "$MARIADB_USER" ] && [ -z "$MARIADB_PASSWORD" ]; then log "warning: MARIADB_USER $MARIADB_USER has no password"; fi

  log "initialising the data dir $datadir"
  mariadb-install-db --datadir="$datadir" --auth-root-authentication-method=normal \
    --skip-test-db --skip-name-resolve --default-time-zone=SYSTEM --skip-log-bin >/dev/null

  # A server only this script can reach (no TCP) for the users, the database and init scripts.
  "$@" --skip-networking --socket="$socket" --default-time-zone=SYSTEM --skip-log-bin \
    --loose-wsrep-on=OFF --loose-innodb-buffer-pool-load-at-startup=0 &
  local pid=$! i
  for i in $(seq 60); do
    mariadb-admin --protocol=socket --socket="$socket" -uroot --silent ping >/dev/null 2>&1 && break
    kill -0 "$pid" 2>/dev/null || die "the init-time server stopped"
    sleep 0.5
  done
  mariadb-admin --protocol=socket --socket="$socket" -uroot --silent ping >/dev/null 2>&1 \
    || die "the init-time server did not start"

  local root_pw sql
  root_pw=$(sql_str "$MARIADB_ROOT_PASSWORD")
  sql="SET @@SESSION.SQL_LOG_BIN=0;
-- The quoting above escapes with backslashes.
SET @@SESSION.SQL_MODE=REPLACE(@@SESSION.SQL_MODE, 'NO_BACKSLASH_ESCAPES', '');
-- Only root@localhost and the system accounts (mariadb-install-db makes more).
DELETE FROM mysql.global_priv WHERE user NOT IN ('mysql.sys', 'mariadb.sys', 'root') OR host NOT IN ('localhost');
DELETE FROM mysql.proxies_priv WHERE host NOT IN ('localhost');
FLUSH PRIVILEGES;
SET PASSWORD FOR 'root'@'localhost' = PASSWORD($root_pw);"
  if [ "$MARIADB_ROOT_HOST" != localhost ]; then
    local rh; rh=$(sql_str "$MARIADB_ROOT_HOST")
    sql+="
CREATE USER 'root'@$rh IDENTIFIED BY $root_pw;
GRANT ALL ON *.* TO 'root'@$rh WITH GRANT OPTION;
GRANT PROXY ON ''@'%' TO 'root'@$rh WITH GRANT OPTION;"
  fi
  if [ -n "$MARIADB_DATABASE" ]; then
    sql+="
CREATE DATABASE IF NOT EXISTS $(sql_id "$MARIADB_DATABASE");"
  fi
  if [ -n "$MARIADB_USER" ]; then
    sql+="
CREATE USER $(sql_str "$MARIADB_USER")@'%' IDENTIFIED BY $(sql_str "$MARIADB_PASSWORD");"
    if [ -n "$MARIADB_DATABASE" ]; then
      sql+="
GRANT ALL ON $(sql_id "$MARIADB_DATABASE").* TO $(sql_str "$MARIADB_USER")@'%';"
    fi
  fi
  init_client --database=mysql <<<"$sql"

  # From here on root has its password.
  export MYSQL_PWD=$MARIADB_ROOT_PASSWORD
  local f
  for f in /docker-entrypoint-initdb.d/*; do
    [ -e "$f" ] || continue
    case $f in
      *.sh)
        if [ -x "$f" ]; then log "running $f"; "$f"
        else log "sourcing $f"; # shellcheck disable=SC1090
          . "$f"; fi ;;
      *.sql) log "running $f"; init_client ${MARIADB_DATABASE:+--database="$MARIADB_DATABASE"} <"$f" ;;
      *.sql.gz) log "running $f"; gunzip -c "$f" | init_client ${MARIADB_DATABASE:+--database="$MARIADB_DATABASE"} ;;
      *) log "ignoring $f" ;;
    esac
  done
  mariadb-admin --protocol=socket --socket="$socket" -uroot shutdown
  wait "$pid" || die "the init-time server did not shut down cleanly"
  unset MYSQL_PWD
  log "MariaDB init process complete; ready for start up"
}

case ${1:-} in -*) set -- mariadbd "$@" ;; esac

if [ "${1:-}" = mariadbd ] || [ "${1:-}" = mysqld ]; then
  datadir=$(server_setting datadir "$@")
  datadir=${datadir:-/var/lib/mysql}
  # Read while still root (a secret file may be readable by root only); the re-run as mysql
  # inherits the results.
  for name in ROOT_PASSWORD ALLOW_EMPTY_ROOT_PASSWORD RANDOM_ROOT_PASSWORD DATABASE USER PASSWORD; do
    mdb_env "$name"
  done
  mdb_env ROOT_HOST %
  if [ "$(id -u)" = 0 ]; then
    mkdir -p "$datadir" /run/mysqld
    find "$datadir" \! -user mysql -exec chown mysql:mysql '{}' +
    chown mysql:mysql /run/mysqld
    chmod 777 /run/mysqld
    export HOME=/var/lib/mysql
    exec setpriv --reuid=mysql --regid=mysql --init-groups -- "$(readlink -f "${BASH_SOURCE[0]}")" "$@"
  fi
  if [ ! -d "$datadir/mysql" ]; then
    init_datadir "$datadir" "$@"
  else
    log "$datadir holds a database already; skipping initialisation"
  fi
fi

exec "$@"
