import { describe, expect, test } from "vitest";
import { jsonChunks, renderTable, safeText, tableChunks, toJson } from "../src/cli/output.js";
import { rng } from "./support/rng.js";

/** The sanitizer as it was before its fast path: every code point through the unsafe test. */
function safeTextReference(value: unknown, opts: { keepNewlines?: boolean } = {}): string {
  const unsafe = (code: number) =>
    code <= 0x1f ||
    (code >= 0x7f && code <= 0x9f) ||
    code === 0x061c ||
    (code >= 0x200b && code <= 0x200f) ||
    (code >= 0x2028 && code <= 0x202e) ||
    (code >= 0x2060 && code <= 0x2069) ||
    code === 0xfeff;
  const s = value === null || value === undefined ? "" : String(value);
  let out = "";
  for (const ch of s) {
    const code = ch.charCodeAt(0);
    if (!unsafe(code) || (opts.keepNewlines && code === 0x0a)) out += ch;
  }
  return out;
}

/** The table renderer as it was (widths by spreading each column into Math.max). */
function renderTableReference(headers: readonly string[], rows: readonly (readonly unknown[])[]): string {
  const cells = rows.map((r) => r.map((c) => safeTextReference(c)));
  const widths = headers.map((h, i) => Math.max(h.length, ...cells.map((r) => (r[i] ?? "").length)));
  const numeric = headers.map(
    (_, i) => cells.length > 0 && cells.every((r) => /^-?[\d.,]+$/.test(r[i] ?? "")),
  );
  const line = (r: readonly string[]) =>
    r
      .map((c, i) => (numeric[i] ? c.padStart(widths[i] ?? 0) : c.padEnd(widths[i] ?? 0)))
      .join("  ")
      .trimEnd();
  const out = [line(headers), widths.map((w) => "-".repeat(w)).join("  ")];
  for (const r of cells) out.push(line(r));
  return `${out.join("\n")}\n`;
}

// Every boundary of the unsafe ranges, plus ordinary, accented, RTL, emoji and lone surrogates.
const CODE_POINTS = [
  0x00, 0x09, 0x0a, 0x0d, 0x1b, 0x1f, 0x20, 0x41, 0x7e, 0x7f, 0x80, 0x9f, 0xa0, 0xe9, 0x05d0, 0x061b, 0x061c,
  0x061d, 0x200a, 0x200b, 0x200f, 0x2010, 0x2027, 0x2028, 0x202e, 0x202f, 0x205f, 0x2060, 0x2069, 0x206a,
  0xfefe, 0xfeff, 0xff00, 0x1f600, 0xd800, 0xdc00,
];

function randomText(next: () => number): string {
  let s = "";
  const n = Math.floor(next() * 12);
  for (let i = 0; i < n; i++)
    s += String.fromCodePoint(CODE_POINTS[Math.floor(next() * CODE_POINTS.length)] as number);
  return s;
}

