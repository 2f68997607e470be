import { readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { pushEventOf } from "../../src/edge/index.js";
import { createPushIngester, type PushEvent } from "../../src/ingest/index.js";
import { queryUsage } from "../../src/meter/report.js";
import type { UsageEvent } from "../../src/meter/types.js";
import { parseDecimal } from "../../src/money.js";
import { casePricer, meterFor, type TempWorld, tempWorld } from "../support/meter-env.js";
import { createEngineDb, ENGINES } from "../support/temp-db.js";

/**
 * Case entry-partial-copy-read-after-final: entry `4c2e9b10` written twice (streamed partial, then
 * final) in the live transcript, billed once as its final ($0.01755); then a copy of the
 * transcript taken mid-stream (`<id>.jsonl.bak-<pid>-<ms>`: the partial, without its final) is
 * read. The partial's identity was never billed (its final took its place), so it was billed as
 * a call on top ($0.022425, 4 requests). Now the final's billing records the identity it
 * superseded and the late partial is a duplicate; the same at a center that receives an edge's
 * final before another edge's partial (SQLite and PostgreSQL).
 */
const NAME = "entry-partial-copy-read-after-final";
const CASE = join(resolve(import.meta.dirname, "../cases"), NAME);
const SESSION = "agents/main/sessions/8c4d2e61-5a7b-4c93-8e1f-2b6a9d0c3e58.jsonl";
const BACKUP = `${SESSION}.bak-48213-1795500003000`;
const PARTIAL_COPY = readFileSync(join(CASE, "partial-copy.jsonl"), "utf8");
const RIGHT = { key: "telegram:5550921", requests: 3, input: 4500, output: 270, costUsd: "0.01755" };

let w: TempWorld | undefined;
afterEach(() => {
  w?.cleanup();
  w = undefined;
});

describe(`case ${NAME}: a partial copy read after its final was billed is not billed again`, () => {
  for (const readerThread of [true, false]) {
    it(`$0.01755, 3 requests (was $0.022425, 4), reader thread ${readerThread}`, async () => {
      w = tempWorld(join(CASE, "state"));
      const meter = meterFor(w, { pricer: casePricer(CASE), readerThread });
      expect(await meter.runOnce()).toMatchObject({ billed: 3 });
      writeFileSync(join(w.stateDir, BACKUP), PARTIAL_COPY);
      expect(await meter.runOnce()).toMatchObject({ billed: 0 });
      meter.close();
      expect(queryUsage(w.db, { by: "user" })).toMatchObject([RIGHT]);
    });
  }

  it("the transcript and its mid-stream copy read in one poll: the same total", async () => {
    w = tempWorld(join(CASE, "state"));
    writeFileSync(join(w.stateDir, BACKUP), PARTIAL_COPY);
    const meter = meterFor(w, { pricer: casePricer(CASE) });
    await meter.runOnce();
    meter.close();
    expect(queryUsage(w.db, { by: "user" })).toMatchObject([RIGHT]);
  });
});

/** The events an edge meter reading `files` (state-relative path → content) records. */
async function edgeEvents(files: Record<string, string>, keepLive: boolean): Promise<UsageEvent[]> {
  const world = tempWorld(join(CASE, "state"));
  try {
    if (!keepLive) writeFileSync(join(world.stateDir, SESSION), "");
    for (const [p, text] of Object.entries(files)) writeFileSync(join(world.stateDir, p), text);
    const out: UsageEvent[] = [];
    const meter = meterFor(world, {
      pricer: casePricer(CASE),
      record: (batch) => {
        out.push(...batch.events);
        return { recorded: batch.events.length, duplicates: 0 };
      },
    });
    await meter.runOnce();
    meter.close();
    return out;
  } finally {
    world.cleanup();
  }
}

describe(`case ${NAME} at a center: an edge's final pushed before another edge's partial`, () => {
  it("$0.01755, 3 requests on SQLite and PostgreSQL (was $0.022425, 4)", async () => {
    // edge 1 reads the whole transcript (the final took the partial's place: `supersedes`);
    // edge 2 (the same host's old install, or a second edge on the same state dir) ships the
    // partial it read mid-stream only after the final was billed
    const whole = (await edgeEvents({}, true)).map((e) => pushEventOf(e, "edge-1"));
    const partial = (await edgeEvents({ [SESSION]: PARTIAL_COPY }, false)).map((e) =>
      pushEventOf(e, "edge-2"),
    );
    expect(whole.filter((e) => e.supersedes !== undefined)).toHaveLength(1);
    const out: unknown[] = [];
    for (const engine of ENGINES) {
      const t = createEngineDb(engine);
      try {
        const ing = createPushIngester(t.db, {
          pricer: casePricer(CASE),
          markup: parseDecimal("1"),
          creditsPerUsd: parseDecimal("1"),
        });
        const requests: PushEvent[][] = [whole, partial];
        requests.forEach((events, i) => {
          for (const r of ing.ingest(events, `push:edge:r${i}`, "k1"))
            expect(r.status, JSON.stringify(r)).not.toBe("rejected");
        });
        out.push(
          queryUsage(t.db, { by: "user" }).map((r) => ({
            key: r.key,
            requests: r.requests,
            input: r.input,
            output: r.output,
            costUsd: r.costUsd,
          })),
        );
      } finally {
        t.cleanup();
      }
    }
    expect(out[1], "PostgreSQL as SQLite").toEqual(out[0]);
    expect(out[0]).toEqual([RIGHT]);
  });
});
