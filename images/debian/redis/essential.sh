# The redis user and group with the official image's ids (999), before redis-server's postinst
# would make them with whatever ids are free (it keeps an existing user).
echo 'redis:x:999:999:Redis:/var/lib/redis:/usr/sbin/nologin' >>/etc/passwd
echo 'redis:x:999:' >>/etc/group
