import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import Database from "better-sqlite3";
import { afterEach, describe, expect, it } from "vitest";
import { sessionsSendTargets } from "../../src/meter/parse.js";
import { queryUsage } from "../../src/meter/report.js";
import { answersOwnSend } from "../../src/meter/sources/batch-builder.js";
import { meterCaseDir, meterFor, type TempWorld, tempWorld } from "../support/meter-env.js";

/**
 * Who pays for a turn another session started (`message.provenance`, `sessions_send`): the
 * ping-pong exception must name the session OpenClaw itself resolved the user's send to.
 */
const CASES = resolve(import.meta.dirname, "../cases");

let w: TempWorld | undefined;
afterEach(() => {
  w?.cleanup();
  w = undefined;
});

async function meterCase(name: string) {
  w?.cleanup();
  const r = await meterCaseDir(join(CASES, name), "calculate");
  w = r.world;
  return r;
}

function byUser(world: TempWorld) {
  return Object.fromEntries(
    queryUsage(world.db, { by: "user" }).map((r) => [r.key, { requests: r.requests, costUsd: r.costUsd }]),
  );
}

describe("case sessions-send-short-target-other-agent: a send to `main` answers only `main` (or this agent's main)", () => {
  it("telegram:5550101 3 calls $0.0135, agent:ops 1 call $0.0093 (was telegram:5550101 4 calls $0.0228)", async () => {
    const { s, world } = await meterCase("sessions-send-short-target-other-agent");
    expect(s).toMatchObject({ billed: 4 });
    expect(byUser(world)).toEqual({
      "telegram:5550101": { requests: 3, costUsd: "0.0135" },
      "agent:ops": { requests: 1, costUsd: "0.0093" },
    });
  });

  it("answersOwnSend follows OpenClaw's resolution of a short target", () => {
    // the literal alias, as the ping-pong marks it, and the session's own agent's main session
    expect(answersOwnSend(["main"], "main", "main")).toBe(true);
    expect(answersOwnSend(["main"], "agent:main:main", "main")).toBe(true);
    // another agent's main session is not the one `main` resolved to
    expect(answersOwnSend(["main"], "agent:ops:main", "main")).toBe(false);
    expect(answersOwnSend(["main"], "agent:ops:main", "ops")).toBe(true);
    // a key ending in `:main` deeper down is no resolution of `main`
    expect(answersOwnSend(["main"], "agent:main:telegram:direct:main", "main")).toBe(false);
    // another short key: `sessions.resolve` puts it in an agent (the requester's, or an older
    // gateway's default), one segment
    expect(answersOwnSend(["telegram:direct:5550202"], "agent:main:telegram:direct:5550202", "ops")).toBe(
      true,
    );
    expect(answersOwnSend(["direct:5550202"], "agent:main:telegram:direct:5550202", "main")).toBe(false);
    // a full key is matched as written
    expect(answersOwnSend(["agent:main:main"], "agent:ops:main", "main")).toBe(false);
  });
});

describe("case sessions-send-by-session-id: a send naming its target by session id answers that session's key", () => {
  it("telegram:5550101 4 calls $0.02505, nothing to telegram:5550202 (was 3 calls $0.01575, Ivy 1 call $0.0093)", async () => {
    const { s, world } = await meterCase("sessions-send-by-session-id");
    expect(s).toMatchObject({ billed: 4 });
    expect(byUser(world)).toEqual({ "telegram:5550101": { requests: 4, costUsd: "0.02505" } });
  });

  it("answersOwnSend resolves a session id through the reader's lookup, only a UUID", () => {
    const ids: Record<string, string> = {
      "66666666-0000-4000-8000-000000000006": "agent:main:telegram:direct:5550202",
    };
    const keyOf = (sid: string) => ids[sid] ?? null;
    const ivy = "agent:main:telegram:direct:5550202";
    expect(answersOwnSend(["66666666-0000-4000-8000-000000000006"], ivy, "main", keyOf)).toBe(true);
    expect(answersOwnSend(["66666666-0000-4000-8000-000000000006"], ivy, "main")).toBe(false);
    expect(answersOwnSend(["66666666-0000-4000-8000-000000000006"], "agent:main:main", "main", keyOf)).toBe(
      false,
    );
    expect(answersOwnSend(["77777777-0000-4000-8000-000000000007"], ivy, "main", keyOf)).toBe(false);
  });
});

