#!/usr/bin/env bash
# Run every libFuzzer target for SECONDS each (default 60), starting from the committed
# corpus; new interesting inputs go to build-fuzz/corpus/<target> (merge them into
# tests/fuzz/corpus/<target> with -merge=1 to keep them). Crashes are saved as
# build-fuzz/crash-* and make the script fail.
# Usage: scripts/fuzz.sh [build-fuzz] [seconds]
set -euo pipefail
build=${1:-build-fuzz}
secs=${2:-60}
root=$(cd "$(dirname "$0")/.." && pwd)
status=0
for bin in "$build"/tests/fuzz/fuzz_*; do
  case "$bin" in *_replay) continue ;; esac
  target=$(basename "$bin"); target=${target#fuzz_}
  mkdir -p "$build/corpus/$target"
  echo "== fuzz_$target for ${secs}s"
  if ! "$bin" -max_total_time="$secs" -print_final_stats=1 -timeout=10 -rss_limit_mb=2048 \
       -artifact_prefix="$build/crash-$target-" "$build/corpus/$target" \
       "$root/tests/fuzz/corpus/$target" 2> "$build/fuzz-$target.log"; then
    status=1
  fi
  grep -E "^stat::number_of_executed_units|^stat::new_units_added|^stat::peak_rss_mb|ERROR|SUMMARY" \
    "$build/fuzz-$target.log" || true
done
exit $status
