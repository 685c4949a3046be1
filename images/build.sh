#!/usr/bin/env bash
# Builds cc-ci's local test images. There is no registry: every image a test deploys is built
# here. Idempotent; a rebuild with an unchanged binary is a no-op for the engine cache.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
target=x86_64-unknown-linux-gnu
RUSTFLAGS='-C target-feature=+crt-static' cargo build --quiet --release -p fixture-app \
  -p ccci-forwarder --target "$target" --manifest-path "$root/Cargo.toml"
# Debian's busybox-static puts a static busybox at /bin/busybox (the image has no libc).
busybox=/bin/busybox
dpkg -s busybox-static >/dev/null 2>&1 && [ -x "$busybox" ] \
  || { echo "images/build.sh: busybox-static is not installed (apt-get install busybox-static)" >&2; exit 2; }
ctx=$(mktemp -d)
fwd_ctx=$(mktemp -d)
trap 'rm -rf "$ctx" "$fwd_ctx"' EXIT
cp "$root/target/$target/release/fixture-app" "$ctx/fixture-app"
cp "$busybox" "$ctx/busybox"
cp "$root/images/fixture/Dockerfile" "$ctx/Dockerfile"
# Several tags of one image: recipes pin versions, so releases need distinct image names.
tags=(1.0.0 1.1.0 1.2.0 latest)
args=()
for t in "${tags[@]}"; do args+=(-t "ccci-fixture:$t"); done
DOCKER_BUILDKIT=0 docker build --quiet "${args[@]}" "$ctx" >/dev/null
echo "built ccci-fixture:{$(IFS=,; echo "${tags[*]}")}"
# The forwarder lets the CI host reach an app on the proxy network (see crates/forwarder).
cp "$root/target/$target/release/ccci-forwarder" "$fwd_ctx/ccci-forwarder"
cp "$root/images/forwarder/Dockerfile" "$fwd_ctx/Dockerfile"
DOCKER_BUILDKIT=0 docker build --quiet -t ccci-forwarder:latest "$fwd_ctx" >/dev/null
echo "built ccci-forwarder:latest"
# cc-ci itself (the recipe in deploy/recipe): the static `ccci` binary on ccci-runtime (git and
# the docker CLI from Debian's packages). Tagged with the workspace version, which the recipe
# pins, and latest. Cached by a content hash of the binary, the Dockerfile and the runtime image.
"$root/images/debian/build.sh" ccci-runtime >/dev/null
RUSTFLAGS='-C target-feature=+crt-static' cargo build --quiet --release -p ccci \
  --target "$target" --manifest-path "$root/Cargo.toml"
# The workspace's version (deploy/recipe/compose.yml pins the same tag).
version=$(sed -n 's/^version = "\(.*\)"$/\1/p' "$root/Cargo.toml" | head -n 1)
ccci_hash=$( { sha256sum "$root/target/$target/release/ccci" "$root/images/ccci/Dockerfile" | cut -d' ' -f1
  docker image inspect --format '{{.Id}}' ccci-runtime:bookworm; } | sha256sum | cut -d' ' -f1)
if [ "$(docker image inspect --format '{{index .Config.Labels "ccci.recipe-hash"}}' "ccci:$version" 2>/dev/null)" = "$ccci_hash" ]; then
  echo "cached ccci:$version"
else
  ccci_ctx=$(mktemp -d)
  trap 'rm -rf "$ctx" "$fwd_ctx" "$ccci_ctx"' EXIT
  cp "$root/target/$target/release/ccci" "$ccci_ctx/ccci"
  cp "$root/images/ccci/Dockerfile" "$ccci_ctx/Dockerfile"
  DOCKER_BUILDKIT=0 docker build --quiet --label "ccci.recipe-hash=$ccci_hash" \
    -t "ccci:$version" -t ccci:latest "$ccci_ctx" >/dev/null
  echo "built ccci:{$version,latest}"
fi
