import { spawnSync } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";

const MAIN = resolve(import.meta.dirname, "../dist/cli/main.js");
const CASE = resolve(import.meta.dirname, "cases/review-released-cost-shown");

/** The built CLI with only PATH and a fresh HOME set. */
function cli(args: string[]) {
  const home = mkdtempSync(join(tmpdir(), "cg-tuser3-"));
  return spawnSync(process.execPath, [MAIN, ...args], {
    env: { PATH: process.env.PATH ?? "", HOME: home, CREDITGATE_LOG_LEVEL: "silent" },
    encoding: "utf8",
    timeout: 60_000,
  });
}

interface Item {
  id: number;
  status: string;
  model: string;
  accountId: string;
  costUsd: string | null;
  billedCostUsd: string | null;
  billedAccountId: string | null;
}

describe("found by t-user3 (2026-12-04): review lists what a release billed", () => {
  let db = "";
  beforeAll(() => {
    db = join(mkdtempSync(join(tmpdir(), "cg-tuser3-db-")), "cg.sqlite");
    const m = cli(["--db", db, "--state-dir", join(CASE, "state"), "meter", "--once"]);
    expect(m.status, m.stderr).toBe(0);
  }, 60_000);

  it("a call released at --cost-usd lists that cost, and the account it was billed to", () => {
    const held = JSON.parse(cli(["--db", db, "--json", "review"]).stdout) as { items: Item[] };
    expect(held.items.map((i) => [i.model, i.costUsd, i.billedCostUsd])).toEqual([
      ["gemini-2.5-flash-image", null, null],
      ["gpt-audio", null, null],
    ]);
    const [image, audio] = held.items as [Item, Item];
    // a cost past what a usage row holds: refused in USD, naming the bound
    const huge = cli([
      "--db",
      db,
      "review",
      "release",
      String(image.id),
      "--reason",
      "x",
      "--cost-usd",
      "99999999999",
    ]);
    expect(huge.status).toBe(1);
    expect(huge.stderr).toContain("cost $99999999999 is out of range: at most $9223372.036854775807");
    expect(huge.stderr).not.toContain("pico");

    const r1 = cli([
      "--db",
      db,
      "review",
      "release",
      String(audio.id),
      "--reason",
      "list price",
      "--cost-usd",
      "0.0319905",
    ]);
    expect(r1.status, r1.stderr).toBe(0);
    const r2 = cli([
      "--db",
      db,
      "review",
      "release",
      String(image.id),
      "--reason",
      "list price",
      "--cost-usd",
      "0.0387286",
      "--account",
      "telegram:5551502",
    ]);
    expect(r2.status, r2.stderr).toBe(0);

    const released = JSON.parse(cli(["--db", db, "--json", "review", "--status", "released"]).stdout) as {
      items: Item[];
    };
    const byId = new Map(released.items.map((i) => [i.id, i]));
    expect(byId.get(audio.id)).toMatchObject({
      accountId: "telegram:5551501",
      costUsd: null,
      billedCostUsd: "0.0319905",
      billedAccountId: "telegram:5551501",
    });
    expect(byId.get(image.id)).toMatchObject({
      accountId: "telegram:5551501",
      costUsd: null,
      billedCostUsd: "0.0387286",
      billedAccountId: "telegram:5551502",
    });

    const table = cli(["--db", db, "review", "--status", "all"]);
    expect(table.status, table.stderr).toBe(0);
    expect(table.stdout).toContain("not priced, billed $0.0319905");
    expect(table.stdout).toContain("not priced, billed $0.0387286");
    expect(table.stdout).toContain("telegram:5551501 → telegram:5551502");
    // the ledger agrees
    const b = cli(["--db", db, "--json", "balance", "telegram:5551502"]);
    expect(b.stdout).toContain("-0.038729"); // charges round up (src/money.ts);
  }, 120_000);
});

describe("found by t-user3 (2026-12-04): a single-valued option given twice is refused", () => {
  const CASE2 = resolve(import.meta.dirname, "cases/cli-repeated-option-last-wins");
  let db = "";
  beforeAll(() => {
    db = join(mkdtempSync(join(tmpdir(), "cg-tuser3-db-")), "cg.sqlite");
    const m = cli(["--db", db, "--state-dir", join(CASE2, "state"), "meter", "--once"]);
    expect(m.status, m.stderr).toBe(0);
  }, 60_000);

  it.each([
    [["usage", "--by", "user", "--by", "day"], '--by: given 2 times ("user", "day")'],
    [["usage", "--since", "2026-11-21", "--since", "2026-11-01"], "--since: given 2 times"],
    [["report", "--from", "2026-11-01", "--from", "2026-11-20"], "--from: given 2 times"],
    [["--db", "/tmp/other.sqlite", "usage"], "--db: given 2 times"],
  ])("%j is refused", (args, message) => {
    const r = cli(["--db", db, ...args]);
    expect(r.status).toBe(1);
    expect(r.stdout).toBe("");
    expect(r.stderr).toContain(message);
  });

  it("options meant to repeat still do: --state-dir and report --by", () => {
    const r = cli([
      "--db",
      db,
      "--json",
      "report",
      "--from",
      "2026-11-20",
      "--to",
      "2026-11-20",
      "--by",
      "user",
      "--by",
      "day",
    ]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain("telegram:5550721");
    const u = cli(["--db", db, "--json", "usage", "--by", "user"]);
    expect(JSON.parse(u.stdout)).toEqual([expect.objectContaining({ key: "telegram:5550721", requests: 2 })]);
    const m = cli([
      "--db",
      db,
      "--state-dir",
      join(CASE2, "state"),
      "--state-dir",
      join(CASE2, "state"),
      "meter",
      "--once",
    ]);
    expect(m.status, m.stderr).toBe(0);
  }, 60_000);
});

describe("found by t-user3 (2026-12-04): limits set with nothing to set writes nothing", () => {
  it("is refused, and the user keeps following the defaults", () => {
    const db = join(mkdtempSync(join(tmpdir(), "cg-tuser3-db-")), "cg.sqlite");
    expect(cli(["--db", db, "limits", "set", "*", "--daily", "2"]).status).toBe(0);
    for (const extra of [[], ["--soft"]]) {
      const r = cli(["--db", db, "limits", "set", "telegram:1", ...extra]);
      expect(r.status).toBe(1);
      expect(r.stdout).toBe("");
      expect(r.stderr).toContain("limits set: nothing to set");
    }
    expect(cli(["--db", db, "limits", "set", "*", "--daily", "5"]).status).toBe(0);
    const get = cli(["--db", db, "limits", "get", "telegram:1"]);
    expect(get.stdout).toContain("(defaults)");
    expect(get.stdout).toMatch(/day\s+hard\s+5\.00/);
    // a second instance: a real setting still writes, and only that setting
    expect(cli(["--db", db, "limits", "set", "telegram:1", "--floor", "-0.5"]).status).toBe(0);
    expect(cli(["--db", db, "limits", "get", "telegram:1"]).stdout).toContain("floor -0.50");
  }, 60_000);
});
