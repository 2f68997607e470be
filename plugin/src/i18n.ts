/** Chat texts in Spanish (default) and English, and the number/date formatting they use. */
import type {
  AutoTopupView,
  BudgetView,
  Burn,
  Consumo,
  ConsumoLimit,
  CreatedTopup,
  Pack,
  ProviderView,
  StatusWindow,
  UserStatus,
} from "./api-types.js";
import type { Language, PaymentProvider } from "./config.js";
import { formatMicroCredits } from "./money.js";

/** Micro-credits → "3.25", exact, at least 2 decimals (creditgate's `formatMicroCredits`). */
export function credits(micro: number): string {
  return formatMicroCredits(micro, 2);
}

const LOCALE: Record<Language, string> = { es: "es-ES", en: "en-US" };
export const int = (n: number, lang: Language) =>
  new Intl.NumberFormat(LOCALE[lang], { useGrouping: true }).format(n);

/** Whether a zone name is UTC itself. */
const isUtcZone = (z: string) => /^(etc\/)?(utc|uct|gmt|zulu|universal)$/i.test(z.trim());

/** `ms` on the clock of `timeZone`: `2026-12-06 00:00`, or null for a zone Intl does not know. */
function localClock(ms: number, timeZone: string): string | null {
  try {
    const parts: Record<string, string> = {};
    for (const p of new Intl.DateTimeFormat("en-US", {
      timeZone,
      hourCycle: "h23",
      year: "numeric",
      month: "2-digit",
      day: "2-digit",
      hour: "2-digit",
      minute: "2-digit",
    }).formatToParts(ms))
      parts[p.type] = p.value;
    return `${parts.year}-${parts.month}-${parts.day} ${parts.hour}:${parts.minute}`;
  } catch {
    return null;
  }
}

/**
 * ISO → `2026-11-23 00:00 UTC` (unambiguous in both languages), or with `timeZone` (creditgate's
 * `CREDITGATE_TIMEZONE`, sent in the status and /consumo answers) on that zone's clock and named:
 * `2026-12-06 00:00 America/Mexico_City`. The cap windows are local, so a daily limit resets at
 * the zone's midnight; before 2026-12-05 a user in Mexico City read it resets at `06:00 UTC`.
 */
export function when(iso: string | null | undefined, timeZone?: string | null): string | null {
  if (!iso) return null;
  const t = Date.parse(iso);
  if (!Number.isFinite(t)) return null;
  const zone = timeZone?.trim();
  if (zone && !isUtcZone(zone)) {
    const local = localClock(t, zone);
    if (local) return `${local} ${zone}`;
  }
  return `${new Date(t).toISOString().slice(0, 16).replace("T", " ")} UTC`;
}

function periodName(period: string, lang: Language): string {
  const p = period.toLowerCase().replace(/ly$/, "").replace(/^dai$/, "day");
  const es: Record<string, string> = { day: "diario", week: "semanal", month: "mensual", year: "anual" };
  const en: Record<string, string> = { day: "daily", week: "weekly", month: "monthly", year: "yearly" };
  return (lang === "es" ? es : en)[p] ?? period;
}

/** "visa •••• 4242" (brand and last 4 only: creditgate never sends more). */
function cardText(v: AutoTopupView): string {
  return v.card ? `${v.card.brand ?? ""} •••• ${v.card.last4 ?? "????"}`.trim() : "";
}

