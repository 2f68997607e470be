import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { parseTelegramHtml } from "../scripts/support/telegram-html.mjs";
import { buildCommands } from "../src/commands.js";
import { resolveConfig } from "../src/config.js";
import { registerCreditgate } from "../src/index.js";
import { escapeForChannel, escapeMarkdown, replySyntax } from "../src/outbound.js";
import { FakeCreditgate } from "./support/fake-creditgate.mjs";
import { createFakeHost } from "./support/fake-host.js";
import { openclawTelegramHtml, telegramSees } from "./support/telegram-render.js";

describe("Telegram HTML parse rules (the stand-in's parser)", () => {
  it("decodes entities, keeps formatting as entities, and refuses what Telegram refuses", () => {
    expect(parseTelegramHtml("a &lt;pack&gt; &amp; <b>x</b> &#60;")).toEqual({
      text: "a <pack> & x <",
      entities: [{ type: "bold", offset: 11, length: 1 }],
    });
    expect(() => parseTelegramHtml("Escribe /recargar <paquete> [stripe]")).toThrow(
      /Unsupported start tag "paquete"/,
    );
    expect(() => parseTelegramHtml("<b>x")).toThrow(/end tag/);
  });
});

describe("escapeMarkdown: what the Telegram user reads is exactly the plugin's text", () => {
  const hostile = [
    "Escribe /recargar <paquete> [stripe|mercadopago] para recibir el enlace de pago.",
    "Send /recargar <pack> [stripe|mercadopago] to get a payment link.",
    "No existe el paquete «*hola*».",
    '«_x_ __y__ ~~z~~ `c` [a](https://e.com) ![i](j) <b>b</b> <a href="https://x.test">l</a> ||sp|| a|b»',
    "Tu cuenta está bloqueada (chargeback_<i>x</i> &amp; &#60; & a&b).",
    "# h\n> q\n- item\n+ item\n* item\nabc\n===\nabc\n---\n    code\n 3) x\n10. y",
    "Paquetes disponibles:\n1. starter: 5.00 créditos — 5.00 USD (Stripe)\n2. plus: 25.00 créditos",
    "Recarga aquí: https://checkout.stripe.com/c/pay/cs_test_a1_b2#fid_xx?a=1&b=2 (ok).",
    "Límites:\n • diario (bloquea): 0.42 / 2.00 créditos (21 %)",
    "back\\slash \\* end\\",
    "No existe el paquete «*hola*_<b>x</b>_[a](https://e.com)||y||».",
  ];
  for (const s of hostile) {
    it(JSON.stringify(s).slice(0, 70), () => {
      const seen = telegramSees(escapeMarkdown(s));
      expect(seen.text).toBe(s);
      expect(seen.formatted).toEqual([]);
    });
  }

  it("today's bug, shown on the unescaped text: Markdown formatting and hidden text", () => {
    expect(telegramSees("No existe el paquete «*hola*».").formatted).toEqual(["italic:hola"]);
    expect(telegramSees("[pagar](https://e.com)").text).toBe("pagar");
  });

  it("sends Telegram no bare `<` (the HTML stays valid) and leaves URLs linkable", () => {
    const html = openclawTelegramHtml(escapeMarkdown("x <pack> https://e.com/a_b?c=1&d=2"));
    expect(html).toBe(
      'x &lt;pack&gt; <a href="https://e.com/a_b?c=1&amp;d=2">https://e.com/a_b?c=1&amp;d=2</a>',
    );
  });

  it("plain surfaces (no channel) get the text untouched; every named channel gets Markdown", () => {
    expect(escapeForChannel("a *b* <c>", undefined)).toBe("a *b* <c>");
    expect(escapeForChannel("a *b* <c>", "")).toBe("a *b* <c>");
    for (const ch of ["telegram", "whatsapp", "discord", "slack", "signal", "matrix", "sms"]) {
      expect(replySyntax(ch)).toBe("markdown");
    }
    expect(escapeForChannel("a *b* <c>", "telegram")).toBe("a \\*b\\* \\<c\\>");
  });
});

