import { rmSync } from "node:fs";
import { join, resolve } from "node:path";
import Database from "better-sqlite3";
import { afterEach, describe, expect, it } from "vitest";
import type { MeterOptions } from "../../src/meter/meter.js";
import { queryUsage } from "../../src/meter/report.js";
import { resolveAccount } from "../../src/meter/resolve-user.js";
import { meterCaseDir, meterFor, type TempWorld, tempWorld } from "../support/meter-env.js";

/**
 * Cases of the hunt for calls billed to the wrong payer (the wrong user, the operator instead of
 * the user or the other way round): test/cases/<name>, each with its right value in its README.
 */
const CASES = resolve(import.meta.dirname, "../cases");

let w: TempWorld | undefined;
afterEach(() => {
  w?.cleanup();
  w = undefined;
});

async function meterCase(name: string, extra: Partial<MeterOptions> = {}) {
  w?.cleanup();
  const r = await meterCaseDir(join(CASES, name), "calculate", extra);
  w = r.world;
  return r;
}

function byUser(world: TempWorld) {
  return Object.fromEntries(
    queryUsage(world.db, { by: "user" }).map((r) => [r.key, { requests: r.requests, costUsd: r.costUsd }]),
  );
}

describe("case checkpoint-branch-copied-route: the operator's checkpoint branch of a DM is the operator's", () => {
  it("telegram:5550101 2 calls $0.012, agent:main 1 call $0.0075 (was telegram:5550101 3 calls $0.0195)", async () => {
    const { s, world } = await meterCase("checkpoint-branch-copied-route");
    expect(s).toMatchObject({ billed: 3, duplicates: 2 });
    expect(byUser(world)).toEqual({
      "telegram:5550101": { requests: 2, costUsd: "0.012" },
      "agent:main": { requests: 1, costUsd: "0.0075" },
    });
  });

  it("a dashboard key is the operator's whatever route its entry holds; a configured slash prefix still wins", () => {
    const route = { channel: "telegram", routeTargets: ["telegram:5550101", "telegram:5550101"] };
    expect(resolveAccount("main", "agent:main:dashboard:3b9f6c1e", route)).toEqual({
      accountId: "agent:main",
      via: "dashboard",
    });
    expect(resolveAccount("main", "agent:main:dashboard:incognito-3b9f6c1e", route).accountId).toBe(
      "agent:main",
    );
    // other unfamiliar keys still fall back to the route (an ephemeral reply's user)
    expect(resolveAccount("main", "agent:main:explicit:3b9f6c1e", route).accountId).toBe("telegram:5550101");
    expect(
      resolveAccount("main", "agent:main:dashboard:u07abc", {
        slashPrefixes: [{ prefix: "dashboard", channel: "slack" }],
      }).accountId,
    ).toBe("slack:u07abc");
    // …but not over the UUID id OpenClaw gives a Control UI session (no Slack user id is one)
    const slash = { slashPrefixes: [{ prefix: "dashboard", channel: "slack" }] };
    expect(
      resolveAccount("main", "agent:main:dashboard:3b9f6c1e-2a4d-4f8b-9c7e-5d1a0b2c3e4f", slash).accountId,
    ).toBe("agent:main");
    expect(
      resolveAccount("main", "agent:main:dashboard:incognito-3b9f6c1e-2a4d-4f8b-9c7e-5d1a0b2c3e4f", slash)
        .accountId,
    ).toBe("agent:main");
  });
});

