import { rmSync } from "node:fs";
import { join, resolve } from "node:path";
import Database from "better-sqlite3";
import { afterEach, describe, expect, it } from "vitest";
import type { MeterOptions } from "../../src/meter/meter.js";
import { queryUsage } from "../../src/meter/report.js";
import { parseIdentityLinks, resolveAccount } from "../../src/meter/resolve-user.js";
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

describe("case room-key-direct-other-channel: only Matrix keys a DM as a room", () => {
  it("agent:main 2 calls $0.012, matrix:@alice:example.org $0.0105 (was telegram:5550101 $0.0045, discord:998877665544 $0.0075)", async () => {
    const { s, world } = await meterCase("room-key-direct-other-channel");
    expect(s.billed).toBe(3);
    expect(byUser(world)).toEqual({
      "agent:main": { requests: 2, costUsd: "0.012" },
      "matrix:@alice:example.org": { requests: 1, costUsd: "0.0105" },
    });
  });

  it("a group or channel key of another channel stays the operator's whatever its entry says", () => {
    for (const [key, user] of [
      ["agent:main:telegram:group:-100123", "telegram:555"],
      ["agent:main:discord:channel:123", "discord:999"],
      ["agent:main:slack:channel:c123:thread:1.2", "U123"],
      ["agent:main:whatsapp:group:123@g.us", "+15551234"],
    ] as const) {
      expect(resolveAccount("main", key, { directChat: { user }, routeTargets: [user] }).accountId).toBe(
        "agent:main",
      );
    }
  });
});

