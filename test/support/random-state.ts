// Random OpenClaw state dirs for the meter's order-independent tests (read-order-random,
// reader-thread-random): one agent whose session files are changed by random steps that keep every
// call line written, and the oracle of what the files hold.
import {
  appendFileSync,
  copyFileSync,
  existsSync,
  linkSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  utimesSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { rng } from "./rng.js";

interface Session {
  id: string;
  account: string;
  path: string | null; // the live name, null once archived or moved
  partial: string | null; // the first half of a call line written without its newline
}

/** A state dir and random changes to it that keep every call line written (no truncation). */
export function randomWorld(seed: number, dir: string) {
  const { next: r, pick } = rng(seed);
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
