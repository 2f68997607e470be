import { join, resolve } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { emptyIdPart, resolveAccountId } from "../../src/credits/index.js";
import { runCli } from "../support/cli.js";
import { createEngineDb, createTempDb, ENGINES } from "../support/temp-db.js";
import { admin, pushEvent, testApp } from "./support.js";

const CASE = resolve(import.meta.dirname, "../cases/grant-empty-sender");
const env = {
  CREDITGATE_PRICES: join(CASE, "prices.json"),
  CREDITGATE_COST_MODE: "calculate",
  CREDITGATE_LOG_LEVEL: "silent",
};

let cleanup: (() => void) | undefined;
afterEach(() => {
  cleanup?.();
  cleanup = undefined;
});

const rows = (db: { prepare: (s: string) => { all: () => unknown[] } }) =>
  db.prepare("SELECT id, balance_micro_credits AS b FROM accounts ORDER BY id").all() as {
    id: string;
    b: number | bigint | string;
  }[];

describe("emptyIdPart / resolveAccountId", () => {
  it("an id with no sender or no channel names nobody the meter bills", () => {
    expect(emptyIdPart("telegram:")).toMatch(/no sender/);
    expect(emptyIdPart("agent:")).toMatch(/no sender/);
    expect(emptyIdPart(":5550717")).toMatch(/no channel/);
    expect(emptyIdPart("telegram:5550717")).toBeNull();
    expect(emptyIdPart("matrix:@alice:example.org")).toBeNull();
    expect(emptyIdPart("alice")).toBeNull();
    const none = () => false;
    expect(() => resolveAccountId("telegram:", none)).toThrow(/no sender/);
    expect(() => resolveAccountId("Telegram:", none)).toThrow(/no sender/);
    // an account that exists (pushed with that id) stays reachable
    expect(resolveAccountId("telegram:", (id) => id === "telegram:").accountId).toBe("telegram:");
  });
});

describe("case grant-empty-sender: an operator id with an empty sender is refused", () => {
  it("CLI: grant telegram: / :5550717 / agent: exit 1 and change nothing; the real id still works", async () => {
    const t = createTempDb();
    cleanup = t.cleanup;
    const g = ["--db", t.path];
    const metered = await runCli(env, [...g, "--state-dir", join(CASE, "state"), "meter", "--once"]);
    expect(metered.error).toBeNull();
    const before = rows(t.db);
    expect(before.map((r) => r.id)).toEqual(["telegram:5550717"]);
    for (const bad of ["telegram:", ":5550717", "agent:", "Telegram:"]) {
      const r = await runCli(env, [...g, "grant", bad, "5", "--reason", "welcome"]);
      expect(r.error, bad).not.toBeNull();
      expect(`${r.err}${String(r.error)}`).toMatch(/invalid account id/);
    }
    const bal = await runCli(env, [...g, "balance", "telegram:"]);
    expect(bal.error).not.toBeNull();
    expect(rows(t.db)).toEqual(before);
    const ok = await runCli(env, [...g, "--json", "grant", "telegram:5550717", "5", "--reason", "welcome"]);
    expect(ok.error).toBeNull();
    expect(JSON.parse(ok.out)).toMatchObject({ accountId: "telegram:5550717", status: "applied" });
  });

  it.each(ENGINES)(
    "API (%s): POST /v1/users/telegram:/grants is 400 and creates no account",
    async (engine) => {
      const t = createEngineDb(engine);
      cleanup = t.cleanup;
      const app = testApp(t.db);
      try {
        for (const bad of ["telegram:", ":5550717"]) {
          const grant = await app.inject({
            method: "POST",
            url: `/v1/users/${encodeURIComponent(bad)}/grants`,
            headers: admin,
            payload: { credits: "5", reason: "promo", idempotencyKey: `g-${bad}` },
          });
          expect(grant.statusCode, bad).toBe(400);
          expect(grant.body).toMatch(/invalid account id/);
        }
        expect(rows(t.db)).toEqual([]);
        // an account pushed under such an id (POST /v1/usage keeps ids) stays reachable
        const push = await app.inject({
          method: "POST",
          url: "/v1/usage",
          headers: admin,
          payload: { events: [pushEvent({ userId: "telegram:" })] },
        });
        expect(push.statusCode).toBeLessThan(300);
        const bal = await app.inject({
          url: `/v1/balances/${encodeURIComponent("telegram:")}`,
          headers: admin,
        });
        expect(bal.statusCode).toBe(200);
      } finally {
        await app.close();
      }
    },
  );
});
