/**
 * Findings of a tester's pass over provider accounts (issue #13): report pagination, Retry-After
 * bounds, key redaction corner cases, OpenClaw key references.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { cutAtWord, MAX_RETRY_AFTER_MS, parseRetryAfter, summariseHtml } from "../../src/providers/http.js";
import { keyFromOpenClaw } from "../../src/providers/index.js";
import { createProviderRepo } from "../../src/providers/repo.js";
import { FakeProviders, type RecordedRequest } from "../support/fake-providers.js";
import { test } from "../support/temp-db.js";
import { serviceFor } from "./support.js";

const NOW = Date.UTC(2026, 10, 20, 12, 0, 0);
const DAY = 86_400_000;
const day = (ms: number) => new Date(ms).toISOString().slice(0, 10);
const START = Date.UTC(2026, 10, 14); // 00:00 UTC six days before NOW: the report window's start

let fake: FakeProviders;
beforeEach(async () => {
  fake = await new FakeProviders().start();
});
afterEach(async () => {
  await fake.stop();
});

/** One OpenAI cost bucket of `usd` for the UTC day starting at `ms`. */
const openaiBucket = (ms: number, usd: number) => ({
  object: "bucket",
  start_time: ms / 1000,
  end_time: ms / 1000 + 86_400,
  results: [
    {
      object: "organization.costs.result",
      amount: { value: usd, currency: "usd" },
      line_item: "gpt-5, input",
      project_id: null,
    },
  ],
});
/** One Anthropic cost bucket of `cents` for the UTC day starting at `ms`. */
const anthropicBucket = (ms: number, cents: string) => ({
  starting_at: new Date(ms).toISOString().replace(".000Z", "Z"),
  ending_at: new Date(ms + DAY).toISOString().replace(".000Z", "Z"),
  results: [{ currency: "USD", amount: cents, description: "Claude Sonnet 4.5 Usage - Input Tokens" }],
});

describe("report pagination (OpenAI costs, Anthropic cost_report)", () => {
  test("OpenAI: one bucket per page, followed through next_page with the page cursor", async ({ db }) => {
    fake.overrides.set("/v1/organization/costs", (r: RecordedRequest) => {
      const i = Number(r.query.get("page")?.slice(5) ?? 0);
      return {
        status: 200,
        body: {
          object: "page",
          data: [openaiBucket(START + i * DAY, 1)],
          has_more: i < 6,
          next_page: i < 6 ? `page_${i + 1}` : null,
        },
      };
    });
    const { service } = serviceFor(db, fake);
    expect((await service.poll("openai", NOW)).ok).toBe(true);
    const repo = createProviderRepo(db);
    for (let i = 0; i < 7; i++) expect(repo.day("openai", day(START + i * DAY))?.amountMicro).toBe(1_000_000);
  });

  test("a provider that repeats its cursor (has_more loop) is a shape error, not the same spend counted 10 times", async ({
    db,
  }) => {
    fake.overrides.set("/v1/organization/costs", {
      status: 200,
      body: { object: "page", data: [openaiBucket(START, 1)], has_more: true, next_page: "page_same" },
    });
    fake.overrides.set("/v1/organizations/cost_report", {
      status: 200,
      body: { data: [anthropicBucket(START, "100")], has_more: true, next_page: "page_same" },
    });
    const { service } = serviceFor(db, fake);
    const repo = createProviderRepo(db);
    for (const p of ["openai", "anthropic"] as const) {
      const r = await service.poll(p, NOW);
      expect(r.error?.kind, p).toBe("shape");
      expect(r.error?.message, p).toMatch(/repeated a page cursor/);
      expect(repo.day(p, day(START)), p).toBeNull();
    }
  });

  test("still has_more after the page limit: refused, never a partial (under-reported) week", async ({
    db,
  }) => {
    let n = 0;
    fake.overrides.set("/v1/organizations/cost_report", () => ({
      status: 200,
      body: { data: [anthropicBucket(START, "100")], has_more: true, next_page: `page_${n++}` },
    }));
    const { service } = serviceFor(db, fake);
    const r = await service.poll("anthropic", NOW);
    expect(r.error?.kind).toBe("shape");
    expect(r.error?.message).toMatch(/still has_more after \d+ pages/);
    expect(createProviderRepo(db).last("anthropic")).toBeNull();
  });
});

