// One meter alone on its database: every store session cursor move it writes continues from the
// committed cursor (`SqliteCursorMove.from`), so none is ever kept (`cursorsKept` 0, no warn) and
// a quiet poll reads nothing, whatever happens between polls (rewrites, watermark bumps, cold
// storage, failed batches, a thread killed mid-poll, cursors from before migration 35, a store
// replaced by a copy, two agents sharing one store file).
import { copyFileSync, mkdirSync, mkdtempSync, renameSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { type Db, openDatabase } from "../../src/db/index.js";
import type { MeterSource, SourceBatch } from "../../src/meter/source.js";
import { createReaderThread, type ReaderThread } from "../../src/meter/sources/jsonl-thread.js";
import { createSqliteSource } from "../../src/meter/sources/sqlite.js";
import { synthBiller } from "../support/meter-env.js";
import { randomStore } from "../support/random-store.js";

const dirs: string[] = [];
const dbs: Db[] = [];
const threads: ReaderThread[] = [];
afterEach(async () => {
  for (const t of threads.splice(0)) await t.terminate();
  for (const d of dbs.splice(0)) d.close();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function world(seed: number) {
  const dir = mkdtempSync(join(tmpdir(), "cg-cursor-live-"));
  dirs.push(dir);
  const w = randomStore(seed, dir);
  const db = openDatabase(join(dir, "db.sqlite"));
  dbs.push(db);
  return { dir, w, db };
}

function source(
  agentDir: string,
  db: Db,
  batchSize: number,
  thread?: ReaderThread,
  agentId = "main",
): MeterSource {
  return createSqliteSource({ agentDir, agentId, db, batchSize, ...(thread ? { thread } : {}) });
}

function newThread(): ReaderThread {
  const t = createReaderThread();
  threads.push(t);
  return t;
}

describe.each([false, true])("one meter alone never keeps a store cursor (thread: %s)", (threaded) => {
  for (const seed of [1, 2, 3, 4]) {
    it(`seed ${seed}: random changes, failed batches; quiet polls read nothing`, async () => {
      const { w, db } = world(seed * 31);
      const biller = synthBiller(db);
      const thread = threaded ? newThread() : undefined;
      const batchSize = 1 + Math.floor(w.r() * 5);
      const s = source(w.agentDir, db, batchSize, thread);
      let kept = 0;
      const bill = (b: SourceBatch) => {
        kept += biller.bill(b).cursorsKept;
      };
      for (let round = 0; round < 10; round++) {
        for (let i = round === 0 ? 40 : 1 + Math.floor(w.r() * 15); i > 0; i--) w.step();
        // a poll whose k-th batch fails to bill (retried next poll)
        const failAt = 1 + Math.floor(w.r() * 4);
        let k = 0;
        await s
          .poll((b) => {
            if (++k === failAt) throw new Error("billing failed");
            bill(b);
          })
          .catch((e: Error) => expect(e.message).toContain("billing failed"));
        await s.poll(bill);
        expect(kept, `round ${round}`).toBe(0);
        // quiet: nothing to read
        let quiet = 0;
        await s.poll((b) => {
          quiet += b.events.length + (b.cursorMoves?.sqlite?.length ?? 0);
          bill(b);
        });
        expect(quiet, `round ${round}`).toBe(0);
      }
      expect(kept).toBe(0);
      if (thread) expect(thread.crashes).toBe(0);
      s.close();
      w.close();
    });
  }
});

describe("one meter alone: special paths", () => {
  it("a thread killed mid-poll, the inline fallback goes on from the committed cursors", async () => {
    const { w, db } = world(77);
    const biller = synthBiller(db);
    const thread = newThread();
    const s = source(w.agentDir, db, 2, thread);
    let kept = 0;
    for (let i = 0; i < 60; i++) w.step();
    let k = 0;
    await s.poll((b) => {
      kept += biller.bill(b).cursorsKept;
      if (++k === 3) void thread.terminate();
    });
    expect(thread.crashes).toBe(1);
    for (let round = 0; round < 4; round++) {
      for (let i = 0; i < 10; i++) w.step();
      await s.poll((b) => {
        kept += biller.bill(b).cursorsKept;
      });
    }
    let quiet = 0;
    await s.poll((b) => {
      quiet += b.events.length + (b.cursorMoves?.sqlite?.length ?? 0);
      kept += biller.bill(b).cursorsKept;
    });
    expect(quiet).toBe(0);
    expect(kept).toBe(0);
    w.close();
  });

  it("cursors from before migration 35 (no fingerprint), then a store replaced by a copy", async () => {
    const { w, db } = world(5);
    const biller = synthBiller(db);
    let kept = 0;
    const bill = (b: SourceBatch) => {
      kept += biller.bill(b).cursorsKept;
    };
    const s = source(w.agentDir, db, 3);
    for (let i = 0; i < 40; i++) w.step();
    await s.poll(bill);
    db.exec("UPDATE meter_sqlite_cursors SET last_row_sha256 = NULL");
    for (let i = 0; i < 10; i++) w.step();
    await s.poll(bill);
    w.close();
    const store = join(w.agentDir, "agent", "openclaw-agent.sqlite");
    copyFileSync(store, `${store}.copy`);
    renameSync(`${store}.copy`, store);
    rmSync(`${store}-wal`, { force: true });
    rmSync(`${store}-shm`, { force: true });
    await s.poll(bill);
    let quiet = 0;
    await s.poll((b) => {
      quiet += b.events.length + (b.cursorMoves?.sqlite?.length ?? 0);
      bill(b);
    });
    expect(quiet).toBe(0);
    expect(kept).toBe(0);
    s.close();
  });

  it.each([false, true])("two agents whose stores are one file (symlink), thread: %s", async (threaded) => {
    const { dir, w, db } = world(9);
    const biller = synthBiller(db);
    const thread = threaded ? newThread() : undefined;
    const other = join(dir, "state", "agents", "other");
    mkdirSync(join(other, "agent"), { recursive: true });
    mkdirSync(join(other, "sessions"), { recursive: true });
    symlinkSync(
      join(w.agentDir, "agent", "openclaw-agent.sqlite"),
      join(other, "agent", "openclaw-agent.sqlite"),
    );
    const a = source(w.agentDir, db, 3, thread, "main");
    const b = source(other, db, 3, thread, "other");
    let kept = 0;
    const bill = (x: SourceBatch) => {
      kept += biller.bill(x).cursorsKept;
    };
    for (let round = 0; round < 5; round++) {
      for (let i = 0; i < (round === 0 ? 40 : 10); i++) w.step();
      await a.poll(bill);
      await b.poll(bill);
    }
    let quiet = 0;
    const q = (x: SourceBatch) => {
      quiet += x.events.length + (x.cursorMoves?.sqlite?.length ?? 0);
      bill(x);
    };
    await a.poll(q);
    await b.poll(q);
    expect(quiet).toBe(0);
    expect(kept).toBe(0);
    a.close();
    b.close();
    w.close();
  });
});
