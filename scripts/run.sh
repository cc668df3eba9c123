#!/usr/bin/env bash
# Builds and serves Tunebook at http://127.0.0.1:8080 with its local Supabase-compatible
# backend (PostgreSQL + PostgREST + the auth/gateway stand-in) at http://127.0.0.1:54321.
# Installs whatever is missing first. Ctrl-C stops everything.
# Options are passed to the backend (see `cargo run -p tunebook-backend -- --help`),
# e.g. --reset to start with an empty database.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh

say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

say "Building the local backend"
cargo build -p tunebook-backend --locked
say "Starting the local backend"
target/debug/tunebook-backend "$@" &
backend=$!
stop() {
  kill -INT "$backend" 2>/dev/null || true
  wait "$backend" 2>/dev/null || true
}
trap stop EXIT INT TERM

say "Building and serving the app at http://127.0.0.1:8080"
trunk serve --release
