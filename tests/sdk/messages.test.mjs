// The official `@anthropic-ai/sdk` as a client of the gateway's Messages API ingress
// (POST /v1/messages, /v1/messages/count_tokens): plain, streamed with
// messages.stream().finalMessage(), a tool-use round trip, and Anthropic's errors, in
// front of models of each upstream dialect and a route. run.sh starts the gateway
// (SWITCHYARD_URL, SWITCHYARD_KEY; models small: OpenAI, a-small: Anthropic, g-small:
// Gemini; route chat).
import assert from "node:assert/strict";
import { test } from "node:test";
import Anthropic from "@anthropic-ai/sdk";

assert.ok(process.env.SWITCHYARD_URL, "SWITCHYARD_URL must point at the gateway");
// The SDK appends /v1/messages to baseURL and sends the key in x-api-key.
const client = new Anthropic({
  apiKey: process.env.SWITCHYARD_KEY,
  baseURL: process.env.SWITCHYARD_URL,
  maxRetries: 0,
});
const models = ["small", "a-small", "g-small", "chat"];

const tools = [
  {
    name: "get_weather",
    description: "Current weather for a city",
    input_schema: { type: "object", properties: { query: { type: "string" } } },
  },
];

for (const model of models) {
  test(`messages.create through ${model}`, async () => {
    const msg = await client.messages.create({
      model,
      max_tokens: 1024,
      system: "Be brief.",
      messages: [{ role: "user", content: "Hello from the Anthropic SDK" }],
    });
    assert.equal(msg.type, "message");
    assert.equal(msg.role, "assistant");
    assert.match(msg.id, /^req_/);
    assert.equal(msg.content[0].type, "text");
    assert.ok(msg.content[0].text.length > 0);
    assert.equal(msg.stop_reason, "end_turn");
    assert.ok(msg.usage.input_tokens + msg.usage.cache_read_input_tokens > 0);
    assert.equal(msg.usage.output_tokens, 20);
  });

  test(`messages.stream().finalMessage() through ${model}`, async () => {
    const stream = client.messages.stream({
      model,
      max_tokens: 1024,
      messages: [{ role: "user", content: "Stream to the Anthropic SDK" }],
    });
    let text = "";
    stream.on("text", (t) => (text += t));
    const msg = await stream.finalMessage();
    assert.equal(msg.content.length, 1);
    assert.equal(msg.content[0].type, "text");
    assert.equal(msg.content[0].text, text);
    assert.ok(text.length > 20);
    assert.equal(msg.stop_reason, "end_turn");
    assert.equal(msg.usage.output_tokens, 20);
    assert.ok(msg.usage.input_tokens > 0);
  });

  test(`a tool-use round trip through ${model}, streamed and not`, async () => {
    const question = "What is the weather in Oslo?";
    const messages = [{ role: "user", content: question }];
    const first = await client.messages.stream({ model, max_tokens: 512, tools, messages }).finalMessage();
    assert.equal(first.stop_reason, "tool_use");
    const call = first.content.find((b) => b.type === "tool_use");
    assert.equal(call.name, "get_weather");
    assert.deepEqual(call.input, { query: question });
    messages.push({ role: "assistant", content: first.content });
    messages.push({
      role: "user",
      content: [{ type: "tool_result", tool_use_id: call.id, content: "4 degrees, snow" }],
    });
    const second = await client.messages.create({ model, max_tokens: 512, tools, messages });
    assert.equal(second.stop_reason, "end_turn");
    assert.equal(second.content[0].type, "text");
    assert.ok(second.content[0].text.length > 0);
  });
}

test("a non-streamed tool call has its input parsed", async () => {
  const msg = await client.messages.create({
    model: "small",
    max_tokens: 512,
    tools,
    tool_choice: { type: "any" },
    messages: [{ role: "user", content: "Weather in Rome" }],
  });
  assert.equal(msg.stop_reason, "tool_use");
  assert.deepEqual(msg.content.at(-1).input, { query: "Weather in Rome" });
});

test("wrong key → AuthenticationError", async () => {
  const bad = new Anthropic({ apiKey: "sk-wrong", baseURL: process.env.SWITCHYARD_URL, maxRetries: 0 });
  await assert.rejects(
    bad.messages.create({ model: "small", max_tokens: 10, messages: [{ role: "user", content: "x" }] }),
    (err) => {
      assert.ok(err instanceof Anthropic.AuthenticationError, String(err));
      assert.equal(err.status, 401);
      assert.equal(err.error.type, "error");
      assert.equal(err.error.error.type, "authentication_error");
      return true;
    },
  );
});

test("unknown model → NotFoundError", async () => {
  await assert.rejects(
    client.messages.create({ model: "no-such-model", max_tokens: 10, messages: [{ role: "user", content: "x" }] }),
    (err) => {
      assert.ok(err instanceof Anthropic.NotFoundError, String(err));
      assert.equal(err.error.error.type, "not_found_error");
      return true;
    },
  );
});

test("a bad body → BadRequestError naming the member", async () => {
  await assert.rejects(
    client.messages.create({ model: "small", max_tokens: 10, temperature: 3, messages: [{ role: "user", content: "x" }] }),
    (err) => {
      assert.ok(err instanceof Anthropic.BadRequestError, String(err));
      assert.match(err.error.error.message, /^temperature: /);
      return true;
    },
  );
});

test("messages.countTokens: the gateway's estimate", async () => {
  const short = await client.messages.countTokens({
    model: "small",
    messages: [{ role: "user", content: "Hello" }],
  });
  // {"model":"small","messages":[{"role":"user","content":"Hello"}]}: ceil(64 / 4)
  assert.equal(short.input_tokens, 16);
  const long = await client.messages.countTokens({
    model: "a-small",
    system: "Answer in French. ".repeat(20),
    tools,
    messages: [{ role: "user", content: "Hello" }],
  });
  assert.ok(long.input_tokens > short.input_tokens + 80);
});
