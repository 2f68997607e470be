import { readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { dedupeKey } from "../../src/meter/identity.js";
import { parseLine } from "../../src/meter/parse.js";
import { queryUsage } from "../../src/meter/report.js";
import type { ParsedUsage } from "../../src/meter/types.js";
import { casePricer, meterCaseDir, meterFor, type TempWorld } from "../support/meter-env.js";

/**
 * Case zoneless-entry-time-host-tz: an entry time written without a zone (on a line with no
 * numeric `message.timestamp`) was read in the host's `TZ`, and the call's identity holds its
 * time: a host whose `TZ` changed between runs billed a `.reset` copy of the transcript again.
 */
const NAME = "zoneless-entry-time-host-tz";
const CASE = join(resolve(import.meta.dirname, "../cases"), NAME);
const SID = "3f8a1c52-7d4e-4b91-a6c0-5e2d9b7f1a84";
const SESSION = `agents/main/sessions/${SID}.jsonl`;
const TEXT = readFileSync(join(CASE, "state", SESSION), "utf8");
const LINES = TEXT.trimEnd().split("\n");
const CALLS = [LINES[2], LINES[4]] as string[];

const RIGHT = { key: "telegram:5550742", requests: 2, input: 5000, output: 300, costUsd: "0.0195" };
/** 2026-11-22T23:30:40 and 23:41:12.250, read as UTC. */
const UTC_TIMES = [Date.UTC(2026, 10, 22, 23, 30, 40), Date.UTC(2026, 10, 22, 23, 41, 12, 250)];

const TZ0 = process.env.TZ;
let w: TempWorld | undefined;
afterEach(() => {
  w?.cleanup();
  w = undefined;
  if (TZ0 === undefined) delete process.env.TZ;
  else process.env.TZ = TZ0;
});

function usageOf(text: string): ParsedUsage {
  const r = parseLine(text);
  if (r.kind !== "usage") throw new Error(`not a call: ${r.kind}`);
  return r.usage;
}

/** The identity the reader before 2026-12-04 gave the line on a host in `tz`: `Date.parse` in that zone. */
function keyBefore(text: string, tz: string): string {
  process.env.TZ = tz;
  const { zonelessTime: _z, ...u } = usageOf(text);
  const local = Date.parse(JSON.parse(text).timestamp as string);
  return dedupeKey({ ...u, messageTsMs: local });
}

function keys(): string[] {
  const rows = w?.db.prepare("SELECT dedupe_key AS k FROM usage_events ORDER BY message_ts_ms").all() as {
    k: string;
  }[];
  return rows.map((r) => r.k);
}

describe(`case ${NAME}: a call whose entry time has no zone is one call in every host zone`, () => {
  it("reads a date-time without a zone as UTC, whatever the host's TZ", () => {
    for (const tz of ["America/New_York", "Asia/Kathmandu", "Pacific/Chatham", "UTC"]) {
      process.env.TZ = tz;
      expect(CALLS.map((l) => usageOf(l).messageTsMs)).toEqual(UTC_TIMES);
      expect(usageOf(CALLS[0] as string).zonelessTime).toBe(true);
      expect(parseLine(LINES[1] as string)).toMatchObject({
        kind: "user",
        atMs: Date.UTC(2026, 10, 22, 23, 30, 31),
      });
      // a space for the T, and a time with its zone, are read as before
      const spaced = JSON.parse(CALLS[0] as string);
      spaced.timestamp = "2026-11-22 23:30:40";
      expect(usageOf(JSON.stringify(spaced)).messageTsMs).toBe(UTC_TIMES[0]);
      const zoned = JSON.parse(CALLS[0] as string);
      zoned.timestamp = "2026-11-22T23:30:40+02:00";
      const z = usageOf(JSON.stringify(zoned));
      expect(z.messageTsMs).toBe((UTC_TIMES[0] as number) - 2 * 3_600_000);
      expect(z.zonelessTime).toBeUndefined();
    }
  });

  for (const readerThread of [true, false]) {
    it(`telegram:5550742 2 calls $0.0195 on 2026-11-22 after TZ changes and a .reset copy (was 4 calls $0.039), reader thread ${readerThread}`, async () => {
      process.env.TZ = "America/New_York";
      const r = await meterCaseDir(CASE, "calculate", { readerThread });
      w = r.world;
      expect(r.s).toMatchObject({ billed: 2, held: 0, duplicates: 0 });
      expect(queryUsage(w.db, { by: "user" })).toMatchObject([RIGHT]);
      expect(queryUsage(w.db, { by: "day" })).toMatchObject([{ key: "2026-11-22", requests: 2 }]);
      const billed = keys();
      // the host's TZ changes; OpenClaw resets the session (a .reset copy of the transcript)
      process.env.TZ = "Europe/Berlin";
      const dir = join(w.stateDir, "agents/main/sessions");
      writeFileSync(join(dir, `${SID}.jsonl.reset.2026-11-23T09-00-00.000Z`), TEXT);
      const again = meterFor(w, { pricer: casePricer(CASE), readerThread });
      expect((await again.runOnce()).billed).toBe(0);
      again.close();
      expect(keys()).toEqual(billed);
      expect(queryUsage(w.db, { by: "user" })).toMatchObject([RIGHT]);
    });

    it(`a call billed before 2026-12-04 in a host zone (Kathmandu +5:45) is not billed again from a copy, reader thread ${readerThread}`, async () => {
      process.env.TZ = "UTC";
      const r = await meterCaseDir(CASE, "calculate", { readerThread });
      w = r.world;
      // as the reader before billed them on a host at UTC+5:45: under that zone's identities
      const old = CALLS.map((l) => keyBefore(l, "Asia/Kathmandu"));
      const now = keys();
      expect(old).not.toEqual(now);
      const upd = w.db.prepare("UPDATE usage_events SET dedupe_key = ? WHERE dedupe_key = ?");
      for (const [i, k] of now.entries()) upd.run(old[i] as string, k);
      process.env.TZ = "America/New_York";
      const dir = join(w.stateDir, "agents/main/sessions");
      writeFileSync(join(dir, `${SID}.jsonl.reset.2026-11-23T09-00-00.000Z`), TEXT);
      const again = meterFor(w, { pricer: casePricer(CASE), readerThread });
      expect(await again.runOnce()).toMatchObject({ billed: 0, duplicates: 2 });
      again.close();
      expect(queryUsage(w.db, { by: "user" })).toMatchObject([RIGHT]);
    });
  }
});
