#!/bin/bash
# Version pins of configs, read by abra (and cc-ci) as exports.
export FIXTURE_CONF_VERSION=v1

show_data() {
  ls -la /data
}
