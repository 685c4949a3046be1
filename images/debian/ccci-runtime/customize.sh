# The CLIs the service calls must be there and run (the daemon parts are left out).
docker --version
git --version
test ! -e /usr/sbin/dockerd
# The service's state (SQLite store, runs, registry) and configuration.
mkdir -p /var/lib/ccci /etc/ccci
