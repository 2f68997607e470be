import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import type { Job } from "bullmq";
import { afterEach, beforeEach, describe, expect } from "vitest";
import { createEnforcer, DEFAULT_SETTINGS } from "../../src/limits/index.js";
import { verifyWebhookSignature } from "../../src/worker/index.js";
import { createAlertsProcessor } from "../../src/worker/processors/alerts.js";
import { FakeProviders } from "../support/fake-providers.js";
import { test } from "../support/temp-db.js";
import { meterCall, serviceFor } from "./support.js";

const DAY = 86_400_000;
const H = 3_600_000;
// 2026-11-20 12:00 UTC: yesterday (11-19) is over and settled.
const NOW = Date.UTC(2026, 10, 20, 12, 0, 0);
const YESTERDAY = Date.UTC(2026, 10, 19);

let fake: FakeProviders;
beforeEach(async () => {
  fake = await new FakeProviders().start();
});
afterEach(async () => {
  await fake.stop();
});

interface AlertRowLike {
  kind: string;
  account_id: string;
  window_key: string;
  payload: string;
  webhook_state: string;
}
const alerts = (db: Parameters<typeof meterCall>[0]) =>
  db
    .prepare("SELECT kind, account_id, window_key, payload, webhook_state FROM alerts ORDER BY id")
    .all() as AlertRowLike[];

describe("drift: provider-reported spend vs metered cost per provider per day", () => {
  test("the fake OpenAI reports 20 % more than the transcripts metered: one drift alert naming likely causes", async ({
    db,
  }) => {
    // metered: $10.00 of OpenAI calls yesterday, plus an unrelated provider
    for (let i = 0; i < 4; i++) meterCall(db, "openai", 2_500_000, YESTERDAY + i * H);
    meterCall(db, "anthropic", 9_000_000, YESTERDAY + H);
    meterCall(db, "openai", 1_000_000, YESTERDAY + 3 * H, true); // an unknown model
    // the provider billed $13.20 = 1.2 × $11.00
    fake.data.openai.set("2026-11-19", 13.2);
    const { service } = serviceFor(db, fake);
    const r = await service.poll("openai", NOW);
    expect(r).toMatchObject({ ok: true, alertsRaised: 1 });
    const [a] = alerts(db);
    expect(a).toMatchObject({
      kind: "provider_drift",
      account_id: "provider:openai",
      window_key: "day:2026-11-19",
    });
    const facts = JSON.parse(a?.payload ?? "{}");
    expect(facts).toMatchObject({
      provider: "openai",
      currency: "USD",
      day: "2026-11-19",
      providerMicro: 13_200_000,
      meteredMicro: 11_000_000,
      driftPct: 20,
    });
    expect(facts.causes.join(" | ")).toMatch(/1 call\(s\) of models creditgate has no price for/);
    expect(facts.causes.join(" | ")).toMatch(/compaction summaries, embeddings/);
    expect(facts.causes.join(" | ")).toMatch(/another app/);
    // the overview shows the same drift for the latest complete day
    expect(service.view("openai", NOW).drift).toEqual({
      day: "2026-11-19",
      currency: "USD",
      providerMicro: 13_200_000,
      providerUsdMicro: 13_200_000,
      meteredMicro: 11_000_000,
      diffMicro: 2_200_000,
      pct: 20,
      exceeds: true,
    });
    // polled again: the same day never alerts twice
    expect((await service.poll("openai", NOW + 900_000)).alertsRaised).toBe(0);
  });

  test("within tolerance, today, or a day not settled yet: no alert; once settled, it alerts", async ({
    db,
  }) => {
    meterCall(db, "anthropic", 10_000_000, YESTERDAY + H);
    meterCall(db, "anthropic", 1_000_000, YESTERDAY - DAY + H);
    fake.data.anthropic.set("2026-11-18", "900"); // $9 vs $1 metered
    const { service } = serviceFor(db, fake);
    // at 03:00 on the 19th the 18th is not settled (reports lag by hours): no alert yet
    expect((await service.poll("anthropic", Date.UTC(2026, 10, 19, 3))).alertsRaised).toBe(0);
    fake.data.anthropic.set("2026-11-19", "1050"); // $10.50 vs $10: 5 %, within tolerance
    fake.data.anthropic.set("2026-11-20", "5000"); // today: not over yet
    expect((await service.poll("anthropic", NOW)).alertsRaised).toBe(1);
    expect(alerts(db).map((a) => `${a.kind} ${a.window_key}`)).toEqual(["provider_drift day:2026-11-18"]);
    const facts = JSON.parse(alerts(db)[0]?.payload ?? "{}");
    expect(facts).toMatchObject({ providerMicro: 9_000_000, meteredMicro: 1_000_000, driftPct: 800 });
  });
});

