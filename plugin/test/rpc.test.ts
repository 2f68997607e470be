import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { registerCreditgate } from "../src/index.js";
import { creditsToMicro, mergeLimits, microToCredits, parseGrant, parseSetLimits } from "../src/rpc.js";
import { FakeCreditgate } from "./support/fake-creditgate.mjs";
import { createFakeHost } from "./support/fake-host.js";

let cg: FakeCreditgate;
beforeEach(async () => {
  cg = await new FakeCreditgate({ token: "k" }).start();
  cg.setUser("telegram:5550101", {
    balanceMicroCredits: 3_250_000,
    allowed: true,
    reason: null,
    windows: [],
  });
});
afterEach(async () => {
  await cg.stop();
});
function setup(extra: Record<string, unknown> = {}) {
  const host = createFakeHost({ apiUrl: cg.url, apiToken: "k", ...extra });
  const reg = registerCreditgate(host.api);
  return { host, reg };
}

describe("gateway methods", () => {
  it("are registered with read/admin scopes", () => {
    const { host } = setup();
    expect(Object.fromEntries([...host.methods].map(([k, v]) => [k, v.scope]))).toEqual({
      "billing.balance": "operator.read",
      "billing.user_usage": "operator.read",
      "billing.agent_usage": "operator.read",
      "billing.providers": "operator.read",
      "billing.provider_history": "operator.read",
      "billing.set_limits": "operator.admin",
      "billing.grant": "operator.admin",
    });
  });

  it("billing.balance / user_usage / agent_usage answer from creditgate", async () => {
    const { host } = setup();
    expect(await host.callMethod("billing.balance", { userId: "Telegram:5550101" })).toEqual({
      ok: true,
      payload: {
        userId: "telegram:5550101",
        allowed: true,
        reason: null,
        balanceMicroCredits: 3_250_000,
        windows: [],
      },
      error: undefined,
    });
    const u = await host.callMethod("billing.user_usage", { userId: "telegram:5550101" });
    expect(u.ok).toBe(true);
    expect(u.payload).toMatchObject({ userId: "telegram:5550101", today: { requests: 3 } });
    const a = await host.callMethod("billing.agent_usage", { agentId: "main" });
    expect(a.payload).toMatchObject({ agentId: "main", runwayHours: 30.5 });
  });

  it("validate params before calling creditgate", async () => {
    const { host } = setup();
    const before = cg.requests.length;
    const cases: [string, Record<string, unknown>, string][] = [
      ["billing.balance", {}, "userId: required"],
      ["billing.balance", { userId: "a b" }, "userId: required"],
      ["billing.balance", { userId: "telegram:1", extra: 1 }, "unknown param(s): extra"],
      ["billing.agent_usage", { agentId: "../x" }, "agentId: required"],
      ["billing.set_limits", { userId: "telegram:1" }, "nothing to set"],
      ["billing.set_limits", { userId: "telegram:1", daily: "-2" }, "daily: a non-negative credit amount"],
      ["billing.set_limits", { userId: "telegram:1", daily: "2", soft: "yes" }, "soft: must be a boolean"],
      ["billing.grant", { userId: "telegram:1", credits: "0" }, "credits: must be greater than 0"],
      ["billing.grant", { userId: "telegram:1", credits: "1.0000001" }, "at most 6 decimals"],
      ["billing.grant", { userId: "telegram:1", credits: 5, reason: 7 }, "reason: a string"],
    ];
    for (const [m, p, msg] of cases) {
      const r = await host.callMethod(m, p);
      expect(r.ok, `${m} ${JSON.stringify(p)}`).toBe(false);
      expect(r.error?.code).toBe("INVALID_REQUEST");
      expect(r.error?.message).toContain(msg);
    }
    expect(cg.requests.length).toBe(before);
  });

  it("billing.set_limits and billing.grant send exact micro-credits and refresh the gate", async () => {
    cg.setUser("telegram:42", {
      balanceMicroCredits: 0,
      allowed: false,
      reason: "insufficient_balance",
      windows: [],
    });
    const { host, reg } = setup({ statusTtlMs: 600_000 });
    expect((await reg.gate.check("telegram:42")).allow).toBe(false);
    const l = await host.callMethod("billing.set_limits", {
      userId: "telegram:42",
      daily: "2",
      monthly: 20,
      soft: true,
    });
    expect(l.ok).toBe(true);
    expect(cg.limits.get("telegram:42")).toEqual({
      caps: [
        { period: "day", capMicroCredits: 2_000_000, kind: "soft" },
        { period: "month", capMicroCredits: 20_000_000, kind: "soft" },
      ],
      capsOff: [],
    });
    const g = await host.callMethod("billing.grant", {
      userId: "telegram:42",
      credits: "2.5",
      reason: "welcome",
      idempotencyKey: "welcome:42",
    });
    expect(g.ok).toBe(true);
    expect(cg.grants[0]).toMatchObject({
      userId: "telegram:42",
      amountMicroCredits: 2_500_000,
      reason: "welcome",
      idempotencyKey: "welcome:42",
    });
    // creditgate's grant body: exact decimal credits, reason and key, nothing else.
    expect(cg.requests.find((r) => r.path.endsWith("/grants"))?.body).toEqual({
      credits: "2.5",
      reason: "welcome",
      idempotencyKey: "welcome:42",
    });
    expect((await reg.gate.check("telegram:42")).allow).toBe(true);
  });

  it("creditgate errors: 4xx → INVALID_REQUEST/NOT_FOUND with details, outage → UNAVAILABLE (retryable)", async () => {
    const { host } = setup({ requestTimeoutMs: 300 });
    cg.failWith = (_m, p) => (p.includes("/grants") ? 404 : undefined);
    const nf = await host.callMethod("billing.grant", { userId: "telegram:1", credits: 1 });
    expect(nf.error).toMatchObject({ code: "NOT_FOUND", details: { status: 404, code: "injected" } });
    cg.mode = "down";
    const down = await host.callMethod("billing.balance", { userId: "telegram:1" });
    expect(down.error).toMatchObject({ code: "UNAVAILABLE", retryable: true });
  });

  it("wrong API key is an error, not a crash", async () => {
    const host = createFakeHost({ apiUrl: cg.url, apiToken: "wrong" });
    registerCreditgate(host.api);
    const r = await host.callMethod("billing.balance", { userId: "telegram:1" });
    expect(r.error?.message).toContain("HTTP 401");
  });
});

