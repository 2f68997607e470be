/**
 * Case `test/cases/report-span-zero-or-too-long` (a tester's finding, 2026-12-04): `usage --since
 * 0d` answered an empty table with exit 0 (since now: read as "nothing billed") while `report --last
 * 0d` was refused, and `report --last 100000d` was refused as `cannot read "100000d"` without
 * saying the span was too long or which is the largest. Both are refused now, saying why.
 */
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { describe, expect, test } from "vitest";
import { runCli } from "./support/cli.js";
import { createEngineDb } from "./support/temp-db.js";

const CASE = resolve(import.meta.dirname, "cases/report-span-zero-or-too-long");
const input = JSON.parse(readFileSync(resolve(CASE, "input.json"), "utf8")) as { commands: string[][] };
const expected = JSON.parse(readFileSync(resolve(CASE, "expected.json"), "utf8")) as { errors: string[] };

describe("case report-span-zero-or-too-long", () => {
  test("an empty or too long span is refused with what is wrong; the spans around it still work", async ({
    onTestFinished,
  }) => {
    const t = createEngineDb("sqlite");
    onTestFinished(t.cleanup);
    const env = { CREDITGATE_DB: t.path };
    const got: (string | null)[] = [];
    for (const args of input.commands) got.push((await runCli(env, args)).error?.message ?? null);
    // before: null (usage: an empty table, exit 0), then `cannot read "…": use 12h, 7d, 30d, 90m or 2w`
    expect(got).toEqual(expected.errors);
    for (const ok of [
      ["usage", "--since", "1d"],
      ["usage", "--until", "0d"],
      ["report", "--last", "99999d"],
      ["report", "--last", "1m"],
    ])
      expect((await runCli(env, ok)).error?.message ?? null, ok.join(" ")).toBeNull();
  });
});
