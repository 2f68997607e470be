import { describe, expect, it } from "vitest";
import { msDecimal, tsHex } from "../../src/meter/identity.js";
import { dateParse } from "../../src/meter/parse.js";
import { rng } from "../support/rng.js";

const pad = (v: number, w: number) => String(v).padStart(w, "0");
/** The expression `tsHex` stands for. */
const slowHex = (ms: number) => Math.max(0, ms).toString(16).padStart(12, "0");

describe("tsHex (dedupe key time prefix)", () => {
  it("equals the radix-16 toString it replaces, in range, at its edges and outside it", () => {
    const r = rng(10);
    const cases = [
      0,
      -0,
      1,
      15,
      16,
      0xffffff,
      0x1000000,
      0x1000001,
      2 ** 48 - 1,
      2 ** 48,
      2 ** 48 + 1,
      2 ** 53,
      1e21,
      1e300,
      -1,
      -1e15,
      0.5,
      1.5,
      1790178523879.25,
      Number.NaN,
      Number.POSITIVE_INFINITY,
      Number.NEGATIVE_INFINITY,
      Number.MAX_SAFE_INTEGER,
      Number.MAX_VALUE,
      Number.MIN_VALUE,
      1790178523879,
    ];
    for (let i = 0; i < 20_000; i++) cases.push(Math.floor(r.next() * 2 ** (1 + r.int(53))));
    for (const ms of cases) expect([ms, tsHex(ms)]).toEqual([ms, slowHex(ms)]);
  });
});

describe("dateParse (ISO time of a transcript line)", () => {
  const same = (s: string) => expect([s, dateParse(s)]).toEqual([s, Date.parse(s)]);

  it("equals Date.parse on the canonical form, out-of-range fields and day rollover included", () => {
    for (let y = 1965; y <= 2105; y += 1)
      for (let m = 0; m <= 13; m++)
        for (const d of [0, 1, 9, 10, 19, 28, 29, 30, 31, 32])
          same(
            `${pad(y, 4)}-${pad(m, 2)}-${pad(d, 2)}T${pad((y + d) % 25, 2)}:${pad((y * m) % 61, 2)}:${pad((d * 7) % 61, 2)}.${pad((y * d) % 1000, 3)}Z`,
          );
    const r = rng(11);
    for (let i = 0; i < 50_000; i++)
      same(
        `${pad(r.int(10_000), 4)}-${pad(r.int(14), 2)}-${pad(r.int(33), 2)}T${pad(r.int(26), 2)}:${pad(r.int(62), 2)}:${pad(r.int(62), 2)}.${pad(r.int(1000), 3)}Z`,
      );
  });

  it("equals Date.parse on any one character changed, and on other forms", () => {
    const base = "2026-09-23T15:48:42.863Z";
    for (let p = 0; p < base.length; p++) {
      for (let c = 0; c < 128; c++) same(base.slice(0, p) + String.fromCharCode(c) + base.slice(p + 1));
      for (const c of ["\uD800", "é", "٣", "０"]) same(base.slice(0, p) + c + base.slice(p + 1));
    }
    for (const s of [
      "",
      "x".repeat(24),
      "2026-09-23T15:48:42.863+00:00",
      "2026-09-23T15:48:42Z",
      "2026-09-23T15:48:42.8631Z",
      "2026-09-23 15:48:42.863Z",
      "+002026-09-23T15:48:42.8Z",
      "2026-09-23T24:00:00.000Z",
      "1970-01-01T00:00:00.000Z",
      "1969-12-31T23:59:59.999Z",
      "9999-12-31T23:59:59.999Z",
    ])
      same(s);
  });
});

describe("msDecimal (dedupe key time field)", () => {
  it("equals String(ms) for every kind of number", () => {
    const r = rng(12);
    const cases = [
      0,
      -0,
      1,
      999_999,
      1e6,
      1e6 + 1,
      1_000_009,
      1_999_999,
      2e6,
      1790178523879,
      1790178000000,
      1790178000009,
      1790178099999,
      Number.MAX_SAFE_INTEGER,
      Number.MAX_SAFE_INTEGER + 1,
      2 ** 53 + 2,
      1e21,
      1e300,
      -1,
      -1e12,
      0.5,
      1790178523879.5,
      1e-7,
      Number.NaN,
      Number.POSITIVE_INFINITY,
      Number.NEGATIVE_INFINITY,
      Number.MIN_VALUE,
    ];
    for (let i = 0; i < 20_000; i++) cases.push(Math.floor(r.next() * 2 ** (1 + r.int(53))));
    for (let i = 0; i < 2_000; i++)
      cases.push(
        1790178000000 +
          r.int(1000) * 1e6 +
          r.pick([0, 1, 9, 10, 99, 100, 999, 1000, 9999, 10_000, 99_999, 100_000, 999_999]),
      );
    for (const ms of cases) expect([ms, msDecimal(ms)]).toEqual([ms, String(ms)]);
  });
});