const T = {
  es: {
    balance: (b: string) => `💳 Saldo: ${b} créditos`,
    paid: (c: string) => `${c} pagados`,
    bonus: (c: string) => `${c} de bonificación`,
    refundCredit: (c: string) => `${c} de reembolso`,
    expires: (c: string, d: string) => `${c} vencen el ${d}`,
    today: "Hoy",
    month: "Este mes",
    usageLine: (label: string, req: string, tok: string, c: string) =>
      `${label}: ${req} solicitudes · ${tok} tokens · ${c} créditos`,
    limitsHeader: "Límites:",
    limitLine: (name: string, kind: string, spent: string, cap: string, pct: number, reset: string | null) =>
      ` • ${name} (${kind}): ${spent} / ${cap} créditos (${pct} %)${reset ? ` · se reinicia ${reset}` : ""}`,
    hard: "bloquea",
    soft: "aviso",
    noLimits: "Sin límites de gasto.",
    low: "⚠️ Te queda poco saldo. Usa /recargar para recargar.",
    blockedNow: (why: string) => `⛔ ${why}`,
    reasons: {
      insufficient_balance: "Tu saldo se agotó.",
      insufficient_headroom: "Tu saldo no alcanza para el costo de una respuesta típica.",
      daily_cap: "Alcanzaste tu límite diario de gasto.",
      weekly_cap: "Alcanzaste tu límite semanal de gasto.",
      monthly_cap: "Alcanzaste tu límite mensual de gasto.",
      operator: "El operador pausó tu cuenta.",
      operator_budget:
        "Este bot agotó el presupuesto que su operador le asignó para este período. No es tu saldo: recargar no ayuda.",
      unavailable: "El servicio de créditos no responde ahora mismo; intenta de nuevo en unos minutos.",
      other: (r: string) => `Tu cuenta está bloqueada (${r}).`,
    },
    headroomNeeded: (balance: string, headroom: string) =>
      `Tu saldo (${balance} créditos) no alcanza para empezar una respuesta: una respuesta típica cuesta hasta ${headroom} créditos.`,
    resetsAt: (w: string) => `Se reinicia el ${w}.`,
    budgetRetry: (w: string) => `Intenta de nuevo después de que el presupuesto se reinicie, el ${w}.`,
    budgetRetryLater: "Intenta de nuevo cuando el presupuesto se reinicie.",
    topupLink: (u: string) => `Recarga aquí: ${u}`,
    topupHint: "Usa /recargar para ver los paquetes y pagar.",
    consumoHint: "Usa /consumo para ver tu uso.",
    who: "No pude identificar tu cuenta en este chat.",
    unavailable: "El servicio de créditos no responde ahora mismo; intenta de nuevo en unos minutos.",
    packsHeader: "Paquetes disponibles:",
    packLine: (i: number, p: Pack, prices: string) => `${i}. ${p.id}: ${p.credits} créditos — ${prices}`,
    packsUsage: "Escribe /recargar <paquete> [stripe|mercadopago] para recibir el enlace de pago.",
    noPacks: "No hay paquetes de recarga configurados.",
    unknownPack: (id: string) => `No existe el paquete «${id}».`,
    providerNotOffered: (pack: string, prov: string, avail: string) =>
      `El paquete ${pack} no se puede pagar con ${prov}. Opciones: ${avail}.`,
    providerDisabled: (prov: string, others: string) =>
      `Los pagos con ${prov} no están habilitados en este momento.${others ? ` Prueba con: ${others}.` : " Avísale al operador del bot."}`,
    payLink: (t: CreatedTopup, p: Pack, prov: string) =>
      `Para recargar ${p.credits} créditos (${p.id}) paga con ${prov} aquí:\n${t.url}\nEl enlace vence el ${when(t.expiresAt) ?? t.expiresAt}. Los créditos se acreditan al confirmarse el pago.`,
    burnHeader: (a: string) => `🔥 Consumo del bot ${a}`,
    burnLines: (h: string, d: string, runway: string | null) =>
      `Última hora: ${h} créditos\nÚltimas 24 h: ${d} créditos${runway ? `\nAutonomía estimada: ${runway}` : ""}`,
    hours: (h: number) => (h >= 48 ? `${Math.floor(h / 24)} días` : `${Math.round(h * 10) / 10} h`),
    budgetsHeader: "Presupuestos del operador (costo del proveedor):",
    budgetLine: (name: string, period: string, mode: string, spent: string, limit: string, pct: number) =>
      ` • ${name} ${period} (${mode === "hard" ? "bloquea" : "aviso"}): US$${spent} / US$${limit} (${pct} %)`,
    budgetBlocking: (at: string | null) =>
      `   ⛔ agotado: los usuarios de este bot están bloqueados${at ? ` hasta el ${at}` : ""}`,
    operatorOnly: "Este comando es solo para el operador.",
    autoUsage:
      "Recarga automática: /recargar auto <paquete> [umbral en créditos] para activarla, /recargar auto off para desactivarla.",
    autoStripeOnly: (pack: string) =>
      `La recarga automática usa una tarjeta guardada en Stripe, y el paquete ${pack} no tiene precio en Stripe.`,
    autoOn: (p: Pack, v: AutoTopupView) =>
      `✅ Recarga automática activada: cuando tu saldo baje de ${v.threshold} créditos, cargaremos ${p.credits} créditos (${p.id}) a tu tarjeta ${cardText(v)}. Desactívala con /recargar auto off.`,
    autoNeedsCard: (p: Pack, v: AutoTopupView, t: CreatedTopup) =>
      `Para activar la recarga automática (${p.credits} créditos cuando tu saldo baje de ${v.threshold}), paga una vez aquí y se guardará tu tarjeta:\n${t.url}\nEl enlace vence el ${when(t.expiresAt) ?? t.expiresAt}.`,
    autoOff: "Recarga automática desactivada. Tu tarjeta guardada no se volverá a cargar.",
  },
  en: {
    balance: (b: string) => `💳 Balance: ${b} credits`,
    paid: (c: string) => `${c} paid`,
    bonus: (c: string) => `${c} bonus`,
    refundCredit: (c: string) => `${c} refund credit`,
    expires: (c: string, d: string) => `${c} expires on ${d}`,
    today: "Today",
    month: "This month",
    usageLine: (label: string, req: string, tok: string, c: string) =>
      `${label}: ${req} requests · ${tok} tokens · ${c} credits`,
    limitsHeader: "Limits:",
    limitLine: (name: string, kind: string, spent: string, cap: string, pct: number, reset: string | null) =>
      ` • ${name} (${kind}): ${spent} / ${cap} credits (${pct}%)${reset ? ` · resets ${reset}` : ""}`,
    hard: "blocks",
    soft: "alert",
    noLimits: "No spending limits.",
    low: "⚠️ Your balance is running low. Use /recargar to top up.",
    blockedNow: (why: string) => `⛔ ${why}`,
    reasons: {
      insufficient_balance: "Your balance is used up.",
      insufficient_headroom: "Your balance does not cover the cost of one typical reply.",
      daily_cap: "You reached your daily spending limit.",
      weekly_cap: "You reached your weekly spending limit.",
      monthly_cap: "You reached your monthly spending limit.",
      operator: "The operator has paused your account.",
      operator_budget:
        "This bot has used up the budget its operator set for this period. It is not your balance: a top-up will not help.",
      unavailable: "The credit service is not responding right now; please try again in a few minutes.",
      other: (r: string) => `Your account is blocked (${r}).`,
    },
    headroomNeeded: (balance: string, headroom: string) =>
      `Your balance (${balance} credits) is not enough to start a reply: a typical reply costs up to ${headroom} credits.`,
    resetsAt: (w: string) => `It resets at ${w}.`,
    budgetRetry: (w: string) => `Please try again after the budget resets at ${w}.`,
    budgetRetryLater: "Please try again after the budget resets.",
    topupLink: (u: string) => `Top up here: ${u}`,
    topupHint: "Use /recargar to see the packs and pay.",
    consumoHint: "Use /consumo to see your usage.",
    who: "I could not tell which account this chat belongs to.",
    unavailable: "The credit service is not responding right now; please try again in a few minutes.",
    packsHeader: "Available packs:",
    packLine: (i: number, p: Pack, prices: string) => `${i}. ${p.id}: ${p.credits} credits — ${prices}`,
    packsUsage: "Send /recargar <pack> [stripe|mercadopago] to get a payment link.",
    noPacks: "No top-up packs are configured.",
    unknownPack: (id: string) => `There is no pack "${id}".`,
    providerNotOffered: (pack: string, prov: string, avail: string) =>
      `Pack ${pack} cannot be paid with ${prov}. Options: ${avail}.`,
    providerDisabled: (prov: string, others: string) =>
      `Payments with ${prov} are not enabled right now.${others ? ` Try: ${others}.` : " Please tell the bot's operator."}`,
    payLink: (t: CreatedTopup, p: Pack, prov: string) =>
      `To add ${p.credits} credits (${p.id}) pay with ${prov} here:\n${t.url}\nThe link expires at ${when(t.expiresAt) ?? t.expiresAt}. Credits are added once the payment is confirmed.`,
    burnHeader: (a: string) => `🔥 Spend of bot ${a}`,
    burnLines: (h: string, d: string, runway: string | null) =>
      `Last hour: ${h} credits\nLast 24 h: ${d} credits${runway ? `\nEstimated runway: ${runway}` : ""}`,
    hours: (h: number) => (h >= 48 ? `${Math.floor(h / 24)} days` : `${Math.round(h * 10) / 10} h`),
    budgetsHeader: "Operator budgets (provider cost):",
    budgetLine: (name: string, period: string, mode: string, spent: string, limit: string, pct: number) =>
      ` • ${name} ${period} (${mode === "hard" ? "hard: blocks" : "soft: alerts"}): $${spent} / $${limit} (${pct}%)`,
    budgetBlocking: (at: string | null) =>
      `   ⛔ used up: this bot's users are blocked${at ? ` until ${at}` : ""}`,
    operatorOnly: "This command is for the operator only.",
    autoUsage:
      "Auto top-up: /recargar auto <pack> [threshold in credits] to turn it on, /recargar auto off to turn it off.",
    autoStripeOnly: (pack: string) =>
      `Auto top-up charges a card saved with Stripe, and pack ${pack} has no Stripe price.`,
    autoOn: (p: Pack, v: AutoTopupView) =>
      `✅ Auto top-up is on: when your balance drops below ${v.threshold} credits, we add ${p.credits} credits (${p.id}) charged to your card ${cardText(v)}. Turn it off with /recargar auto off.`,
    autoNeedsCard: (p: Pack, v: AutoTopupView, t: CreatedTopup) =>
      `To turn on auto top-up (${p.credits} credits when your balance drops below ${v.threshold}), pay once here and your card will be saved:\n${t.url}\nThe link expires at ${when(t.expiresAt) ?? t.expiresAt}.`,
    autoOff: "Auto top-up is off. Your saved card will not be charged again.",
  },
};

