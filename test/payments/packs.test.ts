import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { currencyExponent, decimalToMinor, parsePacks } from "../../src/payments/index.js";

describe("decimalToMinor", () => {
  it.each([
    ["5.00", 2, 500n],
    ["5", 2, 500n],
    ["19.99", 2, 1999n],
    ["5000", 0, 5000n],
    ["5000.00", 0, 5000n],
    ["1.230", 3, 1230n],
  ])("%s with %i decimals → %s", (text, exponent, expected) => {
    expect(decimalToMinor(text, exponent)).toBe(expected);
  });

  it.each([
    ["0.30000000000000004", 2],
    ["5.001", 2],
    ["-1", 2],
    ["1e3", 2],
    ["12.5", 0],
  ])("rejects %s with %i decimals instead of rounding", (text, exponent) => {
    expect(() => decimalToMinor(text, exponent)).toThrow(RangeError);
  });
});

describe("currencyExponent", () => {
  it("knows Stripe's zero/three-decimal lists and MercadoPago's whole-peso CLP and COP", () => {
    expect(currencyExponent("stripe", "usd")).toBe(2);
    expect(currencyExponent("stripe", "JPY")).toBe(0);
    expect(currencyExponent("stripe", "CLP")).toBe(0);
    expect(currencyExponent("stripe", "KWD")).toBe(3);
    expect(currencyExponent("mercadopago", "ARS")).toBe(2);
    expect(currencyExponent("mercadopago", "CLP")).toBe(0);
    expect(currencyExponent("mercadopago", "COP")).toBe(0);
  });
});

describe("parsePacks", () => {
  it("accepts the example packs file", () => {
    const catalog = parsePacks(JSON.parse(readFileSync("examples/packs.json", "utf8")));
    const starter = catalog.get("starter");
    expect(starter?.grantMicroCredits).toBe(5_000_000n);
    expect(starter && catalog.price(starter, "stripe")).toMatchObject({ currency: "USD", amountMinor: 500n });
  });

  it("picks a currency when a pack lists several for one provider", () => {
    const catalog = parsePacks({
      packs: [
        {
          id: "p",
          credits: "1",
          prices: [
            { provider: "mercadopago", currency: "ARS", amount: "1000" },
            { provider: "mercadopago", currency: "BRL", amount: "25.50" },
          ],
        },
      ],
    });
    const p = catalog.get("p");
    expect(p && catalog.price(p, "mercadopago")?.currency).toBe("ARS");
    expect(p && catalog.price(p, "mercadopago", "brl")).toMatchObject({ amountMinor: 2550n, exponent: 2 });
    expect(p && catalog.price(p, "stripe")).toBeUndefined();
  });

  it("reports every problem at once: floats, too many decimals, duplicates, zero credits", () => {
    const bad = {
      packs: [
        { id: "a", credits: "0", prices: [{ provider: "stripe", currency: "usd", amount: "5.001" }] },
        { id: "a", credits: "1", prices: [{ provider: "mercadopago", currency: "CLP", amount: "99.5" }] },
      ],
    };
    expect(() => parsePacks(bad)).toThrow(
      /credits must be greater than 0[\s\S]*5\.001: 5\.001 has more than 2 decimals[\s\S]*duplicate id[\s\S]*99\.5 has more than 0 decimals/,
    );
    expect(() =>
      parsePacks({
        packs: [{ id: "f", credits: 5, prices: [{ provider: "stripe", currency: "usd", amount: 5 }] }],
      }),
    ).toThrow(/invalid packs file/);
  });
});

