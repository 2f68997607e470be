/**
 * Exchange rates for non-USD provider accounts (DeepSeek reports CNY): `CREDITGATE_FX_RATES`
 * parsing (every problem at once), rule 6 of src/money.ts (half-up, once), and drift / USD
 * equivalents / runway with and without a rate ("n/a (no CNY rate)" instead of a wrong number).
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config/index.js";
import { fxFromUsdMicro, fxToUsdMicro } from "../../src/money.js";
import { createProviderService, providersSettingsFromConfig } from "../../src/providers/index.js";
import { createProviderRepo } from "../../src/providers/repo.js";
import { runCli } from "../support/cli.js";
import { FakeProviders } from "../support/fake-providers.js";
import { test } from "../support/temp-db.js";
import { KEYS, meterCall, serviceFor, settingsFor } from "./support.js";

const DAY = 86_400_000;
const NOW = Date.UTC(2026, 10, 20, 12, 0, 0);
const CNY = { CNY: 138_900_000n }; // 0.1389 USD per CNY, in nano-USD

let fake: FakeProviders;
beforeEach(async () => {
  fake = await new FakeProviders().start();
});
afterEach(async () => {
  await fake.stop();
});

describe("CREDITGATE_FX_RATES", () => {
  it.each([
    ["CNY=0.1389", { CNY: "0.1389" }],
    ["CNY=0.1389,EUR=1.08", { CNY: "0.1389", EUR: "1.08" }],
    [" cny = 0.1389 , EUR=1 ", { CNY: "0.1389", EUR: "1" }],
    ["JPY=0.006712345", { JPY: "0.006712345" }],
  ])("%j parses to %j", (text, rates) => {
    expect(loadConfig({ CREDITGATE_FX_RATES: text }).providers.fxRates).toEqual(rates);
  });

  it("unset: no rates", () => {
    expect(loadConfig({}).providers.fxRates).toEqual({});
  });

  it.each([
    ["CNY", [/entry 1 "CNY": must be CODE=rate/]],
    ["CNY=abc", [/entry 1 CNY: "abc" must be a plain decimal/]],
    ["CNY=0", [/entry 1 CNY: the rate must be greater than 0/]],
    ["CNY=-1", [/entry 1 CNY: "-1" must be a plain decimal/]],
    ["CNY=0.0000000001", [/at most 9 decimals/]],
    ["USD=1", [/USD needs no rate/]],
    ["CNY=0.1,CNY=0.2", [/entry 2: CNY is given twice/]],
    // a duplicate of a bad entry is named in the same run, not only after the first is fixed
    ["CNY=abc,cny=0.1", [/entry 1 CNY: "abc"/, /entry 2: CNY is given twice/]],
    // every problem at once, each with its entry
    [
      "CNY=x,EURO=1,GBP=0,,USD=1",
      [
        /entry 1 CNY: "x"/,
        /entry 2 "EURO=1"/,
        /entry 3 GBP: the rate must be greater than 0/,
        /entry 4 ""/,
        /entry 5: USD/,
      ],
    ],
  ])("%j is refused naming every problem", (text, problems) => {
    let message = "";
    try {
      loadConfig({ CREDITGATE_FX_RATES: text, CREDITGATE_PROVIDER_DRIFT_PCT: "0" });
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message).toMatch(/CREDITGATE_FX_RATES/);
    for (const p of problems) expect(message).toMatch(p);
    // other variables' problems are reported in the same error
    expect(message).toMatch(/CREDITGATE_PROVIDER_DRIFT_PCT/);
  });

  it("becomes nano-USD per unit in the providers' settings", () => {
    const s = providersSettingsFromConfig(loadConfig({ CREDITGATE_FX_RATES: "CNY=0.1389,EUR=1.08" }));
    expect(s.fxRates).toEqual({ CNY: 138_900_000n, EUR: 1_080_000_000n });
  });
});

describe("rule 6: conversion, half-up once", () => {
  it.each([
    // micro-units of the currency, nano-USD per unit, micro-USD
    [1_000_000n, 138_900_000n, 138_900n], // 1 CNY = 0.1389 USD
    [110_000_000n, 138_900_000n, 15_279_000n],
    [1n, 138_900_000n, 0n], // 0.1389 µUSD → 0
    [4n, 138_900_000n, 1n], // 0.5556 → 1
    [36n, 138_888_889n, 5n], // 5.000000004 → 5
    [-4n, 138_900_000n, -1n], // away from zero
    [1_000_000n, 1_080_000_000n, 1_080_000n], // 1 EUR
    [0n, 138_900_000n, 0n],
  ])("%s µ at %s n$/unit = %s µ$", (micro, rate, usd) => {
    expect(fxToUsdMicro(micro, rate)).toBe(usd);
  });

  it.each([
    [138_900n, 138_900_000n, 1_000_000n],
    [1_000_000n, 138_900_000n, 7_199_424n], // 1 USD = 7.199424 CNY (7.1994240…)
    [1n, 138_900_000n, 7n], // 7.199 → 7
    [-1n, 138_900_000n, -7n],
  ])("%s µ$ at %s n$/unit = %s µ of the currency", (usd, rate, micro) => {
    expect(fxFromUsdMicro(usd, rate)).toBe(micro);
  });

  it("refuses a rate of 0", () => {
    expect(() => fxToUsdMicro(1n, 0n)).toThrow(RangeError);
    expect(() => fxFromUsdMicro(1n, 0n)).toThrow(RangeError);
  });
});

/** DeepSeek (CNY) spends 10 CNY on 2026-11-19 (110 → 100); creditgate metered 1.20 USD of deepseek calls that day. */
async function deepseekDay(
  service: ReturnType<typeof createProviderService>,
  db: Parameters<typeof meterCall>[0],
) {
  const d19 = Date.UTC(2026, 10, 19);
  await service.poll("deepseek", d19 + 3_600_000);
  fake.data.deepseek[0] = {
    ...fake.data.deepseek[0],
    total_balance: "100.00",
  } as (typeof fake.data.deepseek)[0];
  await service.poll("deepseek", d19 + 23 * 3_600_000);
  for (let i = 0; i < 4; i++) meterCall(db, "deepseek", 300_000, d19 + (2 + i) * 3_600_000);
  await service.poll("deepseek", NOW);
}

