import type { Job } from "bullmq";
import { Queue } from "bullmq";
import { afterEach, beforeEach, describe, expect } from "vitest";
import { DEFAULT_SETTINGS } from "../../src/limits/index.js";
import { createProviderService } from "../../src/providers/index.js";
import { createProvidersProcessor } from "../../src/worker/processors/providers.js";
import { QUEUE_NAMES } from "../../src/worker/queues.js";
import { startWorkerRuntime } from "../../src/worker/runtime.js";
import { admin, testApp } from "../api/support.js";
import { runCli } from "../support/cli.js";
import { FakeProviders } from "../support/fake-providers.js";
import { ENGINES, test, testOn } from "../support/temp-db.js";
import { obliteratePrefix, REDIS_URL, uniquePrefix, waitFor } from "../worker/support.js";
import { dumpDb, KEYS, meterCall, settingsFor } from "./support.js";

const NOW = Date.UTC(2026, 10, 20, 12, 0, 0);

let fake: FakeProviders;
beforeEach(async () => {
  fake = await new FakeProviders().start();
});
afterEach(async () => {
  await fake.stop();
});

describe.each(ENGINES)("GET /v1/providers and history (%s)", (engine) => {
  const test = testOn(engine);
  test("balances, burn, runway, drift and errors, never a key", async ({ db }) => {
    fake.data.openai.set("2026-11-19", 13.2);
    for (let i = 0; i < 4; i++) meterCall(db, "openai", 2_750_000, Date.UTC(2026, 10, 19, i));
    const providers = createProviderService({ db, settings: settingsFor(fake), enforcer: null });
    fake.overrides.set("/v1/users/me/balance", {
      status: 401,
      body: { error: { message: `Invalid key ${KEYS.moonshot}`, type: "invalid_request_error" } },
    });
    for (const id of ["openrouter", "openai", "moonshot", "deepseek", "anthropic"] as const)
      await providers.poll(id, NOW - 3_600_000);
    fake.data.openrouter.totalUsage = 26.75;
    await providers.poll("openrouter", NOW);
    const app = testApp(db, { nowMs: () => NOW, providers });
    try {
      const res = await app.inject({ method: "GET", url: "/v1/providers", headers: admin });
      expect(res.statusCode).toBe(200);
      const body = res.json() as { providers: Record<string, unknown>[] };
      const by = Object.fromEntries(body.providers.map((p) => [p.provider, p]));
      expect(by.openrouter).toMatchObject({
        currency: "USD",
        balanceMicro: 73_750_000,
        keySource: "env",
        burn: { provider: { lastHourMicro: 1_000_000, perDayMicro: 24_000_000 } },
        runway: { hours: 73.7, basis: "provider" },
        error: null,
      });
      expect(by.openai).toMatchObject({
        balanceMicro: null,
        drift: {
          day: "2026-11-19",
          providerMicro: 13_200_000,
          meteredMicro: 11_000_000,
          pct: 20,
          exceeds: true,
        },
      });
      expect(by.moonshot).toMatchObject({ error: { kind: "unauthorized", consecutiveFailures: 1 } });
      const history = await app.inject({
        method: "GET",
        url: "/v1/providers/openrouter/history?from=2026-11-01",
        headers: admin,
      });
      expect(history.statusCode).toBe(200);
      expect(history.json().snapshots).toHaveLength(2);
      const bad = await app.inject({ method: "GET", url: "/v1/providers/google/history", headers: admin });
      expect(bad.statusCode).toBe(400);
      const put = await app.inject({
        method: "PUT",
        url: "/v1/providers/deepseek/alerts",
        headers: admin,
        payload: { lowBalance: "20", lowRunwayDays: "1.5" },
      });
      expect(put.statusCode).toBe(200);
      const tiny = await app.inject({
        method: "PUT",
        url: "/v1/providers/deepseek/alerts",
        headers: admin,
        payload: { lowRunwayDays: "0.01" },
      });
      expect(tiny.statusCode).toBe(400);
      expect(tiny.json().error.message).toMatch(/under half an hour/);
      // a body that sets nothing is a mistake, not a silent success
      const before = JSON.stringify(providers.storedThresholds("deepseek"));
      for (const url of ["/v1/providers/deepseek/alerts", "/v1/providers/all/alerts"]) {
        const empty = await app.inject({ method: "PUT", url, headers: admin, payload: {} });
        expect(empty.statusCode, url).toBe(400);
        expect(empty.json().error.message).toMatch(
          /sets no threshold: give at least one of lowBalance, lowRunwayDays, spikeFactor, driftPct/,
        );
      }
      expect(JSON.stringify(providers.storedThresholds("deepseek"))).toBe(before);
      // an amount past the bounds of `providers alerts set` is a 400 naming them, not a 500
      for (const payload of [
        { lowBalance: "99999999999999999999" },
        { lowBalance: "1.1234567" },
        { lowRunwayDays: "99999999999999999999" },
        { lowRunwayDays: "1.0001" },
      ]) {
        const huge = await app.inject({
          method: "PUT",
          url: "/v1/providers/deepseek/alerts",
          headers: admin,
          payload,
        });
        expect(huge.statusCode, JSON.stringify(payload)).toBe(400);
        expect(huge.json().error.message).toMatch(/at most \d+ digits and \d decimals/);
      }
      expect(JSON.stringify(providers.storedThresholds("deepseek"))).toBe(before);
      // a reversed or empty window is a 400, not an empty history
      for (const q of ["from=2026-11-20&to=2026-11-01", "from=2026-11-05&to=2026-11-05", "from=2099-01-01"]) {
        const reversed = await app.inject({
          method: "GET",
          url: `/v1/providers/openrouter/history?${q}`,
          headers: admin,
        });
        expect(reversed.statusCode, q).toBe(400);
        expect(reversed.json().error.message, q).toMatch(
          /^from \(.*\) must be before to \(.*\); to is exclusive$/,
        );
      }
      expect(providers.thresholds("deepseek")).toMatchObject({
        lowBalanceMicro: 20_000_000,
        lowRunwayHours: 36,
      });
      const all = [res.body, history.body, put.body, dumpDb(db)].join("\n");
      for (const k of Object.values(KEYS)) expect(all).not.toContain(k);
      const noAuth = await app.inject({ method: "GET", url: "/v1/providers" });
      expect(noAuth.statusCode).toBe(401);
    } finally {
      await app.close();
    }
  });
});

