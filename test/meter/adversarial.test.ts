import {
  appendFileSync,
  copyFileSync,
  mkdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  truncateSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import {
  CB_FIXTURE,
  meterFor,
  type TempWorld,
  tempWorld,
  totalsBy,
  writeJson,
} from "../support/meter-env.js";
import { zstdStore } from "../support/zstd.js";

let w: TempWorld | undefined;
afterEach(() => {
  w?.cleanup();
  w = undefined;
});

const SID = "11111111-2222-4333-8444-555555555555";

function assistant(ts: number, input: number, opts: { id?: string; output?: number } = {}): string {
  return JSON.stringify({
    type: "message",
    id: opts.id ?? `a${ts.toString(16).slice(-7)}`,
    parentId: null,
    timestamp: new Date(ts + 5).toISOString(),
    message: {
      role: "assistant",
      content: [{ type: "text", text: "ok" }],
      api: "openai-completions",
      provider: "mock",
      model: "mock-gpt",
      usage: {
        input,
        output: opts.output ?? 10,
        cacheRead: 0,
        cacheWrite: 0,
        totalTokens: input + (opts.output ?? 10),
      },
      stopReason: "stop",
      timestamp: ts,
    },
  });
}

const header = (id = SID) =>
  JSON.stringify({
    type: "session",
    version: 3,
    id,
    timestamp: "2026-11-01T00:00:00.000Z",
    cwd: "/home/bot",
  });

/** A world with one agent and one session of user telegram:42. */
function world(): { w: TempWorld; file: string; dir: string } {
  const tw = tempWorld();
  const dir = join(tw.stateDir, "agents", "main", "sessions");
  mkdirSync(dir, { recursive: true });
  writeJson(join(dir, "sessions.json"), {
    "agent:main:telegram:direct:42": { sessionId: SID, lastChannel: "telegram" },
  });
  const file = join(dir, `${SID}.jsonl`);
  writeFileSync(file, `${header()}\n`);
  w = tw;
  return { w: tw, file, dir };
}

async function once(tw: TempWorld) {
  const m = meterFor(tw);
  try {
    return await m.runOnce();
  } finally {
    m.close();
  }
}

const userInput = (tw: TempWorld) => totalsBy(tw.db, "account_id").get("telegram:42")?.input ?? 0;

describe("adversarial transcript files", () => {
  it("holds back a partial last line until it is a complete entry, then bills it once", async () => {
    const { w, file } = world();
    const line = assistant(1_790_000_000_000, 100);
    appendFileSync(file, line.slice(0, 50));
    expect((await once(w)).billed).toBe(0);
    appendFileSync(file, line.slice(50, -1));
    expect((await once(w)).billed).toBe(0); // one byte short: not a whole object yet
    // complete without its newline: a line (since 2026-12-04, case live-last-line-unterminated)
    appendFileSync(file, line.slice(-1));
    expect((await once(w)).billed).toBe(1);
    appendFileSync(file, "\n");
    expect((await once(w)).billed).toBe(0);
    expect((await once(w)).billed).toBe(0);
    expect(userInput(w)).toBe(100);
  });

  it("re-reads a truncated file from the start without billing anything twice", async () => {
    const { w, file } = world();
    appendFileSync(file, `${assistant(1_790_000_000_000, 100)}\n${assistant(1_790_000_001_000, 200)}\n`);
    expect((await once(w)).billed).toBe(2);
    truncateSync(file, statSync(file).size - 10);
    // the writer rewrites it shorter, then appends a new call
    writeFileSync(file, `${header()}\n${assistant(1_790_000_000_000, 100)}\n`);
    appendFileSync(file, `${assistant(1_790_000_002_000, 300)}\n`);
    const s = await once(w);
    expect(s.billed).toBe(1);
    expect(s.duplicates).toBe(1);
    expect(s.rescans).toBe(1); // counted: meter summary, log line, creditgate_meter_rescans_total
    expect(userInput(w)).toBe(600);
    expect((await once(w)).rescans).toBe(0);
  });

  it("follows a rename to .reset by inode and finishes its unread lines once", async () => {
    const { w, file, dir } = world();
    appendFileSync(file, `${assistant(1_790_000_000_000, 100)}\n`);
    await once(w);
    appendFileSync(file, `${assistant(1_790_000_001_000, 200)}\n`);
    const renamed = join(dir, `${SID}.jsonl.reset.2026-11-01T00-10-00.000Z`);
    renameSync(file, renamed);
    // sessions.json now points the key at a new session: the old id is remembered
    writeJson(join(dir, "sessions.json"), {
      "agent:main:telegram:direct:42": {
        sessionId: "99999999-2222-4333-8444-555555555555",
        lastChannel: "telegram",
      },
    });
    const s = await once(w);
    expect(s.billed).toBe(1);
    expect(s.duplicates).toBe(0);
    expect(userInput(w)).toBe(300);
  });

  it("does not bill re-appended messages of a rewritten transcript (new ids, same message)", async () => {
    const { w, file } = world();
    const a = assistant(1_790_000_000_000, 100, { id: "aaaa0001" });
    appendFileSync(file, `${a}\n`);
    await once(w);
    const reappended = assistant(1_790_000_000_000, 100, { id: "bbbb0002" });
    appendFileSync(file, `${reappended}\n`);
    const s = await once(w);
    expect(s.billed).toBe(0);
    expect(s.duplicates).toBe(1);
    expect(userInput(w)).toBe(100);
  });

  it("skips a checkpoint name without a UUID, bills branch copies and repair backups only through dedupe", async () => {
    const { w, file, dir } = world();
    appendFileSync(file, `${assistant(1_790_000_000_000, 100)}\n`);
    copyFileSync(file, join(dir, `${SID}.checkpoint.0a1b2c3d.jsonl`));
    copyFileSync(file, join(dir, `2026-11-01T00-00-00-000Z_${SID}.jsonl`));
    copyFileSync(file, join(dir, `${SID}.jsonl.bak-123-456`));
    copyFileSync(file, join(dir, `${SID}.trajectory.jsonl`));
    const s = await once(w);
    expect(s.billed).toBe(1);
    expect(s.duplicates).toBe(2); // the branch copy and the repair backup (compaction-backups.test.ts)
    expect(userInput(w)).toBe(100);
  });

  it("re-reads a repaired file (new inode at the same path) through dedupe", async () => {
    const { w, file } = world();
    appendFileSync(file, `${assistant(1_790_000_000_000, 100)}\n`);
    await once(w);
    const tmp = `${file}.tmp`;
    writeFileSync(tmp, `${readFileSync(file, "utf8")}${assistant(1_790_000_001_000, 50)}\n`);
    renameSync(tmp, file);
    const s = await once(w);
    expect(s.billed).toBe(1);
    expect(s.duplicates).toBe(1);
    expect(userInput(w)).toBe(150);
  });

  it("counts malformed lines, a 10 MB line and binary garbage, and bills the valid lines around them", async () => {
    const { w, file } = world();
    const big = JSON.stringify({
      type: "message",
      id: "big00001",
      message: { role: "toolResult", content: [{ type: "text", text: "x".repeat(10 * 1024 * 1024) }] },
    });
    const garbage = Buffer.from(
      Array.from({ length: 4096 }, (_, i) => (i * 7919) % 256).filter((b) => b !== 10),
    );
    appendFileSync(file, `${assistant(1_790_000_000_000, 100)}\n`);
    appendFileSync(file, '{"type":"message","message":{"role":"assistant","usage":{"input":"lots"\n');
    appendFileSync(file, `${big}\n`);
    appendFileSync(file, Buffer.concat([garbage, Buffer.from("\n")]));
    appendFileSync(
      file,
      `{"type":"message","message":{"role":"assistant","provider":"mock","model":"mock-gpt","usage":{"input":1e300}}}\n`, // past 2^53: held (a fraction is billed rounded since 2026-12-03)
    );
    appendFileSync(file, `${assistant(1_790_000_001_000, 200)}\n`);
    const s = await once(w);
    expect(s.billed).toBe(2);
    // the count past 2^53 is a call held for review (since 2026-12-03; was malformed)
    expect(s.malformed).toBe(2);
    expect(s.held).toBe(1);
    expect(userInput(w)).toBe(300);
    const rejects = w.db.prepare("SELECT source_ref, reason FROM meter_rejects").all() as {
      source_ref: string;
    }[];
    expect(rejects).toHaveLength(2);
    expect(rejects.every((r) => r.source_ref.startsWith(file))).toBe(true);
    expect((await once(w)).malformed).toBe(0); // never re-counted
  });

  it("bills the same call once when it appears both as a live file and as an archive copy", async () => {
    const { w, file, dir } = world();
    appendFileSync(file, `${assistant(1_790_000_000_000, 100)}\n`);
    copyFileSync(file, join(dir, `${SID}.jsonl.deleted.2026-11-01T00-00-00.000Z`));
    const s = await once(w);
    expect(s.billed).toBe(1);
    expect(s.duplicates).toBe(1);
  });

  it("skips OpenClaw's synthetic delivery-mirror lines and zero-usage error lines", async () => {
    const { w, file } = world();
    const mirror = JSON.parse(assistant(1_790_000_000_000, 100)) as { message: Record<string, unknown> };
    mirror.message.provider = "openclaw";
    mirror.message.model = "delivery-mirror";
    const err = JSON.parse(assistant(1_790_000_001_000, 0, { output: 0 })) as {
      message: Record<string, unknown>;
    };
    err.message.stopReason = "error";
    err.message.errorMessage = "500 upstream";
    appendFileSync(file, `${JSON.stringify(mirror)}\n${JSON.stringify(err)}\n`);
    const s = await once(w);
    expect(s.billed).toBe(0);
    expect(s.synthetic).toBe(1);
    expect(s.zeroUsage).toBe(1);
  });
});

describe("following", () => {
  it("debits a new line, a new file and a new agent while running, without a restart", async () => {
    const { w, file } = world();
    const m = meterFor(w, { pollMs: 50, unknownSessionGraceMs: 0 });
    const ac = new AbortController();
    const running = m.follow(ac.signal);
    const until = async (pred: () => boolean) => {
      for (let i = 0; i < 200 && !pred(); i++) await new Promise((r) => setTimeout(r, 25));
      expect(pred()).toBe(true);
    };
    appendFileSync(file, `${assistant(1_790_000_000_000, 100)}\n`);
    await until(() => userInput(w) === 100);
    const other = join(w.stateDir, "agents", "support", "sessions");
    mkdirSync(other, { recursive: true });
    writeJson(join(other, "sessions.json"), {
      "agent:support:whatsapp:direct:+34600000000": { sessionId: "s2", lastChannel: "whatsapp" },
    });
    writeFileSync(join(other, "s2.jsonl"), `${header("s2")}\n${assistant(1_790_000_005_000, 70)}\n`);
    await until(() => (totalsBy(w.db, "account_id").get("whatsapp:+34600000000")?.input ?? 0) === 70);
    ac.abort();
    const total = await running;
    m.close();
    expect(total.billed).toBe(2);
  });
});

void CB_FIXTURE;

describe("compressed archives without an OpenClaw SQLite store", () => {
  it("reads .jsonl.deleted.*.zst and cold/*.jsonl.zst once, attributed by session memory", async () => {
    const { w, file, dir } = world();
    appendFileSync(file, `${assistant(1_790_000_000_000, 100)}\n`);
    expect((await once(w)).billed).toBe(1);
    // the session is deleted: its transcript is compressed into an archive (repeating the billed
    // call plus one the meter had not read yet) and the key disappears from sessions.json
    const content = Buffer.from(`${readFileSync(file, "utf8")}${assistant(1_790_000_001_000, 200)}\n`);
    writeFileSync(
      join(dir, `${SID}.jsonl.deleted.2026-11-01T00-00-00.000Z.0123456789abcdef.zst`),
      zstdStore(content),
    );
    rmSync(file);
    writeJson(join(dir, "sessions.json"), {});
    mkdirSync(join(dir, "cold"));
    const other = "22222222-2222-4333-8444-555555555555";
    writeFileSync(
      join(dir, "cold", "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08.jsonl.zst"),
      zstdStore(Buffer.from(`${header(other)}\n${assistant(1_790_000_002_000, 300)}\n`)),
    );
    const s = await once(w);
    expect(s.billed).toBe(2);
    expect(s.duplicates).toBe(1);
    expect(userInput(w)).toBe(300);
    expect(totalsBy(w.db, "account_id").get("agent:main")?.input).toBe(300); // unknown session: the agent
    expect((await once(w)).billed).toBe(0);
  });
});
