#!/usr/bin/env bash
# Builds the Fluent Bit filter: hosts/fluent-bit/dist/auth_anomaly_fluent_bit.wasm
# (wasm32-unknown-unknown, release). Bake a configuration in with
#   AUTH_ANOMALY_CONFIG='{"drop_normal":true}' hosts/fluent-bit/build.sh
set -euo pipefail
# Cargo.lock is kept in the repository; no --locked, so a change of the core's dependencies
# updates it instead of failing the build.
here="$(cd "$(dirname "$0")" && pwd)"
cd "$here"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$here/target}"
export PATH="$HOME/.cargo/bin:$PATH"
rustup target list --installed 2>/dev/null | grep -qx wasm32-unknown-unknown || rustup target add wasm32-unknown-unknown
cargo build --release --target wasm32-unknown-unknown
mkdir -p dist
cp "$CARGO_TARGET_DIR/wasm32-unknown-unknown/release/auth_anomaly_fluent_bit.wasm" dist/auth_anomaly_fluent_bit.wasm
echo "dist/auth_anomaly_fluent_bit.wasm: $(wc -c < dist/auth_anomaly_fluent_bit.wasm) bytes"