describe("case sessions-send-by-agent-id: a send naming only agentId wrote to that agent's main session", () => {
  it("telegram:5550101 3 calls $0.0183, telegram:5550202 2 calls $0.01665 (was Henry 4 calls $0.03045, Ivy 1 $0.0045)", async () => {
    const { s, world } = await meterCase("sessions-send-by-agent-id");
    expect(s).toMatchObject({ billed: 5 });
    expect(byUser(world)).toEqual({
      "telegram:5550101": { requests: 3, costUsd: "0.0183" },
      "telegram:5550202": { requests: 2, costUsd: "0.01665" },
    });
  });

  it("under a custom session.mainKey the agent's main session is agent:<id>:<mainKey> (a tester's finding)", async () => {
    const dir = mkdtempSync(join(tmpdir(), "cg-mainkey-"));
    try {
      cpSync(join(CASES, "sessions-send-by-agent-id"), dir, { recursive: true });
      writeFileSync(join(dir, "state", "openclaw.json"), JSON.stringify({ session: { mainKey: "home" } }));
      const file = join(
        dir,
        "state",
        "agents",
        "main",
        "sessions",
        "55555555-0000-4000-8000-000000000005.jsonl",
      );
      writeFileSync(file, readFileSync(file, "utf8").replaceAll("agent:ops:main", "agent:ops:home"));
      const { world } = await meterCaseDir(dir, "calculate");
      w = world;
      expect(byUser(world)).toEqual({
        "telegram:5550101": { requests: 3, costUsd: "0.0183" },
        "telegram:5550202": { requests: 2, costUsd: "0.01665" },
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("answersOwnSend under a custom main key: main and agent:<id>:main also as that key, main only in the own agent", () => {
    expect(answersOwnSend(["agent:ops:main"], "agent:ops:home", "main", null, "home")).toBe(true);
    expect(answersOwnSend(["agent:ops:main"], "agent:ops:home", "main", null, null)).toBe(false);
    expect(answersOwnSend(["main"], "home", "main", null, "Home")).toBe(true);
    expect(answersOwnSend(["main"], "agent:main:home", "main", null, "home")).toBe(true);
    expect(answersOwnSend(["main"], "agent:ops:home", "main", null, "home")).toBe(false);
    expect(answersOwnSend(["home"], "agent:ops:home", "main", null, "home")).toBe(false);
  });

  it("sessionsSendTargets: agentId alone is agent:<id>:main, a label (with or without agentId) any session", () => {
    const call = (args: object) => [{ type: "toolCall", name: "sessions_send", arguments: args }];
    expect(sessionsSendTargets(call({ agentId: " Ops ", message: "x" }))).toEqual(["agent:ops:main"]);
    expect(sessionsSendTargets(call({ agentId: "ops", label: "reports", message: "x" }))).toEqual(["*"]);
    expect(sessionsSendTargets(call({ sessionKey: "agent:main:main", agentId: "ops" }))).toEqual([
      "agent:main:main",
    ]);
    expect(sessionsSendTargets(call({ message: "x" }))).toEqual(["*"]);
    // nothing valid left: OpenClaw's default agent (normalizeAgentId), not "any session"
    expect(sessionsSendTargets(call({ agentId: " !!! ", message: "x" }))).toEqual(["agent:main:main"]);
    expect(sessionsSendTargets(call({ agentId: "Ops Team!", message: "x" }))).toEqual([
      "agent:ops-team:main",
    ]);
  });
});

describe("OpenClaw's SQLite store: a sessions_send sender is billed as its own calls are (review suspicion, refuted); a send by session id answers its key", () => {
  // OpenClaw derives a window's conversation (channel, delivery_target) from the session entry
  // (`conversationIdentityFromSessionEntry`: deliveryContext.to / origin.from, deliveryContext.channel
  // / origin.provider), which the sender's payer is read from too: the window's conversation adds
  // nothing to it.
  it("Ivy's per-peer DM writing into Henry's DM: both calls telegram:5550202; the reply to Henry's send by her session id is his", async () => {
    w = tempWorld(join(CASES, "subagent-into-other-agent-store", "state"));
    rmSync(join(w.stateDir, "agents", "support"), { recursive: true, force: true });
    const dbFile = join(w.stateDir, "agents", "main", "agent", "openclaw-agent.sqlite");
    const at = 1795700000000;
    const IVY = "agent:main:direct:5550202";
    const ivySid = "bbbbbbbb-0000-4000-8000-000000000002";
    const entry = {
      sessionId: ivySid,
      updatedAt: at,
      chatType: "direct",
      createdVia: "channel",
      delivery: {
        kind: "external",
        route: { channel: "telegram", accountId: "default", target: { to: "telegram:5550202" } },
        context: { channel: "telegram", to: "telegram:5550202", accountId: "default" },
        origin: {
          provider: "telegram",
          from: "telegram:5550202",
          to: "telegram:5550202",
          accountId: "default",
        },
      },
    };
    const line = (id: string, t: number, message: object) =>
      JSON.stringify({ type: "message", id, parentId: null, timestamp: new Date(t).toISOString(), message });
    const call = (id: string, t: number, input: number, output: number) =>
      line(id, t + 5, {
        role: "assistant",
        content: [{ type: "text", text: "ok" }],
        api: "openai-completions",
        provider: "mock",
        model: "mock-gpt",
        usage: { input, output, cacheRead: 0, cacheWrite: 0, totalTokens: input + output },
        stopReason: "stop",
        timestamp: t,
        responseId: `chatcmpl-${id}`,
      });
    const first = meterFor(w);
    await first.runOnce();
    first.close();
    const before = byUser(w)["telegram:5550101"];
    const db = new Database(dbFile);
    try {
      db.prepare(
        "INSERT INTO session_nodes (session_key, current_session_id, entry_json, entry_valid, updated_at, created_at, created_via) VALUES (?, ?, ?, 1, ?, ?, 'channel')",
      ).run(IVY, ivySid, JSON.stringify(entry), at, at);
      db.prepare(
        "INSERT INTO conversations (conversation_id, channel, account_id, kind, peer_id, delivery_target, created_at, updated_at) VALUES ('conv_ivy', 'telegram', 'default', 'direct', 'telegram:5550202', 'telegram:5550202', ?, ?)",
      ).run(at, at);
      db.prepare(
        "INSERT INTO session_windows (session_id, session_key, reason, created_at, updated_at, transcript_updated_at, chat_type, channel, account_id, primary_conversation_id) VALUES (?, ?, 'initial', ?, ?, ?, 'direct', 'telegram', 'default', 'conv_ivy')",
      ).run(ivySid, IVY, at, at, at + 2000);
      const ins = db.prepare(
        "INSERT INTO transcript_events (session_id, seq, event_json, created_at) VALUES (?, ?, ?, ?)",
      );
      ins.run(ivySid, 1, line("i-u", at, { role: "user", content: "tell Henry hi", timestamp: at }), at);
      ins.run(ivySid, 2, call("i-c", at + 1000, 1000, 100), at + 1000);
      const henry = (
        db
          .prepare("SELECT session_id FROM session_windows WHERE session_key = ?")
          .get("agent:main:direct:5550101") as {
          session_id: string;
        }
      ).session_id;
      let seq = (
        db.prepare("SELECT MAX(seq) AS m FROM transcript_events WHERE session_id = ?").get(henry) as {
          m: number;
        }
      ).m;
      ins.run(
        henry,
        ++seq,
        line("h-u", at + 2000, {
          role: "user",
          content: "[Inter-session message] sourceTool=sessions_send isUser=false\nIvy says hi",
          timestamp: at + 2000,
          provenance: {
            kind: "inter_session",
            sourceSessionKey: IVY,
            sourceChannel: "telegram",
            sourceTool: "sessions_send",
          },
        }),
        at + 2000,
      );
      ins.run(henry, ++seq, call("h-c", at + 3000, 3000, 20), at + 3000);
      // Henry's own turn writes to Ivy's session by its id; the ping-pong reply is marked with her key
      ins.run(
        henry,
        ++seq,
        line("h-u2", at + 4000, { role: "user", content: "ask Ivy", timestamp: at + 4000 }),
        at + 4000,
      );
      ins.run(
        henry,
        ++seq,
        line("h-c2", at + 5005, {
          role: "assistant",
          content: [
            {
              type: "toolCall",
              id: "call_1",
              name: "sessions_send",
              arguments: { sessionKey: ivySid, message: "?" },
            },
          ],
          api: "openai-completions",
          provider: "mock",
          model: "mock-gpt",
          usage: { input: 1000, output: 100, cacheRead: 0, cacheWrite: 0, totalTokens: 1100 },
          stopReason: "toolUse",
          timestamp: at + 5000,
          responseId: "chatcmpl-h-c2",
        }),
        at + 5000,
      );
      ins.run(
        henry,
        ++seq,
        line("h-u3", at + 6000, {
          role: "user",
          content: "[Inter-session message] sourceTool=sessions_send isUser=false\nyes",
          timestamp: at + 6000,
          provenance: {
            kind: "inter_session",
            sourceSessionKey: IVY,
            sourceChannel: "telegram",
            sourceTool: "sessions_send",
          },
        }),
        at + 6000,
      );
      ins.run(henry, ++seq, call("h-c3", at + 7000, 500, 10), at + 7000);
    } finally {
      db.close();
    }
    const meter = meterFor(w);
    await meter.runOnce();
    meter.close();
    // Henry: his own turn (1000×3 + 100×15) and the reply to his send by Ivy's session id
    // (500×3 + 10×15), per 1M (before 2026-12-03 the reply went to Ivy)
    const henry = byUser(w)["telegram:5550101"];
    expect((henry?.requests ?? 0) - (before?.requests ?? 0)).toBe(2);
    expect(Number(henry?.costUsd) - Number(before?.costUsd ?? 0)).toBeCloseTo(0.00615, 9);
    // Ivy's own call (1000×3 + 100×15) and the turn she caused in Henry's DM (3000×3 + 20×15), per 1M
    expect(byUser(w)["telegram:5550202"]).toEqual({ requests: 2, costUsd: "0.0138" });
  });
});
