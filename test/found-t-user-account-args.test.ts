import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { runCli } from "./support/cli.js";
import { createTempDb } from "./support/temp-db.js";

const CASE = resolve(import.meta.dirname, "cases/review-release-account-as-billed");
type Q = { prepare: (s: string) => { all: () => unknown[] } };
const accounts = (db: Q) =>
  (
    db.prepare("SELECT id, balance_micro_credits AS b FROM accounts ORDER BY id").all() as {
      id: string;
      b: number;
    }[]
  ).map((r) => [r.id, Number(r.b)]);

describe("case review-release-account-as-billed (found by t-user): every operator id names the billed account", () => {
  it("review release --account and purge-previews resolve the id as the meter bills it", async () => {
    const t = createTempDb();
    try {
      const env = {
        CREDITGATE_DB: t.path,
        CREDITGATE_LOG_LEVEL: "silent",
        CREDITGATE_REVIEW_MAX_CALL_USD: "0.01",
        CREDITGATE_PREVIEWS: "on",
      };
      const m = await runCli(env, ["--state-dir", join(CASE, "state"), "meter", "--once"]);
      expect(m.error).toBeNull();
      const held = t.db
        .prepare("SELECT COUNT(*) AS n FROM usage_review WHERE event_json LIKE '%userPreview%'")
        .get() as { n: number };
      expect(Number(held.n)).toBe(2);

      const purge = await runCli(env, ["--json", "purge-previews", "ｔｅｌｅｇｒａｍ:５５５０７２１"]);
      expect(purge.error).toBeNull();
      expect(JSON.parse(purge.out)).toMatchObject({ userId: "telegram:5550721", held: 2 });
      const left = t.db
        .prepare("SELECT COUNT(*) AS n FROM usage_review WHERE event_json LIKE '%userPreview%'")
        .get() as { n: number };
      expect(Number(left.n)).toBe(0);

      const r1 = await runCli(env, [
        "review",
        "release",
        "1",
        "--reason",
        "ok",
        "--account",
        "Telegram:5550721",
      ]);
      expect(r1.error).toBeNull();
      expect(r1.err).not.toMatch(/check the id/);
      const r2 = await runCli(env, [
        "review",
        "release",
        "2",
        "--reason",
        "ok",
        "--account",
        "ｔｅｌｅｇｒａｍ:５５５０７２１",
      ]);
      expect(r2.error).toBeNull();
      expect(accounts(t.db)).toEqual([["telegram:5550721", -113_100]]);
    } finally {
      t.cleanup();
    }
  });
});
