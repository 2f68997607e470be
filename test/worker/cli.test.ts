import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { openDatabase } from "../../src/db/index.js";
import { runCli } from "../support/cli.js";

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** A fresh database file, and `creditgate --db <file> <args>` run in-process against it. */
function cli() {
  const dir = mkdtempSync(join(tmpdir(), "cg-worker-cli-"));
  dirs.push(dir);
  const db = join(dir, "creditgate.sqlite");
  const run = (...args: string[]) => runCli({ CREDITGATE_LOG_LEVEL: "silent" }, ["--db", db, ...args]);
  const json = async (...args: string[]) => {
    const r = await run("--json", ...args);
    if (r.error) throw r.error;
    return JSON.parse(r.out);
  };
  return { db, run, json };
}

describe("worker CLI commands (in-process)", () => {
  it("limits set/get/clear: caps in credits, merge, soft, 'off', defaults, --json", async () => {
    const { run, json } = cli();
    const set = await run("limits", "set", "telegram:1", "--daily", "2", "--monthly", "20");
    expect(set.error).toBeNull();
    expect(set.out).toMatch(
      /^telegram:1: floor 0\.00, low-balance alert at 1\.00, language en, headroom p95\n/,
    );
    expect(set.out).toMatch(/day\s+hard\s+2\.00/);
    expect(set.out).toMatch(/month\s+hard\s+20\.00/);
    // No balance yet: the status printed with the limits says why the user is blocked.
    expect(set.out).toMatch(/telegram:1: BLOCKED \(insufficient_balance\)/);

    await run("limits", "set", "telegram:1", "--weekly", "10", "--soft", "--floor", "-1", "--language", "es");
    const got = await json("limits", "get", "telegram:1");
    expect(got.userId).toBe("telegram:1");
    expect(got.effective).toEqual({
      floorMicroCredits: -1_000_000,
      caps: [
        { period: "day", capMicroCredits: 2_000_000, kind: "hard" },
        { period: "month", capMicroCredits: 20_000_000, kind: "hard" },
        { period: "week", capMicroCredits: 10_000_000, kind: "soft" },
      ],
      capsInherited: [],
      lowBalanceMicroCredits: 1_000_000,
      language: "es",
      headroom: { mode: "p95" },
    });
    // Balance 0 is above a floor of -1 credit: allowed, with a window per cap.
    expect(got.status).toMatchObject({ userId: "telegram:1", allowed: true, reason: null });
    expect(got.status.windows.map((w: { period: string }) => w.period).sort()).toEqual([
      "day",
      "month",
      "week",
    ]);

    await run("limits", "set", "telegram:1", "--daily", "off");
    const afterOff = await json("limits", "get", "telegram:1");
    expect(afterOff.user.caps.map((c: { period: string }) => c.period)).toEqual(["month", "week"]);

    // --headroom: fixed credits, off (0 too), p95; merged like every other flag.
    const fixed = await run("limits", "set", "telegram:1", "--headroom", "0.05");
    expect(fixed.out).toMatch(/language es, headroom 0\.05 credits\n/);
    expect((await json("limits", "get", "telegram:1")).effective.headroom).toEqual({
      mode: "fixed",
      microCredits: 50_000,
    });
    await run("limits", "set", "telegram:1", "--headroom", "0");
    expect((await json("limits", "get", "telegram:1")).user).toMatchObject({
      headroom: { mode: "off" },
      floorMicroCredits: -1_000_000,
    });
    await run("limits", "set", "telegram:1", "--headroom", "P95");
    expect((await json("limits", "get", "telegram:1")).user.headroom).toEqual({ mode: "p95" });

    // Defaults for everyone apply to users without their own limits.
    const defaults = await json("limits", "set", "*", "--daily", "5");
    expect(defaults).toMatchObject({ userId: "*", user: null, defaults: { caps: [{ period: "day" }] } });
    expect(defaults.status).toBeUndefined();
    const other = await run("limits", "get", "telegram:2");
    expect(other.out).toMatch(/^telegram:2: .*language en, headroom p95 \(defaults\)\n/);
    expect(other.out).toMatch(/day\s+hard\s+5\.00/);

    const cleared = await run("limits", "clear", "telegram:1");
    expect(cleared.out).toBe("limits of telegram:1 cleared\n");
    const afterClear = await json("limits", "get", "telegram:1");
    expect(afterClear.user).toBeNull();
    expect(afterClear.effective.caps).toEqual([{ period: "day", capMicroCredits: 5_000_000, kind: "hard" }]);
    expect((await json("limits", "clear", "*")).defaults).toBeNull();
    expect((await run("limits", "get", "*")).out).toMatch(/no caps\n$/);
  });

  it("limits set rejects invalid values with an error naming the field, and changes nothing", async () => {
    const { run, json } = cli();
    await run("limits", "set", "telegram:1", "--daily", "2");
    const cases: [string[], RegExp][] = [
      [["--daily", "abc"], /--daily: "abc" is not a credit amount/],
      [["--weekly", "0"], /--weekly: must be greater than 0/],
      [["--monthly", "-3"], /--monthly: must be greater than 0/],
      [["--floor", "lots"], /--floor: "lots" is not a credit amount/],
      [["--low", "1.0000001"], /--low: /],
      [["--language", "fr"], /--language: "fr" is not en or es/],
      [["--low", "-1"], /--low: must be 0 or more credits, got "-1"/],
      [["--headroom", "lots"], /--headroom: "lots" is not p95, off, or credits/],
      [["--headroom", "-1"], /--headroom: "-1" is not p95, off, or credits/],
      [["--headroom", "0.0000001"], /--headroom: /],
    ];
    for (const [flags, message] of cases) {
      const r = await run("limits", "set", "telegram:1", ...flags);
      expect(r.error, flags.join(" ")).not.toBeNull();
      expect(r.error?.message, flags.join(" ")).toMatch(message);
      expect(r.out).toBe("");
    }
    const got = await json("limits", "get", "telegram:1");
    expect(got.user).toEqual({
      caps: [{ period: "day", capMicroCredits: 2_000_000, kind: "hard" }],
      capsOff: [],
    });
    const badUser = await run("limits", "set", "not an id", "--daily", "1");
    expect(badUser.error).not.toBeNull();
  });

  it("block/unblock, status and alerts [--dead], in text and --json", async () => {
    const { db, run, json } = cli();
    expect((await run("grant", "telegram:5", "5", "--reason", "welcome")).error).toBeNull();
    const allowed = await run("status", "telegram:5");
    // A granted user who never called: no model to estimate from, headroom 0 (README: fallback).
    expect(allowed.out).toBe(
      "telegram:5: allowed; balance 5.00 credits; headroom 0.00 credits (p95: no recent calls)\n",
    );

    const noReason = await run("block", "telegram:5");
    expect(noReason.error?.message).toMatch(/--reason: required/);
    expect((await json("status", "telegram:5")).allowed).toBe(true);

    const blocked = await run("block", "telegram:5", "--reason", "chargeback");
    expect(blocked.out).toBe("telegram:5: blocked (operator)\n");
    expect(await json("status", "telegram:5")).toMatchObject({
      userId: "telegram:5",
      allowed: false,
      reason: "operator",
      balanceMicroCredits: 5_000_000,
      windows: [],
    });
    expect((await run("status", "telegram:5")).out).toMatch(
      /^telegram:5: BLOCKED \(operator\); balance 5\.00/,
    );

    const unblocked = await json("unblock", "telegram:5");
    expect(unblocked).toMatchObject({ userId: "telegram:5", allowed: true, reason: null });

    const alerts = await json("alerts");
    const kinds = alerts.map((a: { kind: string }) => a.kind);
    expect(kinds).toEqual(expect.arrayContaining(["blocked", "unblocked"]));
    expect(alerts.every((a: { webhookState: string }) => a.webhookState === "none")).toBe(true);
    expect(await json("alerts", "--dead")).toEqual([]);
    const table = await run("alerts", "--limit", "1");
    expect(table.out.split("\n")[0]).toMatch(/^id\s+created\s+account\s+kind\s+threshold\s+window\s+webhook/);
    expect(table.out.trim().split("\n")).toHaveLength(3); // header, rule, one row

    // A delivery that failed for good (as the webhook worker leaves it) is listed by --dead.
    const blockedAlert = alerts.find((a: { kind: string }) => a.kind === "blocked");
    const raw = openDatabase(db);
    raw
      .prepare(
        "UPDATE alerts SET webhook_state = 'dead', webhook_attempts = 3, webhook_error = 'HTTP 500' WHERE id = ?",
      )
      .run(blockedAlert.id);
    raw.close();
    const dead = await json("alerts", "--dead");
    expect(dead).toEqual([
      expect.objectContaining({
        id: blockedAlert.id,
        kind: "blocked",
        webhookState: "dead",
        webhookAttempts: 3,
        webhookError: "HTTP 500",
      }),
    ]);
    expect((await run("alerts", "--dead")).out).toMatch(
      /telegram:5\s+blocked\s+operator\s+\S+\s+dead\s+3\s+HTTP 500/,
    );
  });
});
