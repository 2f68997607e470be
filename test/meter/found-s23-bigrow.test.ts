import { join, resolve } from "node:path";
import Database from "better-sqlite3";
import { afterEach, describe, expect, it } from "vitest";
import { queryUsage } from "../../src/meter/report.js";
import { casePricer, meterFor, type TempWorld, tempWorld } from "../support/meter-env.js";
import { zstdStore } from "../support/zstd.js";

/**
 * An OpenClaw SQLite store row of ~50 MB (a user message with a base64 image inline,
 * openclaw/openclaw#16358, #108071): OpenClaw stores an event over 4 MiB as plain `event_json`
 * (`prepareTranscriptPayload`, MAX_COMPRESSED_EVENT_BYTES), and the reader thread fetched it whole
 * as a string before any size check: V8's fatal out-of-memory aborted the whole process (exit
 * 134, nothing billed, every poll). The row is built at run time (never committed).
 */
const CASE = resolve(import.meta.dirname, "../cases/subagent-into-other-agent-store");
const SID = "aaaaaaaa-0000-4000-8000-000000000001";

let w: TempWorld | undefined;
afterEach(() => {
  w?.cleanup();
  w = undefined;
});

const storeOf = (world: TempWorld) => join(world.stateDir, "agents/main/agent/openclaw-agent.sqlite");

function insert(world: TempWorld, seq: number, event: unknown): void {
  const db = new Database(storeOf(world));
  const json = JSON.stringify(event);
  db.prepare(
    "INSERT INTO transcript_events (session_id, seq, event_json, created_at, event_utf8_bytes) VALUES (?, ?, ?, ?, ?)",
  ).run(SID, seq, json, 1795371240000 + seq, Buffer.byteLength(json));
  db.close();
}

/** A user message with a 50 MB image inline (seq 3, after the DM's billed call). */
function bigUserRow(world: TempWorld): void {
  insert(world, 3, {
    type: "message",
    id: "u0000009-0000-4000-8000-000000000000",
    parentId: "a0000001-0000-4000-8000-000000000000",
    timestamp: "2026-11-22T18:14:00.000Z",
    message: {
      role: "user",
      content: [{ type: "image", data: "A".repeat(50_000_000), mimeType: "image/png" }],
      timestamp: 1795371240000,
    },
  });
}

/** The call answering it ($0.006 + $0.0015 at mock-gpt 3 / 15 USD per 1M). */
function replyRow(world: TempWorld): void {
  insert(world, 4, {
    type: "message",
    id: "a0000009-0000-4000-8000-000000000000",
    parentId: "u0000009-0000-4000-8000-000000000000",
    timestamp: "2026-11-22T18:14:05.000Z",
    message: {
      role: "assistant",
      content: [{ type: "text", text: "a cat" }],
      api: "openai-completions",
      provider: "mock",
      model: "mock-gpt",
      usage: { input: 2000, output: 100, cacheRead: 0, cacheWrite: 0, reasoningTokens: 0, totalTokens: 2100 },
      stopReason: "stop",
      timestamp: 1795371245000,
      responseId: "chatcmpl-mock-9",
    },
  });
}

async function meterOnce(world: TempWorld) {
  const meter = meterFor(world, { pricer: casePricer(CASE), readerThread: true });
  const s = await meter.runOnce();
  meter.close();
  return s;
}

const byUser = (world: TempWorld) =>
  Object.fromEntries(queryUsage(world.db, { by: "user" }).map((r) => [r.key, [r.requests, r.costUsd]]));

describe("a 50 MB row in OpenClaw's SQLite store never stops billing (reader thread on)", () => {
  it("both agents' calls and the image's reply billed once: telegram:5550101 4 calls $0.02115 (was: process aborted, nothing billed)", async () => {
    w = tempWorld(join(CASE, "state"));
    bigUserRow(w);
    replyRow(w);
    const s = await meterOnce(w);
    expect(s.billed).toBe(4);
    expect(s.readerThreadCrashes).toBe(1); // logged: "a line over 16777216 bytes is read on the main thread"
    expect(byUser(w)).toEqual({ "telegram:5550101": [4, "0.02115"] });
    const again = await meterOnce(w);
    expect(again.billed).toBe(0);
    expect(again.readerThreadCrashes).toBe(0);
  }, 120_000);

  it("the big row at a cursor: the next meter checks it without decoding it, and a reply read later is billed once", async () => {
    w = tempWorld(join(CASE, "state"));
    bigUserRow(w);
    const first = await meterOnce(w);
    expect(first.billed).toBe(3);
    // the cursor's row fingerprint is checked on the thread (the row read as a blob): no crash, no rescan
    const check = await meterOnce(w);
    expect(check.billed).toBe(0);
    expect(check.readerThreadCrashes).toBe(0);
    expect(check.rescans).toBe(0);
    // the reply's turn is looked for back from the cursor (the big row): read on the main thread
    replyRow(w);
    const next = await meterOnce(w);
    expect(next.billed).toBe(1);
    expect(next.rescans).toBe(0);
    expect(byUser(w)).toEqual({ "telegram:5550101": [4, "0.02115"] });
  }, 120_000);

  it("the session deleted into session_transcript_archives (zstd) with the 50 MB line: billed once, the process not aborted", async () => {
    w = tempWorld(join(CASE, "state"));
    bigUserRow(w);
    replyRow(w);
    const db = new Database(storeOf(w));
    const lines = db
      .prepare<[string], { json: string }>(
        "SELECT event_json AS json FROM transcript_events WHERE session_id = ? ORDER BY seq",
      )
      .all(SID)
      .map((r) => r.json);
    const blob = zstdStore(Buffer.from(`${lines.join("\n")}\n`));
    db.prepare(
      `INSERT INTO session_transcript_archives (session_id, generation, session_key, reason, encoding, archive_blob,
         archive_sha256, archive_name, created_at) VALUES (?, 'g1', 'agent:main:direct:5550101', 'deleted', 'zstd', ?, ?, ?, 1795371600000)`,
    ).run(SID, blob, "0".repeat(64), `${SID}.jsonl.deleted.2026-11-22T18-20-00.000Z.g1.zst`);
    db.prepare("DELETE FROM transcript_events WHERE session_id = ?").run(SID);
    db.close();
    const s = await meterOnce(w);
    expect(s.billed).toBe(4);
    expect(byUser(w)).toEqual({ "telegram:5550101": [4, "0.02115"] });
  }, 120_000);

  it("an event_zstd row that decodes to 50 MB (a store OpenClaw's CHECKs were off for), looked back at: read on the main thread", async () => {
    w = tempWorld(join(CASE, "state"));
    bigUserRow(w);
    const db = new Database(storeOf(w));
    db.pragma("ignore_check_constraints = 1");
    const row = db
      .prepare<[string], { json: string }>(
        "SELECT event_json AS json FROM transcript_events WHERE session_id = ? AND seq = 3",
      )
      .get(SID) as { json: string };
    db.prepare(
      "UPDATE transcript_events SET event_json = NULL, event_zstd = ?, navigation_json = '{}' WHERE session_id = ? AND seq = 3",
    ).run(zstdStore(Buffer.from(row.json)), SID);
    db.close();
    expect((await meterOnce(w)).billed).toBe(3);
    replyRow(w);
    const next = await meterOnce(w);
    expect(next.billed).toBe(1);
    expect(byUser(w)).toEqual({ "telegram:5550101": [4, "0.02115"] });
  }, 120_000);
});
