#!/usr/bin/env bash
# Runs every Tunebook check: formatting, lints (host and wasm32), native unit and
# integration tests (including the local backend against real PostgreSQL and PostgREST),
# wasm tests in headless Chromium, and end-to-end tests of the built app.
# Installs whatever is missing first (scripts/setup.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh

say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
export CHROMEDRIVER=${CHROMEDRIVER:-/usr/bin/chromedriver}

say "Formatting"
cargo fmt --all --check

say "Lints (host)"
cargo clippy --workspace --all-targets --locked -- -D warnings
say "Lints (wasm32)"
cargo clippy -p tunebook -p tunebook-core -p tunebook-store --lib --bins --tests \
  --target wasm32-unknown-unknown --locked -- -D warnings

say "Native tests"
cargo test --workspace --locked

say "Browser tests (wasm in headless Chromium)"
# wasm-bindgen-test-runner stops chromedriver without ending its session, so Chromium's
# throwaway profile (about 43 MB a run) would stay in /tmp for good: give the run a
# temporary directory of its own and remove it afterwards.
wasm_tmp=target/wasm-test-tmp
rm -rf "$wasm_tmp" && mkdir -p "$wasm_tmp"
TMPDIR="$PWD/$wasm_tmp" cargo test -p tunebook --target wasm32-unknown-unknown --locked \
  --test browser_opfs --test browser_memory_fallback
rm -rf "$wasm_tmp"

say "End-to-end tests (the release build users get, in headless Chromium)"
trunk build --release
trunk build --release --public-url /tunebook/ --dist target/dist-subpath
# One test at a time: each starts browsers (and some a backend) on two cores, and the
# tests wait for the page with a fixed timeout.
cargo test -p tunebook --locked --test e2e_tunes --test e2e_sync --test e2e_pwa --test e2e_usability --test e2e_library --test e2e_practice --test e2e_abc \
  -- --ignored --test-threads=1
