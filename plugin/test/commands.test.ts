import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { commandUser, isOperator, parseAutoArgs, parseRecargarArgs } from "../src/commands.js";
import { resolveConfig } from "../src/config.js";
import { credits } from "../src/i18n.js";
import { registerCreditgate } from "../src/index.js";
import type { PluginCommandContext } from "../src/openclaw-types.js";
import { FakeCreditgate } from "./support/fake-creditgate.mjs";
import { createFakeHost } from "./support/fake-host.js";
import { telegramSees } from "./support/telegram-render.js";

let cg: FakeCreditgate;
beforeEach(async () => {
  cg = await new FakeCreditgate({ token: "k" }).start();
  cg.setUser("telegram:5550101", {
    balanceMicroCredits: 3_250_000,
    allowed: true,
    reason: null,
    windows: [
      {
        period: "day",
        capMicroCredits: 2_000_000,
        spentMicroCredits: 420_000,
        resetsAt: "2026-11-23T00:00:00.000Z",
      },
      {
        period: "month",
        capMicroCredits: 20_000_000,
        spentMicroCredits: 5_250_000,
        resetsAt: "2026-12-01T00:00:00.000Z",
        kind: "soft",
      },
    ],
  });
});
afterEach(async () => {
  await cg.stop();
});

function setup(extra: Record<string, unknown> = {}) {
  const host = createFakeHost({ apiUrl: cg.url, apiToken: "k", ...extra });
  registerCreditgate(host.api);
  return host;
}
const henry = {
  senderId: "5550101",
  channelId: "telegram",
  sessionKey: "agent:main:telegram:direct:5550101",
};

describe("/consumo", () => {
  it("Spanish (default): balance, today, month, each limit with use, no hint when not low", async () => {
    const host = setup();
    // What the Telegram user reads (the reply is escaped Markdown, see test/outbound.test.ts).
    const text = telegramSees(await host.runCommand("consumo", henry)).text;
    expect(text).toBe(
      [
        "💳 Saldo: 3.25 créditos",
        "Hoy: 3 solicitudes · 12.345 tokens · 0.42 créditos",
        "Este mes: 40 solicitudes · 1.234.567 tokens · 5.25 créditos",
        "Límites:",
        " • diario (bloquea): 0.42 / 2.00 créditos (21 %) · se reinicia 2026-11-23 00:00 UTC",
        " • mensual (aviso): 5.25 / 20.00 créditos (26 %) · se reinicia 2026-12-01 00:00 UTC",
      ].join("\n"),
    );
    expect(cg.requests.some((r) => r.path === "/v1/users/telegram%3A5550101/consumo")).toBe(true);
  });

  it("shows paid + bonus and the next expiry (en and es); plain paid credit adds no line", async () => {
    const breakdown = {
      paidMicroCredits: 3_200_000,
      promotionalMicroCredits: 1_000_000,
      refundCreditMicroCredits: 0,
      debtMicroCredits: 0,
      nextExpiry: { at: "2026-12-30T00:00:00.000Z", microCredits: 1_000_000, kind: "promotional" },
    };
    cg.setUser("telegram:5550101", {
      balanceMicroCredits: 4_200_000,
      windows: [],
      consumo: { credits: breakdown },
    });
    const en = await setup({ language: "en" }).runCommand("consumo", henry);
    expect(en.split("\n").slice(0, 2)).toEqual([
      "💳 Balance: 4.20 credits",
      "3.20 paid + 1.00 bonus, 1.00 expires on 2026-12-30",
    ]);
    const es = telegramSees(await setup().runCommand("consumo", henry)).text;
    expect(es.split("\n").slice(0, 2)).toEqual([
      "💳 Saldo: 4.20 créditos",
      "3.20 pagados + 1.00 de bonificación, 1.00 vencen el 2026-12-30",
    ]);
    // An expiry that is not at midnight keeps its time; refund credit is named.
    cg.setUser("telegram:5550101", {
      balanceMicroCredits: 1_500_000,
      windows: [],
      consumo: {
        credits: {
          ...breakdown,
          paidMicroCredits: 0,
          promotionalMicroCredits: 1_000_000,
          refundCreditMicroCredits: 500_000,
          nextExpiry: { at: "2026-12-30T18:30:00.000Z", microCredits: 1_000_000, kind: "promotional" },
        },
      },
    });
    expect(await setup({ language: "en" }).runCommand("consumo", henry)).toContain(
      "1.00 bonus + 0.50 refund credit, 1.00 expires on 2026-12-30 18:30 UTC",
    );
    // Only paid credit, nothing expiring: the balance line says it all.
    cg.setUser("telegram:5550101", {
      balanceMicroCredits: 3_200_000,
      windows: [],
      consumo: { credits: { ...breakdown, promotionalMicroCredits: 0, nextExpiry: null } },
    });
    const plain = await setup({ language: "en" }).runCommand("consumo", henry);
    expect(plain.split("\n")[1]).toMatch(/^Today:/);
  });

  it("English, with the low-balance top-up hint", async () => {
    cg.setUser("telegram:5550101", { balanceMicroCredits: 400_000, windows: [] });
    const host = setup({ language: "en" });
    const text = await host.runCommand("consumo", henry);
    expect(text).toContain("💳 Balance: 0.40 credits");
    expect(text).toContain("Today: 3 requests · 12,345 tokens · 0.42 credits");
    expect(text).toContain("No spending limits.");
    expect(text).toContain("⚠️ Your balance is running low. Use /recargar to top up.");
  });

  it("uses the server's topupHint when it sends one, and says when the user is blocked", async () => {
    cg.setUser("whatsapp:+15551234567", {
      balanceMicroCredits: 0,
      allowed: false,
      reason: "insufficient_balance",
      windows: [],
      consumo: { topupHint: "Recarga con /recargar starter" },
    });
    const host = setup();
    const text = await host.runCommand("consumo", {
      channel: "whatsapp",
      channelId: "whatsapp",
      senderId: "+15551234567",
      sessionKey: "agent:main:whatsapp:direct:+15551234567",
    });
    expect(text).toContain("⛔ Tu saldo se agotó.");
    expect(text).toContain("⚠️ Recarga con /recargar starter");
  });

  it("a user blocked on the headroom sees the balance, a typical reply's cost and the top-up hint", async () => {
    cg.setUser("telegram:5550101", {
      balanceMicroCredits: 30_000,
      allowed: false,
      reason: "insufficient_headroom",
      headroom: { microCredits: 80_000, credits: "0.08", basis: "p95" },
      windows: [],
      consumo: { lowBalance: false },
    });
    const host = setup({ language: "en" });
    const text = await host.runCommand("consumo", henry);
    expect(text).toContain(
      "⛔ Your balance (0.03 credits) is not enough to start a reply: a typical reply costs up to 0.08 credits.",
    );
    expect(text).toContain("⚠️ Your balance is running low. Use /recargar to top up.");
  });

  it("creditgate down: a friendly answer and a log line, not an exception", async () => {
    const host = setup({ requestTimeoutMs: 200 });
    cg.mode = "down";
    const text = await host.runCommand("consumo", henry);
    expect(text).toContain("no responde");
    expect(host.logs.some((l) => l.level === "warn" && l.msg.includes("/consumo failed"))).toBe(true);
  });
});

