import { spawn, spawnSync } from "node:child_process";
import { existsSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { exitCodeOf } from "../src/cli/errors.js";
import { createUsageWriter } from "../src/meter/usage-repo.js";
import { writeUsage } from "./retention/support.js";
import { runCli as run } from "./support/cli.js";
import { CB_FIXTURE, FIXTURE_PRICES, type TempWorld, tempWorld } from "./support/meter-env.js";
import { createTempDb } from "./support/temp-db.js";
import { grantEntry, usageRow } from "./support/usage-data.js";

let w: TempWorld | undefined;
afterEach(() => {
  w?.cleanup();
  w = undefined;
});

function setup() {
  w = tempWorld(CB_FIXTURE);
  w.db.close();
  const prices = join(w.dir, "prices.json");
  writeFileSync(prices, JSON.stringify(FIXTURE_PRICES));
  return {
    CREDITGATE_PRICES: prices,
    CREDITGATE_COST_MODE: "calculate",
    CREDITGATE_LOG_LEVEL: "silent",
    dir: w.dir,
    db: w.dbPath,
    state: w.stateDir,
  };
}

describe("creditgate CLI", () => {
  it("meter --once prints what it did, then usage and balance agree with it", async () => {
    const s = setup();
    const env = {
      CREDITGATE_PRICES: s.CREDITGATE_PRICES,
      CREDITGATE_COST_MODE: "calculate",
      CREDITGATE_LOG_LEVEL: "silent",
    };
    const g = ["--db", s.db, "--state-dir", s.state];
    const first = await run(env, [...g, "meter", "--once"]);
    expect(first.error).toBeNull();
    expect(first.out).toMatch(/events billed\s+31\n/);
    expect(first.out).toMatch(/zero-usage lines skipped\s+8\n/);
    expect(first.out).toMatch(/duplicates skipped\s+0\n/);
    const json = JSON.parse((await run(env, [...g, "--json", "meter", "--once"])).out);
    expect(json).toMatchObject({ billed: 0, malformed: 0, unknownModels: [] });

    const usage = JSON.parse((await run(env, ["--db", s.db, "--json", "usage", "--by", "agent"])).out);
    const total = usage.reduce((a: bigint, r: { costPicoUsd: string }) => a + BigInt(r.costPicoUsd), 0n);
    expect(total).toBe(485_160_800_000n); // $0.4851608, the provider-reported cost
    for (const r of usage) {
      expect(Object.keys(r)).toEqual(
        expect.arrayContaining([
          "key",
          "requests",
          "input",
          "output",
          "cacheRead",
          "cacheWrite",
          "costMicros",
          "chargedMicros",
        ]),
      );
    }
    const henry = JSON.parse(
      (await run(env, ["--db", s.db, "--json", "usage", "--user", "telegram:5550101"])).out,
    );
    expect(henry).toHaveLength(1);
    expect(henry[0]).toMatchObject({
      key: "telegram:5550101",
      input: 22826,
      output: 122,
      cacheRead: 24256,
      costUsd: "0.0775848",
    });

    const table = await run(env, ["--db", s.db, "usage", "--by", "model"]);
    expect(table.out).toMatch(/^model\s+requests/);
    expect(table.out).toMatch(/mock\/mock-gpt/);

    const bal = JSON.parse((await run(env, ["--db", s.db, "--json", "balance", "telegram:5550101"])).out);
    expect(bal.balanceMicroCredits).toBe(-henry[0].chargedMicros);
    expect(bal.overdrawn).toBe(true);
    expect((await run(env, ["--db", s.db, "balance", "telegram:5550101"])).out).toMatch(/OVERDRAWN/);
  });

  it("usage's table shows a cost below a micro-USD exactly, not as $0.00", async () => {
    // 8 input tokens of a $0.05/M model cost $0.0000004: the table printed `$0.00` (rounded to a
    // micro-USD) beside a charge of 0.000001 credits, and $0.0000015 as `$0.000002`.
    const t = createTempDb();
    const day = Date.UTC(2026, 10, 2, 10);
    const entry = grantEntry(t.db, "telegram:7", day);
    const writer = createUsageWriter(t.db);
    const row = (key: string, model: string, cost: bigint) =>
      usageRow({
        dedupe_key: key,
        ledger_entry_id: entry,
        account_id: "telegram:7",
        message_ts_ms: day,
        model,
        cost_pico_usd: cost,
      });
    writer.insert(row("a", "gpt-5-nano", 400_000n));
    writer.insert(row("b", "gpt-5-mini", 1_500_000n));
    writer.insert(row("c", "gpt-5", 3_000_000_000_000n));
    t.db.close();
    try {
      const table = (await run({}, ["--db", t.path, "usage", "--by", "model"])).out;
      expect(table).toMatch(/openai\/gpt-5-nano .*\$0\.0000004 /);
      expect(table).toMatch(/openai\/gpt-5-mini .*\$0\.0000015 /);
      expect(table).toMatch(/openai\/gpt-5 .*\$3\.00 /);
    } finally {
      t.cleanup();
    }
  });

  it("grant is idempotent with --key and refuses bad amounts with a clear error", async () => {
    const s = setup();
    const g = ["--db", s.db];
    const a = await run({}, [...g, "grant", "telegram:42", "2.5", "--reason", "welcome", "--key", "w-42"]);
    expect(a.out).toMatch(/granted 2\.50 credits to telegram:42; balance 2\.50/);
    const b = await run({}, [...g, "grant", "telegram:42", "2.5", "--reason", "welcome", "--key", "w-42"]);
    expect(b.out).toMatch(/already granted .*\(promotional grant #1\)/);
    // The same key asking for another kind or an expiry is refused, not reported as granted.
    const other = await run({}, [
      ...g,
      "grant",
      "telegram:42",
      "2.5",
      "--reason",
      "welcome",
      "--key",
      "w-42",
      "--kind",
      "paid",
    ]);
    expect(other.error?.message).toMatch(/different grant \(kind promotional\)/);
    const expiring = await run({}, [
      ...g,
      "grant",
      "telegram:42",
      "2.5",
      "--reason",
      "w",
      "--key",
      "w-42",
      "--expires",
      "1d",
    ]);
    expect(expiring.error?.message).toMatch(/different grant \(no expiry\)/);
    const feb30 = await run({}, [
      ...g,
      "grant",
      "telegram:42",
      "1",
      "--reason",
      "x",
      "--expires",
      "2099-02-30",
    ]);
    expect(feb30.error?.message).toMatch(/cannot read "2099-02-30"/);
    const bal = JSON.parse((await run({}, [...g, "--json", "balance", "telegram:42"])).out);
    expect(bal.balanceMicroCredits).toBe(2_500_000);
    for (const bad of ["0", "-1", "abc", "1.0000001"]) {
      const r = await run({}, [...g, "grant", "telegram:42", bad, "--reason", "x"]);
      expect(r.error?.message, bad).toMatch(/credits/);
    }
    const noReason = await run({}, [...g, "grant", "telegram:42", "1"]);
    expect(noReason.error).not.toBeNull();
    const after = JSON.parse((await run({}, [...g, "--json", "balance", "telegram:42"])).out);
    expect(after.balanceMicroCredits).toBe(2_500_000);
  });

  it("usage rejects an unreadable time with a clear message", async () => {
    const s = setup();
    const r = await run({}, ["--db", s.db, "usage", "--since", "yesterday-ish"]);
    expect(r.error?.message).toMatch(/cannot read time "yesterday-ish"/);
  });

  it("the built binary reports every configuration problem at once and exits 78", () => {
    const r = spawnSync(
      process.execPath,
      [resolve(import.meta.dirname, "../dist/cli/main.js"), "balance", "telegram:1"],
      {
        env: { PATH: process.env.PATH ?? "", CREDITGATE_COST_MODE: "cheap", CREDITGATE_MARKUP: "x" },
        encoding: "utf8",
      },
    );
    expect(r.status).toBe(78);
    expect(r.stderr).toContain("CREDITGATE_COST_MODE");
    expect(r.stderr).toContain("CREDITGATE_MARKUP");
  });

  it("a read-only command on a database that is not there says so and creates nothing", async () => {
    const s = setup();
    const env = { CREDITGATE_LOG_LEVEL: "silent" };
    // A mistyped --db, or the default ./data/creditgate.sqlite of another directory.
    const missing = join(s.dir, "nodir", "typo.sqlite");
    for (const args of [
      ["usage", "--by", "user"],
      ["--json", "usage"],
      ["balance", "telegram:1"],
      ["grants", "telegram:1"],
      ["report", "--today"],
      ["review"],
      // since 2026-12-04: these created an empty database and answered "blocked, balance 0"
      ["status", "telegram:1"],
      ["limits", "get", "telegram:1"],
      ["alerts"],
    ]) {
      const r = await run(env, ["--db", missing, ...args]);
      expect(r.out, args.join(" ")).toBe("");
      expect(r.error?.message, args.join(" ")).toMatch(
        /^no database at .*typo\.sqlite \(CREDITGATE_DB or --db/,
      );
      expect(exitCodeOf(r.error, () => {}, false)).toBe(78);
    }
    expect(existsSync(join(s.dir, "nodir"))).toBe(false);
    // A command that writes still creates it, and then the read finds it.
    const grant = await run(env, [
      "--db",
      missing,
      "grant",
      "telegram:1",
      "2",
      "--reason",
      "r",
      "--key",
      "k1",
    ]);
    expect(grant.error).toBeNull();
    const bal = await run(env, ["--db", missing, "--json", "balance", "telegram:1"]);
    expect(bal.error).toBeNull();
    expect(JSON.parse(bal.out)).toMatchObject({ accountId: "telegram:1" });
  });

  it("meter refuses a bad CREDITGATE_PRICES file before it creates the database", async () => {
    const s = setup();
    const bad = join(s.dir, "bad-prices.json");
    writeFileSync(bad, "{bad");
    const db = join(s.dir, "fresh", "cg.sqlite");
    const r = await run({ CREDITGATE_PRICES: bad, CREDITGATE_LOG_LEVEL: "silent" }, [
      "--db",
      db,
      "--state-dir",
      s.state,
      "meter",
      "--once",
    ]);
    expect(r.error?.message).toMatch(/^cannot read price overrides .*bad-prices\.json/);
    expect(exitCodeOf(r.error, () => {}, false)).toBe(78);
    expect(existsSync(join(s.dir, "fresh"))).toBe(false);
  });

  it("start reports a bad price file and a bad packs file at once, before it creates the database", () => {
    // Before 2026-12-04 the price file's error hid the packs file's (found at the next start), and
    // a missing or invalid packs file was refused after ./data/creditgate.sqlite was created.
    const s = setup();
    const CASE = resolve(import.meta.dirname, "cases/config-files-one-problem-at-a-time");
    const prices = join(CASE, "bad-prices.json.txt");
    const packs = join(CASE, "packs.json");
    const main = resolve(import.meta.dirname, "../dist/cli/main.js");
    const startWith = (env: Record<string, string>, cmd = "start") =>
      spawnSync(process.execPath, [main, cmd], {
        env: {
          PATH: process.env.PATH ?? "",
          HOME: s.dir,
          CREDITGATE_STATE_DIRS: join(CASE, "state"),
          CREDITGATE_DB: join(s.dir, "fresh", "cg.sqlite"),
          CREDITGATE_LOG_LEVEL: "silent",
          PORT: "0",
          ...env,
        },
        encoding: "utf8",
        timeout: 20_000,
      });
    const both = startWith({ CREDITGATE_PRICES: prices, CREDITGATE_PACKS: join(CASE, "nopacks.json") });
    expect(both.status).toBe(78);
    expect(both.stdout).toBe("");
    expect(both.stderr).toMatch(/^creditgate: 2 configuration problems:\n/);
    expect(both.stderr).toMatch(/- cannot read price overrides .*bad-prices\.json\.txt/);
    expect(both.stderr).toMatch(/- cannot read packs file .*nopacks\.json: no such file/);
    expect(existsSync(join(s.dir, "fresh"))).toBe(false);
    // `serve` (no meter) checks the packs file before it creates the database too.
    const serve = startWith({ CREDITGATE_PACKS: packs }, "serve");
    expect(serve.status).toBe(78);
    expect(serve.stderr).toMatch(
      /^creditgate: invalid packs file:\n.*packs\[0\]\.credits.*packs\[0\]\.prices/s,
    );
    expect(existsSync(join(s.dir, "fresh"))).toBe(false);
  });

  it("start refuses a PostgreSQL CREDITGATE_DB up front: one line, exit 78, nothing started", () => {
    // Port 9 (discard) answers nothing: a refusal that tried to connect would fail otherwise.
    const r = spawnSync(process.execPath, [resolve(import.meta.dirname, "../dist/cli/main.js"), "start"], {
      env: {
        PATH: process.env.PATH ?? "",
        CREDITGATE_DB: "postgres://creditgate@127.0.0.1:9/nothing",
        PORT: "0",
      },
      encoding: "utf8",
      timeout: 20_000,
    });
    expect(r.status).toBe(78);
    expect(r.stdout).toBe("");
    const lines = r.stderr.trim().split("\n");
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(
      /^creditgate: CREDITGATE_DB: `start` runs the local meter, which needs a SQLite file/,
    );
    expect(lines[0]).toMatch(
      /run `creditgate serve` and `creditgate worker`, and ship usage from edge meters/,
    );
  });

  it("a reader that stops early (| head) ends the command quietly with status 0", async () => {
    const t = createTempDb();
    try {
      // ~950 days by day: ~600 kB of JSON, far past a pipe's 64 kB buffer
      writeUsage(t.db, 3000, Date.parse("2023-01-01T00:00:00Z"), Date.parse("2025-09-28T00:00:00Z"));
      t.db.close();
      const child = spawn(
        process.execPath,
        [resolve(import.meta.dirname, "../dist/cli/main.js"), "--json", "usage", "--by", "day"],
        {
          env: { PATH: process.env.PATH ?? "", CREDITGATE_DB: t.path, CREDITGATE_LOG_LEVEL: "silent" },
          stdio: ["ignore", "pipe", "pipe"],
        },
      );
      let stderr = "";
      child.stderr.on("data", (d) => {
        stderr += String(d);
      });
      // the reader takes the first piece it gets and closes its end, as `head -c 100` does
      child.stdout.once("data", () => child.stdout.destroy());
      const status = await new Promise<number | null>((done) => child.on("close", (code) => done(code)));
      expect(stderr).toBe("");
      expect(status).toBe(0);
    } finally {
      t.cleanup();
    }
  });
});
