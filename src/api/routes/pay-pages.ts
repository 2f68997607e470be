import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import type { Db } from "../../db/index.js";
import { formatMicroCredits } from "../../money.js";
import type { TopupRepo } from "../../payments/index.js";

export interface PayPagesOptions {
  topups: Pick<TopupRepo, "get">;
  /** For the new balance (accounts) and the user's notice language (account_limits). */
  db: Db;
}

type Lang = "en" | "es";
/** While the webhook has not arrived, the page reloads itself every few seconds, this many times. */
const REFRESH_S = 4;
const MAX_REFRESHES = 30;

const WORDS = {
  en: {
    paidTitle: "Payment confirmed",
    paid: "Your payment is confirmed and the credits are on your balance.",
    balance: "Your balance is now",
    credits: "credits",
    waitTitle: "Payment received",
    wait:
      "Thanks! As soon as the payment provider confirms your payment (usually within seconds; some " +
      "methods such as bank transfer or cash take longer), the credits are added to your balance.",
    checking: "This page checks again by itself every few seconds.",
    slow: "Still waiting for the confirmation. You can close this page: the credits arrive on their own.",
    pendingTitle: "Payment pending",
    pending:
      "Your payment is being processed by the provider (cash and bank transfers can take a day or more). " +
      "The credits are added as soon as it is approved.",
    failedTitle: "Payment not completed",
    failed: "The payment was not completed and nothing was charged. Ask the bot for a new link any time.",
    cancelTitle: "Payment cancelled",
    cancel: "No payment was taken and nothing changed. Ask the bot for a new link any time.",
    close: "You can close this page and return to the chat.",
    unknownTitle: "Top-up not found",
    unknown:
      "We do not know this top-up link, so this page cannot confirm a payment. If you did pay, the " +
      "credits are added on their own once the payment provider confirms it; ask the bot for your balance.",
  },
  es: {
    paidTitle: "Pago confirmado",
    paid: "Tu pago está confirmado y los créditos ya están en tu saldo.",
    balance: "Tu saldo ahora es",
    credits: "créditos",
    waitTitle: "Pago recibido",
    wait:
      "¡Gracias! En cuanto el proveedor de pagos confirme tu pago (normalmente en segundos; algunos " +
      "medios como transferencia o efectivo tardan más), los créditos se suman a tu saldo.",
    checking: "Esta página vuelve a comprobarlo sola cada pocos segundos.",
    slow: "Seguimos esperando la confirmación. Puedes cerrar esta página: los créditos llegarán solos.",
    pendingTitle: "Pago pendiente",
    pending:
      "El proveedor está procesando tu pago (efectivo y transferencias pueden tardar un día o más). " +
      "Los créditos se suman en cuanto se apruebe.",
    failedTitle: "Pago no completado",
    failed: "El pago no se completó y no se cobró nada. Pide al bot un enlace nuevo cuando quieras.",
    cancelTitle: "Pago cancelado",
    cancel: "No se cobró nada y nada cambió. Pide al bot un enlace nuevo cuando quieras.",
    close: "Puedes cerrar esta página y volver al chat.",
    unknownTitle: "Recarga no encontrada",
    unknown:
      "No conocemos este enlace de recarga, así que esta página no puede confirmar un pago. Si pagaste, " +
      "los créditos se suman solos en cuanto el proveedor de pagos lo confirme; pide tu saldo al bot.",
  },
} as const;

// Loose: providers append their own parameters to the return URL.
const landingQuery = z.looseObject({
  topup: z.unknown().optional(),
  lang: z.unknown().optional(),
  pending: z.unknown().optional(),
  n: z.unknown().optional(),
});
type LandingQuery = z.infer<typeof landingQuery>;

/**
 * The pages a paying end user lands on after checkout (HTML, no script, English or Spanish):
 * `/pay/success` shows the new balance once the verified webhook has credited the top-up and
 * reloads itself (meta refresh, a few seconds apart, bounded) until then; `/pay/pending` (and
 * MercadoPago's `/pay/success?pending=1`) says the payment is being processed; `/pay/cancel` that
 * nothing was charged. Display only: credits come from verified webhooks, never from a redirect.
 * Language: `?lang=es|en`, else the user's notice language (limits), else Accept-Language.
 */
