#!/usr/bin/env bash
# Runs Tunebook's benchmarks and prints their tables; each also writes
# target/bench/<name>.json. Numbers, not pass/fail: compare ratios on a noisy machine.
#   foundation: the browser app and its SQLite-in-OPFS worker (release build)
#   sync:       pushing and pulling between the browser and the local stack, and edits
#               reaching another device through Realtime
#   pwa:        starting from the service worker cache, and what a repeat visit downloads
#   practice:   today's queue from a long practice history, and rating by keyboard
#   abc:        importing a tune book, drawing a staff, and what notation downloads
#   tabs:       edits reaching the other windows, and a new leader when the leader closes
#   backend:    the local gateway and PostgREST
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
export CHROMEDRIVER=${CHROMEDRIVER:-/usr/bin/chromedriver}

trunk build --release --dist target/bench/dist
trunk build benches/browser/index.html --release --dist target/bench/dist/bench --public-url /bench/
cargo bench -p tunebook --bench foundation --locked
cargo bench -p tunebook --bench sync --locked
cargo bench -p tunebook --bench pwa --locked
cargo bench -p tunebook --bench practice --locked
cargo bench -p tunebook --bench abc --locked
cargo bench -p tunebook --bench tabs --locked
cargo bench -p tunebook-backend --bench gateway --locked
