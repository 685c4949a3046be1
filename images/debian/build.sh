#!/usr/bin/env bash
# Builds cc-ci's Debian-based software images (real PostgreSQL, MariaDB, nginx, Redis, a
# sandbox for suite hooks, the headless browser of the landing page's screenshot, and the
# runtime of cc-ci's own image: git and the docker CLI) from Debian packages. There is no image
# registry here: each rootfs is made by mmdebstrap straight from the Debian archive and loaded
# with `docker import`.
#
#   images/debian/build.sh                    # every image
#   images/debian/build.sh sandbox postgres   # only these
#   images/debian/build.sh --stale sandbox    # builds nothing: prints those not built or out of date
#
# Each image is defined by its folder images/debian/<name>/:
#   packages      packages to install (--include), one or more a line, '#' comments
#   suite         optional: the Debian release to build from (default bookworm), '#' comments
#   config        Dockerfile instructions for the image config (ENV, CMD, ENTRYPOINT, USER,
#                 WORKDIR, EXPOSE, VOLUME, STOPSIGNAL); no FROM/RUN/COPY
#   dpkg.cfg      optional: extra dpkg options for this image (e.g. path-exclude lines)
#   essential.sh  optional: run with sh in the chroot after the essential set, before the packages
#   rootfs/       optional: copied over the rootfs once the packages are installed
#   customize.sh  optional: run with sh in the chroot after that
# The image is labelled ccci.recipe-hash=<sha256 of that folder and of this script's recipe>;
# an image whose tag already carries that label is not rebuilt (no network, no lock).
#
# Environment: CCCI_IMAGES_CACHE (default /var/cache/ccci-images: the downloaded .debs, kept
# between builds, the build's scratch space and logs), CCCI_DEBIAN_MIRROR (default
# http://deb.debian.org/debian), CCCI_DEBIAN_SECURITY (default http://deb.debian.org/debian-security).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cache=${CCCI_IMAGES_CACHE:-/var/cache/ccci-images}
mirror=${CCCI_DEBIAN_MIRROR:-http://deb.debian.org/debian}
security=${CCCI_DEBIAN_SECURITY:-http://deb.debian.org/debian-security}

# name -> tag; also the build order when no name is given.
all=(debian sandbox postgres mariadb nginx redis browser ccci-runtime)
tag_of() {
  case $1 in
    debian) echo ccci-debian:bookworm ;;
    sandbox) echo ccci-sandbox:latest ;;
    postgres) echo ccci-postgres:15 ;;
    mariadb) echo ccci-mariadb:10 ;;
    nginx) echo ccci-nginx:latest ;;
    redis) echo ccci-redis:7 ;;
    browser) echo ccci-browser:latest ;;
    ccci-runtime) echo ccci-runtime:trixie ;;
    *) return 1 ;;
  esac
}

suite_of() { # <name>: the Debian release the image is built from
  local s=bookworm
  [ -f "$here/$1/suite" ] && s=$(sed 's/#.*//' "$here/$1/suite" | tr -d '[:space:]')
  echo "$s"
}

