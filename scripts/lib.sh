# Shared by scripts/demo.sh, tests/sdk/run.sh and bench/overhead.sh: a temporary
# directory, background processes stopped on exit, and waiting for a --port-file.
# Source it from bash with `set -euo pipefail` in effect.
tmp=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
  rm -rf "$tmp"
}
trap cleanup EXIT

# wait_port_file FILE: until a server has written its port file (6 s at most).
wait_port_file() {
  for _ in $(seq 1 300); do [ -s "$1" ] && return 0; sleep 0.02; done
  echo "timed out waiting for $1" >&2
  return 1
}