describe("OpenClaw's SQLite store: a checkpoint branch of a DM, its entry cloned, is the operator's", () => {
  const BRANCH = "bbbbbbbb-0000-4000-8000-00000000000b";
  const KEY = "agent:main:dashboard:3b9f6c1e-2a4d-4f8b-9c7e-5d1a0b2c3e4f";
  it("telegram:5550101 keeps its call $0.0045, the branch's own $0.0135 is agent:main's (was both telegram:5550101)", async () => {
    // the per-peer DM store of case subagent-into-other-agent-store, plus what
    // branchSqliteCompactionCheckpointSession writes: a window and a node whose entry is the DM's clone
    w = tempWorld(join(CASES, "subagent-into-other-agent-store", "state"));
    rmSync(join(w.stateDir, "agents", "support"), { recursive: true, force: true });
    const db = new Database(join(w.stateDir, "agents", "main", "agent", "openclaw-agent.sqlite"));
    try {
      const at = 1795400000000;
      const clone = {
        sessionId: BRANCH,
        updatedAt: at,
        chatType: "direct",
        label: "Checkpoint branch",
        parentSessionKey: "agent:main:direct:5550101",
        lastChannel: "telegram",
        lastTo: "telegram:5550101",
        origin: {
          provider: "telegram",
          surface: "telegram",
          from: "telegram:5550101",
          to: "telegram:5550101",
        },
        deliveryContext: { channel: "telegram", to: "telegram:5550101", accountId: "default" },
      };
      db.prepare(
        `INSERT INTO session_nodes (session_key, current_session_id, entry_json, updated_at, created_via)
         VALUES (?, ?, ?, ?, 'operator')`,
      ).run(KEY, BRANCH, JSON.stringify(clone), at);
      db.prepare(
        `INSERT INTO session_windows (session_id, session_key, reason, created_at, updated_at, transcript_updated_at)
         VALUES (?, ?, 'fork', ?, ?, ?)`,
      ).run(BRANCH, KEY, at, at, at);
      const ins = db.prepare(
        "INSERT INTO transcript_events (session_id, seq, event_json, created_at) VALUES (?, ?, ?, ?)",
      );
      ins.run(
        BRANCH,
        0,
        JSON.stringify({ type: "session", version: 3, id: BRANCH, timestamp: "2026-11-23T01:00:00.000Z" }),
        at,
      );
      ins.run(
        BRANCH,
        1,
        JSON.stringify({
          type: "message",
          id: "b0000001",
          parentId: null,
          timestamp: "2026-11-23T01:00:02.000Z",
          message: {
            role: "assistant",
            content: [{ type: "text", text: "branch" }],
            api: "openai-completions",
            provider: "mock",
            model: "mock-gpt",
            usage: { input: 4000, output: 100, cacheRead: 0, cacheWrite: 0, totalTokens: 4100 },
            stopReason: "stop",
            timestamp: 1795400002000,
            responseId: "chatcmpl-branch-own-00000001",
          },
        }),
        at + 2000,
      );
    } finally {
      db.close();
    }
    const meter = meterFor(w);
    const s = await meter.runOnce();
    meter.close();
    expect(s.billed).toBe(2);
    expect(byUser(w)).toEqual({
      "telegram:5550101": { requests: 1, costUsd: "0.0045" },
      "agent:main": { requests: 1, costUsd: "0.0135" },
    });
  });
});

describe("case slack-grid-main-dm-custom-main-key: a Grid workspace's main DM session is the operator's", () => {
  it("agent:main 2 calls $0.012 (was slack:u07bob 2 calls $0.012, Alice's call included)", async () => {
    const { s, world } = await meterCase("slack-grid-main-dm-custom-main-key");
    expect(s.billed).toBe(2);
    expect(byUser(world)).toEqual({ "agent:main": { requests: 2, costUsd: "0.012" } });
  });

  it("<mainKey>:account:<a>:team:<t> (and its threads) is the main session; other keys under the word are not", () => {
    const bob = { channel: "slack", routeTargets: ["slack:U07BOB", "user:U07BOB"], mainKey: "work" };
    for (const key of [
      "agent:main:work",
      "agent:main:work:account:default:team:t0grida",
      "agent:main:Work:Account:ops:Team:T0GRIDA",
      "agent:main:work:account:default:team:t0grida:thread:1791192600.000100",
    ])
      expect(resolveAccount("main", key, bob), key).toEqual({ accountId: "agent:main", via: "main-key" });
    // the default main key's Grid session is the operator's by its `main` head
    expect(resolveAccount("main", "agent:main:main:account:default:team:t0grida", bob).accountId).toBe(
      "agent:main",
    );
    // not the main session: an unrelated key starting with the word, a DM of a channel so named
    expect(resolveAccount("main", "agent:main:work:team:t0grida", bob).accountId).toBe("slack:u07bob");
    expect(
      resolveAccount("main", "agent:main:slack:direct:u07bob", { ...bob, mainKey: "slack" }).accountId,
    ).toBe("slack:u07bob");
  });
});
