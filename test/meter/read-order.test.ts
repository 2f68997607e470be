import {
  appendFileSync,
  copyFileSync,
  linkSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { basename, dirname, join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { synthState } from "../../scripts/synth-state.mjs";
import { openDatabase } from "../../src/db/index.js";
import { createJsonlReader } from "../../src/meter/sources/jsonl-reader.js";
import { synthBiller, synthMeter } from "../support/meter-env.js";

let dir: string | undefined;
afterEach(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

describe("a backlog is read grouped by account", () => {
  it("reads unattributed files last: a call also in an attributed copy is billed to its user", async () => {
    dir = mkdtempSync(join(tmpdir(), "cg-read-order-"));
    const stateDir = join(dir, "state");
    const world = synthState({
      stateDir,
      agents: 1,
      sessions: 1,
      turns: 3,
      users: 1,
      toolBytes: 50,
      seed: 5,
    });
    // a copy of the session under an id no sessions.json entry names (an archived name: no grace
    // period), whose name sorts before the attributed original
    const sessions = join(stateDir, "agents", "main", "sessions");
    const original = readdirSync(sessions).find((n) => n.endsWith(".jsonl")) as string;
    const copy = "00000000-0000-4000-8000-000000000000.jsonl.deleted.2026-11-01T00-00-00.000Z";
    expect(copy < original).toBe(true);
    copyFileSync(join(sessions, original), join(sessions, copy));
    const db = openDatabase(join(dir, "db.sqlite"));
    try {
      await synthMeter(db, stateDir, 2000).runOnce();
      const rows = db.prepare("SELECT account_id AS a FROM usage_events").all() as { a: string }[];
      expect(rows.length).toBe(world.events);
      expect(new Set(rows.map((r) => r.a))).toEqual(new Set(["telegram:100000"]));
    } finally {
      db.close();
    }
  });

  it("reads each account's session files one after another, in name order within the account", async () => {
    dir = mkdtempSync(join(tmpdir(), "cg-read-order-"));
    const stateDir = join(dir, "state");
    // 24 sessions of 4 users: session file names (random UUIDs) interleave the users
    const world = synthState({
      stateDir,
      agents: 1,
      sessions: 24,
      turns: 3,
      users: 4,
      toolBytes: 100,
      seed: 7,
    });
    const db = openDatabase(join(dir, "db.sqlite"));
    try {
      // many batches: the biller groups by account only within one
      await synthMeter(db, stateDir, 5).runOnce();
      const rows = db
        .prepare("SELECT account_id AS a, session_id AS s, source_ref AS r FROM usage_events ORDER BY id")
        .all() as { a: string; s: string; r: string }[];
      expect(rows.length).toBe(world.events);
      // the accounts come in runs: one run per account
      const runs = rows.filter((row, i) => i === 0 || rows[i - 1]?.a !== row.a).map((row) => row.a);
      const accounts = [...new Set(rows.map((row) => row.a))];
      expect(accounts.length).toBeGreaterThan(1);
      expect(runs).toEqual([...accounts].sort());
      // within an account, files in name order (each file's calls together, in file order)
      for (const a of accounts) {
        const files = rows.filter((row) => row.a === a).map((row) => row.r.slice(0, row.r.lastIndexOf("@")));
        const fileRuns = files.filter((f, i) => i === 0 || files[i - 1] !== f);
        expect(fileRuns).toEqual([...new Set(files)].sort());
      }
      // and the name order alone would have interleaved the accounts (the test means something)
      const names = [...new Set(rows.map((row) => row.r.slice(0, row.r.lastIndexOf("@"))))].sort();
      const accountOfFile = new Map(rows.map((row) => [row.r.slice(0, row.r.lastIndexOf("@")), row.a]));
      const nameRuns = names.filter(
        (f, i) => i === 0 || accountOfFile.get(names[i - 1] as string) !== accountOfFile.get(f),
      );
      expect(nameRuns.length).toBeGreaterThan(accounts.length);
    } finally {
      db.close();
    }
  });
});

describe("a session's copies are billed to its account whatever the read order", () => {
  it("a branch copy the doctor moved to the import archive is the session's, not the operator's", async () => {
    dir = mkdtempSync(join(tmpdir(), "cg-read-order-"));
    const stateDir = join(dir, "state");
    const world = synthState({
      stateDir,
      agents: 1,
      sessions: 1,
      turns: 3,
      users: 1,
      toolBytes: 50,
      seed: 3,
    });
    const live = world.sessions[0]?.file as string;
    const sessionId = basename(live, ".jsonl");
    // pi's branch copy `<ISO with - for : and .>_<sessionId>.jsonl`, one call more than the live
    // file, moved by `openclaw doctor` (no sessions.json entry names it) to the import archive
    const extra = readFileSync(live, "utf8")
      .trimEnd()
      .split("\n")
      .filter((l) => l.includes('"usage"'))
      .at(-1)
      ?.replace(/"timestamp":(\d+)/g, (_m, t: string) => `"timestamp":${Number(t) + 60_000}`)
      .replace('"responseId":"', '"responseId":"next-'); // another call: another provider response
    const archive = join(stateDir, "agents", "main", "session-sqlite-import-archive");
    mkdirSync(archive);
    writeFileSync(
      join(archive, `archive-tier.2026-11-20T10-11-12-345Z_${sessionId}.jsonl.imported-1795400000000`),
      `${readFileSync(live, "utf8")}${extra}\n`,
    );
    const db = openDatabase(join(dir, "db.sqlite"));
    try {
      const meter = synthMeter(db, stateDir, 5);
      await meter.runOnce();
      meter.close();
      const rows = db
        .prepare("SELECT account_id AS a, session_id AS s, COUNT(*) AS n FROM usage_events GROUP BY 1, 2")
        .all();
      expect(rows).toEqual([{ a: world.sessions[0]?.account, s: sessionId, n: world.events + 1 }]);
    } finally {
      db.close();
    }
  });
});

describe("files that change between the stat pass and their read (read later, grouped by account)", () => {
  it.each([
    ["replaced by a longer copy (rename over)"],
    ["grown"],
    ["truncated and rewritten"],
    ["renamed to its .reset. archive name"],
    ["hard-linked under its branch-copy name"],
  ])("%s: every call in the files is billed once, to its session's account", async (what) => {
    dir = mkdtempSync(join(tmpdir(), "cg-read-order-"));
    const stateDir = join(dir, "state");
    const world = synthState({
      stateDir,
      agents: 1,
      sessions: 16,
      turns: 3,
      users: 4,
      toolBytes: 50,
      seed: 9,
    });
    const accountOf = new Map(world.sessions.map((s) => [basename(s.file, ".jsonl"), s.account]));
    const db = openDatabase(join(dir, "db.sqlite"));
    const biller = synthBiller(db);
    // the last account's files are stat'ed first and read last
    const last = [...world.sessions].sort((a, b) => (a.account < b.account ? -1 : 1)).at(-1)?.file as string;
    const more = (from: string, shift: number) =>
      readFileSync(from, "utf8")
        .split("\n")
        .filter((l) => l.includes('"usage"'))
        .map((l) =>
          l
            .replace(/"timestamp":(\d+)/g, (_m, t: string) => `"timestamp":${Number(t) + shift}`)
            .replace('"responseId":"', `"responseId":"${shift}-`),
        )
        .join("\n");
    const mutate = () => {
      const sessions = dirname(last);
      if (what.startsWith("replaced")) {
        writeFileSync(`${last}.tmp`, `${readFileSync(last, "utf8")}${more(last, 1e9)}\n`);
        renameSync(`${last}.tmp`, last);
      } else if (what === "grown") appendFileSync(last, `${more(last, 1e9)}\n`);
      else if (what.startsWith("truncated")) {
        const head = readFileSync(last, "utf8").split("\n")[0];
        writeFileSync(last, `${head}\n${more(last, 2e9)}\n`); // same first line, other calls
      } else if (what.startsWith("renamed"))
        renameSync(last, join(sessions, `${basename(last)}.reset.2026-11-20T10-11-12.345Z`));
      else linkSync(last, join(sessions, `2026-11-20T10-11-12-345Z_${basename(last)}`));
    };
    const reader = createJsonlReader(
      { agentDir: join(stateDir, "agents", "main"), agentId: "main", batchSize: 4 },
      db,
    );
    try {
      let emits = 0;
      for (let poll = 0; poll < 3; poll++)
        await reader.poll((batch, id) => {
          if (poll === 0 && ++emits === 1) mutate();
          biller.bill(batch);
          reader.committed(id);
        });
      // what the files hold now, plus what was billed before a truncation dropped it
      const sessionsDir = join(stateDir, "agents", "main", "sessions");
      const want = new Map<number, string>();
      for (const n of readdirSync(sessionsDir)) {
        if (n === "sessions.json") continue;
        const id = /([0-9a-f-]{36})\.jsonl/.exec(n)?.[1] as string;
        for (const l of readFileSync(join(sessionsDir, n), "utf8").split("\n"))
          if (l.includes('"usage"')) want.set(JSON.parse(l).message.timestamp, accountOf.get(id) as string);
      }
      const got = db.prepare("SELECT message_ts_ms AS t, account_id AS a FROM usage_events").all() as {
        t: number;
        a: string;
      }[];
      for (const [t, a] of want) expect(got.find((g) => g.t === t)?.a, `call at ${t}`).toBe(a);
      const extra = got.filter((g) => !want.has(g.t));
      // only a truncation may leave billed calls that no file holds any more (billed before it)
      if (!what.startsWith("truncated")) expect(extra).toEqual([]);
      expect(new Set(got.map((g) => g.t)).size).toBe(got.length);
    } finally {
      db.close();
    }
  });
});
