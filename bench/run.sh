#!/usr/bin/env bash
# `make bench`: every benchmark of issues 9, 17 and 22 in one invocation, on this machine. Prints
# each part and writes them all to bench/results/<UTC date>-<host>.md (the machine's
# description and load average first). docs/performance.md explains the figures.
# Usage: bench/run.sh [build-dir]   (after scripts/install-deps.sh bench and a build)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=$(realpath "${1:-$root/build}")
bin=$build/switchyard
cd "$root"
out=bench/results/$(date -u +%F)-$(hostname -s).md
mkdir -p bench/results

# The Portkey gateway (npm, pinned by bench/portkey/package-lock.json): installed into
# bench/portkey/node_modules once; compare.py skips it with a message without node.
if command -v npm >/dev/null 2>&1 && [ ! -e bench/portkey/node_modules/@portkey-ai/gateway ]; then
  (cd bench/portkey && npm ci --ignore-scripts --no-audit --no-fund) ||
    echo "bench: npm ci in bench/portkey failed; Portkey will be skipped" >&2
fi

section() { # title command...: run, print, append the output to $out as a code block
  local title=$1; shift
  echo "== $title: $*"
  local o
  o=$("$@")
  echo "$o"
  printf '\n## %s\n\nCommand: `%s`\n\n```\n%s\n```\n' "$title" "$*" "$o" >> "$out"
}

/usr/bin/python3 bench/compare.py --bin "$bin" --out "$out"
# the same table with 2 workers for both proxies (appended; Portkey has one process)
/usr/bin/python3 bench/compare.py --bin "$bin" --workers 2 --no-portkey | tee -a "$out"
/usr/bin/python3 bench/stream.py --bin "$bin" --out "$out"
/usr/bin/python3 bench/callgrind.py --bin "$bin" --out "$out"
/usr/bin/python3 bench/callgrind.py --bin "$bin" --tls --requests 1000 --out "$out"
/usr/bin/python3 bench/syscalls.py --bin "$bin" --out "$out"
section "Policy decisions" "$build/bench/decide_bench" --arms 11 --dim 24 --seconds 1 --runs 5
section "Simulator decisions (linear Thompson, K = 11)" "$bin" sim --bench
section "Store" "$build/bench/store_bench" 200000 1000
section "Semantic cache lookup at 100k entries (cache/ann.h)" "$build/bench/ann_bench" --entries 100000 --queries 10000 --dim 256
section "Guardrails matching (CPU time per KB)" "$build/bench/guard_bench" --seconds 0.5 --runs 5
section "Hashing per request (feedback token, key and conversation digests)" "$build/bench/hash_bench" --seconds 0.3 --runs 5
section "Gateway overhead against fake-provider" bench/overhead.sh "$bin" 5
if command -v redis-server >/dev/null 2>&1; then # cluster mode on against off (docs/scale-out.md)
  section "Cluster mode on Redis" /usr/bin/python3 bench/cluster.py --bin "$bin" --rounds 5
else
  echo "bench: redis-server not installed (make deps-test); cluster mode skipped" >&2
fi
ulimit -n 8192
section "Memory under many connections" /usr/bin/python3 bench/rss.py "$bin" 1000
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$out"
echo "written: $out"
