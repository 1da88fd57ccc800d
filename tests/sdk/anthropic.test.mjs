// The official `@anthropic-ai/sdk` as a client of fake-provider's Anthropic Messages
// dialect, directly (no gateway): every body and stream event fake-provider renders must
// parse in the SDK, stream events in Anthropic's order, errors in Anthropic's shape.
// Start `switchyard fake-provider --listen 127.0.0.1:0 --port-file P` and set
// FAKE_URL=http://127.0.0.1:PORT (FAKE_KEY when the scenario sets an api_key,
// FAKE_MODEL for a scenario model; defaults: "test", "fake-small").
import assert from "node:assert/strict";
import { test } from "node:test";
import Anthropic from "@anthropic-ai/sdk";

assert.ok(process.env.FAKE_URL, "FAKE_URL must point at fake-provider");
const model = process.env.FAKE_MODEL || "fake-small";
// The SDK appends /v1/messages to baseURL and sends the key in x-api-key.
const client = new Anthropic({
  apiKey: process.env.FAKE_KEY || "test",
  baseURL: process.env.FAKE_URL,
  maxRetries: 0,
});

const tools = [
  {
    name: "get_weather",
    description: "Current weather for a city",
    input_schema: { type: "object", properties: { city: { type: "string" } }, required: ["city"] },
  },
];

test("messages.create", async () => {
  const msg = await client.messages.create({
    model,
    max_tokens: 1024,
    system: "Be brief.",
    messages: [{ role: "user", content: "Hello from the Anthropic SDK" }],
  });
  assert.equal(msg.type, "message");
  assert.equal(msg.role, "assistant");
  assert.match(msg.id, /^msg_/);
  assert.equal(msg.model, model);
  assert.equal(msg.content[0].type, "text");
  assert.ok(msg.content[0].text.length > 0);
  assert.equal(msg.stop_reason, "end_turn");
  assert.equal(msg.stop_sequence, null);
  assert.ok(msg.usage.input_tokens + msg.usage.cache_read_input_tokens > 0);
  assert.ok(msg.usage.output_tokens > 0);
});

test("messages.create honours max_tokens", async () => {
  const msg = await client.messages.create({
    model,
    max_tokens: 3,
    messages: [{ role: "user", content: "Hello" }],
  });
  assert.equal(msg.stop_reason, "max_tokens");
  assert.equal(msg.usage.output_tokens, 3);
});

test("raw stream: Anthropic's event sequence", async () => {
  const stream = await client.messages.create({
    model,
    max_tokens: 1024,
    stream: true,
    messages: [{ role: "user", content: "Stream to the Anthropic SDK" }],
  });
  const types = [];
  let text = "";
  let outputTokens = null;
  for await (const ev of stream) {
    types.push(ev.type);
    if (ev.type === "content_block_delta" && ev.delta.type === "text_delta") text += ev.delta.text;
    if (ev.type === "message_delta") {
      assert.equal(ev.delta.stop_reason, "end_turn");
      outputTokens = ev.usage.output_tokens;
    }
  }
  // the SDK swallows ping; the rest arrive in order
  assert.equal(types[0], "message_start");
  assert.equal(types[1], "content_block_start");
  const deltas = types.filter((t) => t === "content_block_delta").length;
  assert.ok(deltas >= 2, `expected several deltas, got ${deltas}`);
  assert.deepEqual(types.slice(-3), ["content_block_stop", "message_delta", "message_stop"]);
  assert.ok(text.length > 0);
  assert.equal(outputTokens, text.split(/\s+/).filter(Boolean).length);
});

test("messages.stream helper assembles the message", async () => {
  const stream = client.messages.stream({
    model,
    max_tokens: 1024,
    messages: [{ role: "user", content: "Stream again" }],
  });
  let text = "";
  stream.on("text", (t) => (text += t));
  const msg = await stream.finalMessage();
  assert.equal(msg.content[0].text, text);
  assert.equal(msg.stop_reason, "end_turn");
  assert.ok(msg.usage.output_tokens > 0);
});

