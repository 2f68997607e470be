// `SourceStats.rescans` (meter summary `rescans`, the warn log line, creditgate_meter_rescans_total)
// counts transcripts re-read from their start because they changed under the meter's cursor, and
// nothing else: not a first read, not an append or a rename, and a rescan whose batch failed and
// was read again on the next poll once. On the main thread and on the reader thread.
import {
  appendFileSync,
  linkSync,
  mkdirSync,
  renameSync,
  rmSync,
  statSync,
  truncateSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { createBiller } from "../../src/meter/biller.js";
import { createCursorRepo } from "../../src/meter/cursor-repo.js";
import { createSourceHealth } from "../../src/meter/health.js";
import type { MeterSummary } from "../../src/meter/meter.js";
import type { SourceBatch } from "../../src/meter/source.js";
import {
  assistantLine,
  createLedger,
  fixturePricer,
  meterFor,
  type TempWorld,
  tempWorld,
  writeJson,
} from "../support/meter-env.js";
import { ENGINES, testOn } from "../support/temp-db.js";

const worlds: TempWorld[] = [];
afterEach(() => {
  for (const w of worlds.splice(0)) w.cleanup();
});

const SID = "11111111-2222-4333-8444-555555555555";
const SID2 = "22222222-2222-4333-8444-555555555555";

const call = (ts: number, input = 100) => assistantLine(ts, input);

const header = (id: string) =>
  JSON.stringify({ type: "session", version: 3, id, timestamp: "2026-11-01T00:00:00.000Z", cwd: "/h" });

/** One agent, two sessions of two users, no session files yet. */
function world(): { w: TempWorld; dir: string } {
  const w = tempWorld();
  worlds.push(w);
  const dir = join(w.stateDir, "agents", "main", "sessions");
  mkdirSync(dir, { recursive: true });
  writeJson(join(dir, "sessions.json"), {
    "agent:main:telegram:direct:42": { sessionId: SID, lastChannel: "telegram" },
    "agent:main:telegram:direct:43": { sessionId: SID2, lastChannel: "telegram" },
  });
  return { w, dir };
}

describe.each([
  ["on the main thread", false],
  ["on the reader thread", true],
])("JSONL rescans, read %s", (_name, readerThread) => {
  /** One `meter --once`: its summary and its rescan warn lines. */
  async function once(
    w: TempWorld,
    extra: Parameters<typeof meterFor>[1] = {},
  ): Promise<{ s: MeterSummary; warned: unknown[] }> {
    const warned: unknown[] = [];
    const m = meterFor(w, {
      readerThread,
      health: createSourceHealth(),
      log: (level, msg, fields) => {
        if (level === "warn" && msg.startsWith("transcripts changed under")) warned.push(fields);
      },
      ...extra,
    });
    try {
      return { s: await m.runOnce(), warned };
    } finally {
      m.close();
    }
  }

  it("appends and a rename to .reset are not rescans", async () => {
    const { w, dir } = world();
    const file = join(dir, `${SID}.jsonl`);
    writeFileSync(file, `${header(SID)}\n${call(1_790_000_000_000)}\n`);
    expect((await once(w)).s).toMatchObject({ billed: 1, rescans: 0 });
    appendFileSync(file, `${call(1_790_000_001_000)}\n`);
    expect((await once(w)).s).toMatchObject({ billed: 1, rescans: 0 });
    appendFileSync(file, `${call(1_790_000_002_000)}\n`);
    renameSync(file, `${file}.reset.2026-11-02T00-00-00.000Z`);
    const r = await once(w);
    expect(r.s).toMatchObject({ billed: 1, duplicates: 0, rescans: 0 });
    expect(r.warned).toEqual([]);
  });

  it("a new session file on the inode of a deleted one (ext4 reuses inode numbers at once) is a first read, not a rescan", async () => {
    const { w, dir } = world();
    const old = join(dir, `${SID}.jsonl`);
    writeFileSync(old, `${header(SID)}\n${call(1_790_000_000_000)}\n${call(1_790_000_001_000)}\n`);
    expect((await once(w)).s.billed).toBe(2);
    rmSync(old); // OpenClaw deleted it (or compressed its .reset copy to .zst and removed it)
    const file = join(dir, `${SID2}.jsonl`);
    writeFileSync(file, `${header(SID2)}\n${call(1_790_000_009_000)}\n`);
    const st = statSync(file);
    // Where the new file did not get the freed inode, put the deleted file's cursor on its inode:
    // what the meter's database holds when it did.
    w.db
      .prepare("UPDATE meter_file_cursors SET dev = ?, ino = ? WHERE path = ?")
      .run(String(st.dev), String(st.ino), old);
    const r = await once(w);
    expect(r.s).toMatchObject({ billed: 1, duplicates: 0, rescans: 0 });
    expect(r.warned).toEqual([]);
  });

  it("a session file replaced under its name by a rewritten copy (a new inode): one rescan", async () => {
    const { w, dir } = world();
    const file = join(dir, `${SID}.jsonl`);
    const lines = `${header(SID)}\n${call(1_790_000_000_000)}\n${call(1_790_000_001_000)}\n`;
    writeFileSync(file, lines);
    expect((await once(w)).s).toMatchObject({ billed: 2, rescans: 0 });
    // a repair: the whole transcript written to a temp file, one more call, renamed over the name
    const tmp = `${file}.tmp`;
    writeFileSync(tmp, `${lines}${call(1_790_000_002_000)}\n`);
    const before = statSync(file).ino;
    renameSync(tmp, file);
    expect(statSync(file).ino).not.toBe(before);
    const r = await once(w);
    expect(r.s).toMatchObject({ billed: 1, duplicates: 2, rescans: 1 });
    expect(r.warned).toHaveLength(1);
    expect((await once(w)).s).toMatchObject({ billed: 0, rescans: 0 });
  });

  it("another transcript under the name of a deleted one (a new first line) is a first read", async () => {
    const { w, dir } = world();
    const file = join(dir, `${SID}.jsonl`);
    writeFileSync(file, `${header(SID)}\n${call(1_790_000_000_000)}\n`);
    expect((await once(w)).s.billed).toBe(1);
    const other = JSON.stringify({
      type: "session",
      version: 3,
      id: SID,
      timestamp: "2026-11-05T00:00:00.000Z",
      cwd: "/h",
    });
    const tmp = `${file}.tmp`;
    writeFileSync(tmp, `${other}\n${call(1_790_000_009_000)}\n`);
    renameSync(tmp, file);
    const r = await once(w);
    expect(r.s).toMatchObject({ billed: 1, duplicates: 0, rescans: 0 });
    expect(r.warned).toEqual([]);
  });

  it("another transcript under the name, then a rewritten copy of it: the name's newest cursor decides", async () => {
    const { w, dir } = world();
    const file = join(dir, `${SID}.jsonl`);
    writeFileSync(file, `${header(SID)}\n${call(1_790_000_000_000)}\n`);
    expect((await once(w)).s.billed).toBe(1);
    const other = JSON.stringify({
      type: "session",
      version: 3,
      id: SID,
      timestamp: "2026-11-05T00:00:00.000Z",
    });
    const lines = `${other}\n${call(1_790_000_009_000)}\n`;
    writeFileSync(`${file}.tmp`, lines);
    renameSync(`${file}.tmp`, file);
    expect((await once(w)).s).toMatchObject({ billed: 1, rescans: 0 });
    // both inodes' cursors name the file; the second one's first line is the copy's
    writeFileSync(`${file}.tmp`, `${lines}${call(1_790_000_010_000)}\n`);
    renameSync(`${file}.tmp`, file);
    expect((await once(w)).s).toMatchObject({ billed: 1, duplicates: 1, rescans: 1 });
  });

  it("a copy of a read transcript under another name (a new inode, the same first line) is a first read", async () => {
    const { w, dir } = world();
    const file = join(dir, `${SID}.jsonl`);
    const lines = `${header(SID)}\n${call(1_790_000_000_000)}\n`;
    writeFileSync(file, lines);
    expect((await once(w)).s.billed).toBe(1);
    // copied (not renamed) to a .deleted name, the original removed: the copy's name has no cursor
    writeFileSync(`${file}.deleted.2026-11-02T00-00-00.000Z`, lines);
    rmSync(file);
    const r = await once(w);
    expect(r.s).toMatchObject({ billed: 0, duplicates: 1, rescans: 0 });
    expect(r.warned).toEqual([]);
  });

  it("a file rewritten shorter under one of its two names (a hard link): one rescan", async () => {
    const { w, dir } = world();
    const file = join(dir, `${SID}.jsonl`);
    writeFileSync(file, `${header(SID)}\n${call(1_790_000_000_000)}\n${call(1_790_000_001_000)}\n`);
    linkSync(file, join(dir, `2026-11-01T00-00-00.000Z_${SID}.jsonl`));
    expect((await once(w)).s.billed).toBe(2);
    writeFileSync(file, `${header(SID)}\n${call(1_790_000_000_000)}\n`);
    const r = await once(w);
    expect(r.s).toMatchObject({ billed: 0, duplicates: 1, rescans: 1 });
    expect(r.warned).toEqual([{ source: "jsonl:main", transcripts: 1 }]);
    expect((await once(w)).s.rescans).toBe(0);
  });

  it("a rescan whose batch failed to bill is counted once, on the poll that bills it", async () => {
    const { w, dir } = world();
    const file = join(dir, `${SID}.jsonl`);
    writeFileSync(file, `${header(SID)}\n${call(1_790_000_000_000)}\n${call(1_790_000_001_000)}\n`);
    expect((await once(w)).s.billed).toBe(2);
    truncateSync(file, 0);
    writeFileSync(file, `${header(SID)}\n${call(1_790_000_000_000)}\n${call(1_790_000_005_000)}\n`);
    const biller = createBiller(w.db, createLedger(w.db), {
      pricer: fixturePricer(),
      markup: { num: 1n, den: 1n },
      creditsPerUsd: { num: 1n, den: 1n },
    });
    let fail = true;
    const record = (b: SourceBatch) => {
      if (fail) throw Object.assign(new Error("disk I/O error"), { code: "SQLITE_IOERR" });
      const r = biller.bill(b);
      return { recorded: r.billed, duplicates: r.duplicates };
    };
    const failed = await once(w, { record });
    expect(failed.s.failures.map((f) => f.code)).toEqual(["creditgate-db:SQLITE_IOERR"]);
    expect(failed.s.rescans).toBe(0);
    expect(failed.warned).toEqual([]);
    fail = false;
    const retried = await once(w, { record });
    expect(retried.s).toMatchObject({ billed: 1, duplicates: 1, rescans: 1, failures: [] });
    expect((await once(w, { record })).s.rescans).toBe(0);
  });
});

// The name's last cursor is looked up per new inode in the path index (migration 37), never by
// a scan of meter_file_cursors, which keeps a cursor for every file ever read (a scan and sort
// of 200k cursors took ~1.5 s per poll that met a new session file).
describe.each(ENGINES)("the last cursor of a name, %s", (engine) => {
  const test = testOn(engine);
  test("is the one written last, found through the path index", ({ db }) => {
    const put = db.prepare(
      "INSERT INTO meter_file_cursors (dev, ino, path, head_sha256, tail_sha256, offset_bytes, size_bytes, updated_at_ms) VALUES (?, ?, ?, ?, NULL, ?, ?, ?)",
    );
    put.run("1", "10", "/s/a.jsonl", "h1", 5, 5, 100);
    put.run("1", "12", "/s/a.jsonl", "h3", 9, 9, 300);
    put.run("1", "11", "/s/a.jsonl", "h2", 7, 7, 200);
    put.run("1", "13", "/s/b.jsonl", "h4", 1, 1, 400);
    const repo = createCursorRepo(db);
    expect(repo.lastFileCursorAt("/s/a.jsonl")).toEqual({
      dev: "1",
      ino: "12",
      path: "/s/a.jsonl",
      head: "h3",
      tail: null,
      offset: 9,
      size: 9,
    });
    expect(repo.lastFileCursorAt("/s/c.jsonl")).toBeNull();
    if (engine === "sqlite") {
      const plan = db
        .prepare(
          "EXPLAIN QUERY PLAN SELECT * FROM meter_file_cursors WHERE path = ? ORDER BY updated_at_ms DESC LIMIT 1",
        )
        .all("/s/a.jsonl") as { detail: string }[];
      expect(plan.map((p) => p.detail).join("; ")).toMatch(/USING INDEX meter_file_cursors_path/);
      expect(plan.map((p) => p.detail).join("; ")).not.toMatch(/TEMP B-TREE/);
    } else {
      expect(
        db
          .prepare(
            "SELECT indexdef FROM pg_indexes WHERE indexname = 'meter_file_cursors_path' AND schemaname = current_schema()",
          )
          .pluck()
          .get(),
      ).toMatch(/\(path, updated_at_ms\)/);
    }
  });
});
