# conf.d/*.conf is the server configuration: no Debian default site (nginx.conf does not
# include sites-enabled/ either).
rm -f /etc/nginx/sites-enabled/default
# Logs go to the container's stdout/stderr.
mkdir -p /var/log/nginx /docker-entrypoint.d
ln -sf /dev/stdout /var/log/nginx/access.log
ln -sf /dev/stderr /var/log/nginx/error.log
test -f /usr/share/nginx/html/index.html
nginx -t
