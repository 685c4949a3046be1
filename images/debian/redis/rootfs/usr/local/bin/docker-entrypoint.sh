#!/bin/sh
# ccci-redis entrypoint, written for cc-ci to behave like the official redis image's for what
# recipes use. When the command is redis-server (or starts with an option or a *.conf file):
# as root, owns the data dir (the working dir, /data) to redis and re-runs itself as redis;
# then runs the server in the foreground with /usr/local/etc/redis/defaults.conf (bind 0.0.0.0,
# protected-mode no, dir /data) loaded first, so a configuration file or options given in the
# command still override it. Anything else is exec'd as given.
set -e
defaults=/usr/local/etc/redis/defaults.conf

case ${1:-} in -*|*.conf) set -- redis-server "$@" ;; esac

if [ "${1:-}" = redis-server ] && [ "$(id -u)" = 0 ]; then
  find . \! -user redis -exec chown redis '{}' +
  exec setpriv --reuid=redis --regid=redis --init-groups -- "$(readlink -f "$0")" "$@"
fi

if [ "${1:-}" = redis-server ]; then
  shift
  case ${1:-} in
    '' | -*) set -- redis-server "$defaults" "$@" ;;
    *)
      # redis-server <file> [options]: the defaults, then the file (later lines win).
      conf=$(readlink -f "$1")
      shift
      wrapped=$(mktemp /tmp/redis-XXXXXX.conf)
      printf 'include %s\ninclude %s\n' "$defaults" "$conf" >"$wrapped"
      set -- redis-server "$wrapped" "$@"
      ;;
  esac
fi

exec "$@"
