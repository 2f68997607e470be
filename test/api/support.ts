import type { Db } from "../../src/db/index.js";
import { parseDecimal } from "../../src/money.js";
import { parsePacks } from "../../src/payments/index.js";
import { buildTestApp, type TestAppDeps } from "../support/build-app.js";
import { fixturePricer } from "../support/meter-env.js";
import { API_KEY, TEST_PACKS } from "../support/payments-harness.js";

export const NOW = Date.UTC(2026, 2, 10, 12, 0, 0);
export const admin = { authorization: `Bearer ${API_KEY}` };
export const bearer = (key: string) => ({ authorization: `Bearer ${key}` });

/** buildApp with push ingestion priced by the fixture table (mock/mock-gpt: $3 in, $15 out per MTok). */
export function testApp(db: Db, over: Partial<TestAppDeps> = {}) {
  return buildTestApp({
    db,
    packs: parsePacks(TEST_PACKS),
    publicBaseUrl: "https://pay.example.test",
    stripe: null,
    mercadoPago: null,
    apiKey: API_KEY,
    nowMs: () => NOW,
    ingest: { pricer: fixturePricer(), markup: parseDecimal("1"), creditsPerUsd: parseDecimal("1") },
    ...over,
  });
}

/** A valid pushed event: 1M input tokens of mock/mock-gpt = 3 credits. */
export function pushEvent(over: Record<string, unknown> = {}) {
  return {
    idempotencyKey: "evt-1",
    agentId: "bot-a",
    userId: "telegram:42",
    provider: "mock",
    model: "mock-gpt",
    input: 1_000_000,
    output: 0,
    cacheRead: 0,
    cacheWrite: 0,
    timestampMs: NOW - 60_000,
    success: true,
    ...over,
  };
}

export function balanceOf(db: Db, account: string): number {
  const r = db.prepare("SELECT balance_micro_credits AS b FROM accounts WHERE id = ?").get(account) as
    | { b: number }
    | undefined;
  return r?.b ?? 0;
}
