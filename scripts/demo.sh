#!/usr/bin/env bash
# The demo behind `make demo`: fake-provider and the gateway on loopback, a few plain and
# streaming requests through a route, a route learning the best model for one kind of
# prompt, another learning each kind's own model from a prompt mix, then a clean stop.
set -euo pipefail
bin=${1:-build/switchyard}
source "$(dirname "$0")/lib.sh"
say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

say "starting fake-provider (examples/demo-scenario.json)"
"$bin" fake-provider --scenario examples/demo-scenario.json --listen 127.0.0.1:0 \
  --port-file "$tmp/fake.port" > "$tmp/fake.log" 2>&1 &
pids+=($!)
wait_port_file "$tmp/fake.port"
fake_port=$(cut -d' ' -f1 "$tmp/fake.port")
echo "fake-provider on 127.0.0.1:$fake_port"

key=$("$bin" hash-key --generate | sed -n 's/^key: *//p')
hash=$(printf %s "$key" | "$bin" hash-key | sed -n 's/^sha256: *//p')
sed -e "s|@FAKE_URL@|http://127.0.0.1:$fake_port/v1|" -e "s|@KEY_SHA256@|$hash|" \
  -e "s|@DATA_DIR@|$tmp/data|" \
  examples/demo.json > "$tmp/switchyard.json"
"$bin" check-config "$tmp/switchyard.json"

say "starting the gateway"
"$bin" serve --config "$tmp/switchyard.json" --port-file "$tmp/gw.port" > "$tmp/gw.log" 2>&1 &
pids+=($!)
wait_port_file "$tmp/gw.port"
url="http://127.0.0.1:$(cut -d' ' -f1 "$tmp/gw.port")"
echo "gateway on $url"

say "GET /v1/models"
curl -sS "$url/v1/models" -H "Authorization: Bearer $key" | jq -c '.data[] | {id, kind: .switchyard.kind}'

say "5 plain requests to the route 'assistant' (the policy picks a model)"
for i in 1 2 3 4 5; do
  curl -sS -D "$tmp/h" "$url/v1/chat/completions" -H "Authorization: Bearer $key" \
    -H 'Content-Type: application/json' \
    -d "{\"model\":\"assistant\",\"messages\":[{\"role\":\"user\",\"content\":\"Question $i: what is a switchyard?\"}]}" \
    > "$tmp/b"
  model=$(grep -i '^x-switchyard-model:' "$tmp/h" | tr -d '\r' | cut -d' ' -f2)
  status=$(head -n1 "$tmp/h" | cut -d' ' -f2)
  if [ "$status" != 200 ]; then
    echo "request $i failed with HTTP $status: $(cat "$tmp/b")" >&2; exit 1
  fi
  jq -r --arg m "$model" '"  -> \($m): \(.choices[0].message.content[0:60])... (\(.usage.prompt_tokens) in, \(.usage.completion_tokens) out, \(.choices[0].finish_reason))"' "$tmp/b"
done

say "a streaming request, relayed chunk by chunk"
curl -sSN "$url/v1/chat/completions" -H "Authorization: Bearer $key" \
  -H 'Content-Type: application/json' \
  -d '{"model":"assistant","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"Stream a short answer"}]}' \
  > "$tmp/stream"
events=$(grep -c '^data: ' "$tmp/stream")
echo "  $events SSE events; the text they carry, joined:"
sed -n 's/^data: //p' "$tmp/stream" | grep -v '^\[DONE\]$' |
  jq -j 'select(.choices[0].delta.content != null) | .choices[0].delta.content' | fold -s -w 88 | sed 's/^/  /'
echo
sed -n 's/^data: //p' "$tmp/stream" | grep -v '^\[DONE\]$' |
  jq -r 'select(.usage != null) | "  usage chunk: \(.usage.prompt_tokens) in, \(.usage.completion_tokens) out"'
tail -n 2 "$tmp/stream" | grep -q '^data: \[DONE\]' && echo "  stream ended with data: [DONE]"

say "an unknown model and a missing key (OpenAI-shaped errors)"
curl -sS "$url/v1/chat/completions" -H "Authorization: Bearer $key" -H 'Content-Type: application/json' \
  -d '{"model":"gpt-9","messages":[{"role":"user","content":"hi"}]}'; echo
curl -sS "$url/v1/chat/completions" -H 'Content-Type: application/json' \
  -d '{"model":"assistant","messages":[{"role":"user","content":"hi"}]}'; echo

say "a thumbs-up for the last plain answer (POST /v1/feedback, acknowledged once on disk)"
first_id=$(grep -i '^x-switchyard-request-id:' "$tmp/h" | tr -d '\r' | cut -d' ' -f2)
curl -sS "$url/v1/feedback" -H "Authorization: Bearer $key" -H 'Content-Type: application/json' \
  -d "{\"request_id\":\"$first_id\",\"rating\":\"up\",\"comment\":\"demo\"}"; echo

