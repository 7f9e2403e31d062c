#!/usr/bin/env bash
# The recorded fuzzing campaign of RELIABILITY.md: seeds every target (seeds.mjs), then runs the
# targets one after another for SECONDS each (default 300) and prints libFuzzer's final stats.
# Needs cargo-fuzz, pkg/node (make build-node) and ../shared/fixtures. Corpora grow in
# fuzz/corpus/TARGET, crashes land in fuzz/artifacts/TARGET, logs in fuzz/target/campaign-*.log.
#   fuzz/campaign.sh [SECONDS] [TARGET...]
set -euo pipefail
cd "$(dirname "$0")"
export PATH="$HOME/.cargo/bin:$PATH"
secs=${1:-300}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(ndjson_ingest ecs_json ecs_stream syslog_line windows_json windows_fast config snapshot_restore snapshot_payload)
declare -A max_len=([ndjson_ingest]=65536 [ecs_json]=8192 [ecs_stream]=16384 [syslog_line]=4096 [windows_json]=16384 [windows_fast]=16384 [config]=4096 [snapshot_restore]=65536 [snapshot_payload]=65536)

rm -rf target/seeds
node seeds.mjs target/seeds
RUSTC_BOOTSTRAP=1 cargo fuzz build
for t in "${targets[@]}"; do
  mkdir -p "corpus/$t"
  echo "== $t: $secs s"
  # -fork=0 (one process): a crash stops the target and is reported below.
  RUSTC_BOOTSTRAP=1 cargo fuzz run "$t" "corpus/$t" "target/seeds/$t" -- \
    -max_total_time="$secs" -rss_limit_mb=2048 -max_len="${max_len[$t]}" -print_final_stats=1 \
    >"target/campaign-$t.log" 2>&1 || echo "$t: exit $? (see fuzz/target/campaign-$t.log)"
  grep -E '^#[0-9]+.*(INITED|DONE)|^stat::(number_of_executed_units|average_exec_per_sec|peak_rss_mb|new_units_added)|^==[0-9]+==|SUMMARY|^artifact_prefix|Test unit written' "target/campaign-$t.log" || true
  echo "corpus: $(ls "corpus/$t" | wc -l) inputs"
done