describe("every reply leaves the plugin escaped for its channel", () => {
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
  const henry = {
    senderId: "5550101",
    channelId: "telegram",
    sessionKey: "agent:main:telegram:direct:5550101",
  };

  it("/recargar on Telegram: the user reads `<paquete>` (es) and `<pack>` (en) literally", async () => {
    for (const [language, usage] of [
      ["es", "Escribe /recargar <paquete> [stripe|mercadopago] para recibir el enlace de pago."],
      ["en", "Send /recargar <pack> [stripe|mercadopago] to get a payment link."],
    ] as const) {
      const host = createFakeHost({ apiUrl: cg.url, apiToken: "k", language });
      registerCreditgate(host.api);
      const seen = telegramSees(await host.runCommand("recargar", henry));
      expect(seen.text.split("\n").at(-1)).toBe(usage);
      expect(seen.formatted).toEqual([]);
    }
  });

  it("every command's reply reads on Telegram exactly as the plugin wrote it", async () => {
    cg.setUser("telegram:5550101", { reason: "chargeback_<b>x</b> *y*", allowed: false });
    const host = createFakeHost({ apiUrl: cg.url, apiToken: "k" });
    const reg = registerCreditgate(host.api);
    // The same commands without the outbound wrapper: the text before escaping.
    const raw = buildCommands({
      client: reg.client,
      cache: reg.cache,
      config: resolveConfig({ apiUrl: cg.url, apiToken: "k" }),
      logger: host.api.logger,
    });
    const ctx = { ...henry, channel: "telegram", isAuthorizedSender: true, commandBody: "/x", config: {} };
    for (const [name, args] of [
      ["consumo", undefined],
      ["saldo", undefined],
      ["recargar", undefined],
      ["recargar", "starter"],
      ["recargar", "*x*_<b>y</b>_[a](https://e.com)"],
    ] as const) {
      const want = (await raw.find((c) => c.name === name)?.handler({ ...ctx, args }))?.text ?? "";
      const seen = telegramSees(await host.runCommand(name, { ...henry, args }));
      // Each call creates its own top-up: only its number differs.
      const sameTopup = (t: string) => t.replace(/\/tu_\d+/, "/tu_N");
      expect({ name, args, text: sameTopup(seen.text), formatted: seen.formatted }).toEqual({
        name,
        args,
        text: sameTopup(want),
        formatted: [],
      });
    }
  });

  it("/recargar *x* <b>y</b>: the user's own argument comes back as typed, not formatted", async () => {
    const host = createFakeHost({ apiUrl: cg.url, apiToken: "k" });
    registerCreditgate(host.api);
    const seen = telegramSees(await host.runCommand("recargar", { ...henry, args: "*x*_<b>y</b>" }));
    expect(seen.text.split("\n")[0]).toBe("No existe el paquete «*x*_<b>y</b>».");
    expect(seen.formatted).toEqual([]);
  });

  it("the gate's answer (before_dispatch) and a notice are escaped too", async () => {
    cg.setUser("telegram:5550102", {
      balanceMicroCredits: 0,
      allowed: false,
      reason: "chargeback_<b>x</b>",
      windows: [],
      topupUrl: "https://pay.example/t/a_b?c=1&d=2",
    });
    const host = createFakeHost({ apiUrl: cg.url, apiToken: "k" });
    const reg = registerCreditgate(host.api);
    const gated = await host.inbound({ senderId: "5550102", text: "hola" });
    expect(gated.by).toBe("before_dispatch");
    const seen = telegramSees(gated.reply);
    expect(seen.text).toContain("Tu cuenta está bloqueada (chargeback_<b>x</b>).");
    expect(seen.text).toContain("https://pay.example/t/a_b?c=1&d=2");
    expect(seen.formatted).toEqual([]);

    cg.addNotice({
      userId: "telegram:5550101",
      channel: "telegram",
      to: "5550101",
      text: "Recibimos *5* créditos <ok>.",
    });
    await reg.notices.pollOnce();
    const sent = host.sent.at(-1);
    expect(telegramSees(sent?.text ?? "")).toEqual({ text: "Recibimos *5* créditos <ok>.", formatted: [] });
  });
});
