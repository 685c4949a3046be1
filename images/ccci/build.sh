#!/usr/bin/env bash
# Builds cc-ci's own image (the recipe in deploy/recipe) from a `ccci` binary:
#   images/ccci/build.sh [BINARY]
# BINARY defaults to a static release build (`crt-static`, as images/build.sh builds its
# binaries). The recipe's test passes the binary under test (a glibc build for this Debian
# host, bookworm, whose glibc is older than that of ccci-runtime, Debian trixie: it runs
# there). Tagged with the workspace version, which the recipe pins, and latest; cached by a
# content hash of the binary, the Dockerfile and the runtime.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
binary="${1:-}"
if [ -z "$binary" ]; then
  target="$(rustc -vV | sed -n 's/^host: //p')"
  RUSTFLAGS='-C target-feature=+crt-static' cargo build --quiet --release -p ccci \
    --target "$target" --manifest-path "$root/Cargo.toml"
  binary="${CARGO_TARGET_DIR:-$root/target}/$target/release/ccci"
fi
[ -x "$binary" ] || { echo "images/ccci/build.sh: $binary is not an executable ccci" >&2; exit 2; }
"$root/images/debian/build.sh" ccci-runtime >/dev/null
version=$(sed -n 's/^version = "\(.*\)"$/\1/p' "$root/Cargo.toml" | head -n 1)
hash=$( { sha256sum "$binary" "$root/images/ccci/Dockerfile" | cut -d' ' -f1
  docker image inspect --format '{{.Id}}' ccci-runtime:trixie; } | sha256sum | cut -d' ' -f1)
if [ "$(docker image inspect --format '{{index .Config.Labels "ccci.recipe-hash"}}' "ccci:$version" 2>/dev/null)" = "$hash" ]; then
  echo "cached ccci:$version"
  exit 0
fi
ctx=$(mktemp -d)
trap 'rm -rf "$ctx"' EXIT
cp "$binary" "$ctx/ccci"
cp "$root/images/ccci/Dockerfile" "$ctx/Dockerfile"
DOCKER_BUILDKIT=0 docker build --quiet --label "ccci.recipe-hash=$hash" \
  -t "ccci:$version" -t ccci:latest "$ctx" >/dev/null
echo "built ccci:{$version,latest}"
