# The mysql user and group with the official image's ids (999), before mariadb-server's postinst
# would make them with whatever ids are free (it keeps an existing user).
echo 'mysql:x:999:999:MariaDB Server:/var/lib/mysql:/bin/false' >>/etc/passwd
echo 'mysql:x:999:' >>/etc/group
