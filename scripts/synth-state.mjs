// Synthetic OpenClaw state dirs in the real JSONL line format (pi session v3, as written by
// clawdbot 2026.1.x), for the crash test and `npm run bench:meter`. Deterministic per seed.
import { closeSync, mkdirSync, openSync, writeFileSync, writeSync } from "node:fs";
import { join } from "node:path";

/** Mock prices (USD per 1M tokens), the same as the shared fixtures: micro-USD per MTok. */
export const SYNTH_PRICES = {
  "mock/mock-gpt": { input: "3", output: "15", cacheRead: "0.3", cacheWrite: "3.75" },
};
const RATE = { input: 3_000_000n, output: 15_000_000n, cacheRead: 300_000n, cacheWrite: 3_750_000n };

function rng(seed) {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 4294967296;
  };
}

function hex(r, n) {
  let out = "";
  for (let i = 0; i < n; i++) out += Math.floor(r() * 16).toString(16);
  return out;
}

function uuid(r) {
  return `${hex(r, 8)}-${hex(r, 4)}-4${hex(r, 3)}-a${hex(r, 3)}-${hex(r, 12)}`;
}

const WORDS =
  "the bot reads a file and answers with care while tools run in the workspace of the agent".split(" ");
let POOL = "";
/** Pseudo-random prose: slices of a 1 MB pool of words (fast enough for gigabytes). */
function text(r, bytes) {
  if (!POOL) {
    const pr = rng(99);
    const parts = [];
    let n = 0;
    while (n < 1_100_000) {
      const w = WORDS[Math.floor(pr() * WORDS.length)];
      parts.push(w);
      n += w.length + 1;
    }
    POOL = parts.join(" ");
  }
  const len = Math.min(bytes, POOL.length - 1);
  const start = Math.floor(r() * (POOL.length - len));
  return POOL.slice(start, start + len);
}

/**
 * Writes `<stateDir>/agents/<agent>/sessions/*.jsonl` + `sessions.json`.
 * @param {{stateDir: string, agents?: number, sessions: number, turns: number, toolBytes?: number, users?: number, seed?: number, startMs?: number}} o
 * @returns {{ files: string[], sessions: {file: string, account: string}[], bytes: number, events: number, perAccount: Map<string, {events:number, costPico: bigint, chargeMicro: bigint}> }}
 */
