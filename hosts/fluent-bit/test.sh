#!/usr/bin/env bash
# Tests the Fluent Bit filter: native unit tests of the adapter, then the release .wasm driven by a
# Node harness that does what Fluent Bit's flb_wasm.c does (test/harness.mjs).
# The tests expect the default build: AUTH_ANOMALY_CONFIG is unset here, so a dist/ module built
# with a baked configuration is rebuilt without it (cargo tracks the variable).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
cd "$here"
unset AUTH_ANOMALY_CONFIG
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$here/target}"
export PATH="$HOME/.cargo/bin:$PATH"
bash ./build.sh
cargo test
cd ../..
node --test hosts/fluent-bit/test/
