// Escaping: the plugin's hostile replies, escaped by dist/outbound.js and rendered by the installed
// openclaw's own Telegram formatter, read back with Telegram's HTML rules.
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { parseTelegramHtml } from "../../support/telegram-html.mjs";
import { isBareLink, pluginDir, visible } from "../fixtures.mjs";

/** Texts a reply can carry (pack ids, user arguments, creditgate's reasons and notices). */
const HOSTILE_REPLIES = [
  "Escribe /recargar <paquete> [stripe|mercadopago] para recibir el enlace de pago.",
  "No existe el paquete «*hola*».",
  '«_x_ __y__ ~~z~~ `c` [a](https://e.com) <b>b</b> <a href="https://x.test">l</a> ||sp|| a|b»',
  "Tu cuenta está bloqueada (chargeback_<i>x</i> &amp; &#60; & a&b).",
  "# h\n> q\n- item\n+ item\n* item\nabc\n===\nabc\n---\n    code\n 3) x\n10. y",
  "Paquetes disponibles:\n1. starter: 5.00 créditos — 5.00 USD (Stripe)\n2. plus: 25.00 créditos",
  "Recarga aquí: https://checkout.stripe.com/c/pay/cs_test_a1_b2#fid_xx?a=1&b=2 (ok).",
  "Límites:\n • diario (bloquea): 0.42 / 2.00 créditos (21 %)",
  "back\\slash \\* end\\",
  "No existe el paquete «*hola*_<b>x</b>_[a](https://e.com)||y||».",
];
/** Escapes each input with dist/outbound.js and renders it with openclaw's markdownToTelegramHtml (Node 26). */
function formatWithOpenClaw(oc, inputs) {
  const r = spawnSync(
    oc.nodeBin,
    [join(pluginDir, "scripts/support/openclaw-telegram-format.mjs"), oc.openclawPkgDir],
    { input: JSON.stringify(inputs), encoding: "utf8" },
  );
  if (r.status !== 0) throw new Error(`openclaw-telegram-format.mjs → ${r.status}: ${r.stderr}`);
  return JSON.parse(r.stdout);
}

/** Scenario: formatting. */
export const name = "formatting";

/** @param {import("../harness.mjs").Context} ctx */
export async function run(ctx) {
  const { oc, check, timed } = ctx;
  // The plugin's replies are Markdown to OpenClaw: escaped by dist/outbound.js, rendered by the
  // installed openclaw's own Telegram formatter, then read with Telegram's HTML rules.
  const formatted = await timed("escaping through openclaw's real Telegram formatter", () =>
    formatWithOpenClaw(oc, HOSTILE_REPLIES),
  );
  const misread = formatted.filter((f) => {
    try {
      const seen = parseTelegramHtml(f.html);
      return visible(seen.text) !== f.input || seen.entities.some((e) => !isBareLink(seen.text, e));
    } catch {
      return true;
    }
  });
  check(
    `openclaw's markdownToTelegramHtml renders ${formatted.length} escaped hostile replies to exactly their text, unformatted, valid for Telegram`,
    formatted.length === HOSTILE_REPLIES.length && misread.length === 0,
    JSON.stringify(misread, null, 1),
  );
  const unescapedWrong = formatted.filter((f) => {
    try {
      const seen = parseTelegramHtml(f.unescapedHtml);
      return visible(seen.text) !== f.input || seen.entities.some((e) => !isBareLink(seen.text, e));
    } catch {
      return true;
    }
  });
  // Unescaped, OpenClaw 2026.9.6 gets only the `<paquete>` line and the bare payment URL right.
  const survivesUnescaped = [HOSTILE_REPLIES[0], HOSTILE_REPLIES[6]];
  check(
    "…while the same replies unescaped are misread (formatted, hidden, cut or re-spaced), all but the `<paquete>` line and the bare URL",
    JSON.stringify(unescapedWrong.map((f) => f.input)) ===
      JSON.stringify(HOSTILE_REPLIES.filter((h) => !survivesUnescaped.includes(h))),
    JSON.stringify(unescapedWrong.map((f) => f.input)),
  );
}
