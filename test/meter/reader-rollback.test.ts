import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { synthState } from "../../scripts/synth-state.mjs";
import { type Db, openDatabase } from "../../src/db/index.js";
import type { SourceBatch } from "../../src/meter/source.js";
import { createJsonlSource } from "../../src/meter/sources/jsonl.js";
import { createReaderThread } from "../../src/meter/sources/jsonl-thread.js";
import { fill, synthBiller, unbalancedAccounts, unfill } from "../support/meter-env.js";
import { zstdStore } from "../support/zstd.js";

let dir: string | undefined;
afterEach(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

function setup(seed: number) {
  dir = mkdtempSync(join(tmpdir(), "creditgate-rollback-"));
  const stateDir = join(dir, "state");
  const world = synthState({ stateDir, agents: 1, sessions: 30, turns: 8, users: 10, seed });
  const db = openDatabase(join(dir, "db.sqlite"));
  const biller = synthBiller(db);
  return { stateDir, world, db, biller };
}

const count = (db: Db, sql: string) => (db.prepare(sql).get() as { n: number }).n;

describe.each([
  ["on the reader thread", true],
  ["on the main thread", false],
])("a batch rolled back by the database, reading %s", (_name, threaded) => {
  it("the reader rewinds to the committed cursors: the next poll bills the rest exactly once", async () => {
    const { stateDir, world, db, biller } = setup(11);
    const thread = threaded ? createReaderThread() : undefined;
    const source = createJsonlSource({
      agentDir: join(stateDir, "agents", "main"),
      agentId: "main",
      db,
      batchSize: 13,
      ...(thread ? { thread } : {}),
    });
    try {
      let batches = 0;
      let billed = 0;
      let duplicates = 0;
      const sink = (b: SourceBatch) => {
        const r = biller.bill(b);
        billed += r.billed;
        duplicates += r.duplicates;
        // after the third commit the disk is "full": the thread has read ahead by then
        if (++batches === 3) fill(db);
      };
      await expect(source.poll(sink)).rejects.toMatchObject({ code: "SQLITE_FULL" });
      expect(billed).toBeGreaterThan(0);
      expect(billed).toBeLessThan(world.events);
      unfill(db);
      await source.poll(sink);
      expect(billed).toBe(world.events);
      expect(duplicates).toBe(0);
      expect(count(db, "SELECT COUNT(*) AS n FROM usage_events")).toBe(world.events);
      expect(unbalancedAccounts(db)).toBe(0);
      billed = 0;
      await source.poll(sink);
      expect(billed).toBe(0);
    } finally {
      await thread?.terminate();
      db.close();
    }
  });

  it.each([1, 2, 4, 5, 9])(
    "a failure at batch %i while the thread reads ahead, and again in the next poll: every call billed once, none twice",
    async (k) => {
      const { stateDir, world, db, biller } = setup(20 + k);
      const thread = threaded ? createReaderThread() : undefined;
      const source = createJsonlSource({
        agentDir: join(stateDir, "agents", "main"),
        agentId: "main",
        db,
        batchSize: 7,
        ...(thread ? { thread } : {}),
      });
      try {
        let batches = 0;
        let failAt = k;
        let billed = 0;
        let duplicates = 0;
        const sink = (b: SourceBatch) => {
          batches++;
          // the writer is slow on the first batch: the thread fills its window (MAX_IN_FLIGHT)
          if (batches === 1) for (const t = Date.now(); Date.now() - t < 50; );
          if (batches === failAt) fill(db);
          const r = biller.bill(b);
          billed += r.billed;
          duplicates += r.duplicates;
        };
        await expect(source.poll(sink)).rejects.toMatchObject({ code: "SQLITE_FULL" });
        expect(count(db, "SELECT COUNT(*) AS n FROM usage_events")).toBe(billed);
        unfill(db);
        // the next poll fails too, at its third batch: the reader forgets that one and later ones again
        batches = 0;
        failAt = 3;
        await expect(source.poll(sink)).rejects.toMatchObject({ code: "SQLITE_FULL" });
        unfill(db);
        failAt = 0;
        await source.poll(sink);
        expect(billed).toBe(world.events);
        expect(duplicates).toBe(0);
        expect(count(db, "SELECT COUNT(*) AS n FROM usage_events")).toBe(world.events);
        expect(unbalancedAccounts(db)).toBe(0);
        billed = 0;
        await source.poll(sink);
        expect(billed).toBe(0);
      } finally {
        await thread?.terminate();
        db.close();
      }
    },
  );

  it("the sessions.json facts of a rolled-back first batch are written by the next poll", async () => {
    const { stateDir, db, biller } = setup(12);
    const thread = threaded ? createReaderThread() : undefined;
    const source = createJsonlSource({
      agentDir: join(stateDir, "agents", "main"),
      agentId: "main",
      db,
      batchSize: 13,
      ...(thread ? { thread } : {}),
    });
    try {
      const sink = (b: SourceBatch) => {
        biller.bill(b);
      };
      fill(db);
      await expect(source.poll(sink)).rejects.toMatchObject({ code: "SQLITE_FULL" });
      expect(count(db, "SELECT COUNT(*) AS n FROM meter_sessions")).toBe(0);
      unfill(db);
      await source.poll(sink);
      // the session → account memory that attributes a session once sessions.json forgets it
      expect(count(db, "SELECT COUNT(*) AS n FROM meter_sessions")).toBe(30);
    } finally {
      await thread?.terminate();
      db.close();
    }
  });

  it("a big .zst archive is billed in batches of batchSize; after a failure between them it is read again whole and billed once", async () => {
    const { stateDir, world, db, biller } = setup(13);
    // the agent's whole history, moved into one cold-storage archive
    const sessions = join(stateDir, "agents", "main", "sessions");
    const all = readdirSync(sessions)
      .filter((n) => n.endsWith(".jsonl"))
      .sort()
      .map((n) => readFileSync(join(sessions, n)));
    for (const n of readdirSync(sessions)) if (n.endsWith(".jsonl")) rmSync(join(sessions, n));
    mkdirSync(join(sessions, "cold"));
    writeFileSync(join(sessions, "cold", "0a1b.jsonl.zst"), zstdStore(Buffer.concat(all)));
    const thread = threaded ? createReaderThread() : undefined;
    const source = createJsonlSource({
      agentDir: join(stateDir, "agents", "main"),
      agentId: "main",
      db,
      batchSize: 13,
      ...(thread ? { thread } : {}),
    });
    try {
      const sizes: number[] = [];
      let billed = 0;
      let duplicates = 0;
      const sink = (b: SourceBatch) => {
        const r = biller.bill(b);
        sizes.push(b.events.length);
        billed += r.billed;
        duplicates += r.duplicates;
        if (sizes.length === 2) fill(db);
      };
      await expect(source.poll(sink)).rejects.toMatchObject({ code: "SQLITE_FULL" });
      expect(count(db, "SELECT COUNT(*) AS n FROM meter_blobs_done")).toBe(0);
      const before = count(db, "SELECT COUNT(*) AS n FROM usage_events");
      expect(before).toBe(13); // one part of the archive committed
      unfill(db);
      sizes.length = 0;
      sizes.push(0, 0); // no more filling
      billed = 0;
      await source.poll(sink);
      expect(Math.max(...sizes)).toBeLessThanOrEqual(13);
      expect(billed).toBe(world.events - before);
      expect(duplicates).toBe(before);
      expect(count(db, "SELECT COUNT(*) AS n FROM usage_events")).toBe(world.events);
      expect(count(db, "SELECT COUNT(*) AS n FROM meter_blobs_done")).toBe(1);
      billed = 0;
      await source.poll(sink);
      expect(billed).toBe(0);
    } finally {
      await thread?.terminate();
      db.close();
    }
  });
});
