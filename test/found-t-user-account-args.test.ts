import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { loadConfig } from "../src/config/index.js";
import { admin, testApp } from "./api/support.js";
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

describe("case limits-conflict-with-defaults-cap (found by t-user): a conflict with a copied default cap says so", () => {
  it("names the defaults' cap as the source, and the message of caps given together is unchanged", async () => {
    const t = createTempDb();
    try {
      const env = { CREDITGATE_DB: t.path, CREDITGATE_LOG_LEVEL: "silent" };
      expect((await runCli(env, ["limits", "set", "*", "--monthly", "1"])).error).toBeNull();
      const r = await runCli(env, ["limits", "set", "telegram:555000", "--daily", "3"]);
      expect(r.error?.message).toBe(
        "caps: the monthly cap (1.00 credits) is below the daily cap (3.00 credits) of the same kind (hard): the daily cap could never be reached; raise the monthly cap or lower the daily one. telegram:555000 has no monthly cap of its own: that window follows the defaults' ('*': --monthly 1.00); give that window too (or 'off' to drop it for this user)",
      );
      const ok = await runCli(env, ["limits", "set", "telegram:555000", "--daily", "3", "--monthly", "off"]);
      expect(ok.error).toBeNull();
      const both = await runCli(env, ["limits", "set", "telegram:7", "--daily", "2", "--monthly", "1"]);
      expect(both.error?.message).toBe(
        "caps: the monthly cap (1.00 credits) is below the daily cap (2.00 credits) of the same kind (hard): the daily cap could never be reached; raise the monthly cap or lower the daily one",
      );
    } finally {
      t.cleanup();
    }
  });
});

describe("case public-base-url-loopback-with-payments (found by t-user): payments on a loopback base URL are warned about", () => {
  it("warns when a provider is enabled and the base URL is this machine; not otherwise", () => {
    const base = { CREDITGATE_DB: ":memory:", PORT: "18842" };
    const mp = { MP_ACCESS_TOKEN: "TEST-x", MP_WEBHOOK_SECRET: "mp-secret" };
    const stripe = { STRIPE_SECRET_KEY: "sk_test_x", STRIPE_WEBHOOK_SECRET: "whsec_x" };
    const warned = (env: Record<string, string>) =>
      loadConfig(env).warnings.filter((w) => w.startsWith("PUBLIC_BASE_URL"));
    const unset = warned({ ...base, ...mp });
    expect(unset).toHaveLength(1);
    expect(unset[0]).toMatch(
      /^PUBLIC_BASE_URL is not set, so it is http:\/\/127\.0\.0\.1:18842 \(HOST and PORT\): MercadoPago top-up links/,
    );
    expect(unset[0]).toContain("set PUBLIC_BASE_URL to this server's public https URL");
    const local = warned({ ...base, ...stripe, PUBLIC_BASE_URL: "http://localhost:8787" });
    expect(local[0]).toMatch(/^PUBLIC_BASE_URL=http:\/\/localhost:8787 is this machine: Stripe top-up links/);
    expect(warned({ ...base, ...mp, ...stripe, PUBLIC_BASE_URL: "https://pay.example.com" })).toEqual([]);
    expect(warned({ ...base })).toEqual([]);
  });
});

describe("case limits-soft-cap-above-hard-cap (found by t-user): a soft cap that can never alert is refused", () => {
  it("refuses a soft shorter cap above a hard longer one, CLI and API; keeps the reachable ones", async () => {
    const t = createTempDb();
    try {
      const env = { CREDITGATE_DB: t.path, CREDITGATE_LOG_LEVEL: "silent" };
      const u = "telegram:777001";
      const msg =
        "caps: the soft daily cap (2.00 credits) is above the hard monthly cap (1.00 credits): the user is blocked at 1.00 before its alert could fire; lower the soft daily cap or raise the monthly one";
      expect((await runCli(env, ["limits", "set", u, "--monthly", "1"])).error).toBeNull();
      const r = await runCli(env, ["limits", "set", u, "--daily", "2", "--soft"]);
      expect(r.error?.message).toBe(msg);
      expect((await runCli(env, ["limits", "set", u, "--daily", "0.5", "--soft"])).error).toBeNull();
      expect(
        (await runCli(env, ["limits", "set", "telegram:8", "--daily", "2", "--monthly", "off"])).error,
      ).toBeNull();
      expect(
        (await runCli(env, ["limits", "set", "telegram:8", "--monthly", "1", "--soft"])).error,
      ).toBeNull();
      const app = testApp(t.db);
      try {
        const put = await app.inject({
          method: "PUT",
          url: `/v1/users/${u}/limits`,
          headers: admin,
          payload: {
            caps: [
              { period: "month", capMicroCredits: 1_000_000, kind: "hard" },
              { period: "day", capMicroCredits: 2_000_000, kind: "soft" },
            ],
          },
        });
        expect(put.statusCode).toBe(400);
        expect(put.json().error.message).toContain(msg.slice("caps: ".length));
      } finally {
        await app.close();
      }
    } finally {
      t.cleanup();
    }
  });
});
