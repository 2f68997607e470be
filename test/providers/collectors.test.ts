import { afterEach, beforeEach, describe, expect } from "vitest";
import { PROVIDER_IDS, type ProviderId } from "../../src/providers/index.js";
import { createProviderRepo } from "../../src/providers/repo.js";
import { errorBody, FakeProviders } from "../support/fake-providers.js";
import { test } from "../support/temp-db.js";
import { dumpDb, KEYS, serviceFor } from "./support.js";

const NOW = Date.UTC(2026, 10, 20, 12, 0, 0);
const DAY = 86_400_000;
const day = (ms: number) => new Date(ms).toISOString().slice(0, 10);

let fake: FakeProviders;
beforeEach(async () => {
  fake = await new FakeProviders().start();
});
afterEach(async () => {
  await fake.stop();
});

/** The path a provider's first (required) request goes to. */
const FIRST_PATH: Record<ProviderId, string> = {
  openrouter: "/api/v1/key",
  openai: "/v1/organization/costs",
  anthropic: "/v1/organizations/cost_report",
  moonshot: "/v1/users/me/balance",
  deepseek: "/user/balance",
};

describe("collectors: happy paths against real-shaped fakes", () => {
  test("OpenRouter: balance = credits − usage, usage counter, today's key spend; exact micro-USD", async ({
    db,
  }) => {
    const { service } = serviceFor(db, fake);
    const r = await service.poll("openrouter", NOW);
    expect(r).toEqual({ provider: "openrouter", ok: true, error: null, alertsRaised: 0 });
    const repo = createProviderRepo(db);
    const s = repo.last("openrouter");
    expect(s).toMatchObject({
      currency: "USD",
      balanceMicro: 74_750_000,
      spentTotalMicro: 25_750_000,
      spendSinceLastMicro: null,
    });
    expect(repo.day("openrouter", day(NOW))).toEqual({ amountMicro: 1_250_000, currency: "USD" });
    const auth = fake.requests.map((q) => q.authorization);
    expect(auth.every((a) => a === `Bearer ${KEYS.openrouter}`)).toBe(true);
    // next poll: the counter grew by 0.1 USD
    fake.data.openrouter.totalUsage = 25.85;
    await service.poll("openrouter", NOW + 900_000);
    expect(repo.last("openrouter")?.spendSinceLastMicro).toBe(100_000);
  });

  test("OpenRouter: a 403 on /credits (inference key) falls back to the key's limit_remaining", async ({
    db,
  }) => {
    fake.overrides.set("/api/v1/credits", {
      status: 403,
      body: errorBody("openrouter", 403, "Only management keys can fetch credits"),
    });
    fake.data.openrouter.limit = 50;
    fake.data.openrouter.limitRemaining = 24.25;
    const { service } = serviceFor(db, fake);
    expect((await service.poll("openrouter", NOW)).ok).toBe(true);
    const s = createProviderRepo(db).last("openrouter");
    expect(s?.balanceMicro).toBe(24_250_000);
    expect(s?.detail.balanceSource).toBe("key_limit_remaining");
  });

  test("OpenAI: costs per day (7-day window, admin key), no balance, token counts in detail", async ({
    db,
  }) => {
    fake.data.openai.set(day(NOW - DAY), 12.34);
    fake.data.openai.set(day(NOW), 0.06);
    const { service } = serviceFor(db, fake);
    expect((await service.poll("openai", NOW)).ok).toBe(true);
    const repo = createProviderRepo(db);
    expect(repo.last("openai")).toMatchObject({ currency: "USD", balanceMicro: null });
    expect(repo.day("openai", day(NOW - DAY))?.amountMicro).toBe(12_340_000);
    expect(repo.day("openai", day(NOW))?.amountMicro).toBe(60_000);
    const costs = fake.requests.find((q) => q.path === "/v1/organization/costs");
    expect(costs?.query.get("bucket_width")).toBe("1d");
    expect(Number(costs?.query.get("start_time"))).toBe((Math.floor(NOW / DAY) - 6) * 86400);
    expect(costs?.authorization).toBe(`Bearer ${KEYS.openai}`);
    expect(repo.last("openai")?.detail.tokensByDay).toMatchObject({
      [day((Math.floor(NOW / DAY) - 6) * DAY)]: { input: 1000, output: 500 },
    });
    // spend since last = growth of the reported days
    fake.data.openai.set(day(NOW), 0.5);
    await service.poll("openai", NOW + 900_000);
    expect(repo.last("openai")?.spendSinceLastMicro).toBe(440_000);
  });

  test("Anthropic: a cost bucket starting after now is ignored, not stored as spend", async ({ db }) => {
    const today = Math.floor(NOW / DAY) * DAY;
    const bucket = (start: number, cents: string) => ({
      starting_at: new Date(start).toISOString().replace(".000Z", "Z"),
      ending_at: new Date(start + DAY).toISOString().replace(".000Z", "Z"),
      results: [{ currency: "USD", amount: cents, description: "Claude Sonnet 4.5 Usage - Input Tokens" }],
    });
    fake.overrides.set("/v1/organizations/cost_report", {
      status: 200,
      body: {
        data: [bucket(today - DAY, "100"), bucket(today, "50"), bucket(today + DAY, "999")],
        has_more: false,
        next_page: null,
      },
    });
    const { service } = serviceFor(db, fake);
    expect((await service.poll("anthropic", NOW)).ok).toBe(true);
    const repo = createProviderRepo(db);
    expect(repo.day("anthropic", day(today))?.amountMicro).toBe(500_000);
    expect(repo.day("anthropic", day(today + DAY))).toBeFalsy();
    expect(repo.last("anthropic")?.detail).toMatchObject({ futureBucketsIgnored: 1 });
    // once that day has come, its bucket counts
    expect((await service.poll("anthropic", today + DAY + 3_600_000)).ok).toBe(true);
    expect(repo.day("anthropic", day(today + DAY))?.amountMicro).toBe(9_990_000);
  });

  test("Anthropic: cost report cents (decimal strings) → exact micro-USD, x-api-key and anthropic-version", async ({
    db,
  }) => {
    fake.data.anthropic.set(day(NOW - DAY), "123.4567"); // $1.234567
    const { service } = serviceFor(db, fake);
    expect((await service.poll("anthropic", NOW)).ok).toBe(true);
    expect(createProviderRepo(db).day("anthropic", day(NOW - DAY))?.amountMicro).toBe(1_234_567);
    const q = fake.requests.find((x) => x.path === "/v1/organizations/cost_report");
    expect(q?.apiKeyHeader).toBe(KEYS.anthropic);
    expect(q?.anthropicVersion).toBe("2023-06-01");
    expect(q?.query.get("bucket_width")).toBe("1d");
    expect(q?.authorization).toBeUndefined();
  });

  test("Moonshot: available balance (voucher + cash), spend derived from balance decreases, top-ups noted", async ({
    db,
  }) => {
    const { service } = serviceFor(db, fake);
    await service.poll("moonshot", NOW);
    const repo = createProviderRepo(db);
    expect(repo.last("moonshot")).toMatchObject({ currency: "USD", balanceMicro: 49_588_940 });
    expect(repo.last("moonshot")?.detail).toMatchObject({ voucherMicro: "46588930", cashMicro: "3000010" });
    fake.data.moonshot.available = 48.58894;
    await service.poll("moonshot", NOW + 900_000);
    expect(repo.last("moonshot")?.spendSinceLastMicro).toBe(1_000_000);
    expect(repo.day("moonshot", day(NOW))?.amountMicro).toBe(1_000_000);
    fake.data.moonshot.available = 100;
    await service.poll("moonshot", NOW + 1_800_000);
    expect(repo.last("moonshot")?.spendSinceLastMicro).toBeNull();
    expect(repo.last("moonshot")?.detail.topUpMicro).toBe("51411060");
  });

  test("Moonshot on api.moonshot.cn reports CNY; a negative cash balance is kept exactly", async ({ db }) => {
    fake.data.moonshot = { available: 2.5, voucher: 2.5, cash: -0.1234567 };
    // the currency follows the host: point a .cn base URL at the fake through a custom fetch
    const { createProviderService } = await import("../../src/providers/index.js");
    const { settingsFor } = await import("./support.js");
    const settings = settingsFor(fake);
    settings.keys.moonshot.baseUrl = "https://api.moonshot.cn/v1";
    const service = createProviderService({
      db,
      settings,
      fetch: (input, init) => fetch(String(input).replace("https://api.moonshot.cn", fake.url), init),
    });
    expect((await service.poll("moonshot", NOW)).ok).toBe(true);
    const s = createProviderRepo(db).last("moonshot");
    expect(s?.currency).toBe("CNY");
    expect(s?.detail.cashMicro).toBe("-123457");
  });

  test("DeepSeek: balance_infos per currency, decimal strings parsed exactly; USD preferred", async ({
    db,
  }) => {
    const { service } = serviceFor(db, fake);
    await service.poll("deepseek", NOW);
    const repo = createProviderRepo(db);
    expect(repo.last("deepseek")).toMatchObject({ currency: "CNY", balanceMicro: 110_000_000 });
    fake.data.deepseek = [
      { currency: "CNY", total_balance: "110.00", granted_balance: "10.00", topped_up_balance: "100.00" },
      {
        currency: "USD",
        total_balance: "7.1234567",
        granted_balance: "0.00",
        topped_up_balance: "7.1234567",
      },
    ];
    await service.poll("deepseek", NOW + 1);
    expect(repo.last("deepseek")).toMatchObject({ currency: "USD", balanceMicro: 7_123_457 });
  });
});

