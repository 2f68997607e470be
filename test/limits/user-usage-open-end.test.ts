/**
 * Case `test/cases/user-usage-open-end-future-stamped`: a call stamped ahead of the serving
 * host's clock (the bot host's clock runs ahead; the meter bills calls up to a year ahead) is in
 * the balance and in /consumo's today and month, but `GET /v1/users/:id/usage` and
 * `GET /v1/agents/:id/usage` without `toMs` (the RPC `user_usage` / `agent_usage`) ended at now
 * and left it out until its time came: the user's month said 1 request while /consumo said 2.
 */
import { cpSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterEach, describe, expect, test } from "vitest";
import { createCliContext } from "../../src/cli/context.js";
import { buildProgram } from "../../src/cli/program.js";
import { openDatabase } from "../../src/db/index.js";
import { createEnforcer, createQueries, DEFAULT_SETTINGS } from "../../src/limits/index.js";

const CASE = resolve(import.meta.dirname, "../cases/user-usage-open-end-future-stamped");
/** Calls at 2026-12-04 09:00Z (past), 12:10Z (10 minutes ahead) and 2026-12-05 00:05Z. */
const NOW = Date.parse("2026-12-04T12:00:00Z");
const USER = "telegram:5550904";
const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe("case user-usage-open-end-future-stamped", () => {
  test("a user's and an agent's usage without an end count calls stamped after now, as /consumo does", async () => {
    const dir = mkdtempSync(join(tmpdir(), "cg-uu-open-"));
    dirs.push(dir);
    cpSync(CASE, join(dir, "case"), { recursive: true });
    const env = { CREDITGATE_LOG_LEVEL: "silent", CREDITGATE_PRICES: join(dir, "case", "prices.json") };
    const path = join(dir, "creditgate.sqlite");
    const ctx = createCliContext(env, { out: () => {}, err: () => {} });
    ctx.nowMs = () => NOW;
    await buildProgram(ctx).parseAsync([
      "node",
      "creditgate",
      "--db",
      path,
      "--state-dir",
      join(dir, "case", "state"),
      "meter",
      "--once",
    ]);
    const db = openDatabase(path);
    try {
      const q = createQueries(db, createEnforcer(db, DEFAULT_SETTINGS));
      const consumo = q.answer("consumo", { userId: USER }, NOW);
      expect([consumo.today.requests, consumo.month.requests]).toEqual([2, 3]);
      // this month (the default range): before 1 request ending at now + 1 ms
      const uu = q.answer("user_usage", { userId: USER }, NOW);
      expect([uu.requests, uu.chargedMicroCredits, uu.toMs]).toEqual([
        3,
        13_500,
        Date.parse("2026-12-05T00:05:00.000Z") + 1,
      ]);
      expect(uu.byModel.map((m) => m.requests)).toEqual([3]);
      const au = q.answer("agent_usage", { agentId: "main" }, NOW);
      expect([au.requests, au.users]).toEqual([3, 1]);
      // from a time without an end: open as well; an asked end is kept
      expect(
        q.answer("user_usage", { userId: USER, fromMs: Date.parse("2026-12-04T10:00:00Z") }, NOW).requests,
      ).toBe(2);
      expect(
        q.answer("user_usage", { userId: USER, fromMs: Date.parse("2026-12-04T00:00:00Z"), toMs: NOW }, NOW)
          .requests,
      ).toBe(1);
      // nothing ahead of now: the end stays just after now
      expect(q.answer("user_usage", { userId: "telegram:1" }, NOW).toMs).toBe(NOW + 1);
    } finally {
      db.close();
    }
  });
});
