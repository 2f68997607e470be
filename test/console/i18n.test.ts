/**
 * The console's Spanish dictionary is complete: every English word has a Spanish one that differs
 * (bar a short allow-list of words that are the same in both), and every stored value the pages
 * show (top-up statuses, ledger kinds, alert kinds, webhook states, block reasons, review states,
 * provider-event outcomes) has a translation in both languages.
 */
import { describe, expect, it } from "vitest";
import { LANGS, term } from "../../console/src/i18n.js";
import { ALERT_KINDS, BLOCK_REASONS } from "../../src/limits/index.js";
import { TOPUP_STATUSES } from "../../src/reports/index.js";

/** Words that are spelled the same in both languages. */
const SAME = new Set(["hours", "id"]);
const STORED = [
  ...TOPUP_STATUSES,
  ...ALERT_KINDS,
  ...BLOCK_REASONS,
  ...["usage", "grant", "topup", "refund", "reversal", "adjustment", "expiry"], // ledger kinds
  ...["none", "pending", "queued", "delivered", "dead"], // alert webhook states
  ...["held", "released", "voided"], // review
  ...["applied", "no_change", "ignored", "rejected", "unknown_topup"], // provider event outcomes
];

describe("console dictionary", () => {
  it("every English word has a Spanish translation", () => {
    const { en, es } = LANGS;
    const untranslated = Object.keys(en).filter(
      (k) =>
        k !== "terms" &&
        !SAME.has(k) &&
        (es as Record<string, unknown>)[k] === (en as Record<string, unknown>)[k],
    );
    expect(untranslated).toEqual([]);
    expect(Object.keys(es).sort()).toEqual(Object.keys(en).sort());
    expect(Object.keys(es.terms).sort()).toEqual(Object.keys(en.terms).sort());
  });

  it("every stored value the pages show is translated, in both languages", () => {
    for (const lang of ["en", "es"] as const) {
      const missing = STORED.filter((v) => !Object.hasOwn(LANGS[lang].terms, v));
      expect(missing, lang).toEqual([]);
    }
    const sameInBoth = STORED.filter((v) => LANGS.es.terms[v] === LANGS.en.terms[v]);
    expect(sameInBoth).toEqual([]);
    expect(term(LANGS.es, "paid")).toBe("pagada");
    expect(term(LANGS.es, "awaiting_payment")).toBe("esperando el pago");
    expect(term(LANGS.en, "awaiting_payment")).toBe("awaiting payment");
    // A value the console does not know yet shows as stored; no prototype keys.
    expect(term(LANGS.es, "something_new")).toBe("something_new");
    expect(term(LANGS.es, "constructor")).toBe("constructor");
  });
});
