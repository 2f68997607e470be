// `openclaw tokens` and `openclaw tokens history` as OpenClaw's own CLI runs them (the plugin's
// `api.registerCli` subcommands), against a FAKE creditgate (plugin/test/support/fake-creditgate.mjs)
// serving provider accounts the real one would only have after polling real provider APIs: a USD
// account with runway and flagged drift, and a CNY account without an exchange rate.
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { FakeCreditgate } from "../../../test/support/fake-creditgate.mjs";

/** Scenario: tokens CLI. */
export const name = "openclaw tokens CLI";

const TOKEN = "e2e-fake-creditgate-token-0123456789";
const thresholds = {
  lowBalanceMicro: 5_000_000,
  lowRunwayHours: 72,
  spikeFactor: 4,
  driftPct: 10,
  driftMinMicro: 1_000_000,
};
const burn = (perDay) => ({
  lastHourMicro: 0,
  last24hMicro: perDay,
  last7dMicro: perDay,
  perDayMicro: perDay,
});
/** What creditgate's `GET /v1/providers` answers (its ProviderView shape). */
const VIEWS = [
  {
    provider: "openrouter",
    keySource: "env",
    currency: "USD",
    balanceMicro: 74_750_000,
    balanceAt: "2026-11-20T12:00:00.000Z",
    burn: { provider: burn(24_000_000), metered: { ...burn(20_500_000), currency: "USD" } },
    runway: { hours: 74.7, runsOutAt: "2026-11-23T14:42:00.000Z", basis: "provider" },
    fx: null,
    usd: null,
    drift: {
      day: "2026-11-19",
      currency: "USD",
      providerMicro: 13_200_000,
      providerUsdMicro: 13_200_000,
      meteredMicro: 11_000_000,
      diffMicro: 2_200_000,
      pct: 20,
      exceeds: true,
    },
    lastPollAt: new Date().toISOString(),
    lastOkAt: new Date().toISOString(),
    error: null,
    thresholds,
  },
  {
    provider: "deepseek",
    keySource: "openclaw:main/deepseek:default (env ref)",
    currency: "CNY",
    balanceMicro: 100_000_000,
    balanceAt: "2026-11-20T12:00:00.000Z",
    burn: { provider: burn(10_000_000), metered: { ...burn(0), currency: "USD" } },
    runway: { hours: 240, runsOutAt: "2026-11-30T12:00:00.000Z", basis: "provider" },
    fx: { currency: "CNY", usdPerUnit: null },
    usd: null,
    drift: null,
    lastPollAt: new Date().toISOString(),
    lastOkAt: null,
    error: {
      kind: "config",
      message: "key file /run/k holds 2 lines",
      at: null,
      consecutiveFailures: 1,
      retryAfterMs: null,
    },
    thresholds,
  },
];

/** @param {import("../harness.mjs").Context} ctx */
export async function run(ctx) {
  const { oc, env, root, configPath, check, timed, openclaw, lastJson } = ctx;
  const fake = await new FakeCreditgate({ token: TOKEN }).start();
  try {
    fake.providerViews = VIEWS;
    // The installed plugin's config, pointed at the fake (English output), in a copy of openclaw.json.
    const cfg = JSON.parse(readFileSync(configPath, "utf8"));
    const entry = cfg.plugins.entries.creditgate;
    entry.config = { ...entry.config, apiUrl: fake.url, apiToken: TOKEN, language: "en" };
    const fakeConfig = join(root, "openclaw-fake-creditgate.json");
    writeFileSync(fakeConfig, `${JSON.stringify(cfg, null, 2)}\n`);
    const envFake = { ...env, OPENCLAW_CONFIG_PATH: fakeConfig };

    const list = await timed("openclaw tokens", () => openclaw(oc, envFake, ["tokens"]));
    const out = list.stdout;
    check(
      "openclaw tokens (the plugin's CLI subcommand in the real openclaw): balance, burn, runway and flagged drift of a USD account",
      list.code === 0 &&
        /Provider accounts/.test(out) &&
        /• openrouter: balance 74\.75 USD · burn 24\.00 USD\/day · lasts .*\(until .*\) · drift 20% on 2026-11-19/.test(
          out,
        ),
      out + list.stderr,
    );
    check(
      "…a CNY account without an exchange rate shows 'drift n/a (no CNY rate)' and its error kind, never a number",
      /• deepseek: balance 100\.00 CNY · burn 10\.00 CNY\/day · .*drift n\/a \(no CNY rate\).*⚠️ error: config/.test(
        out,
      ),
      out,
    );
    check(
      "…asked creditgate's GET /v1/providers with the plugin's token, and printed no token",
      fake.requests.some(
        (r) => r.method === "GET" && r.path === "/v1/providers" && r.auth === `Bearer ${TOKEN}`,
      ) && !(out + list.stderr).includes(TOKEN),
      JSON.stringify(fake.requests.slice(-5)),
    );
    const json = await openclaw(oc, envFake, ["tokens", "--json"]);
    const views = lastJson(json.stdout);
    check(
      "openclaw tokens --json prints creditgate's views as JSON",
      json.code === 0 &&
        Array.isArray(views) &&
        views.map((v) => v.provider).join(",") === "openrouter,deepseek",
      json.stdout.slice(-1500) + json.stderr.slice(-1500),
    );

    const hist = await timed("openclaw tokens history", () =>
      openclaw(oc, envFake, ["tokens", "history", "openrouter"]),
    );
    check(
      "openclaw tokens history openrouter: each day's provider spend vs metered and drift, the last balance and runway",
      hist.code === 0 &&
        hist.stdout.includes("openrouter: day | provider | metered | drift") &&
        hist.stdout.includes("2026-11-19 | 13.20 USD | 11.00 USD | 20% !") &&
        hist.stdout.includes("balance 74.75 USD at 2026-11-20T12:00:00.000Z · runway 73.7 h") &&
        fake.requests.some(
          (r) => r.method === "GET" && r.path.startsWith("/v1/providers/openrouter/history"),
        ),
      hist.stdout + hist.stderr,
    );

    const puts = fake.providerThresholds.length;
    const bad = await openclaw(oc, envFake, [
      "tokens",
      "alerts",
      "--low-balance",
      "lots",
      "--drift-pct",
      "0",
    ]);
    check(
      "openclaw tokens alerts with two bad options: fails naming both, sends nothing",
      bad.code !== 0 &&
        /--low-balance: a plain decimal/.test(bad.stdout + bad.stderr) &&
        /--drift-pct: a whole number from 1 to 1000/.test(bad.stdout + bad.stderr) &&
        fake.providerThresholds.length === puts,
      (bad.stdout + bad.stderr).slice(-2000),
    );
  } finally {
    await fake.stop();
  }
}
