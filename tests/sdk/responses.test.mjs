// The official `openai` npm SDK against the gateway's POST /v1/responses (the Responses
// API): translated to chat for "small" (OpenAI chat dialect) and "a-small" (Anthropic),
// forwarded natively for "r-small" (a provider with "responses_api": true); plain,
// streamed (responses.stream().finalResponse() and create({stream: true})), a tool round
// trip (function_call -> function_call_output), errors, and models.retrieve.
// tests/sdk/run.sh configures the models.
import assert from "node:assert/strict";
import { test } from "node:test";
import OpenAI from "openai";

const client = new OpenAI({
  baseURL: process.env.SWITCHYARD_URL + "/v1",
  apiKey: process.env.SWITCHYARD_KEY,
  maxRetries: 0,
});

const MODELS = ["small", "r-small", "a-small"];
// the text of a Response's message items (responses.stream()'s final response has no
// output_text convenience in this SDK version)
const textOf = (res) =>
  res.output
    .filter((o) => o.type === "message")
    .flatMap((o) => o.content)
    .filter((c) => c.type === "output_text")
    .map((c) => c.text)
    .join("");
const weather = {
  type: "function",
  name: "get_weather",
  description: "The weather of a city",
  parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] },
  strict: false,
};

for (const model of MODELS) {
  test(`responses: plain (${model})`, async () => {
    const { data: res, response } = await client.responses
      .create({ model, input: "Hello from the SDK", instructions: "Be brief." })
      .withResponse();
    assert.equal(res.object, "response");
    assert.equal(res.status, "completed");
    assert.equal(res.model, model);
    assert.equal(res.id, response.headers.get("x-switchyard-request-id"));
    assert.ok(res.output_text.startsWith("Lorem ipsum"), res.output_text); // the SDK's convenience
    assert.equal(res.usage.output_tokens, 20);
    assert.equal(res.usage.total_tokens, res.usage.input_tokens + res.usage.output_tokens);
    assert.ok(Number(response.headers.get("x-switchyard-cost-usd")) > 0);
  });

  test(`responses: streamed (${model})`, async () => {
    const stream = client.responses.stream({ model, input: "Stream to me" });
    let deltas = "";
    stream.on("response.output_text.delta", (e) => (deltas += e.delta));
    const final = await stream.finalResponse();
    assert.equal(final.status, "completed");
    assert.equal(textOf(final), deltas);
    assert.ok(deltas.startsWith("Lorem ipsum"));
    assert.equal(final.usage.output_tokens, 20);
    // the raw event stream
    const events = await client.responses.create({ model, input: "Again", stream: true });
    const types = [];
    for await (const ev of events) types.push(ev.type);
    assert.equal(types[0], "response.created");
    assert.equal(types.at(-1), "response.completed");
    assert.ok(types.includes("response.output_text.delta"));
  });

  test(`responses: a tool round trip (${model})`, async () => {
    const input = [{ role: "user", content: "What is the weather in Paris?" }];
    const first = await client.responses.create({ model, input, tools: [weather] });
    const call = first.output.find((o) => o.type === "function_call");
    assert.ok(call, JSON.stringify(first.output));
    assert.equal(call.name, "get_weather");
    assert.equal(typeof JSON.parse(call.arguments), "object");
    // the same through a stream
    const streamed = await client.responses
      .stream({ model, input, tools: [weather] })
      .finalResponse();
    const scall = streamed.output.find((o) => o.type === "function_call");
    assert.equal(scall.name, "get_weather");
    // the client runs the tool and sends its output back
    const second = await client.responses.create({
      model,
      tools: [weather],
      input: [
        ...input,
        { type: "function_call", call_id: call.call_id, name: call.name, arguments: call.arguments },
        { type: "function_call_output", call_id: call.call_id, output: "22 C and sunny" },
      ],
    });
    assert.deepEqual(second.output.map((o) => o.type), ["message"]);
    assert.ok(second.output_text.length > 0);
  });
}

test("responses: errors are the SDK's error classes", async () => {
  const bad = new OpenAI({ baseURL: client.baseURL, apiKey: "sk-wrong", maxRetries: 0 });
  await assert.rejects(bad.responses.create({ model: "small", input: "x" }), OpenAI.AuthenticationError);
  await assert.rejects(client.responses.create({ model: "nope", input: "x" }), OpenAI.NotFoundError);
  await assert.rejects(
    client.responses.create({ model: "small", input: "x", previous_response_id: "resp_1" }),
    (e) => e instanceof OpenAI.BadRequestError && e.param === "previous_response_id",
  );
  await assert.rejects(
    client.responses.create({ model: "r-small", input: "x", tools: [{ type: "web_search_preview" }] }),
    (e) => e instanceof OpenAI.BadRequestError && e.param === "tools[0].type",
  );
});

test("responses: models.retrieve names the models and routes it serves", async () => {
  for (const id of ["small", "r-small", "chat"]) {
    const m = await client.models.retrieve(id);
    assert.equal(m.id, id);
    assert.equal(m.object, "model");
  }
  await assert.rejects(client.models.retrieve("nope"), OpenAI.NotFoundError);
});
