import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { pushEventOf } from "../../src/edge/index.js";
import { pushEventSchema } from "../../src/ingest/index.js";
import { dedupeKey, secondsTwinKeyOf, zonelessTwinTimes } from "../../src/meter/identity.js";
import { parseLine, usageEvent } from "../../src/meter/parse.js";
import { queryUsage } from "../../src/meter/report.js";
import { jsonlToStore } from "../support/jsonl-to-store.js";
import { casePricer, meterCaseDir, meterFor, type TempWorld, tempWorld } from "../support/meter-env.js";

/**
 * Case iso-whole-second-distinct-sessions: a call whose time is its entry `timestamp` (no numeric
 * `message.timestamp`) written to the whole second (`2026-11-24T06:00:02Z`; zone-less
 * `2026-11-24 07:00:00` the second instance) had an identity of that whole second: two users'
 * calls of the same counts in it were one identity, the second user's call dropped as a duplicate
 * (the kind of case seconds-time-distinct-sessions, for epoch seconds). The entry id now tells
 * them apart; a call billed before under the identity without it is not billed again.
 */
const NAME = "iso-whole-second-distinct-sessions";
const CASE = join(resolve(import.meta.dirname, "../cases"), NAME);
const SID = {
  a: "3a7c1e90-4d2b-4f6a-8e15-9b0c2d4f6a71",
  b: "8e4b2f17-6c3d-4a59-b0e2-1d7f5a9c3b82",
  c: "c15d9a36-2e7f-4b80-9c41-6a3e8f0d2c93",
  d: "f62a0b48-9d1e-4c37-a5f6-3b8e2c7d1a04",
};
const START = { requests: 1, input: 1500, output: 25, costUsd: "0.004875" };
const TODAY = { requests: 1, input: 2000, output: 100, costUsd: "0.0075" };
/** Right: four calls, $0.02475 (before: telegram:5550971 and telegram:5550973 only, $0.012375). */
const RIGHT = [
  { key: "telegram:5550973", ...TODAY },
  { key: "telegram:5550974", ...TODAY },
  { key: "telegram:5550971", ...START },
  { key: "telegram:5550972", ...START },
];
const DIR = "agents/main/sessions";

let w: TempWorld | undefined;
let src: TempWorld | undefined;
afterEach(() => {
  w?.cleanup();
  w = undefined;
  src?.cleanup();
  src = undefined;
});

/** The call line of session `sid`'s transcript. */
function callLine(stateDir: string, sid: string): string {
  return readFileSync(join(stateDir, DIR, `${sid}.jsonl`), "utf8")
    .trimEnd()
    .split("\n")[2] as string;
}

function usageOf(line: string) {
  const p = parseLine(line);
  if (p.kind !== "usage") throw new Error("not a call");
  return p.usage;
}