describe("CLI output", () => {
  test("safeText removes exactly what it did before its fast path (20,000 random strings, both modes)", () => {
    const { next } = rng(7);
    for (let i = 0; i < 20_000; i++) {
      const s = randomText(next);
      expect(safeText(s)).toBe(safeTextReference(s));
      expect(safeText(s, { keepNewlines: true })).toBe(safeTextReference(s, { keepNewlines: true }));
    }
    for (const v of [null, undefined, 0, -1.5, 12n, true, { toString: () => "x\u202ey" }])
      expect(safeText(v)).toBe(safeTextReference(v));
  });

  test("renderTable renders small tables as before (random cells, numeric and text columns, ragged rows)", () => {
    const { next } = rng(11);
    for (let t = 0; t < 300; t++) {
      const headers = Array.from(
        { length: 1 + Math.floor(next() * 4) },
        (_, i) => `h${i}${randomText(next)}`,
      );
      const rows = Array.from({ length: Math.floor(next() * 6) }, () =>
        Array.from({ length: Math.max(0, headers.length + Math.floor(next() * 3) - 1) }, () =>
          next() < 0.5 ? Math.floor(next() * 1e6) / 100 : randomText(next),
        ),
      );
      expect(renderTable(headers, rows)).toBe(renderTableReference(headers, rows));
    }
  });

  test("renderTable takes 200,000 rows (spreading a column into Math.max threw past ~125k)", () => {
    const rows = Array.from({ length: 200_000 }, (_, i) => [`telegram:${i}`, i, (i / 7).toFixed(2)]);
    expect(() => renderTableReference(["user", "requests", "cost"], rows)).toThrow(RangeError);
    const out = renderTable(["user", "requests", "cost"], rows);
    const lines = out.split("\n");
    expect(lines).toHaveLength(200_003); // header, rule, rows, and the final newline
    // widths: user 15 (the longest id), requests 8 (its header), cost 8; numbers right-aligned
    expect(lines[2]).toBe(`telegram:0${" ".repeat(14)}0${" ".repeat(6)}0.00`);
    expect(lines[200_001]).toBe("telegram:199999    199999  28571.29");
  });

  test("toJson: bigints as strings, with or without them the same text as through the replacer", () => {
    const replacer = (_k: string, v: unknown) => (typeof v === "bigint" ? v.toString() : v);
    const plain = { a: 1, b: "x\u202ey", c: [null, true, { d: 2.5 }], e: undefined };
    expect(toJson(plain)).toBe(`${JSON.stringify(plain, replacer, 2).replace("\u202e", "\\u202e")}\n`);
    const big = { n: 12345678901234567890n, rows: [{ v: 1n }, { v: 2 }] };
    expect(JSON.parse(toJson(big))).toEqual({ n: "12345678901234567890", rows: [{ v: "1" }, { v: 2 }] });
    expect(toJson(big)).toBe(`${JSON.stringify(big, replacer, 2)}\n`);
    const cycle: Record<string, unknown> = {};
    cycle.self = cycle;
    expect(() => toJson(cycle)).toThrow(TypeError);
  });

  test("jsonChunks and tableChunks, joined, are toJson's and renderTable's text (random values, every piece size)", () => {
    const replacer = (_k: string, v: unknown) => (typeof v === "bigint" ? v.toString() : v);
    // toJson as it was: one stringify of the whole value, unsafe characters escaped after
    const reference = (v: unknown) =>
      `${JSON.stringify(v, replacer, 2).replace(
        /[\u007f-\u009f\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff]/g,
        (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`,
      )}\n`;
    const { next } = rng(23);
    const element = (): unknown => {
      const k = Math.floor(next() * 7);
      if (k === 0)
        return { key: randomText(next), n: Math.floor(next() * 1e9), nested: [1, { a: randomText(next) }] };
      if (k === 1) return BigInt(Math.floor(next() * 1e9)) * 10_000_000_000n; // past 2^53: a string
      if (k === 2) return [randomText(next), null, []];
      if (k === 3) return undefined; // null inside an array
      if (k === 4) return randomText(next);
      if (k === 5) return {};
      return next() * 100;
    };
    for (let t = 0; t < 400; t++) {
      const value = Array.from({ length: Math.floor(next() * 40) }, element);
      const size = 1 + Math.floor(next() * 12);
      const pieces = [...jsonChunks(value, size)];
      expect(pieces.join("")).toBe(reference(value));
      expect(toJson(value)).toBe(reference(value));
      // more elements than a piece holds: one piece per chunk, plus the brackets
      if (value.length > size) expect(pieces).toHaveLength(Math.ceil(value.length / size) + 2);
      expect(JSON.parse(pieces.join(""))).toHaveLength(value.length);
    }
    for (const v of [[], {}, null, 5, "x\u2028", { rows: [1n] }])
      expect([...jsonChunks(v, 1)].join("")).toBe(reference(v));

    const headers = ["user", "requests", "cost"];
    for (let t = 0; t < 200; t++) {
      const rows = Array.from({ length: Math.floor(next() * 30) }, () => [
        randomText(next),
        Math.floor(next() * 1e6),
        next() < 0.9 ? (next() * 100).toFixed(2) : randomText(next),
      ]);
      const size = 1 + Math.floor(next() * 8);
      const pieces = [...tableChunks(headers, rows, size)];
      expect(pieces.join("")).toBe(renderTableReference(headers, rows));
      // whole lines, at most `size` of them (the first piece: the header, its rule and a row)
      for (const p of pieces) {
        expect(p.endsWith("\n")).toBe(true);
        expect(p.split("\n").length - 1).toBeLessThanOrEqual(Math.max(size, 3));
      }
    }
  });
});