export type Texts = (typeof T)["es"];
export const texts = (lang: Language): Texts => T[lang] as Texts;

export const providerLabel = (p: PaymentProvider) => (p === "mercadopago" ? "MercadoPago" : "Stripe");

function pct(spent: number, cap: number): number {
  return cap > 0 ? Math.floor((spent * 100) / cap) : 100;
}

function limitLines(limits: readonly ConsumoLimit[], lang: Language, timeZone?: string): string[] {
  const t = texts(lang);
  if (limits.length === 0) return [t.noLimits];
  return [
    t.limitsHeader,
    ...limits.map((l) =>
      t.limitLine(
        periodName(l.period, lang),
        l.kind === "soft" ? t.soft : t.hard,
        credits(l.spentMicroCredits),
        credits(l.capMicroCredits),
        pct(l.spentMicroCredits, l.capMicroCredits),
        when(l.resetsAt, timeZone),
      ),
    ),
  ];
}

/** ISO → `2026-12-30` at midnight (UTC, or `timeZone`'s), else `2026-12-30 18:00 UTC`. */
function day(iso: string, timeZone?: string): string {
  const w = when(iso, timeZone);
  if (!w) return iso;
  return w.slice(10, 17) === " 00:00 " ? w.slice(0, 10) : w;
}