describe(`case ${NAME}: two users' calls of the same counts in one whole-second entry time are two calls`, () => {
  for (const readerThread of [true, false]) {
    it(`4 calls $0.02475 (was 2, $0.012375: the second user of each second lost), reader thread ${readerThread}`, async () => {
      const r = await meterCaseDir(CASE, "calculate", { readerThread });
      w = r.world;
      expect(r.s).toMatchObject({ billed: 4, held: 0, duplicates: 0 });
      expect(queryUsage(w.db, { by: "user" })).toMatchObject(RIGHT);
      // a restart, then `.reset` archives of every transcript: nothing more
      const dir = join(w.stateDir, DIR);
      for (const sid of Object.values(SID))
        writeFileSync(
          join(dir, `${sid}.jsonl.reset.2026-11-25T00-00-00.000Z`),
          readFileSync(join(dir, `${sid}.jsonl`), "utf8"),
        );
      const again = meterFor(w, { pricer: casePricer(CASE), readerThread });
      expect(await again.runOnce()).toMatchObject({ billed: 0 });
      again.close();
      expect(queryUsage(w.db, { by: "user" })).toMatchObject(RIGHT);
    });
  }

  it("a time with a fraction keeps the identity it had (no entry id in it)", () => {
    w = tempWorld(join(CASE, "state"));
    const line = callLine(w.stateDir, SID.a);
    const ms = usageOf(line.replace('"2026-11-24T06:00:02Z"', '"2026-11-24T06:00:02.000Z"'));
    expect(ms.identityEntryId).toBeUndefined();
    expect(secondsTwinKeyOf(ms)).toBeNull();
    // the whole-second line's old identity is the fraction line's
    expect(secondsTwinKeyOf(usageOf(line))).toBe(dedupeKey(ms));
  });

  it("an upgrade: a call billed before under the identity without its entry id (UTC, or a host zone) is not billed again; the lost one is", async () => {
    // a database of the reader before: only the first user of each second billed, under the old key
    w = tempWorld(join(CASE, "state"));
    const dir = join(w.stateDir, DIR);
    const lost = {
      b: readFileSync(join(dir, `${SID.b}.jsonl`), "utf8"),
      d: readFileSync(join(dir, `${SID.d}.jsonl`), "utf8"),
    };
    rmSync(join(dir, `${SID.b}.jsonl`));
    rmSync(join(dir, `${SID.d}.jsonl`));
    const first = meterFor(w, { pricer: casePricer(CASE) });
    expect(await first.runOnce()).toMatchObject({ billed: 2 });
    first.close();
    for (const sid of [SID.a, SID.c]) {
      const u = usageOf(callLine(w.stateDir, sid));
      let oldKey = secondsTwinKeyOf(u);
      expect(oldKey).not.toBeNull();
      expect(oldKey).not.toBe(dedupeKey(u));
      // the zone-less one billed by a build before 2026-12-04 on a host at UTC+01:00
      if (sid === SID.c) {
        expect(u.zonelessTime).toBe(true);
        const { identityEntryId: _, ...noId } = u;
        oldKey = dedupeKey({
          ...noId,
          messageTsMs: zonelessTwinTimes(u.messageTsMs)[(60 + 720) / 15 - 1] as number,
        });
        expect(oldKey).not.toBe(secondsTwinKeyOf(u));
      }
      expect(
        w.db.prepare("UPDATE usage_events SET dedupe_key = ? WHERE dedupe_key = ?").run(oldKey, dedupeKey(u))
          .changes,
      ).toBe(1);
      // and read again later: a `.reset` archive of the billed transcript
      writeFileSync(
        join(dir, `${sid}.jsonl.reset.2026-11-25T00-00-00.000Z`),
        readFileSync(join(dir, `${sid}.jsonl`), "utf8"),
      );
    }
    // the other users' transcripts read now (their calls were lost before)
    writeFileSync(join(dir, `${SID.b}.jsonl`), lost.b);
    writeFileSync(join(dir, `${SID.d}.jsonl`), lost.d);
    const again = meterFor(w, { pricer: casePricer(CASE) });
    expect(await again.runOnce()).toMatchObject({ billed: 2, duplicates: 2 });
    again.close();
    expect(queryUsage(w.db, { by: "user" })).toMatchObject(RIGHT);
  });

  for (const later of [false, true])
    it(`a copy under a new entry id in its own session (pi's v1/v2→v3 rewrite: new ids, same times) is not billed again, ${later ? "read after a restart" : "in the same poll"}`, async () => {
      w = tempWorld(join(CASE, "state"));
      const file = join(w.stateDir, DIR, `${SID.b}.jsonl`);
      const copy = `${callLine(w.stateDir, SID.b).replace('"id":"d80c6f71"', '"id":"0a9b8c7d"').replace('"parentId":"b39e5d12"', '"parentId":"d80c6f71"')}\n`;
      const fileD = join(w.stateDir, DIR, `${SID.d}.jsonl`);
      const copyD = `${callLine(w.stateDir, SID.d).replace('"id":"c4b1f8a2"', '"id":"5e6f7a8b"')}\n`;
      if (!later) {
        writeFileSync(file, readFileSync(file, "utf8") + copy);
        writeFileSync(fileD, readFileSync(fileD, "utf8") + copyD);
      }
      const m = meterFor(w, { pricer: casePricer(CASE) });
      expect(await m.runOnce()).toMatchObject({ billed: 4 });
      m.close();
      if (later) {
        writeFileSync(file, readFileSync(file, "utf8") + copy);
        writeFileSync(fileD, readFileSync(fileD, "utf8") + copyD);
        const again = meterFor(w, { pricer: casePricer(CASE) });
        expect(await again.runOnce()).toMatchObject({ billed: 0 });
        again.close();
      }
      expect(queryUsage(w.db, { by: "user" })).toMatchObject(RIGHT);
    });

  it("OpenClaw's SQLite store (the doctor's import of the same transcripts), read after the JSONL: the same four calls", async () => {
    src = tempWorld(join(CASE, "state"));
    w = tempWorld(join(CASE, "state"));
    const m = meterFor(w, { pricer: casePricer(CASE) });
    expect(await m.runOnce()).toMatchObject({ billed: 4 });
    m.close();
    jsonlToStore(src.stateDir, w.stateDir);
    const again = meterFor(w, { pricer: casePricer(CASE) });
    expect(await again.runOnce()).toMatchObject({ billed: 0, duplicates: 4 });
    again.close();
    expect(queryUsage(w.db, { by: "user" })).toMatchObject(RIGHT);
  });

  it("an edge pushes the entry id of a whole-second call, and the center's identity is the meter's", () => {
    w = tempWorld(join(CASE, "state"));
    const u = usageOf(callLine(w.stateDir, SID.b));
    expect(u.identityTsMs).toBeUndefined();
    expect(u.identityEntryId).toBe("d80c6f71");
    const e = usageEvent(
      u,
      "main",
      SID.b,
      "agent:main:telegram:direct:5550972",
      "telegram:5550972",
      "jsonl",
      "/x@0",
    );
    const pushed = pushEventOf(e, "edge-1");
    expect(pushed).toMatchObject({
      timestampMs: Date.parse("2026-11-24T06:00:02Z"),
      identityEntryId: "d80c6f71",
    });
    expect(pushed).not.toHaveProperty("identityTsMs");
    expect(pushEventSchema.safeParse(pushed).success).toBe(true);
    // an entry id on a time with a fraction of a second is refused, as before
    expect(pushEventSchema.safeParse({ ...pushed, timestampMs: pushed.timestampMs + 1 }).success).toBe(false);
  });
});
