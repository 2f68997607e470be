import { join, resolve } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { parseLine } from "../../src/meter/parse.js";
import { queryUsage } from "../../src/meter/report.js";
import { meterCaseDir, type TempWorld } from "../support/meter-env.js";

/** test/cases of the hunters' leftovers (helper r-left, 2026-12-03). */
const CASES = resolve(import.meta.dirname, "../cases");

let w: TempWorld | undefined;
afterEach(() => {
  w?.cleanup();
  w = undefined;
});

const byUser = (world: TempWorld) =>
  Object.fromEntries(queryUsage(world.db, { by: "user" }).map((x) => [x.key, [x.requests, x.costUsd]]));

describe("case usage-without-provider-or-model-held: a call naming no provider or model is held, not dropped", () => {
  for (const mode of ["calculate", "auto", "recorded"] as const) {
    it(`${mode}: 1 call billed, the 3 unnamed ones held for review (were malformed, never seen)`, async () => {
      const r = await meterCaseDir(join(CASES, "usage-without-provider-or-model-held"), mode);
      w = r.world;
      expect(r.s).toMatchObject({ billed: 1, malformed: 0, held: 3 });
      expect(byUser(w)).toEqual({ "telegram:5550101": [1, "0.00375"] });
      const reasons = (
        w.db.prepare("SELECT reason FROM usage_review ORDER BY id").all() as { reason: string }[]
      ).map((x) => x.reason);
      expect(reasons).toEqual([
        'call with usage names no model (provider "mock", model ""): not priced',
        'call with usage names no provider (provider null, model "mock-gpt"): not priced',
        'call with usage names no model (provider "mock", model (object)): not priced',
      ]);
      const costs = w.db.prepare("SELECT cost_pico_usd AS c FROM usage_review").all() as { c: unknown }[];
      expect(costs.every((x) => x.c === null)).toBe(true);
    });
  }

  it("a line naming both is read as before; zero usage without a model is still skipped", () => {
    const line = (msg: string, usage: string) =>
      `{"type":"message","id":"a1","timestamp":"2026-11-22T18:13:21.500Z","message":{"role":"assistant","content":[],"api":"openai-completions",${msg}"usage":${usage},"timestamp":1795371200000}}`;
    const ok = parseLine(line('"provider":"mock","model":"mock-gpt",', '{"input":10,"output":5}'));
    expect(ok.kind === "usage" && ok.usage.countProblem).toBeUndefined();
    const none = parseLine(line("", '{"input":10,"output":5}'));
    expect(none.kind === "usage" && none.usage.countProblem).toMatch(/names no provider/);
    expect(parseLine(line("", '{"input":0,"output":0}'))).toMatchObject({ kind: "skip", why: "zero-usage" });
  });
});
