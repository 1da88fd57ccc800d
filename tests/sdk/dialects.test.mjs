// The official `openai` SDK through the gateway to every provider dialect fake-provider
// speaks (SWITCHYARD_DIALECT_MODELS names one gateway model per dialect): non-stream,
// stream and a tool-call round trip each parse in the SDK, so the gateway's translation
// is faithful end to end.
import assert from "node:assert/strict";
import { test } from "node:test";
import OpenAI from "openai";

const client = new OpenAI({
  baseURL: process.env.SWITCHYARD_URL + "/v1",
  apiKey: process.env.SWITCHYARD_KEY,
  maxRetries: 0,
});
const models = (process.env.SWITCHYARD_DIALECT_MODELS || "small").split(/\s+/).filter(Boolean);

const tools = [
  {
    type: "function",
    function: {
      name: "lookup",
      description: "Look something up",
      parameters: { type: "object", properties: { query: { type: "string" } } },
    },
  },
];

for (const model of models) {
  test(`${model}: non-streaming`, async () => {
    const res = await client.chat.completions.create({
      model,
      messages: [
        { role: "system", content: "Be brief." },
        { role: "user", content: "Hello through the gateway" },
      ],
    });
    assert.equal(res.object, "chat.completion");
    assert.ok(res.choices[0].message.content.length > 0);
    assert.equal(res.choices[0].finish_reason, "stop");
    assert.ok(res.usage.prompt_tokens > 0 && res.usage.completion_tokens === 20);
  });

  test(`${model}: streaming`, async () => {
    const stream = await client.chat.completions.create({
      model,
      stream: true,
      stream_options: { include_usage: true },
      messages: [{ role: "user", content: "Stream through the gateway" }],
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
    assert.equal(text.split(/\s+/).filter(Boolean).length, 20, text);
    assert.equal(finish, "stop");
    assert.equal(usage.completion_tokens, 20);
  });

  test(`${model}: tool call round trip`, async () => {
    const first = await client.chat.completions.create({
      model,
      tools,
      messages: [{ role: "user", content: "find switchyards" }],
    });
    const call = first.choices[0].message.tool_calls?.[0];
    assert.ok(call, JSON.stringify(first));
    assert.equal(first.choices[0].finish_reason, "tool_calls");
    assert.equal(call.function.name, "lookup");
    assert.equal(typeof JSON.parse(call.function.arguments).query, "string");
    const second = await client.chat.completions.create({
      model,
      tools,
      messages: [
        { role: "user", content: "find switchyards" },
        first.choices[0].message,
        { role: "tool", tool_call_id: call.id, content: '{"found": 3}' },
      ],
    });
    assert.equal(second.choices[0].finish_reason, "stop");
    assert.ok(second.choices[0].message.content.length > 0);

    // the same call streamed: the SDK reassembles the arguments
    const stream = await client.chat.completions.create({
      model,
      tools,
      stream: true,
      messages: [{ role: "user", content: "find switchyards" }],
    });
    let args = "";
    let name = null;
    let finish = null;
    for await (const chunk of stream) {
      for (const c of chunk.choices) {
        for (const tc of c.delta?.tool_calls ?? []) {
          if (tc.function?.name) name = tc.function.name;
          args += tc.function?.arguments ?? "";
        }
        if (c.finish_reason) finish = c.finish_reason;
      }
    }
    assert.equal(name, "lookup");
    assert.equal(typeof JSON.parse(args).query, "string");
    assert.equal(finish, "tool_calls");
  });
}
