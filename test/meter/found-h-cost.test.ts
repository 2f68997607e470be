import { join, resolve } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { queryUsage } from "../../src/meter/report.js";
import { meterCaseDir, type TempWorld } from "../support/meter-env.js";

/** test/cases built from public bug reports (recorded / provider-billed cost), copied per test. */
const CASES = resolve(import.meta.dirname, "../cases");

let w: TempWorld | undefined;
afterEach(() => {
  w?.cleanup();
  w = undefined;
});

async function meterCase(name: string, mode: "calculate" | "auto" | "recorded") {
  w?.cleanup();
  const r = await meterCaseDir(join(CASES, name), mode);
  w = r.world;
  return r;
}

describe("case openrouter-byok-fee-only: a provider-billed OpenRouter BYOK fee is not the call's cost", () => {
  for (const mode of ["auto", "recorded"] as const) {
    it(`${mode}: list price + fee for the two BYOK calls ($0.03402, $0.08505), a normal call as billed`, async () => {
      const { s, world } = await meterCase("openrouter-byok-fee-only", mode);
      expect(s).toMatchObject({ billed: 3, malformed: 0, unknownModels: [] });
      const byUser = Object.fromEntries(
        queryUsage(world.db, { by: "user" }).map((r) => [
          r.key,
          [r.requests, r.costUsd, r.providerBilledRequests],
        ]),
      );
      expect(byUser).toEqual({
        "telegram:5550401": [1, "0.03402", 0],
        "telegram:5550402": [1, "0.08505", 0],
        "telegram:5550403": [1, "0.0021", 1],
      });
      const rows = world.db
        .prepare<[], { account_id: string; price_version: string; anomaly: string | null }>(
          "SELECT account_id, price_version, anomaly FROM usage_events ORDER BY account_id",
        )
        .all();
      expect(rows.map((r) => [r.account_id, r.price_version.endsWith("+openrouter-byok-fee")])).toEqual([
        ["telegram:5550401", true],
        ["telegram:5550402", true],
        ["telegram:5550403", false],
      ]);
      expect(rows[0]?.anomaly).toContain(
        "provider-billed cost $0.00162 is about 5% of the list price $0.0324",
      );
      expect(rows[1]?.anomaly).toContain("OpenRouter's BYOK fee alone");
      expect(rows[2]?.anomaly).toBeNull();
    });
  }

  it("calculate: the list price for all three ($0.1155)", async () => {
    const { world } = await meterCase("openrouter-byok-fee-only", "calculate");
    const total = queryUsage(world.db, { by: "user" }).reduce((a, r) => a + BigInt(r.costPicoUsd), 0n);
    expect(total).toBe(115_500_000_000n);
  });
});

describe("case openrouter-reconciled-total-without-origin: OpenRouter's billed total written without totalOrigin", () => {
  const costs = async (mode: "calculate" | "auto" | "recorded") => {
    const { s, world } = await meterCase("openrouter-reconciled-total-without-origin", mode);
    expect(s).toMatchObject({ billed: 3, malformed: 0, unknownModels: [] });
    return world.db
      .prepare<[], { account_id: string; cost_pico_usd: number; price_source: string }>(
        "SELECT account_id, cost_pico_usd, price_source FROM usage_events ORDER BY account_id",
      )
      .all()
      .map((r) => [r.account_id, r.cost_pico_usd, r.price_source]);
  };

  it("auto: the long-context call at OpenRouter's billed $0.53366 (not the flat list $0.1352); the others at the list", async () => {
    expect(await costs("auto")).toEqual([
      ["telegram:5550501", 533_660_000_000, "provider-billed"],
      ["telegram:5550502", 7_249_125_000, "table"],
      ["telegram:5550503", 2_100_000_000, "table"],
    ]);
  });

  it("recorded: the same billed total, named provider-billed; a total below its parts stays an estimate", async () => {
    expect(await costs("recorded")).toEqual([
      ["telegram:5550501", 533_660_000_000, "provider-billed"],
      ["telegram:5550502", 7_249_125_000, "recorded"],
      ["telegram:5550503", 1_900_000_000, "recorded"],
    ]);
  });

  it("calculate: the list price for all three", async () => {
    expect(await costs("calculate")).toEqual([
      ["telegram:5550501", 135_200_000_000, "table"],
      ["telegram:5550502", 7_249_125_000, "table"],
      ["telegram:5550503", 2_100_000_000, "table"],
    ]);
  });
});