/**
 * "3.20 paid + 1.00 bonus, 1.00 expires on 2026-12-30": shown under the balance only when the
 * balance holds something other than plain paid credit, or some of it expires (null otherwise,
 * and for servers that send no breakdown).
 */
export function creditsLine(c: Consumo["credits"], lang: Language, timeZone?: string): string | null {
  if (!c) return null;
  const t = texts(lang);
  const parts: string[] = [];
  if (c.paidMicroCredits > 0) parts.push(t.paid(credits(c.paidMicroCredits)));
  if (c.promotionalMicroCredits > 0) parts.push(t.bonus(credits(c.promotionalMicroCredits)));
  if (c.refundCreditMicroCredits > 0) parts.push(t.refundCredit(credits(c.refundCreditMicroCredits)));
  const plainPaid = c.promotionalMicroCredits === 0 && c.refundCreditMicroCredits === 0;
  if (parts.length === 0 || (plainPaid && !c.nextExpiry)) return null;
  const exp = c.nextExpiry
    ? `, ${t.expires(credits(c.nextExpiry.microCredits), day(c.nextExpiry.at, timeZone))}`
    : "";
  return `${parts.join(" + ")}${exp}`;
}

export function formatConsumo(c: Consumo, lang: Language, status?: UserStatus | null): string {
  const t = texts(lang);
  const breakdown = creditsLine(c.credits, lang, c.timeZone);
  const lines = [
    t.balance(credits(c.balanceMicroCredits)),
    ...(breakdown ? [breakdown] : []),
    t.usageLine(
      t.today,
      int(c.today.requests, lang),
      int(c.today.tokens, lang),
      credits(c.today.chargedMicroCredits),
    ),
    t.usageLine(
      t.month,
      int(c.month.requests, lang),
      int(c.month.tokens, lang),
      credits(c.month.chargedMicroCredits),
    ),
    ...limitLines(c.limits ?? [], lang, c.timeZone),
  ];
  if (status && !status.allowed) lines.push(t.blockedNow(blockedWhy(status, lang)));
  if (c.lowBalance || (status && !status.allowed && isMoneyReason(status.reason))) {
    lines.push(c.topupHint?.trim() ? `⚠️ ${c.topupHint.trim()}` : t.low);
  } else if (c.topupHint?.trim()) {
    lines.push(c.topupHint.trim());
  }
  return lines.join("\n");
}

