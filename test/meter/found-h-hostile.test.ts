import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { heldCell } from "../../src/cli/commands/meter.js";
import { pushEventOf } from "../../src/edge/outbox.js";
import { pushEventSchema } from "../../src/ingest/push.js";
import { parseLine, usageEvent } from "../../src/meter/parse.js";
import { queryUsage } from "../../src/meter/report.js";
import { heldSummary, queryUsageWithHeld, type UsageRowWithHeld } from "../../src/meter/review.js";
import { packEvents, unpackEvents } from "../../src/meter/sources/event-columns.js";
import { meterCaseDir, type TempWorld } from "../support/meter-env.js";

/** test/cases of hostile / out-of-range transcript input (helper h-hostile, 2026-12-03). */
const CASES = resolve(import.meta.dirname, "../cases");

let w: TempWorld | undefined;
afterEach(() => {
  w?.cleanup();
  w = undefined;
});

describe("case unreadable-token-count-held: a count past 2^53, infinite or not a number is held, not dropped", () => {
  for (const mode of ["calculate", "auto", "recorded"] as const) {
    it(`${mode}: the 3 readable calls billed, the 3 unreadable ones held for review (were malformed, never seen)`, async () => {
      const r = await meterCaseDir(join(CASES, "unreadable-token-count-held"), mode);
      w = r.world;
      expect(r.s).toMatchObject({ billed: 3, malformed: 0, held: 3 });
      const byUser = Object.fromEntries(
        queryUsage(w.db, { by: "user" }).map((x) => [x.key, [x.requests, x.costUsd]]),
      );
      expect(byUser).toEqual({ "telegram:5550101": [2, "0.01125"], "agent:ops": [1, "0.00045"] });
      const held = w.db
        .prepare(
          "SELECT account_id AS a, COUNT(*) AS n FROM usage_review WHERE status = 'held' GROUP BY a ORDER BY a",
        )
        .all();
      expect(held).toEqual([
        { a: "agent:ops", n: 1 },
        { a: "telegram:5550101", n: 2 },
      ]);
      const reasons = (
        w.db.prepare("SELECT reason FROM usage_review ORDER BY id").all() as { reason: string }[]
      ).map((x) => x.reason);
      expect(reasons).toEqual([
        expect.stringMatching(/^input token count 18446744073709552000 unreadable/),
        expect.stringMatching(/^output token count "1,050" unreadable/),
        expect.stringMatching(/^output token count "10 tokens" unreadable/),
      ]);
      // nothing priced: the operator releases with --cost-usd
      const costs = w.db.prepare("SELECT cost_pico_usd AS c FROM usage_review").all() as { c: unknown }[];
      expect(costs.every((x) => x.c === null)).toBe(true);
      // and the summary the meter and `review` print says so, not just "$0"
      expect(heldSummary(w.db)).toMatchObject({ held: 3, heldCostUsd: "0", unpriced: 3 });
      // so does `usage` per row (`heldUnpricedRequests`, the table's "held" cell), not "1 ($0)"
      const rows = queryUsageWithHeld(w.db, { by: "user" });
      expect(rows.map((x) => [x.key, x.heldRequests, x.heldCostUsd, x.heldUnpricedRequests])).toEqual([
        ["telegram:5550101", 2, "0", 2],
        ["agent:ops", 1, "0", 1],
      ]);
      expect(rows.map(heldCell)).toEqual(["2 (not priced)", "1 (not priced)"]);
    });
  }
  it("the usage table's held cell: none, priced, not priced, both", () => {
    const row = (heldRequests: number, heldCostUsd: string, heldUnpricedRequests: number) =>
      ({ heldRequests, heldCostUsd, heldUnpricedRequests }) as UsageRowWithHeld;
    expect(heldCell(row(0, "0", 0))).toBe(0);
    expect(heldCell(row(1, "10000", 0))).toBe("1 ($10000)");
    expect(heldCell(row(1, "0", 1))).toBe("1 (not priced)");
    expect(heldCell(row(3, "0.05", 1))).toBe("3 ($0.05 + 1 not priced)");
  });

  it("every shape of an unreadable count parses to a held call, with the other counts read", () => {
    const line = (usage: unknown) =>
      `{"type":"message","id":"a1","timestamp":"2026-11-22T18:13:21.500Z","message":{"role":"assistant","content":[],"api":"openai-completions","provider":"mock","model":"mock-gpt","usage":${usage},"timestamp":1795371200000}}`;
    for (const bad of [
      "1e400",
      "-1e400",
      "1e308",
      "9007199254740993",
      '"0x64"',
      '"1,234"',
      "true",
      "[5]",
      '{"a":1}',
    ]) {
      const r = parseLine(line(`{"input":${bad},"output":50}`));
      expect(r.kind, bad).toBe("usage");
      if (r.kind !== "usage") continue;
      expect(r.usage.countProblem, bad).toMatch(/^input token count .* unreadable/);
      expect([r.usage.input, r.usage.output], bad).toEqual([0, 50]);
    }
    // the same line with only unreadable counts is a call, not zero usage
    const only = parseLine(line('{"input":0,"output":"lots"}'));
    expect(only.kind === "usage" && only.usage.countProblem).toMatch(/^output token count "lots"/);
    // readable counts are untouched: null/absent is 0, decimal text and fractions as before
    for (const ok of ["null", '"100"', "100.4", "-5"]) {
      const r = parseLine(line(`{"input":${ok},"output":50}`));
      expect(r.kind === "usage" && r.usage.countProblem, ok).toBeUndefined();
    }
  });

  it("the problem survives the reader thread's columns and an edge meter's push", () => {
    const r = parseLine(
      `{"type":"message","id":"a1","timestamp":"2026-11-22T18:13:21.500Z","message":{"role":"assistant","content":[],"api":"openai-completions","provider":"mock","model":"mock-gpt","usage":{"input":1e400,"output":50},"timestamp":1795371200000}}`,
    );
    if (r.kind !== "usage") throw new Error(r.kind);
    const e = usageEvent(r.usage, "main", null, null, "agent:main", "jsonl", "f@0");
    const packed = packEvents([e]);
    expect(packed).not.toBeNull();
    expect(unpackEvents(packed as NonNullable<typeof packed>)).toEqual([e]);
    const push = pushEventSchema.parse(pushEventOf(e, "edge-1"));
    expect(push.countProblem).toBe(e.countProblem);
  });

  it("the case's transcript is what the README says", () => {
    const t = readFileSync(
      join(
        CASES,
        "unreadable-token-count-held/state/agents/main/sessions/11111111-1111-4111-8111-111111111111.jsonl",
      ),
      "utf8",
    );
    expect(t).toContain('"input":18446744073709551615');
  });
});