describe("provider minor-unit rules", () => {
  const one = (provider: string, currency: string, amount: string) => ({
    packs: [{ id: "p", credits: "1", prices: [{ provider, currency, amount }] }],
  });
  const accepted = (provider: string, currency: string, amount: string) =>
    parsePacks(one(provider, currency, amount)).list()[0]?.prices[0]?.amountMinor;
  const refusal = (provider: string, currency: string, amount: string): string => {
    try {
      parsePacks(one(provider, currency, amount));
    } catch (err) {
      return (err as Error).message;
    }
    return "accepted";
  };

  it("Stripe zero-decimal currencies take whole units only (JPY, KRW, CLP, UGX, ...)", () => {
    expect(accepted("stripe", "JPY", "500")).toBe(500n);
    expect(accepted("stripe", "KRW", "5000")).toBe(5000n);
    expect(accepted("stripe", "UGX", "20000")).toBe(20000n);
    expect(refusal("stripe", "JPY", "500.5")).toBe(
      "invalid packs file:\n✖ pack p: stripe JPY 500.5: 500.5 has more than 0 decimals",
    );
    expect(refusal("stripe", "CLP", "990.50")).toContain(
      "pack p: stripe CLP 990.50: 990.50 has more than 0 decimals",
    );
  });

  it("Stripe three-decimal currencies (BHD, JOD, KWD, OMR, TND) must end in 0", () => {
    expect(accepted("stripe", "KWD", "5.120")).toBe(5120n);
    for (const c of ["BHD", "JOD", "KWD", "OMR", "TND"]) {
      expect(refusal("stripe", c, "5.125")).toBe(
        `invalid packs file:\n✖ pack p: stripe ${c} 5.125: Stripe requires the last decimal of ${c} amounts to be 0`,
      );
    }
  });

  it("Stripe special cases ISK, HUF and TWD: two decimals on the wire, whole units only", () => {
    expect(accepted("stripe", "ISK", "700")).toBe(70000n);
    expect(accepted("stripe", "HUF", "2000")).toBe(200000n);
    for (const c of ["ISK", "HUF", "TWD"]) {
      expect(refusal("stripe", c, "990.50")).toBe(
        `invalid packs file:\n✖ pack p: stripe ${c} 990.50: Stripe takes ${c} in whole units only (no decimals)`,
      );
    }
  });

  it("Stripe minimum and maximum charge amounts", () => {
    expect(refusal("stripe", "USD", "0.49")).toContain(
      "pack p: stripe USD 0.49: below Stripe's minimum charge of 0.50 USD",
    );
    expect(refusal("stripe", "JPY", "49")).toContain("below Stripe's minimum charge of 50 JPY");
    expect(accepted("stripe", "GBP", "0.30")).toBe(30n);
    expect(refusal("stripe", "USD", "1000000.00")).toContain(
      "above Stripe's maximum amount of 999999.99 USD",
    );
  });

  it("MercadoPago takes only its own currencies, CLP and COP in whole pesos", () => {
    for (const c of ["ARS", "BRL", "MXN", "PEN", "UYU"])
      expect(accepted("mercadopago", c, "25.50")).toBe(2550n);
    expect(accepted("mercadopago", "CLP", "5000")).toBe(5000n);
    expect(accepted("mercadopago", "COP", "20000")).toBe(20000n);
    expect(refusal("mercadopago", "COP", "20000.50")).toContain("20000.50 has more than 0 decimals");
    expect(refusal("mercadopago", "USD", "5.00")).toBe(
      "invalid packs file:\n✖ pack p: mercadopago USD 5.00: MercadoPago does not take USD: use one of ARS, BRL, CLP, COP, MXN, PEN, UYU",
    );
  });

  it("creditgate refuses to start with a pack that breaks its provider's rules, naming the pack", async () => {
    const { mkdtempSync, writeFileSync } = await import("node:fs");
    const { tmpdir } = await import("node:os");
    const { join } = await import("node:path");
    const { runCli } = await import("../support/cli.js");
    const dir = mkdtempSync(join(tmpdir(), "creditgate-packs-"));
    const packs = join(dir, "packs.json");
    writeFileSync(
      packs,
      JSON.stringify({
        packs: [
          { id: "yen", credits: "5", prices: [{ provider: "stripe", currency: "JPY", amount: "500.5" }] },
          { id: "krona", credits: "5", prices: [{ provider: "stripe", currency: "ISK", amount: "700.50" }] },
        ],
      }),
    );
    const r = await runCli({ CREDITGATE_DB: join(dir, "db.sqlite"), CREDITGATE_PACKS: packs }, ["packs"]);
    expect(r.error?.message).toBe(
      "invalid packs file:\n✖ pack yen: stripe JPY 500.5: 500.5 has more than 0 decimals\n" +
        "✖ pack krona: stripe ISK 700.50: Stripe takes ISK in whole units only (no decimals)",
    );
  });
});
