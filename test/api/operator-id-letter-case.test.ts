import { join, resolve } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { canonicalAccountId, createLedger, resolveAccountId } from "../../src/credits/index.js";
import { copySqliteToPostgres, type Db, type PgDatabase } from "../../src/db/index.js";
import { runCli } from "../support/cli.js";
import { createEngineDb, createTempDb, ENGINES } from "../support/temp-db.js";
import { admin, pushEvent, testApp } from "./support.js";

const CASE = resolve(import.meta.dirname, "../cases/operator-id-letter-case");
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

const accounts = (db: { prepare: (s: string) => { all: () => unknown[] } }) =>
  (db.prepare("SELECT id FROM accounts ORDER BY id").all() as { id: string }[]).map((r) => r.id);

describe("canonicalAccountId / resolveAccountId", () => {
  it("lower-cases as the meter does, keeping a storable id's percent-escapes", () => {
    expect(canonicalAccountId("slack:U07ABC")).toBe("slack:u07abc");
    expect(canonicalAccountId("matrix:@Alice:Example.org")).toBe("matrix:@alice:example.org");
    expect(canonicalAccountId("Alice%C2%A0Smith")).toBe("alice%C2%A0smith");
    expect(canonicalAccountId("agent:Main")).toBe("agent:main");
  });
  it("an existing exact id wins (pushed ids keep their case), else its canonical form", () => {
    const have = new Set(["api:MyUser", "slack:u07abc"]);
    const exists = (id: string) => have.has(id);
    expect(resolveAccountId("api:MyUser", exists)).toMatchObject({ accountId: "api:MyUser", how: "exact" });
    expect(resolveAccountId("slack:U07ABC", exists)).toMatchObject({
      accountId: "slack:u07abc",
      how: "canonical",
    });
    expect(resolveAccountId("slack:U99NEW", exists)).toMatchObject({ accountId: "slack:u99new", how: "new" });
    expect(resolveAccountId("slack:U99NEW", exists).note).toMatch(/no account/);
  });
});

