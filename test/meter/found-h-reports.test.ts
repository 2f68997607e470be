/**
 * Report numbers found wrong by helper h-reports (2026-12-04).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { heldText } from "../../src/cli/commands/meter.js";
import { runCli } from "../support/cli.js";
import { CASES as SHARED_CASES } from "../support/meter-env.js";

const CASES = resolve(import.meta.dirname, "../cases");
const env = { CREDITGATE_LOG_LEVEL: "silent" };

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
function tempDb(): string {
  const d = mkdtempSync(join(tmpdir(), "creditgate-h-reports-"));
  dirs.push(d);
  return join(d, "creditgate.sqlite");
}

describe("meter --once's held row says which held calls have no price (was `$0`)", () => {
  // unreadable-token-count-held: 3 calls held with no computed cost (unreadable counts);
  // out-of-range-line without prices.json: 1 call held at its recorded $10000.
  const unpriced = join(CASES, "unreadable-token-count-held", "state");
  const priced = join(SHARED_CASES, "out-of-range-line", "state");

  it("table: `3 (not priced)` alone, `4 ($10000 + 3 not priced)` with a priced one (were `3 ($0)`, `4 ($10000)`)", async () => {
    const alone = await runCli(env, ["--db", tempDb(), "--state-dir", unpriced, "meter", "--once"]);
    expect(alone.error).toBeNull();
    expect(alone.out).toMatch(/held for review\s+3 \(not priced\)\n/);
    const both = await runCli(env, [
      ...["--db", tempDb(), "--state-dir", unpriced, "--state-dir", priced],
      ...["meter", "--once"],
    ]);
    expect(both.error).toBeNull();
    expect(both.out).toMatch(/held for review\s+4 \(\$10000 \+ 3 not priced\)\n/);
    expect(both.err).toMatch(/4 model call\(s\) \(\$10000; 3 not priced\) held for review/);
  });

  it("--json: `heldUnpriced` beside `held` and `heldCostUsd` (the priced ones' cost)", async () => {
    const db = tempDb();
    const r = await runCli(env, [
      ...["--db", db, "--state-dir", unpriced, "--state-dir", priced],
      ...["--json", "meter", "--once"],
    ]);
    expect(r.error).toBeNull();
    const s = JSON.parse(r.out);
    expect(s).toMatchObject({ held: 4, heldCostUsd: "10000", heldUnpriced: 3 });
    expect(s.reviewQueue).toMatchObject({ held: 4, heldCostUsd: "10000", unpriced: 3 });
    // a second run holds nothing new
    const again = JSON.parse(
      (await runCli(env, ["--db", db, "--state-dir", unpriced, "--json", "meter", "--once"])).out,
    );
    expect(again).toMatchObject({ held: 0, heldUnpriced: 0 });
  });

  it("review's table says `not priced` in the cost column (was `-`)", async () => {
    const db = tempDb();
    await runCli(env, ["--db", db, "--state-dir", unpriced, "--state-dir", priced, "meter", "--once"]);
    const t = (await runCli(env, ["--db", db, "review"])).out;
    expect(t.match(/ {2}not priced {2}\d{4}-/g)).toHaveLength(3); // the cost column, before `held at`
    expect(t).toMatch(/\$10000/);
  });

  it("heldText: none, priced, not priced, both", () => {
    expect(heldText(0, "0", 0)).toBe(0);
    expect(heldText(2, "0.05", 0)).toBe("2 ($0.05)");
    expect(heldText(2, "0", 2)).toBe("2 (not priced)");
    expect(heldText(3, "0.05", 1)).toBe("3 ($0.05 + 1 not priced)");
  });
});
