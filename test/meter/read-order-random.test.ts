// Random state dirs changed between and during polls, read with up to 4 batches unacknowledged
// (as the reader thread does): every call the files hold is billed once, to its session's account,
// whatever order the reader takes the files in (9b9d8f2 reads them grouped by account).
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { type Db, openDatabase } from "../../src/db/index.js";
import type { SourceBatch } from "../../src/meter/source.js";
import { createJsonlReader, type JsonlReader } from "../../src/meter/sources/jsonl-reader.js";
import { synthBiller } from "../support/meter-env.js";
import { randomWorld } from "../support/random-state.js";

/** Polls, billing with up to `depth` batches emitted and not yet committed (the thread's window). */
async function pollWithLag(
  reader: JsonlReader,
  bill: (b: SourceBatch) => void,
  depth: number,
  during?: () => void,
) {
  const waiting: [SourceBatch, number][] = [];
  const commit = (keep: number) => {
    while (waiting.length > keep) {
      const [b, id] = waiting.shift() as [SourceBatch, number];
      bill(b);
      reader.committed(id);
    }
  };
  await reader.poll(async (batch, id) => {
    waiting.push([batch, id]);
    commit(depth - 1);
    during?.();
    await Promise.resolve();
  });
  commit(0);
}

describe("random state dirs, changed between and during polls", () => {
  it("every call in the files is billed once, to its session's account (30 state dirs)", async () => {
    for (let seed = 1; seed <= 30; seed++) {
      const dir = mkdtempSync(join(tmpdir(), "cg-read-random-"));
      let db: Db | null = null;
      try {
        const w = randomWorld(seed, dir);
        db = openDatabase(join(dir, "db.sqlite"));
        const biller = synthBiller(db);
        const opts = { agentDir: w.agentDir, agentId: "main", batchSize: 1 + Math.floor(w.r() * 8) };
        let reader = createJsonlReader(opts, db);
        const bill = (b: SourceBatch) => {
          biller.bill(b);
        };
        for (let round = 0, rounds = 6 + Math.floor(w.r() * 8); round < rounds; round++) {
          for (let i = round === 0 ? 30 : 1 + Math.floor(w.r() * 8); i > 0; i--) w.step();
          if (w.r() < 0.15) reader = createJsonlReader(opts, db); // a restart: memory from the database
          let emits = 0;
          // files change while others are read (a few times per poll)
          await pollWithLag(reader, bill, 1 + Math.floor(w.r() * 4), () => {
            if (++emits % 3 === 0 && emits <= 12) w.step();
          });
        }
        await pollWithLag(reader, bill, 1); // settle
        const want = w.expected();
        const got = db.prepare("SELECT message_ts_ms AS t, account_id AS a FROM usage_events").all() as {
          t: number;
          a: string;
        }[];
        const wrong = got
          .filter((g) => want.get(g.t) !== g.a)
          .map((g) => `${g.t} ${g.a} != ${want.get(g.t)}`);
        expect(wrong, `seed ${seed}`).toEqual([]);
        expect(got.length, `seed ${seed}`).toBe(want.size);
      } finally {
        db?.close();
        rmSync(dir, { recursive: true, force: true });
      }
    }
  }, 120_000);
});
