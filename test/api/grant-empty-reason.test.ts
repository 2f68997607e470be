import { join, resolve } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { runCli } from "../support/cli.js";
import { createTempDb } from "../support/temp-db.js";

/**
 * Case grant-empty-reason: `creditgate grant` took an empty or blank `--reason` (an unset shell
 * variable) and put a grant with no reason in the ledger, while `POST /v1/users/:id/grants` refuses
 * it. Now the CLI checks it as the API does: trimmed, 1-500 characters.
 */
const CASE = resolve(import.meta.dirname, "../cases/grant-empty-reason");
const env = { CREDITGATE_COST_MODE: "calculate", CREDITGATE_LOG_LEVEL: "silent" };
const USER = "telegram:5550721";

let cleanup: (() => void) | undefined;
afterEach(() => {
  cleanup?.();
  cleanup = undefined;
});

describe("case grant-empty-reason", () => {
  it("an empty, blank or too long --reason is refused and changes nothing; a padded one is trimmed", async () => {
    const t = createTempDb();
    cleanup = t.cleanup;
    const g = ["--db", t.path];
    expect(
      (await runCli(env, [...g, "--state-dir", join(CASE, "state"), "meter", "--once"])).error,
    ).toBeNull();
    const ledger = () =>
      t.db.prepare("SELECT COUNT(*) AS n FROM ledger_entries").get() as { n: number | bigint };
    const balance = async () =>
      JSON.parse((await runCli(env, [...g, "--json", "balance", USER])).out).balanceCredits as string;
    expect(await balance()).toBe("-0.1131");
    const entries = Number(ledger().n);
    for (const reason of ["", "   ", "x".repeat(501)]) {
      const r = await runCli(env, [...g, "grant", USER, "5", "--reason", reason]);
      expect(r.error?.message, JSON.stringify(reason.slice(0, 5))).toMatch(/^--reason: /);
      expect(r.out).toBe("");
    }
    expect(await balance()).toBe("-0.1131");
    expect(Number(ledger().n)).toBe(entries);
    const ok = await runCli(env, [...g, "--json", "grant", USER, "5", "--reason", "  welcome  "]);
    expect(ok.error).toBeNull();
    expect(await balance()).toBe("4.8869");
    const row = t.db
      .prepare("SELECT reason FROM ledger_entries WHERE account_id = ? AND kind = 'grant'")
      .get(USER) as { reason: string };
    expect(row.reason).toBe("welcome");
  });
});
