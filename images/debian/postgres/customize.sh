# Every cluster initdb makes listens on all addresses (initdb copies this sample).
sample=/usr/share/postgresql/15/postgresql.conf.sample
sed -ri "s!^#?(listen_addresses)\s*=\s*\S+.*!\1 = '*'!" "$sample"
grep -q "^listen_addresses = '\*'" "$sample"
# The JIT provider is left out of the image (see dpkg.cfg): say so rather than try to load it.
sed -ri "s!^#?(jit)\s*=\s*\S+.*!\1 = off!" "$sample"
grep -q "^jit = off" "$sample"
[ ! -e /var/lib/postgresql/15 ] # no cluster was made at install time
# (/run is not kept in the image: the entrypoint makes the socket dir /var/run/postgresql.)
mkdir -p /var/lib/postgresql/data /docker-entrypoint-initdb.d
chown -R postgres:postgres /var/lib/postgresql
# Any uid may run the server (docker run --user).
chmod 1777 /var/lib/postgresql/data
# The official image's locale (LANG=en_US.utf8, see config): initdb takes the cluster's locale
# and encoding from it, and applications may ask for en_US.UTF-8 collations.
localedef -i en_US -c -f UTF-8 -A /usr/share/locale/locale.alias en_US.UTF-8
