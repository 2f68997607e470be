import { formatMicroCredits, formatScaled } from "../money.js";
import { ALERT_KINDS, type AlertKind, USER_NOTICE_KINDS } from "./alert-kinds.js";
import type { Language } from "./rules.js";
import { localClock } from "./windows.js";

export { ALERT_KINDS, type AlertKind, USER_NOTICE_KINDS };

/** Facts an alert carries (also the operator webhook's `data`). Amounts in micro-credits. */
export interface AlertFacts {
  balanceMicroCredits?: number;
  /** `blocked` for `insufficient_headroom`: the headroom the balance did not cover. */
  headroomMicroCredits?: number;
  amountMicroCredits?: number;
  period?: string;
  capKind?: string;
  pct?: number;
  capMicroCredits?: number;
  spentMicroCredits?: number;
  reason?: string | null;
  liftsAtMs?: number | null;
  lastHourMicroCredits?: number;
  avgHourMicroCredits?: number;
  topupUrl?: string | null;
  operatorReason?: string | null;
  /** Auto top-up declines: Stripe's error code (`card_declined`, `authentication_required`, …). */
  declineCode?: string | null;
  /** credits_expiring / credits_expired: when the grant expires (epoch ms) and its kind. */
  expiresAtMs?: number | null;
  grantKind?: string;
  /** credits_expiring: whole days left (rounded up). */
  daysLeft?: number;
  /** Provider-account alerts (issue #13): amounts in micro-units of `currency`, not credits. */
  provider?: string;
  currency?: string;
  providerBalanceMicro?: number;
  thresholdMicro?: number;
  runwayHours?: number | null;
  runsOutAtMs?: number | null;
  thresholdHours?: number;
  lastHourMicro?: number;
  avgHourMicro?: number;
  day?: string;
  providerMicro?: number;
  meteredMicro?: number;
  driftPct?: number | null;
  causes?: string[];
  /** `operator_budget`: which budget (`all`, `agent:<id>`, `provider:<name>`), its limit and spend (USD text). */
  budget?: string;
  budgetUsd?: string;
  spentUsd?: string;
}

/** A provider amount (micro-units) with its currency: "12.50 USD". */
const money = (micro: number | undefined, currency: string | undefined) =>
  `${formatScaled(BigInt(micro ?? 0), 6, 2)} ${currency ?? ""}`.trim();

const c = (micro: number | undefined) => formatMicroCredits(micro ?? 0);
/** A time in the operator's zone (the cap windows'), named: `2026-12-06 00:00 America/Mexico_City`. */
const when = (ms: number | null | undefined, lang: Language, timeZone: string) => {
  if (!ms) return "";
  const { text, zone } = localClock(ms, timeZone);
  return lang === "es" ? `${text} (${zone})` : `${text} ${zone}`;
};

const PERIOD: Record<Language, Record<string, string>> = {
  en: { day: "daily", week: "weekly", month: "monthly" },
  es: { day: "diario", week: "semanal", month: "mensual" },
};

const REASON: Record<Language, Record<string, string>> = {
  en: {
    operator: "the operator paused your access",
    operator_budget: "this bot's operator budget is used up (a top-up will not help)",
    insufficient_balance: "your balance ran out",
    insufficient_headroom: "your balance does not cover the cost of one typical reply",
    daily_cap: "you reached your daily limit",
    weekly_cap: "you reached your weekly limit",
    monthly_cap: "you reached your monthly limit",
  },
  es: {
    operator: "el operador pausó tu acceso",
    operator_budget: "se agotó el presupuesto del operador de este bot (recargar no ayuda)",
    insufficient_balance: "se agotó tu saldo",
    insufficient_headroom: "tu saldo no alcanza para el costo de una respuesta típica",
    daily_cap: "alcanzaste tu límite diario",
    weekly_cap: "alcanzaste tu límite semanal",
    monthly_cap: "alcanzaste tu límite mensual",
  },
};

const topup = (f: AlertFacts, lang: Language) =>
  f.topupUrl ? (lang === "es" ? ` Recarga aquí: ${f.topupUrl}` : ` Top up here: ${f.topupUrl}`) : "";

