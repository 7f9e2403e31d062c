#!/usr/bin/env bash
# Builds the Envoy (proxy-wasm) adapter: hosts/envoy/dist/auth_anomaly_envoy.wasm.
# Idempotent: cargo rebuilds only what changed, and dist/ is rewritten only when the module did.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
export PATH="$HOME/.cargo/bin:$PATH"
export CARGO_TARGET_DIR="$here/target"
target=wasm32-wasip1

if ! rustup target list --installed 2>/dev/null | grep -qx "$target"; then
  rustup target add "$target"
fi
cargo build --quiet --release --target "$target" --manifest-path "$here/Cargo.toml"

built="$CARGO_TARGET_DIR/$target/release/auth_anomaly_envoy.wasm"
out="$here/dist/auth_anomaly_envoy.wasm"
mkdir -p "$here/dist"
if ! cmp -s "$built" "$out"; then
  cp "$built" "$out.tmp" && mv "$out.tmp" "$out"
fi
echo "hosts/envoy: $(wc -c < "$out") bytes -> ${out#"$(cd "$here/../.." && pwd)/"}"