describe("collectors: every error class is recorded per collector, redacted, and retried at the next poll", () => {
  const cases: {
    name: string;
    answer: (p: ProviderId) => {
      status: number;
      body: unknown;
      headers?: Record<string, string>;
      delayMs?: number;
      raw?: string;
    };
    kind: string;
    message: RegExp;
  }[] = [
    {
      name: "401 bad key (the provider echoes part of the key)",
      answer: (p) => ({ status: 401, body: errorBody(p, 401, `Incorrect API key provided: ${KEYS[p]}`) }),
      kind: "unauthorized",
      message: /HTTP 401 \(the key was refused/,
    },
    {
      name: "403 not an admin key",
      answer: (p) => ({ status: 403, body: errorBody(p, 403, "This key does not have access to billing") }),
      kind: "forbidden",
      message: /HTTP 403 \(the key may not read billing data\): This key does not have access to billing/,
    },
    {
      name: "429 with Retry-After",
      answer: (p) => ({
        status: 429,
        body: errorBody(p, 429, "Rate limit reached"),
        headers: { "retry-after": "42" },
      }),
      kind: "rate_limited",
      message: /HTTP 429 \(rate limited\).*retry after 42 s/,
    },
    {
      name: "5xx",
      answer: (p) => ({ status: 503, body: errorBody(p, 503, "The server is overloaded") }),
      kind: "server",
      message: /HTTP 503 \(provider error\): The server is overloaded/,
    },
    {
      name: "timeout",
      answer: () => ({ status: 200, body: {}, delayMs: 5_000 }),
      kind: "timeout",
      message: /no answer within 300 ms/,
    },
    {
      name: "changed response shape",
      answer: () => ({
        status: 200,
        body: { data: { balance: "a lot" }, balance_infos: "none", results: 1 },
      }),
      kind: "shape",
      message: /unexpected response shape \(the provider may have changed its API\)/,
    },
    {
      name: "a long error message (cut at a word boundary, with an ellipsis)",
      answer: (p) => ({
        status: 400,
        body: errorBody(
          p,
          400,
          Array.from({ length: 60 }, (_, i) => `word${String(i).padStart(2, "0")}`).join(" "),
        ),
      }),
      kind: "http",
      // 200 characters at most for the provider's part: 28 whole words and "…", never "wor…"
      message: /HTTP 400 \(unexpected status\): word00 (word\d\d ){26}word27…$/,
    },
    {
      name: "an HTML error page from a proxy (status and title, not the markup)",
      answer: () => ({
        status: 502,
        body: null,
        raw: `<!DOCTYPE html>\n<html><head><meta charset="utf-8"><title>502 Bad Gateway &amp; co</title><style>${"x".repeat(4000)}</style></head><body><h1>502</h1></body></html>`,
      }),
      kind: "server",
      message: /HTTP 502 \(provider error\): HTML error page "502 Bad Gateway & co"$/,
    },
    {
      name: "not JSON",
      answer: () => ({ status: 200, body: null, raw: "<html>maintenance</html>" }),
      kind: "shape",
      message: /not JSON/,
    },
  ];

  for (const c of cases) {
    test(`${c.name}: every collector`, async ({ db }) => {
      const { service, lines } = serviceFor(db, fake, { timeoutMs: 300 });
      for (const p of PROVIDER_IDS) fake.overrides.set(FIRST_PATH[p], c.answer(p));
      const repo = createProviderRepo(db);
      for (const p of PROVIDER_IDS) {
        const r = await service.poll(p, NOW);
        expect(r.ok, p).toBe(false);
        expect(r.error?.kind, p).toBe(c.kind);
        expect(r.error?.message, p).toMatch(c.message);
        const st = repo.status(p);
        expect(st?.errorKind).toBe(c.kind);
        expect(st?.consecutiveFailures).toBe(1);
        expect(st?.keySource).toBe("env");
        if (c.kind === "rate_limited") expect(st?.retryAfterMs).toBe(42_000);
        expect(repo.last(p)).toBeNull();
      }
      // never a key in the log, the database or the overview
      const everything = [lines.join("\n"), dumpDb(db), JSON.stringify(service.overview(NOW))].join("\n");
      for (const k of Object.values(KEYS)) expect(everything).not.toContain(k);
      // retried at the next poll: the provider recovered
      fake.overrides.clear();
      for (const p of PROVIDER_IDS) {
        expect((await service.poll(p, NOW + 900_000)).ok, p).toBe(true);
        expect(repo.status(p)).toMatchObject({ errorKind: null, consecutiveFailures: 0 });
      }
    });
  }

  test("a Retry-After longer than the poll interval is waited out: nothing is sent until it passes", async ({
    db,
  }) => {
    const { service } = serviceFor(db, fake);
    fake.overrides.set("/user/balance", {
      status: 429,
      body: errorBody("deepseek", 429, "slow down"),
      headers: { "retry-after": "3600" },
    });
    expect((await service.poll("deepseek", NOW)).error?.kind).toBe("rate_limited");
    fake.overrides.clear();
    const sent = fake.requests.length;
    const skipped = await service.poll("deepseek", NOW + 900_000);
    expect(skipped.error?.message).toMatch(/waiting until .* \(Retry-After\)/);
    expect(fake.requests.length).toBe(sent);
    expect((await service.poll("deepseek", NOW + 3_600_000)).ok).toBe(true);
  });

  test("network: nothing listening on the port", async ({ db }) => {
    const { service } = serviceFor(db, fake);
    await fake.stop();
    for (const p of PROVIDER_IDS) {
      const r = await service.poll(p, NOW);
      expect(r.error?.kind, p).toBe("network");
      expect(r.error?.message).toMatch(/ECONNREFUSED/);
    }
    fake = await new FakeProviders().start(); // afterEach stops it
  });

  test("no key configured: recorded as no_key with the kind of key needed, nothing sent", async ({ db }) => {
    const { service } = serviceFor(db, fake);
    const { settingsFor } = await import("./support.js");
    const { createProviderService } = await import("../../src/providers/index.js");
    const s = settingsFor(fake);
    s.keys.openai = { value: null, file: null, baseUrl: null };
    const svc = createProviderService({ db, settings: s });
    const r = await svc.poll("openai", NOW);
    expect(r.error).toEqual({ kind: "no_key", message: expect.stringMatching(/admin key/) });
    expect(fake.requests).toHaveLength(0);
    expect(service.overview(NOW).map((v) => v.provider)).toContain("openai");
  });
});
