import { appendFileSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { pushEventOf } from "../../src/edge/index.js";
import { createPushIngester, type PushEvent, pushEventSchema } from "../../src/ingest/index.js";
import { queryUsage } from "../../src/meter/report.js";
import type { UsageEvent } from "../../src/meter/types.js";
import { parseDecimal } from "../../src/money.js";
import { casePricer, meterFor, type TempWorld, tempWorld } from "../support/meter-env.js";
import { createEngineDb, ENGINES } from "../support/temp-db.js";

/**
 * Case entry-copy-in-logrotate-copy, metered by an edge: the partial copy of entry `4c2e9b10`
 * shipped from the live transcript, then the file copied (partial and final copy) to
 * `<id>.jsonl.1` and emptied (logrotate copytruncate). The copy's final line takes the partial's
 * place in its batch (`supersedes`); a local meter bills only what it adds to the billed partial.
 * The push API had no `supersedes`: the center billed the final whole on top of the partial
 * ($0.022425, 4 requests). Now the edge pushes it and the center bills as a local meter does
 * ($0.01755, 3 requests); an older edge's event (without it) is billed whole, as before.
 */
const CASE = join(resolve(import.meta.dirname, "../cases"), "entry-copy-in-logrotate-copy");
const SESSION = "agents/main/sessions/8c4d2e61-5a7b-4c93-8e1f-2b6a9d0c3e58.jsonl";
const LATER = readFileSync(join(CASE, "appended.jsonl"), "utf8");
const USER = "telegram:5550921";

let w: TempWorld | undefined;
afterEach(() => {
  w?.cleanup();
  w = undefined;
});

/** The events an edge meter records, poll by poll (the outbox keeps one per identity). */
async function edgePolls(readerThread: boolean): Promise<UsageEvent[][]> {
  w = tempWorld(join(CASE, "state"));
  const polls: UsageEvent[][] = [];
  let cur: UsageEvent[] = [];
  const seen = new Set<string>();
  const meter = meterFor(w, {
    pricer: casePricer(CASE),
    readerThread,
    record: (batch) => {
      let recorded = 0;
      for (const e of batch.events) {
        const key = pushEventOf(e, "edge-1").idempotencyKey;
        if (seen.has(key)) continue;
        seen.add(key);
        cur.push(e);
        recorded++;
      }
      return { recorded, duplicates: batch.events.length - recorded };
    },
  });
  await meter.runOnce();
  polls.push(cur);
  cur = [];
  const live = join(w.stateDir, SESSION);
  appendFileSync(live, LATER);
  writeFileSync(`${live}.1`, readFileSync(live));
  writeFileSync(live, "");
  await meter.runOnce();
  polls.push(cur);
  meter.close();
  return polls;
}

/** The center's usage by user after each poll's events are pushed as one request, per engine. */
function center(requests: PushEvent[][]) {
  const out: unknown[] = [];
  for (const engine of ENGINES) {
    const t = createEngineDb(engine);
    try {
      const ing = createPushIngester(t.db, {
        pricer: casePricer(CASE),
        markup: parseDecimal("1"),
        creditsPerUsd: parseDecimal("1"),
      });
      requests.forEach((events, i) => {
        for (const r of ing.ingest(events, `push:edge:r${i}`, "k1"))
          expect(r.status, JSON.stringify(r)).not.toBe("rejected");
      });
      out.push(
        queryUsage(t.db, { by: "user" }).map((r) => ({
          key: r.key,
          requests: r.requests,
          output: r.output,
          costUsd: r.costUsd,
        })),
      );
    } finally {
      t.cleanup();
    }
  }
  expect(out[1], "PostgreSQL as SQLite").toEqual(out[0]);
  return out[0];
}

describe("an edge meter pushes a copy's supersedes: the center bills only what it adds, as a local meter", () => {
  for (const readerThread of [true, false]) {
    it(`$0.01755, 3 requests (was $0.022425, 4), reader thread ${readerThread}`, async () => {
      const polls = await edgePolls(readerThread);
      const pushed = polls.map((p) => p.map((e) => pushEventOf(e, "edge-1")));
      const withSup = pushed[1]?.filter((e) => e.supersedes !== undefined) ?? [];
      expect(withSup).toHaveLength(1);
      expect(withSup[0]?.supersedes).toMatchObject({ input: 1500, output: 25, success: true });
      expect(pushEventSchema.safeParse(withSup[0]).success).toBe(true);
      expect(center(pushed)).toEqual([{ key: USER, requests: 3, output: 270, costUsd: "0.01755" }]);
      // an older edge (no supersedes): the final copy billed whole on top of the partial, as before
      const older = pushed.map((p) =>
        p.map((e) => {
          const { supersedes: _s, ...rest } = e;
          return rest;
        }),
      );
      expect(center(older)).toEqual([{ key: USER, requests: 4, output: 295, costUsd: "0.022425" }]);
    });
  }

  it("the copy pushed alone (its partial never billed at the center): the final copy billed whole", async () => {
    const polls = await edgePolls(false);
    const second = (polls[1] ?? []).map((e) => pushEventOf(e, "edge-1"));
    // the partial's identity was shipped in poll 1 only: the center never saw it
    expect(center([second])).toEqual([{ key: USER, requests: 2, output: 240, costUsd: "0.0135" }]);
  });

  it("refused without edgeId, and with a key not in the meter's identity format", async () => {
    const polls = await edgePolls(false);
    const e = (polls[1] ?? []).map((x) => pushEventOf(x, "edge-1")).find((x) => x.supersedes) as PushEvent;
    const { edgeId: _e, ...noEdge } = e;
    expect(pushEventSchema.safeParse(noEdge).success).toBe(false);
    const bad = { ...e, supersedes: { ...e.supersedes, idempotencyKey: "abc" } };
    expect(pushEventSchema.safeParse(bad).success).toBe(false);
  });
});
