import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { pushEventOf } from "../../src/edge/index.js";
import {
  createPushIngester,
  meterIdentityOf,
  type PushResult,
  pushEventSchema,
} from "../../src/ingest/index.js";
import { dedupeKey } from "../../src/meter/identity.js";
import { parseLine, usageEvent } from "../../src/meter/parse.js";
import { queryUsage } from "../../src/meter/report.js";
import type { ParsedUsage } from "../../src/meter/types.js";
import { parseDecimal } from "../../src/money.js";
import { casePricer } from "../support/meter-env.js";
import { createEngineDb, ENGINES } from "../support/temp-db.js";

/**
 * Case zoneless-entry-time-edge-push: an edge meter (`meter --ship-to`) on a host with
 * `TZ=America/New_York` pushed two calls whose entry time has no zone under the identities the
 * reader before 2026-12-04 gave them (read in the host's zone). Upgraded (read as UTC), it reads a
 * `.reset` copy of the transcript and pushes the same calls under their UTC identities. The
 * center did not look such twins up (the push carried no sign of a zone-less time) and billed the
 * calls twice; now the edge sends `zonelessTime` and the center runs the local meter's lookup.
 */
const NAME = "zoneless-entry-time-edge-push";
const CASE = join(resolve(import.meta.dirname, "../cases"), NAME);
const SID = "3f8a1c52-7d4e-4b91-a6c0-5e2d9b7f1a84";
const RESET = `agents/main/sessions/${SID}.jsonl.reset.2026-11-23T09-00-00.000Z`;
const LINES = readFileSync(join(CASE, "state", RESET), "utf8")
  .trimEnd()
  .split("\n");
const CALLS = [LINES[2], LINES[4]] as string[];
const RIGHT = { key: "telegram:5550742", requests: 2, input: 5000, output: 300, costUsd: "0.0195" };

const TZ0 = process.env.TZ;
afterEach(() => {
  if (TZ0 === undefined) delete process.env.TZ;
  else process.env.TZ = TZ0;
});

function usageOf(text: string): ParsedUsage {
  const r = parseLine(text);
  if (r.kind !== "usage") throw new Error(`not a call: ${r.kind}`);
  return r.usage;
}

const ev = (u: ParsedUsage) =>
  usageEvent(u, "main", SID, "agent:main:telegram:direct:5550742", "telegram:5550742", "jsonl", "/x@0");

/** The push an edge before 2026-12-04 sent on a host in `tz`: the time read by `Date.parse` there. */
function pushBefore(text: string, tz: string) {
  process.env.TZ = tz;
  // nor the entry id a whole-second time's identity holds since 2026-12-05 (h-dup)
  const { zonelessTime: _z, identityEntryId: _id, ...u } = usageOf(text);
  const local = Date.parse(JSON.parse(text).timestamp as string);
  const old = { ...u, messageTsMs: local } as ParsedUsage;
  return pushEventOf({ ...ev(old), dedupeKey: dedupeKey(old) }, "bot-host-1");
}

/** The push of the upgraded edge (any host zone: the time is read as UTC). */
function pushNow(text: string, tz: string) {
  process.env.TZ = tz;
  return pushEventOf(ev(usageOf(text)), "bot-host-1");
}

/** Each request's statuses and the center's usage by user, on each engine. */
function center(requests: unknown[][]): { statuses: PushResult["status"][][]; byUser: unknown } {
  const out: { statuses: PushResult["status"][][]; byUser: unknown }[] = [];
  for (const engine of ENGINES) {
    const t = createEngineDb(engine);
    try {
      const ing = createPushIngester(t.db, {
        pricer: casePricer(CASE),
        markup: parseDecimal("1"),
        creditsPerUsd: parseDecimal("1"),
        nowMs: () => Date.UTC(2026, 10, 23, 9, 5),
      });
      const statuses = requests.map((events, i) =>
        ing.ingest(events, `push:k1:r${i}`, "k1").map((r) => r.status),
      );
      out.push({ statuses, byUser: queryUsage(t.db, { by: "user" }) });
    } finally {
      t.cleanup();
    }
  }
  for (const o of out) expect(o).toEqual(out[0]);
  return out[0] as (typeof out)[0];
}

describe(`case ${NAME}: an edge's call whose entry time has no zone is billed once at the center`, () => {
  it("the upgraded edge's push carries zonelessTime; the identity is the call's UTC one", () => {
    const now = CALLS.map((l) => pushNow(l, "America/New_York"));
    for (const [i, p] of now.entries()) {
      const parsed = pushEventSchema.parse(p);
      expect(parsed.zonelessTime).toBe(true);
      expect(meterIdentityOf(parsed)).toBe(dedupeKey(usageOf(CALLS[i] as string)));
    }
    expect(now.map((p) => p.timestampMs)).toEqual([
      Date.UTC(2026, 10, 22, 23, 30, 40),
      Date.UTC(2026, 10, 22, 23, 41, 12, 250),
    ]);
    // a time with its zone is no such call
    const zoned = JSON.parse(CALLS[0] as string);
    zoned.timestamp = "2026-11-22T23:30:40Z";
    expect(pushNow(JSON.stringify(zoned), "UTC")).not.toHaveProperty("zonelessTime");
    expect(pushEventSchema.safeParse({ ...now[0], zonelessTime: false }).success).toBe(false);
  });

  it("New York identities pushed, then the .reset copy under UTC identities: 2 calls $0.0195, duplicate (was 4 calls $0.039)", () => {
    const before = CALLS.map((l) => pushBefore(l, "America/New_York"));
    const after = CALLS.map((l) => pushNow(l, "UTC"));
    expect(after.map((p) => p.idempotencyKey)).not.toEqual(before.map((p) => p.idempotencyKey));
    const r = center([before, after]);
    expect(r.statuses).toEqual([
      ["billed", "billed"],
      ["duplicate", "duplicate"],
    ]);
    expect(r.byUser).toMatchObject([RIGHT]);
  });

  it("a call pushed before from a host at +5:45 (Kathmandu) is found too, also in the same request", () => {
    const before = CALLS.map((l) => pushBefore(l, "Asia/Kathmandu"));
    const after = CALLS.map((l) => pushNow(l, "Europe/Berlin"));
    const r = center([[...before, ...after]]);
    expect(r.statuses).toEqual([["billed", "billed", "duplicate", "duplicate"]]);
    expect(r.byUser).toMatchObject([RIGHT]);
  });

  it("an older edge's event (no zonelessTime) is still accepted and billed under its identity", () => {
    const older = CALLS.map((l) => {
      const { zonelessTime: _z, ...p } = pushNow(l, "UTC");
      return p;
    });
    const r = center([older, older]);
    expect(r.statuses).toEqual([
      ["billed", "billed"],
      ["duplicate", "duplicate"],
    ]);
    expect(r.byUser).toMatchObject([RIGHT]);
  });
});
