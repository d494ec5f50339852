// chat_stream.mjs — the streaming client of ops/bench/chat_stream.sh:
// C concurrent clients each run R streamed chat completions against one
// URL (OpenAI's request shape, stream: true) and time them: time to the
// first content token from just before the request, and tokens per second
// from the first token to the last. Prints one JSON line of medians, p99
// and counts. Node's own fetch, so nothing is installed.
//
//   node chat_stream.mjs URL MODEL CONCURRENCY REQUESTS_EACH
const [url, model, concurrency, each] = [
  process.argv[2], process.argv[3], Number(process.argv[4]), Number(process.argv[5])];
const body = JSON.stringify({
  model, stream: true, messages: [{ role: "user", content: "count for me" }],
});

async function one() {
  const t0 = performance.now();
  const res = await fetch(url, { method: "POST", body, headers: { "Content-Type": "application/json" } });
  if (res.status !== 200) throw new Error(`${res.status}: ${await res.text()}`);
  const reader = res.body.getReader();
  const decoder = new TextDecoder();
  let pending = "", first = 0, last = 0, tokens = 0, done = false;
  for (;;) {
    const { value, done: end } = await reader.read();
    if (end) break;
    pending += decoder.decode(value, { stream: true });
    let cut;
    while ((cut = pending.indexOf("\n\n")) >= 0) {
      const event = pending.slice(0, cut);
      pending = pending.slice(cut + 2);
      if (!event.startsWith("data: ")) continue;
      const data = event.slice(6);
      if (data === "[DONE]") { done = true; continue; }
      const chunk = JSON.parse(data);
      if (chunk.error) throw new Error(chunk.error.message);
      if (chunk.choices?.[0]?.delta?.content) {
        last = performance.now();
        if (!tokens++) first = last;
      }
    }
  }
  if (!done) throw new Error("the stream ended without [DONE]");
  return { ttft: first - t0, rate: tokens > 1 ? (tokens - 1) / ((last - first) / 1000) : 0, tokens };
}

async function client(out) {
  for (let i = 0; i < each; i++) out.push(await one());
}

const pct = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
};

await one(); // warm: connections, the provider's first answer
const results = [];
const t0 = performance.now();
await Promise.all(Array.from({ length: concurrency }, () => client(results)));
const seconds = (performance.now() - t0) / 1000;
const ttft = results.map((r) => r.ttft), rate = results.map((r) => r.rate);
console.log(JSON.stringify({
  streams: results.length,
  ttft_p50_ms: +pct(ttft, 50).toFixed(3), ttft_p99_ms: +pct(ttft, 99).toFixed(3),
  rate_p50: +pct(rate, 50).toFixed(1), rate_min: +Math.min(...rate).toFixed(1),
  tokens: results[0].tokens, seconds: +seconds.toFixed(2),
}));
