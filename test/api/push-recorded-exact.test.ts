import { describe, expect } from "vitest";
import { parseDecimal } from "../../src/money.js";
import { admin, pushEvent, testApp } from "../api/support.js";
import { fixturePricer } from "../support/meter-env.js";
import { testOn } from "../support/temp-db.js";

// A pushed recordedCostPicoUsd (exact decimal pico-USD) is stored as sent in the row's
// reconciliation column, also past 2^53 pico-USD (~$9007), where its float approximation
// Number(pico) / 1e12 would not round-trip (found by the issue #10 break test: it stored ...248 for
// ...247). maxCallPicoUsd is raised as CREDITGATE_REVIEW_MAX_CALL_USD would: by default such a call
// is held for review, and billed the same way once released.
describe("sqlite", () => {
  const test = testOn("sqlite");
  test("recorded_cost_pico_usd keeps a pushed recordedCostPicoUsd exactly", async ({
    db,
    onTestFinished,
  }) => {
    const app = testApp(db, {
      ingest: {
        pricer: fixturePricer("recorded"),
        markup: parseDecimal("1"),
        creditsPerUsd: parseDecimal("1"),
        maxCallPicoUsd: 10n ** 18n,
      },
    });
    onTestFinished(() => app.close());
    // what an edge sends for a transcript whose usage.cost.total is 9100.246913578247
    const sent = "9100246913578247";
    const events = [
      pushEvent({
        idempotencyKey: "big",
        recordedCostPicoUsd: sent,
        costOrigin: "provider-billed",
        input: 50_000_000,
        output: 50_000_000,
      }),
    ];
    const res = await app.inject({ method: "POST", url: "/v1/usage", headers: admin, payload: { events } });
    expect(res.json(), JSON.stringify(res.json())).toMatchObject({ billed: 1 });
    const row = db
      .prepare("SELECT cost_pico_usd AS cost, recorded_cost_pico_usd AS recorded FROM usage_events")
      .safeIntegers(true)
      .get() as { cost: bigint; recorded: bigint };
    expect(String(row.cost)).toBe(sent);
    expect(String(row.recorded)).toBe(sent); // actual: 9100246913578248
  });
});