describe("creditgate providers", () => {
  test("poll, list (table and --json), history, alerts set/get; no key in any output", async ({ db }) => {
    const path = db.name;
    db.close();
    const urls = fake.baseUrls();
    const env = {
      CREDITGATE_DB: path,
      CREDITGATE_LOG_LEVEL: "silent",
      CREDITGATE_OPENROUTER_KEY: KEYS.openrouter,
      CREDITGATE_OPENROUTER_BASE_URL: urls.openrouter,
      CREDITGATE_DEEPSEEK_KEY: KEYS.deepseek,
      CREDITGATE_DEEPSEEK_BASE_URL: urls.deepseek,
    };
    const poll = await runCli(env, ["providers", "poll"]);
    expect(poll.error).toBeNull();
    expect(poll.out).toMatch(/openrouter\s+ok/);
    const list = await runCli(env, ["providers"]);
    expect(list.out).toMatch(
      /provider\s+balance\s+burn\/day\s+metered\/day\s+runway\s+drift\s+last poll\s+error/,
    );
    expect(list.out).toMatch(/openrouter\s+74\.75 USD/);
    expect(list.out).toMatch(/deepseek\s+110\.00 CNY/);
    const json = await runCli(env, ["--json", "providers"]);
    expect(JSON.parse(json.out).map((v: { provider: string }) => v.provider)).toEqual([
      "openrouter",
      "deepseek",
    ]);
    fake.overrides.set("/user/balance", { status: 503, body: { error: { message: "busy" } } });
    const failed = await runCli(env, ["providers", "poll", "deepseek"]);
    expect(failed.error?.message).toMatch(/a provider poll failed/);
    expect(failed.out).toMatch(/deepseek\s+server: GET \/user\/balance: HTTP 503/);
    const listed = await runCli(env, ["providers"]);
    expect(listed.out).toMatch(/server: GET \/user\/balance: HTTP 503/);
    const set = await runCli(env, [
      "providers",
      "alerts",
      "set",
      "openrouter",
      "--low-balance",
      "80",
      "--runway-days",
      "2",
    ]);
    expect(set.error).toBeNull();
    const get = await runCli(env, ["--json", "providers", "alerts"]);
    expect(JSON.parse(get.out).find((r: { provider: string }) => r.provider === "openrouter")).toMatchObject({
      lowBalanceMicro: 80_000_000,
      lowRunwayHours: 48,
    });
    const history = await runCli(env, ["providers", "history", "openrouter"]);
    expect(history.out).toMatch(/74\.75 USD/);
    const bad = await runCli(env, ["providers", "history", "vertex"]);
    expect(bad.error?.message).toMatch(/unknown provider vertex/);
    for (const r of [poll, list, json, failed, listed, set, get, history])
      for (const k of Object.values(KEYS)) expect(r.out + r.err).not.toContain(k);
  });
});

