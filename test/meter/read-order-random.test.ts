// Random state dirs changed between and during polls, read with up to 4 batches unacknowledged
// (as the reader thread does): every call the files hold is billed once, to its session's account,
// whatever order the reader takes the files in (9b9d8f2 reads them grouped by account).
import {
  appendFileSync,
  copyFileSync,
  existsSync,
  linkSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  utimesSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { SYNTH_PRICES } from "../../scripts/synth-state.mjs";
import { createLedger } from "../../src/credits/index.js";
import { type Db, openDatabase } from "../../src/db/index.js";
import { createBiller } from "../../src/meter/biller.js";
import { createPricer, loadPriceOverrides } from "../../src/meter/pricing.js";
import type { SourceBatch } from "../../src/meter/source.js";
import { createJsonlReader, type JsonlReader } from "../../src/meter/sources/jsonl-reader.js";

function rng(seed: number) {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 4294967296;
  };
}

interface Session {
  id: string;
  account: string;
  path: string | null; // the live name, null once archived or moved
  partial: string | null; // the first half of a call line written without its newline
}

/** A state dir and random changes to it that keep every call line written (no truncation). */
function randomWorld(seed: number, dir: string) {
  const r = rng(seed);
  const pick = <T>(a: readonly T[]): T => a[Math.floor(r() * a.length)] as T;
  const agentDir = join(dir, "state", "agents", "main");
  const sessionsDir = join(agentDir, "sessions");
  const importDir = join(agentDir, "session-sqlite-import-archive");
  mkdirSync(sessionsDir, { recursive: true });
  const sessions: Session[] = [];
  const index: Record<string, { sessionId: string; lastChannel: string; spawnedBy?: string }> = {};
  const userKeys: [string, string][] = []; // key, account
  /** message timestamp → account of the session that made the call */
  const accountOfCall = new Map<number, string>();
  const calls: { line: string; account: string }[] = [];
  let ts = 1_790_000_000_000;
  let n = 0;
  const callLine = (account: string, id = `m${n++}`) => {
    ts += 1 + Math.floor(r() * 5000);
    const usage = {
      input: 1 + Math.floor(r() * 20000),
      output: 1 + Math.floor(r() * 800),
      cacheRead: 0,
      cacheWrite: 0,
    };
    const line = JSON.stringify({
      type: "message",
      id,
      message: {
        role: "assistant",
        content: [{ type: "text", text: "ok" }],
        provider: "mock",
        model: "mock-gpt",
        usage: { ...usage, totalTokens: usage.input + usage.output },
        stopReason: "stop",
        timestamp: ts,
      },
    });
    accountOfCall.set(ts, account);
    calls.push({ line, account });
    return line;
  };
  const writeIndex = () => writeFileSync(join(sessionsDir, "sessions.json"), JSON.stringify(index));
  const files = () => [
    ...readdirSync(sessionsDir)
      .filter((f) => f.includes(".jsonl"))
      .map((f) => join(sessionsDir, f)),
    ...(existsSync(importDir) ? readdirSync(importDir).map((f) => join(importDir, f)) : []),
  ];
  const sessionOf = (path: string) => sessions.find((s) => path.includes(s.id));
  const ops: [number, () => void][] = [
    [
      5,
      function newSession() {
        const id = `${Math.floor(r() * 0xffffffff)
          .toString(16)
          .padStart(8, "0")}-0000-4000-a000-${String(n++).padStart(12, "0")}`;
        const x = r();
        let account = "agent:main";
        if (x < 0.15) {
          // not in sessions.json: the operator's
        } else if (x < 0.25) index["agent:main:main"] = { sessionId: id, lastChannel: "telegram" };
        else if (x < 0.4 && userKeys.length > 0) {
          const [parent, parentAccount] = pick(userKeys);
          index[`agent:main:subagent:${n++}`] = { sessionId: id, lastChannel: "telegram", spawnedBy: parent };
          account = parentAccount;
        } else {
          const peer = pick(["100", "101", "102", "103"]);
          const key = `agent:main:telegram:acct${n++}:direct:${peer}`;
          index[key] = { sessionId: id, lastChannel: "telegram" };
          account = `telegram:${peer}`;
          userKeys.push([key, account]);
        }
        const s: Session = { id, account, path: join(sessionsDir, `${id}.jsonl`), partial: null };
        sessions.push(s);
        const lines = [JSON.stringify({ type: "session", version: 3, id })];
        for (let i = Math.floor(r() * 6); i > 0; i--) lines.push(callLine(account));
        writeFileSync(s.path as string, `${lines.join("\n")}\n`);
        writeIndex();
      },
    ],
    [
      8,
      function append() {
        const live = sessions.filter((s) => s.path);
        if (live.length === 0) return;
        const s = pick(live);
        let out = s.partial === null ? "" : `${s.partial.slice(Math.floor(s.partial.length / 2))}\n`;
        s.partial = null;
        for (let i = 1 + Math.floor(r() * 4); i > 0; i--) out += `${callLine(s.account)}\n`;
        // a call from another session of the same account (a repeat: billed once)
        const same = calls.filter((c) => c.account === s.account);
        if (r() < 0.2 && same.length > 0) out += `${pick(same).line}\n`;
        if (r() < 0.3) {
          s.partial = callLine(s.account);
          out += s.partial.slice(0, Math.floor(s.partial.length / 2));
        }
        appendFileSync(s.path as string, out);
      },
    ],
    [
      1.5,
      function archive() {
        const live = sessions.filter((s) => s.path && s.partial === null);
        if (live.length === 0) return;
        const s = pick(live);
        renameSync(
          s.path as string,
          `${s.path}.${r() < 0.5 ? "reset" : "deleted"}.2026-11-2${Math.floor(r() * 10)}T10-11-12.${n++}Z`,
        );
        s.path = null;
      },
    ],
    [
      1.5,
      function secondName() {
        const all = files();
        if (all.length === 0) return;
        const from = pick(all);
        const s = sessionOf(from);
        if (!s) return;
        const x = r();
        let to: string;
        if (x < 0.3)
          to = join(sessionsDir, `2026-11-0${1 + Math.floor(r() * 9)}T10-11-12-345Z_${s.id}.jsonl`);
        else if (x < 0.5) to = join(sessionsDir, `${s.id}-topic-${n++}.jsonl`);
        else if (x < 0.7) to = join(sessionsDir, `${s.id}.jsonl.reset.2026-11-20T10-11-${n++}.000Z`);
        else {
          mkdirSync(importDir, { recursive: true });
          const name =
            r() < 0.5 ? `${s.id}.jsonl` : `2026-11-0${1 + Math.floor(r() * 9)}T10-11-12-345Z_${s.id}.jsonl`;
          to = join(importDir, `archive-tier.${name}.imported-${n++}`);
        }
        if (existsSync(to)) return;
        if (r() < 0.5) linkSync(from, to);
        else copyFileSync(from, to);
      },
    ],
    [
      1,
      function importMove() {
        const live = sessions.filter((s) => s.path);
        if (live.length === 0) return;
        const s = pick(live);
        mkdirSync(importDir, { recursive: true });
        renameSync(s.path as string, join(importDir, `agent_main_slug.${s.id}.jsonl.imported-${n++}`));
        s.path = null;
      },
    ],
    [
      0.5,
      function touch() {
        const all = files();
        if (all.length === 0) return;
        const t = Date.now() / 1000 - r() * 10;
        utimesSync(pick(all), t, t);
      },
    ],
  ];
  const total = ops.reduce((a, [w]) => a + w, 0);
  const step = () => {
    let x = r() * total;
    for (const [w, op] of ops) {
      x -= w;
      if (x < 0) return op();
    }
  };
  writeIndex();
  /** message timestamp → account, of every complete call line the files hold now */
  const expected = () => {
    const want = new Map<number, string>();
    for (const f of files()) {
      const text = readFileSync(f, "utf8");
      const lines = text.split("\n");
      lines.pop(); // after the last newline: empty or a partial line
      for (const l of lines) {
        if (!l.includes('"usage"')) continue;
        const t = (JSON.parse(l) as { message: { timestamp: number } }).message.timestamp;
        want.set(t, accountOfCall.get(t) as string);
      }
    }
    return want;
  };
  return { r, agentDir, step, expected };
}