describe("/saldo", () => {
  it("balance only, always fresh", async () => {
    const host = setup();
    expect(await host.runCommand("saldo", henry)).toBe("💳 Saldo: 3.25 créditos");
    cg.setUser("telegram:5550101", { balanceMicroCredits: 8_250_000 });
    expect(await host.runCommand("saldo", henry)).toBe("💳 Saldo: 8.25 créditos");
  });
});

describe("/recargar auto", () => {
  it("parses on/off, pack and threshold (comma or dot), and leaves plain packs alone", () => {
    expect(parseAutoArgs("starter")).toBeNull();
    expect(parseAutoArgs("auto off")).toEqual({ off: true });
    expect(parseAutoArgs("AUTO desactivar")).toEqual({ off: true });
    expect(parseAutoArgs("auto starter 2,5")).toEqual({
      off: false,
      pack: "starter",
      threshold: "2.5",
      bad: false,
    });
    expect(parseAutoArgs("auto starter")).toEqual({
      off: false,
      pack: "starter",
      threshold: null,
      bad: false,
    });
    expect(parseAutoArgs("auto starter dos")).toMatchObject({ bad: true });
    expect(parseAutoArgs("auto")).toMatchObject({ pack: null });
  });

  it("Spanish: with no saved card, turns it on and replies with a save-card Stripe link", async () => {
    const host = setup({ defaultProvider: "mercadopago" });
    const text = await host.runCommand("recargar", { ...henry, args: "auto starter 2" });
    expect(cg.autotopup.get("telegram:5550101")).toMatchObject({
      enabled: true,
      packId: "starter",
      threshold: "2.00",
    });
    expect(cg.topups.at(-1)).toMatchObject({ packId: "starter", provider: "stripe", saveCard: true });
    expect(text).toContain("paga una vez aquí y se guardará tu tarjeta");
    expect(text).toContain(cg.topups.at(-1)?.url);
  });

  it("English: with a saved card, confirms with brand and last 4; `auto off` turns it off", async () => {
    const host = setup({ language: "en" });
    cg.cards.set("telegram:5550101", { brand: "visa", last4: "4242" });
    const on = await host.runCommand("recargar", { ...henry, args: "auto 1" });
    expect(on).toContain(
      "Auto top-up is on: when your balance drops below 1.00 credits, we add 5 credits (starter)",
    );
    expect(on).toContain("visa •••• 4242");
    expect(cg.topups).toHaveLength(0);
    expect(await host.runCommand("recargar", { ...henry, args: "auto off" })).toBe(
      "Auto top-up is off. Your saved card will not be charged again.",
    );
    expect(cg.autotopup.get("telegram:5550101")).toMatchObject({ enabled: false });
  });

  it("refuses what cannot work: no pack, a bad threshold, a pack without a Stripe price", async () => {
    const host = setup();
    cg.packs = cg.packs.map((p) =>
      p.id === "starter" ? { ...p, prices: p.prices.filter((x) => x.provider !== "stripe") } : p,
    );
    expect(telegramSees(await host.runCommand("recargar", { ...henry, args: "auto" })).text).toContain(
      "/recargar auto <paquete>",
    );
    expect(await host.runCommand("recargar", { ...henry, args: "auto plus x" })).toContain(
      "/recargar auto off",
    );
    expect(await host.runCommand("recargar", { ...henry, args: "auto starter" })).toContain(
      "el paquete starter no tiene precio en Stripe",
    );
    expect(cg.autotopup.size).toBe(0);
  });
});