describe("billing.grant whose answer is lost (case grant-answer-lost-new-key)", () => {
  const params = { userId: "telegram:5550102", credits: "5", reason: "support refund" };
  beforeEach(() => {
    cg.setUser("telegram:5550102", {
      balanceMicroCredits: 0,
      allowed: false,
      reason: "insufficient_balance",
      windows: [],
    });
  });

  /** A caller that retries what the gateway marks retryable (a script, an agent tool, a UI). */
  async function callAsCallerDoes(host: ReturnType<typeof setup>["host"], p: Record<string, unknown>) {
    let r = await host.callMethod("billing.grant", p);
    for (let i = 0; i < 3 && !r.ok && r.error?.retryable === true; i++)
      r = await host.callMethod("billing.grant", p);
    return r;
  }

  it("applied once although its first answer was lost and the caller retries", async () => {
    const { host } = setup();
    cg.loseGrantAnswers = 1; // creditgate applied the grant; the answer never arrived
    const r = await callAsCallerDoes(host, params);
    expect(r.ok).toBe(true);
    expect(cg.grants).toHaveLength(1);
    expect(cg.users.get("telegram:5550102")?.balanceMicroCredits).toBe(5_000_000);
  });

  it("every answer lost: not retryable as sent, and the key that applies it at most once", async () => {
    const { host } = setup();
    cg.loseGrantAnswers = 100;
    const r = await callAsCallerDoes(host, params);
    expect(r.ok).toBe(false);
    expect(r.error).toMatchObject({ code: "UNAVAILABLE", retryable: false });
    const key = (r.error?.details as { idempotencyKey?: string } | undefined)?.idempotencyKey;
    expect(key).toMatch(/^openclaw-gateway:/);
    expect(r.error?.message).toContain(key);
    cg.loseGrantAnswers = 0;
    const again = await host.callMethod("billing.grant", { ...params, idempotencyKey: key });
    expect(again.ok).toBe(true);
    expect(cg.grants).toHaveLength(1);
    expect(cg.users.get("telegram:5550102")?.balanceMicroCredits).toBe(5_000_000);
  });

  it("the caller's own key: retrying as sent is safe, so it stays retryable", async () => {
    const { host } = setup();
    cg.loseGrantAnswers = 100;
    const p = { ...params, idempotencyKey: "ticket-4411" };
    const r = await host.callMethod("billing.grant", p);
    expect(r.error).toMatchObject({
      code: "UNAVAILABLE",
      retryable: true,
      details: { idempotencyKey: "ticket-4411" },
    });
    cg.loseGrantAnswers = 0;
    expect((await callAsCallerDoes(host, p)).ok).toBe(true);
    expect(cg.grants).toHaveLength(1);
    expect(cg.users.get("telegram:5550102")?.balanceMicroCredits).toBe(5_000_000);
  });
});