export function formatSaldo(s: UserStatus, lang: Language): string {
  const t = texts(lang);
  const lines: string[] = [t.balance(credits(s.balanceMicroCredits))];
  if (!s.allowed) {
    lines.push(t.blockedNow(blockedWhy(s, lang)));
    if ((s.reason ?? "").toLowerCase() === "operator_budget") {
      const at = when(s.liftsAt, s.timeZone);
      lines.push(at ? t.budgetRetry(at) : t.budgetRetryLater);
    } else lines.push(t.topupHint);
  }
  return lines.join("\n");
}

export function reasonText(reason: string | null | undefined, lang: Language): string {
  const r = texts(lang).reasons;
  const key = (reason ?? "").toLowerCase();
  if (key in r && key !== "other") return r[key as Exclude<keyof typeof r, "other">];
  return r.other(reason ?? "?");
}

/** Block reasons a top-up lifts: the balance is at the floor, or does not cover the headroom. */
function isMoneyReason(reason: string | null | undefined): boolean {
  const r = (reason ?? "").toLowerCase();
  return r === "insufficient_balance" || r === "insufficient_headroom";
}

/**
 * Why a user is blocked, in one sentence. For `insufficient_headroom` with the amounts at hand it
 * says how much a typical reply costs against the balance; otherwise {@link reasonText}.
 */
export function blockedWhy(
  s: Pick<UserStatus, "reason"> & Partial<Pick<UserStatus, "balanceMicroCredits" | "headroom">>,
  lang: Language,
): string {
  const h = s.headroom?.microCredits;
  if (
    (s.reason ?? "").toLowerCase() === "insufficient_headroom" &&
    typeof h === "number" &&
    h > 0 &&
    typeof s.balanceMicroCredits === "number"
  ) {
    return texts(lang).headroomNeeded(credits(s.balanceMicroCredits), credits(h));
  }
  return reasonText(s.reason, lang);
}

/** The answer a blocked user gets instead of a model reply. */
export function blockedText(
  s: Pick<UserStatus, "reason" | "windows" | "topupUrl"> &
    Partial<Pick<UserStatus, "balanceMicroCredits" | "headroom" | "liftsAt" | "timeZone">>,
  lang: Language,
): string {
  const t = texts(lang);
  const lines = [t.blockedNow(blockedWhy(s, lang))];
  const reason = (s.reason ?? "").toLowerCase();
  const capPeriod = /^(\w+?)_cap$/.exec(reason)?.[1];
  if (capPeriod) {
    const w = (s.windows ?? []).find(
      (x: StatusWindow) => periodName(x.period, "en") === periodName(capPeriod, "en"),
    );
    const at = when(w?.resetsAt, s.timeZone);
    if (at) lines.push(t.resetsAt(at));
  }
  if (reason === "operator_budget") {
    // Not the user's money: no top-up link or hint, only when to come back.
    const at = when(s.liftsAt, s.timeZone);
    lines.push(at ? t.budgetRetry(at) : t.budgetRetryLater);
    return lines.join("\n");
  }
  if (reason === "unavailable") return lines.join("\n");
  if (reason === "operator" || capPeriod) {
    lines.push(t.consumoHint);
  } else {
    if (s.topupUrl) lines.push(t.topupLink(s.topupUrl));
    lines.push(t.topupHint);
  }
  return lines.join("\n");
}