describe("/recargar", () => {
  it("without args lists the packs with prices", async () => {
    const host = setup();
    const text = telegramSees(await host.runCommand("recargar", henry)).text;
    expect(text).toContain("1. starter: 5 créditos — 5.00 USD (Stripe), 5000 ARS (MercadoPago)");
    expect(text).toContain("2. plus: 25 créditos — 20.00 USD (Stripe)");
    expect(text).toContain("/recargar <paquete>");
  });

  it("with a pack replies with a payment link from the configured provider", async () => {
    const host = setup({ defaultProvider: "mercadopago" });
    const text = await host.runCommand("recargar", { ...henry, args: "starter" });
    expect(cg.topups).toHaveLength(1);
    expect(cg.topups[0]).toMatchObject({
      userId: "telegram:5550101",
      packId: "starter",
      provider: "mercadopago",
    });
    expect(text).toContain(cg.topups[0]?.url);
    expect(text).toContain("MercadoPago");
    expect(text).toContain("2030-01-01 12:00 UTC");
  });

  it("the user's provider choice wins; a pack number works; unknown packs and providers are explained", async () => {
    const host = setup({ defaultProvider: "mercadopago" });
    await host.runCommand("recargar", { ...henry, args: "1 stripe" });
    expect(cg.topups.at(-1)).toMatchObject({ packId: "starter", provider: "stripe" });
    // `plus` has only Stripe: the default provider falls back to what the pack offers
    await host.runCommand("recargar", { ...henry, args: "plus" });
    expect(cg.topups.at(-1)).toMatchObject({ packId: "plus", provider: "stripe" });
    // ...but an explicit choice that the pack does not offer is refused
    expect(await host.runCommand("recargar", { ...henry, args: "plus mp" })).toContain(
      "El paquete plus no se puede pagar con MercadoPago. Opciones: Stripe.",
    );
    expect(await host.runCommand("recargar", { ...henry, args: "mega" })).toContain(
      "No existe el paquete «mega».",
    );
    expect(cg.topups).toHaveLength(2);
  });

  it("a provider creditgate has disabled (503 provider_disabled): another one the pack offers, else a clear answer", async () => {
    const host = setup(); // defaultProvider stripe
    cg.disabledProviders.add("stripe");
    const viaMp = await host.runCommand("recargar", { ...henry, args: "starter" });
    expect(cg.topups.at(-1)).toMatchObject({ packId: "starter", provider: "mercadopago" });
    expect(viaMp).toContain("MercadoPago");
    // the user's own choice is not swapped
    expect(await host.runCommand("recargar", { ...henry, args: "starter stripe" })).toBe(
      "Los pagos con Stripe no están habilitados en este momento. Prueba con: MercadoPago.",
    );
    cg.disabledProviders.add("mercadopago");
    expect(await host.runCommand("recargar", { ...henry, args: "starter" })).toBe(
      "Los pagos con Stripe, MercadoPago no están habilitados en este momento. Avísale al operador del bot.",
    );
    expect(cg.topups).toHaveLength(1);
    expect(host.logs.some((l) => l.level === "warn" && l.msg.includes("stripe is disabled"))).toBe(true);
  });

  it('finds a pack by its credits as creditgate lists them ("5.00")', async () => {
    const host = setup();
    cg.packs = cg.packs.map((p) => ({ ...p, credits: `${p.credits}.00` }));
    await host.runCommand("recargar", { ...henry, args: "25" });
    expect(cg.topups.at(-1)).toMatchObject({ packId: "plus" });
  });

  it("parses args in any order", () => {
    expect(parseRecargarArgs("mp starter")).toEqual({ pack: "starter", provider: "mercadopago" });
    expect(parseRecargarArgs(" Stripe ")).toEqual({ pack: null, provider: "stripe" });
    expect(parseRecargarArgs(undefined)).toEqual({ pack: null, provider: null });
  });
});