describe("drift and USD equivalents of a CNY account", () => {
  test("no rate: drift is not computed (fx says why), no drift alert", async ({ db }) => {
    const { service } = serviceFor(db, fake, {
      alerts: { ...settingsFor(fake).alerts, driftMinMicro: 10_000 },
    });
    await deepseekDay(service, db);
    const v = service.view("deepseek", NOW);
    expect(v.currency).toBe("CNY");
    expect(v.drift).toBeNull();
    expect(v.fx).toEqual({ currency: "CNY", usdPerUnit: null });
    expect(v.usd).toBeNull();
    const h = service.history("deepseek", { fromMs: NOW - 7 * DAY, toMs: NOW + 1, limit: 50 });
    expect(h.days).toEqual([
      expect.objectContaining({
        day: "2026-11-19",
        currency: "CNY",
        providerMicro: 10_000_000,
        providerUsdMicro: null,
        drift: null,
      }),
    ]);
    const kinds = db.prepare("SELECT kind FROM alerts").all() as { kind: string }[];
    expect(kinds.map((k) => k.kind)).not.toContain("provider_drift");
  });

  test("with CNY=0.1389: drift in USD, the balance and burn in USD too, a drift alert with both currencies", async ({
    db,
  }) => {
    const { service } = serviceFor(db, fake, {
      fxRates: CNY,
      alerts: { ...settingsFor(fake).alerts, driftMinMicro: 10_000 },
    });
    await deepseekDay(service, db);
    const v = service.view("deepseek", NOW);
    // 10 CNY = 1.389 USD billed vs 1.20 USD metered: +0.189 USD, +15.7 %
    expect(v.drift).toEqual({
      day: "2026-11-19",
      currency: "CNY",
      providerMicro: 10_000_000,
      providerUsdMicro: 1_389_000,
      meteredMicro: 1_200_000,
      diffMicro: 189_000,
      pct: 15.7,
      exceeds: true,
    });
    expect(v.fx).toEqual({ currency: "CNY", usdPerUnit: "0.1389" });
    expect(v.usd?.balanceMicro).toBe(13_890_000); // 100 CNY
    expect(v.usd?.burnPerDayMicro).toBe(
      v.burn.provider.perDayMicro === null
        ? null
        : Number(fxToUsdMicro(BigInt(v.burn.provider.perDayMicro), CNY.CNY)),
    );
    const h = service.history("deepseek", { fromMs: NOW - 7 * DAY, toMs: NOW + 1, limit: 50 });
    expect(h.fx).toEqual({ currency: "CNY", usdPerUnit: "0.1389" });
    expect(h.days[0]).toMatchObject({
      providerUsdMicro: 1_389_000,
      meteredMicro: 1_200_000,
      drift: { pct: 15.7 },
    });
    const alerts = db.prepare("SELECT kind, payload FROM alerts WHERE kind = 'provider_drift'").all() as {
      payload: string;
    }[];
    expect(alerts).toHaveLength(1);
    expect(JSON.parse(alerts[0]?.payload ?? "{}")).toMatchObject({
      currency: "USD",
      providerCurrency: "CNY",
      providerAmountMicro: 10_000_000,
      usdPerUnit: "0.1389",
      providerMicro: 1_389_000,
      meteredMicro: 1_200_000,
    });
  });

  test("runway from the metered burn, converted to CNY, when the provider's burn is unknown", async ({
    db,
  }) => {
    const { service } = serviceFor(db, fake, { fxRates: CNY }, false);
    await service.poll("deepseek", NOW - 10 * 60_000); // one poll: no provider burn yet
    for (let i = 0; i < 4; i++) meterCall(db, "deepseek", 3_472_500, NOW - (i + 1) * 3_600_000); // 13.89 USD/day
    const v = service.view("deepseek", NOW);
    // 110 CNY at 100 CNY/day (13.89 USD at 0.1389) = 26.4 h
    expect(v.runway).toMatchObject({ basis: "metered", hours: 26.4 });
    const { service: noRate } = serviceFor(db, fake, {}, false);
    expect(noRate.view("deepseek", NOW).runway).toMatchObject({ basis: null, hours: null });
  });
});