/** Polls, billing with up to `depth` batches emitted and not yet committed (the thread's window). */
async function pollWithLag(
  reader: JsonlReader,
  bill: (b: SourceBatch) => void,
  depth: number,
  during?: () => void,
) {
  const waiting: [SourceBatch, number][] = [];
  const commit = (keep: number) => {
    while (waiting.length > keep) {
      const [b, id] = waiting.shift() as [SourceBatch, number];
      bill(b);
      reader.committed(id);
    }
  };
  await reader.poll(async (batch, id) => {
    waiting.push([batch, id]);
    commit(depth - 1);
    during?.();
    await Promise.resolve();
  });
  commit(0);
}

describe("random state dirs, changed between and during polls", () => {
  it("every call in the files is billed once, to its session's account (30 state dirs)", async () => {
    for (let seed = 1; seed <= 30; seed++) {
      const dir = mkdtempSync(join(tmpdir(), "cg-read-random-"));
      let db: Db | null = null;
      try {
        const w = randomWorld(seed, dir);
        const prices = join(dir, "prices.json");
        writeFileSync(prices, JSON.stringify(SYNTH_PRICES));
        db = openDatabase(join(dir, "db.sqlite"));
        const biller = createBiller(db, createLedger(db), {
          pricer: createPricer({
            mode: "calculate",
            overrides: loadPriceOverrides(prices),
            fallback: { input: "15", output: "75", cacheRead: "1.5", cacheWrite: "18.75" },
          }),
          markup: { num: 1n, den: 1n },
          creditsPerUsd: { num: 1n, den: 1n },
        });
        const opts = { agentDir: w.agentDir, agentId: "main", batchSize: 1 + Math.floor(w.r() * 8) };
        let reader = createJsonlReader(opts, db);
        const bill = (b: SourceBatch) => {
          biller.bill(b);
        };
        for (let round = 0, rounds = 6 + Math.floor(w.r() * 8); round < rounds; round++) {
          for (let i = round === 0 ? 30 : 1 + Math.floor(w.r() * 8); i > 0; i--) w.step();
          if (w.r() < 0.15) reader = createJsonlReader(opts, db); // a restart: memory from the database
          let emits = 0;
          // files change while others are read (a few times per poll)
          await pollWithLag(reader, bill, 1 + Math.floor(w.r() * 4), () => {
            if (++emits % 3 === 0 && emits <= 12) w.step();
          });
        }
        await pollWithLag(reader, bill, 1); // settle
        const want = w.expected();
        const got = db.prepare("SELECT message_ts_ms AS t, account_id AS a FROM usage_events").all() as {
          t: number;
          a: string;
        }[];
        const wrong = got
          .filter((g) => want.get(g.t) !== g.a)
          .map((g) => `${g.t} ${g.a} != ${want.get(g.t)}`);
        expect(wrong, `seed ${seed}`).toEqual([]);
        expect(got.length, `seed ${seed}`).toBe(want.size);
      } finally {
        db?.close();
        rmSync(dir, { recursive: true, force: true });
      }
    }
  }, 120_000);
});