describe("/burn (operator only)", () => {
  it("answers the owner with spend rate and runway of the agent", async () => {
    const host = setup();
    const text = await host.runCommand("burn", { ...henry, senderIsOwner: true, agentId: "main" });
    expect(text).toBe(
      "🔥 Consumo del bot main\nÚltima hora: 1.50 créditos\nÚltimas 24 h: 12.00 créditos\nAutonomía estimada: 30.5 h",
    );
    expect(cg.requests.map((r) => r.path)).toContain("/v1/agents/main/burn");
  });

  it("shows the operator budgets of the bot (used / limit / mode) and a hard one that is blocking", async () => {
    cg.budgetViews = [
      {
        name: "all",
        scope: "all",
        subject: "",
        period: "month",
        mode: "soft",
        limitUsd: "500",
        spentUsd: "120.5",
        usedPct: 24.1,
        windowEndMs: Date.UTC(2026, 11, 1),
      },
      {
        name: "agent:main",
        scope: "agent",
        subject: "main",
        period: "day",
        mode: "hard",
        limitUsd: "5",
        spentUsd: "5.2",
        usedPct: 104,
        windowEndMs: Date.UTC(2026, 10, 24),
      },
      {
        name: "agent:other",
        scope: "agent",
        subject: "other",
        period: "day",
        mode: "hard",
        limitUsd: "1",
        spentUsd: "0",
        usedPct: 0,
        windowEndMs: Date.UTC(2026, 10, 24),
      },
    ];
    const host = setup({ language: "en" });
    // Leading spaces reach the chat as no-break spaces (outbound.ts).
    const text = (await host.runCommand("burn", { ...henry, senderIsOwner: true, agentId: "main" })).replace(
      /\u00a0/g,
      " ",
    );
    expect(text.split("\n\n").at(-1)).toBe(
      [
        "Operator budgets (provider cost):",
        " • all monthly (soft: alerts): $120.5 / $500 (24.1%)",
        " • agent:main daily (hard: blocks): $5.2 / $5 (104%)",
        "   ⛔ used up: this bot's users are blocked until 2026-11-24 00:00 UTC",
      ].join("\n"),
    );
    const es = (await setup().runCommand("burn", { ...henry, senderIsOwner: true, agentId: "main" })).replace(
      /\u00a0/g,
      " ",
    );
    expect(es).toContain(" • agent:main diario (bloquea): US$5.2 / US$5 (104 %)");
    expect(es).toContain(
      "   ⛔ agotado: los usuarios de este bot están bloqueados hasta el 2026-11-24 00:00 UTC",
    );
  });

  it("refuses other senders (OC senderIsOwner=false) without calling creditgate", async () => {
    const host = setup();
    const before = cg.requests.length;
    expect(await host.runCommand("burn", { ...henry, senderIsOwner: false })).toBe(
      "Este comando es solo para el operador.",
    );
    expect(cg.requests.length).toBe(before);
    const def = host.commands.get("burn");
    expect(def?.requiredScopes).toEqual(["operator.read"]);
    expect(def?.requireAuth).toBe(true);
  });

  it("Clawdbot (no owner flag): allow-listed sender, or the configured operators list", () => {
    const ctx = {
      channel: "telegram",
      senderId: "5550101",
      isAuthorizedSender: true,
      commandBody: "/burn",
      config: {},
    };
    expect(isOperator(ctx, resolveConfig({}))).toBe(true);
    expect(isOperator(ctx, resolveConfig({ operators: ["telegram:999"] }))).toBe(false);
    expect(isOperator(ctx, resolveConfig({ operators: ["Telegram:5550101"] }))).toBe(true);
    expect(isOperator({ ...ctx, isAuthorizedSender: false }, resolveConfig({}))).toBe(false);
  });
});

