import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { admin, pushEvent, testApp } from "./api/support.js";
import { runCli } from "./support/cli.js";
import { createTempDb } from "./support/temp-db.js";

const CASE = resolve(import.meta.dirname, "cases/account-id-fold-keeps-billed");
const accounts = (db: { prepare: (s: string) => { all: () => unknown[] } }) =>
  (
    db.prepare("SELECT id, balance_micro_credits AS b FROM accounts ORDER BY id").all() as {
      id: string;
      b: number;
    }[]
  ).map((r) => `${r.id} ${r.b}`);

describe("case account-id-fold-keeps-billed (found by r-final): look-alike folding never moves a billed account", () => {
  it("a person billed under an unfolded id (halfwidth kana) keeps that account; calls and /consumo agree", async () => {
    const t = createTempDb();
    try {
      // billed before the fold existed: the account holds the person's calls (and balance)
      t.db
        .prepare(
          "INSERT INTO accounts (id, kind, balance_micro_credits, created_at_ms, updated_at_ms) VALUES (?, 'user', 0, 0, 0)",
        )
        .run("ﾀﾛｳ");
      const env = { CREDITGATE_DB: t.path, CREDITGATE_LOG_LEVEL: "silent" };
      const m = await runCli(env, ["--state-dir", join(CASE, "state"), "meter", "--once"]);
      expect(m.error).toBeNull();
      // before: ["タロウ -113100", "ﾀﾛｳ 0"] (the calls left the account the gate reads)
      expect(accounts(t.db)).toEqual(["ﾀﾛｳ -113100"]);
      const bal = JSON.parse((await runCli(env, ["--json", "balance", "ﾀﾛｳ"])).out);
      expect(bal.balanceMicroCredits).toBe(-113_100);
    } finally {
      t.cleanup();
    }
  });

  it("a person never billed is billed under the folded id, the one a grant to the typed id credits", async () => {
    const t = createTempDb();
    try {
      const env = { CREDITGATE_DB: t.path, CREDITGATE_LOG_LEVEL: "silent" };
      const m = await runCli(env, ["--state-dir", join(CASE, "state"), "meter", "--once"]);
      expect(m.error).toBeNull();
      expect(accounts(t.db)).toEqual(["タロウ -113100"]);
      const g = await runCli(env, ["grant", "ﾀﾛｳ", "5", "--reason", "promo", "--key", "k1"]);
      expect(g.error).toBeNull();
      expect(accounts(t.db)).toEqual(["タロウ 4886900"]);
    } finally {
      t.cleanup();
    }
  });

  it("usage the plugin pushes (POST /v1/usage) follows the same rule", async () => {
    const t = createTempDb();
    try {
      t.db
        .prepare(
          "INSERT INTO accounts (id, kind, balance_micro_credits, created_at_ms, updated_at_ms) VALUES (?, 'user', 0, 0, 0)",
        )
        .run("ﾀﾛｳ");
      const app = testApp(t.db);
      try {
        for (const [k, userId] of [
          ["p1", "ﾀﾛｳ"],
          ["p2", "ﾊﾅｺ"],
        ] as const) {
          const res = await app.inject({
            method: "POST",
            url: "/v1/usage",
            headers: admin,
            payload: { events: [pushEvent({ idempotencyKey: k, userId })] },
          });
          expect(res.json()).toMatchObject({ billed: 1 });
        }
      } finally {
        await app.close();
      }
      // an existing exact account keeps its calls; a new id is folded as the meter bills it
      expect(accounts(t.db).map((a) => a.split(" ")[0])).toEqual(["ハナコ", "ﾀﾛｳ"]);
    } finally {
      t.cleanup();
    }
  });
});