export function synthState(o) {
  const r = rng(o.seed ?? 42);
  const agents = o.agents ?? 1;
  const users = o.users ?? 50;
  const toolBytes = o.toolBytes ?? 2000;
  let ts = o.startMs ?? 1_790_000_000_000;
  const perAccount = new Map();
  const files = [];
  const sessions = [];
  let bytes = 0;
  let events = 0;
  for (let a = 0; a < agents; a++) {
    const agentId = a === 0 ? "main" : `agent${a}`;
    const dir = join(o.stateDir, "agents", agentId, "sessions");
    mkdirSync(dir, { recursive: true });
    const index = {};
    for (let s = 0; s < o.sessions; s++) {
      const sessionId = uuid(r);
      const peer = String(100000 + Math.floor(r() * users));
      const key = `agent:${agentId}:telegram:direct:${peer}`;
      const account = `telegram:${peer}`;
      // several sessions may share a user: later ones use the per-account key shape so that
      // every session id stays in the index (it keeps one session per key)
      const indexKey = index[key] ? `agent:${agentId}:telegram:acct${s}:direct:${peer}` : key;
      index[indexKey] = { sessionId, updatedAt: ts, lastChannel: "telegram", chatType: "direct" };
      const path = join(dir, `${sessionId}.jsonl`);
      const fd = openSync(path, "w");
      const lines = [];
      const push = (obj) => lines.push(JSON.stringify(obj));
      let parent = null;
      const id = () => hex(r, 8);
      push({
        type: "session",
        version: 3,
        id: sessionId,
        timestamp: new Date(ts).toISOString(),
        cwd: "/home/bot/workspace",
      });
      parent = id();
      push({
        type: "model_change",
        id: parent,
        parentId: null,
        timestamp: new Date(ts).toISOString(),
        provider: "mock",
        modelId: "mock-gpt",
      });
      for (let t = 0; t < o.turns; t++) {
        ts += 1000 + Math.floor(r() * 5000);
        const u = id();
        push({
          type: "message",
          id: u,
          parentId: parent,
          timestamp: new Date(ts).toISOString(),
          message: {
            role: "user",
            content: [{ type: "text", text: text(r, 80 + Math.floor(r() * 300)) }],
            timestamp: ts,
          },
        });
        parent = u;
        for (const stop of ["toolUse", "stop"]) {
          ts += 500 + Math.floor(r() * 3000);
          const usage = {
            input: 500 + Math.floor(r() * 20000),
            output: 10 + Math.floor(r() * 800),
            cacheRead: Math.floor(r() * 30000),
            cacheWrite: r() < 0.2 ? Math.floor(r() * 5000) : 0,
          };
          usage.totalTokens = usage.input + usage.output + usage.cacheRead + usage.cacheWrite;
          const cost =
            BigInt(usage.input) * RATE.input +
            BigInt(usage.output) * RATE.output +
            BigInt(usage.cacheRead) * RATE.cacheRead +
            BigInt(usage.cacheWrite) * RATE.cacheWrite;
          const charge = (cost + 999_999n) / 1_000_000n;
          const acc = perAccount.get(account) ?? { events: 0, costPico: 0n, chargeMicro: 0n };
          acc.events++;
          acc.costPico += cost;
          acc.chargeMicro += charge;
          perAccount.set(account, acc);
          events++;
          const aid = id();
          const content =
            stop === "toolUse"
              ? [
                  {
                    type: "toolCall",
                    id: `call_${hex(r, 12)}`,
                    name: "read",
                    arguments: { path: "/home/bot/workspace/notes.md" },
                  },
                ]
              : [{ type: "text", text: text(r, 100 + Math.floor(r() * 600)) }];
          push({
            type: "message",
            id: aid,
            parentId: parent,
            timestamp: new Date(ts + 3).toISOString(),
            message: {
              role: "assistant",
              content,
              api: "openai-completions",
              provider: "mock",
              model: "mock-gpt",
              usage: { ...usage, cost: { total: Number(cost) / 1e12 } },
              stopReason: stop,
              timestamp: ts,
              // A provider response id, as OpenClaw >= 2026.9 writes (random, one per call).
              responseId: `chatcmpl-${aid}${ts.toString(36)}`,
            },
          });
          parent = aid;
          if (stop === "toolUse") {
            ts += 100;
            const tr = id();
            push({
              type: "message",
              id: tr,
              parentId: parent,
              timestamp: new Date(ts).toISOString(),
              message: {
                role: "toolResult",
                toolCallId: "call",
                toolName: "read",
                content: [{ type: "text", text: text(r, toolBytes) }],
                isError: false,
                timestamp: ts,
              },
            });
            parent = tr;
          }
        }
      }
      const buf = `${lines.join("\n")}\n`;
      writeSync(fd, buf);
      closeSync(fd);
      bytes += Buffer.byteLength(buf);
      files.push(path);
      sessions.push({ file: path, account });
    }
    writeFileSync(join(dir, "sessions.json"), JSON.stringify(index));
  }
  return { files, sessions, bytes, events, perAccount };
}

/**
 * One more model call in the same line format (a bot still writing), for tests that grow a
 * transcript while it is metered. Deterministic per `r`; `ts` must be unique per call (it is part
 * of the call's identity). Returns the JSONL line (with its newline) and the call's exact cost
 * (pico-USD) and charge (micro-credits at markup 1, 1 credit per USD, rounded up per call),
 * priced with SYNTH_PRICES.
 * @param {() => number} r uniform [0, 1)
 * @param {number} ts epoch ms
 * @returns {{ line: string, costPico: bigint, chargeMicro: bigint }}
 */
export function synthCallLine(r, ts) {
  const usage = {
    input: 500 + Math.floor(r() * 20000),
    output: 10 + Math.floor(r() * 800),
    cacheRead: Math.floor(r() * 30000),
    cacheWrite: r() < 0.2 ? Math.floor(r() * 5000) : 0,
  };
  usage.totalTokens = usage.input + usage.output + usage.cacheRead + usage.cacheWrite;
  const costPico =
    BigInt(usage.input) * RATE.input +
    BigInt(usage.output) * RATE.output +
    BigInt(usage.cacheRead) * RATE.cacheRead +
    BigInt(usage.cacheWrite) * RATE.cacheWrite;
  const line = `${JSON.stringify({
    type: "message",
    id: hex(r, 8),
    parentId: null,
    timestamp: new Date(ts + 3).toISOString(),
    message: {
      role: "assistant",
      content: [{ type: "text", text: text(r, 100 + Math.floor(r() * 300)) }],
      api: "openai-completions",
      provider: "mock",
      model: "mock-gpt",
      usage: { ...usage, cost: { total: Number(costPico) / 1e12 } },
      stopReason: "stop",
      timestamp: ts,
    },
  })}\n`;
  return { line, costPico, chargeMicro: (costPico + 999_999n) / 1_000_000n };
}

/** The xorshift32 generator synthState uses, for tests that want the same seeded stream. */
export { rng as synthRng };
