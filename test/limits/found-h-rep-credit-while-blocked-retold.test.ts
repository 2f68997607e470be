/**
 * Case `test/cases/credit-while-blocked-retold`: a user in debt, told "depleted" and "blocked",
 * got every one of those notices again (plus "low balance") each time a credit left them still
 * blocked: a partial top-up, the operator's refund of one call, a 1-micro-credit adjustment.
 * Each credit began a new funding episode (`fund:<entry>`), the key those alerts are once per.
 */
import { resolve } from "node:path";
import { afterEach, describe, expect } from "vitest";
import { createLedger } from "../../src/credits/index.js";
import { createEnforcer } from "../../src/limits/index.js";
import { meterCaseDir, type TempWorld } from "../support/meter-env.js";
import { test } from "../support/temp-db.js";
import { alertKeys, CREDIT, settings, topUp } from "../worker/support.js";

const CASE = resolve(import.meta.dirname, "../cases/credit-while-blocked-retold");
const U = "telegram:5550822";
const worlds: TempWorld[] = [];
afterEach(() => {
  for (const w of worlds.splice(0)) w.cleanup();
});
const at = (iso: string) => Date.parse(iso);

describe("case credit-while-blocked-retold", () => {
  test("credits that leave the user blocked for money tell nothing again; the credit that lifts the block starts a new episode", async () => {
    const { s, world } = await meterCaseDir(CASE);
    worlds.push(world);
    expect(s.billed).toBe(1); // $1.50 (150k tokens at $10/M)
    const db = world.db;
    const e = createEnforcer(db, settings({ headroom: { mode: "off" }, lowBalanceMicroCredits: CREDIT }));
    const ledger = createLedger(db);
    const kinds = (r: { alerts: { kind: string }[] }) => r.alerts.map((a) => a.kind);

    topUp(db, U, CREDIT, at("2026-03-10T10:05:00Z")); // −1.5 + 1 = −0.5: still blocked
    expect(kinds(e.check(U, at("2026-03-10T10:05:01Z")))).toEqual([
      "topup_received",
      "low_balance",
      "depleted",
      "blocked",
    ]);
    // the operator refunds 0.1 of the call: −0.4, still blocked. Before: low_balance, depleted and
    // blocked again (fund:<the refund>)
    ledger.post({
      accountId: U,
      kind: "refund",
      amountMicroCredits: 100_000n,
      idempotencyKey: "refund:call1",
      nowMs: at("2026-03-10T10:10:00Z"),
    });
    const afterRefund = e.check(U, at("2026-03-10T10:10:01Z"));
    expect(afterRefund.status).toMatchObject({ allowed: false, reason: "insufficient_balance" });
    expect(kinds(afterRefund)).toEqual([]);
    ledger.post({
      accountId: U,
      kind: "adjustment",
      amountMicroCredits: 1n,
      idempotencyKey: "adj:1",
      nowMs: at("2026-03-10T10:15:00Z"),
    });
    expect(kinds(e.check(U, at("2026-03-10T10:15:01Z")))).toEqual([]);
    // a second partial top-up: its receipt (with the balance) only
    topUp(db, U, 200_000, at("2026-03-10T10:20:00Z"));
    expect(kinds(e.check(U, at("2026-03-10T10:20:01Z")))).toEqual(["topup_received"]);
    // the top-up that lifts the block: unblocked, and a new episode
    topUp(db, U, 2 * CREDIT, at("2026-03-10T10:30:00Z"));
    expect(kinds(e.check(U, at("2026-03-10T10:30:01Z")))).toEqual(["topup_received", "unblocked"]);
    const told = alertKeys(db, U).filter((k) => /^(low_balance|depleted|blocked)\|/.test(k));
    expect(told).toHaveLength(3); // before: 12 (3 × the four credits that left the user blocked)
  });
});
