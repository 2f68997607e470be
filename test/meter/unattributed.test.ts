import { cpSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { runCli } from "../support/cli.js";
import { CB_FIXTURE } from "../support/meter-env.js";

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe("a cold backfill says how much it could not attribute", () => {
  it("Clawdbot sessions reset or deleted before creditgate ran: 6 calls counted and shown, billed to agent:main", async () => {
    const dir = mkdtempSync(join(tmpdir(), "cg-unattributed-"));
    dirs.push(dir);
    cpSync(CB_FIXTURE, join(dir, "state"), { recursive: true });
    const g = ["--db", join(dir, "cg.sqlite"), "--state-dir", join(dir, "state")];
    const json = await runCli({ CREDITGATE_LOG_LEVEL: "silent" }, [...g, "--json", "meter", "--once"]);
    expect(json.error).toBeNull();
    expect(JSON.parse(json.out)).toMatchObject({ billed: 31, unattributedCalls: 6 });
    const table = await runCli({ CREDITGATE_LOG_LEVEL: "silent" }, [
      ...["--db", join(dir, "second.sqlite"), "--state-dir", join(dir, "state")],
      "meter",
      "--once",
    ]);
    expect(table.out).toMatch(/calls without a session \(billed to the agent\)\s+6/);
  });
});