export function formatPacks(packs: readonly Pack[], lang: Language, only?: PaymentProvider): string {
  const t = texts(lang);
  if (packs.length === 0) return t.noPacks;
  const lines = [t.packsHeader];
  packs.forEach((p, i) => {
    const prices = p.prices
      .filter((x) => !only || x.provider === only)
      .map((x) => `${x.amount} ${x.currency} (${providerLabel(x.provider)})`)
      .join(", ");
    lines.push(t.packLine(i + 1, p, prices || "—"));
  });
  lines.push(t.packsUsage);
  return lines.join("\n");
}

export function formatBurn(b: Burn, lang: Language): string {
  const t = texts(lang);
  const runway =
    typeof b.runwayHours === "number" && Number.isFinite(b.runwayHours) ? t.hours(b.runwayHours) : null;
  return `${t.burnHeader(b.agentId)}\n${t.burnLines(credits(b.lastHourMicroCredits), credits(b.last24hMicroCredits), runway)}`;
}

/** Micro-units of a currency → "12.50 USD" (exact, at least 2 decimals). */
export function money(micro: number | null, currency: string | null): string {
  return micro === null ? "—" : `${formatMicroCredits(micro, 2)}${currency ? ` ${currency}` : ""}`;
}

const TOKENS = {
  es: {
    header: "🪙 Cuentas de proveedores",
    none: "No hay cuentas de proveedores configuradas en creditgate (ver docs/providers.md).",
    balance: (b: string) => `saldo ${b}`,
    noBalance: "sin API de saldo",
    burn: (d: string) => `gasto ${d}/día`,
    runway: (h: string, at: string) => `alcanza ${h} (hasta ${at})`,
    drift: (pct: string, day: string) => `desvío ${pct} el ${day}`,
    noRate: (c: string) => `desvío n/d (sin tipo de cambio ${c})`,
    notCounted: (amount: string, c: string) => `(${amount} no contado: sin tipo de cambio ${c})`,
    error: (kind: string) => `⚠️ error: ${kind}`,
    polled: (ago: string) => `consultado ${ago}`,
    burnHeader: "Proveedores (gasto reportado / medido por creditgate):",
    burnLine: (p: string, h: string, d: string, m: string) =>
      `${p}: ${h} última hora · ${d} últimas 24 h · medido ${m}/24 h`,
  },
  en: {
    header: "🪙 Provider accounts",
    none: "No provider accounts are configured in creditgate (see docs/providers.md).",
    balance: (b: string) => `balance ${b}`,
    noBalance: "no balance API",
    burn: (d: string) => `burn ${d}/day`,
    runway: (h: string, at: string) => `lasts ${h} (until ${at})`,
    drift: (pct: string, day: string) => `drift ${pct} on ${day}`,
    noRate: (c: string) => `drift n/a (no ${c} rate)`,
    notCounted: (amount: string, c: string) => `(${amount} not counted: no ${c} rate)`,
    error: (kind: string) => `⚠️ error: ${kind}`,
    polled: (ago: string) => `polled ${ago}`,
    burnHeader: "Providers (reported spend / metered by creditgate):",
    burnLine: (p: string, h: string, d: string, m: string) =>
      `${p}: ${h} last hour · ${d} last 24 h · metered ${m}/24 h`,
  },
} as const;

function agoText(iso: string | null, nowMs: number): string {
  if (!iso) return "—";
  const min = Math.max(0, Math.round((nowMs - Date.parse(iso)) / 60_000));
  return min < 120 ? `${min} min` : `${Math.round(min / 60)} h`;
}

