# The CLIs the service calls must be there and run (the daemon is not installed), and the
# docker CLI has `docker stack config`.
docker --version
docker stack config --help >/dev/null
git --version
test ! -e /usr/sbin/dockerd
# The service's state (SQLite store, runs, registry) and configuration.
mkdir -p /var/lib/ccci /etc/ccci
