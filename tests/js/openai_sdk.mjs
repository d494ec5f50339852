// openai_sdk.mjs — the official `openai` npm package against a running
// stack, as an application would use it: chat completions (whole and
// streamed) and embeddings through the gateway's OpenAI-compatible routes. Run by tests/test_chat.c
// with LH_URL set; exits non-zero (saying why) on the first wrong answer.
import assert from "node:assert/strict";
import OpenAI from "openai";

const client = new OpenAI({ baseURL: `${process.env.LH_URL}/v1`, apiKey: "unused", maxRetries: 0 });

async function chat() {
  const r = await client.chat.completions.create({
    model: "extractive",
    messages: [
      { role: "system", content: "Answer from the documents." },
      { role: "user", content: "What does error E1234 mean?" },
    ],
    temperature: 0,
    // Lakehouse's own field rides along as the SDK's extra body.
    retrieve: { corpora: ["kb"], k: 3 },
  });
  assert.equal(r.object, "chat.completion");
  assert.equal(r.choices.length, 1);
  assert.equal(r.choices[0].message.role, "assistant");
  assert.match(r.choices[0].message.content, /Error code E1234 means the disk is full\./);
  assert.equal(r.choices[0].finish_reason, "stop");
  assert.equal(r.usage.total_tokens, r.usage.prompt_tokens + r.usage.completion_tokens);
  assert.equal(r.citations[0].id, "disk");
}

async function streaming() {
  const stream = await client.chat.completions.create({
    model: "extractive",
    messages: [{ role: "user", content: "What does error E1234 mean?" }],
    stream: true,
    stream_options: { include_usage: true },
    retrieve: { corpora: ["kb"], k: 3 },
  });
  let text = "", role, finish, usage, chunks = 0;
  for await (const chunk of stream) {
    assert.equal(chunk.object, "chat.completion.chunk");
    chunks++;
    if (chunk.usage) usage = chunk.usage;
    const c = chunk.choices[0];
    if (!c) continue;
    if (c.delta.role) role = c.delta.role;
    if (c.delta.content) text += c.delta.content;
    if (c.finish_reason) finish = c.finish_reason;
  }
  assert.ok(chunks >= 3, `${chunks} chunks`);
  assert.equal(role, "assistant");
  assert.match(text, /Error code E1234 means the disk is full\./);
  assert.equal(finish, "stop");
  assert.ok(usage.completion_tokens > 0);
  assert.equal(usage.total_tokens, usage.prompt_tokens + usage.completion_tokens);
  // A refusal comes before the stream starts, as an ordinary error.
  await assert.rejects(
    client.chat.completions.create({ model: "nope/model", stream: true, messages: [{ role: "user", content: "hi" }] }),
    (e) => e instanceof OpenAI.NotFoundError && /nope/.test(e.message),
  );
}

async function refusals() {
  await assert.rejects(
    client.chat.completions.create({ model: "nope/model", messages: [{ role: "user", content: "hi" }] }),
    (e) => e instanceof OpenAI.NotFoundError && /nope/.test(e.message),
  );
  await assert.rejects(
    client.chat.completions.create({ model: "extractive", messages: [] }),
    (e) => e instanceof OpenAI.BadRequestError && /messages/.test(e.message),
  );
}

async function embeddings() {
  // The SDK asks for base64 unless told otherwise; both must decode.
  for (const encoding_format of [undefined, "float"]) {
    const r = await client.embeddings.create({ input: ["hello world", "disk full"], encoding_format, model: "hash2-384" });
    assert.equal(r.data.length, 2);
    for (const d of r.data) {
      assert.equal(d.embedding.length, 384);
      const norm = Math.sqrt(d.embedding.reduce((s, x) => s + x * x, 0));
      assert.ok(Math.abs(norm - 1) < 1e-5, `norm ${norm}`);
    }
  }
}

try {
  await chat();
  await streaming();
  await refusals();
  await embeddings();
  console.log("openai sdk: ok");
} catch (e) {
  console.error("openai sdk:", e);
  process.exit(1);
}
