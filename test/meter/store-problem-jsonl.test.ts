// An agent's OpenClaw store that cannot be read this poll (locked by a writer past the busy
// timeout, not a database, a directory) while the JSONL copies of its sessions are on disk, as
// `openclaw doctor --fix` leaves them (`session-sqlite-import-archive/`, no sessions.json): those
// copies are attributed only through the session facts the store's poll records. Billed before the
// store was read, they went to the operator (`agent:main`) and the store's own copies of the same
// calls were then duplicates: the users were never billed. The JSONL source of such an agent now
// waits for its store.
import { cpSync, mkdirSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterEach, describe, expect, it } from "vitest";
import { createBiller } from "../../src/meter/biller.js";
import { createSourceHealth, WAITING_FOR_STORE } from "../../src/meter/health.js";
import type { SourceBatch } from "../../src/meter/source.js";
import {
  balances,
  CB_FIXTURE,
  createLedger,
  fixturePricer,
  meterFor,
  OC_FIXTURE,
  type TempWorld,
  tempWorld,
} from "../support/meter-env.js";

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

describe("a JSONL problem that lasts through a store outage", () => {
  it("appears once: not logged or counted again when the source is read after waiting", async () => {
    const w = importedWorld();
    const health = createSourceHealth();
    const logged: string[] = [];
    const m = meterFor(w, {
      health,
      log: (level, msg, fields) => {
        if (level === "error" && msg === "meter source problem") logged.push(String(fields?.code));
      },
    });
    const agentDir = join(w.stateDir, "agents", "main");
    const store = join(agentDir, "agent", "openclaw-agent.sqlite");
    mkdirSync(join(agentDir, "sessions", "0badd1r0-0000-4000-8000-000000000000.jsonl"), { recursive: true });
    const appeared = () => Object.fromEntries(health.appeared().map((a) => [`${a.kind}:${a.code}`, a.count]));
    try {
      await m.runOnce();
      expect(logged).toEqual(["not-a-file"]);
      renameSync(store, `${store}.away`);
      writeFileSync(store, Buffer.alloc(8192, 0x41));
      await m.runOnce(); // the JSONL files are not looked at: the directory is still there
      rmSync(store);
      renameSync(`${store}.away`, store);
      await m.runOnce();
      expect(health.failing().map((p) => [p.source, p.code])).toEqual([["jsonl:main", "not-a-file"]]);
      expect(logged).toEqual(["not-a-file", "SQLITE_NOTADB", WAITING_FOR_STORE]);
      expect(appeared()).toEqual({
        "jsonl:not-a-file": 1,
        "sqlite:SQLITE_NOTADB": 1,
        [`jsonl:${WAITING_FOR_STORE}`]: 1,
      });
      // fixed while waiting: gone once read, and a new one after that appears as new
      renameSync(store, `${store}.away`);
      writeFileSync(store, Buffer.alloc(8192, 0x41));
      await m.runOnce();
      rmSync(join(agentDir, "sessions", "0badd1r0-0000-4000-8000-000000000000.jsonl"), { recursive: true });
      rmSync(store);
      renameSync(`${store}.away`, store);
      await m.runOnce();
      expect(health.failing()).toEqual([]);
      mkdirSync(join(agentDir, "sessions", "0badd1r0-0000-4000-8000-000000000000.jsonl"));
      await m.runOnce();
      expect(appeared()["jsonl:not-a-file"]).toBe(2);
    } finally {
      m.close();
    }
  }, 60_000);
});

describe("the JSONL source's waiting state names what holds it back", () => {
  it.each([
    ["on the main thread", false],
    ["on the reader thread", true],
  ])(
    "creditgate's own database failing while billing the store (%s): waiting, without blaming the store",
    async (_name, readerThread) => {
      const w = importedWorld();
      const biller = createBiller(w.db, createLedger(w.db), {
        pricer: fixturePricer(),
        markup: { num: 1n, den: 1n },
        creditsPerUsd: { num: 1n, den: 1n },
      });
      let full = true;
      const record = (b: SourceBatch) => {
        if (full) throw Object.assign(new Error("database or disk is full"), { code: "SQLITE_FULL" });
        const r = biller.bill(b);
        return { recorded: r.billed, duplicates: r.duplicates };
      };
      const m = meterFor(w, { readerThread, health: createSourceHealth(), record });
      try {
        const first = await m.runOnce();
        const main = first.failures.filter((f) => f.source.endsWith(":main"));
        expect(main.map((f) => [f.source, f.code])).toEqual([
          ["sqlite:main", "creditgate-db:SQLITE_FULL"],
          ["jsonl:main", WAITING_FOR_STORE],
        ]);
        // the store was read: what held the JSONL files back is the failure billing it
        const waiting = main[1]?.reason ?? "";
        expect(waiting).toContain("creditgate-db:SQLITE_FULL");
        expect(waiting).not.toContain("cannot be read");
        full = false;
        expect((await m.runOnce()).failures).toEqual([]);
      } finally {
        m.close();
      }
    },
    60_000,
  );

  it("a store that cannot be read: the waiting reason names the store's code", async () => {
    const w = importedWorld();
    const store = join(w.stateDir, "agents", "main", "agent", "openclaw-agent.sqlite");
    renameSync(store, `${store}.away`);
    writeFileSync(store, Buffer.alloc(8192, 0x41));
    const m = meterFor(w, { health: createSourceHealth() });
    try {
      const s = await m.runOnce();
      const waiting = s.failures.find((f) => f.code === WAITING_FOR_STORE);
      expect(waiting?.source).toBe("jsonl:main");
      expect(waiting?.reason).toContain("cannot be read");
      expect(waiting?.reason).toContain("SQLITE_NOTADB");
    } finally {
      m.close();
    }
  }, 60_000);

  it.each([
    ["no agent/ directory", "none"],
    ["agent/ is a file", "file"],
    ["no store file", "absent"],
    ["an empty file", "empty"],
    ["a dangling symlink", "dangling"],
    ["a database that is not OpenClaw's", "other"],
  ])(
    "an agent without a store (%s): its JSONL source is read, nothing waits",
    async (_name, how) => {
      const w = tempWorld();
      worlds.push(w);
      cpSync(join(CB_FIXTURE, "agents", "main", "sessions"), join(w.stateDir, "agents", "main", "sessions"), {
        recursive: true,
      });
      const agent = join(w.stateDir, "agents", "main", "agent");
      const store = join(agent, "openclaw-agent.sqlite");
      if (how === "none") rmSync(agent, { recursive: true });
      if (how === "file") {
        rmSync(agent, { recursive: true });
        writeFileSync(agent, "not a directory");
      }
      if (how === "empty") writeFileSync(store, "");
      if (how === "dangling") symlinkSync(join(agent, "gone.sqlite"), store);
      if (how === "other") {
        const d = new Database(store);
        d.exec("CREATE TABLE notes (x TEXT)");
        d.close();
      }
      const m = meterFor(w, { health: createSourceHealth() });
      try {
        const s = await m.runOnce();
        expect(s.failures).toEqual([]);
        expect(s.billed).toBeGreaterThan(0);
      } finally {
        m.close();
      }
    },
    60_000,
  );
});
