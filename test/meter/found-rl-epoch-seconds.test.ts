import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import Database from "better-sqlite3";
import { afterEach, describe, expect, it } from "vitest";
import { dedupeKey } from "../../src/meter/identity.js";
import { EPOCH_SECONDS_BELOW, parseLine } from "../../src/meter/parse.js";
import { queryUsage } from "../../src/meter/report.js";
import type { ParsedUsage } from "../../src/meter/types.js";
import { casePricer, meterCaseDir, meterFor, type TempWorld, tempWorld } from "../support/meter-env.js";

/**
 * Case message-timestamp-epoch-seconds: a `message.timestamp` written in epoch seconds (10 digits)
 * was read as milliseconds (1970-01-21) and the call held for review instead of billed on its day.
 */
const NAME = "message-timestamp-epoch-seconds";
const CASE = join(resolve(import.meta.dirname, "../cases"), NAME);
const SID = "6e2b9f14-0c3d-4a8e-b7f1-2d5c8a9e4b60";
const SESSION = `agents/main/sessions/${SID}.jsonl`;
const LINES = readFileSync(join(CASE, "state", SESSION), "utf8")
  .trimEnd()
  .split("\n");

let w: TempWorld | undefined;
afterEach(() => {
  w?.cleanup();
  w = undefined;
});

const RIGHT = {
  key: "telegram:5550931",
  requests: 3,
  input: 6000,
  output: 350,
  costUsd: "0.02325",
};

function usageOf(text: string): ParsedUsage {
  const r = parseLine(text);
  if (r.kind !== "usage") throw new Error(`not a call: ${r.kind}`);
  return r.usage;
}

/** The identity the reader before 2026-12-04 gave the line: its number read as milliseconds. */
function keyBefore(text: string): string {
  const u = usageOf(text);
  const raw = JSON.parse(text).message.timestamp as number;
  const { identityTsMs: _its, ...rest } = u;
  return dedupeKey({ ...rest, messageTsMs: Math.trunc(raw) });
}