n=${DEMO_REQUESTS:-1500}
say "learning: $n requests from synthetic users who rate each answer by the model's hidden quality"
echo "  route 'assistant': Thompson sampling, utility = quality - 200 x cost in USD"
echo "  columns: traffic share of the last 500 requests, thumbs-up rate, cost so far"
"$bin" loadgen --url "$url" --key "$key" --route assistant --fake "http://127.0.0.1:$fake_port" \
  -n "$n" -c 8 --seed 7 --report-every 2 --summary "$tmp/summary.json"

say "summary"
jq -r '.models | to_entries | map({name: .key, share: .value.recent_share, q: .value.hidden_quality,
        up: (if .value.rated > 0 then .value.ups / .value.rated else 0 end),
        cost: (if .value.requests > 0 then .value.cost_usd / .value.requests else 0 end)})
      | map(. + {utility: (.q - 200 * .cost)}) | sort_by(-.utility) | .[]
      | "  \(.name | . + "        " | .[0:8]) share of last 500 \(.share * 100 | floor)%  hidden quality \(.q)  thumbs-up \(.up * 100 | floor)%  mean cost $\(.cost * 1e6 | round / 1e6)  utility \(.utility * 1000 | round / 1000)"' \
  "$tmp/summary.json"
best=$(jq -r '.models | to_entries | map(. + {u: (.value.hidden_quality - 200 * (if .value.requests > 0 then .value.cost_usd / .value.requests else 0 end))}) | max_by(.u) | .key' "$tmp/summary.json")
top=$(jq -r '.models | to_entries | max_by(.value.recent_share) | "\(.key) \(.value.recent_share * 100 | floor)%"' "$tmp/summary.json")
echo
if [ "${top% *}" = "$best" ]; then
  echo "  the route concentrated on '$best' (${top#* } of the last 500 requests): the arm with the best utility"
else
  echo "  the route did not concentrate on the best-utility arm '$best' (top: $top)" >&2
  exit 1
fi

m=${DEMO_MIX_REQUESTS:-2000}
say "learning per kind of prompt: $m requests replaying examples/demo-mix.jsonl"
echo "  four kinds of prompt (chat, code, math, multiple-choice quiz), each best served by its own"
echo "  model (the scenario's quality_rules); route 'by-kind': linear Thompson sampling over the"
echo "  request's features (code, math and multiple-choice cues, length, words), same objective"
echo "  columns: each kind's traffic share over its last 100 requests"
"$bin" loadgen --url "$url" --key "$key" --route by-kind --fake "http://127.0.0.1:$fake_port" \
  --mix examples/demo-mix.jsonl -n "$m" -c 8 --seed 7 --window 100 --report-every 3 \
  --summary "$tmp/kinds.json"

say "per kind: where the first and the last 100 requests of each kind went"
# utility of a model for a kind = the hidden quality of its answers to that kind (null when it
# served none) - 200 x its mean cost per request
jq -r '(.models | map_values(if .requests > 0 then .cost_usd / .requests else 0 end)) as $cost
  | .kinds | to_entries[] | .key as $k | .value.models as $ms
  | ($ms | to_entries | map(select(.value.mean_quality != null)
       | {name: .key, u: (.value.mean_quality - 200 * $cost[.key])}) | max_by(.u) | .name) as $best
  | ($ms | to_entries | max_by(.value.recent_share)) as $top
  | "  \($k | . + "      " | .[0:6]) first 100: \($ms | to_entries | map("\(.key) \(.value.early_share * 100 | round)%") | join(", "))",
    "         last 100:  \($ms | to_entries | map("\(.key) \(.value.recent_share * 100 | round)%") | join(", "))",
    "         best utility: \($best); the route sends it \($top.value.recent_share * 100 | round)% \(if $top.key == $best then "(ok)" else "(NOT the best: \($top.key) leads)" end)"' \
  "$tmp/kinds.json" | tee "$tmp/kinds.txt"
echo
if grep -q 'NOT the best' "$tmp/kinds.txt"; then
  echo "  some kind of prompt did not end on its best model" >&2
  exit 1
fi
echo "  each kind of prompt ended on its own best model: the route learned from the prompts' features"

say "stopping (SIGTERM drains and exits 0)"
kill -TERM "${pids[1]}"; wait "${pids[1]}"; echo "gateway exited with $?"
say "what the gateway logged (one JSON line per request, $(grep -c '"msg":"request"' "$tmp/gw.log") in all; 6 chat lines)"
grep '"msg":"request"' "$tmp/gw.log" | jq -c 'select(.model != null) | {id, route, model, status, latency_ms, completion_tokens, cost_usd, propensity}' | sed -n 1,6p
