import { describe, expect } from "vitest";
import { createLedger } from "../../src/credits/index.js";
import type { Db } from "../../src/db/index.js";
import { createUsageWriter } from "../../src/meter/usage-repo.js";
import { type ReportDim, runReport } from "../../src/reports/index.js";
import { latencyStats } from "../../src/reports/query.js";
import { admin, testApp } from "../api/support.js";
import { createEngineDb, ENGINES, testOn } from "../support/temp-db.js";

/**
 * The latency columns of reports (docs/reports.md "Latency"): mean (rounded) and nearest-rank p95
 * over the raw rows with a latency, per group and in the totals, equal to a brute-force scan; the
 * API route for a user's calls and the preview purge.
 */

const START = Date.UTC(2026, 2, 1);
const H = 3_600_000;
const USERS = ["telegram:1", "telegram:2", "agent:bot"];
const AGENTS = ["bot-a", "bot-b"];

interface Seeded {
  account_id: string;
  agent_id: string;
  message_ts_ms: number;
  latency_ms: number | null;
}

function seed(db: Db, n: number): Seeded[] {
  let s = 7;
  const rnd = (m: number) => {
    s = (s * 1103515245 + 12345) % 2 ** 31;
    return s % m;
  };
  const ledger = createLedger(db);
  const writer = createUsageWriter(db);
  const out: Seeded[] = [];
  db.transaction(() => {
    const entry = new Map(
      USERS.map((u) => [
        u,
        ledger.post({
          accountId: u,
          kind: "grant",
          amountMicroCredits: 1n,
          idempotencyKey: `g:${u}`,
          nowMs: START,
        }).entryId,
      ]),
    );
    for (let i = 0; i < n; i++) {
      const row: Seeded = {
        account_id: USERS[rnd(USERS.length)] as string,
        agent_id: AGENTS[rnd(AGENTS.length)] as string,
        message_ts_ms: START + rnd(10 * 24) * H + rnd(H),
        latency_ms: rnd(3) === 0 ? null : rnd(20_000),
      };
      out.push(row);
      writer.insert({
        ...row,
        dedupe_key: `k${i}`,
        ledger_entry_id: entry.get(row.account_id) as number,
        session_id: null,
        session_key: null,
        source: "jsonl",
        source_ref: `f@${i}`,
        provider: "mock",
        model: "mock-gpt",
        api: null,
        response_id: null,
        input_tokens: 1,
        output_tokens: 1,
        cache_read_tokens: 0,
        cache_write_tokens: 0,
        cache_write_1h_tokens: 0,
        total_tokens: 2,
        reasoning_tokens: null,
        stop_reason: null,
        is_error: 0,
        error_message: null,
        recorded_cost_pico_usd: null,
        cost_pico_usd: 1000n + BigInt(i),
        table_cost_pico_usd: null,
        charge_micro_credits: 1,
        price_source: "table",
        price_version: "test",
        unknown_model: 0,
        anomaly: null,
        created_at_ms: START,
      });
    }
  })();
  return out;
}

function brute(rows: Seeded[]) {
  const ls = rows.map((r) => r.latency_ms).filter((l): l is number => l !== null);
  if (ls.length === 0) return { avg: null, p95: null, n: 0 };
  ls.sort((a, b) => a - b);
  const avg = Math.round(ls.reduce((a, b) => a + b, 0) / ls.length);
  return { avg, p95: ls[Math.ceil(ls.length * 0.95) - 1], n: ls.length };
}

