#!/bin/sh
# Puts what staff notation and playback need into a Trunk build's notation/ directory:
# abcjs from node_modules (pinned in package-lock.json, installed by scripts/setup.sh)
# and the instrument samples made by src/bin/soundfont.rs. The app loads them only when
# a page shows notation; the service worker keeps them once used (see pwa/sw.js).
# Trunk runs it after each build (see Trunk.toml); standalone:
#   scripts/notation-assets.sh dist
set -eu
root="$(cd "$(dirname "$0")/.." && pwd)"
dir="${TRUNK_STAGING_DIR:-${1:?usage: notation-assets.sh BUILD_DIR}}"
abcjs="$root/node_modules/abcjs/dist"
[ -f "$abcjs/abcjs-basic-min.js" ] || { echo "abcjs is missing: run scripts/setup.sh" >&2; exit 1; }
mkdir -p "$dir/notation"
cp "$abcjs/abcjs-basic-min.js" "$abcjs/abcjs-basic-min.js.LICENSE" "$dir/notation/"
cd "$root"
cargo run --quiet --locked --bin tunebook-soundfont -- "$dir/notation/soundfont"
