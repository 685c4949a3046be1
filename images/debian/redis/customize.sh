mkdir -p /data
chown redis:redis /data
redis-server --version
