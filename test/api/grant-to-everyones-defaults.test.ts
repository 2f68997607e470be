import { join, resolve } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { resolveAccountId } from "../../src/credits/index.js";
import { runCli } from "../support/cli.js";
import { createEngineDb, createTempDb, ENGINES } from "../support/temp-db.js";
import { admin, pushEvent, testApp } from "./support.js";

/**
 * Case grant-to-everyones-defaults: `*` names everyone's defaults in `limits set '*'` (the README's
 * free allowance); `grant '*' 5` read as "everyone" but credited an account `*` no call is billed to,
 * exit 0, while the user stayed overdrawn. Now refused (exit 1, nothing changed) wherever one
 * account is meant; `limits set/get/clear '*'` keep working.
 */
const CASE = resolve(import.meta.dirname, "../cases/grant-to-everyones-defaults");
const env = { CREDITGATE_COST_MODE: "calculate", CREDITGATE_LOG_LEVEL: "silent" };
const USER = "telegram:5550721";
const REFUSED = /'\*' is not an account/;

let cleanup: (() => void) | undefined;
afterEach(() => {
  cleanup?.();
  cleanup = undefined;
});

const rows = (db: { prepare: (s: string) => { all: () => unknown[] } }) =>
  (
    db.prepare("SELECT id, balance_micro_credits AS b FROM accounts ORDER BY id").all() as {
      id: string;
      b: number | bigint | string;
    }[]
  ).map((r) => ({ id: r.id, b: String(r.b) }));

describe("resolveAccountId('*')", () => {
  it("refuses the defaults' id unless an account of it exists", () => {
    expect(() => resolveAccountId("*", () => false)).toThrow(REFUSED);
    expect(resolveAccountId("*", (id) => id === "*").accountId).toBe("*");
  });
});

describe("case grant-to-everyones-defaults", () => {
  it("CLI: grant/balance/status/grants/usage/report on '*' exit 1 and change nothing; limits '*' still works", async () => {
    const t = createTempDb();
    cleanup = t.cleanup;
    const g = ["--db", t.path];
    const metered = await runCli(env, [...g, "--state-dir", join(CASE, "state"), "meter", "--once"]);
    expect(metered.error).toBeNull();
    // the README's free allowance for everyone
    const floor = await runCli(env, [...g, "limits", "set", "*", "--floor", "-0.5"]);
    expect(floor.error).toBeNull();
    const get = await runCli(env, [...g, "limits", "get", "*"]);
    expect(get.error).toBeNull();
    expect(get.out).toMatch(/^defaults: floor -0\.50/);
    const before = rows(t.db);
    expect(before).toEqual([{ id: USER, b: "-113100" }]);
    for (const args of [
      ["grant", "*", "5", "--reason", "welcome credit for everyone", "--key", "welcome-all"],
      ["balance", "*"],
      ["status", "*"],
      ["grants", "*"],
      ["usage", "--user", "*"],
      ["report", "--user", "*"],
    ]) {
      const r = await runCli(env, [...g, ...args]);
      expect(r.error?.message, args.join(" ")).toMatch(REFUSED);
      expect(r.out, args.join(" ")).toBe("");
    }
    expect(rows(t.db)).toEqual(before);
    const cleared = await runCli(env, [...g, "limits", "clear", "*"]);
    expect(cleared.error).toBeNull();
    // the user's own grant still works
    const ok = await runCli(env, [...g, "--json", "grant", USER, "5", "--reason", "welcome"]);
    expect(ok.error).toBeNull();
    expect(JSON.parse(ok.out)).toMatchObject({ accountId: USER, status: "applied" });
  });

  it.each(ENGINES)("API (%s): POST /v1/users/*/grants is 400 and creates no account", async (engine) => {
    const t = createEngineDb(engine);
    cleanup = t.cleanup;
    const app = testApp(t.db);
    try {
      const grant = await app.inject({
        method: "POST",
        url: `/v1/users/${encodeURIComponent("*")}/grants`,
        headers: admin,
        payload: { credits: "5", reason: "promo", idempotencyKey: "g-all" },
      });
      expect(grant.statusCode).toBe(400);
      expect(grant.body).toMatch(REFUSED);
      const bal = await app.inject({ url: `/v1/balances/${encodeURIComponent("*")}`, headers: admin });
      expect(bal.statusCode).toBe(400);
      expect(rows(t.db)).toEqual([]);
      // an account pushed under that id (POST /v1/usage keeps ids) stays reachable
      const push = await app.inject({
        method: "POST",
        url: "/v1/usage",
        headers: admin,
        payload: { events: [pushEvent({ userId: "*" })] },
      });
      expect(push.statusCode).toBeLessThan(300);
      const after = await app.inject({ url: `/v1/balances/${encodeURIComponent("*")}`, headers: admin });
      expect(after.statusCode).toBe(200);
    } finally {
      await app.close();
    }
  });
});
