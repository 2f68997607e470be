// The plugin's commands from Telegram (/consumo, /recargar, /saldo, /burn): they pass the gate,
// answer creditgate's real state, read literally, and make no model call.
import { isBareLink, visible } from "../fixtures.mjs";

/** Scenario: commands. */
export const name = "commands";

/** @param {import("../harness.mjs").Context} ctx */
export async function run(ctx) {
  const { cg, tg, check, say, mc } = ctx;
  const m0 = mc();
  const consumo = await say(5550102, "/consumo", (t) => t.includes("💳 Saldo: 0.00 créditos"));
  check(
    "telegram: /consumo passes the gate and answers the user's balance and usage",
    consumo?.text.includes("Este mes:"),
    JSON.stringify(tg.sent.slice(-3)),
  );
  const packs = await say(5550102, "/recargar", (t) => t.includes("Paquetes disponibles"));
  check(
    "telegram: /recargar lists creditgate's packs",
    packs?.text.includes("starter: 5.00 créditos — 5.00 USD (Stripe), 5000.00 ARS (MercadoPago)") &&
      packs?.text.includes("plus: 25.00 créditos"),
    JSON.stringify(tg.sent.slice(-3)),
  );
  check(
    "telegram: …its usage line reads `<paquete>` literally (Telegram HTML parsed as the real server does)",
    packs?.text.split("\n").at(-1) ===
      "Escribe /recargar <paquete> [stripe|mercadopago] para recibir el enlace de pago." &&
      packs?.parseMode === "HTML" &&
      packs?.entities.length === 0,
    JSON.stringify(packs),
  );
  const typed = "*hola*_<b>x</b>_[a](https://e.com)||y||";
  const odd = await say(5550102, `/recargar ${typed}`, (t) => t.startsWith("No existe el paquete"));
  check(
    "telegram: /recargar with Markdown and HTML in the argument: the user reads it back exactly as typed, unformatted",
    odd &&
      visible(odd.text.split("\n")[0]) === `No existe el paquete «${typed}».` &&
      odd.entities.every((e) => isBareLink(odd.text, e)),
    JSON.stringify(odd),
  );
  const saldo2 = await say(5550102, "/saldo", (t) => t.startsWith("💳 Saldo:"));
  const cliBal2 = await cg.cli(["--json", "balance", "telegram:5550102"]);
  check(
    "telegram: /saldo (blocked user, balance 0 in `creditgate balance`): the balance, the reason and the top-up hint",
    cliBal2.json?.balanceMicroCredits === 0 &&
      saldo2?.text ===
        "💳 Saldo: 0.00 créditos\n⛔ Tu saldo se agotó.\nUsa /recargar para ver los paquetes y pagar.",
    JSON.stringify({ saldo2, cli: cliBal2.stdout + cliBal2.stderr }),
  );
  const saldo3 = await say(5550103, "/saldo", (t) => t.startsWith("💳 Saldo:"));
  check(
    "telegram: /saldo (the user billing.grant credited): exactly creditgate's balance, 2.50",
    ctx.state.cliBal3?.json?.balanceMicroCredits === 2_500_000 && saldo3?.text === "💳 Saldo: 2.50 créditos",
    JSON.stringify(saldo3),
  );
  const link = await say(5550102, "/recargar starter", (t) => t.includes("no están habilitados"));
  const topupRows = cg.query("SELECT COUNT(*) AS n FROM topups")[0]?.n;
  check(
    "telegram: /recargar starter passes the gate; providers disabled → a clear answer, no top-up created",
    link?.text.includes("Stripe, MercadoPago") && topupRows === 0,
    `${JSON.stringify(tg.sent.slice(-3))} topups=${topupRows}`,
  );
  const burnsBefore = cg.log().split("/v1/agents/").length;
  const refused = await say(
    5550102,
    "/burn",
    (t) => /requires gateway scope|solo para el operador/.test(t),
    30_000,
  );
  check(
    "telegram: /burn from a non-owner is refused before creditgate is asked",
    refused && cg.log().split("/v1/agents/").length === burnsBefore,
    JSON.stringify(tg.sent.slice(-2)),
  );
  check("telegram: commands made no model call", mc() === m0, `model calls ${m0} → ${mc()}`);
}
