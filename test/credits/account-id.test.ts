import { describe, expect, it } from "vitest";
import { ACCOUNT_ID_RULE, accountIdSchema, accountKind, assertAccountId } from "../../src/credits/index.js";
import { pushEventSchema } from "../../src/ingest/index.js";
import { createTopupRequestSchema } from "../../src/payments/index.js";

const VALID = [
  "telegram:123456",
  "agent:main",
  "x",
  "a".repeat(200),
  "whatsapp:+5491155550101",
  "ünïcode:ñ",
  "discord:\ud83d\ude00", // a surrogate pair (an emoji) is one character
];
// a lone surrogate: SQLite and PostgreSQL store U+FFFD instead, merging distinct ids
const INVALID = [
  "",
  "a".repeat(201),
  "telegram: 1",
  "tab\there",
  "line\nbreak",
  " telegram:1",
  "x\ud800",
  "x\udc00y",
];

const ledgerAccepts = (id: string) => {
  try {
    assertAccountId(id);
    return true;
  } catch {
    return false;
  }
};

describe("account id: one rule everywhere", () => {
  it("the schema, the ledger check, the top-up request and the usage push agree on every id", () => {
    const push = (userId: string) =>
      pushEventSchema.safeParse({
        idempotencyKey: "k1",
        agentId: "main",
        userId,
        provider: "anthropic",
        model: "claude-sonnet-4-5",
        input: 1,
        output: 1,
        timestampMs: 1_764_000_000_000,
        success: true,
      }).success;
    const topup = (userId: string) =>
      createTopupRequestSchema.safeParse({ userId, packId: "p", provider: "stripe" }).success;
    for (const id of [...VALID, ...INVALID]) {
      const valid = VALID.includes(id);
      expect({ id, schema: accountIdSchema.safeParse(id).success }).toEqual({ id, schema: valid });
      expect({ id, ledger: ledgerAccepts(id) }).toEqual({ id, ledger: valid });
      expect({ id, push: push(id) }).toEqual({ id, push: valid });
      expect({ id, topup: topup(id) }).toEqual({ id, topup: valid });
    }
  });

  it("explains the rule with an example, and tells agents from users", () => {
    expect(accountIdSchema.safeParse("a b").error?.issues[0]?.message).toBe(ACCOUNT_ID_RULE);
    expect(() => assertAccountId("a b")).toThrow('invalid account id "a b"');
    expect(accountKind("agent:main")).toBe("agent");
    expect(accountKind("telegram:1")).toBe("user");
  });
});

describe("look-alike account ids", () => {
  it("refuses control and invisible format characters (NUL, bidi override, zero-width), keeps other Unicode", () => {
    for (const id of ["telegram:1\u0000", "telegram:\u202e1", "telegram:1\u200b", "telegram:1\u001b[31m"])
      expect(accountIdSchema.safeParse(id).success).toBe(false);
    for (const id of ["telegram:1", "whatsapp:+15551234567", "discord:josé", "line:ユーザー"])
      expect(accountIdSchema.safeParse(id).success).toBe(true);
  });
});
