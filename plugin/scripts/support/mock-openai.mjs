// Minimal OpenAI-compatible model on 127.0.0.1: streams "Mock reply #n" with a usage chunk
// (stream_options.include_usage), and logs every call with the usage it reported (the e2e
// compares creditgate's bill with it). Enough for OpenClaw's openai-completions API.
import { createServer } from "node:http";

export async function startMockOpenAI() {
  const calls = [];
  const server = createServer(async (req, res) => {
    const chunks = [];
    for await (const c of req) chunks.push(c);
    const raw = Buffer.concat(chunks).toString("utf8");
    const url = req.url ?? "";
    if (req.method === "GET" && url.endsWith("/models")) {
      res.writeHead(200, { "content-type": "application/json" });
      return res.end(JSON.stringify({ object: "list", data: [{ id: "mock-gpt", object: "model" }] }));
    }
    if (req.method !== "POST" || !url.endsWith("/chat/completions")) {
      res.writeHead(404);
      return res.end();
    }
    let body = {};
    try {
      body = JSON.parse(raw);
    } catch {}
    const n = calls.length + 1;
    const id = `chatcmpl-mock-${String(n).padStart(6, "0")}`;
    const text = `Mock reply #${n}`;
    const usage = {
      prompt_tokens: 1000 + n,
      completion_tokens: 5,
      total_tokens: 1005 + n,
      prompt_tokens_details: { cached_tokens: 0 },
    };
    calls.push({ at: Date.now(), n, model: body.model, messages: body.messages?.length ?? 0, usage });
    const created = Math.floor(Date.now() / 1000);
    if (!body.stream) {
      res.writeHead(200, { "content-type": "application/json" });
      return res.end(
        JSON.stringify({
          id,
          object: "chat.completion",
          created,
          model: "mock-gpt",
          choices: [{ index: 0, message: { role: "assistant", content: text }, finish_reason: "stop" }],
          usage,
        }),
      );
    }
    res.writeHead(200, {
      "content-type": "text/event-stream",
      "cache-control": "no-cache",
      connection: "keep-alive",
    });
    const send = (o) => res.write(`data: ${JSON.stringify(o)}\n\n`);
    const base = { id, object: "chat.completion.chunk", created, model: "mock-gpt" };
    send({
      ...base,
      choices: [{ index: 0, delta: { role: "assistant", content: text }, finish_reason: null }],
    });
    send({ ...base, choices: [{ index: 0, delta: {}, finish_reason: "stop" }] });
    send({ ...base, choices: [], usage });
    res.end("data: [DONE]\n\n");
  });
  await new Promise((r) => server.listen(0, "127.0.0.1", r));
  const port = server.address().port;
  return {
    url: `http://127.0.0.1:${port}/v1`,
    calls,
    stop: () => new Promise((r) => server.close(() => r())),
  };
}