export const payPages: FastifyPluginAsyncZod<PayPagesOptions> = async (app, o) => {
  const balanceOf = o.db.prepare<[string], { b: number }>(
    "SELECT balance_micro_credits AS b FROM accounts WHERE id = ?",
  );
  const rulesOf = o.db.prepare<[string], { rules: string }>(
    "SELECT rules FROM account_limits WHERE subject IN (?, '*') ORDER BY subject = '*'",
  );
  const userLanguage = (accountId: string): Lang | null => {
    for (const r of rulesOf.all(accountId)) {
      try {
        const lang = (JSON.parse(r.rules) as { language?: unknown }).language;
        if (lang === "es" || lang === "en") return lang;
      } catch {
        // a broken rules row is the limits module's problem; the page falls back to the header
      }
    }
    return null;
  };
  const pick = (q: LandingQuery, accept: string | undefined, accountId: string | null): Lang => {
    if (q.lang === "es" || q.lang === "en") return q.lang;
    const fromUser = accountId ? userLanguage(accountId) : null;
    if (fromUser) return fromUser;
    return /^\s*es\b/i.test(accept ?? "") ? "es" : "en";
  };
  const html = (reply: { type(t: string): { send(b: string): unknown } }, body: string) =>
    reply.type("text/html; charset=utf-8").send(body);

  type Reply = Parameters<typeof html>[0] & { header(k: string, v: string): unknown };
  /** The success page, or with `pending` the pending one: what the top-up's state says. */
  const landing = (
    request: { query: LandingQuery; headers: { "accept-language"?: string | undefined }; url: string },
    reply: Reply,
    pending: boolean,
  ) => {
    const q = request.query;
    const id = typeof q.topup === "string" ? q.topup : null;
    const topup = id ? o.topups.get(id) : null;
    const lang = pick(q, request.headers["accept-language"], topup?.accountId ?? null);
    const w = WORDS[lang];
    reply.header("cache-control", "no-store");
    if (topup?.status === "paid") {
      const micro = balanceOf.get(topup.accountId)?.b ?? 0;
      const amount = localize(formatMicroCredits(micro), lang);
      return html(
        reply,
        page(lang, w.paidTitle, [
          w.paid,
          `${w.balance} <strong data-balance>${amount}</strong> ${w.credits}.`,
          w.close,
        ]),
      );
    }
    if (topup && (topup.status === "failed" || topup.status === "expired")) {
      return html(reply, page(lang, w.failedTitle, [w.failed, w.close]));
    }
    // No such top-up (a mistyped or forged link): say so, and nothing about any other top-up; never
    // "payment received" for an id creditgate has not issued.
    if (!topup) return html(reply, page(lang, w.unknownTitle, [w.unknown, w.close]));
    if (pending || q.pending !== undefined)
      return html(reply, page(lang, w.pendingTitle, [w.pending, w.close]));
    const n = typeof q.n === "string" && /^\d{1,3}$/.test(q.n) ? Number(q.n) : 0;
    // Reload until the webhook arrived (bounded).
    const refresh = n < MAX_REFRESHES ? refreshUrl(request.url, n + 1) : null;
    return html(reply, page(lang, w.waitTitle, [w.wait, refresh ? w.checking : w.slow, w.close], refresh));
  };
  app.get("/pay/success", { schema: { hide: true, querystring: landingQuery } }, async (request, reply) =>
    landing(request, reply, false),
  );
  // Like MercadoPago's /pay/success?pending=1: an id creditgate never issued is "not found" (the
  // page said "your payment is being processed" for any id), a paid one shows the balance.
  app.get("/pay/pending", { schema: { hide: true, querystring: landingQuery } }, async (request, reply) =>
    landing(request, reply, true),
  );
  app.get("/pay/cancel", { schema: { hide: true, querystring: landingQuery } }, async (request, reply) => {
    const id = typeof request.query.topup === "string" ? request.query.topup : null;
    const topup = id ? o.topups.get(id) : null;
    // Paid after all (another tab, a retried checkout): "nothing was taken" would be false.
    if (topup?.status === "paid") return landing(request, reply, false);
    const lang = pick(request.query, request.headers["accept-language"], topup?.accountId ?? null);
    return html(reply, page(lang, WORDS[lang].cancelTitle, [WORDS[lang].cancel, WORDS[lang].close]));
  });
};

/** "12.50" → "12,50" in Spanish. */
function localize(decimal: string, lang: Lang): string {
  return lang === "es" ? decimal.replace(".", ",") : decimal;
}

/** The same URL with `n` (the refresh count) set: only the path and query of this request. */
function refreshUrl(url: string, n: number): string {
  const u = new URL(url, "http://x");
  u.searchParams.set("n", String(n));
  return `${u.pathname}${u.search}`;
}

const esc = (s: string) =>
  s.replace(
    /[&<>"']/g,
    (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c] ?? c,
  );

/** A small self-contained page (no script, inline style only: the app's strict CSP holds). */
function page(lang: Lang, title: string, lines: string[], refresh: string | null = null): string {
  return `<!doctype html>
<html lang="${lang}"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
${refresh ? `<meta http-equiv="refresh" content="${REFRESH_S};url=${esc(refresh)}">\n` : ""}<title>${title}</title></head>
<body style="font-family:system-ui,sans-serif;max-width:32rem;margin:4rem auto;padding:0 1rem;color:#111827">
<main><h1>${title}</h1>
${lines
  .filter((l) => l)
  .map((l) => `<p>${l}</p>`)
  .join("\n")}
</main></body></html>
`;
}
