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
