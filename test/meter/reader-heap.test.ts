import {
  appendFileSync,
  cpSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { synthState } from "../../scripts/synth-state.mjs";
import { type Db, openDatabase } from "../../src/db/index.js";
import { queryUsage } from "../../src/meter/report.js";
import type { SourceBatch } from "../../src/meter/source.js";
import { createJsonlSource } from "../../src/meter/sources/jsonl.js";
import { createReaderThread } from "../../src/meter/sources/jsonl-thread.js";
import {
  parseSessionsJson,
  readSessionsJson,
  STREAM_INDEX_FROM_BYTES,
} from "../../src/meter/sources/sessions-index.js";
import { meterCaseDir, synthBiller } from "../support/meter-env.js";

/**
 * An agent with many sessions: its `sessions.json` (~5 KB an entry with OpenClaw's skills
 * snapshot) and the thread's per-transcript state outgrow the reader thread's heap limits.
 */
let dir: string | undefined;
afterEach(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

const SKILLS = `<available_skills>${"<skill><name>x</name><description>ünïcødé ✓ skill</description></skill>".repeat(60)}</available_skills>`;

/** A sessions.json object of `n` entries shaped like OpenClaw's (with every field the meter reads). */
function bigIndex(n: number): Record<string, unknown> {
  const index: Record<string, unknown> = {};
  for (let i = 0; i < n; i++) {
    index[`agent:main:telegram:direct:${1000 + i}`] = {
      sessionId: `00000000-0000-4000-8000-${String(i).padStart(12, "0")}`,
      updatedAt: 1795371250852 + i,
      skillsSnapshot: { prompt: SKILLS, skills: [{ name: "x" }] },
      lastChannel: i % 3 === 0 ? "telegram" : undefined,
      origin: { provider: "telegram", from: `telegram:${1000 + i}` },
      deliveryContext: { channel: "telegram", to: `telegram:${1000 + i}` },
      ...(i % 7 === 0 ? { spawnedBy: "agent:main:main" } : {}),
      ...(i % 11 === 0 ? { heartbeatIsolatedBaseSessionKey: "agent:main:main" } : {}),
      ...(i % 13 === 0 ? { forkSource: { sessionKey: "agent:main:telegram:direct:1000" } } : {}),
    };
  }
  index["agent:main:main"] = { updatedAt: 1 }; // no session id: not a session
  return index;
}

describe("readSessionsJson: a big sessions.json is streamed, with the same result", () => {
  it("the streamed read equals JSON.parse's, BOM and non-ASCII across chunk edges included", () => {
    dir = mkdtempSync(join(tmpdir(), "creditgate-index-"));
    const json = bigIndex(1200);
    const path = join(dir, "sessions.json");
    writeFileSync(path, `\uFEFF${JSON.stringify(json, null, 2)}\n`);
    const size = readFileSync(path).length;
    expect(size).toBeGreaterThan(STREAM_INDEX_FROM_BYTES); // > 1 MiB read chunk: crosses chunk edges
    const streamed = readSessionsJson(path);
    expect(streamed).toHaveLength(1200);
    expect(streamed).toEqual(parseSessionsJson(json));
    // the JSON.parse path (a size under the threshold) reads the same
    expect(readSessionsJson(path, Number.POSITIVE_INFINITY)).toEqual(streamed);
  });

  it.each([
    ["cut short", (t: string) => t.slice(0, t.length - 200)],
    ["garbage after the value", (t: string) => `${t}\n{"x":1}`],
    ["not JSON", (t: string) => `#${t}`],
  ])("%s: an error, as JSON.parse gives", (_name, damage) => {
    dir = mkdtempSync(join(tmpdir(), "creditgate-index-"));
    const path = join(dir, "sessions.json");
    writeFileSync(path, damage(JSON.stringify(bigIndex(600))));
    const size = readFileSync(path).length;
    expect(size).toBeGreaterThan(STREAM_INDEX_FROM_BYTES);
    expect(() => readSessionsJson(path)).toThrow();
    expect(() => readSessionsJson(path, Number.POSITIVE_INFINITY)).toThrow();
  });

  it("a repeated key keeps its last entry, as JSON.parse does", () => {
    dir = mkdtempSync(join(tmpdir(), "creditgate-index-"));
    const path = join(dir, "sessions.json");
    const text = JSON.stringify(bigIndex(600));
    const dup = '"agent:main:telegram:direct:1000":{"sessionId":"last-one","lastChannel":"telegram"}';
    const noId = '"agent:main:telegram:direct:1001":{"updatedAt":5}';
    writeFileSync(path, `${text.slice(0, -1)},${dup},${noId}}`);
    const size = readFileSync(path).length;
    expect(size).toBeGreaterThan(STREAM_INDEX_FROM_BYTES);
    const streamed = readSessionsJson(path);
    expect(streamed).toEqual(readSessionsJson(path, Number.POSITIVE_INFINITY));
    expect(streamed.find((x) => x.sessionKey === "agent:main:telegram:direct:1000")?.sessionId).toBe(
      "last-one",
    );
    expect(streamed.some((x) => x.sessionKey === "agent:main:telegram:direct:1001")).toBe(false);
  });

  it("a top-level array, null or a scalar is no index either way (not a JSON object: its sessions wait)", () => {
    dir = mkdtempSync(join(tmpdir(), "creditgate-index-"));
    const path = join(dir, "sessions.json");
    writeFileSync(path, JSON.stringify(Object.values(bigIndex(600))));
    expect(readFileSync(path).length).toBeGreaterThan(STREAM_INDEX_FROM_BYTES);
    expect(() => readSessionsJson(path)).toThrow("not a JSON object");
    expect(() => readSessionsJson(path, Number.POSITIVE_INFINITY)).toThrow("not a JSON object");
    for (const text of ["null", "[]", '"x"', "42", `${" ".repeat(STREAM_INDEX_FROM_BYTES)}null`]) {
      writeFileSync(path, text);
      expect(() => readSessionsJson(path), text.trim()).toThrow("not a JSON object");
      expect(() => readSessionsJson(path, 0), text.trim()).toThrow("not a JSON object");
    }
    // an empty object is an index of no session, streamed or not
    for (const text of ["{}", `{${" ".repeat(STREAM_INDEX_FROM_BYTES)}}`]) {
      writeFileSync(path, text);
      expect(readSessionsJson(path)).toEqual([]);
      expect(readSessionsJson(path, 0)).toEqual([]);
    }
  });
});

describe("case sessions-index-repeated-key-streamed: a streamed index reads a key's last entry, in JSON.parse's order", () => {
  it("a key given twice, integer-like keys, __proto__: the same sessions as JSON.parse", () => {
    dir = mkdtempSync(join(tmpdir(), "creditgate-index-"));
    const path = join(dir, "sessions.json");
    const e = (sid: string, peer: string) =>
      JSON.stringify({ sessionId: sid, origin: { from: `telegram:${peer}` } });
    const text = `{${" ".repeat(STREAM_INDEX_FROM_BYTES)}"b": ${e("s1", "1")}, "k": ${e("s2", "2")}, "7": ${e("s1", "3")}, "k": ${e("s3", "4")}, "__proto__": ${e("s4", "5")}, "b": {"updatedAt": 1}}`;
    writeFileSync(path, text);
    const size = readFileSync(path).length;
    expect(size).toBeGreaterThan(STREAM_INDEX_FROM_BYTES);
    const parsed = parseSessionsJson(JSON.parse(text));
    expect(parsed.map((x) => [x.sessionKey, x.sessionId])).toEqual([
      ["7", "s1"],
      ["k", "s3"],
      ["__proto__", "s4"],
    ]);
    expect(readSessionsJson(path)).toEqual(parsed);
  });

  it("Ivy's session is billed to Ivy whether the index is parsed whole or streamed", async () => {
    const caseDir = resolve(import.meta.dirname, "../cases/sessions-index-repeated-key-streamed");
    dir = mkdtempSync(join(tmpdir(), "creditgate-case-"));
    for (const streamed of [false, true]) {
      const copy = join(dir, String(streamed));
      cpSync(caseDir, copy, { recursive: true });
      const index = join(copy, "state", "agents", "main", "sessions", "sessions.json");
      if (streamed) {
        // the same JSON text with whitespace after its first brace: over the streaming threshold
        const text = readFileSync(index, "utf8");
        writeFileSync(index, `{${" \n".repeat(STREAM_INDEX_FROM_BYTES / 2)}${text.slice(1)}`);
        expect(readFileSync(index).length).toBeGreaterThan(STREAM_INDEX_FROM_BYTES);
      }
      const { world } = await meterCaseDir(copy, "calculate");
      try {
        const byUser = Object.fromEntries(
          queryUsage(world.db, { by: "user" }).map((r) => [
            r.key,
            { requests: r.requests, costUsd: r.costUsd },
          ]),
        );
        expect({ streamed, byUser }).toEqual({
          streamed,
          byUser: {
            "telegram:5550202": { requests: 1, costUsd: "0.0045" },
            "telegram:5550101": { requests: 1, costUsd: "0.0075" },
          },
        });
      } finally {
        world.cleanup();
      }
    }
  }, 60_000);
});

const count = (db: Db, sql: string) => (db.prepare(sql).get() as { n: number }).n;

describe("the reader thread out of heap", () => {
  it("this poll reads on the main thread, the next starts a thread with twice the heap: every call billed once", async () => {
    dir = mkdtempSync(join(tmpdir(), "creditgate-heap-"));
    const stateDir = join(dir, "state");
    const world = synthState({ stateDir, agents: 1, sessions: 400, turns: 2, users: 300, seed: 5 });
    const sessionsDir = join(stateDir, "agents", "main", "sessions");
    // OpenClaw's entries carry the skills snapshot (~5 KB each)
    const indexPath = join(sessionsDir, "sessions.json");
    const index = JSON.parse(readFileSync(indexPath, "utf8")) as Record<string, Record<string, unknown>>;
    for (const e of Object.values(index)) e.skillsSnapshot = { prompt: SKILLS };
    writeFileSync(indexPath, JSON.stringify(index));
    const db = openDatabase(join(dir, "db.sqlite"));
    const biller = synthBiller(db);
    const logs: { msg: string; fields?: Record<string, unknown> }[] = [];
    // a limit this agent outgrows at once (the real one, 48 MB since 2026-12-04: 32 MB was outgrown at ~10,000 transcripts)
    const thread = createReaderThread({
      oldGenerationMb: 2,
      log: (_l, msg, fields) => logs.push({ msg, fields }),
    });
    const source = createJsonlSource({
      agentDir: join(stateDir, "agents", "main"),
      agentId: "main",
      db,
      batchSize: 200,
      thread,
    });
    let billed = 0;
    let duplicates = 0;
    const sink = (b: SourceBatch) => {
      const r = biller.bill(b);
      billed += r.billed;
      duplicates += r.duplicates;
    };
    try {
      await source.poll(sink);
      expect(thread.crashes).toBe(1);
      expect(thread.usable).toBe(true);
      expect(thread.oldGenerationMb).toBe(4);
      expect(logs[0]).toMatchObject({
        msg: "reader thread ran out of heap; this poll reads on the main thread",
        fields: { oldGenerationMb: 2, nextOldGenerationMb: 4 },
      });
      expect(billed).toBe(world.events);
      // each later poll on a new thread, with twice the heap, until one is enough
      const file = join(sessionsDir, readdirSync(sessionsDir).find((n) => n.endsWith(".jsonl")) as string);
      const last = readFileSync(file, "utf8").trimEnd().split("\n").at(-1) as string;
      for (let i = 0; i < 8 && thread.batches === 0; i++) {
        const next = JSON.parse(last);
        next.id = `f${String(i).padStart(7, "0")}`;
        next.message.timestamp += 60_000 * (i + 1);
        next.message.responseId = `chatcmpl-heap-${i}`;
        appendFileSync(file, `${JSON.stringify(next)}\n`);
        await source.poll(sink);
        expect(thread.usable).toBe(true);
      }
      expect(thread.batches).toBeGreaterThan(0); // read on a thread again
      expect(thread.oldGenerationMb).toBeGreaterThan(4);
      expect(billed).toBe(world.events + thread.crashes);
      expect(duplicates).toBe(0);
      expect(count(db, "SELECT COUNT(*) AS n FROM usage_events")).toBe(billed);
    } finally {
      await thread.terminate();
      db.close();
    }
  }, 120_000);
});
