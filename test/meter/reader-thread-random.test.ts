// The reader thread with up to MAX_IN_FLIGHT batches unacknowledged, on random state dirs changed
// between and during polls, while billing fails and the thread is killed at random batches (and a
// new thread is started, as a restarted meter would): every call the files hold is billed once, to
// its session's account.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { type Db, openDatabase } from "../../src/db/index.js";
import { createJsonlSource } from "../../src/meter/sources/jsonl.js";
import { createReaderThread } from "../../src/meter/sources/jsonl-thread.js";
import { synthBiller } from "../support/meter-env.js";
import { randomWorld } from "../support/random-state.js";

describe("the reader thread on random state dirs, failing and dying at random batches", () => {
  it("every call in the files is billed once, to its session's account (8 state dirs, ~90 polls)", async () => {
    let fails = 0;
    let deaths = 0;
    let polls = 0;
    for (let seed = 1; seed <= 8; seed++) {
      const dir = mkdtempSync(join(tmpdir(), "cg-thread-stress-"));
      let db: Db | null = null;
      let thread = createReaderThread();
      try {
        const w = randomWorld(seed * 31, dir);
        db = openDatabase(join(dir, "db.sqlite"));
        const d = db;
        const biller = synthBiller(d);
        const batchSize = 1 + Math.floor(w.r() * 6);
        const mk = () =>
          createJsonlSource({ agentDir: w.agentDir, agentId: "main", db: d, batchSize, thread });
        let source = mk();
        for (let round = 0, rounds = 8 + Math.floor(w.r() * 8); round < rounds; round++) {
          for (let i = round === 0 ? 60 : 1 + Math.floor(w.r() * 10); i > 0; i--) w.step();
          const failAt = w.r() < 0.4 ? 1 + Math.floor(w.r() * 8) : -1;
          const dieAt = w.r() < 0.2 ? 1 + Math.floor(w.r() * 8) : -1;
          let k = 0;
          polls++;
          try {
            await source.poll((b) => {
              k++;
              // a slow first batch: the thread fills its window
              if (k === 1) for (const t = Date.now(); Date.now() - t < 5; );
              if (k === dieAt) {
                deaths++;
                void thread.terminate();
              }
              if (k === failAt) {
                fails++;
                throw Object.assign(new Error("injected"), { code: "INJECTED" });
              }
              biller.bill(b);
              if (k % 3 === 0 && k <= 12) w.step();
            });
          } catch (err) {
            if ((err as { code?: string }).code !== "INJECTED") throw err;
          }
          if (!thread.usable) {
            // a restart: a new thread, a new source (memory from the database)
            await thread.terminate();
            thread = createReaderThread();
            source = mk();
          }
        }
        await source.poll((b) => void biller.bill(b));
        await source.poll((b) => void biller.bill(b));
        const want = w.expected();
        const got = d.prepare("SELECT message_ts_ms AS t, account_id AS a FROM usage_events").all() as {
          t: number;
          a: string;
        }[];
        const wrong = got
          .filter((g) => want.get(g.t) !== g.a)
          .map((g) => `${g.t} ${g.a} != ${want.get(g.t)}`);
        expect(wrong, `seed ${seed}`).toEqual([]);
        expect(got.length, `seed ${seed}`).toBe(want.size);
      } finally {
        await thread.terminate();
        db?.close();
        rmSync(dir, { recursive: true, force: true });
      }
    }
    // the failures and deaths did happen
    expect(fails).toBeGreaterThan(10);
    expect(deaths).toBeGreaterThan(3);
    expect(polls).toBeGreaterThan(50);
  }, 240_000);
});