describe("balance, runway and spike alerts through the existing pipeline", () => {
  test("low runway and low balance alert once per day, from spend spread over the polls", async ({ db }) => {
    const { service } = serviceFor(db, fake);
    // DeepSeek at $30, then $26 two hours later: $4 over 2 h = $48/day → 13 h of runway (< 72 h)
    fake.data.deepseek = [
      { currency: "USD", total_balance: "30.00", granted_balance: "0.00", topped_up_balance: "30.00" },
    ];
    expect((await service.poll("deepseek", NOW - 2 * H)).alertsRaised).toBe(0);
    fake.data.deepseek = [
      { currency: "USD", total_balance: "26.00", granted_balance: "0.00", topped_up_balance: "26.00" },
    ];
    expect((await service.poll("deepseek", NOW)).alertsRaised).toBe(1);
    expect(alerts(db).map((a) => a.kind)).toEqual(["provider_low_runway"]);
    const v = service.view("deepseek", NOW);
    expect(v.burn.provider).toEqual({
      lastHourMicro: 2_000_000,
      last24hMicro: 4_000_000,
      last7dMicro: 4_000_000,
      perDayMicro: 48_000_000,
    });
    expect(v.runway).toEqual({
      hours: 13,
      runsOutAt: new Date(NOW + 13 * H).toISOString(),
      basis: "provider",
    });
    // $4.50: low balance (≤ $5); no spike alert without a day of history to compare with
    fake.data.deepseek = [
      { currency: "USD", total_balance: "4.50", granted_balance: "0.00", topped_up_balance: "4.50" },
    ];
    expect((await service.poll("deepseek", NOW + 15 * 60_000)).alertsRaised).toBe(1);
    expect(alerts(db).map((a) => a.kind)).toEqual(["provider_low_runway", "provider_low_balance"]);
    // the same day: nothing new
    expect((await service.poll("deepseek", NOW + 20 * 60_000)).alertsRaised).toBe(0);
  });

  test("a spend spike after a day of steady polls alerts once in that hour", async ({ db }) => {
    const { service } = serviceFor(db, fake);
    let balance = 500;
    const set = (b: number) => {
      fake.data.moonshot = { available: b, voucher: 0, cash: b };
    };
    // 26 hourly polls spending $0.50/h
    for (let i = 26; i >= 1; i--) {
      set(balance);
      await service.poll("moonshot", NOW - i * H);
      balance -= 0.5;
    }
    const spikes = () => alerts(db).filter((a) => a.kind === "provider_spend_spike");
    set(balance); // steady hour
    await service.poll("moonshot", NOW);
    expect(spikes()).toEqual([]);
    balance -= 3; // $3 in 30 min: ≥ 4 × the $0.50 hourly average
    set(balance);
    await service.poll("moonshot", NOW + 30 * 60_000);
    expect(spikes()).toHaveLength(1);
    expect(JSON.parse(spikes()[0]?.payload ?? "{}")).toMatchObject({
      provider: "moonshot",
      currency: "USD",
      lastHourMicro: 3_250_000,
      avgHourMicro: 500_000,
    });
    balance -= 3;
    set(balance);
    await service.poll("moonshot", NOW + 45 * 60_000);
    expect(spikes()).toHaveLength(1); // same hour
    // 13:15, nothing spent since: the rolling last hour (12:15–13:15) still holds the same burst.
    // Before 2026-12-04 it was told again under hour:…T13 (case test/cases/spend-spike-told-twice)
    set(balance);
    await service.poll("moonshot", NOW + 75 * 60_000);
    expect(spikes()).toHaveLength(1);
    // the unmetered moonshot spend is also drift (nothing metered at all): alerted per settled day
    expect(alerts(db).some((a) => a.kind === "provider_drift")).toBe(true);
  });

  test("thresholds set per provider override the configured defaults", async ({ db }) => {
    const { service } = serviceFor(db, fake);
    service.setThresholds("moonshot", { lowBalanceMicro: 60_000_000 }, NOW);
    expect((await service.poll("moonshot", NOW)).alertsRaised).toBe(1); // 49.59 ≤ 60
    expect(service.thresholds("moonshot").lowBalanceMicro).toBe(60_000_000);
    expect(service.thresholds("deepseek").lowBalanceMicro).toBe(5_000_000);
    service.setThresholds("*", { driftPct: 25 }, NOW);
    expect(service.thresholds("deepseek").driftPct).toBe(25);
  });

  test("a provider alert is delivered as a signed operator webhook by the existing alerts processor", async ({
    db,
  }) => {
    const secret = "provider-alert-secret-0123456789";
    const received: { body: string; sig: string }[] = [];
    const hook = createServer((req, res) => {
      let body = "";
      req.on("data", (c) => {
        body += c;
      });
      req.on("end", () => {
        received.push({ body, sig: String(req.headers["x-creditgate-signature"]) });
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((r) => hook.listen(0, "127.0.0.1", r));
    try {
      const enforcer = createEnforcer(db, { ...DEFAULT_SETTINGS, webhookEnabled: true });
      const { createProviderService } = await import("../../src/providers/index.js");
      const { settingsFor } = await import("./support.js");
      const service = createProviderService({ db, settings: settingsFor(fake), enforcer });
      service.setThresholds("openrouter", { lowBalanceMicro: 100_000_000 }, NOW);
      await service.poll("openrouter", NOW);
      const [row] = db.prepare("SELECT id, webhook_state FROM alerts").all() as {
        id: number;
        webhook_state: string;
      }[];
      expect(row?.webhook_state).toBe("pending");
      const deliver = createAlertsProcessor({
        enforcer,
        webhook: {
          url: `http://127.0.0.1:${(hook.address() as AddressInfo).port}/hook`,
          secret,
          attempts: 3,
          backoffMs: 10,
        },
        nowMs: () => NOW,
        fetch,
        log: () => {},
      });
      expect(await deliver({ data: { alertId: row?.id } } as Job)).toMatch(/delivered/);
      const got = received[0];
      expect(
        verifyWebhookSignature({ header: got?.sig ?? "", body: got?.body ?? "", secret, nowMs: NOW }),
      ).toEqual({ ok: true });
      const body = JSON.parse(got?.body ?? "{}");
      expect(body).toMatchObject({ type: "provider_low_balance", accountId: "provider:openrouter" });
      expect(body.text).toBe("openrouter balance is low: 74.75 USD (threshold 100.00 USD).");
    } finally {
      hook.closeAllConnections();
      await new Promise<void>((r) => hook.close(() => r()));
    }
  });
});
