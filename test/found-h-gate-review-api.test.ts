import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { admin, testApp } from "./api/support.js";
import { runCli } from "./support/cli.js";
import { createTempDb } from "./support/temp-db.js";

const CASE = resolve(import.meta.dirname, "cases/review-release-api-account");
type Q = { prepare: (s: string) => { all: () => unknown[] } };
const accounts = (db: Q) =>
  (
    db.prepare("SELECT id, balance_micro_credits AS b FROM accounts ORDER BY id").all() as {
      id: string;
      b: number;
    }[]
  ).map((r) => [r.id, Number(r.b)]);

describe("case review-release-api-account (t-user's known limit, fixed by h-gate): the API names the account a held call bills", () => {
  it("POST /v1/review/:id/release takes accountId, resolved as the CLI's --account", async () => {
    const t = createTempDb();
    const app = testApp(t.db);
    try {
      const env = {
        CREDITGATE_DB: t.path,
        CREDITGATE_LOG_LEVEL: "silent",
        CREDITGATE_REVIEW_MAX_CALL_USD: "0.01",
      };
      expect((await runCli(env, ["--state-dir", join(CASE, "state"), "meter", "--once"])).error).toBeNull();
      const release = (id: number, payload: object) =>
        app.inject({ method: "POST", url: `/v1/review/${id}/release`, headers: admin, payload });
      // refused, nothing billed: an id breaking the rule, and '*' (everyone's defaults)
      expect((await release(1, { reason: "ok", accountId: "has space" })).statusCode).toBe(400);
      const star = await release(1, { reason: "ok", accountId: "*" });
      expect(star.statusCode).toBe(400);
      expect(star.json().error.message).toMatch(/'\*' is not an account/);
      expect(accounts(t.db)).toEqual([]);
      // before: 400 `body/accountId … Unrecognized key` — the API could not say who pays
      const r1 = await release(1, { reason: "ok", accountId: "Telegram:5550721" });
      expect(r1.statusCode).toBe(200);
      expect(r1.json()).toEqual({ status: "released", id: 1, accountId: "telegram:5550721" });
      // the second call billed to another person (fullwidth, pasted): its billed spelling
      const r2 = await release(2, { reason: "ok", accountId: "ｔｅｌｅｇｒａｍ:７７７０００１" });
      expect(r2.json()).toMatchObject({ status: "released", accountId: "telegram:7770001" });
      expect(accounts(t.db)).toEqual([
        ["telegram:5550721", -63_300],
        ["telegram:7770001", -49_800],
      ]);
      // a repeat is not billed again
      expect((await release(2, { reason: "ok", accountId: "telegram:5550721" })).json()).toEqual({
        status: "already-released",
        id: 2,
      });
      expect(accounts(t.db)).toEqual([
        ["telegram:5550721", -63_300],
        ["telegram:7770001", -49_800],
      ]);
    } finally {
      await app.close();
      t.cleanup();
    }
  });
});
