import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { addTokensCommands, registerTokensCli } from "../src/cli.js";
import { CreditgateClient } from "../src/client.js";
import { registerCreditgate } from "../src/index.js";
import type { CliCommand } from "../src/openclaw-types.js";
import { FakeCreditgate } from "./support/fake-creditgate.mjs";
import { createFakeHost } from "./support/fake-host.js";

/** Two provider accounts as `GET /v1/providers` answers them (creditgate's ProviderView). */
const VIEWS = [
  {
    provider: "openrouter",
    keySource: "env",
    currency: "USD",
    balanceMicro: 74_750_000,
    balanceAt: "2026-11-20T12:00:00.000Z",
    burn: {
      provider: {
        lastHourMicro: 1_000_000,
        last24hMicro: 24_000_000,
        last7dMicro: 24_000_000,
        perDayMicro: 24_000_000,
      },
      metered: {
        currency: "USD",
        lastHourMicro: 900_000,
        last24hMicro: 20_500_000,
        last7dMicro: 20_500_000,
        perDayMicro: 20_500_000,
      },
    },
    runway: { hours: 74.7, runsOutAt: "2026-11-23T14:42:00.000Z", basis: "provider" },
    drift: null,
    lastPollAt: new Date(Date.now() - 5 * 60_000).toISOString(),
    lastOkAt: null,
    error: null,
    thresholds: {
      lowBalanceMicro: 5_000_000,
      lowRunwayHours: 72,
      spikeFactor: 4,
      driftPct: 10,
      driftMinMicro: 1_000_000,
    },
  },
  {
    provider: "openai",
    keySource: "env",
    currency: "USD",
    balanceMicro: null,
    balanceAt: null,
    burn: {
      provider: {
        lastHourMicro: 0,
        last24hMicro: 13_200_000,
        last7dMicro: 13_200_000,
        perDayMicro: 13_200_000,
      },
      metered: {
        currency: "USD",
        lastHourMicro: 0,
        last24hMicro: 11_000_000,
        last7dMicro: 11_000_000,
        perDayMicro: 11_000_000,
      },
    },
    runway: { hours: null, runsOutAt: null, basis: null },
    drift: {
      day: "2026-11-19",
      providerMicro: 13_200_000,
      meteredMicro: 11_000_000,
      diffMicro: 2_200_000,
      pct: 20,
      exceeds: true,
    },
    lastPollAt: new Date(Date.now() - 5 * 60_000).toISOString(),
    lastOkAt: null,
    error: {
      kind: "rate_limited",
      message: "GET /organization/costs: HTTP 429",
      at: null,
      consecutiveFailures: 1,
      retryAfterMs: 42_000,
    },
    thresholds: {
      lowBalanceMicro: 5_000_000,
      lowRunwayHours: 72,
      spikeFactor: 4,
      driftPct: 10,
      driftMinMicro: 1_000_000,
    },
  },
];

let cg: FakeCreditgate;
beforeEach(async () => {
  cg = await new FakeCreditgate({ token: "k" }).start();
  cg.providerViews = VIEWS;
});
afterEach(async () => {
  await cg.stop();
});

const owner = {
  channel: "telegram",
  channelId: "telegram",
  senderId: "1",
  senderIsOwner: true,
  agentId: "main",
};