describe(`case ${NAME}: a message.timestamp in epoch seconds is billed at its real time`, () => {
  for (const readerThread of [true, false]) {
    it(`telegram:5550931 3 calls $0.02325 on 2026-12-03 (was 1 call $0.00375, 2 held at 1970), reader thread ${readerThread}`, async () => {
      const r = await meterCaseDir(CASE, "calculate", { readerThread });
      w = r.world;
      expect(r.s).toMatchObject({ billed: 3, held: 0, duplicates: 0, malformed: 0 });
      expect(queryUsage(w.db, { by: "user" })).toMatchObject([RIGHT]);
      expect(queryUsage(w.db, { by: "day" })).toMatchObject([
        { key: "2026-12-03", requests: 3, costUsd: "0.02325" },
      ]);
      const times = w.db
        .prepare("SELECT message_ts_ms AS t FROM usage_events ORDER BY message_ts_ms")
        .all() as { t: number }[];
      expect(times.map((x) => x.t)).toEqual([1796300002000, 1796300060250, 1796300120000]);
      // every call keeps the identity the reader before gave it (the seconds ones their number as
      // written), so a call held then, and perhaps released since, is a duplicate when read again
      const keys = (w.db.prepare("SELECT dedupe_key AS k FROM usage_events").all() as { k: string }[]).map(
        (x) => x.k,
      );
      expect(keys.sort()).toEqual([LINES[2], LINES[4], LINES[6]].map((l) => keyBefore(l as string)).sort());
      // a second poll, and a fresh meter reading a reset copy of the transcript, bill nothing
      const dir = join(w.stateDir, "agents/main/sessions");
      writeFileSync(join(dir, `${SID}.jsonl.reset.2026-12-03T13-00-00.000Z`), `${LINES.join("\n")}\n`);
      const again = meterFor(w, { pricer: casePricer(CASE), readerThread });
      expect((await again.runOnce()).billed).toBe(0);
      again.close();
      expect(queryUsage(w.db, { by: "user" })).toMatchObject([RIGHT]);
    });
  }

  it("reads seconds below 10^11 and leaves milliseconds as they were", () => {
    expect(EPOCH_SECONDS_BELOW).toBe(1e11);
    const sec = usageOf(LINES[2] as string);
    expect(sec).toMatchObject({ messageTsMs: 1796300002000, identityTsMs: 1796300002 });
    const frac = usageOf(LINES[4] as string);
    expect(frac).toMatchObject({ messageTsMs: 1796300060250, identityTsMs: 1796300060 });
    const ms = usageOf(LINES[6] as string);
    expect(ms.messageTsMs).toBe(1796300120000);
    expect(ms.identityTsMs).toBeUndefined();
    // a millisecond time keeps exactly the identity it always had
    expect(dedupeKey(ms)).toBe(keyBefore(LINES[6] as string));
    // the user line's time (what dates a later untimed call, and the latency) is read the same way
    const user = parseLine(LINES[1] as string);
    expect(user).toMatchObject({ kind: "user", atMs: 1796300000000 });
    // 0, negative and 10^11 and above are not seconds (held or billed as before)
    const at = (t: number) => {
      const e = JSON.parse(LINES[2] as string);
      e.message.timestamp = t;
      return usageOf(JSON.stringify(e));
    };
    expect(at(0)).toMatchObject({ messageTsMs: 0 });
    expect(at(0).identityTsMs).toBeUndefined();
    expect(at(-5).messageTsMs).toBe(-5);
    expect(at(1e11).messageTsMs).toBe(1e11);
    expect(at(1e11).identityTsMs).toBeUndefined();
    expect(at(99_999_999_999)).toMatchObject({
      messageTsMs: 99_999_999_999_000,
      identityTsMs: 99_999_999_999,
    });
  });

  it("a seconds call is timed: an untimed call after it is dated by it, not held", async () => {
    w = tempWorld(join(CASE, "state"));
    const untimed = JSON.parse(LINES[4] as string);
    delete untimed.message.timestamp;
    delete untimed.timestamp;
    const lines = [LINES[0], LINES[1], LINES[2], JSON.stringify(untimed)];
    writeFileSync(join(w.stateDir, SESSION), `${lines.join("\n")}\n`);
    const meter = meterFor(w, { pricer: casePricer(CASE) });
    expect(await meter.runOnce()).toMatchObject({ billed: 2, held: 0 });
    meter.close();
    const times = w.db.prepare("SELECT message_ts_ms AS t FROM usage_events").all() as { t: number }[];
    expect(times.map((x) => x.t)).toEqual([1796300002000, 1796300002000]);
  });

  it("in an OpenClaw SQLite store", async () => {
    w = tempWorld(join(CASE, "state"));
    writeFileSync(join(w.stateDir, SESSION), `${LINES[0]}\n`); // the JSONL copy: header only
    const dir = join(w.stateDir, "agents", "main", "agent");
    mkdirSync(dir, { recursive: true });
    const oc = new Database(join(dir, "openclaw-agent.sqlite"));
    oc.exec(`CREATE TABLE transcript_events (session_id TEXT NOT NULL, seq INTEGER NOT NULL, event_json TEXT,
             event_zstd BLOB, created_at INTEGER, PRIMARY KEY (session_id, seq))`);
    const insert = oc.prepare(
      "INSERT INTO transcript_events (session_id, seq, event_json, created_at) VALUES (?, ?, ?, ?)",
    );
    for (const [i, l] of LINES.entries()) insert.run(SID, i, l, 1796300000000 + i);
    oc.close();
    const meter = meterFor(w, { pricer: casePricer(CASE), readerThread: false });
    expect(await meter.runOnce()).toMatchObject({ billed: 3, held: 0 });
    meter.close();
    expect(queryUsage(w.db, { by: "day" })).toMatchObject([
      { key: "2026-12-03", requests: 3, costUsd: "0.02325" },
    ]);
  });
});
