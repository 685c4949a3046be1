#!/bin/bash
# Version pins of the configs, read by abra (and cc-ci) as exports: bump one whenever its file
# changes, so swarm gets a config of a new name (configs cannot be updated in place).
export CCCI_TOML_VERSION=v2

# `abra app cmd <app> app doctor`: what the service's host looks like from inside.
doctor() {
  ccci doctor --state-dir "$STATE_PATH/state"
}
