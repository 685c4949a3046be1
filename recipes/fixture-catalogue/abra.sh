#!/bin/bash
# Version pins of the configs, read by abra (and cc-ci) as exports: bump one whenever its file
# changes, so swarm gets a config of a new name (configs cannot be updated in place).
export NGINX_CONF_VERSION=v1

# abra app cmd <domain> db psql: a psql shell on the app's database.
psql() {
  command psql -U "${POSTGRES_USER}" -d "${POSTGRES_DB}" "$@"
}
