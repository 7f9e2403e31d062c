#!/usr/bin/env bash
# Installs everything `make build`, `make demo` and `make test` need, from the package registries
# only (crates.io, npm, Debian). cargo-deny (for `make deny`) takes several minutes the first time. Idempotent: a second run only checks versions.
set -euo pipefail
cd "$(dirname "$0")/.."

WASM_PACK_VERSION=0.15.1
CARGO_DENY_VERSION=0.20.2
# Must match the `wasm-bindgen = "=…"` pin in Cargo.toml.
WASM_BINDGEN_VERSION=$(sed -n 's/^wasm-bindgen = { version = "=\([0-9.]*\)".*/\1/p' Cargo.toml)
[ -n "$WASM_BINDGEN_VERSION" ] || { echo "setup: cannot read the wasm-bindgen pin from Cargo.toml" >&2; exit 1; }
export PATH="$HOME/.cargo/bin:$PATH"

want_browser=0
for arg in "$@"; do
  case "$arg" in
    --browser) want_browser=1 ;;
  esac
done

installed_targets=$(rustup target list --installed)
for t in wasm32-unknown-unknown wasm32-wasip1; do
  grep -qx "$t" <<<"$installed_targets" || rustup target add "$t"
done

have_version() { command -v "$1" >/dev/null 2>&1 && "$1" --version 2>/dev/null | grep -q "$2"; }
have_version wasm-pack "$WASM_PACK_VERSION" || cargo install wasm-pack --version "$WASM_PACK_VERSION" --locked
# 0.2.130's lockfile names a yanked webpki-roots, hence the pin to a version whose --locked install works.
have_version wasm-bindgen "$WASM_BINDGEN_VERSION" || cargo install wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION" --locked
# `make deny` (licences, bans, sources; deny.toml is written for this version's schema).
command -v cargo-deny >/dev/null 2>&1 || cargo install cargo-deny --version "$CARGO_DENY_VERSION" --locked

# npm: binaryen (wasm-opt for wasm-pack), playwright-core (drives Debian's Chromium).
if [ ! -x node_modules/.bin/wasm-opt ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi

if [ "$want_browser" = 1 ]; then
  if ! command -v chromium >/dev/null 2>&1 || ! command -v chromedriver >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ]; then
      apt-get update -qq
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver
    else
      echo "setup: chromium and chromium-driver are missing; install them (apt-get install chromium chromium-driver) or run as root" >&2
      exit 1
    fi
  fi
fi