describe("error texts", () => {
  it("are cut at a word boundary with an ellipsis, never inside a word (a single long word is cut inside it)", () => {
    expect(cutAtWord("short enough", 200)).toBe("short enough");
    expect(cutAtWord("alpha beta gamma delta", 14)).toBe("alpha beta…");
    expect(cutAtWord("alpha beta, gamma", 14)).toBe("alpha beta…"); // no dangling comma
    expect(cutAtWord("x".repeat(30), 10)).toBe(`${"x".repeat(9)}…`);
    expect(cutAtWord("ab 😀😀😀😀😀😀😀😀😀", 8)).toBe("ab 😀😀😀😀…"); // code points, no half surrogate
    expect(Array.from(cutAtWord("word ".repeat(100), 200)).length).toBeLessThanOrEqual(200);
  });

  it("an HTML page is summarised by its title, or as an HTML error page", () => {
    expect(summariseHtml("<!doctype html><html><head><title>\n  503 Service\n Unavailable </title>")).toBe(
      'HTML error page "503 Service Unavailable"',
    );
    expect(summariseHtml("  <HTML><body><h1>Bad gateway</h1></body></HTML>")).toBe("HTML error page");
    expect(summariseHtml(`<html><title>${"Cloudflare ".repeat(20)}</title>`)).toMatch(
      /^HTML error page "(Cloudflare ){6}Cloudflare…"$/,
    );
    expect(summariseHtml("upstream connect error or disconnect/reset before headers")).toBeNull();
    expect(summariseHtml('{"error":"<html>"}')).toBeNull();
  });
});

describe("Retry-After", () => {
  test("seconds and HTTP dates; capped at 24 h; a value in neither form is ignored", () => {
    const now = Date.parse("2026-11-20T12:00:00Z");
    expect(parseRetryAfter("42", now)).toBe(42_000);
    expect(parseRetryAfter("Fri, 20 Nov 2026 12:01:00 GMT", now)).toBe(60_000);
    expect(parseRetryAfter("Fri, 20 Nov 2026 11:00:00 GMT", now)).toBe(0);
    expect(parseRetryAfter("99999999999", now)).toBe(MAX_RETRY_AFTER_MS);
    expect(parseRetryAfter("Sat, 01 Jan 3000 00:00:00 GMT", now)).toBe(MAX_RETRY_AFTER_MS);
    for (const bad of ["1.5", "-5", "soon", ""]) expect(parseRetryAfter(bad, now), bad).toBeNull();
  });

  test("an absurd Retry-After does not stop the provider's polls for good", async ({ db }) => {
    fake.overrides.set("/user/balance", {
      status: 429,
      body: { error: { message: "slow down", type: "rate_limit_exceeded" } },
      headers: { "retry-after": "99999999999" },
    });
    const { service } = serviceFor(db, fake);
    expect((await service.poll("deepseek", NOW)).error?.kind).toBe("rate_limited");
    fake.overrides.clear();
    expect((await service.poll("deepseek", NOW + 3_600_000)).error?.message).toMatch(/waiting until/);
    expect((await service.poll("deepseek", NOW + DAY)).ok).toBe(true);
  });
});

describe("no part of a key is kept", () => {
  /** Every 8-character piece of `key` (what counts as showing part of it). */
  const pieces = (key: string) => Array.from({ length: key.length - 7 }, (_, i) => key.slice(i, i + 8));

  test("a key straddling the message's length limit in a non-JSON body, and a key echoed without its prefix", async ({
    db,
  }) => {
    const plainKey = "dsk_live_0123456789ABCDEFGHIJKLMNOP"; // not sk-shaped: only the key itself can match
    const { service, lines } = serviceFor(db, fake);
    const s = serviceFor(db, fake, {
      keys: {
        ...(await import("./support.js")).settingsFor(fake).keys,
        deepseek: { value: plainKey, file: null, baseUrl: fake.baseUrls().deepseek },
      },
    });
    fake.overrides.set("/user/balance", {
      status: 401,
      body: null,
      raw: `${"x".repeat(110)} ${plainKey} is not a valid key`,
    });
    fake.overrides.set("/api/v1/key", {
      status: 401,
      body: { error: { code: 401, message: "key SECRETopenrouter0123456789abcdef was revoked" } },
    });
    const d = await s.service.poll("deepseek", NOW);
    const o = await service.poll("openrouter", NOW);
    expect(d.error?.kind).toBe("unauthorized");
    expect(o.error?.message).toMatch(/key \[redacted\] was revoked/);
    const everything = [
      d.error?.message,
      o.error?.message,
      lines.join("\n"),
      s.lines.join("\n"),
      JSON.stringify(service.overview(NOW)),
    ].join("\n");
    // (the test key spells "openrouter", which the overview names: only its secret-looking part is checked)
    for (const p of [...pieces(plainKey), ...pieces("SECRETopen"), ...pieces("0123456789abcdef")])
      expect(everything).not.toContain(p);
  });

  test("OpenRouter: a key label that is the key (masked or whole) is not stored; a named label is", async ({
    db,
  }) => {
    const { KEYS } = await import("./support.js");
    const { service } = serviceFor(db, fake);
    const key = fake.overrides;
    const answer = (label: string) => ({
      status: 200,
      body: { data: { label, limit: null, limit_remaining: null, usage: 1, usage_daily: 0.5 } },
    });
    key.set("/api/v1/key", answer(KEYS.openrouter));
    await service.poll("openrouter", NOW);
    const repo = createProviderRepo(db);
    expect(repo.last("openrouter")?.detail.keyLabel).toBe("[redacted]");
    key.set("/api/v1/key", answer("sk-or-v1-au7...890"));
    await service.poll("openrouter", NOW + 1000);
    expect(repo.last("openrouter")?.detail.keyLabel).toBe("sk-[redacted]");
    key.set("/api/v1/key", answer("Production bots"));
    await service.poll("openrouter", NOW + 2000);
    expect(repo.last("openrouter")?.detail.keyLabel).toBe("Production bots");
  });
});

