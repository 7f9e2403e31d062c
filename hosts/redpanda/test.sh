#!/usr/bin/env bash
# Tests the Redpanda transform: the callback driven natively with the SDK's mock types
# (tests/transform.rs), the sharding property of the core (tests/sharding.rs), then checks that
# the wasm32-wasip1 transform builds and imports only what a broker provides.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
cd "$here"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$here/target}"
export PATH="$HOME/.cargo/bin:$PATH"
cargo test
bash ./build.sh
node "$here/test/check-wasm.mjs" dist/auth_anomaly_redpanda.wasm
