// An agent's OpenClaw store that cannot be read this poll (locked by a writer past the busy
// timeout, not a database, a directory) while the JSONL copies of its sessions are on disk, as
// `openclaw doctor --fix` leaves them (`session-sqlite-import-archive/`, no sessions.json): those
// copies are attributed only through the session facts the store's poll records. Billed before the
// store was read, they went to the operator (`agent:main`) and the store's own copies of the same
// calls were then duplicates: the users were never billed. The JSONL source of such an agent now
// waits for its store.
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterEach, describe, expect, it } from "vitest";
import { createSourceHealth, WAITING_FOR_STORE } from "../../src/meter/health.js";
import { balances, meterFor, OC_FIXTURE, type TempWorld, tempWorld } from "../support/meter-env.js";

const MAIN_SIDS = [
  "70d33abb-7508-4dab-96fd-dc8f4f8b7cb8",
  "7e8e202d-73cf-4aa8-bbd4-94d85953f3e4",
  "8213c258-61fb-4420-afda-9f1b077d8f23",
  "c7a9c18d-f67b-4f88-8029-cc3f65f92df6",
  "db106dbd-cb8a-4df9-90af-14f5f3489965",
  "fd148d07-86c2-4fff-bf6c-341d2e475c9d",
];

const worlds: TempWorld[] = [];
afterEach(() => {
  for (const w of worlds.splice(0)) w.cleanup();
});

/** The 2026.9.6 fixture plus the JSONL copies of main's sessions that a doctor import leaves. */
function importedWorld(): TempWorld {
  const w = tempWorld(OC_FIXTURE);
  worlds.push(w);
  const dir = join(w.stateDir, "agents", "main", "session-sqlite-import-archive");
  mkdirSync(dir, { recursive: true });
  for (const sid of MAIN_SIDS) {
    const text = readFileSync(join(OC_FIXTURE, "sqlite-export", "main", `${sid}.jsonl`));
    writeFileSync(join(dir, `agent_main_x.${sid}.jsonl.imported-1795371000000`), text);
  }
  // rollback journal (OpenClaw's mode on NFS/SMB): a writer's lock keeps readers out
  const oc = new Database(join(w.stateDir, "agents", "main", "agent", "openclaw-agent.sqlite"));
  oc.pragma("journal_mode = DELETE");
  oc.close();
  return w;
}

/** What every account owes when the store is readable from the first poll. */
async function reference(readerThread: boolean): Promise<Map<string, number>> {
  const w = importedWorld();
  const m = meterFor(w, { readerThread, health: createSourceHealth() });
  try {
    const s = await m.runOnce();
    expect(s.failures).toEqual([]);
    expect(s.duplicates).toBeGreaterThan(20); // the copies were read, and absorbed
    return balances(w.db);
  } finally {
    m.close();
  }
}

describe("an agent's store unreadable on the first poll, its sessions' doctor-import copies on disk", () => {
  it.each([
    ["not a database", true],
    ["not a database", false],
    ["a directory", true],
    ["a directory", false],
    ["locked by a writer", true],
  ] as const)(
    "store %s (reader thread: %s): every call still goes to its user",
    async (how, readerThread) => {
      const want = await reference(readerThread);
      expect(want.get("telegram:123456")).toBeLessThan(0);
      const w = importedWorld();
      const store = join(w.stateDir, "agents", "main", "agent", "openclaw-agent.sqlite");
      const m = meterFor(w, { readerThread, health: createSourceHealth() });
      let restore = () => {};
      if (how === "locked by a writer") {
        const writer = new Database(store);
        writer.exec("BEGIN EXCLUSIVE");
        restore = () => {
          writer.exec("COMMIT");
          writer.close();
        };
      } else {
        renameSync(store, `${store}.away`);
        if (how === "a directory") mkdirSync(store);
        else writeFileSync(store, Buffer.alloc(8192, 0x41));
        restore = () => {
          rmSync(store, { recursive: true });
          renameSync(`${store}.away`, store);
        };
      }
      try {
        const first = await m.runOnce();
        // the store's problem, and the JSONL source saying it waits (not a stale state of its own)
        expect(first.failures.map((f) => [f.source, f.code === WAITING_FOR_STORE])).toEqual([
          ["sqlite:main", false],
          ["jsonl:main", true],
        ]);
        restore();
        const second = await m.runOnce();
        expect(second.failures).toEqual([]);
        expect(balances(w.db)).toEqual(want);
      } finally {
        m.close();
      }
    },
    60_000,
  );
});

describe("the JSONL source's health while its agent's store cannot be read", () => {
  it("shows that it waits for the store, not a stale problem of its own last poll", async () => {
    const w = importedWorld();
    const health = createSourceHealth();
    const m = meterFor(w, { health });
    const agentDir = join(w.stateDir, "agents", "main");
    const store = join(agentDir, "agent", "openclaw-agent.sqlite");
    const bad = join(agentDir, "sessions", "0badd1r0-0000-4000-8000-000000000000.jsonl");
    const failing = () => health.failing().map((p) => [p.source, p.code]);
    try {
      // a JSONL problem of its own
      mkdirSync(bad, { recursive: true });
      await m.runOnce();
      expect(failing()).toEqual([["jsonl:main", "not-a-file"]]);
      // fixed, but the store is unreadable now: the JSONL source was not read, and says so
      rmSync(bad, { recursive: true });
      renameSync(store, `${store}.away`);
      writeFileSync(store, Buffer.alloc(8192, 0x41));
      await m.runOnce();
      expect(failing()).toEqual([
        ["sqlite:main", "SQLITE_NOTADB"],
        ["jsonl:main", WAITING_FOR_STORE],
      ]);
      // the store is back: both read, nothing failing
      rmSync(store);
      renameSync(`${store}.away`, store);
      expect((await m.runOnce()).failures).toEqual([]);
      expect(failing()).toEqual([]);
    } finally {
      m.close();
    }
  }, 60_000);
});
