// The reader thread derives a call's dedupe key only while the writer has batches waiting, and
// otherwise leaves it to the biller (`keysHere`, see batch-builder.ts and jsonl-worker.ts). Where
// the key is computed must change nothing: the same state read with keys always derived by the
// reader, never, or every other call bills the same rows, keys, accounts and amounts.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { type Db, openDatabase } from "../../src/db/index.js";
import { dedupeKey } from "../../src/meter/identity.js";
import type { SourceBatch } from "../../src/meter/source.js";
import type { KeysHere } from "../../src/meter/sources/batch-builder.js";
import { type PackedEvents, unpackEvents } from "../../src/meter/sources/event-columns.js";
import { createJsonlReader } from "../../src/meter/sources/jsonl-reader.js";
import { createSqliteReader } from "../../src/meter/sources/sqlite-reader.js";
import { synthBiller } from "../support/meter-env.js";
import { randomWorld } from "../support/random-state.js";
import { randomStore } from "../support/random-store.js";

type Emit = (batch: SourceBatch, id: number, packed?: PackedEvents | null) => Promise<void> | void;
interface Reader {
  poll(emit: Emit): Promise<void>;
  committed(id: number): void;
}

const POLICIES: Record<string, () => KeysHere> = {
  always: () => () => true,
  never: () => () => false,
  alternate: () => {
    let n = 0;
    return () => n++ % 2 === 0;
  },
};

/** Bills everything `make` reads into `db` (packed batches unpacked as the writer does). */
async function billAll(db: Db, make: (keysHere: KeysHere) => Reader, keysHere: KeysHere) {
  const biller = synthBiller(db);
  const reader = make(keysHere);
  let keyed = 0;
  let unkeyed = 0;
  await reader.poll((batch, id, packed) => {
    if (packed) batch.events = unpackEvents(packed);
    for (const e of batch.events) {
      if (e.dedupeKey === undefined) unkeyed++;
      else {
        keyed++;
        expect(e.dedupeKey).toBe(dedupeKey(e));
      }
    }
    biller.bill(batch);
    reader.committed(id);
  });
  const rows = db
    .prepare(
      "SELECT dedupe_key, account_id, session_id, cost_pico_usd, charge_micro_credits, source_ref FROM usage_events ORDER BY dedupe_key",
    )
    .all();
  const balances = db.prepare("SELECT id, balance_micro_credits FROM accounts ORDER BY id").all();
  return { rows, balances, keyed, unkeyed };
}

async function samePerPolicy(dir: string, make: (db: Db, keysHere: KeysHere) => Reader) {
  const out: Record<string, Awaited<ReturnType<typeof billAll>>> = {};
  for (const [name, policy] of Object.entries(POLICIES)) {
    const db = openDatabase(join(dir, `${name}.sqlite`));
    try {
      out[name] = await billAll(db, (k) => make(db, k), policy());
    } finally {
      db.close();
    }
  }
  const { always, never, alternate } = out as Record<string, Awaited<ReturnType<typeof billAll>>>;
  if (!always || !never || !alternate) throw new Error("policies");
  expect(always.rows.length).toBeGreaterThan(0);
  expect(always.unkeyed).toBe(0);
  expect(never.keyed).toBe(0);
  expect(alternate.keyed).toBeGreaterThan(0);
  expect(alternate.unkeyed).toBeGreaterThan(0);
  expect(never.rows).toEqual(always.rows);
  expect(alternate.rows).toEqual(always.rows);
  expect(never.balances).toEqual(always.balances);
  expect(alternate.balances).toEqual(always.balances);
}

describe("dedupe keys derived by the reader or left to the biller", () => {
  it("session files: the same rows, keys and balances whichever thread derives the keys (5 state dirs)", async () => {
    for (let seed = 1; seed <= 5; seed++) {
      const dir = mkdtempSync(join(tmpdir(), "cg-keys-here-"));
      try {
        const w = randomWorld(seed, dir);
        for (let i = 0; i < 40; i++) w.step();
        await samePerPolicy(dir, (db, keysHere) =>
          createJsonlReader(
            { agentDir: w.agentDir, agentId: "main", batchSize: 5, packEvents: true, keysHere },
            db,
          ),
        );
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    }
  });

  it("OpenClaw stores: the same rows, keys and balances whichever thread derives the keys (5 stores)", async () => {
    for (let seed = 1; seed <= 5; seed++) {
      const dir = mkdtempSync(join(tmpdir(), "cg-keys-here-"));
      try {
        const w = randomStore(seed * 31, dir);
        for (let i = 0; i < 40; i++) w.step();
        await samePerPolicy(dir, (db, keysHere) => {
          const r = createSqliteReader(
            { agentDir: w.agentDir, agentId: "main", batchSize: 5, packEvents: true, keysHere },
            db,
          );
          return { poll: (emit) => r.poll(emit), committed: (id) => r.committed(id) };
        });
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    }
  });
});
