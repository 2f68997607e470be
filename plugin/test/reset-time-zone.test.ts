/**
 * Case reset-time-in-operator-zone (test/cases/reset-time-in-operator-zone, plugin side): the
 * cap windows are local to creditgate's `CREDITGATE_TIMEZONE`, and the status and /consumo answers
 * say it (`timeZone`). The plugin wrote every time in UTC: a user in Mexico City blocked by their
 * daily cap read "It resets at 2026-12-06 06:00 UTC" for a limit that resets at their midnight.
 */
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { registerCreditgate } from "../src/index.js";
import { FakeCreditgate } from "./support/fake-creditgate.mjs";
import { createFakeHost } from "./support/fake-host.js";
import { telegramSees } from "./support/telegram-render.js";

const CASE = resolve(import.meta.dirname, "../../test/cases/reset-time-in-operator-zone");
const expected = JSON.parse(readFileSync(resolve(CASE, "expected.json"), "utf8")) as {
  liftsAt: string;
  timeZone: string;
  gateReply: { en: string };
};

let cg: FakeCreditgate;
beforeEach(async () => {
  cg = await new FakeCreditgate({ token: "k" }).start();
});
afterEach(async () => {
  await cg.stop();
});

const setup = (extra: Record<string, unknown> = {}) => {
  const host = createFakeHost({ apiUrl: cg.url, apiToken: "k", ...extra });
  registerCreditgate(host.api);
  return host;
};
const day = {
  period: "day",
  capMicroCredits: 1_000_000,
  spentMicroCredits: 1_100_000,
  resetsAt: expected.liftsAt,
};

describe("case reset-time-in-operator-zone", () => {
  it("the gate tells a daily cap's reset on the operator zone's clock", async () => {
    cg.setUser("telegram:5550961", {
      balanceMicroCredits: 8_900_000,
      allowed: false,
      reason: "daily_cap",
      liftsAt: expected.liftsAt,
      windows: [day],
      timeZone: expected.timeZone,
    });
    const r = await setup({ language: "en" }).inbound({ senderId: "5550961", text: "hello" });
    // before: "It resets at 2026-12-06 06:00 UTC."
    // what the Telegram user reads (the reply is escaped Markdown: `America/Mexico\\_City`)
    expect(telegramSees(r.reply ?? "").text).toBe(expected.gateReply.en);
  });

  it("/consumo writes each reset and a credit expiry at the zone's midnight as that day (Asia/Tokyo)", async () => {
    cg.setUser("telegram:5550962", {
      balanceMicroCredits: 3_000_000,
      allowed: true,
      windows: [
        { ...day, spentMicroCredits: 200_000, resetsAt: "2026-12-05T15:00:00.000Z" },
        {
          period: "month",
          capMicroCredits: 20_000_000,
          spentMicroCredits: 200_000,
          resetsAt: "2026-12-31T15:00:00.000Z",
        },
      ],
      consumo: {
        timeZone: "Asia/Tokyo",
        credits: {
          paidMicroCredits: 1_000_000,
          promotionalMicroCredits: 2_000_000,
          refundCreditMicroCredits: 0,
          debtMicroCredits: 0,
          nextExpiry: { at: "2026-12-07T15:00:00.000Z", microCredits: 2_000_000, kind: "promotional" },
        },
      },
    });
    const reply = await setup({ language: "en" }).runCommand("consumo", {
      senderId: "5550962",
      channelId: "telegram",
      sessionKey: "agent:main:telegram:direct:5550962",
    });
    const text = telegramSees(reply).text;
    // before: "expires on 2026-12-07 15:00 UTC", "resets 2026-12-05 15:00 UTC", "2026-12-31 15:00 UTC"
    expect(text).toContain("1.00 paid + 2.00 bonus, 2.00 expires on 2026-12-08");
    expect(text).toContain("2026-12-06 00:00 Asia/Tokyo");
    expect(text).toContain("2027-01-01 00:00 Asia/Tokyo");
    expect(text).not.toContain("UTC");
  });

  it("/burn tells a hard operator budget's lift on the zone of the budgets answer", async () => {
    cg.budgetTimeZone = "America/Bogota";
    cg.budgetViews = [
      {
        name: "agent:main",
        scope: "agent",
        subject: "main",
        period: "day",
        mode: "hard",
        limitUsd: "5",
        spentUsd: "5.2",
        usedPct: 104,
        windowEndMs: Date.parse("2026-12-06T05:00:00Z"), // midnight in Bogotá (UTC−5)
      },
    ];
    const host = setup({ language: "en" });
    const ctx = { senderId: "5550101", channelId: "telegram", senderIsOwner: true, agentId: "main" };
    const text = telegramSees(await host.runCommand("burn", ctx)).text;
    // before: "blocked until 2026-12-06 05:00 UTC"
    expect(text).toContain("this bot's users are blocked until 2026-12-06 00:00 America/Bogota");
  });

  it("a server that sends no zone (before 2026-12-05), or UTC, reads as before", async () => {
    cg.setUser("telegram:5550963", {
      balanceMicroCredits: 8_900_000,
      allowed: false,
      reason: "daily_cap",
      windows: [day],
    });
    const r = await setup({ language: "en" }).inbound({ senderId: "5550963", text: "hello" });
    expect(r.reply).toContain("It resets at 2026-12-06 06:00 UTC.");
    cg.setUser("telegram:5550963", { timeZone: "Etc/UTC" });
    const u = await setup({ language: "en" }).inbound({ senderId: "5550963", text: "hello" });
    expect(u.reply).toContain("It resets at 2026-12-06 06:00 UTC.");
  });
});