# The recipe every image shares: its text is part of each image's hash, so changing how images
# are made rebuilds them, while edits elsewhere in this script do not.
make_image() { # <image dir> <hash>: prints the new image id
  local dir=$1 hash=$2 line
  local -a pkgs=() changes=() after=() opts=()
  # shellcheck disable=SC2207
  pkgs=($(sed 's/#.*//' "$dir/packages"))
  while IFS= read -r line; do
    line=${line%%#*}
    [[ $line =~ [^[:space:]] ]] || continue
    # docker import takes most instructions as --change; STOPSIGNAL needs a (network-free,
    # metadata-only) docker build on top.
    if [[ ${line^^} == STOPSIGNAL* ]]; then after+=("$line"); else changes+=(--change "$line"); fi
  done <"$dir/config"
  changes+=(--change "LABEL ccci.recipe-hash=$hash")
  # Slim like Debian's -slim images: no man pages, docs or translations.
  opts+=(--dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/info/*'
    --dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-include=/usr/share/doc/*/copyright'
    --dpkgopt='path-exclude=/usr/share/locale/*' --dpkgopt='path-include=/usr/share/locale/locale.alias'
    --dpkgopt='path-exclude=/usr/share/lintian/*'
    # No fsync per file (the rootfs is a throwaway until it is imported), as Debian's own images.
    --dpkgopt='force-unsafe-io')
  [ -f "$dir/dpkg.cfg" ] && opts+=(--dpkgopt="$dir/dpkg.cfg")
  # Merged /usr the way debootstrap does it (usr-is-merged), not with usrmerge, which would
  # bring perl into every image.
  opts+=(--hook-dir=/usr/share/mmdebstrap/hooks/merged-usr)
  # The package cache: hard links in and out (the scratch space is on the cache's filesystem).
  opts+=(--skip=essential/unlink
    --setup-hook='mkdir -p "$1/var/cache/apt/archives" && cp -al "$CCCI_APT_CACHE/." "$1/var/cache/apt/archives/"')
  [ -f "$dir/essential.sh" ] && opts+=(--essential-hook='chroot "$1" /bin/sh -eu -s <"$CCCI_IMAGE_DIR/essential.sh"')
  opts+=(--customize-hook='ln -f "$1"/var/cache/apt/archives/*.deb "$CCCI_APT_CACHE/"')
  [ -d "$dir/rootfs" ] && opts+=(--customize-hook='cp -R "$CCCI_IMAGE_DIR/rootfs/." "$1/"')
  [ -f "$dir/customize.sh" ] && opts+=(--customize-hook='chroot "$1" /bin/sh -eu -s <"$CCCI_IMAGE_DIR/customize.sh"')
  # The build host's resolver and name are no business of the image (Docker mounts its own).
  opts+=(--customize-hook=': >"$1/etc/resolv.conf"; echo localhost >"$1/etc/hostname"')
  # (Runs as an `if` condition, where set -e is off: every step checks its status.)
  local id top
  if ! id=$(CCCI_IMAGE_DIR=$dir CCCI_APT_CACHE=$cache/apt TMPDIR=$cache/tmp \
    /usr/bin/mmdebstrap --mode=root --variant=minbase --format=tar --include="${pkgs[*]}" \
      --aptopt='Acquire::Languages "none"' "${opts[@]}" \
      "$suite" - "deb $mirror $suite main" "deb $mirror $suite-updates main" \
      "deb $security $suite-security main" \
    | /usr/bin/python3 /usr/bin/mmtarfilter --path-exclude='/dev/*' \
    | docker import "${changes[@]}" -); then
    # docker import may have made an image of a truncated stream.
    [ -z "$id" ] || docker rmi "$id" >/dev/null 2>&1
    return 1
  fi
  if [ ${#after[@]} -gt 0 ]; then
    if ! top=$({ printf 'FROM %s\n' "$id"; printf '%s\n' "${after[@]}"; } \
      | DOCKER_BUILDKIT=0 docker build --quiet -); then
      docker rmi "$id" >/dev/null 2>&1
      return 1
    fi
    id=$top
  fi
  echo "$id"
}

hash_of() { # <name>: the content hash of what defines the image
  local dir=$here/$1
  (
    declare -f make_image
    echo "$suite $mirror $security"
    cd "$dir" && find . -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum
    find . -type f -perm -u+x | LC_ALL=C sort
  ) | sha256sum | cut -d' ' -f1
}

ensure_mmdebstrap() {
  [ -x /usr/bin/mmdebstrap ] && [ -f /usr/bin/mmtarfilter ] && [ -x /usr/bin/python3 ] && return
  [ "$(id -u)" = 0 ] || { echo "images/debian/build.sh: needs mmdebstrap (apt-get install mmdebstrap)" >&2; exit 2; }
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends mmdebstrap >/dev/null
}

docker info >/dev/null 2>&1 || { echo "images/debian/build.sh: the Docker Engine is not reachable" >&2; exit 1; }
stale_only=
[ "${1:-}" != --stale ] || { stale_only=1; shift; }
names=("$@")
[ ${#names[@]} -gt 0 ] || names=("${all[@]}")
for n in "${names[@]}"; do
  tag_of "$n" >/dev/null && [ -f "$here/$n/packages" ] \
    || { echo "images/debian/build.sh: unknown image '$n' (one of: ${all[*]})" >&2; exit 2; }
done

label() { docker image inspect --format '{{index .Config.Labels "ccci.recipe-hash"}}' "$tag" 2>/dev/null || true; }
if [ -n "$stale_only" ]; then
  for n in "${names[@]}"; do
    tag=$(tag_of "$n") suite=$(suite_of "$n")
    [ "$(label)" = "$(hash_of "$n")" ] || echo "$n"
  done
  exit 0
fi
for n in "${names[@]}"; do
  tag=$(tag_of "$n")
  suite=$(suite_of "$n") # read by hash_of and make_image
  hash=$(hash_of "$n")
  if [ "$(label)" = "$hash" ]; then echo "cached $tag"; continue; fi
  [ "$(id -u)" = 0 ] || { echo "images/debian/build.sh: building $tag needs root (mmdebstrap --mode=root)" >&2; exit 2; }
  ensure_mmdebstrap
  mkdir -p "$cache/apt" "$cache/tmp" "$cache/logs"
  # One build at a time on this machine; another run may have built it meanwhile.
  exec 9>"$cache/lock"
  flock 9
  if [ "$(label)" = "$hash" ]; then echo "cached $tag"; exec 9>&-; continue; fi
  start=$SECONDS
  old=$(docker image inspect --format '{{.Id}}' "$tag" 2>/dev/null || true)
  log=$cache/logs/$n.log
  if ! id=$(make_image "$here/$n" "$hash" 2>"$log"); then
    echo "images/debian/build.sh: building $tag failed; the end of $log:" >&2
    tail -n 30 "$log" >&2
    exit 1
  fi
  docker tag "$id" "$tag"
  # The image this one replaces, if nothing else uses it.
  if [ -n "$old" ] && [ "$old" != "$(docker image inspect --format '{{.Id}}' "$tag")" ]; then
    docker rmi "$old" >/dev/null 2>&1 || true
  fi
  exec 9>&-
  echo "built $tag in $((SECONDS - start)) s"
done
