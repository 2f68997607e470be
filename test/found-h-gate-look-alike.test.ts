import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { canonicalAccountId, foldLookAlikes } from "../src/credits/index.js";
import { resolveAccount } from "../src/meter/resolve-user.js";
import { admin, testApp } from "./api/support.js";
import { runCli } from "./support/cli.js";
import { createTempDb } from "./support/temp-db.js";

const CASE = resolve(import.meta.dirname, "cases/account-id-look-alike");
const accounts = (db: { prepare: (s: string) => { all: () => unknown[] } }) =>
  (db.prepare("SELECT id FROM accounts ORDER BY id").all() as { id: string }[]).map((r) => r.id);

describe("case account-id-look-alike (found by t-user, fixed by h-gate): look-alike ids name the billed account", () => {
  it("folds fullwidth letters and other scripts' digits; ASCII ids never change", () => {
    expect(canonicalAccountId("ｔｅｌｅｇｒａｍ:1")).toBe("telegram:1");
    expect(canonicalAccountId("telegram:١٢٣")).toBe("telegram:123");
    expect(canonicalAccountId("telegram:۱۲۳")).toBe("telegram:123");
    expect(canonicalAccountId("ＴＥＬＥＧＲＡＭ：５５５")).toBe("telegram:555");
    for (const id of ["telegram:123", "slack:u07abc", "alice%C2%A0smith", "matrix:@a:[::1]"])
      expect(foldLookAlikes(id)).toBe(id);
    // the meter reads a key's id as it is; where the call is billed, a new account's id is folded
    // and an account billed under the unfolded id keeps it (case account-id-fold-keeps-billed)
    expect(resolveAccount("main", "agent:main:telegram:direct:١٢٣").accountId).toBe("telegram:١٢٣");
    expect(resolveAccount("main", "agent:main:telegram:direct:123").accountId).toBe("telegram:123");
  });

  it("CLI grant / balance and the API's grants route credit the account the meter bills", async () => {
    const t = createTempDb();
    try {
      const env = { CREDITGATE_DB: t.path, CREDITGATE_LOG_LEVEL: "silent" };
      const m = await runCli(env, ["--state-dir", join(CASE, "state"), "meter", "--once"]);
      expect(m.error).toBeNull();
      expect(accounts(t.db)).toEqual(["telegram:5550721"]);
      const arabic = await runCli(env, [
        "grant",
        "telegram:٥٥٥٠٧٢١",
        "5",
        "--reason",
        "promo",
        "--key",
        "a1",
      ]);
      expect(arabic.error).toBeNull();
      expect(arabic.err).toMatch(/using "telegram:5550721"/);
      const wide = await runCli(env, [
        "grant",
        "ｔｅｌｅｇｒａｍ:５５５０７２１",
        "1",
        "--reason",
        "promo",
        "--key",
        "a2",
      ]);
      expect(wide.error).toBeNull();
      expect(accounts(t.db)).toEqual(["telegram:5550721"]);
      const bal = JSON.parse(
        (await runCli(env, ["--json", "balance", "ｔｅｌｅｇｒａｍ:５５５０７２１"])).out,
      );
      expect(bal.balanceMicroCredits).toBe(6_000_000 - 113_100);

      const app = testApp(t.db);
      try {
        const g = await app.inject({
          method: "POST",
          url: `/v1/users/${encodeURIComponent("telegram:٥٥٥٠٧٢١")}/grants`,
          headers: admin,
          payload: { credits: "1", reason: "promo", idempotencyKey: "g1" },
        });
        expect(g.statusCode).toBe(201);
        expect(g.json().userId).toBe("telegram:5550721");
        expect(accounts(t.db)).toEqual(["telegram:5550721"]);
      } finally {
        await app.close();
      }
    } finally {
      t.cleanup();
    }
  });
});