describe.each(ENGINES)("%s", (engine) => {
  const test = testOn(engine);

  describe("report latency columns", () => {
    test("latencyStats: mean rounded, nearest-rank p95, null without samples", () => {
      expect(latencyStats([])).toEqual({ avg: null, p95: null });
      expect(latencyStats([5])).toEqual({ avg: 5, p95: 5 });
      expect(latencyStats([1, 2])).toEqual({ avg: 2, p95: 2 });
      const hundred = Array.from({ length: 100 }, (_, i) => 100 - i); // 100..1, unsorted
      expect(latencyStats(hundred)).toEqual({ avg: 51, p95: 95 });
    });

    test("per group and in totals equal a scan of the raw rows, in UTC and New York, whole days or not", ({
      db,
    }) => {
      const rows = seed(db, 3000);
      for (const timeZone of ["UTC", "America/New_York"])
        for (const by of [[], ["agent"], ["user", "agent"], ["day", "agent"]] as ReportDim[][]) {
          const report = runReport(db, {
            range: { fromMs: START + 5 * H, toMs: START + 9 * 24 * H },
            timeZone,
            by,
            creditsPerUsd: { num: 1n, den: 1n },
          });
          const inRange = rows.filter(
            (r) => r.message_ts_ms >= START + 5 * H && r.message_ts_ms < START + 9 * 24 * H,
          );
          const t = brute(inRange);
          expect(report.totals).toMatchObject({
            avgLatencyMs: t.avg,
            p95LatencyMs: t.p95,
            latencySamples: t.n,
          });
          if (by.length === 0 || by[0] === "day") continue;
          for (const r of report.rows) {
            const b = brute(
              inRange.filter(
                (x) =>
                  x.agent_id === r.group.agent &&
                  (r.group.user === undefined || x.account_id === r.group.user),
              ),
            );
            expect(r, JSON.stringify(r.group)).toMatchObject({
              avgLatencyMs: b.avg,
              p95LatencyMs: b.p95,
              latencySamples: b.n,
            });
          }
        }
      const off = runReport(db, {
        range: { fromMs: START, toMs: START + 10 * 24 * H },
        timeZone: "UTC",
        by: ["agent"],
        creditsPerUsd: { num: 1n, den: 1n },
        latency: false,
      });
      expect(off.totals).toMatchObject({ avgLatencyMs: null, p95LatencyMs: null, latencySamples: 0 });
      expect(off.totals.requests).toBe(3000);
    });

    test("GET /v1/reports fills the latency columns; GET /v1/users/:id/calls pages a user's calls; DELETE previews", async ({
      onTestFinished,
    }) => {
      const t = createEngineDb(engine);
      onTestFinished(t.cleanup);
      const rows = seed(t.db, 200);
      t.db
        .prepare("UPDATE usage_events SET preview_user = 'hi [email]', preview_reply = 'ok' WHERE id % 2 = 0")
        .run();
      const app = testApp(t.db);
      onTestFinished(() => app.close());
      const r = await app.inject({
        url: "/v1/reports?from=2026-03-01&to=2026-03-11&by=agent",
        headers: admin,
      });
      expect(r.statusCode).toBe(200);
      const b = brute(rows);
      expect(r.json().totals).toMatchObject({
        avgLatencyMs: b.avg,
        p95LatencyMs: b.p95,
        latencySamples: b.n,
      });
      const noLat = await app.inject({
        url: "/v1/reports?from=2026-03-01&to=2026-03-11&latency=false",
        headers: admin,
      });
      expect(noLat.json().totals.avgLatencyMs).toBeNull();

      const mine = rows.filter((x) => x.account_id === "telegram:1");
      const page1 = await app.inject({ url: "/v1/users/telegram:1/calls?limit=10", headers: admin });
      expect(page1.statusCode).toBe(200);
      const calls = page1.json().calls as { id: number; messageTsMs: number; latencyMs: number | null }[];
      expect(calls).toHaveLength(10);
      const newest = [...mine].sort((a, b) => b.message_ts_ms - a.message_ts_ms)[0] as Seeded;
      expect(calls[0]).toMatchObject({ messageTsMs: newest.message_ts_ms, latencyMs: newest.latency_ms });
      const all = await app.inject({ url: "/v1/users/telegram:1/calls?limit=500", headers: admin });
      expect(all.json().calls).toHaveLength(mine.length);
      expect(
        all.json().calls.some((c: { previewUser: string | null }) => c.previewUser === "hi [email]"),
      ).toBe(true);

      const del = await app.inject({
        method: "DELETE",
        url: "/v1/users/telegram:1/previews",
        headers: admin,
      });
      expect(del.statusCode).toBe(200);
      expect(del.json().rows).toBeGreaterThan(0);
      const after = await app.inject({ url: "/v1/users/telegram:1/calls?limit=500", headers: admin });
      expect(after.json().calls.every((c: { previewUser: string | null }) => c.previewUser === null)).toBe(
        true,
      );
      const other = await app.inject({ url: "/v1/users/telegram:2/calls?limit=500", headers: admin });
      expect(other.json().calls.some((c: { previewUser: string | null }) => c.previewUser !== null)).toBe(
        true,
      );
    });
  });
});