/**
 * The currencies of an account holding several (DeepSeek CNY + USD), after its balance, as
 * `creditgate providers` shows them: ` = (100.00 CNY not counted: no CNY rate) + 9.50 USD`. The
 * account's own currency is shown as is, another one with a rate with its USD equivalent, one
 * without a rate marked as not counted in the balance. "" for single-currency accounts (null or
 * absent `balances`). Amounts are integer micro-units formatted exactly.
 */
function balanceParts(v: ProviderView, lang: Language): string {
  if (!v.balances) return "";
  const t = TOKENS[lang];
  return ` = ${v.balances
    .map((b) => {
      const amount = money(b.balanceMicro, b.currency);
      if (b.currency === v.currency) return amount;
      if (b.usdMicro === null) return t.notCounted(amount, b.currency);
      return `${amount} (≈ ${money(b.usdMicro, "USD")})`;
    })
    .join(" + ")}`;
}

/** `/tokens` and `openclaw tokens`: balance, burn, runway, drift, last poll and error per provider. */
export function formatTokens(views: readonly ProviderView[], lang: Language, nowMs = Date.now()): string {
  const t = TOKENS[lang];
  if (views.length === 0) return t.none;
  const lines: string[] = [t.header];
  for (const v of views) {
    const usd = (micro: number | null | undefined) =>
      micro === null || micro === undefined ? "" : ` (≈ ${money(micro, "USD")})`;
    const parts = [
      v.balanceMicro === null
        ? t.noBalance
        : t.balance(
            `${money(v.balanceMicro, v.currency)}${usd(v.usd?.balanceMicro)}${balanceParts(v, lang)}`,
          ),
    ];
    if (v.burn.provider.perDayMicro !== null)
      parts.push(t.burn(money(v.burn.provider.perDayMicro, v.currency)));
    if (v.runway.hours !== null && v.runway.runsOutAt)
      parts.push(t.runway(texts(lang).hours(v.runway.hours), when(v.runway.runsOutAt) ?? v.runway.runsOutAt));
    if (v.drift?.exceeds) parts.push(t.drift(v.drift.pct === null ? "∞" : `${v.drift.pct}%`, v.drift.day));
    // a non-USD account without an exchange rate: drift is not computed, say so
    else if (!v.drift && v.fx && v.fx.usdPerUnit === null) parts.push(t.noRate(v.fx.currency));
    parts.push(t.polled(agoText(v.lastPollAt, nowMs)));
    if (v.error) parts.push(t.error(v.error.kind));
    lines.push(`• ${v.provider}: ${parts.join(" · ")}`);
  }
  return lines.join("\n");
}

/** The provider part of `/burn`: each provider's reported spend rate next to creditgate's metered one. */
/**
 * The operator budgets that concern `agentId` in `/burn`: overall, the agent's own and every
 * provider budget, each used / limit / mode, and whether a hard one is blocking the bot's users.
 */
export function formatBudgets(budgets: readonly BudgetView[], agentId: string, lang: Language): string {
  const t = texts(lang);
  const mine = budgets.filter(
    (b) => b.name === "all" || b.name === `agent:${agentId}` || b.scope === "provider",
  );
  if (mine.length === 0) return "";
  const lines = [t.budgetsHeader];
  for (const b of mine) {
    lines.push(t.budgetLine(b.name, periodName(b.period, lang), b.mode, b.spentUsd, b.limitUsd, b.usedPct));
    if (b.mode === "hard" && b.usedPct >= 100) {
      const at =
        typeof b.windowEndMs === "number" ? when(new Date(b.windowEndMs).toISOString(), b.timeZone) : null;
      lines.push(t.budgetBlocking(at));
    }
  }
  return lines.join("\n");
}

export function formatProviderBurn(views: readonly ProviderView[], lang: Language): string {
  const t = TOKENS[lang];
  if (views.length === 0) return "";
  return [
    t.burnHeader,
    ...views.map((v) =>
      t.burnLine(
        v.provider,
        money(v.burn.provider.lastHourMicro, v.currency),
        money(v.burn.provider.last24hMicro, v.currency),
        money(v.burn.metered.last24hMicro, "USD"),
      ),
    ),
  ].join("\n");
}
