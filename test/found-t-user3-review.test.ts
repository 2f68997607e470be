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