describe("who is the user", () => {
  const base: PluginCommandContext = {
    channel: "telegram",
    isAuthorizedSender: true,
    commandBody: "/consumo",
    config: {},
  };
  it("OC: parses the DM session key like the meter (direct and legacy dm, per-account, identityLinks names)", () => {
    expect(
      commandUser({ ...base, sessionKey: "agent:main:telegram:direct:5550101", senderId: "5550101" }),
    ).toBe("telegram:5550101");
    expect(commandUser({ ...base, sessionKey: "agent:main:telegram:dm:5550101" })).toBe("telegram:5550101");
    expect(commandUser({ ...base, sessionKey: "agent:support:telegram:bot2:direct:42" })).toBe("telegram:42");
    expect(commandUser({ ...base, sessionKey: "agent:main:telegram:direct:Alice", senderId: "123" })).toBe(
      "telegram:alice",
    );
    expect(
      commandUser({
        ...base,
        sessionKey: "agent:main:direct:+1555",
        channelId: "whatsapp",
        channel: "whatsapp",
      }),
    ).toBe("whatsapp:+1555");
  });
  it("falls back to <channel>:<senderId> lower-cased (Clawdbot, or a non-DM key)", () => {
    expect(commandUser({ ...base, senderId: "5550101" })).toBe("telegram:5550101");
    expect(commandUser({ ...base, channel: "WhatsApp", senderId: "+15551234567" })).toBe(
      "whatsapp:+15551234567",
    );
    expect(commandUser({ ...base, sessionKey: "agent:main:main", senderId: "ABC" })).toBe("telegram:abc");
    expect(commandUser({ ...base })).toBeNull();
  });
  it("a person linked by the host's session.identityLinks is the link's name (as the meter bills)", () => {
    const config = { session: { identityLinks: { Alice: ["telegram:7770707", "whatsapp:+15557770707"] } } };
    const linked = { ...base, config };
    expect(
      commandUser({ ...linked, sessionKey: "agent:main:telegram:direct:alice", senderId: "7770707" }),
    ).toBe("alice");
    expect(commandUser({ ...linked, sessionKey: "agent:main:telegram:direct:7770707" })).toBe("alice");
    expect(commandUser({ ...linked, channel: "whatsapp", senderId: "15557770707@s.whatsapp.net" })).toBe(
      "alice",
    );
    expect(commandUser({ ...linked, senderId: "7770707" })).toBe("alice");
    expect(commandUser({ ...linked, senderId: "5550101" })).toBe("telegram:5550101");
  });
  it("a Signal sender known by UUID (`uuid:<uuid>`) is signal:uuid:<uuid>, as its DM key is billed", () => {
    const u = "6f1c2a9e-4b7d-4e2a-9c3f-1a2b3c4d5e6f";
    expect(commandUser({ ...base, channel: "signal", senderId: `uuid:${u}` })).toBe(`signal:uuid:${u}`);
    expect(commandUser({ ...base, channel: "msteams", senderId: "29:1AbC" })).toBe("msteams:29:1abc");
  });
  it("an iMessage sender's raw handle is its DM key's E.164 handle (case imessage-sender-handle)", () => {
    for (const senderId of ["15550101234", "+1 (555) 010-1234", "sms:+15550101234"]) {
      expect(commandUser({ ...base, channel: "imessage", senderId }), senderId).toBe("imessage:+15550101234");
    }
    expect(commandUser({ ...base, channel: "imessage", senderId: "Dana@iCloud.com" })).toBe(
      "imessage:dana@icloud.com",
    );
    // other channels keep their sender ids as they are
    expect(commandUser({ ...base, channel: "bluebubbles", senderId: "15550101234" })).toBe(
      "bluebubbles:15550101234",
    );
  });
  it("a Google Chat sender (`users/<id>`) names no account outside its DM space's session (case googlechat-dm-space)", () => {
    const senderId = "users/112233445566778899";
    expect(commandUser({ ...base, channel: "googlechat", senderId })).toBeNull();
    expect(
      commandUser({
        ...base,
        channel: "googlechat",
        senderId,
        sessionKey: "agent:main:googlechat:group:spaces/bbbb",
      }),
    ).toBeNull();
    expect(
      commandUser({
        ...base,
        channel: "googlechat",
        senderId,
        sessionKey: "agent:main:googlechat:direct:spaces/aaaa",
      }),
    ).toBe("googlechat:spaces/aaaa");
  });
  it("a Slack Grid sender is qualified by its channel key's workspace, as its DMs are keyed (case slack-grid-sender-team)", () => {
    const sessionKey = "agent:main:slack:channel:team:t0grida:channel:c0123abc";
    expect(commandUser({ ...base, channel: "slack", senderId: "U07ABC", sessionKey })).toBe(
      "slack:team:t0grida:user:u07abc",
    );
    expect(commandUser({ ...base, channel: "slack", senderId: "team:T0GRIDA:user:U07ABC" })).toBe(
      "slack:team:t0grida:user:u07abc",
    );
    expect(
      commandUser({
        ...base,
        channel: "slack",
        senderId: "U07ABC",
        sessionKey: "agent:main:slack:channel:c1",
      }),
    ).toBe("slack:u07abc");
  });
  it("a Matrix per-room DM (`matrix:channel:<roomId>`) is its sender, the account the meter bills (case matrix-per-room-dm)", () => {
    const sessionKey = "agent:main:matrix:channel:!dMrOoMaLiCe:example.org";
    expect(commandUser({ ...base, channel: "matrix", sessionKey, senderId: "@Alice:example.org" })).toBe(
      "matrix:@alice:example.org",
    );
  });
  it("unidentifiable sender gets an explanation", async () => {
    const host = setup();
    expect(await host.runCommand("saldo", { senderId: undefined })).toBe(
      "No pude identificar tu cuenta en este chat.",
    );
  });
});

