import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { credits } from "../src/i18n.js";
import { formatMicroCredits, formatScaled } from "../src/money.js";
import { microToCredits } from "../src/rpc.js";

/** Micro-credit amounts: zero, sub-credit, whole, negative (overdrawn balances, reversals), large. */
const TABLE = [
  0,
  1,
  9,
  10,
  500_000,
  999_999,
  1_000_000,
  1_000_001,
  2_500_000,
  3_250_000,
  7_000_000,
  12_345_678_901,
  -1,
  -10,
  -500_000,
  -1_000_000,
  -1_500_000,
  -2_500_000,
  -2_000_001,
  -12_345_678_901,
  Number.MAX_SAFE_INTEGER,
  -Number.MAX_SAFE_INTEGER,
];

describe("credit formatting", () => {
  it("prints negative amounts with one leading minus (was -2.-5)", () => {
    expect(microToCredits(-2_500_000)).toBe("-2.5");
    expect(microToCredits(-500_000)).toBe("-0.5");
    expect(microToCredits(-7_000_000)).toBe("-7");
    expect(credits(-2_500_000)).toBe("-2.50");
    expect(credits(-500_000)).toBe("-0.50");
  });

  it("keeps the positive outputs", () => {
    expect(microToCredits(2_500_000)).toBe("2.5");
    expect(microToCredits(7_000_000)).toBe("7");
    expect(microToCredits(1)).toBe("0.000001");
    expect(credits(0)).toBe("0.00");
    expect(credits(3_250_000)).toBe("3.25");
    expect(formatScaled(4_851_608n, 7)).toBe("0.4851608");
  });

  const rootMoney = fileURLToPath(new URL("../../src/money.ts", import.meta.url));
  it.runIf(existsSync(rootMoney))("equals creditgate's src/money.ts on a table of values", async () => {
    const root = (await import(/* @vite-ignore */ rootMoney)) as {
      formatScaled: (v: bigint, scale: number, minDecimals?: number) => string;
      formatMicroCredits: (micro: bigint | number) => string;
    };
    for (const micro of TABLE) {
      const m = BigInt(micro);
      expect({ micro, s: credits(micro) }).toEqual({ micro, s: root.formatMicroCredits(micro) });
      expect({ micro, s: microToCredits(micro) }).toEqual({ micro, s: root.formatScaled(m, 6) });
      for (const [scale, min] of [
        [0, 0],
        [2, 2],
        [6, 0],
        [6, 2],
        [12, 0],
      ] as const) {
        expect({ micro, scale, min, s: formatScaled(m, scale, min) }).toEqual({
          micro,
          scale,
          min,
          s: root.formatScaled(m, scale, min),
        });
      }
      expect(formatMicroCredits(micro, 2)).toBe(root.formatMicroCredits(micro));
    }
  });
});

describe("user ids", () => {
  const rootIds = fileURLToPath(new URL("../../src/credits/account-id.ts", import.meta.url));
  it.runIf(existsSync(rootIds))(
    "every userId the plugin accepts is a valid creditgate account id",
    async () => {
      const { ACCOUNT_ID_RE } = (await import(/* @vite-ignore */ rootIds)) as { ACCOUNT_ID_RE: RegExp };
      const { parseGrant } = await import("../src/rpc.js");
      const accepted = (userId: string) => {
        try {
          return parseGrant({ userId, credits: "1" }).userId;
        } catch {
          return null;
        }
      };
      for (const id of [
        "telegram:5550101",
        "agent:main",
        "x",
        "a".repeat(200),
        "a".repeat(201),
        "a b",
        "",
        " t:1 ",
      ]) {
        const out = accepted(id);
        // The plugin is stricter (no "/": the id goes into a URL path) and normalizes (trim, lower case).
        if (out !== null) expect({ id, root: ACCOUNT_ID_RE.test(out) }).toEqual({ id, root: true });
        if (!ACCOUNT_ID_RE.test(id.trim())) expect({ id, plugin: out }).toEqual({ id, plugin: null });
      }
    },
  );
});
