#!/usr/bin/env bash
# Run the SDK tests: start fake-provider and the gateway on free loopback ports, install
# the locked npm dependencies if needed, run `node --test`, stop everything.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
bin=${SWITCHYARD_BIN:-$here/../../build/switchyard}
source "$here/../../scripts/lib.sh"

cd "$here"
[ -d node_modules/openai ] || npm ci --no-audit --no-fund --loglevel=error

cat > "$tmp/scenario.json" <<'JSON'
{"seed": 1, "defaults": {"latency_ms": {"dist": "fixed", "value": 0},
 "ttft_ms": {"dist": "fixed", "value": 0}, "tokens_per_second": 0,
 "content": {"mode": "lorem", "tokens": 20}},
 "models": {"fake-small": {}, "fake-large": {}, "fake-embed": {}}}
JSON
"$bin" fake-provider --scenario "$tmp/scenario.json" --listen 127.0.0.1:0 \
  --port-file "$tmp/fake.port" > "$tmp/fake.log" 2>&1 &
pids+=($!)
wait_port_file "$tmp/fake.port"
fake_port=$(cut -d' ' -f1 "$tmp/fake.port")

key="sk-sdk-test-key"
hash=$(printf %s "$key" | sha256sum | cut -d' ' -f1)
# Every dialect fake-provider speaks becomes a provider; the openai SDK reaches each of
# them through the gateway (models small/large: OpenAI; g-small: Gemini; a-small:
# Anthropic; r-small: OpenAI's Responses API, forwarded natively).
cat > "$tmp/switchyard.json" <<JSON
{"listen": {"address": "127.0.0.1", "port": 0}, "workers": 1, "data_dir": "$tmp/data",
 "providers": {"fake": {"dialect": "openai", "base_url": "http://127.0.0.1:$fake_port/v1"},
               "fake-gemini": {"dialect": "gemini", "base_url": "http://127.0.0.1:$fake_port/v1beta"},
               "fake-anthropic": {"dialect": "anthropic", "base_url": "http://127.0.0.1:$fake_port/v1"},
               "fake-responses": {"dialect": "openai", "base_url": "http://127.0.0.1:$fake_port/v1",
                                  "responses_api": true}},
 "models": {"small": {"provider": "fake", "upstream_name": "fake-small",
                      "price": {"input": 0.15, "output": 0.6}},
            "large": {"provider": "fake", "upstream_name": "fake-large",
                      "price": {"input": 2.5, "output": 10}},
            "g-small": {"provider": "fake-gemini", "upstream_name": "fake-small",
                        "price": {"input": 0.3, "cached_input": 0.075, "output": 2.5}},
            "a-small": {"provider": "fake-anthropic", "upstream_name": "fake-small",
                        "price": {"input": 3, "cached_input": 0.3, "cache_write": 3.75,
                                  "output": 15}},
            "r-small": {"provider": "fake-responses", "upstream_name": "fake-small",
                        "price": {"input": 0.15, "output": 0.6}},
            "embed": {"provider": "fake", "upstream_name": "fake-embed", "kind": "embedding",
                      "price": {"input": 0.02, "output": 0}},
            "g-embed": {"provider": "fake-gemini", "upstream_name": "fake-embed",
                        "kind": "embedding", "price": {"input": 0.15, "output": 0}}},
 "routes": {"chat": {"candidates": ["small", "large"]},
            "vectors": {"candidates": ["embed", "g-embed"]}},
 "client_keys": [{"name": "sdk", "sha256": "$hash"}]}
JSON
"$bin" serve --config "$tmp/switchyard.json" --port-file "$tmp/gw.port" > "$tmp/gw.log" 2>&1 &
pids+=($!)
wait_port_file "$tmp/gw.port"

export SWITCHYARD_URL="http://127.0.0.1:$(cut -d' ' -f1 "$tmp/gw.port")"
export SWITCHYARD_KEY="$key"
export FAKE_URL="http://127.0.0.1:$fake_port"
export SWITCHYARD_DIALECT_MODELS="small g-small a-small"
# the openai SDK through the gateway; each dialect's own SDK straight at fake-provider
node --test ./*.test.mjs || { echo "--- gateway log"; cat "$tmp/gw.log"; exit 1; }