describe("config toggles", () => {
  it("only enabled commands are registered, all with requireAuth:false except /burn", async () => {
    const host = setup({ commands: { burn: false, saldo: false, tokens: false } });
    expect([...host.commands.keys()].sort()).toEqual(["consumo", "recargar"]);
    for (const c of host.commands.values()) expect(c.requireAuth).toBe(false);
  });
});

it("credits() is exact and keeps at least two decimals", () => {
  expect(credits(0)).toBe("0.00");
  expect(credits(1)).toBe("0.000001");
  expect(credits(3_250_000)).toBe("3.25");
  expect(credits(-1_500_000)).toBe("-1.50");
  expect(credits(12_345_678_901)).toBe("12345.678901");
});

describe("case chat-reply-user-language: a user the operator set to English is answered in English", () => {
  beforeEach(() => {
    // `creditgate limits set telegram:5550103 --language en`: creditgate's status and /consumo say so
    cg.setUser("telegram:5550103", {
      balanceMicroCredits: 0,
      allowed: false,
      reason: "insufficient_balance",
      windows: [],
      language: "en",
    });
  });

  it("the gate's refusal, /consumo, /saldo and /recargar follow the user's language, not the plugin's (es)", async () => {
    const host = setup();
    const gate = await host.inbound({ senderId: "5550103", text: "hello, can you help?" });
    expect(gate.by).toBe("before_dispatch");
    expect(gate.reply).toContain("Your balance is used up.");
    expect(gate.reply).not.toContain("saldo");
    const ctx = { channel: "telegram", senderId: "5550103" };
    const consumo = await host.runCommand("consumo", ctx);
    expect(consumo).toContain("Balance: 0.00 credits");
    expect(consumo).toContain("Today: 3 requests");
    expect(consumo).not.toMatch(/Saldo|Hoy|solicitudes/);
    expect(await host.runCommand("saldo", ctx)).toContain("Balance: 0.00 credits");
    const packs = await host.runCommand("recargar", ctx);
    expect(packs).toContain("Available packs:");
    const link = await host.runCommand("recargar", { ...ctx, args: "starter" });
    expect(link).toContain("To add 5 credits (starter) pay with Stripe here:");
  });

  it("a user without a chosen language is answered in the plugin's language, as before", async () => {
    cg.setUser("telegram:5550103", { language: undefined });
    const host = setup();
    const gate = await host.inbound({ senderId: "5550103", text: "hola" });
    expect(gate.reply).toContain("Tu saldo se agotó.");
    expect(await host.runCommand("saldo", { channel: "telegram", senderId: "5550103" })).toContain(
      "Saldo: 0.00 créditos",
    );
  });
});
