// The official `@google/genai` SDK as a client of fake-provider's Gemini dialect, directly
// (no gateway): every body and stream event fake-provider renders must parse in the SDK.
// Start `switchyard fake-provider --listen 127.0.0.1:0 --port-file P` and set
// FAKE_URL=http://127.0.0.1:PORT (FAKE_KEY when the scenario sets an api_key,
// FAKE_MODEL for a scenario model; defaults: "test", "fake-small").
import assert from "node:assert/strict";
import { test } from "node:test";
import { GoogleGenAI } from "@google/genai";

assert.ok(process.env.FAKE_URL, "FAKE_URL must point at fake-provider");
const model = process.env.FAKE_MODEL || "fake-small";
// The SDK appends /v1beta/models/{model}:generateContent to baseUrl.
const ai = new GoogleGenAI({
  apiKey: process.env.FAKE_KEY || "test",
  httpOptions: { baseUrl: process.env.FAKE_URL },
});

test("generateContent", async () => {
  const res = await ai.models.generateContent({
    model,
    contents: "Hello from the Gemini SDK",
    config: { systemInstruction: "Be brief." },
  });
  assert.ok(res.text.length > 0);
  assert.equal(res.candidates[0].finishReason, "STOP");
  assert.equal(res.candidates[0].content.role, "model");
  const u = res.usageMetadata;
  assert.ok(u.promptTokenCount > 0);
  assert.ok(u.candidatesTokenCount > 0);
  assert.equal(u.totalTokenCount, u.promptTokenCount + u.candidatesTokenCount);
  assert.equal(res.modelVersion, model);
  assert.ok(res.responseId);
});

test("generateContent honours maxOutputTokens", async () => {
  const res = await ai.models.generateContent({
    model,
    contents: "Hello",
    config: { maxOutputTokens: 3 },
  });
  assert.equal(res.candidates[0].finishReason, "MAX_TOKENS");
  assert.equal(res.usageMetadata.candidatesTokenCount, 3);
});

test("generateContentStream", async () => {
  const stream = await ai.models.generateContentStream({
    model,
    contents: [{ role: "user", parts: [{ text: "Stream to the Gemini SDK" }] }],
  });
  let text = "";
  let chunks = 0;
  let last = null;
  for await (const chunk of stream) {
    chunks++;
    text += chunk.text ?? "";
    last = chunk;
  }
  assert.ok(chunks >= 2, `expected several chunks, got ${chunks}`);
  assert.ok(text.length > 0);
  assert.equal(last.candidates[0].finishReason, "STOP");
  assert.ok(last.usageMetadata.candidatesTokenCount > 0);
});

const tools = [
  {
    functionDeclarations: [
      {
        name: "get_weather",
        description: "Current weather for a city",
        parameters: {
          type: "OBJECT",
          properties: { city: { type: "STRING" } },
          required: ["city"],
        },
      },
    ],
  },
];

test("function call answer", async () => {
  const res = await ai.models.generateContent({
    model,
    contents: "What is the weather in Paris?",
    config: { tools },
  });
  const calls = res.functionCalls;
  assert.ok(calls && calls.length === 1, "expected one function call");
  assert.equal(calls[0].name, "get_weather");
  assert.equal(typeof calls[0].args, "object");
  assert.equal(res.candidates[0].finishReason, "STOP");
});

test("function call answer, streamed", async () => {
  const stream = await ai.models.generateContentStream({
    model,
    contents: "What is the weather in Paris?",
    config: { tools },
  });
  const calls = [];
  for await (const chunk of stream) calls.push(...(chunk.functionCalls ?? []));
  assert.equal(calls.length, 1);
  assert.equal(calls[0].name, "get_weather");
});

test("a function response gets a text answer", async () => {
  const res = await ai.models.generateContent({
    model,
    contents: [
      { role: "user", parts: [{ text: "What is the weather in Paris?" }] },
      { role: "model", parts: [{ functionCall: { name: "get_weather", args: { city: "Paris" } } }] },
      {
        role: "user",
        parts: [{ functionResponse: { name: "get_weather", response: { content: "sunny" } } }],
      },
    ],
    config: { tools },
  });
  assert.equal(res.functionCalls, undefined);
  assert.ok(res.text.length > 0);
});

test("errors arrive in Gemini's shape", async () => {
  await assert.rejects(
    ai.models.generateContent({
      model,
      contents: "Hello",
      config: { httpOptions: { headers: { "x-fake-error": "http_503" } } },
    }),
    (err) => {
      assert.equal(err.status, 503);
      assert.match(err.message, /UNAVAILABLE/);
      return true;
    },
  );
});

test("models list", async () => {
  const pager = await ai.models.list();
  for await (const m of pager) assert.match(m.name, /^models\//);
});
