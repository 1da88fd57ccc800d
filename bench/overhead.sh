#!/usr/bin/env bash
# Per-request overhead of the gateway: the same chat request sent with wrk (1 connection,
# so latencies are not queueing) straight to fake-provider, then through the gateway to
# a model, then to a Thompson-sampling route. fake-provider answers at once (40 tokens),
# so the difference is what the gateway adds: parsing, auth, policy, translation, the
# extra loopback hop, relay, logging and the store event. The last line adds a client
# key whose requests and answers are checked against ten patterns (a regex guardrail).
# Usage: bench/overhead.sh [build/switchyard] [seconds]
set -euo pipefail
bin=$(realpath "${1:-build/switchyard}")
secs=${2:-5}
here=$(cd "$(dirname "$0")" && pwd)
source "$here/../scripts/lib.sh"

cat > "$tmp/scen.json" <<'JSON'
{"seed": 1, "defaults": {"latency_ms": {"dist": "fixed", "value": 0},
 "ttft_ms": {"dist": "fixed", "value": 0}, "tokens_per_second": 0,
 "content": {"mode": "lorem", "tokens": 40}},
 "models": {"fake-nano": {}, "fake-mini": {}, "fake-medium": {}, "fake-large": {}}}
JSON
"$bin" fake-provider --scenario "$tmp/scen.json" --listen 127.0.0.1:0 --port-file "$tmp/f.port" \
  > "$tmp/f.log" 2>&1 &
pids+=($!)
wait_port_file "$tmp/f.port"
fp=$(cut -d' ' -f1 "$tmp/f.port")
key=sk-bench-overhead-key
hash=$(printf %s "$key" | sha256sum | cut -d' ' -f1)
sed -e "s|@FAKE_URL@|http://127.0.0.1:$fp/v1|" -e "s|@KEY_SHA256@|$hash|" \
    -e "s|@DATA_DIR@|$tmp/data|" -e 's|"workers": 2|"workers": 1|' \
    "$here/../examples/demo.json" > "$tmp/c0.json"
# A second key whose requests and answers go through ten custom patterns (guardrails.md).
gkey=sk-bench-guarded-key
ghash=$(printf %s "$gkey" | sha256sum | cut -d' ' -f1)
jq --arg h "$ghash" '.guardrails.ten = {"kind": "regex", "action": "redact", "patterns": [
    "TICKET-[0-9]{6}", "(?i)project\\s+falcon", "\\bINV-[0-9]{4}-[0-9]{5}\\b", "(?i)confidential",
    "\\b[A-Z]{3}-[0-9]{8}\\b", "(?i)internal\\s+only", "\\bEMP[0-9]{6}\\b",
    "(?i)\\bcodename\\s+\\w+", "\\b(?:10|172|192)\\.[0-9]{1,3}\\.[0-9]{1,3}\\.[0-9]{1,3}\\b",
    "(?i)do\\s+not\\s+(?:share|forward)"]}
  | .client_keys += [{"name": "guarded", "sha256": $h, "guardrails": ["ten"]}]' \
  "$tmp/c0.json" > "$tmp/c.json"
"$bin" serve --config "$tmp/c.json" --port-file "$tmp/g.port" > "$tmp/g.log" 2>&1 &
pids+=($!)
wait_port_file "$tmp/g.port"
gp=$(cut -d' ' -f1 "$tmp/g.port")

run() { # label url model
  KEY=$key MODEL=$3 wrk -t1 -c1 -d"${secs}s" -s "$here/chat_post.lua" --latency "$2" > "$tmp/w"
  p50=$(awk '$1=="50%"{print $2}' "$tmp/w"); p99=$(awk '$1=="99%"{print $2}' "$tmp/w")
  rps=$(awk '/Requests\/sec/{print $2}' "$tmp/w")
  printf '%-34s p50 %-9s p99 %-9s %s req/s\n' "$1" "$p50" "$p99" "$rps"
}
KEY=$key MODEL=assistant wrk -t1 -c1 -d1s -s "$here/chat_post.lua" "http://127.0.0.1:$gp/v1/chat/completions" > /dev/null
run "fake-provider directly" "http://127.0.0.1:$fp/v1/chat/completions" fake-mini
run "through the gateway, a model" "http://127.0.0.1:$gp/v1/chat/completions" mini
run "through the gateway, thompson route" "http://127.0.0.1:$gp/v1/chat/completions" assistant
key=$gkey run "a model, ten-pattern guardrail" "http://127.0.0.1:$gp/v1/chat/completions" mini
