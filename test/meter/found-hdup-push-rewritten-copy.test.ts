import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import type { PushEvent as PluginPushEvent } from "../../plugin/src/api-types.js";
import { UsagePusher } from "../../plugin/src/push.js";
import { createPushIngester, pushEventSchema } from "../../src/ingest/index.js";
import { queryUsage } from "../../src/meter/report.js";
import { parseDecimal } from "../../src/money.js";
import { casePricer, meterFor, type TempWorld, tempWorld } from "../support/meter-env.js";

/**
 * Case push-reply-copies: with the plugin's push metering on, every copy OpenClaw writes of one reply
 * (again seconds later under a new entry id, openclaw/openclaw#47211; partial then final under one
 * entry id; the two CLI turn lines of #118185) went through `before_message_write` and was pushed
 * under its own identity: the center billed each copy, and the meter found every transcript line
 * billed already. The meter alone skips those copies; the push must not bill what it skips.
 */
const CASES = resolve(import.meta.dirname, "../cases");
const NAME = "push-reply-copies";
const RIGHT = [{ key: "telegram:5550961", requests: 4, input: 5300, output: 440, costUsd: "0.0255" }];

let w: TempWorld | undefined;
afterEach(() => {
  w?.cleanup();
  w = undefined;
});

const quiet = { info() {}, warn() {}, error() {}, debug() {} } as never;

/** The plugin's pusher fed every message line of `state/` as OpenClaw writes it; what it pushed. */
async function pushedOf(stateDir: string): Promise<PluginPushEvent[]> {
  const sessionsDir = join(stateDir, "agents", "main", "sessions");
  const index = JSON.parse(readFileSync(join(sessionsDir, "sessions.json"), "utf8")) as Record<
    string,
    { sessionId: string }
  >;
  const pushed: PluginPushEvent[] = [];
  const pusher = new UsagePusher({
    client: {
      pushUsage: async (b: PluginPushEvent[]) => {
        pushed.push(...b);
        return { results: [] };
      },
    } as never,
    logger: quiet,
  });
  for (const [sessionKey, e] of Object.entries(index))
    for (const line of readFileSync(join(sessionsDir, `${e.sessionId}.jsonl`), "utf8").split("\n")) {
      const entry = line ? JSON.parse(line) : null;
      if (entry?.type === "message")
        pusher.onMessageWrite({ message: entry.message }, { agentId: "main", sessionKey });
    }
  await pusher.stop();
  return pushed;
}

/** Push what the plugin pushes for `name`'s state to a center, then meter the same state there. */
async function pushThenMeter(name: string) {
  const dir = join(CASES, name);
  w = tempWorld(join(dir, "state"));
  const pricer = casePricer(dir);
  const events = (await pushedOf(w.stateDir)).map((e) => pushEventSchema.parse(e));
  const lastMs = Math.max(...events.map((e) => e.timestampMs));
  const ingester = createPushIngester(w.db, {
    pricer,
    markup: parseDecimal("1"),
    creditsPerUsd: parseDecimal("1"),
    nowMs: () => lastMs + 60_000,
  });
  const statuses = ingester.ingest(events, "push:test", "test").map((r) => r.status);
  const meter = meterFor(w, { pricer });
  await meter.runOnce();
  expect((await meter.runOnce()).billed).toBe(0);
  meter.close();
  return { statuses, usage: queryUsage(w.db, { by: "user" }) };
}