describe("creditgate providers shows n/a instead of a wrong number", () => {
  test("without a rate 'n/a (no CNY rate)'; with one a drift % and ≈ USD", async ({ db }) => {
    // polls at real times (the CLI reads the clock): yesterday's spend is a complete day
    const now = Date.now();
    const y = Math.floor(now / DAY) * DAY - DAY;
    const service = createProviderService({ db, settings: settingsFor(fake), enforcer: null });
    await service.poll("deepseek", y + 3_600_000);
    fake.data.deepseek[0] = {
      ...fake.data.deepseek[0],
      total_balance: "100.00",
    } as (typeof fake.data.deepseek)[0];
    await service.poll("deepseek", y + 23 * 3_600_000);
    meterCall(db, "deepseek", 1_200_000, y + 2 * 3_600_000);
    const path = db.name;
    db.close();
    const env = {
      CREDITGATE_DB: path,
      CREDITGATE_LOG_LEVEL: "silent",
      CREDITGATE_DEEPSEEK_KEY: KEYS.deepseek,
      CREDITGATE_DEEPSEEK_BASE_URL: fake.baseUrls().deepseek,
    };
    const without = await runCli(env, ["providers"]);
    expect(without.error).toBeNull();
    expect(without.out).toMatch(/deepseek\s+100\.00 CNY\s/);
    expect(without.out).toContain("n/a (no CNY rate)");
    const hist = await runCli(env, ["providers", "history", "deepseek"]);
    expect(hist.out).toContain("n/a (no CNY rate)");
    const withRate = await runCli({ ...env, CREDITGATE_FX_RATES: "CNY=0.1389" }, ["providers"]);
    expect(withRate.out).toMatch(/deepseek\s+100\.00 CNY \(≈ 13\.89 USD\)/);
    expect(withRate.out).toMatch(/15\.7% on \d{4}-\d\d-\d\d/);
    expect(withRate.out).not.toContain("n/a");
    const bad = await runCli({ ...env, CREDITGATE_FX_RATES: "CNY=abc,EUR" }, ["providers"]);
    expect(bad.error?.message).toMatch(/entry 1 CNY[\s\S]*entry 2 "EUR"/);
  });
});

