/**
 * Case chat-reply-user-language (server side): the status and /consumo answers say the language the
 * operator chose for a user (their limit rules, else the defaults' `*`), so the plugin answers them
 * in it, as their notices are written; nothing when neither chose one.
 */
import { describe, expect } from "vitest";
import { createLedger } from "../../src/credits/index.js";
import { createEnforcer, createQueries, DEFAULT_SETTINGS } from "../../src/limits/index.js";
import { ENGINES, testOn } from "../support/temp-db.js";

describe.each(ENGINES)("%s", (engine) => {
  const test = testOn(engine);
  test("status and /consumo carry the user's chosen language, the user's rule before the defaults'", ({
    db,
  }) => {
    const settings = { ...DEFAULT_SETTINGS, timezone: "UTC", language: "es" as const };
    const enforcer = createEnforcer(db, settings);
    const queries = createQueries(db, enforcer);
    const now = Date.parse("2026-12-04T10:00:00Z");
    createLedger(db).post({
      accountId: "telegram:5550103",
      kind: "grant",
      amountMicroCredits: 2_000_000n,
      idempotencyKey: "fund-5550103",
      nowMs: now,
    });
    const lang = (userId: string) => ({
      status: queries.answer("status", { userId }, now).language,
      consumo: queries.answer("consumo", { userId }, now).language,
    });
    // nobody chose: the chat side keeps its own language (the server's fallback is not sent)
    expect(lang("telegram:5550103")).toEqual({ status: undefined, consumo: undefined });
    enforcer.setLimits("telegram:5550103", { language: "en" }, now);
    expect(lang("telegram:5550103")).toEqual({ status: "en", consumo: "en" });
    // the defaults' language for everyone else; the user's own rule wins
    enforcer.setLimits("*", { language: "es" }, now);
    expect(lang("telegram:5550199")).toEqual({ status: "es", consumo: "es" });
    expect(lang("telegram:5550103")).toEqual({ status: "en", consumo: "en" });
  });
});
