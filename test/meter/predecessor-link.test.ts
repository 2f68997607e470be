import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { headerParentSessionId } from "../../src/meter/sources/jsonl-reader.js";
import {
  assistantLine,
  meterFor,
  type TempWorld,
  tempWorld,
  totalsBy,
  writeJson,
} from "../support/meter-env.js";

/**
 * OpenClaw's compaction rotation (`truncateAfterCompaction`) writes a successor transcript whose
 * header names the predecessor (`parentSession`) and points the session's entry at the successor:
 * the predecessor is named by nothing but that header.
 */
let w: TempWorld | undefined;
afterEach(() => {
  w?.cleanup();
  w = undefined;
});

const T0 = 1_795_371_100_000;
const header = (id: string, parent?: string) =>
  JSON.stringify({
    type: "session",
    version: 3,
    id,
    timestamp: new Date(T0).toISOString(),
    cwd: "/w",
    ...(parent ? { parentSession: parent } : {}),
  });

function transcript(dir: string, name: string, id: string, parent: string | undefined, calls: number[]) {
  writeFileSync(
    join(dir, name),
    `${[header(id, parent), ...calls.map((t) => assistantLine(t))].join("\n")}\n`,
  );
}

function world(): { sessions: string; w: TempWorld } {
  w = tempWorld();
  const sessions = join(w.stateDir, "agents", "main", "sessions");
  mkdirSync(sessions, { recursive: true });
  return { sessions, w };
}

async function billedBy(tw: TempWorld): Promise<Record<string, number>> {
  const meter = meterFor(tw);
  await meter.runOnce();
  meter.close();
  return Object.fromEntries([...totalsBy(tw.db, "account_id")].map(([k, t]) => [k, t.requests]));
}

describe("a transcript named only as a successor's parentSession", () => {
  it("follows a chain of two rotations to the current session's user (Windows-style path too)", async () => {
    const { sessions, w } = world();
    transcript(sessions, "p1.jsonl", "p1", undefined, [T0, T0 + 1]);
    transcript(
      sessions,
      "2026-11-22T18-20-00-000Z_p2.jsonl",
      "p2",
      "/h/.openclaw/agents/main/sessions/p1.jsonl",
      [T0 + 2],
    );
    transcript(
      sessions,
      "2026-11-22T19-20-00-000Z_p3.jsonl",
      "p3",
      "C:\\h\\sessions\\2026-11-22T18-20-00-000Z_p2.jsonl",
      [T0 + 3],
    );
    writeJson(join(sessions, "sessions.json"), {
      "agent:main:whatsapp:direct:+15551234567": { sessionId: "p3", lastChannel: "whatsapp" },
    });
    expect(await billedBy(w)).toEqual({ "whatsapp:+15551234567": 4 });
  });

  it("never takes a parent another entry names, and a group's predecessor stays the operator's", async () => {
    const { sessions, w } = world();
    // a DM thread forked from the DM: the DM is still named by its own entry
    transcript(sessions, "dm.jsonl", "dm", undefined, [T0]);
    transcript(sessions, "th.jsonl", "th", "/x/dm.jsonl", [T0 + 1]);
    // a group's rotated session: its predecessor goes where the group goes (the operator)
    transcript(sessions, "g1.jsonl", "g1", undefined, [T0 + 2]);
    transcript(sessions, "2026-11-22T18-20-00-000Z_g2.jsonl", "g2", "/x/g1.jsonl", [T0 + 3]);
    // a parentSession naming a file that is not there, and one naming itself
    transcript(sessions, "self.jsonl", "self", "/x/self.jsonl", [T0 + 4]);
    writeJson(join(sessions, "sessions.json"), {
      "agent:main:telegram:direct:42": { sessionId: "dm", lastChannel: "telegram" },
      "agent:main:slack:direct:u1:thread:9": { sessionId: "th", lastChannel: "slack" },
      "agent:main:telegram:group:-100": { sessionId: "g2", lastChannel: "telegram" },
    });
    expect(await billedBy(w)).toEqual({ "telegram:42": 1, "slack:u1": 1, "agent:main": 3 });
  });

  it("a parent two users' transcripts both name is neither's: it stays the operator's", async () => {
    const { sessions, w } = world();
    transcript(sessions, "old.jsonl", "old", undefined, [T0]);
    transcript(sessions, "a.jsonl", "a", "/x/old.jsonl", [T0 + 1]);
    transcript(sessions, "b.jsonl", "b", "/x/old.jsonl", [T0 + 2]);
    writeJson(join(sessions, "sessions.json"), {
      "agent:main:telegram:direct:1": { sessionId: "a", lastChannel: "telegram" },
      "agent:main:telegram:direct:2": { sessionId: "b", lastChannel: "telegram" },
    });
    expect(await billedBy(w)).toEqual({ "telegram:1": 1, "telegram:2": 1, "agent:main": 1 });
  });

  it("reads the parent's session id from the header only", () => {
    const { sessions } = world();
    transcript(sessions, "a.jsonl", "a", "/h/sessions/2026-01-01T00-00-00-000Z_b.jsonl", []);
    transcript(sessions, "c.jsonl", "c", undefined, [T0]);
    writeFileSync(join(sessions, "d.jsonl"), '{"type":"session","parentSession":');
    expect(headerParentSessionId(join(sessions, "a.jsonl"))).toBe("b");
    expect(headerParentSessionId(join(sessions, "c.jsonl"))).toBeNull();
    expect(headerParentSessionId(join(sessions, "d.jsonl"))).toBeNull();
    expect(headerParentSessionId(join(sessions, "missing.jsonl"))).toBeNull();
  });
});