describe("/tokens and /burn (owner only)", () => {
  it("/tokens lists balance, burn, runway, drift, last poll and errors per provider", async () => {
    const host = createFakeHost({ apiUrl: cg.url, apiToken: "k", language: "en" });
    registerCreditgate(host.api);
    const text = await host.runCommand("tokens", owner);
    expect(text).toContain("Provider accounts");
    expect(text).toMatch(/openrouter: balance 74\.75 USD · burn 24\.00 USD\/day · lasts 3 days/);
    expect(text).toMatch(
      /openai: no balance API · burn 13\.20 USD\/day · drift 20% on 2026-11-19 · polled 5 min · ⚠️ error: rate\\_limited/,
    ); // Markdown-escaped for the channel
    expect(host.commands.get("tokens")?.requiredScopes).toEqual(["operator.read"]);
  });

  it("/tokens and openclaw tokens show each currency of a CNY + USD account, one without a rate marked not counted (en, es)", async () => {
    const base = VIEWS[0] as (typeof VIEWS)[number];
    cg.providerViews = [
      {
        ...base,
        provider: "deepseek",
        currency: "USD",
        balanceMicro: 9_500_000,
        // exact to the micro-unit: never through a float
        balances: [
          { currency: "CNY", balanceMicro: 100_000_001, usdMicro: null },
          { currency: "USD", balanceMicro: 9_500_000, usdMicro: 9_500_000 },
        ],
        drift: null,
      },
      {
        ...base,
        provider: "moonshot",
        currency: "USD",
        balanceMicro: 25_400_000,
        balances: [
          { currency: "CNY", balanceMicro: 110_000_000, usdMicro: 15_400_000 },
          { currency: "USD", balanceMicro: 10_000_000, usdMicro: 10_000_000 },
        ],
        drift: null,
      },
    ];
    const en = createFakeHost({ apiUrl: cg.url, apiToken: "k", language: "en" });
    registerCreditgate(en.api);
    const text = await en.runCommand("tokens", owner);
    expect(text).toContain(
      "deepseek: balance 9.50 USD = (100.000001 CNY not counted: no CNY rate) + 9.50 USD · ",
    );
    expect(text).toContain("moonshot: balance 25.40 USD = 110.00 CNY (≈ 15.40 USD) + 10.00 USD · ");
    const es = createFakeHost({ apiUrl: cg.url, apiToken: "k", language: "es" });
    registerCreditgate(es.api);
    expect(await es.runCommand("tokens", owner)).toContain(
      "deepseek: saldo 9.50 USD = (100.000001 CNY no contado: sin tipo de cambio CNY) + 9.50 USD · ",
    );
    const client = new CreditgateClient({ baseUrl: cg.url, token: "k", timeoutMs: 2000 });
    let out = "";
    const { program, actions } = fakeProgram();
    addTokensCommands(program, { client, language: "es", out: (t) => (out += t) });
    await actions.get("tokens")?.({});
    expect(out).toContain("(100.000001 CNY no contado: sin tipo de cambio CNY) + 9.50 USD");
    // a single-currency account (no `balances`, as from older creditgate) is unchanged
    cg.providerViews = VIEWS;
    expect(await en.runCommand("tokens", owner)).toMatch(/openrouter: balance 74\.75 USD · burn/);
  });

  it("/tokens refuses other senders without calling creditgate", async () => {
    const host = createFakeHost({ apiUrl: cg.url, apiToken: "k" });
    registerCreditgate(host.api);
    const before = cg.requests.length;
    expect(await host.runCommand("tokens", { ...owner, senderIsOwner: false })).toBe(
      "Este comando es solo para el operador.",
    );
    expect(cg.requests.length).toBe(before);
  });

  it("/burn adds each provider's spend rate next to the metered one; without provider accounts it stays as before", async () => {
    const host = createFakeHost({ apiUrl: cg.url, apiToken: "k", language: "en" });
    registerCreditgate(host.api);
    const text = await host.runCommand("burn", owner);
    expect(text).toContain("🔥 Spend of bot main");
    expect(text).toContain("openrouter: 1.00 USD last hour · 24.00 USD last 24 h · metered 20.50 USD/24 h");
    cg.providerViews = null;
    const plain = await host.runCommand("burn", owner);
    expect(plain).not.toContain("Providers");
  });
});

describe("gateway methods", () => {
  it("billing.providers and billing.provider_history (validated params)", async () => {
    const host = createFakeHost({ apiUrl: cg.url, apiToken: "k" });
    registerCreditgate(host.api);
    const list = await host.callMethod("billing.providers", {});
    expect(list.ok).toBe(true);
    expect((list.payload as { providers: unknown[] }).providers).toHaveLength(2);
    const h = await host.callMethod("billing.provider_history", { provider: "openai", from: "2026-11-13" });
    expect(h.ok).toBe(true);
    expect(cg.requests.at(-1)?.path).toBe("/v1/providers/openai/history");
    expect(cg.requests.at(-1)?.query).toContain("from=2026-11-13");
    const bad = await host.callMethod("billing.provider_history", { provider: "../keys" });
    expect(bad.error?.code).toBe("INVALID_REQUEST");
    expect((await host.callMethod("billing.providers", { x: 1 })).error?.code).toBe("INVALID_REQUEST");
  });
});