/**
 * The message for one alert, in Spanish or English. Plain text, no chat-specific markup. Times
 * (a block lifting, credits expiring, a provider running out) are written on the clock of
 * `timeZone` (`CREDITGATE_TIMEZONE`, where the cap windows are), UTC when not given.
 */
export function renderAlert(kind: AlertKind, f: AlertFacts, lang: Language, timeZone = "UTC"): string {
  const es = lang === "es";
  switch (kind) {
    case "low_balance":
      return es
        ? `Te quedan ${c(f.balanceMicroCredits)} créditos.${topup(f, lang)}`
        : `Your balance is low: ${c(f.balanceMicroCredits)} credits left.${topup(f, lang)}`;
    case "depleted":
      return es
        ? `Tu saldo se agotó (${c(f.balanceMicroCredits)} créditos).${topup(f, lang)}`
        : `Your balance is used up (${c(f.balanceMicroCredits)} credits).${topup(f, lang)}`;
    case "cap_threshold": {
      const p = PERIOD[lang][f.period ?? "day"] ?? f.period;
      return es
        ? `Usaste el ${f.pct}% de tu límite ${p} (${c(f.spentMicroCredits)} de ${c(f.capMicroCredits)} créditos).`
        : `You have used ${f.pct}% of your ${p} limit (${c(f.spentMicroCredits)} of ${c(f.capMicroCredits)} credits).`;
    }
    case "blocked": {
      const why = REASON[lang][f.reason ?? ""] ?? f.reason ?? "";
      const lift = f.liftsAtMs
        ? es
          ? ` Se reanuda el ${when(f.liftsAtMs, lang, timeZone)}.`
          : ` It resumes at ${when(f.liftsAtMs, lang, timeZone)}.`
        : "";
      const need =
        f.reason === "insufficient_headroom" && f.headroomMicroCredits !== undefined
          ? es
            ? ` (saldo ${c(f.balanceMicroCredits)}, una respuesta cuesta hasta unos ${c(f.headroomMicroCredits)} créditos)`
            : ` (balance ${c(f.balanceMicroCredits)}, one reply costs up to about ${c(f.headroomMicroCredits)} credits)`
          : "";
      const more =
        f.reason === "insufficient_balance" || f.reason === "insufficient_headroom" ? topup(f, lang) : "";
      return es
        ? `Pausamos tus mensajes: ${why}${need}.${lift}${more}`
        : `Your messages are paused: ${why}${need}.${lift}${more}`;
    }
    case "unblocked":
      return es ? "Ya puedes volver a escribir." : "You can chat again.";
    case "topup_received":
      return es
        ? `Recibimos tu recarga: +${c(f.amountMicroCredits)} créditos. Saldo: ${c(f.balanceMicroCredits)}.`
        : `Top-up received: +${c(f.amountMicroCredits)} credits. Balance: ${c(f.balanceMicroCredits)}.`;
    case "payment_reversed":
      return es
        ? `Un pago fue reembolsado o disputado: -${c(f.amountMicroCredits)} créditos. Saldo: ${c(f.balanceMicroCredits)}.`
        : `A payment was refunded or disputed: -${c(f.amountMicroCredits)} credits. Balance: ${c(f.balanceMicroCredits)}.`;
    case "autotopup_declined": {
      const auth = f.declineCode === "authentication_required";
      const why = es
        ? auth
          ? "tu banco pide que confirmes el pago"
          : "la tarjeta fue rechazada"
        : auth
          ? "your bank asks you to confirm the payment"
          : "your card was declined";
      const link = f.topupUrl
        ? es
          ? ` Paga aquí para recargar y volver a guardar tu tarjeta: ${f.topupUrl}`
          : ` Pay here to top up and save your card again: ${f.topupUrl}`
        : es
          ? " Usa /recargar para pagar."
          : " Use /recargar to pay.";
      return es
        ? `No pudimos hacer tu recarga automática de ${c(f.amountMicroCredits)} créditos: ${why}.${link}`
        : `Your automatic top-up of ${c(f.amountMicroCredits)} credits failed: ${why}.${link}`;
    }
    case "credits_expiring": {
      const bonus = f.grantKind === "promotional";
      const d = f.daysLeft ?? 0;
      return es
        ? `${c(f.amountMicroCredits)} créditos${bonus ? " de bonificación" : ""} vencen en ${d} ${d === 1 ? "día" : "días"} (${when(f.expiresAtMs, lang, timeZone)}). Úsalos antes: no se reembolsan.`
        : `${c(f.amountMicroCredits)}${bonus ? " bonus" : ""} credits expire in ${d} ${d === 1 ? "day" : "days"} (${when(f.expiresAtMs, lang, timeZone)}). Use them first: expired credit is not refunded.`;
    }
    case "credits_expired":
      return es
        ? `Vencieron ${c(f.amountMicroCredits)} créditos sin usar. Saldo: ${c(f.balanceMicroCredits)}.`
        : `${c(f.amountMicroCredits)} unused credits expired. Balance: ${c(f.balanceMicroCredits)}.`;
    case "operator_budget": {
      const period = PERIOD[lang][f.period ?? ""] ?? f.period ?? "";
      return es
        ? `Presupuesto ${period} de ${f.budget ?? "todo"}: ${f.pct ?? 0}% usado (US$${f.spentUsd ?? "0"} de US$${f.budgetUsd ?? "0"}).`
        : `${period[0]?.toUpperCase() ?? ""}${period.slice(1)} budget for ${f.budget ?? "all"}: ${f.pct ?? 0}% used ($${f.spentUsd ?? "0"} of $${f.budgetUsd ?? "0"}).`;
    }
    case "spend_spike":
      return es
        ? `Pico de gasto: ${c(f.lastHourMicroCredits)} créditos en la última hora (promedio ${c(f.avgHourMicroCredits)}/h).`
        : `Spend spike: ${c(f.lastHourMicroCredits)} credits in the last hour (average ${c(f.avgHourMicroCredits)}/h).`;
    case "provider_low_balance":
      return es
        ? `Saldo bajo en ${f.provider}: ${money(f.providerBalanceMicro, f.currency)} (umbral ${money(f.thresholdMicro, f.currency)}).`
        : `${f.provider} balance is low: ${money(f.providerBalanceMicro, f.currency)} (threshold ${money(f.thresholdMicro, f.currency)}).`;
    case "provider_low_runway":
      return es
        ? `${f.provider} se agota en ${f.runwayHours ?? "?"} h (${when(f.runsOutAtMs, lang, timeZone)}): saldo ${money(f.providerBalanceMicro, f.currency)}.`
        : `${f.provider} runs out in ${f.runwayHours ?? "?"} h (${when(f.runsOutAtMs, lang, timeZone)}) at the current burn: balance ${money(f.providerBalanceMicro, f.currency)}.`;
    case "provider_spend_spike":
      return es
        ? `Pico de gasto en ${f.provider}: ${money(f.lastHourMicro, f.currency)} en la última hora (promedio ${money(f.avgHourMicro, f.currency)}/h).`
        : `${f.provider} spend spike: ${money(f.lastHourMicro, f.currency)} in the last hour (average ${money(f.avgHourMicro, f.currency)}/h).`;
    case "provider_drift": {
      const causes = (f.causes ?? []).join("; ");
      return es
        ? `${f.provider} facturó ${money(f.providerMicro, f.currency)} el ${f.day}; creditgate midió ${money(f.meteredMicro, f.currency)} (${f.driftPct ?? "∞"}%). Causas probables: ${causes}.`
        : `${f.provider} billed ${money(f.providerMicro, f.currency)} on ${f.day}; creditgate metered ${money(f.meteredMicro, f.currency)} (${f.driftPct ?? "∞"}% drift). Likely causes: ${causes}.`;
    }
  }
}

/** Short hint for `/consumo` when the balance is low. */
export function topupHint(lang: Language, topupUrl: string | null): string {
  const base =
    lang === "es"
      ? "Tu saldo está bajo; recarga créditos para seguir."
      : "Your balance is low; top up to keep chatting.";
  return topupUrl ? `${base} ${topupUrl}` : base;
}
