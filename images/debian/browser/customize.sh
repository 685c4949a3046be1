# The unprivileged user the browser runs as (the screenshot container's --user 10001).
groupadd --gid 10001 ccci
useradd --uid 10001 --gid ccci --home-dir /home/ccci --create-home --shell /bin/sh ccci
# The browser is there and runs.
chromium --version
