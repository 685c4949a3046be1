#!/usr/bin/env bash
# Builds cc-ci's local test images. There is no registry: every image a test deploys is built
# here. Idempotent; a rebuild with an unchanged binary is a no-op for the engine cache.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
target=x86_64-unknown-linux-gnu
# Where cargo puts what it builds (CARGO_TARGET_DIR, as cargo itself reads it).
target_dir=${CARGO_TARGET_DIR:-$root/target}
RUSTFLAGS='-C target-feature=+crt-static' cargo build --quiet --release -p fixture-app \
  -p ccci-forwarder --target "$target" --manifest-path "$root/Cargo.toml"
# Debian's busybox-static puts a static busybox at /bin/busybox (the image has no libc).
busybox=/bin/busybox
dpkg -s busybox-static >/dev/null 2>&1 && [ -x "$busybox" ] \
  || { echo "images/build.sh: busybox-static is not installed (apt-get install busybox-static)" >&2; exit 2; }
ctx=$(mktemp -d)
fwd_ctx=$(mktemp -d)
trap 'rm -rf "$ctx" "$fwd_ctx"' EXIT
cp "$target_dir/$target/release/fixture-app" "$ctx/fixture-app"
cp "$busybox" "$ctx/busybox"
cp "$root/images/fixture/Dockerfile" "$ctx/Dockerfile"
# Several tags of one image: recipes pin versions, so releases need distinct image names.
tags=(1.0.0 1.1.0 1.2.0 latest)
args=()
for t in "${tags[@]}"; do args+=(-t "ccci-fixture:$t"); done
DOCKER_BUILDKIT=0 docker build --quiet "${args[@]}" "$ctx" >/dev/null
echo "built ccci-fixture:{$(IFS=,; echo "${tags[*]}")}"
# The forwarder lets the CI host reach an app on the proxy network (see crates/forwarder).
cp "$target_dir/$target/release/ccci-forwarder" "$fwd_ctx/ccci-forwarder"
cp "$root/images/forwarder/Dockerfile" "$fwd_ctx/Dockerfile"
DOCKER_BUILDKIT=0 docker build --quiet -t ccci-forwarder:latest "$fwd_ctx" >/dev/null
echo "built ccci-forwarder:latest"
# cc-ci itself (the recipe in deploy/recipe) is built apart, from a given binary:
# images/ccci/build.sh (the recipe's test builds it from the binary under test).
