// The official `openai` npm SDK completes chat completions through the gateway.
// tests/sdk/run.sh starts fake-provider and the gateway and exports their address.
import assert from "node:assert/strict";
import { test } from "node:test";
import OpenAI from "openai";

const client = new OpenAI({
  baseURL: process.env.SWITCHYARD_URL + "/v1",
  apiKey: process.env.SWITCHYARD_KEY,
  maxRetries: 0,
});

test("non-streaming chat completion", async () => {
  const { data: res, response } = await client.chat.completions
    .create({ model: "large", messages: [{ role: "user", content: "Hello from the SDK" }] })
    .withResponse();
  assert.equal(res.object, "chat.completion");
  assert.equal(res.choices[0].message.role, "assistant");
  assert.ok(res.choices[0].message.content.length > 0);
  assert.equal(res.choices[0].finish_reason, "stop");
  assert.equal(res.usage.completion_tokens, 20);
  assert.equal(response.headers.get("x-switchyard-model"), "large");
});

test("streaming chat completion", async () => {
  const stream = await client.chat.completions.create({
    model: "chat",
    stream: true,
    stream_options: { include_usage: true },
    messages: [{ role: "user", content: "Stream to the SDK" }],
  });
  let text = "";
  let finish = null;
  let usage = null;
  for await (const chunk of stream) {
    if (chunk.usage) usage = chunk.usage;
    for (const c of chunk.choices) {
      text += c.delta?.content ?? "";
      if (c.finish_reason) finish = c.finish_reason;
    }
  }
  assert.ok(text.split(/\s+/).filter(Boolean).length === 20, text);
  assert.equal(finish, "stop");
  assert.equal(usage.completion_tokens, 20);
});

test("errors surface as typed SDK errors", async () => {
  await assert.rejects(
    client.chat.completions.create({ model: "nope", messages: [{ role: "user", content: "x" }] }),
    (err) => err instanceof OpenAI.NotFoundError && err.code === "model_not_found",
  );
  const bad = new OpenAI({ baseURL: client.baseURL, apiKey: "sk-wrong", maxRetries: 0 });
  await assert.rejects(
    bad.chat.completions.create({ model: "large", messages: [{ role: "user", content: "x" }] }),
    (err) => err instanceof OpenAI.AuthenticationError,
  );
});
