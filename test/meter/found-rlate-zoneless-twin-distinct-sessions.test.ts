import { readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { dedupeKey } from "../../src/meter/identity.js";
import { parseLine } from "../../src/meter/parse.js";
import { queryUsage } from "../../src/meter/report.js";
import { casePricer, meterCaseDir, meterFor, type TempWorld } from "../support/meter-env.js";

/**
 * Case zoneless-twin-distinct-sessions: the zone-less twin lookup (537381b) took another user's
 * call of the same counts a whole hour later for a copy billed before in another host zone, and
 * lost it. A twin is a row billed or held before, of the same session.
 */
const NAME = "zoneless-twin-distinct-sessions";
const CASE = join(resolve(import.meta.dirname, "../cases"), NAME);
const A = "6b1d2e40-8a3c-4f7e-9d21-0c5a7e3b9f11";
const B = "c4e7a913-2b5f-4d80-a6e2-8f31d0b7c522";
const ONE = { requests: 1, input: 2000, output: 100, costUsd: "0.0075" };

const TZ0 = process.env.TZ;
let w: TempWorld | undefined;
afterEach(() => {
  w?.cleanup();
  w = undefined;
  if (TZ0 === undefined) delete process.env.TZ;
  else process.env.TZ = TZ0;
});

describe(`case ${NAME}: two users' calls of the same counts an hour apart are two calls`, () => {
  for (const readerThread of [true, false]) {
    it(`telegram:5550761 and telegram:5550762 1 call $0.0075 each (was 1 call, the second lost), reader thread ${readerThread}`, async () => {
      process.env.TZ = "UTC";
      const r = await meterCaseDir(CASE, "calculate", { readerThread });
      w = r.world;
      expect(r.s).toMatchObject({ billed: 2, held: 0, duplicates: 0 });
      expect(queryUsage(w.db, { by: "user" })).toMatchObject([
        { key: "telegram:5550761", ...ONE },
        { key: "telegram:5550762", ...ONE },
      ]);
    });

    it(`a reset copy or a fork of a session billed before 2026-12-04 at UTC+1 is still not billed again, reader thread ${readerThread}`, async () => {
      process.env.TZ = "UTC";
      const r = await meterCaseDir(CASE, "calculate", { readerThread });
      w = r.world;
      // user A's call as the reader before billed it on a host at UTC+1 (wall 08:00:04 = 07:00:04Z)
      const rows = w.db
        .prepare("SELECT dedupe_key AS k, session_id AS s FROM usage_events ORDER BY message_ts_ms")
        .all() as { k: string; s: string }[];
      expect(rows.map((x) => x.s)).toEqual([A, B]);
      const dir = join(w.stateDir, "agents/main/sessions");
      const text = readFileSync(join(dir, `${A}.jsonl`), "utf8");
      const line = text.trimEnd().split("\n")[2] as string;
      const pu = parseLine(line);
      if (pu.kind !== "usage") throw new Error("not a call");
      const { zonelessTime: _z, ...u } = pu.usage;
      const oldKey = dedupeKey({ ...u, messageTsMs: u.messageTsMs - 3_600_000 });
      w.db
        .prepare("UPDATE usage_events SET dedupe_key = ? WHERE dedupe_key = ?")
        .run(oldKey, rows[0]?.k as string);
      writeFileSync(join(dir, `${A}.jsonl.reset.2026-11-23T09-00-00.000Z`), text);
      // and a fork of it: another session id, the same user (sessions.json now points at the fork)
      const F = "f0e1d2c3-b4a5-4968-8776-655443322110";
      writeFileSync(join(dir, `${F}.jsonl`), text.replaceAll(A, F));
      const index = join(dir, "sessions.json");
      writeFileSync(index, readFileSync(index, "utf8").replace(A, F));
      const again = meterFor(w, { pricer: casePricer(CASE), readerThread });
      expect(await again.runOnce()).toMatchObject({ billed: 0 });
      again.close();
      expect(queryUsage(w.db, { by: "user" })).toMatchObject([
        { key: "telegram:5550761", ...ONE },
        { key: "telegram:5550762", ...ONE },
      ]);
    });
  }
});
