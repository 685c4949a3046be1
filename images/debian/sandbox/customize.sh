# The unprivileged user suites run as.
groupadd --gid 10001 ccci
useradd --uid 10001 --gid ccci --home-dir /home/ccci --create-home --shell /bin/bash ccci
