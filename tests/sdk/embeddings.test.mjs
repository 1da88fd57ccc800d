// The official `openai` npm SDK against the gateway's POST /v1/embeddings and
// GET /v1/models/{id}. tests/sdk/run.sh configures "embed" (OpenAI dialect), "g-embed"
// (Gemini batchEmbedContents) and the route "vectors" over both.
import assert from "node:assert/strict";
import { test } from "node:test";
import OpenAI from "openai";

const client = new OpenAI({
  baseURL: process.env.SWITCHYARD_URL + "/v1",
  apiKey: process.env.SWITCHYARD_KEY,
  maxRetries: 0,
});

const norm = (v) => Math.sqrt(v.reduce((s, x) => s + x * x, 0));

test("embeddings: plain (the SDK asks for base64 and decodes it)", async () => {
  const { data: res, response } = await client.embeddings
    .create({ model: "embed", input: "Hello from the SDK" })
    .withResponse();
  assert.equal(res.object, "list");
  assert.equal(res.model, "embed");
  assert.equal(res.data.length, 1);
  const v = res.data[0].embedding;
  assert.ok(Array.isArray(v) && v.length === 8, JSON.stringify(v));
  assert.ok(Math.abs(norm(v) - 1) < 1e-5);
  assert.equal(res.usage.prompt_tokens, 5); // ceil(18 / 4)
  assert.equal(response.headers.get("x-switchyard-model"), "embed");
  // explicit floats agree with the decoded base64
  const f = await client.embeddings.create({
    model: "embed", input: "Hello from the SDK", encoding_format: "float" });
  f.data[0].embedding.forEach((x, i) => assert.ok(Math.abs(x - v[i]) < 1e-7));
});

test("embeddings: base64 as a string", async () => {
  const res = await client.embeddings.create({
    model: "embed", input: "raw bytes", encoding_format: "base64", dimensions: 4 });
  const b = Buffer.from(res.data[0].embedding, "base64");
  assert.equal(b.length, 16);
  const v = [0, 1, 2, 3].map((i) => b.readFloatLE(4 * i));
  assert.ok(Math.abs(norm(v) - 1) < 1e-5);
});

test("embeddings: batch, token arrays, Gemini upstream, route", async () => {
  const res = await client.embeddings.create({ model: "embed", input: ["one", "two", "three"] });
  assert.deepEqual(res.data.map((d) => d.index), [0, 1, 2]);
  const toks = await client.embeddings.create({ model: "embed", input: [[1, 2], [3]] });
  assert.equal(toks.data.length, 2);
  assert.equal(toks.usage.prompt_tokens, 3);
  const g = await client.embeddings.create({ model: "g-embed", input: ["one", "two"], dimensions: 6 });
  assert.equal(g.data.length, 2);
  assert.equal(g.data[1].embedding.length, 6);
  const { data: r, response } = await client.embeddings
    .create({ model: "vectors", input: "routed" })
    .withResponse();
  assert.equal(r.data.length, 1);
  assert.equal(response.headers.get("x-switchyard-route"), "vectors");
});

test("embeddings: a chat model is a 400 naming model", async () => {
  await assert.rejects(
    client.embeddings.create({ model: "small", input: "x" }),
    (err) => err instanceof OpenAI.BadRequestError && err.param === "model",
  );
  await assert.rejects(
    client.chat.completions.create({ model: "embed", messages: [{ role: "user", content: "x" }] }),
    (err) => err instanceof OpenAI.BadRequestError && err.param === "model",
  );
});

test("models.retrieve: models and routes, 404 for unknown ids", async () => {
  const m = await client.models.retrieve("embed");
  assert.equal(m.id, "embed");
  assert.equal(m.object, "model");
  assert.equal(m.owned_by, "fake");
  assert.equal(m.switchyard.mode, "embedding");
  const r = await client.models.retrieve("chat");
  assert.equal(r.owned_by, "switchyard");
  assert.deepEqual(r.switchyard.candidates, ["small", "large"]);
  const listed = [];
  for await (const x of client.models.list()) listed.push(x.id);
  assert.ok(listed.includes("embed") && listed.includes("vectors"));
  await assert.rejects(
    client.models.retrieve("nope"),
    (err) => err instanceof OpenAI.NotFoundError && err.code === "model_not_found",
  );
});