describe(`case ${NAME}: the plugin's push bills each reply OpenClaw writes twice once`, () => {
  it("meter alone: 4 calls, $0.0255", async () => {
    w = tempWorld(join(CASES, NAME, "state"));
    const meter = meterFor(w, { pricer: casePricer(join(CASES, NAME)) });
    expect(await meter.runOnce()).toMatchObject({ billed: 4 });
    meter.close();
    expect(queryUsage(w.db, { by: "user" })).toMatchObject(RIGHT);
  });

  it("every write pushed first, then the meter: 4 calls, $0.0255 (was 6 calls, $0.036375)", async () => {
    const { statuses, usage } = await pushThenMeter(NAME);
    // the rewritten copy and the final of the streamed partial are left to the meter
    expect(statuses).toEqual(["billed", "billed", "billed", "billed"]);
    expect(usage).toMatchObject(RIGHT);
  });

  for (const name of [
    "reply-rewritten-without-response-id",
    "message-rewritten-same-entry-id",
    "cli-turn-two-writers",
    "response-split-across-lines",
    "message-final-copy-later-poll",
    "response-copy-rewritten",
    "response-partial-prompt-differs",
    "entry-copy-one-response-id",
  ]) {
    it(`${name}: pushed first, the bill is the meter's own`, async () => {
      w = tempWorld(join(CASES, name, "state"));
      const meter = meterFor(w, { pricer: casePricer(join(CASES, name)) });
      await meter.runOnce();
      meter.close();
      const alone = queryUsage(w.db, { by: "user" }).map((r) => [r.key, r.requests, r.costUsd]);
      w.cleanup();
      const { usage } = await pushThenMeter(name);
      expect(usage.map((r) => [r.key, r.requests, r.costUsd])).toEqual(alone);
    });
  }

  it("what the push still sends: a long response id, a new turn's call of the same counts, a tool loop's next call", async () => {
    const sent: PluginPushEvent[] = [];
    const pusher = new UsagePusher({
      client: {
        pushUsage: async (b: PluginPushEvent[]) => {
          sent.push(...b);
          return { results: [] };
        },
      } as never,
      logger: quiet,
    });
    const ctx = { agentId: "main", sessionKey: "agent:main:telegram:direct:5550961" };
    const reply = (ts: number, input: number, extra: Record<string, unknown> = {}) => ({
      message: {
        role: "assistant",
        content: [{ type: "text", text: "ok" }],
        api: "openai-completions",
        provider: "mock",
        model: "mock-gpt",
        usage: { input, output: 10, cacheRead: 0, cacheWrite: 0, totalTokens: input + 10 },
        stopReason: "stop",
        timestamp: ts,
        ...extra,
      },
    });
    const user = { message: { role: "user", content: [{ type: "text", text: "hola" }] } };
    pusher.onMessageWrite(user, ctx);
    pusher.onMessageWrite(reply(1795500001000, 100), ctx);
    pusher.onMessageWrite(reply(1795500002000, 100), ctx); // a copy: left to the meter
    pusher.onMessageWrite(reply(1795500003000, 180), ctx); // a tool loop's next call: more prompt
    // the same prompt with a long response id, twice: maybe the final of the call before, which was
    // written without it (case entry-copy-one-response-id): both left to the meter (one response)
    pusher.onMessageWrite(reply(1795500004000, 180, { responseId: "msg_01CopyWithLongId00" }), ctx);
    pusher.onMessageWrite(reply(1795500005000, 180, { responseId: "msg_01CopyWithLongId00" }), ctx);
    // a long response id of another prompt is pushed
    pusher.onMessageWrite(reply(1795500006000, 260, { responseId: "msg_01NextCallLongId000" }), ctx);
    // a copy of it written again without its id: left to the meter
    pusher.onMessageWrite(reply(1795500007000, 260), ctx);
    pusher.onMessageWrite(user, ctx);
    pusher.onMessageWrite(reply(1795500061000, 100), ctx); // a new turn
    pusher.onMessageWrite(reply(1795500062000, 100), {
      ...ctx,
      sessionKey: "agent:main:telegram:direct:5550962",
    });
    await pusher.stop();
    expect(sent.map((e) => e.timestampMs)).toEqual([
      1795500001000, 1795500003000, 1795500006000, 1795500061000, 1795500062000,
    ]);
    expect(pusher.stats.leftToMeter).toBe(4);
  });
});
