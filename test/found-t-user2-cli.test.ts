import { spawnSync } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";

const MAIN = resolve(import.meta.dirname, "../dist/cli/main.js");
const CASE = resolve(import.meta.dirname, "cases/markup-zero-charges-nothing");

/** The built CLI with only PATH and a fresh HOME set. */
function cli(args: string[]) {
  const home = mkdtempSync(join(tmpdir(), "cg-tuser2-"));
  return spawnSync(process.execPath, [MAIN, ...args], {
    env: { PATH: process.env.PATH ?? "", HOME: home, CREDITGATE_LOG_LEVEL: "silent" },
    encoding: "utf8",
    timeout: 60_000,
  });
}

describe("found by t-user2 (2026-12-04): a filter or range flag with an empty value", () => {
  let db = "";
  beforeAll(() => {
    db = join(mkdtempSync(join(tmpdir(), "cg-tuser2-db-")), "cg.sqlite");
    const m = cli(["--db", db, "--state-dir", join(CASE, "state"), "meter", "--once"]);
    expect(m.status, m.stderr).toBe(0);
  }, 60_000);

  // `--since "$FROM"` with FROM unset: usage answered with all-time usage (every agent for
  // `--agent ""`), report --from "" with the last 7 days, exit 0; report --agent "" with nothing.
  it.each([
    ["usage", "--since"],
    ["usage", "--until"],
    ["usage", "--agent"],
    ["usage", "--model"],
    ["usage", "--user"],
    ["report", "--from"],
    ["report", "--to"],
    ["report", "--last"],
    ["report", "--agent"],
    ["report", "--model"],
    ["report", "--provider"],
  ])(
    "%s %s '' is refused, naming the flag",
    (cmd, flag) => {
      for (const value of ["", "  "]) {
        const r = cli(["--db", db, cmd, flag, value]);
        expect(r.status, `${cmd} ${flag} "${value}"`).toBe(1);
        expect(r.stdout).toBe("");
        expect(r.stderr).toContain(flag);
      }
    },
    60_000,
  );

  it("the same flags with a value still answer (the case's calls are of 2026-11-20)", () => {
    const u = cli(["--db", db, "--json", "usage", "--since", "2026-11-20", "--agent", "main"]);
    expect(u.status, u.stderr).toBe(0);
    expect(JSON.parse(u.stdout)).toEqual([expect.objectContaining({ key: "telegram:5550721", requests: 2 })]);
    const r = cli(["--db", db, "--json", "report", "--from", "2026-11-20", "--to", "2026-11-20"]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/"requests": 2/);
  }, 60_000);
});
