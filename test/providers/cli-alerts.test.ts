/**
 * `creditgate providers alerts set` reports every problem at once and saves nothing then; the
 * thresholds table has a currency column (the low balance is in the provider's own currency).
 */
import { afterEach, beforeEach, describe, expect } from "vitest";
import { runCli } from "../support/cli.js";
import { FakeProviders } from "../support/fake-providers.js";
import { test } from "../support/temp-db.js";
import { KEYS } from "./support.js";

let fake: FakeProviders;
beforeEach(async () => {
  fake = await new FakeProviders().start();
});
afterEach(async () => {
  await fake.stop();
});

describe("creditgate providers alerts", () => {
  test("set: all bad options named in one error, nothing saved; get: a currency column", async ({ db }) => {
    const path = db.name;
    db.close();
    const env = {
      CREDITGATE_DB: path,
      CREDITGATE_LOG_LEVEL: "silent",
      CREDITGATE_DEEPSEEK_KEY: KEYS.deepseek,
      CREDITGATE_DEEPSEEK_BASE_URL: fake.baseUrls().deepseek,
    };
    const bad = await runCli(env, [
      "providers",
      "alerts",
      "set",
      "vertex",
      "--low-balance",
      "abc",
      "--runway-days",
      "-1",
      "--spike-factor",
      "1",
      "--drift-pct",
      "x",
    ]);
    const msg = bad.error?.message ?? "";
    expect(msg).toMatch(/5 problem\(s\)/);
    expect(msg).toMatch(/<provider>: unknown provider/);
    expect(msg).toMatch(/--low-balance: must be a plain decimal/);
    expect(msg).toMatch(/--runway-days: must be a plain decimal/);
    expect(msg).toMatch(/--spike-factor: must be from 2 to 1000/);
    expect(msg).toMatch(/--drift-pct: must be a whole number from 1 to 1000/);
    const two = await runCli(env, [
      "providers",
      "alerts",
      "set",
      "deepseek",
      "--low-balance",
      "1.1234567",
      "--drift-pct",
      "0",
    ]);
    expect(two.error?.message).toMatch(/2 problem\(s\)[\s\S]*--low-balance[\s\S]*--drift-pct/);
    // Runway alerts are whole hours: a positive value under half an hour is refused, not saved as 0.
    const tiny = await runCli(env, ["providers", "alerts", "set", "deepseek", "--runway-days", "0.01"]);
    expect(tiny.error?.message).toMatch(/--runway-days: is under half an hour/);
    const nothing = await runCli(env, ["providers", "alerts", "set", "deepseek"]);
    expect(nothing.error?.message).toMatch(/give at least one of --low-balance/);
    // nothing was saved by the refused runs
    const before = await runCli(env, ["--json", "providers", "alerts"]);
    expect(JSON.parse(before.out).find((r: { provider: string }) => r.provider === "deepseek")).toMatchObject(
      {
        currency: null,
        lowBalanceMicro: 5_000_000,
        driftPct: 10,
      },
    );
    expect((await runCli(env, ["providers", "poll", "deepseek"])).error).toBeNull();
    const ok = await runCli(env, [
      "providers",
      "alerts",
      "set",
      "deepseek",
      "--low-balance",
      "20",
      "--drift-pct",
      "15",
    ]);
    expect(ok.error).toBeNull();
    const table = await runCli(env, ["providers", "alerts"]);
    expect(table.out).toMatch(/provider\s+currency\s+low balance\s+runway \(h\)/);
    expect(table.out).toMatch(/deepseek\s+CNY\s+20\.00 CNY\s+72\s+4\s+15/);
    expect(table.out).toMatch(/openrouter\s+\?\s+5\.00\s/);
  });

  test("poll --force asks even while a 429's Retry-After (up to 24 h) has not passed", async ({ db }) => {
    const path = db.name;
    db.close();
    const env = {
      CREDITGATE_DB: path,
      CREDITGATE_LOG_LEVEL: "silent",
      CREDITGATE_DEEPSEEK_KEY: KEYS.deepseek,
      CREDITGATE_DEEPSEEK_BASE_URL: fake.baseUrls().deepseek,
    };
    fake.overrides.set("/user/balance", {
      status: 429,
      body: { error: { message: "slow down" } },
      headers: { "retry-after": "99999999" },
    });
    expect((await runCli(env, ["providers", "poll", "deepseek"])).out).toMatch(/retry after 86400 s/);
    fake.overrides.clear();
    const asked = fake.requests.length;
    const waiting = await runCli(env, ["providers", "poll", "deepseek"]);
    expect(waiting.out).toMatch(/waiting until/);
    expect(fake.requests.length).toBe(asked); // nothing sent while waiting
    const forced = await runCli(env, ["providers", "poll", "--force", "deepseek"]);
    expect(forced.error).toBeNull();
    expect(forced.out).toMatch(/deepseek\s+ok/);
    expect(fake.requests.length).toBe(asked + 1);
  });
});
