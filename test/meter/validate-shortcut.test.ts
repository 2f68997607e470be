import { describe, expect, it } from "vitest";
import type { ParsedUsage } from "../../src/meter/types.js";
import { costProblem, plausibleMaxPico, recordedCostAnomaly, tokensOf } from "../../src/meter/validate.js";
import { rng } from "../support/rng.js";

/** costProblem / recordedCostAnomaly as written before their $1 shortcut (the bigint path only). */
function costProblemRef(u: ParsedUsage, cost: bigint, maxCall: bigint): boolean {
  return cost > plausibleMaxPico(tokensOf(u)) || cost > maxCall;
}
function anomalyRef(u: ParsedUsage, recorded: bigint | null): boolean {
  return recorded !== null && recorded > plausibleMaxPico(tokensOf(u));
}

describe("plausibility checks: the shortcut for costs up to $1", () => {
  it("answers exactly as the bigint token sum does, for sane and insane counts alike", () => {
    const r = rng(11);
    const count = () => r.pick([0, 1, 5, 1000, 1_000_000_000, -1, -5, 2 ** 53 - 1]);
    const pico = () =>
      r.pick([
        0n,
        1n,
        10n ** 12n - 1n,
        10n ** 12n,
        10n ** 12n + 1n,
        2n * 10n ** 12n,
        10n ** 15n,
        123_456_789n,
      ]);
    for (let i = 0; i < 5000; i++) {
      const u = {
        input: count(),
        output: count(),
        cacheRead: count(),
        cacheWrite: count(),
      } as ParsedUsage;
      const cost = pico();
      const maxCall = r.pick([0n, 10n ** 11n, 10n ** 12n, 200n * 10n ** 12n]);
      expect(costProblem(u, cost, maxCall) !== null, JSON.stringify({ ...u, cost: `${cost}` })).toBe(
        costProblemRef(u, cost, maxCall),
      );
      const rec = r.int(4) === 0 ? null : pico();
      expect(recordedCostAnomaly(u, rec) !== null).toBe(anomalyRef(u, rec));
    }
  });
});
