/**
 * The console's hourly spend chart reads usage_hourly_totals (migration 21), fed from usage_events
 * by id when a report reads it (no trigger on usage_events): its points always equal the raw rows
 * grouped by hour, after new rows, late rows for hours already summed, rows older than the
 * rollup's first hour (read raw), and ranges with partial hours at their edges.
 * The distinct-count and top-user rollups (migration 22, kept by triggers on usage_daily and
 * usage_daily_accounts) always equal their definition over usage_daily, whatever order days are
 * written in, and the overview's active users / top users and the agents page equal a GROUP BY.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect } from "vitest";
import type { Db } from "../../src/db/index.js";
import { accountsSummary, agentsReport, catchUpHourly, spendSeries } from "../../src/reports/index.js";
import { runArchive } from "../../src/retention/index.js";
import { admin, pushEvent, testApp } from "../api/support.js";
import { ENGINES, testOn } from "../support/temp-db.js";

const HOUR = 3_600_000;
const DAY = 86_400_000;

/** The raw rows of [since, until) grouped per hour and agent, in spendSeries' shape. */
function rawHourly(db: Db, since: number, until: number) {
  return (
    db
      .prepare(
        `SELECT message_ts_ms / ${HOUR} AS b, agent_id AS k, COUNT(*) AS n, SUM(cost_pico_usd) AS c,
                SUM(charge_micro_credits) AS m
           FROM usage_events WHERE message_ts_ms >= ? AND message_ts_ms < ? GROUP BY b, k ORDER BY b, k`,
      )
      .safeIntegers(true)
      .all(since, until) as { b: bigint; k: string; n: bigint; c: bigint; m: bigint }[]
  ).map((r) => ({
    bucketStartMs: Number(r.b) * HOUR,
    key: r.k,
    requests: Number(r.n),
    costPicoUsd: r.c.toString(),
    chargedMicroCredits: Number(r.m),
  }));
}

const sorted = <T extends { bucketStartMs: number; key: string }>(xs: T[]) =>
  [...xs].sort((a, b) => a.bucketStartMs - b.bucketStartMs || a.key.localeCompare(b.key));