describe("a DeepSeek account holding CNY and USD at once", () => {
  const both = (cny: string, usd: string) => [
    { currency: "CNY", total_balance: cny, granted_balance: "0.00", topped_up_balance: cny },
    { currency: "USD", total_balance: usd, granted_balance: "0.00", topped_up_balance: usd },
  ];
  const H = 3_600_000;

  test("with a CNY rate: one USD account, each currency's spend converted; a rate change is not spend", async ({
    db,
  }) => {
    fake.data.deepseek = both("110.00", "10.00");
    const { service } = serviceFor(db, fake, { fxRates: { CNY: 140_000_000n } }); // 0.14 USD per CNY
    const repo = createProviderRepo(db);
    await service.poll("deepseek", NOW - H);
    expect(repo.last("deepseek")).toMatchObject({ currency: "USD", balanceMicro: 25_400_000 }); // 10 + 110 × 0.14
    expect(repo.last("deepseek")?.detail).toMatchObject({
      combinedUsd: { currencies: ["CNY", "USD"], usdPerUnit: { CNY: "0.14" } },
    });

    fake.data.deepseek = both("100.00", "9.50"); // 10 CNY (1.40 USD) and 0.50 USD spent
    await service.poll("deepseek", NOW);
    expect(repo.last("deepseek")).toMatchObject({ balanceMicro: 23_500_000, spendSinceLastMicro: 1_900_000 });
    expect(repo.last("deepseek")?.detail.spendSinceLastByCurrency).toEqual({
      CNY: "10000000",
      USD: "500000",
    });
    expect(repo.day("deepseek", new Date(NOW).toISOString().slice(0, 10))).toMatchObject({
      amountMicro: 1_900_000,
      currency: "USD",
    });
    // runway over the combined balance: 23.50 USD at 1.90 USD an hour
    const v = service.view("deepseek", NOW);
    expect(v).toMatchObject({
      currency: "USD",
      balanceMicro: 23_500_000,
      runway: { hours: 12.3, basis: "provider" },
    });
    expect(v.balances).toEqual([
      { currency: "CNY", balanceMicro: 100_000_000, usdMicro: 14_000_000 },
      { currency: "USD", balanceMicro: 9_500_000, usdMicro: 9_500_000 },
    ]);

    // the operator changes the rate; nothing was spent: no phantom spend, no top-up
    const later = serviceFor(db, fake, { fxRates: { CNY: 150_000_000n } }).service;
    await later.poll("deepseek", NOW + H);
    expect(repo.last("deepseek")).toMatchObject({ balanceMicro: 24_500_000, spendSinceLastMicro: 0 });

    // a CNY top-up: that interval's spend is unknown, the top-up is noted in USD and in CNY
    fake.data.deepseek = both("200.00", "9.50");
    await later.poll("deepseek", NOW + 2 * H);
    expect(repo.last("deepseek")?.spendSinceLastMicro).toBeNull();
    expect(repo.last("deepseek")?.detail).toMatchObject({
      topUpMicro: "15000000",
      topUpByCurrency: { CNY: "100000000" },
    });
  });

  test("without a CNY rate: the USD balance is the account's, the CNY one is still tracked and shown as not combined", async ({
    db,
  }) => {
    fake.data.deepseek = both("110.00", "10.00");
    const { service } = serviceFor(db, fake);
    const repo = createProviderRepo(db);
    await service.poll("deepseek", NOW - H);
    fake.data.deepseek = both("100.00", "9.50");
    await service.poll("deepseek", NOW);
    expect(repo.last("deepseek")).toMatchObject({
      currency: "USD",
      balanceMicro: 9_500_000,
      spendSinceLastMicro: 500_000,
    });
    expect(repo.last("deepseek")?.detail).toMatchObject({
      spendSinceLastByCurrency: { CNY: "10000000", USD: "500000" },
      notCombined: { currencies: ["CNY"], reason: "no CREDITGATE_FX_RATES rate for CNY" },
    });
    expect(service.view("deepseek", NOW).balances).toEqual([
      { currency: "CNY", balanceMicro: 100_000_000, usdMicro: null },
      { currency: "USD", balanceMicro: 9_500_000, usdMicro: 9_500_000 },
    ]);
    // a single-currency account has no list
    expect(service.view("moonshot", NOW).balances).toBeNull();
    const path = db.name;
    db.close();
    const env = {
      CREDITGATE_DB: path,
      CREDITGATE_LOG_LEVEL: "silent",
      CREDITGATE_DEEPSEEK_KEY: KEYS.deepseek,
      CREDITGATE_DEEPSEEK_BASE_URL: fake.baseUrls().deepseek,
    };
    const table = await runCli(env, ["providers"]);
    expect(table.error).toBeNull();
    expect(table.out).toMatch(
      /deepseek\s+9\.50 USD = \(100\.00 CNY not counted: no CNY rate\) \+ 9\.50 USD\s/,
    );
  });
});
