/**
 * The runway over time (`history.snapshots[].runwayHours`, the console's runway chart): each
 * snapshot's runway is exactly what the view said at that moment (balance over the burn known then).
 */
import { afterEach, beforeEach, describe, expect } from "vitest";
import { FakeProviders } from "../support/fake-providers.js";
import { test } from "../support/temp-db.js";
import { serviceFor } from "./support.js";

const HOUR = 3_600_000;
const NOW = Date.UTC(2026, 10, 20, 12, 0, 0);

let fake: FakeProviders;
beforeEach(async () => {
  fake = await new FakeProviders().start();
});
afterEach(async () => {
  await fake.stop();
});

describe("runway over time", () => {
  test("each snapshot's runway equals the view's at its time; unknown before any burn", async ({ db }) => {
    const { service } = serviceFor(db, fake, {}, false);
    const seen: (number | null)[] = [];
    // $1 the first hour, $2 the second, $0.50 the third: the runway changes with the burn
    const usage = [26.75, 27.75, 29.75, 30.25];
    for (const [i, u] of usage.entries()) {
      fake.data.openrouter.totalUsage = u;
      const t = NOW - (usage.length - 1 - i) * HOUR;
      await service.poll("openrouter", t);
      seen.push(service.view("openrouter", t).runway.hours);
    }
    const h = service.history("openrouter", { fromMs: NOW - 10 * HOUR, toMs: NOW + 1, limit: 50 });
    const oldestFirst = h.snapshots.slice().reverse();
    expect(oldestFirst.map((s) => s.runwayHours)).toEqual(seen);
    expect(seen[0]).toBeNull(); // one snapshot: nothing to extrapolate from
    expect(seen.slice(1).every((x) => typeof x === "number" && x > 0)).toBe(true);
    expect(oldestFirst[1]).toMatchObject({ runwayHours: seen[1], runwayBasis: "provider" });
    expect(new Set(seen.slice(1)).size).toBe(3); // it moved with the burn
  });
});