/** A tiny commander stand-in: records commands and runs an action by path. */
function fakeProgram() {
  const actions = new Map<string, (...a: unknown[]) => unknown>();
  const make = (path: string): CliCommand => {
    const c: CliCommand = {
      command: (nameAndArgs: string) => make(`${path} ${nameAndArgs.split(" ")[0]}`.trim()),
      description: () => c,
      option: () => c,
      action: (fn) => {
        actions.set(path, fn as (...a: unknown[]) => unknown);
        return c;
      },
    };
    return c;
  };
  return { program: make(""), actions };
}

describe("openclaw tokens (registerCli)", () => {
  it("registers `tokens` with descriptors where the host supports CLI commands, and nothing where it does not", () => {
    const calls: unknown[] = [];
    const client = new CreditgateClient({ baseUrl: cg.url, token: "k", timeoutMs: 2000 });
    expect(
      registerTokensCli({ registerCli: (_fn, opts) => calls.push(opts) }, { client, language: "en" }),
    ).toBe(true);
    expect(calls).toEqual([
      {
        commands: ["tokens"],
        descriptors: [expect.objectContaining({ name: "tokens", hasSubcommands: true })],
      },
    ]);
    expect(registerTokensCli({}, { client, language: "en" })).toBe(false);
  });

  it("tokens, tokens history and tokens alerts talk to creditgate", async () => {
    const client = new CreditgateClient({ baseUrl: cg.url, token: "k", timeoutMs: 2000 });
    let out = "";
    const { program, actions } = fakeProgram();
    addTokensCommands(program, { client, language: "en", out: (t) => (out += t) });
    expect([...actions.keys()].sort()).toEqual(["tokens", "tokens alerts", "tokens history"]);
    await actions.get("tokens")?.({});
    expect(out).toMatch(/openrouter: balance 74\.75 USD/);
    out = "";
    await actions.get("tokens history")?.("openai", {});
    expect(out).toContain("2026-11-19 | 13.20 USD | 11.00 USD | 20% !");
    out = "";
    await actions.get("tokens alerts")?.({ provider: "deepseek", lowBalance: "20", driftPct: "15" });
    expect(cg.providerThresholds).toEqual([
      { provider: "deepseek", body: { lowBalance: "20", driftPct: 15 } },
    ]);
    await expect(actions.get("tokens alerts")?.({ lowBalance: "lots" }) as Promise<void>).rejects.toThrow(
      /plain decimal/,
    );
  });

  it("tokens alerts names every bad option at once and sends nothing; a CNY account without a rate shows drift n/a", async () => {
    const client = new CreditgateClient({ baseUrl: cg.url, token: "k", timeoutMs: 2000 });
    let out = "";
    const { program, actions } = fakeProgram();
    addTokensCommands(program, { client, language: "en", out: (t) => (out += t) });
    await expect(
      actions.get("tokens alerts")?.({
        lowBalance: "lots",
        runwayDays: "-1",
        spikeFactor: "1",
        driftPct: "15",
      }) as Promise<void>,
    ).rejects.toThrow(
      /--low-balance: a plain decimal.*; --runway-days: a plain decimal.*; --spike-factor: a whole number from 2 to 1000/,
    );
    expect(cg.providerThresholds).toEqual([]);
    const base = VIEWS[0] as (typeof VIEWS)[number];
    cg.providerViews = [
      {
        ...base,
        provider: "deepseek",
        currency: "CNY",
        balanceMicro: 100_000_000,
        fx: { currency: "CNY", usdPerUnit: null },
        usd: null,
        drift: null,
      },
      {
        ...base,
        provider: "moonshot",
        currency: "CNY",
        balanceMicro: 100_000_000,
        fx: { currency: "CNY", usdPerUnit: "0.1389" },
        usd: { balanceMicro: 13_890_000, burnPerDayMicro: null },
        drift: null,
      },
    ];
    await actions.get("tokens")?.({});
    expect(out).toMatch(/deepseek: balance 100\.00 CNY · .*drift n\/a \(no CNY rate\)/);
    expect(out).toMatch(/moonshot: balance 100\.00 CNY \(≈ 13\.89 USD\)/);
    expect(out).not.toMatch(/moonshot:.*n\/a/);
  });
});