describe("case matrix-per-room-dm: a Matrix DM keyed as its room (dm.sessionScope per-room) is its user's", () => {
  it("matrix:@alice:example.org 3 calls $0.027 (her sub-agent's included), matrix:@bob:example.org $0.00165, the team room agent:main $0.0105 (was agent:main 5 calls $0.03915)", async () => {
    const { s, world } = await meterCase("matrix-per-room-dm");
    expect(s.billed).toBe(5);
    expect(byUser(world)).toEqual({
      "matrix:@alice:example.org": { requests: 3, costUsd: "0.027" },
      "matrix:@bob:example.org": { requests: 1, costUsd: "0.00165" },
      "agent:main": { requests: 1, costUsd: "0.0105" },
    });
  });

  it("only a room key whose entry records a direct chat, and only a person on the key's channel", () => {
    const room = "agent:main:matrix:channel:!dMrOoMaLiCe:example.org";
    const from = ["matrix:@alice:example.org", "room:!dMrOoMaLiCe:example.org"];
    const direct = { user: null };
    expect(resolveAccount("main", room, { routeTargets: from, directChat: direct })).toEqual({
      accountId: "matrix:@alice:example.org",
      via: "dm-room",
    });
    // the native DM user wins over a route another surface wrote
    expect(
      resolveAccount("main", `${room}:thread:$root`, {
        routeTargets: ["webchat:client-1", "room:!dMrOoMaLiCe:example.org"],
        directChat: { user: "@Alice:example.org" },
      }).accountId,
    ).toBe("matrix:@alice:example.org");
    // a linked person is the person's one account
    const identityLinks = parseIdentityLinks({ alice: ["matrix:@alice:example.org"] });
    expect(resolveAccount("main", room, { routeTargets: from, directChat: direct, identityLinks })).toEqual({
      accountId: "alice",
      via: "identity",
    });
    // a sub-agent of such a DM is its user's, by the parent's entry
    const parentKey = (k: string) => (k.includes(":subagent:") ? room : null);
    expect(
      resolveAccount("main", "agent:main:subagent:5b2e", {
        parentKey,
        directChatOfKey: (k) => (k === room ? { user: "matrix:@alice:example.org" } : null),
      }),
    ).toEqual({ accountId: "matrix:@alice:example.org", via: "subagent>dm-room" });
    expect(resolveAccount("main", "agent:main:subagent:5b2e", { parentKey }).accountId).toBe("agent:main");
    // no direct marker, a group's route, another channel's person, no person at all: the operator's
    expect(resolveAccount("main", room, { routeTargets: from }).accountId).toBe("agent:main");
    expect(
      resolveAccount("main", room, { routeTargets: ["matrix:channel:!x:example.org"], directChat: direct })
        .accountId,
    ).toBe("agent:main");
    expect(
      resolveAccount("main", room, { routeTargets: ["telegram:5550101"], directChat: direct }).accountId,
    ).toBe("agent:main");
    expect(
      resolveAccount("main", room, { routeTargets: ["room:!x:example.org"], directChat: direct }).accountId,
    ).toBe("agent:main");
  });

  it("on OpenClaw's SQLite store: the node entry's delivery.origin says direct (was agent:main)", async () => {
    const SID = "e5e5e5e5-0000-4000-8000-000000000005";
    const KEY = "agent:main:matrix:channel:!dMrOoMaLiCe:example.org";
    const SUB = "e6e6e6e6-0000-4000-8000-000000000006";
    const SUB_KEY = "agent:main:subagent:9c2e7f4a-3b1d-4e6f-8a5c-2d7e9f0b1c3a";
    w = tempWorld(join(CASES, "subagent-into-other-agent-store", "state"));
    rmSync(join(w.stateDir, "agents", "support"), { recursive: true, force: true });
    const db = new Database(join(w.stateDir, "agents", "main", "agent", "openclaw-agent.sqlite"));
    try {
      const at = 1795400000000;
      const origin = {
        provider: "matrix",
        surface: "matrix",
        chatType: "direct",
        from: "matrix:@alice:example.org",
        to: "room:!dMrOoMaLiCe:example.org",
        nativeDirectUserId: "@alice:example.org",
        accountId: "default",
      };
      const entry = {
        sessionId: SID,
        updatedAt: at,
        createdVia: "channel",
        chatType: "direct",
        delivery: {
          kind: "external",
          route: { channel: "matrix", accountId: "default", target: { to: "room:!dMrOoMaLiCe:example.org" } },
          context: { channel: "matrix", to: "room:!dMrOoMaLiCe:example.org", accountId: "default" },
          origin,
        },
      };
      db.prepare(
        `INSERT INTO session_nodes (session_key, current_session_id, entry_json, updated_at, created_via)
         VALUES (?, ?, ?, ?, 'channel')`,
      ).run(KEY, SID, JSON.stringify(entry), at);
      db.prepare(
        `INSERT INTO session_windows (session_id, session_key, reason, created_at, updated_at, transcript_updated_at)
         VALUES (?, ?, 'initial', ?, ?, ?)`,
      ).run(SID, KEY, at, at, at);
      // a sub-agent Alice's DM spawned
      db.prepare(
        `INSERT INTO session_nodes (session_key, current_session_id, entry_json, updated_at, created_via, spawned_by)
         VALUES (?, ?, ?, ?, 'spawn', ?)`,
      ).run(SUB_KEY, SUB, JSON.stringify({ sessionId: SUB, updatedAt: at, spawnedBy: KEY }), at, KEY);
      db.prepare(
        `INSERT INTO session_windows (session_id, session_key, reason, created_at, updated_at, transcript_updated_at, spawned_by)
         VALUES (?, ?, 'initial', ?, ?, ?, ?)`,
      ).run(SUB, SUB_KEY, at, at, at, KEY);
      const ins = db.prepare(
        "INSERT INTO transcript_events (session_id, seq, event_json, created_at) VALUES (?, ?, ?, ?)",
      );
      ins.run(
        SID,
        0,
        JSON.stringify({ type: "session", version: 4, id: SID, timestamp: "2026-11-23T01:00:00.000Z" }),
        at,
      );
      ins.run(
        SID,
        1,
        JSON.stringify({
          type: "message",
          id: "m0000001",
          parentId: null,
          timestamp: "2026-11-23T01:00:02.000Z",
          message: {
            role: "assistant",
            content: [{ type: "text", text: "hi Alice" }],
            api: "openai-completions",
            provider: "mock",
            model: "mock-gpt",
            usage: { input: 4000, output: 100, cacheRead: 0, cacheWrite: 0, totalTokens: 4100 },
            stopReason: "stop",
            timestamp: 1795400002000,
            responseId: "chatcmpl-matrix-room-dm-0001",
          },
        }),
        at + 2000,
      );
      ins.run(
        SUB,
        0,
        JSON.stringify({ type: "session", version: 4, id: SUB, timestamp: "2026-11-23T01:01:00.000Z" }),
        at,
      );
      ins.run(
        SUB,
        1,
        JSON.stringify({
          type: "message",
          id: "m0000002",
          parentId: null,
          timestamp: "2026-11-23T01:01:02.000Z",
          message: {
            role: "assistant",
            content: [{ type: "text", text: "research" }],
            api: "openai-completions",
            provider: "mock",
            model: "mock-gpt",
            usage: { input: 1000, output: 100, cacheRead: 0, cacheWrite: 0, totalTokens: 1100 },
            stopReason: "stop",
            timestamp: 1795400062000,
            responseId: "chatcmpl-matrix-room-sub-0001",
          },
        }),
        at + 62000,
      );
    } finally {
      db.close();
    }
    const meter = meterFor(w);
    const s = await meter.runOnce();
    meter.close();
    expect(s.billed).toBe(3);
    expect(byUser(w)).toEqual({
      "telegram:5550101": { requests: 1, costUsd: "0.0045" },
      "matrix:@alice:example.org": { requests: 2, costUsd: "0.018" },
    });
  });
});