describe.each(ENGINES)("%s", (engine) => {
  const test = testOn(engine);

  describe("hourly rollup", () => {
    test("hourly points equal the raw rows, across catch-ups, late rows and partial hours", async ({
      db,
      onTestFinished,
    }) => {
      const now = Date.now();
      const app = testApp(db, { nowMs: () => now });
      onTestFinished(() => app.close());
      const push = async (events: Record<string, unknown>[]) => {
        const res = await app.inject({
          method: "POST",
          url: "/v1/usage",
          headers: admin,
          payload: { events },
        });
        expect(res.statusCode).toBe(200);
      };
      const ev = (key: string, agent: string, ts: number, output = 0) =>
        pushEvent({ idempotencyKey: key, userId: "telegram:9", agentId: agent, timestampMs: ts, output });
      await push([
        ev("a", "main", now - 60_000),
        ev("b", "main", now - 5 * HOUR, 100),
        ev("c", "support", now - 5 * HOUR + 1000, 200),
        ev("d", "support", now - 2 * DAY),
        ev("old", "main", now - 20 * DAY), // before the rollup's first hour: read raw
      ]);
      const fromHour = catchUpHourly(db);
      expect(fromHour).toBe((Math.floor(now / DAY) - 9) * 24);
      const since = Math.floor(now / DAY) * DAY - 8 * DAY;
      const until = Math.floor(now / DAY) * DAY + DAY;
      const series = () =>
        spendSeries(db, { sinceMs: since, untilMs: until, bucket: "hour", stack: "agent" });
      expect(sorted(series())).toEqual(rawHourly(db, since, until));
      const rolled = () =>
        (db.prepare("SELECT SUM(requests) AS n FROM usage_hourly_totals").get() as { n: number | null }).n;
      expect(rolled()).toBe(4);

      // New rows, one for an hour already summed and one older than the rollup: caught up on read.
      await push([
        ev("e", "main", now - 5 * HOUR + 2000, 50),
        ev("f", "ops", now - 30 * 60_000),
        ev("late-old", "main", now - 30 * DAY + HOUR),
      ]);
      expect(sorted(series())).toEqual(rawHourly(db, since, until));
      expect(rolled()).toBe(6);
      // Nothing new: nothing written (the cursor stays).
      const cursor = () => db.prepare("SELECT last_usage_event_id AS id FROM usage_hourly_cursor").get();
      const before = cursor();
      series();
      expect(cursor()).toEqual(before);

      // Ranges whose edges cut hours, and ranges reaching back before the rollup's first hour.
      for (const [lo, hi] of [
        [now - 5 * HOUR + 500, now - 30_000],
        [now - 90 * 60_000, now + HOUR],
        [now - 31 * DAY, now - 19 * DAY],
        [fromHour * HOUR - 3 * DAY, fromHour * HOUR + 5 * DAY],
      ] as const) {
        const got = spendSeries(db, { sinceMs: lo, untilMs: hi, bucket: "hour", stack: "agent" });
        expect(sorted(got), `${lo}..${hi}`).toEqual(rawHourly(db, lo, hi));
      }
      // The overview's hourly chart adds up to its totals (the numbers of GET /v1/usage).
      const day = new Date(now).toISOString().slice(0, 10);
      const ov = (await app.inject({ url: `/v1/overview?from=${day}&bucket=hour`, headers: admin })).json();
      const pts = ov.series.points as { requests: number; costPicoUsd: string }[];
      expect(pts.reduce((s, p) => s + p.requests, 0)).toBe(ov.totals.requests);
      expect(pts.reduce((s, p) => s + BigInt(p.costPicoUsd), 0n).toString()).toBe(ov.totals.costPicoUsd);
    });

    test("an archive run never lets a new row reuse an id the hourly cursor has passed", async ({
      db,
      onTestFinished,
    }) => {
      // usage_events.id is a rowid without AUTOINCREMENT: SQLite gives a new row MAX(id) + 1. When
      // an archive run removed the newest row (a call stamped months back, billed last), the next
      // row got that id again, at or below the hourly cursor, and never reached the hourly chart.
      const now = Date.now();
      const app = testApp(db, { nowMs: () => now });
      const past = testApp(db, { nowMs: () => now - 70 * DAY }); // pushes are kept within 30 days of server time
      onTestFinished(async () => {
        await app.close();
        await past.close();
      });
      const push = async (a: typeof app, key: string, ts: number) => {
        const events = [
          pushEvent({ idempotencyKey: key, userId: "telegram:9", agentId: "main", timestampMs: ts }),
        ];
        const res = await a.inject({ method: "POST", url: "/v1/usage", headers: admin, payload: { events } });
        expect(res.json()).toMatchObject({ billed: 1 });
      };
      await push(app, "recent", now - HOUR);
      await push(past, "months-ago", now - 70 * DAY - HOUR); // the newest id, in an archivable month
      catchUpHourly(db);
      // As if the limit check's sampler had read every row so far.
      db.prepare(
        "INSERT INTO headroom_cursor (id, last_usage_event_id) VALUES (1, 2) ON CONFLICT (id) DO UPDATE SET last_usage_event_id = 2",
      ).run();
      const dir = mkdtempSync(join(tmpdir(), "cg-rollup-archive-"));
      onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
      const run = await runArchive(db, { dir, retentionDays: 35, nowMs: now });
      await push(app, "after-archive", now - 30 * 60_000);
      const since = Math.floor(now / DAY) * DAY - 7 * DAY;
      const until = Math.floor(now / DAY) * DAY + DAY;
      const got = spendSeries(db, { sinceMs: since, untilMs: until, bucket: "hour", stack: "agent" });
      expect(sorted(got)).toEqual(rawHourly(db, since, until));
      expect(got.reduce((n, p) => n + p.requests, 0)).toBe(2);
      expect(run.months.map((m) => m.rows)).toEqual([1]);
      const ids = db.prepare("SELECT id FROM usage_events ORDER BY id").all() as { id: number }[];
      // SQLite gives the archived row's id out again; a PostgreSQL identity never does
      expect(ids.map((r) => r.id)).toEqual(engine === "sqlite" ? [1, 2] : [1, 3]);
      // The headroom sampler's cursor (it reads usage_events by id too) was pulled back with it.
      expect(db.prepare("SELECT last_usage_event_id AS id FROM headroom_cursor").get()).toEqual({ id: 1 });
    });

    test("archived calls count in partial-day and hourly ranges as in GET /v1/usage", async ({
      db,
      onTestFinished,
    }) => {
      // Retention removes old rows from usage_events and keeps them summed per quarter hour in
      // usage_archived; whole days stay in usage_daily. The overview's partial-day edges and the
      // hourly series' hours before the rollup's start read the archived buckets too.
      const now = Date.now();
      const app = testApp(db, { nowMs: () => now });
      const day = Math.floor((now - 70 * DAY) / DAY) * DAY;
      const past = testApp(db, { nowMs: () => day + DAY - 60_000 }); // pushes within 10 min of server time
      onTestFinished(async () => {
        await app.close();
        await past.close();
      });
      let n = 0;
      for (const ts of [
        day + 12 * HOUR + 5 * 60_000,
        day + 12 * HOUR + 20 * 60_000,
        day + 13 * HOUR + 40 * 60_000,
        day + 20 * HOUR,
      ]) {
        const events = [
          pushEvent({
            idempotencyKey: `old-${n++}`,
            userId: "telegram:9",
            agentId: "main",
            timestampMs: ts,
            output: 10,
          }),
        ];
        const res = await past.inject({
          method: "POST",
          url: "/v1/usage",
          headers: admin,
          payload: { events },
        });
        expect(res.json()).toMatchObject({ billed: 1 });
      }
      const iso = (ms: number) => new Date(ms).toISOString();
      const from = iso(day + 12 * HOUR);
      const to = iso(day + 15 * HOUR);
      const overview = async () =>
        (await app.inject({ url: `/v1/overview?from=${from}&to=${to}`, headers: admin })).json().totals;
      const usage = async () =>
        (await app.inject({ url: `/v1/usage?by=day&from=${from}&to=${to}`, headers: admin })).json().rows;
      const before = await overview();
      expect(before.requests).toBe(3);
      const dir = mkdtempSync(join(tmpdir(), "cg-rollup-archived-"));
      onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
      const run = await runArchive(db, { dir, retentionDays: 35, nowMs: now });
      expect(run.months.map((m) => m.rows)).toEqual([4]);
      expect(db.prepare("SELECT COUNT(*) AS n FROM usage_events").get()).toEqual({ n: 0 });
      expect(await overview()).toEqual(before);
      const rows = await usage();
      expect(rows.map((r: { requests: number }) => r.requests)).toEqual([3]);
      expect(before.costPicoUsd).toBe(rows[0].costPicoUsd);
      const series = spendSeries(db, {
        sinceMs: day + 12 * HOUR,
        untilMs: day + 15 * HOUR,
        bucket: "hour",
        stack: "agent",
      });
      expect(series.map((p) => [p.bucketStartMs - day, p.requests])).toEqual([
        [12 * HOUR, 2],
        [13 * HOUR, 1],
      ]);
      expect(series.reduce((c, p) => c + BigInt(p.costPicoUsd), 0n).toString()).toBe(before.costPicoUsd);
    });
  });

  /** Deterministic PRNG (mulberry32). */
  function prng(seed: number) {
    return () => {
      seed = (seed + 0x6d2b79f5) >>> 0;
      let t = seed;
      t = Math.imul(t ^ (t >>> 15), t | 1);
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
  }

  describe("distinct-count and top-user rollups", () => {
    test("equal their definition and a GROUP BY over usage_daily, for any write order", ({ db }) => {
      const add = db.prepare(
        `INSERT INTO usage_daily (day, account_id, agent_id, provider, model, requests, errors, input_tokens,
         output_tokens, cache_read_tokens, cache_write_tokens, cache_write_1h_tokens, total_tokens, cost_pico_usd,
         charge_micro_credits, unknown_model_requests, fallback_priced_requests, provider_billed_requests,
         provider_billed_cost_pico_usd, provider_billed_known_cost_pico_usd, provider_billed_table_cost_pico_usd)
       VALUES (?, ?, ?, 'p', ?, 1, 0, 0, 0, 0, 0, 0, 0, ?, ?, 0, 0, 0, 0, 0, 0)
       ON CONFLICT (day, account_id, agent_id, provider, model) DO UPDATE SET requests = requests + 1,
         cost_pico_usd = cost_pico_usd + excluded.cost_pico_usd,
         charge_micro_credits = charge_micro_credits + excluded.charge_micro_credits`,
      );
      const rnd = prng(7);
      const int = (n: number) => Math.floor(rnd() * n);
      db.transaction(() => {
        for (let i = 0; i < 3000; i++) {
          // Days in random order (late rows for earlier days), skewed users, ties in charges.
          const u = Math.floor(60 * rnd() ** 2);
          const account = i % 50 === 0 ? `agent:a${u % 3}` : `telegram:${u}`;
          const charge = i % 97 === 0 ? -5 : 10 * (1 + int(5));
          add.run(
            1000 + int(40),
            account,
            `a${u % 3}${i % 7 === 0 ? "x" : ""}`,
            `m${int(3)}`,
            charge * 1000,
            charge,
          );
        }
      })();
      const all = (sql: string, ...p: number[]) => db.prepare(sql).all(...p);
      const check = () => {
        // The rollups equal the migration's backfill definition.
        expect(
          all("SELECT account_id, day, prev_day, agent_account FROM usage_account_days ORDER BY 1, 2"),
        ).toEqual(
          all(`SELECT account_id, day, COALESCE(LAG(day) OVER (PARTITION BY account_id ORDER BY day), -1) AS prev_day,
               substr(account_id, 1, 6) = 'agent:' AS agent_account FROM usage_daily_accounts ORDER BY 1, 2`),
        );
        expect(
          all("SELECT agent_id, account_id, day, prev_day FROM usage_agent_account_days ORDER BY 1, 2, 3"),
        ).toEqual(
          all(`SELECT agent_id, account_id, day,
               COALESCE(LAG(day) OVER (PARTITION BY agent_id, account_id ORDER BY day), -1) AS prev_day
             FROM (SELECT DISTINCT agent_id, account_id, day FROM usage_daily) g ORDER BY 1, 2, 3`),
        );
        expect(
          all("SELECT account_id, bound_micro_credits AS b FROM usage_account_charge_bounds ORDER BY 1"),
        ).toEqual(
          all(`SELECT account_id, SUM(MAX(charge_micro_credits, 0)) AS b FROM usage_daily_accounts
              GROUP BY account_id ORDER BY 1`),
        );
        for (const [a, b] of [
          [1000, 1040],
          [1010, 1030],
          [1039, 1040],
          [1005, 1006],
          [990, 1100],
          [1100, 1200],
        ] as const) {
          const s = accountsSummary(db, { sinceMs: a * DAY, untilMs: b * DAY, limit: 10 });
          // The walk to the end, and no walk (the range grouped): the same answer.
          for (const maxWalk of [Number.POSITIVE_INFINITY, 0])
            expect(
              accountsSummary(db, { sinceMs: a * DAY, untilMs: b * DAY, limit: 10, maxWalk }),
              `${a}..${b} maxWalk ${maxWalk}`,
            ).toEqual(s);
          const count = (agent: 0 | 1) =>
            (
              db
                .prepare(
                  `SELECT COUNT(DISTINCT account_id) AS n FROM usage_daily_accounts
                  WHERE day >= ? AND day < ? AND (substr(account_id, 1, 6) = 'agent:') = ?`,
                )
                .get(a, b, agent) as { n: number }
            ).n;
          expect(s.users, `${a}..${b}`).toBe(count(0));
          expect(s.agents, `${a}..${b}`).toBe(count(1));
          expect(s.top, `${a}..${b}`).toEqual(
            (
              all(
                `SELECT account_id AS accountId, SUM(requests) AS requests, CAST(SUM(cost_pico_usd) AS TEXT) AS costPicoUsd,
                    SUM(charge_micro_credits) AS chargedMicroCredits
               FROM usage_daily_accounts WHERE day >= ? AND day < ? AND substr(account_id, 1, 6) <> 'agent:'
              GROUP BY account_id ORDER BY chargedMicroCredits DESC, accountId LIMIT 10`,
                a,
                b,
              ) as Record<string, unknown>[]
            ).map((r) => ({ ...r })),
          );
          expect(agentsReport(db, { sinceMs: a * DAY, untilMs: b * DAY }), `${a}..${b}`).toEqual(
            (
              all(
                `SELECT agent_id AS agentId, SUM(requests) AS requests, CAST(SUM(cost_pico_usd) AS TEXT) AS costPicoUsd,
                    SUM(charge_micro_credits) AS chargedMicroCredits,
                    COUNT(DISTINCT CASE WHEN substr(account_id, 1, 6) <> 'agent:' THEN account_id END) AS users,
                    COUNT(DISTINCT provider || '/' || model) AS models,
                    CAST(SUM(CASE WHEN substr(account_id, 1, 6) = 'agent:' THEN cost_pico_usd ELSE 0 END) AS TEXT) AS ownCostPicoUsd,
                    SUM(CASE WHEN substr(account_id, 1, 6) = 'agent:' THEN requests ELSE 0 END) AS ownRequests
               FROM usage_daily WHERE day >= ? AND day < ? GROUP BY agent_id
              ORDER BY SUM(cost_pico_usd) DESC, agent_id`,
                a,
                b,
              ) as Record<string, unknown>[]
            ).map((r) => ({ ...r })),
          );
        }
      };
      check();
      // An open range (the console's presets: no end) walks up to the last day with usage.
      for (const maxWalk of [undefined, Number.POSITIVE_INFINITY, 0]) {
        const open = accountsSummary(db, { sinceMs: 1020 * DAY, untilMs: undefined, limit: 10, maxWalk });
        expect(open, `open, maxWalk ${maxWalk}`).toEqual(
          accountsSummary(db, { sinceMs: 1020 * DAY, untilMs: 2000 * DAY, limit: 10, maxWalk: 0 }),
        );
      }
      // Deleted aggregate rows (a day of one user, one agent group) leave the rollups consistent.
      db.exec("DELETE FROM usage_daily WHERE account_id = 'telegram:1' AND day = 1010");
      db.exec("DELETE FROM usage_daily WHERE agent_id = 'a0x' AND day >= 1020 AND day < 1025");
      check();
    });
  });
});
