/**
 * Case `test/cases/held-call-report-day`: a call held for its timestamp (here 2100-01-01, more
 * than a year ahead) is billed, when released, on the day it was held. Reports showed it held
 * under its own day (2100-01-01) instead, so `usage --since today` (and every range around the
 * day it would be billed on) left it out: no held column, no "held for review" warning. Both
 * engines: `heldByGroup`'s SQL is the same text on SQLite and PostgreSQL.
 */
import { cpSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterEach, describe, expect, test } from "vitest";
import { queryUsageWithHeld } from "../../src/meter/index.js";
import { runCli } from "../support/cli.js";
import { createEngineDb, ENGINES } from "../support/temp-db.js";

const CASE = resolve(import.meta.dirname, "../cases/held-call-report-day");
const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe("case held-call-report-day", () => {
  test("a held call counts on the day a release bills it, before and after the release", async () => {
    const dir = mkdtempSync(join(tmpdir(), "cg-held-day-"));
    dirs.push(dir);
    cpSync(CASE, join(dir, "case"), { recursive: true });
    const env = { CREDITGATE_LOG_LEVEL: "silent", CREDITGATE_PRICES: join(dir, "case", "prices.json") };
    const db = join(dir, "creditgate.sqlite");
    const today = new Date().toISOString().slice(0, 10);
    const r = await runCli(env, [
      "--db",
      db,
      "--state-dir",
      join(dir, "case", "state"),
      "--json",
      "meter",
      "--once",
    ]);
    expect(r.error).toBeNull();
    expect(JSON.parse(r.out)).toMatchObject({ billed: 2, held: 1 });

    const usage = async () => {
      const u = await runCli(env, ["--db", db, "--json", "usage", "--by", "day", "--since", "today"]);
      expect(u.error).toBeNull();
      return (
        JSON.parse(u.out) as { key: string; requests: number; heldRequests: number; costUsd: string }[]
      ).map((x) => [x.key, x.requests, x.heldRequests, x.costUsd]);
    };
    // before: [] (the held call was under 2100-01-01)
    expect(await usage()).toEqual([[today, 0, 1, "0"]]);
    const all = JSON.parse((await runCli(env, ["--db", db, "--json", "usage", "--by", "day"])).out) as {
      key: string;
    }[];
    expect(all.map((x) => x.key)).toEqual(["2026-10-31", "2026-11-01", today]);

    const rel = await runCli(env, ["--db", db, "review", "release", "1", "--reason", "checked"]);
    expect(rel.error).toBeNull();
    expect(await usage()).toEqual([[today, 1, 0, "0.0075"]]);
  });

  for (const engine of ENGINES) {
    test(`${engine}: an untimed or absurd held call is dated when it was held`, ({ onTestFinished }) => {
      const { db, cleanup } = createEngineDb(engine);
      onTestFinished(cleanup);
      const held = Date.parse("2026-12-03T10:00:00Z");
      const insert = db.prepare(
        `INSERT INTO usage_review (dedupe_key, status, reason, event_json, account_id, agent_id, source,
           source_ref, provider, model, message_ts_ms, total_tokens, cost_pico_usd, charge_micro_credits,
           price_source, price_version, created_at_ms)
         VALUES (?, 'held', 'r', '{}', 'telegram:1', 'main', 'jsonl', 'f', 'mock', 'mock-gpt', ?, 1, '5', 1, 'override', 't', ?)`,
      );
      insert.run("untimed", 0, held);
      insert.run("far", Date.parse("2100-01-01T00:00:00Z"), held);
      insert.run("sane", Date.parse("2026-12-01T12:00:00Z"), held);
      const rows = queryUsageWithHeld(db, { by: "day" })
        .map((x) => [x.key, x.heldRequests])
        .sort();
      expect(rows).toEqual([
        ["2026-12-01", 1],
        ["2026-12-03", 2],
      ]);
      const range = queryUsageWithHeld(db, {
        by: "user",
        sinceMs: Date.parse("2026-12-03T00:00:00Z"),
        untilMs: Date.parse("2026-12-04T00:00:00Z"),
      });
      expect(range.map((x) => [x.key, x.heldRequests, x.heldCostUsd])).toEqual([
        ["telegram:1", 2, "0.00000000001"],
      ]);
    });
  }
});