describe("param parsers", () => {
  it("credits are exact to 6 decimals", () => {
    expect(creditsToMicro("0.000001", "x", { allowZero: false })).toBe(1);
    expect(creditsToMicro(2.5, "x", { allowZero: false })).toBe(2_500_000);
    expect(creditsToMicro("20", "x", { allowZero: true })).toBe(20_000_000);
    expect(() => creditsToMicro("1e3", "x", { allowZero: true })).toThrow();
  });
  it("limits: null removes a cap, overdraft allowed, merged into the user's current rules", () => {
    const { userId, patch } = parseSetLimits({ userId: "t:1", daily: null, monthly: "20", overdraft: "0.5" });
    expect(userId).toBe("t:1");
    expect(patch).toEqual({
      caps: { day: null, month: { capMicroCredits: 20_000_000, kind: "hard" } },
      overdraftMicroCredits: 500_000,
    });
    const current = {
      caps: [
        { period: "day" as const, capMicroCredits: 2_000_000, kind: "hard" as const },
        { period: "week" as const, capMicroCredits: 9_000_000, kind: "soft" as const },
      ],
      language: "es" as const,
    };
    expect(mergeLimits(current, patch)).toEqual({
      caps: [
        { period: "week", capMicroCredits: 9_000_000, kind: "soft" },
        { period: "month", capMicroCredits: 20_000_000, kind: "hard" },
      ],
      // rules stored without capsOff replaced all of the defaults' caps: the daily window, removed
      // here, stays off for this user rather than falling back to the defaults', and so does the
      // weekly one, which has a soft cap only (the defaults' are followed per window and kind)
      capsOff: ["day", "week"],
      language: "es",
      floorMicroCredits: -500_000,
    });
    expect(() => parseSetLimits({ userId: "t:1", daily: "0" })).toThrow(/daily/);
    expect(parseGrant({ userId: "t:1", credits: "3" }).body.reason).toBe("grant via OpenClaw gateway");
  });

  it("case limits-user-caps-follow-defaults: a window the patch does not name follows the defaults' caps", () => {
    // before: {caps: [day 3]} without capsOff, which creditgate reads as replacing ALL of the
    // defaults' caps (the defaults' monthly cap no longer applied to this user)
    expect(mergeLimits(null, parseSetLimits({ userId: "t:1", daily: "3" }).patch)).toEqual({
      caps: [{ period: "day", capMicroCredits: 3_000_000, kind: "hard" }],
      capsOff: [],
    });
    const perWindow = {
      caps: [{ period: "week" as const, capMicroCredits: 9_000_000, kind: "soft" as const }],
      capsOff: [],
    };
    expect(mergeLimits(perWindow, parseSetLimits({ userId: "t:1", monthly: null }).patch)).toEqual({
      caps: [{ period: "week", capMicroCredits: 9_000_000, kind: "soft" }],
      capsOff: ["month"],
    });
    // only the overdraft: the caps (and their meaning) untouched
    expect(mergeLimits(perWindow, parseSetLimits({ userId: "t:1", overdraft: "1" }).patch)).toEqual({
      ...perWindow,
      floorMicroCredits: -1_000_000,
    });
  });

  it("case limits-soft-cap-keeps-hard-cap: a soft cap replaces only the window's soft cap", () => {
    const hard = {
      caps: [{ period: "day" as const, capMicroCredits: 5_000_000, kind: "hard" as const }],
      capsOff: [],
    };
    // before: [day soft 4] only (the user's own hard daily cap of 5 was dropped)
    expect(mergeLimits(hard, parseSetLimits({ userId: "t:1", daily: "4", soft: true }).patch)).toEqual({
      caps: [
        { period: "day", capMicroCredits: 5_000_000, kind: "hard" },
        { period: "day", capMicroCredits: 4_000_000, kind: "soft" },
      ],
      capsOff: [],
    });
    // a window turned off keeps the defaults' caps off when a soft cap is added in it
    const off = { caps: [], capsOff: ["month" as const] };
    expect(mergeLimits(off, parseSetLimits({ userId: "t:1", monthly: "30", soft: true }).patch)).toEqual({
      caps: [{ period: "month", capMicroCredits: 30_000_000, kind: "soft" }],
      capsOff: ["month"],
    });
    // null still takes the whole window away
    expect(mergeLimits(hard, parseSetLimits({ userId: "t:1", daily: null }).patch)).toEqual({
      caps: [],
      capsOff: ["day"],
    });
  });

  it("grant: creditgate needs an idempotency key, so a missing one is made (one grant per call)", () => {
    const a = parseGrant({ userId: "Telegram:1", credits: 0.000001 });
    const b = parseGrant({ userId: "telegram:1", credits: "12.340000" });
    expect(a).toMatchObject({ userId: "telegram:1", amountMicroCredits: 1, body: { credits: "0.000001" } });
    expect(b.body.credits).toBe("12.34");
    expect(a.body.idempotencyKey).toMatch(/^openclaw-gateway:[0-9a-f-]{36}$/);
    expect(b.body.idempotencyKey).not.toBe(a.body.idempotencyKey);
    expect(parseGrant({ userId: "t:1", credits: "1", idempotencyKey: "welcome/1" }).body.idempotencyKey).toBe(
      "welcome/1",
    );
    expect(() => parseGrant({ userId: "t:1", credits: "1", idempotencyKey: "has space" })).toThrow(
      /idempotencyKey/,
    );
    expect(microToCredits(2_500_000)).toBe("2.5");
    expect(microToCredits(7_000_000)).toBe("7");
  });
});
