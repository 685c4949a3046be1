#!/bin/sh
# ccci-nginx entrypoint, written for cc-ci to behave like the official nginx image's for what
# recipes use. When the command is nginx:
#   - runs /docker-entrypoint.d/*.sh (executable ones) and sources *.envsh, in order;
#   - renders /etc/nginx/templates/**/*.template into /etc/nginx/conf.d/ with envsubst, only
#     substituting variables that are set (NGINX_ENVSUBST_TEMPLATE_DIR, _SUFFIX and
#     NGINX_ENVSUBST_OUTPUT_DIR change the places);
# then execs the command (nginx -g 'daemon off;' by default: foreground).
set -e
log() { [ -n "${NGINX_ENTRYPOINT_QUIET_LOGS:-}" ] || echo "/docker-entrypoint.sh: $*" >&2; }

if [ "$1" = nginx ]; then
  for f in /docker-entrypoint.d/*; do
    [ -e "$f" ] || continue
    case $f in
      *.envsh)
        if [ -x "$f" ]; then log "sourcing $f"; . "$f"; else log "ignoring $f, not executable"; fi ;;
      *.sh)
        if [ -x "$f" ]; then log "running $f"; "$f"; else log "ignoring $f, not executable"; fi ;;
      *) log "ignoring $f" ;;
    esac
  done

  tdir=${NGINX_ENVSUBST_TEMPLATE_DIR:-/etc/nginx/templates}
  suffix=${NGINX_ENVSUBST_TEMPLATE_SUFFIX:-.template}
  odir=${NGINX_ENVSUBST_OUTPUT_DIR:-/etc/nginx/conf.d}
  if [ -d "$tdir" ]; then
    vars=$(awk 'BEGIN { for (v in ENVIRON) if (v ~ /^[A-Za-z_][A-Za-z0-9_]*$/) printf "${%s} ", v }')
    find "$tdir" -follow -type f -name "*$suffix" | while IFS= read -r t; do
      rel=${t#"$tdir"/}
      out=$odir/${rel%"$suffix"}
      mkdir -p "$(dirname "$out")"
      log "rendering $t to $out"
      envsubst "$vars" <"$t" >"$out"
    done
  fi
fi

exec "$@"
