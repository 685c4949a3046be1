# Shell functions shared by scripts/prepare-host (everything the tests need) and scripts/demo
# (only what one recipe's run needs). Sourced, not run: `. "$root/scripts/lib/host.sh"`.
# Each prints its messages prefixed with $who (the calling script's name).

# install_missing PACKAGE...: installs the Debian packages given (the caller has checked that
# they are missing) when root, unless CCCI_SKIP_PACKAGES=1; otherwise says what to install.
install_missing() {
  [ $# -gt 0 ] && [ "${CCCI_SKIP_PACKAGES:-}" != 1 ] || return 0
  if [ "$(id -u)" != 0 ]; then
    echo "$who: please install: $* (apt-get install $*)" >&2
    return 1
  fi
  echo "$who: installing $*"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

# ensure_swarm: the Docker Engine reachable, in swarm mode, with the rig's `proxy` network.
ensure_swarm() {
  docker info >/dev/null 2>&1 || { echo "$who: the Docker Engine is not reachable (is dockerd running?)" >&2; return 1; }
  local state current proxy_subnet
  state=$(docker info --format '{{.Swarm.LocalNodeState}}')
  if [ "$state" != active ]; then
    echo "$who: putting the engine in swarm mode"
    docker swarm init --advertise-addr 127.0.0.1 >/dev/null
  fi
  # The rig's shared overlay network recipes attach to (traefik's network in production).
  # Every service on it takes a VIP and every task (kept in swarm's task history too) an
  # address: a default /24 runs out when many test stacks run at once, so ours is a /16.
  proxy_subnet="${CCCI_PROXY_SUBNET:-10.201.0.0/16}"
  current=$(docker network inspect proxy --format '{{range .IPAM.Config}}{{.Subnet}}{{end}}' 2>/dev/null || true)
  if [ -n "$current" ] && [ "$current" != "$proxy_subnet" ] \
    && [ "$(docker network inspect proxy --format '{{index .Labels "ccci.rig"}}')" = true ]; then
    # Ours, but too small: replace it when nothing uses it.
    docker network rm proxy >/dev/null 2>&1 && current="" \
      || echo "$who: the proxy network ($current) is in use; keeping it" >&2
  fi
  [ -n "$current" ] || docker network create --driver overlay --attachable --subnet "$proxy_subnet" \
    --label ccci.rig=true proxy >/dev/null
}
