# No system tables from the package's install: the entrypoint initialises on first start with
# the container's settings.
rm -rf /var/lib/mysql
mkdir -p /var/lib/mysql /docker-entrypoint-initdb.d
chown mysql:mysql /var/lib/mysql
# (/run is not kept in the image: the entrypoint makes the socket dir /run/mysqld.)