test("tool_use answer", async () => {
  const msg = await client.messages.create({
    model,
    max_tokens: 1024,
    tools,
    messages: [{ role: "user", content: "What is the weather in Paris?" }],
  });
  assert.equal(msg.stop_reason, "tool_use");
  const use = msg.content.find((b) => b.type === "tool_use");
  assert.ok(use, JSON.stringify(msg));
  assert.match(use.id, /^toolu_/);
  assert.equal(use.name, "get_weather");
  assert.equal(typeof use.input, "object");
});

test("tool_use answer, streamed: input_json_delta pieces reassemble", async () => {
  const stream = client.messages.stream({
    model,
    max_tokens: 1024,
    tools,
    tool_choice: { type: "tool", name: "get_weather" },
    messages: [{ role: "user", content: "What is the weather in Paris?" }],
  });
  const pieces = [];
  stream.on("inputJson", (partial) => pieces.push(partial));
  const msg = await stream.finalMessage();
  assert.ok(pieces.length >= 2, `expected several input_json_delta pieces, got ${pieces.length}`);
  const use = msg.content[0];
  assert.equal(use.type, "tool_use");
  assert.equal(use.name, "get_weather");
  assert.equal(typeof use.input.query, "string");
  assert.equal(msg.stop_reason, "tool_use");
});

test("a tool_result gets a text answer", async () => {
  const msg = await client.messages.create({
    model,
    max_tokens: 1024,
    tools,
    messages: [
      { role: "user", content: "What is the weather in Paris?" },
      {
        role: "assistant",
        content: [{ type: "tool_use", id: "toolu_01", name: "get_weather", input: { city: "Paris" } }],
      },
      { role: "user", content: [{ type: "tool_result", tool_use_id: "toolu_01", content: "sunny" }] },
    ],
  });
  assert.equal(msg.stop_reason, "end_turn");
  assert.equal(msg.content[0].type, "text");
});

test("errors arrive in Anthropic's shape: 529 overloaded", async () => {
  await assert.rejects(
    client.messages.create(
      { model, max_tokens: 10, messages: [{ role: "user", content: "Hello" }] },
      { headers: { "x-fake-error": "http_529" } },
    ),
    (err) => {
      assert.ok(err instanceof Anthropic.APIError);
      assert.equal(err.status, 529);
      assert.equal(err.error.type, "error");
      assert.equal(err.error.error.type, "overloaded_error");
      return true;
    },
  );
});

test("a rate limit carries retry-after", async () => {
  await assert.rejects(
    client.messages.create(
      { model, max_tokens: 10, messages: [{ role: "user", content: "Hello" }] },
      { headers: { "x-fake-error": "http_429" } },
    ),
    (err) => {
      assert.ok(err instanceof Anthropic.RateLimitError);
      assert.ok(err.headers.get("retry-after"));
      assert.equal(err.error.error.type, "rate_limit_error");
      return true;
    },
  );
});

test("an error event inside a stream throws", async () => {
  const stream = await client.messages.create(
    { model, max_tokens: 10, stream: true, messages: [{ role: "user", content: "Hello" }] },
    { headers: { "x-fake-error": "error_event", "x-fake-after-tokens": "2" } },
  );
  await assert.rejects(
    (async () => {
      for await (const _ of stream);
    })(),
    (err) => {
      assert.ok(err instanceof Anthropic.APIError);
      assert.equal(err.error.error.type, "overloaded_error");
      return true;
    },
  );
});

test("a request without max_tokens is refused like Anthropic does", async () => {
  const res = await fetch(process.env.FAKE_URL + "/v1/messages", {
    method: "POST",
    headers: { "content-type": "application/json", "x-api-key": "test" },
    body: JSON.stringify({ model, messages: [{ role: "user", content: "x" }] }),
  });
  assert.equal(res.status, 400);
  const body = await res.json();
  assert.equal(body.type, "error");
  assert.equal(body.error.type, "invalid_request_error");
  assert.match(body.error.message, /max_tokens/);
});
