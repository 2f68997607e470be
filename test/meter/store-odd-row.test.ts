// A store row whose event_zstd (or event_json) holds a value that is neither text nor a blob (an
// integer: possible in a store whose transcript_events is not STRICT) is rejected as malformed, as
// before migration 35. Fingerprinting it must not throw: as the last row of an idle session it
// failed every poll of the agent's store (nothing of it billed, and its JSONL files held back).
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterEach, describe, expect, it } from "vitest";
import { openDatabase } from "../../src/db/index.js";
import type { SourceBatch } from "../../src/meter/source.js";
import { createReaderThread } from "../../src/meter/sources/jsonl-thread.js";
import { createSqliteSource } from "../../src/meter/sources/sqlite.js";
import { rowFingerprint } from "../../src/meter/sources/sqlite-reader.js";
import { synthBiller } from "../support/meter-env.js";
import { steppedStore } from "../support/random-store.js";

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe("a store row that is neither text nor a blob", () => {
  it("has a fingerprint, distinct from the same digits stored as text", () => {
    const odd = rowFingerprint(null, 7 as unknown as Buffer);
    expect(odd).toMatch(/^[0-9a-f]{64}$/);
    expect(odd).not.toBe(rowFingerprint(null, Buffer.from("7")));
    expect(rowFingerprint(7 as unknown as string, null)).not.toBe(rowFingerprint("7", null));
  });

  it("as the last row of a session: rejected, the poll goes on, and it is not read again", async () => {
    const dir = mkdtempSync(join(tmpdir(), "cg-odd-row-"));
    dirs.push(dir);
    const rs = steppedStore(5, dir, 40);
    const store = rs.store;
    const last = { sid: rs.sid, m: rs.maxSeq };
    const oc = new Database(store);
    oc.prepare(
      "INSERT INTO transcript_events (session_id, seq, event_json, event_zstd) VALUES (?, ?, NULL, 7)",
    ).run(last.sid, last.m + 1);
    oc.close();
    const db = openDatabase(join(dir, "db.sqlite"));
    try {
      const biller = synthBiller(db);
      const src = createSqliteSource({ agentDir: rs.agentDir, agentId: "main", db, batchSize: 5 });
      const problems: unknown[] = [];
      let billed = 0;
      const poll = () =>
        src.poll(
          (b: SourceBatch) => {
            billed += biller.bill(b).billed;
          },
          (p) => problems.push(p),
        );
      await poll();
      expect(problems).toEqual([]);
      expect(billed).toBeGreaterThan(0);
      const rejects = db
        .prepare<[string], { n: number }>("SELECT COUNT(*) AS n FROM meter_rejects WHERE source_ref = ?")
        .get(`sqlite:main#${last.sid}:${last.m + 1}`) as { n: number };
      expect(rejects.n).toBe(1);
      const cursor = db
        .prepare<[string], { last_seq: number }>(
          "SELECT last_seq FROM meter_sqlite_cursors WHERE session_id = ?",
        )
        .get(last.sid);
      expect(cursor?.last_seq).toBe(last.m + 1);
      billed = 0;
      for (let i = 0; i < 3; i++) await poll(); // a reconcile included (a new reader would be one too)
      expect(problems).toEqual([]);
      expect(billed).toBe(0);
      src.close();
    } finally {
      db.close();
    }
  });
});

// The same store (transcript_events not STRICT) can hold a blob in event_json: better-sqlite3 gives
// it as a Buffer, which the text path (BatchBuilder.textLine) cannot take. It is the line's UTF-8
// bytes, read like an event_zstd row once decoded; the poll must not fail on it.
describe.each([
  ["on the main thread", false],
  ["on the reader thread", true],
])("event_json holding a blob, read %s", (_name, threaded) => {
  it("as the last row of a session: read as the line's bytes, billed once, the poll goes on", async () => {
    const dir = mkdtempSync(join(tmpdir(), "cg-odd-row-"));
    dirs.push(dir);
    const rs = steppedStore(5, dir, 40);
    const store = rs.store;
    const last = { sid: rs.sid, m: rs.maxSeq };
    const oc = new Database(store);
    const line = JSON.stringify({
      type: "message",
      timestamp: "2026-11-20T00:00:00.000Z",
      message: {
        role: "assistant",
        provider: "mock",
        model: "mock-gpt",
        usage: { input: 7, output: 3 },
        timestamp: 1_795_000_000_000,
        responseId: "blob-row",
      },
    });
    oc.prepare(
      "INSERT INTO transcript_events (session_id, seq, event_json, event_zstd) VALUES (?, ?, ?, NULL)",
    ).run(last.sid, last.m + 1, Buffer.from(line));
    expect(
      oc
        .prepare("SELECT typeof(event_json) AS t FROM transcript_events WHERE session_id = ? AND seq = ?")
        .get(last.sid, last.m + 1),
    ).toEqual({ t: "blob" });
    oc.close();
    const db = openDatabase(join(dir, "db.sqlite"));
    const thread = threaded ? createReaderThread() : undefined;
    try {
      const biller = synthBiller(db);
      const src = createSqliteSource({
        agentDir: rs.agentDir,
        agentId: "main",
        db,
        batchSize: 5,
        ...(thread ? { thread } : {}),
      });
      const problems: unknown[] = [];
      const poll = () =>
        src.poll(
          (b: SourceBatch) => {
            biller.bill(b);
          },
          (p) => problems.push(p),
        );
      await poll();
      expect(problems).toEqual([]);
      const billed = db
        .prepare<[], { n: number }>("SELECT COUNT(*) AS n FROM usage_events WHERE response_id = 'blob-row'")
        .get() as { n: number };
      expect(billed.n).toBe(1);
      const cursor = db
        .prepare<[string], { last_seq: number }>(
          "SELECT last_seq FROM meter_sqlite_cursors WHERE session_id = ?",
        )
        .get(last.sid);
      expect(cursor?.last_seq).toBe(last.m + 1);
      const rows = () => (db.prepare("SELECT COUNT(*) AS n FROM usage_events").get() as { n: number }).n;
      const before = rows();
      for (let i = 0; i < 3; i++) await poll(); // a reconcile included
      expect(problems).toEqual([]);
      expect(rows()).toBe(before);
      if (thread) expect(thread.crashes).toBe(0);
      src.close();
    } finally {
      await thread?.terminate();
      db.close();
    }
  });
});
