#!/bin/sh
# A small stand-in for the official mariadb image's healthcheck.sh, which recipes call as
# `healthcheck.sh --connect --innodb_initialized`: every test it is given passes when the server
# answers on TCP (so not while the entrypoint's socket-only init-time server runs). The server
# only listens once its storage engines, InnoDB included, are up. `mariadb-admin ping` exits 0
# for a running server even when it refuses the credentials.
for arg in "$@"; do
  case $arg in
    --connect|--innodb_initialized|--innodb_buffer_pool_loaded|--su-mysql|--su=*|--defaults-*|--no-defaults) ;;
    *) echo "healthcheck.sh: $arg is treated as --connect" >&2 ;;
  esac
done
exec mariadb-admin --no-defaults --protocol=tcp --host=127.0.0.1 --port="${MARIADB_PORT:-3306}" \
  --connect-timeout=5 --silent ping >/dev/null
