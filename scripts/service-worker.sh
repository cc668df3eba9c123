#!/bin/sh
# Generates sw.js for a Trunk build: the list of every file the build produced and a
# version hashed from their contents, filled into pwa/sw.js. Trunk runs it after each
# build (see Trunk.toml); it also runs standalone on a built directory:
#   scripts/service-worker.sh dist
set -eu
template="$(cd "$(dirname "$0")/.." && pwd)/pwa/sw.js"
dir="${TRUNK_STAGING_DIR:-${1:?usage: service-worker.sh BUILD_DIR}}"
public_url="${TRUNK_PUBLIC_URL:-/}"
cd "$dir"
# Screenshots are for the browser's install dialog only: not precached. Notation (abcjs,
# the instrument samples) is listed apart: fetched when first used, not on install.
files=$(find . -type f ! -name sw.js ! -path './bench/*' ! -path './screenshots/*' ! -path './notation/*' \
  | sed 's|^\./||' | LC_ALL=C sort)
notation=$(find . -type f -path './notation/*' ! -name '*.LICENSE' | sed 's|^\./||' | LC_ALL=C sort)
version=$(for f in $files $notation; do sha256sum "$f"; done | sha256sum | cut -c1-16)
list="\"$public_url\""
for f in $files; do
  [ "$f" = index.html ] && continue
  list="$list, \"$public_url$f\""
done
lazy=""
for f in $notation; do
  lazy="$lazy${lazy:+, }\"$public_url$f\""
done
sed -e "s|__VERSION__|$version|" -e "s|__PUBLIC_URL__|$public_url|" -e "s|__PRECACHE__|$list|" \
  -e "s|__NOTATION__|$lazy|" "$template" > sw.js