describe.each(ENGINES)(
  "case operator-id-letter-case (%s): operator ids name the account the meter bills",
  (engine) => {
    it("CLI: grant, balance, grants, usage/report --user and --model, limits, topup-less accounts", async () => {
      // the meter runs on SQLite (a bot host); a PostgreSQL center gets the same rows (migrate-db's copy)
      const src = createTempDb();
      const metered = await runCli(env, [
        "--db",
        src.path,
        "--state-dir",
        join(CASE, "state"),
        "meter",
        "--once",
      ]);
      expect(metered.error).toBeNull();
      let t: { db: Db; path: string; cleanup(): void } = src;
      if (engine === "postgres") {
        t = createEngineDb(engine);
        copySqliteToPostgres(src.db, t.db as unknown as PgDatabase);
      }
      cleanup = () => {
        src.cleanup();
        if (t !== src) t.cleanup();
      };
      const g = ["--db", t.path];
      expect(accounts(t.db)).toEqual(["matrix:@alice:example.org", "slack:u07abc"]);

      // grant as Slack shows the id: credited to the billed account, said so, no second account
      const granted = await runCli(env, [...g, "--json", "grant", "slack:U07ABC", "5", "--reason", "promo"]);
      expect(granted.error).toBeNull();
      expect(JSON.parse(granted.out)).toMatchObject({ accountId: "slack:u07abc", status: "applied" });
      expect(granted.err).toMatch(/no account "slack:U07ABC"; using "slack:u07abc"/);
      const m = await runCli(env, [
        ...g,
        "--json",
        "grant",
        "matrix:@Alice:example.org",
        "2",
        "--reason",
        "p",
      ]);
      expect(JSON.parse(m.out).accountId).toBe("matrix:@alice:example.org");
      expect(accounts(t.db)).toEqual(["matrix:@alice:example.org", "slack:u07abc"]);
      // $0.0045 billed, 5 granted
      expect(createLedger(t.db).balance("slack:u07abc")?.balanceMicroCredits).toBe(4_995_500);

      const bal = JSON.parse((await runCli(env, [...g, "--json", "balance", "SLACK:U07ABC"])).out);
      expect(bal).toMatchObject({ accountId: "slack:u07abc", exists: true, balanceMicroCredits: 4_995_500 });
      const grants = JSON.parse((await runCli(env, [...g, "--json", "grants", "slack:U07ABC"])).out);
      expect(grants.accountId).toBe("slack:u07abc");
      expect(grants.grants).toHaveLength(1);

      const usage = JSON.parse((await runCli(env, [...g, "--json", "usage", "--user", "slack:U07ABC"])).out);
      expect(usage.map((r: { key: string; requests: number }) => [r.key, r.requests])).toEqual([
        ["slack:u07abc", 1],
      ]);
      const report = JSON.parse(
        (await runCli(env, [...g, "--json", "report", "--user", "Slack:U07abc", "--from", "2026-11-01"])).out,
      );
      expect(report.totals.requests).toBe(1);
      // a model filter in another letter case finds the calls (rows keep the model as written)
      const byModel = JSON.parse(
        (await runCli(env, [...g, "--json", "usage", "--model", "MOCK/Mock-GPT", "--by", "model"])).out,
      );
      expect(byModel.map((r: { requests: number }) => r.requests)).toEqual([2]);
      const rModel = JSON.parse(
        (await runCli(env, [...g, "--json", "report", "--model", "Mock-GPT", "--from", "2026-11-01"])).out,
      );
      expect(rModel.totals.requests).toBe(2);

      const lim = await runCli(env, [...g, "--json", "limits", "set", "slack:U07ABC", "--daily", "3"]);
      expect(lim.error).toBeNull();
      const own = t.db.prepare("SELECT subject FROM account_limits WHERE subject <> '*'").all() as {
        subject: string;
      }[];
      expect(own.map((r) => r.subject)).toEqual(["slack:u07abc"]);

      // neither spelling exists: warned, and the id the meter will bill is credited
      const fresh = await runCli(env, [...g, "--json", "grant", "slack:U99NEW", "1", "--reason", "welcome"]);
      expect(JSON.parse(fresh.out).accountId).toBe("slack:u99new");
      expect(fresh.err).toMatch(/warn: no account "slack:U99NEW" nor "slack:u99new"/);

      // an account pushed with its own case keeps it
      createLedger(t.db).post({
        accountId: "api:MyUser",
        kind: "grant",
        amountMicroCredits: 1_000_000n,
        idempotencyKey: "grant:seed",
        reason: "seed",
        nowMs: Date.now(),
        grant: { kind: "promotional", expiresAtMs: null },
      });
      const exact = await runCli(env, [...g, "--json", "grant", "api:MyUser", "1", "--reason", "x"]);
      expect(JSON.parse(exact.out).accountId).toBe("api:MyUser");
      expect(exact.err).toBe("");
    });

    it("API: grant, balance, ledger and GET /v1/usage?user= resolve the id; pushed usage keeps its case", async () => {
      const t = createEngineDb(engine);
      cleanup = t.cleanup;
      const app = testApp(t.db);
      try {
        const push = await app.inject({
          method: "POST",
          url: "/v1/usage",
          headers: admin,
          payload: {
            events: [
              pushEvent({ userId: "slack:u07abc" }),
              pushEvent({ idempotencyKey: "e2", userId: "api:MyUser" }),
            ],
          },
        });
        expect(push.statusCode).toBeLessThan(300);
        expect(accounts(t.db)).toEqual(["api:MyUser", "slack:u07abc"]);

        const grant = await app.inject({
          method: "POST",
          url: `/v1/users/${encodeURIComponent("slack:U07ABC")}/grants`,
          headers: admin,
          payload: { credits: "5", reason: "promo", idempotencyKey: "g1" },
        });
        expect(grant.statusCode).toBe(201);
        expect(grant.json().userId).toBe("slack:u07abc");
        expect(decodeURIComponent(String(grant.headers["x-creditgate-account-note"]))).toMatch(
          /using "slack:u07abc"/,
        );
        const exact = await app.inject({
          method: "POST",
          url: `/v1/users/${encodeURIComponent("api:MyUser")}/grants`,
          headers: admin,
          payload: { credits: "1", reason: "promo", idempotencyKey: "g2" },
        });
        expect(exact.json().userId).toBe("api:MyUser");
        expect(exact.headers["x-creditgate-account-note"]).toBeUndefined();
        expect(accounts(t.db)).toEqual(["api:MyUser", "slack:u07abc"]);

        const bal = await app.inject({ url: "/v1/balances/slack:U07ABC", headers: admin });
        expect(bal.json()).toMatchObject({ userId: "slack:u07abc", balanceMicroCredits: 2_000_000 });
        const ledger = await app.inject({ url: "/v1/users/slack:U07ABC/ledger", headers: admin });
        expect(ledger.json().entries.length).toBeGreaterThan(0);
        const usage = await app.inject({ url: "/v1/usage?by=user&user=slack:U07ABC", headers: admin });
        expect(JSON.stringify(usage.json())).toContain("slack:u07abc");
      } finally {
        await app.close();
      }
    });
  },
);
