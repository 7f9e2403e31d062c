#!/usr/bin/env bash
# Builds the Redpanda data transform: hosts/redpanda/dist/auth_anomaly_redpanda.wasm
# (wasm32-wasip1, release). `rpk transform build` in this directory does the same build.
set -euo pipefail
# Cargo.lock is kept in the repository; no --locked, so a change of the core's dependencies
# updates it instead of failing the build.
here="$(cd "$(dirname "$0")" && pwd)"
cd "$here"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$here/target}"
export PATH="$HOME/.cargo/bin:$PATH"
rustup target list --installed 2>/dev/null | grep -qx wasm32-wasip1 || rustup target add wasm32-wasip1
cargo build --release --target wasm32-wasip1 --bin auth-anomaly-redpanda
mkdir -p dist
cp "$CARGO_TARGET_DIR/wasm32-wasip1/release/auth-anomaly-redpanda.wasm" dist/auth_anomaly_redpanda.wasm
echo "dist/auth_anomaly_redpanda.wasm: $(wc -c < dist/auth_anomaly_redpanda.wasm) bytes"
