import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { loadConfig } from "../src/config/index.js";

const MAIN = resolve(import.meta.dirname, "../dist/cli/main.js");
const CASE = resolve(import.meta.dirname, "cases/markup-zero-charges-nothing");

/** The built CLI with only these variables (and PATH, HOME) set. */
function cli(env: Record<string, string>, args: string[]) {
  const home = mkdtempSync(join(tmpdir(), "cg-tuser-"));
  return spawnSync(process.execPath, [MAIN, ...args], {
    env: { PATH: process.env.PATH ?? "", HOME: home, CREDITGATE_LOG_LEVEL: "silent", ...env },
    encoding: "utf8",
    timeout: 60_000,
  });
}

describe("found by t-user (2026-12-04): configuration a new user gets wrong", () => {
  it("case markup-zero-charges-nothing: a zero multiplier is refused, not billed as free", () => {
    for (const [name, value] of [
      ["CREDITGATE_MARKUP", "0"],
      ["CREDITGATE_MARKUP", "0.00"],
      ["CREDITGATE_CREDITS_PER_USD", "0"],
      ["CREDITGATE_CREDITS_PER_USD", "0.0"],
    ] as const) {
      const dir = mkdtempSync(join(tmpdir(), "cg-tuser-db-"));
      const db = join(dir, "fresh", "cg.sqlite");
      const r = cli({ [name]: value }, ["--db", db, "--state-dir", join(CASE, "state"), "meter", "--once"]);
      expect(r.status, `${name}=${value}`).toBe(78);
      expect(r.stderr).toContain(name);
      expect(r.stderr).toMatch(/must be greater than 0/);
      expect(existsSync(join(dir, "fresh")), "no database created").toBe(false);
    }
    // a positive multiplier bills as before: 0.1131 USD × 1.25 = 0.141375 credits
    const dir = mkdtempSync(join(tmpdir(), "cg-tuser-db-"));
    const db = join(dir, "cg.sqlite");
    const m = cli({ CREDITGATE_MARKUP: "1.25" }, [
      "--db",
      db,
      "--state-dir",
      join(CASE, "state"),
      "meter",
      "--once",
    ]);
    expect(m.status, m.stderr).toBe(0);
    const u = cli({ CREDITGATE_MARKUP: "1.25" }, ["--db", db, "--json", "usage", "--by", "user"]);
    const rows = JSON.parse(u.stdout) as Array<{
      key: string;
      requests: number;
      costUsd: string;
      chargedMicros: number;
    }>;
    expect(rows).toEqual([
      expect.objectContaining({
        key: "telegram:5550721",
        requests: 2,
        costUsd: "0.1131",
        chargedMicros: 141_375,
      }),
    ]);
    const b = cli({}, ["--db", db, "--json", "balance", "telegram:5550721"]);
    expect(JSON.parse(b.stdout).balanceMicroCredits).toBe(-141_375);
  }, 60_000);

  it("half of a pair of settings is a warning naming the missing one (config.warnings)", () => {
    expect(loadConfig({}).warnings).toEqual([]);
    expect(
      loadConfig({
        STRIPE_SECRET_KEY: "sk_test_x",
        STRIPE_WEBHOOK_SECRET: "whsec_x",
        // a public base URL: on loopback a provider is warned about (case public-base-url-loopback-with-payments)
        PUBLIC_BASE_URL: "https://pay.example.com",
      }).warnings,
    ).toEqual([]);
    const w = loadConfig({
      STRIPE_SECRET_KEY: "sk_test_x",
      MP_WEBHOOK_SECRET: "s",
      CREDITGATE_ALERT_WEBHOOK_URL: "https://ops.example/hook",
    }).warnings;
    expect(w).toEqual([
      "STRIPE_SECRET_KEY is set but STRIPE_WEBHOOK_SECRET is not: Stripe top-ups are disabled",
      "MP_WEBHOOK_SECRET is set but MP_ACCESS_TOKEN is not: MercadoPago top-ups are disabled",
      "CREDITGATE_ALERT_WEBHOOK_URL is set but CREDITGATE_ALERT_WEBHOOK_SECRET is not: operator alerts are not sent to a webhook",
    ]);
  });

  it("the worker (which logs no startup notes) warns of an alert webhook URL without its secret", async () => {
    const dir = mkdtempSync(join(tmpdir(), "cg-tuser-db-"));
    // Redis on port 9 never answers: the worker keeps running; it is killed once it has warned
    const child = spawn(process.execPath, [MAIN, "--db", join(dir, "cg.sqlite"), "worker"], {
      env: {
        PATH: process.env.PATH ?? "",
        HOME: dir,
        CREDITGATE_LOG_LEVEL: "warn",
        CREDITGATE_LOG_FORMAT: "json",
        CREDITGATE_ALERT_WEBHOOK_URL: "https://ops.example/hook",
        REDIS_URL: "redis://127.0.0.1:9",
      },
      stdio: ["ignore", "ignore", "pipe"],
    });
    const want = "CREDITGATE_ALERT_WEBHOOK_URL is set but CREDITGATE_ALERT_WEBHOOK_SECRET is not";
    let stderr = "";
    try {
      await new Promise<void>((done) => {
        const timer = setTimeout(done, 45_000);
        child.stderr?.on("data", (d: Buffer) => {
          stderr += d.toString("utf8");
          if (stderr.includes(want)) {
            clearTimeout(timer);
            done();
          }
        });
        child.once("exit", () => {
          clearTimeout(timer);
          done();
        });
      });
    } finally {
      child.kill("SIGKILL");
    }
    expect(stderr).toContain(want);
  }, 60_000);

  it("limits set: a bad --low or --language is one line naming the flag, before the account note", () => {
    const dir = mkdtempSync(join(tmpdir(), "cg-tuser-db-"));
    const db = join(dir, "cg.sqlite");
    const low = cli({}, ["--db", db, "limits", "set", "telegram:77", "--low", "-3"]);
    expect(low.status).toBe(1);
    expect(low.stderr).toBe('creditgate: --low: must be 0 or more credits, got "-3"\n');
    const lang = cli({}, ["--db", db, "limits", "set", "telegram:77", "--language", "fr"]);
    expect(lang.stderr).toBe(
      'creditgate: --language: "fr" is not en or es (or off / default: the default language again)\n',
    );
    const daily = cli({}, ["--db", db, "limits", "set", "telegram:77", "--daily", "-1"]);
    expect(daily.stderr).toBe("creditgate: --daily: must be greater than 0\n");
    const ok = cli({}, [
      "--db",
      db,
      "--json",
      "limits",
      "set",
      "telegram:77",
      "--language",
      "ES",
      "--low",
      "0",
    ]);
    expect(ok.status, ok.stderr).toBe(0);
    expect(ok.stdout).toMatch(/"language": "es"/);
  }, 30_000);

  it("usage refuses swapped --since/--until instead of an empty table with exit 0", () => {
    const dir = mkdtempSync(join(tmpdir(), "cg-tuser-db-"));
    const db = join(dir, "cg.sqlite");
    expect(cli({}, ["--db", db, "--state-dir", join(CASE, "state"), "meter", "--once"]).status).toBe(0);
    const swapped = cli({}, ["--db", db, "usage", "--since", "7d", "--until", "30d"]);
    expect(swapped.status).toBe(1);
    expect(swapped.stdout).toBe("");
    expect(swapped.stderr).toMatch(/^creditgate: the range is empty: --since \(.*\) is not before --until/);
    const dates = cli({}, ["--db", db, "usage", "--since", "2026-11-21", "--until", "2026-11-20"]);
    expect(dates.status).toBe(1);
    // one day, both bounds the same date: that day (the calls are of 2026-11-20)
    const day = cli({}, ["--db", db, "--json", "usage", "--since", "2026-11-20", "--until", "2026-11-20"]);
    expect(day.status, day.stderr).toBe(0);
    expect(JSON.parse(day.stdout)).toEqual([
      expect.objectContaining({ key: "telegram:5550721", requests: 2 }),
    ]);
  }, 60_000);
});
