import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { registerCreditgate } from "../src/index.js";
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
  cg.setUser("telegram:5550102", {
    balanceMicroCredits: 0,
    allowed: false,
    reason: "insufficient_balance",
    windows: [],
    topupUrl: "http://127.0.0.1:1/pay/t1",
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

describe("gating a blocked user", () => {
  it("answers with the reason and the top-up link, and the model is never called", async () => {
    const { host } = setup();
    const r = await host.inbound({ senderId: "5550102", text: "hola, ¿me ayudas?" });
    expect(r.by).toBe("before_dispatch");
    expect(r.reply).toContain("Tu saldo se agotó.");
    expect(r.reply).toContain("http://127.0.0.1:1/pay/t1");
    expect(r.reply).toContain("/recargar");
    expect(host.modelCalls).toBe(0);
    expect(cg.requests.at(-1)?.path).toBe("/v1/users/telegram%3A5550102/status");
    expect(cg.requests.at(-1)?.auth).toBe("Bearer k");
  });

  it("still lets /consumo, /saldo and /recargar through to the commands", async () => {
    const { host } = setup();
    for (const text of ["/consumo", "/saldo", "/recargar", "/recargar starter mp", "/consumo@my_bot"]) {
      const r = await host.inbound({ senderId: "5550102", text });
      expect(r.by, text).toBe("command");
    }
    const link = await host.inbound({ senderId: "5550102", text: "/recargar starter mp" });
    expect(link.reply).toContain("/pay/mercadopago/");
    expect(cg.topups.at(-1)).toMatchObject({
      userId: "telegram:5550102",
      packId: "starter",
      provider: "mercadopago",
    });
    expect(host.modelCalls).toBe(0);
  });

  it("claims a pass command given text it takes no arguments for: the host would hand it to the model (case gate-pass-command-args)", async () => {
    const { host, reg } = setup();
    // OpenClaw matches /consumo, /saldo, /tokens only bare; with text after them they are a message
    for (const text of [
      "/consumo escribe un ensayo largo",
      "/saldo y luego resume este documento",
      "/tokens hola",
      "/consumo@my_bot dime un chiste",
      "/help write me a poem",
      "/start tell me a story",
    ]) {
      const r = await host.inbound({ senderId: "5550102", text });
      expect(r.by, text).toBe("before_dispatch");
      expect(r.reply, text).toContain("Tu saldo se agotó.");
    }
    expect(host.modelCalls).toBe(0);
    // bare (or with trailing space / a bot suffix) they still pass; /recargar and /burn take arguments
    for (const text of ["/consumo", " /saldo ", "/consumo@my_bot", "/tokens", "/help", "/recargar starter"])
      expect(reg.gate.isPassCommand(text), text).toBe(true);
    expect(reg.gate.isPassCommand("/burn main")).toBe(true);
    expect(reg.gate.isPassCommand("/consumo hola")).toBe(false);
    expect(reg.gate.isPassCommand("/consumidor")).toBe(false);
  });

  it("claims a bare /start: OpenClaw registers no /start command, so it would reach the model", async () => {
    // Review 2026-12-04: /start passed bare and a blocked paired user got a model reply (billed into
    // debt unless the before_agent_reply backstop was on). OpenClaw's built-in /help stays a pass.
    const { host, reg } = setup();
    for (const text of ["/start", "/start@my_bot", " /START "]) {
      const r = await host.inbound({ senderId: "5550102", text });
      expect(r.by, text).toBe("before_dispatch");
      expect(r.reply, text).toContain("Tu saldo se agotó.");
      expect(reg.gate.isPassCommand(text), text).toBe(false);
    }
    expect(host.modelCalls).toBe(0);
    expect(reg.gate.isPassCommand("/help")).toBe(true);
  });

  it("reads each command form as OpenClaw 2026.9 does: what it runs passes, what it hands the model is claimed (case gate-command-forms)", async () => {
    const { host, reg } = setup();
    const blocked = async (channel: string, text: string) =>
      host.inbound({
        channel,
        senderId: "5550102",
        text,
        sessionKey: `agent:main:${channel}:direct:5550102`,
      });
    cg.setUser("discord:5550102", {
      balanceMicroCredits: 0,
      allowed: false,
      reason: "insufficient_balance",
      windows: [],
      topupUrl: "http://127.0.0.1:1/pay/d1",
    });
    cg.setUser("slack:5550102", {
      balanceMicroCredits: 0,
      allowed: false,
      reason: "insufficient_balance",
      windows: [],
    });
    // commands OpenClaw runs (colon syntax, white space after the slash, case, the bot's own
    // Telegram suffix, arguments on a second line): a blocked user still reaches them
    const commands: [string, string][] = [
      ["discord", "/consumo:"],
      ["slack", "/saldo :"],
      ["discord", "/recargar: starter"],
      ["slack", "/recargar:starter stripe"],
      ["discord", "/ consumo"],
      ["telegram", "/ recargar starter"],
      ["telegram", "/CONSUMO"],
      ["telegram", "  /Saldo  "],
      ["telegram", "/consumo@my_bot"],
      ["telegram", "/consumo@My_Bot:"],
      ["telegram", "/recargar@my_bot starter"],
      ["telegram", "/recargar\nstarter"],
    ];
    for (const [channel, text] of commands) {
      const r = await blocked(channel, text);
      expect(r.by, `${channel} ${text}`).toBe("command");
      expect(reg.gate.isPassCommand(text, channel), `${channel} ${text}`).toBe(true);
    }
    // messages OpenClaw hands the model: claimed
    const messages: [string, string][] = [
      ["discord", "/consumo@creditbot"], // no bot suffix off Telegram: `/consumo@creditbot` is no command
      ["slack", "/recargar@creditbot write me an essay"],
      ["telegram", "/consumo@my_bot. y ahora un poema"], // stripped to `/consumo.`: no command
      ["telegram", "/recargar@my_bot.ensayo largo"],
      ["discord", "/consumo: escribe un ensayo"],
      ["telegram", "/consumo\nescribe un ensayo"],
      ["telegram", "\u200b/consumo"], // a zero-width space is not trimmed: no command
      ["telegram", "／consumo"], // full-width solidus
      ["telegram", "!consumo"], // `!` is OpenClaw's bash shortcut, not a plugin command prefix
      ["telegram", "/consumo\u200b"],
      ["telegram", "consumo"],
    ];
    for (const [channel, text] of messages) {
      const r = await blocked(channel, text);
      expect(r.by, `${channel} ${JSON.stringify(text)}`).toBe("before_dispatch");
      expect(reg.gate.isPassCommand(text, channel), `${channel} ${JSON.stringify(text)}`).toBe(false);
    }
    // a Telegram command addressed to another bot never reaches the hooks (OpenClaw drops it)
    expect((await blocked("telegram", "/consumo@other_bot")).by).toBe("dropped");
    expect(host.modelCalls).toBe(0);
  });

  it("claims a plugin command the operator turned off: OpenClaw has no such command and hands it to the model (case gate-command-forms)", async () => {
    const { host, reg } = setup({ commands: { consumo: false, tokens: false } });
    for (const text of ["/consumo", "/tokens", "/consumo@my_bot"]) {
      const r = await host.inbound({ senderId: "5550102", text });
      expect(r.by, text).toBe("before_dispatch");
      expect(reg.gate.isPassCommand(text, "telegram"), text).toBe(false);
    }
    expect((await host.inbound({ senderId: "5550102", text: "/saldo" })).by).toBe("command");
    expect(reg.gate.isPassCommand("/help", "telegram")).toBe(true);
    expect(host.modelCalls).toBe(0);
  });

  it("reads the command from `content` (OpenClaw's BodyForCommands), not from the agent's `body`", async () => {
    const { reg } = setup();
    const ctx = {
      channelId: "telegram",
      sessionKey: "agent:main:telegram:direct:5550102",
      senderId: "5550102",
    };
    const ev = { channel: "telegram", senderId: "5550102", isGroup: false, sessionKey: ctx.sessionKey };
    // a voice note transcribed as "/consumo": OpenClaw runs no command from a transcript
    expect(
      (await reg.gate.beforeDispatch({ ...ev, content: "<media:audio>", body: "/consumo" }, ctx))?.handled,
    ).toBe(true);
    // an event with a blank content still reads body
    expect(await reg.gate.beforeDispatch({ ...ev, content: "", body: "/consumo" }, ctx)).toBeUndefined();
    expect(
      await reg.gate.beforeDispatch({ ...ev, content: "/saldo", body: "[Telegram Bob] /saldo" }, ctx),
    ).toBeUndefined();
  });

  it("stops turns that skip dispatch (gateway RPC / OpenAI HTTP) with before_agent_reply", async () => {
    const { host } = setup();
    const r = await host.inbound({ senderId: "5550102", text: "hi", path: "rpc" });
    expect(r.by).toBe("before_agent_reply");
    expect(r.reply).toContain("Tu saldo se agotó.");
    const openai = await host.inbound({
      senderId: "frank",
      text: "hi",
      path: "rpc",
      sessionKey: "agent:main:openai-user:frank",
    });
    expect(openai.by).toBe("before_agent_reply"); // unknown user in the fake = balance 0
    expect(cg.requests.at(-1)?.path).toBe("/v1/users/openai-user%3Afrank/status");
    expect(host.modelCalls).toBe(0);
    const reg = host.hooks.get("before_agent_reply")?.[0];
    expect(reg?.opts).toEqual({ eligibleTriggers: ["user"] });
  });

  it("explains caps with the reset time and does not push a top-up for them", async () => {
    cg.setUser("telegram:777", {
      balanceMicroCredits: 9_000_000,
      allowed: false,
      reason: "daily_cap",
      windows: [
        {
          period: "day",
          capMicroCredits: 2_000_000,
          spentMicroCredits: 2_100_000,
          resetsAt: "2026-11-23T00:00:00.000Z",
        },
      ],
    });
    const { host } = setup({ language: "en" });
    const r = await host.inbound({ senderId: "777", text: "hello" });
    expect(r.reply).toBe(
      "⛔ You reached your daily spending limit.\nIt resets at 2026-11-23 00:00 UTC.\nUse /consumo to see your usage.",
    );
  });
});

describe("gating on the operator's hard budget", () => {
  it("blocks the users of the agent whose budget is used up, explains it, offers no top-up; other agents pass", async () => {
    cg.budgetBlockedAgents.set("support", "2026-11-24T00:00:00.000Z");
    const { host } = setup({ language: "en" });
    const r = await host.inbound({
      senderId: "5550101",
      text: "hello",
      sessionKey: "agent:support:telegram:direct:5550101",
    });
    expect(r.by).toBe("before_dispatch");
    expect(r.reply).toBe(
      "⛔ This bot has used up the budget its operator set for this period. It is not your balance: a top-up will not help.\nPlease try again after the budget resets at 2026-11-24 00:00 UTC.",
    );
    expect(cg.requests.at(-1)?.query).toBe("?agent=support");
    expect(host.modelCalls).toBe(0);
    // The same user talking to another agent is not affected.
    const other = await host.inbound({
      senderId: "5550101",
      text: "hello",
      sessionKey: "agent:main:telegram:direct:5550101",
    });
    expect(other.by).toBe("model");
    expect(cg.requests.at(-1)?.query).toBe("?agent=main");
  });

  it("explains it in Spanish, also on turns that skip dispatch", async () => {
    cg.budgetBlockedAgents.set("support", "2026-11-24T00:00:00.000Z");
    const { host } = setup();
    const r = await host.inbound({
      senderId: "5550101",
      text: "hola",
      path: "rpc",
      agentId: "support",
    });
    expect(r.by).toBe("before_agent_reply");
    expect(r.reply).toBe(
      "⛔ Este bot agotó el presupuesto que su operador le asignó para este período. No es tu saldo: recargar no ayuda.\nIntenta de nuevo después de que el presupuesto se reinicie, el 2026-11-24 00:00 UTC.",
    );
    expect(r.reply).not.toContain("/recargar");
  });
});

describe("gating on the pre-call headroom", () => {
  const headroomUser = {
    balanceMicroCredits: 30_000,
    allowed: false,
    reason: "insufficient_headroom",
    headroom: { microCredits: 80_000, credits: "0.08", basis: "p95" },
    windows: [],
    topupUrl: "http://127.0.0.1:1/pay/t9",
  };

  it("explains in Spanish that the balance does not cover a typical reply, with the top-up hint", async () => {
    cg.setUser("telegram:888", headroomUser);
    const { host } = setup();
    const r = await host.inbound({ senderId: "888", text: "hola" });
    expect(r.by).toBe("before_dispatch");
    expect(r.reply).toBe(
      "⛔ Tu saldo (0.03 créditos) no alcanza para empezar una respuesta: una respuesta típica cuesta hasta 0.08 créditos.\n" +
        "Recarga aquí: http://127.0.0.1:1/pay/t9\nUsa /recargar para ver los paquetes y pagar.",
    );
    expect(host.modelCalls).toBe(0);
  });

  it("explains it in English, and /recargar still passes", async () => {
    cg.setUser("telegram:888", headroomUser);
    const { host } = setup({ language: "en" });
    const r = await host.inbound({ senderId: "888", text: "hello" });
    expect(r.reply).toBe(
      "⛔ Your balance (0.03 credits) is not enough to start a reply: a typical reply costs up to 0.08 credits.\n" +
        "Top up here: http://127.0.0.1:1/pay/t9\nUse /recargar to see the packs and pay.",
    );
    expect((await host.inbound({ senderId: "888", text: "/recargar" })).by).toBe("command");
    expect(host.modelCalls).toBe(0);
  });

  it("falls back to the plain reason when the status carries no headroom amount", async () => {
    const { headroom: _omit, ...noAmount } = headroomUser;
    cg.setUser("telegram:888", noAmount);
    const { host } = setup({ language: "en" });
    const r = await host.inbound({ senderId: "888", text: "hello" });
    expect(r.reply?.split("\n")[0]).toBe("⛔ Your balance does not cover the cost of one typical reply.");
    expect(r.reply).toContain("/recargar");
  });
});

describe("users who are not gated", () => {
  it("an allowed user reaches the model", async () => {
    const { host } = setup();
    const r = await host.inbound({ senderId: "5550101", text: "hola" });
    expect(r.by).toBe("model");
    expect(host.modelCalls).toBe(1);
  });

  it("operator sessions, cron turns and groups are never gated", async () => {
    const { host } = setup();
    expect((await host.inbound({ senderId: "5550102", text: "x", sessionKey: "agent:main:main" })).by).toBe(
      "model",
    );
    expect((await host.inbound({ senderId: "5550102", text: "x", path: "rpc", trigger: "cron" })).by).toBe(
      "model",
    );
    expect(
      (
        await host.inbound({
          senderId: "5550102",
          text: "x",
          isGroup: true,
          sessionKey: "agent:main:telegram:group:-100",
        })
      ).by,
    ).toBe("model");
    expect(cg.count("GET", "/v1/users/")).toBe(0);
  });
});

describe("status cache", () => {
  it("asks creditgate once per TTL and answers later messages from memory", async () => {
    const { host, reg } = setup({ statusTtlMs: 60_000 });
    await host.inbound({ senderId: "5550101", text: "1" });
    const t0 = performance.now();
    for (let i = 0; i < 200; i++) await reg.gate.check("telegram:5550101", "main");
    const perCheckMs = (performance.now() - t0) / 200;
    await host.inbound({ senderId: "5550101", text: "2" });
    expect(cg.count("GET", "/v1/users/telegram%3A5550101/status")).toBe(1);
    expect(perCheckMs).toBeLessThan(1);
  });

  it("a user who just paid reaches the model on the next message, with no notice yet (case gate-blocked-status-cached)", async () => {
    // notices off (or the worker behind): nothing tells the plugin about the top-up
    const { host } = setup({ statusTtlMs: 600_000, deliverNotices: false });
    expect((await host.inbound({ senderId: "5550102", text: "a" })).by).toBe("before_dispatch");
    expect((await host.inbound({ senderId: "5550102", text: "b" })).by).toBe("before_dispatch");
    // The user pays; creditgate credits them.
    cg.setUser("telegram:5550102", { balanceMicroCredits: 5_000_000, allowed: true, reason: null });
    expect((await host.inbound({ senderId: "5550102", text: "c" })).by).toBe("model");
    // an allowed status is cached for statusTtlMs as before: one more read, then none
    await host.inbound({ senderId: "5550102", text: "d" });
    expect(cg.count("GET", "/v1/users/telegram%3A5550102/status")).toBe(3);
  });

  it("a notice for the user (e.g. top-up received) invalidates the cached block at once", async () => {
    const { host, reg } = setup({ statusTtlMs: 600_000, blockedStatusTtlMs: 600_000, noticePollMs: 60_000 });
    expect((await host.inbound({ senderId: "5550102", text: "a" })).by).toBe("before_dispatch");
    // The user pays; creditgate credits them and queues a receipt notice.
    cg.setUser("telegram:5550102", { balanceMicroCredits: 5_000_000, allowed: true, reason: null });
    expect((await host.inbound({ senderId: "5550102", text: "b" })).by).toBe("before_dispatch"); // still cached
    cg.addNotice({
      userId: "telegram:5550102",
      kind: "topup_received",
      text: "Recibimos tu pago: +5 créditos.",
    });
    await reg.notices.pollOnce();
    expect((await host.inbound({ senderId: "5550102", text: "c" })).by).toBe("model");
  });

  it("the host registered the plugin twice: a notice seen by one registration lifts the block in the other's gate", async () => {
    // OpenClaw rebuilds and overlays plugin registries: the gate hooks and the notice service
    // can belong to different register() calls in one process.
    const a = setup({ statusTtlMs: 600_000, blockedStatusTtlMs: 600_000, noticePollMs: 60_000 });
    const b = setup({ statusTtlMs: 600_000, blockedStatusTtlMs: 600_000, noticePollMs: 60_000 });
    expect(b.reg.cache).toBe(a.reg.cache);
    expect((await b.host.inbound({ senderId: "5550102", text: "a" })).by).toBe("before_dispatch");
    cg.setUser("telegram:5550102", { balanceMicroCredits: 5_000_000, allowed: true, reason: null });
    cg.addNotice({ userId: "telegram:5550102", kind: "unblocked", text: "Ya puedes volver a escribir." });
    await a.reg.notices.pollOnce();
    expect((await b.host.inbound({ senderId: "5550102", text: "b" })).by).toBe("model");
  });

  it("concurrent messages of one user share a single status request", async () => {
    const { reg } = setup();
    await Promise.all(Array.from({ length: 20 }, () => reg.gate.check("telegram:5550101")));
    expect(cg.count("GET", "/v1/users/telegram%3A5550101/status")).toBe(1);
  });
});

describe("creditgate unreachable", () => {
  it("failOpen (default) lets messages through and logs it once per outage", async () => {
    const { host } = setup();
    cg.mode = "down";
    for (let i = 0; i < 3; i++)
      expect((await host.inbound({ senderId: "5550102", text: `m${i}` })).by).toBe("model");
    const warns = host.logs.filter((l) => l.level === "warn" && l.msg.includes("failOpen=true"));
    expect(warns).toHaveLength(1);
    expect(warns[0]?.msg).toContain("letting messages through");
    cg.mode = "up";
  });

  it("failOpen=false refuses with an 'unavailable' answer, no model call", async () => {
    const { host } = setup({ failOpen: false, requestTimeoutMs: 300 });
    cg.mode = "hang";
    const t0 = Date.now();
    const r = await host.inbound({ senderId: "5550101", text: "hola" });
    expect(Date.now() - t0).toBeLessThan(2_000);
    expect(r.by).toBe("before_dispatch");
    expect(r.reply).toContain("no responde");
    expect(host.modelCalls).toBe(0);
    expect(
      host.logs.some((l) => l.level === "warn" && l.msg.includes("failOpen=false: refusing messages")),
    ).toBe(true);
  });

  it("an outage is remembered briefly so chat does not wait on every message", async () => {
    const { host } = setup({ requestTimeoutMs: 200 });
    cg.mode = "hang";
    await host.inbound({ senderId: "5550101", text: "1" });
    const t0 = Date.now();
    await host.inbound({ senderId: "5550101", text: "2" });
    expect(Date.now() - t0).toBeLessThan(100);
  });
});

describe("a per-peer DM (`agent:<a>:direct:<peer>`) run from one of OpenClaw's own surfaces", () => {
  it("is not gated on a channel-less `direct:<peer>` account nobody tops up (the meter bills the entry's channel)", async () => {
    const { host } = setup();
    // the operator writes into telegram:5550101's per-peer DM from the Control UI (channel
    // `webchat`), or a gateway RPC without a channel: the key names no channel, the entry does
    for (const channel of ["webchat", ""]) {
      const r = await host.inbound({
        channel,
        senderId: "openclaw-control-ui",
        text: "hola",
        sessionKey: "agent:main:direct:5550101",
        path: "rpc",
      });
      expect(r.by, channel).toBe("model");
    }
    expect(cg.requests.some((q) => q.path.includes("direct%3A"))).toBe(false);
    // the user's own turn names its channel and is gated on the account the meter bills
    const own = await host.inbound({
      channel: "telegram",
      senderId: "5550102",
      text: "hola",
      sessionKey: "agent:main:direct:5550102",
    });
    expect(own.by).toBe("before_dispatch");
  });
});

describe("a Matrix per-room DM (dm.sessionScope per-room: its session is keyed as the room)", () => {
  const room = "agent:main:matrix:channel:!dMrOoMaLiCe:example.org";
  it("is gated on its sender, the account the meter bills and /recargar credits (case matrix-per-room-dm)", async () => {
    cg.setUser("matrix:@alice:example.org", {
      balanceMicroCredits: 0,
      allowed: false,
      reason: "insufficient_balance",
      windows: [],
      topupUrl: "http://127.0.0.1:1/pay/m1",
    });
    const { host } = setup();
    const alice = { channel: "matrix", senderId: "@alice:example.org", sessionKey: room };
    const r = await host.inbound({ ...alice, text: "hola" });
    expect(r.by).toBe("before_dispatch");
    expect(r.reply).toContain("http://127.0.0.1:1/pay/m1");
    expect((await host.inbound({ ...alice, text: "/recargar starter" })).by).toBe("command");
    expect(cg.topups.at(-1)).toMatchObject({ userId: "matrix:@alice:example.org", packId: "starter" });
    // a group room of the same shape stays the operator's, never gated
    expect((await host.inbound({ ...alice, text: "x", isGroup: true })).by).toBe("model");
    expect(host.modelCalls).toBe(1);
  });
});

describe("a person linked by session.identityLinks (openclaw/openclaw#1033)", () => {
  const session = { identityLinks: { Alice: ["telegram:7770707", "whatsapp:+15557770707"] } };

  it("is gated and served on the one account the meter bills, from every channel", async () => {
    cg.setUser("alice", {
      balanceMicroCredits: 0,
      allowed: false,
      reason: "insufficient_balance",
      windows: [],
      topupUrl: "http://127.0.0.1:1/pay/t2",
    });
    const host = createFakeHost({ apiUrl: cg.url, apiToken: "k" }, { session });
    registerCreditgate(host.api);
    // OpenClaw keys the linked person's DMs by the canonical name on each channel
    for (const [channel, senderId] of [
      ["telegram", "7770707"],
      ["whatsapp", "+15557770707"],
    ] as const) {
      const sessionKey = `agent:main:${channel}:direct:alice`;
      const r = await host.inbound({ channel, senderId, text: "hola", sessionKey });
      expect(r.by, channel).toBe("before_dispatch");
      expect((await host.inbound({ channel, senderId, text: "/recargar starter", sessionKey })).by).toBe(
        "command",
      );
      expect(cg.topups.at(-1)).toMatchObject({ userId: "alice", packId: "starter" });
    }
    // a turn without a session key (an older host): the linked sender is the person too
    const reg = registerCreditgate(host.api);
    expect(
      (
        await reg.gate.beforeDispatch(
          { content: "x", channel: "telegram", senderId: "7770707" },
          { channelId: "telegram" },
        )
      )?.handled,
    ).toBe(true);
    // only the person's account was ever asked about (a status is cached per account)
    const users = new Set(cg.requests.filter((q) => q.path.startsWith("/v1/users/")).map((q) => q.path));
    expect([...users]).toEqual(["/v1/users/alice/status"]);
    expect(host.modelCalls).toBe(0);
  });
});

describe("a DM bound to a spawned session (case gate-dm-bound-spawned-session)", () => {
  const acp = "agent:main:acp:3f0c9a52-6d1e-4b7a-9c2f-8e5d4a1b7c60";
  const sub = "agent:main:subagent:9b1e4d2c-0a7f-4c3e-b6d5-2f8a1c9e7d40";

  it("gates the sender of a one-to-one chat routed into an `acp:`/`subagent:` key: the meter bills the user's DM", async () => {
    const { host } = setup();
    for (const sessionKey of [
      acp,
      "agent:main:acp:binding:telegram:default:9373ab192b2317f4",
      sub,
      `${sub}:subagent:1c2d3e4f`,
      "agent:ops:ACP:5e6f7a8b",
    ]) {
      const r = await host.inbound({ senderId: "5550102", text: "sigue con el refactor", sessionKey });
      expect(r.by, sessionKey).toBe("before_dispatch");
      expect(r.reply, sessionKey).toContain("Tu saldo se agotó.");
      expect(cg.requests.at(-1)?.path).toBe("/v1/users/telegram%3A5550102/status");
    }
    expect(host.modelCalls).toBe(0);
    // a user with balance goes on; the pass commands still run for the blocked one
    expect((await host.inbound({ senderId: "5550101", text: "sigue", sessionKey: acp })).by).toBe("model");
    expect((await host.inbound({ senderId: "5550102", text: "/recargar", sessionKey: acp })).by).toBe(
      "command",
    );
  });

  it("lets a group's bound thread and a host that keys every DM as the operator's (`dmScope: main`) pass", async () => {
    const { host } = setup();
    expect(
      (await host.inbound({ senderId: "5550102", text: "hola", sessionKey: sub, isGroup: true })).by,
    ).toBe("model");
    (host.api.config as { session: { dmScope?: string } }).session.dmScope = "main";
    expect((await host.inbound({ senderId: "5550102", text: "hola", sessionKey: acp })).by).toBe("model");
  });
});
