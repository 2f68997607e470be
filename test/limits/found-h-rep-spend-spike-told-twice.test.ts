/**
 * Case `test/cases/spend-spike-told-twice`: the spike scan measures a ROLLING hour (the 60
 * minutes before the scan) but keyed its alert by the CLOCK hour, so one burst at 12:45–12:50
 * was "the last hour" for the scan at 12:55 (alert `hour:…T12`) and again for the scan at 13:20
 * (alert `hour:…T13`): the operator was told of the same spike twice. A later, separate burst is
 * still told.
 */
import { appendFileSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { afterEach, describe, expect } from "vitest";
import { createEnforcer, runSpikeScan } from "../../src/limits/index.js";
import { casePricer, meterCaseDir, meterFor, type TempWorld } from "../support/meter-env.js";
import { test } from "../support/temp-db.js";
import { alertKeys, settings } from "../worker/support.js";

const CASE = resolve(import.meta.dirname, "../cases/spend-spike-told-twice");
const U = "telegram:5550811";
const worlds: TempWorld[] = [];
afterEach(() => {
  for (const w of worlds.splice(0)) w.cleanup();
});
const at = (iso: string) => Date.parse(iso);

describe("case spend-spike-told-twice", () => {
  test("one burst is one spend_spike alert, whichever clock hours the scans fall in; a new burst is told", async () => {
    const { s, world } = await meterCaseDir(CASE);
    worlds.push(world);
    expect(s.billed).toBe(25); // 23 calls of $0.01 over the day before, then two of $1 at 12:45 and 12:50
    const db = world.db;
    const e = createEnforcer(db, settings({ spikeFactor: 5, spikeMinMicroCredits: 1_000_000 }));
    const spikes = () => alertKeys(db, U).filter((k) => k.startsWith("spend_spike|"));

    expect(runSpikeScan(db, e, at("2026-03-10T12:55:00Z"))).toBe(2); // the user and agent:main
    expect(spikes()).toEqual(["spend_spike|user|hour:2026-03-10T12"]);
    // 13:20: the last hour (12:20–13:20) still holds the same burst; before the fix it was raised
    // again as hour:2026-03-10T13 (2 alerts for the user, 2 for the agent)
    expect(runSpikeScan(db, e, at("2026-03-10T13:20:00Z"))).toBe(0);
    expect(runSpikeScan(db, e, at("2026-03-10T13:50:00Z"))).toBe(0);
    expect(spikes()).toEqual(["spend_spike|user|hour:2026-03-10T12"]);
    expect(alertKeys(db, "agent:main").filter((k) => k.startsWith("spend_spike|"))).toHaveLength(1);

    // a separate burst at 14:35 ($2 in one call) is a new spike: told
    const file = join(world.stateDir, "agents/main/sessions/7d1e5a20-3c4b-4f8a-9e62-1b0c9d8e7f31.jsonl");
    appendFileSync(file, readFileSync(join(CASE, "later-burst.jsonl")));
    const meter = meterFor(world, { pricer: casePricer(CASE) });
    expect((await meter.runOnce()).billed).toBe(1);
    meter.close();
    expect(runSpikeScan(db, e, at("2026-03-10T14:40:00Z"))).toBe(2);
    expect(spikes()).toEqual(["spend_spike|user|hour:2026-03-10T12", "spend_spike|user|hour:2026-03-10T14"]);
  });
});
