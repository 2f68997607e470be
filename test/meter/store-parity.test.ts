import { copyFileSync, existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { openDatabase } from "../../src/db/index.js";
import { queryUsage } from "../../src/meter/report.js";
import { jsonlToStore } from "../support/jsonl-to-store.js";
import { casePricer, meterFor } from "../support/meter-env.js";

/**
 * Store/JSONL parity over test/cases: every case whose JSONL state dir OpenClaw's `doctor --fix`
 * import can turn into its SQLite store (test/support/jsonl-to-store.ts, with what doctor leaves
 * beside the store) must bill each user the same requests and cost from the store as from the
 * JSONL. Most billing fixes were found on JSONL first; this finds where the store path lags.
 */
const CASES = resolve(import.meta.dirname, "../cases");

/**
 * Cases whose store bills differently, each with why (not a store-reader fault, or not yet fixed).
 * A case leaving this list (fixed) or joining it (a regression) fails the test.
 */
const KNOWN_DIFFERENCES: Record<string, string> = {
  "archive-last-line-unterminated":
    "not yet fixed (2026-12-04, not this case's fault: the same with the archive's last newline): a plain " +
    "`.jsonl.reset.<ts>` archive of a session whose entry doctor imported but whose only file is that archive " +
    "is billed to agent:main on the store path (both calls, $0.02625), to the entry's user from the JSONL",
  "session-file-stale-after-reset":
    "not yet fixed (2026-12-03): after the import the stale file's `.reset` archive (the entry's old session id, " +
    "named only by its `sessionFile`) is left beside the store; the store path reads the archived index by key, " +
    "not by a sessionFile's id, so its call ($0.0045) goes to agent:main (the imported live file bills the user)",
  "transcript-in-other-agent-dir":
    "not yet fixed (2026-12-05, h-read): the simulated import puts the two files main's index does not name into " +
    "main's store, and the store path looks their ids up in main's windows only (not other agents' stores): " +
    "3 calls $0.02475 to agent:main; whether doctor --fix imports such a file into its entry's agent is unchecked",
};

const root = mkdtempSync(join(tmpdir(), "creditgate-parity-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

// creditgate's migrations run once; each meter gets a copy of the migrated database
let dbTemplate: string | null = null;
function freshDb(path: string) {
  if (!dbTemplate) {
    dbTemplate = join(root, "template.sqlite");
    openDatabase(dbTemplate).close();
  }
  copyFileSync(dbTemplate, path);
  return openDatabase(path);
}

let n = 0;
/** Per-user `requests/costUsd` of one `meter --once` over `stateDir`, priced as the case is. */
async function billsOf(stateDir: string, caseDir: string): Promise<Record<string, string>> {
  const dbPath = join(root, `m${n++}.sqlite`);
  const db = freshDb(dbPath);
  const world = { dir: root, stateDir, dbPath, db, cleanup() {} };
  const meter = meterFor(world, { pricer: casePricer(caseDir, "calculate"), readerThread: false });
  try {
    await meter.runOnce();
    return Object.fromEntries(
      queryUsage(db, { by: "user" }).map((u) => [u.key, `${u.requests} calls $${u.costUsd}`]),
    );
  } finally {
    meter.close();
    db.close();
    for (const f of [dbPath, `${dbPath}-wal`, `${dbPath}-shm`]) rmSync(f, { force: true });
  }
}

describe("store/JSONL parity over test/cases (doctor's import of each case's JSONL state)", () => {
  it("bills every representable case the same from the store as from the JSONL", async () => {
    const differing: Record<string, string> = {};
    const skipped: string[] = [];
    let compared = 0;
    for (const name of readdirSync(CASES).sort()) {
      const caseDir = join(CASES, name);
      const state = join(caseDir, "state");
      if (!existsSync(join(state, "agents"))) continue;
      const out = join(root, name, "state");
      const conv = jsonlToStore(state, out, { postDoctor: true });
      if (conv.sessions + conv.malformed.length === 0 || conv.unrepresentable.length > 0) {
        skipped.push(name);
        continue;
      }
      compared++;
      const jsonl = await billsOf(state, caseDir);
      const store = await billsOf(out, caseDir);
      if (JSON.stringify(jsonl) !== JSON.stringify(store))
        differing[name] = `jsonl ${JSON.stringify(jsonl)} store ${JSON.stringify(store)}`;
    }
    // JSONL-only kinds: a relocated session store, OpenClaw's legacy-migration leftovers, an index
    // that does not parse (doctor cannot import it), and cases already on the store (nothing to import)
    expect(skipped).toEqual([
      "cold-archive-envelope",
      "import-archive-checkpoint-session",
      "legacy-sessions-leftover-dir",
      "session-store-relocated",
      "sessions-index-unreadable-waits",
      "store-compact-bak-archive",
      "store-import-cross-agent-subagent-channel",
      "store-import-dropped-dm-channel",
      "store-legacy-session-tables",
      "store-main-key-without-config",
      "store-relocated-agent-dir-archives",
      "subagent-into-other-agent-store",
    ]);
    expect(compared).toBeGreaterThan(80);
    expect(Object.keys(differing).sort(), JSON.stringify(differing, null, 1)).toEqual(
      Object.keys(KNOWN_DIFFERENCES).sort(),
    );
  }, 240_000);
});