describe("the worker's provider scheduler", () => {
  test("poll-all fans out one jittered job per provider and slot; repeats in one slot add nothing", async ({
    db,
  }) => {
    const prefix = uniquePrefix();
    const queue = new Queue(QUEUE_NAMES.providers, { connection: { url: REDIS_URL }, prefix });
    try {
      const polled: string[] = [];
      const run = createProvidersProcessor({
        providers: {
          everyMs: 900_000,
          configured: () => ["openrouter", "deepseek"],
          poll: async (id) => polled.push(id),
        },
        queue: () => queue,
        nowMs: () => NOW,
        random: () => 0.5,
      });
      expect(await run({ name: "poll-all" } as Job)).toEqual({ queued: 2, slot: Math.floor(NOW / 900_000) });
      await run({ name: "poll-all" } as Job); // a second worker, or a re-run, in the same slot
      const jobs = await queue.getJobs(["delayed", "waiting"]);
      expect(jobs.map((j) => j.id).sort()).toEqual([
        `poll-deepseek-${Math.floor(NOW / 900_000)}`,
        `poll-openrouter-${Math.floor(NOW / 900_000)}`,
      ]);
      expect(jobs.every((j) => j.opts.delay === 45_000)).toBe(true); // 0.5 × 10 % of 15 min
      await run({ name: "poll", data: { provider: "deepseek" } } as Job);
      expect(polled).toEqual(["deepseek"]);
      void db;
    } finally {
      await queue.close();
      await obliteratePrefix(prefix);
    }
  });

  test("a running worker polls every configured provider on its own and survives failures", async ({
    db,
  }) => {
    const prefix = uniquePrefix();
    fake.overrides.set("/v1/organization/costs", { status: 500, body: { error: { message: "boom" } } });
    const service = createProviderService({ db, settings: settingsFor(fake), enforcer: null });
    const runtime = startWorkerRuntime({
      db,
      redisUrl: REDIS_URL,
      prefix,
      settings: DEFAULT_SETTINGS,
      webhook: null,
      schedule: { rolloverMs: 60_000, spikeScanMs: 60_000, reconcileMs: 60_000, retentionMs: 60_000 },
      sweep: false,
      providers: {
        everyMs: 1_000,
        configured: () => service.configured(),
        poll: (id, now) => service.poll(id as never, now),
      },
    });
    try {
      await runtime.ready;
      const statuses = await waitFor(
        () =>
          db.prepare("SELECT provider, error_kind FROM provider_status ORDER BY provider").all() as {
            provider: string;
            error_kind: string | null;
          }[],
        (rows) => rows.length === 5,
        20_000,
        "every provider polled",
      );
      expect(statuses).toEqual([
        { provider: "anthropic", error_kind: null },
        { provider: "deepseek", error_kind: null },
        { provider: "moonshot", error_kind: null },
        { provider: "openai", error_kind: "server" },
        { provider: "openrouter", error_kind: null },
      ]);
    } finally {
      await runtime.close();
      await obliteratePrefix(prefix);
    }
  });
});