describe("OpenClaw auth profiles with odd content", () => {
  test("env references, whitespace inside, non-strings are skipped; a BOM and an upper-case provider are read", () => {
    const dir = mkdtempSync(join(tmpdir(), "cg-x13-keys-"));
    try {
      const agentDir = join(dir, "agents", "main", "agent");
      mkdirSync(agentDir, { recursive: true });
      const profiles = {
        "openrouter:default": { type: "api_key", provider: "openrouter", key: "$" + "{OPENROUTER_API_KEY}" },
        "openrouter:env": { type: "api_key", provider: "openrouter", key: "$OPENROUTER_API_KEY" },
        "openrouter:two-lines": { type: "api_key", provider: "openrouter", key: "sk-or-v1-a\n# old key" },
        "openrouter:number": { type: "api_key", provider: "openrouter", key: 12345 },
        "openrouter:ref": { type: "api_key", provider: "openrouter", keyRef: { source: "env", id: "X" } },
        "openrouter:work": { type: "api_key", provider: "openrouter", key: "sk-or-v1-work" },
        "deepseek:default": { type: "api_key", provider: "DeepSeek", key: "sk-deepseek-1" },
      };
      writeFileSync(
        join(agentDir, "auth-profiles.json"),
        `\uFEFF${JSON.stringify({ version: 1, profiles })}`,
      );
      expect(keyFromOpenClaw("openrouter", [dir])).toEqual({
        key: "sk-or-v1-work",
        source: "openclaw:main/openrouter:work",
      });
      expect(keyFromOpenClaw("deepseek", [dir])?.key).toBe("sk-deepseek-1");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("drift on the first poll", () => {
  test("the week of history in the first report, with nothing metered, raises no drift alerts; later days do", async ({
    db,
  }) => {
    for (let i = 0; i < 7; i++) fake.data.anthropic.set(day(START + i * DAY), "500"); // $5 a day
    const { service } = serviceFor(db, fake);
    const first = await service.poll("anthropic", NOW);
    expect(first.ok).toBe(true);
    expect(first.alertsRaised).toBe(0); // was 6: one per day before creditgate was installed
    expect(service.view("anthropic", NOW).drift?.exceeds).toBe(false);
    // the day of the first poll is watched: $5 billed, nothing metered → drift once it settles
    const later = NOW + DAY + 7 * 3_600_000;
    fake.data.anthropic.set(day(later), "0");
    const r = await service.poll("anthropic", later);
    expect(r.alertsRaised).toBe(1);
    expect(service.view("anthropic", later).drift).toMatchObject({ day: day(NOW), exceeds: true });
  });
});

describe("OpenRouter /credits refused with 401", () => {
  test("after /key accepted the key, a 401 on /credits falls back to the key's figures like a 403", async ({
    db,
  }) => {
    fake.overrides.set("/api/v1/credits", {
      status: 401,
      body: { error: { code: 401, message: "Management key required" } },
    });
    fake.data.openrouter.limit = 50;
    fake.data.openrouter.limitRemaining = 24.25;
    const { service } = serviceFor(db, fake);
    expect((await service.poll("openrouter", NOW)).ok).toBe(true);
    const s = createProviderRepo(db).last("openrouter");
    expect(s?.balanceMicro).toBe(24_250_000);
    expect(s?.detail.balanceSource).toBe("key_limit_remaining");
    // a bad key is still unauthorized: /key refuses it first
    fake.overrides.set("/api/v1/key", { status: 401, body: { error: { code: 401, message: "No auth" } } });
    expect((await service.poll("openrouter", NOW + 1000)).error?.kind).toBe("unauthorized");
  });
});

describe("DeepSeek without any balance entry", () => {
  test("an empty balance_infos is an unknown balance, not 0 (no low-balance alert, no 'ran out' runway)", async ({
    db,
  }) => {
    fake.overrides.set("/user/balance", { status: 200, body: { is_available: false, balance_infos: [] } });
    const { service } = serviceFor(db, fake);
    const r = await service.poll("deepseek", NOW);
    expect(r).toMatchObject({ ok: true, alertsRaised: 0 });
    const v = service.view("deepseek", NOW);
    expect(v.balanceMicro).toBeNull();
    expect(v.runway.hours).toBeNull();
  });
});

describe("absurd amounts", () => {
  const balance = (total: string) => ({
    status: 200,
    body: {
      is_available: true,
      balance_infos: [
        { currency: "USD", total_balance: total, granted_balance: "0.00", topped_up_balance: total },
      ],
    },
  });

  test("a figure beyond a billion units is a shape error and nothing is stored", async ({ db }) => {
    fake.overrides.set("/user/balance", balance("9000000000.00"));
    const { service } = serviceFor(db, fake);
    const r = await service.poll("deepseek", NOW);
    expect(r.error?.kind).toBe("shape");
    expect(r.error?.message).toMatch(/implausible amount .*nothing stored: balance/);
    expect(createProviderRepo(db).last("deepseek")).toBeNull();
  });

  test("balance swings whose 7-day spend passes 2^53 micro still leave every view readable", async ({
    db,
  }) => {
    const { service } = serviceFor(db, fake);
    // ten drops of ~a billion USD within a day: the sum is past Number.MAX_SAFE_INTEGER micro
    for (let i = 0; i < 20; i++) {
      fake.overrides.set("/user/balance", balance(i % 2 === 0 ? "999999999.00" : "0.00"));
      expect((await service.poll("deepseek", NOW + i * 600_000)).ok).toBe(true);
    }
    const at = NOW + 20 * 600_000;
    expect(() => service.overview(at)).not.toThrow();
    expect(service.view("deepseek", at).burn.provider.last24hMicro).toBe(Number.MAX_SAFE_INTEGER);
    expect(() => service.history("deepseek", { fromMs: 0, toMs: at + 1, limit: 50 })).not.toThrow();
  });
});

describe("OpenRouter counter scope", () => {
  test("swapping an inference key for a management key is not spend: the account counter restarts the series", async ({
    db,
  }) => {
    // inference key: /credits refused, the key's own usage counter (2.00) and limit_remaining
    fake.overrides.set("/api/v1/credits", { status: 403, body: { error: { code: 403, message: "no" } } });
    fake.data.openrouter.keyUsage = 2;
    fake.data.openrouter.limit = 50;
    fake.data.openrouter.limitRemaining = 48;
    fake.data.openrouter.usageDaily = 1;
    const { service } = serviceFor(db, fake);
    expect((await service.poll("openrouter", NOW)).ok).toBe(true);
    // management key: the account's counter (900.00 over every key), today's key spend +0.50
    fake.overrides.delete("/api/v1/credits");
    fake.data.openrouter.totalCredits = 1000;
    fake.data.openrouter.totalUsage = 900;
    fake.data.openrouter.usageDaily = 1.5;
    expect((await service.poll("openrouter", NOW + 3_600_000)).ok).toBe(true);
    expect(createProviderRepo(db).last("openrouter")?.spendSinceLastMicro).toBe(500_000);
    // and the account counter's growth counts again from there
    fake.data.openrouter.totalUsage = 901.25;
    expect((await service.poll("openrouter", NOW + 7_200_000)).ok).toBe(true);
    expect(createProviderRepo(db).last("openrouter")?.spendSinceLastMicro).toBe(1_250_000);
    expect(service.view("openrouter", NOW + 7_200_000).burn.provider.last24hMicro).toBe(1_750_000);
  });
});
