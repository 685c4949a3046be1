# The postgres user and group with the official image's ids (999), before postgresql-common's
# postinst would make them with whatever ids are free (it keeps an existing user).
echo 'postgres:x:999:999:PostgreSQL administrator:/var/lib/postgresql:/bin/bash' >>/etc/passwd
echo 'postgres:x:999:' >>/etc/group
# No cluster at install time: the entrypoint initialises $PGDATA on first start.
mkdir -p /etc/postgresql-common/createcluster.d
echo 'create_main_cluster = false' >/etc/postgresql-common/createcluster.d/ccci.conf
