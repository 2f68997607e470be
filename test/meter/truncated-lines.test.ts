import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { endsLikeObject, mayBeUsage, TRUNCATED_REASON, textEndsLikeObject } from "../../src/meter/parse.js";
import { meterFor, type TempWorld, tempWorld, totalsBy, writeJson } from "../support/meter-env.js";

// Truncated lines are counted (issue #10): a line that cannot be complete JSON is malformed even
// when the byte pre-filter (`mayBeUsage`) would have skipped it, and is located in meter_rejects
// without any of its text.

let w: TempWorld | undefined;
afterEach(() => {
  w?.cleanup();
  w = undefined;
});

const SECRET = "SECRET-CHAT-TEXT";

function assistant(ts: number, input: number): string {
  return JSON.stringify({
    type: "message",
    id: `a${ts.toString(16).slice(-7)}`,
    parentId: null,
    timestamp: new Date(ts + 5).toISOString(),
    message: {
      role: "assistant",
      content: [{ type: "text", text: `${SECRET} reply` }],
      api: "openai-completions",
      provider: "mock",
      model: "mock-gpt",
      usage: { input, output: 10, cacheRead: 0, cacheWrite: 0, totalTokens: input + 10 },
      stopReason: "stop",
      timestamp: ts,
    },
  });
}

const userLine = (i: number) =>
  JSON.stringify({
    type: "message",
    id: `u${i}`,
    message: {
      role: "user",
      content: [{ type: "text", text: `${SECRET} question ${i} ${"x".repeat(i % 50)}` }],
    },
  });

/** Cuts a line at `at` (never at a `}`), so what is left cannot be complete JSON. */
function cut(line: string, at: number): string {
  let s = line.slice(0, Math.max(2, Math.min(at, line.length - 1)));
  while (s.endsWith("}")) s = s.slice(0, -1);
  return s;
}

const sid = (n: number) => `11111111-2222-4333-8444-${String(n).padStart(12, "0")}`;

describe("truncated lines", () => {
  it("counts 989 planted truncated lines exactly, with and without usage, and bills the rest", async () => {
    w = tempWorld();
    const dir = join(w.stateDir, "agents", "main", "sessions");
    mkdirSync(dir, { recursive: true });
    const index: Record<string, unknown> = {};
    const FILES = 11;
    let planted = 0;
    let plantedWithUsage = 0;
    let billed = 0;
    let ts = 1_790_000_000_000;
    const perFile: number[] = [];
    for (let f = 0; f < FILES; f++) {
      index[`agent:main:telegram:direct:${f}`] = { sessionId: sid(f), lastChannel: "telegram" };
      const lines = [
        JSON.stringify({
          type: "session",
          version: 3,
          id: sid(f),
          timestamp: "2026-11-01T00:00:00.000Z",
          cwd: "/",
        }),
      ];
      // 89 or 90 truncated lines per file (989 in all, under the 100 rejects kept per file)
      const n = f < 10 ? 90 : 89;
      perFile.push(n);
      for (let i = 0; i < n; i++) {
        const withUsage = i % 2 === 0;
        const full = withUsage ? assistant(ts++, 7) : userLine(i);
        const t = cut(full, 10 + ((i * 37) % full.length));
        // a third of them with CR/spaces after the cut, like a CRLF file or padded line
        lines.push(i % 3 === 0 ? `${t}  \r` : t);
        planted++;
        if (withUsage && mayBeUsage(Buffer.from(t))) plantedWithUsage++;
        // complete lines keep billing around them, CRLF and trailing spaces included
        if (i % 10 === 0) {
          lines.push(`${assistant(ts++, 100)}${i % 20 === 0 ? "\r" : " "}`);
          billed++;
        }
        lines.push(userLine(i));
      }
      writeFileSync(join(dir, `${sid(f)}.jsonl`), `${lines.join("\n")}\n`);
    }
    writeJson(join(dir, "sessions.json"), index);
    expect(planted).toBe(989);
    expect(plantedWithUsage).toBeGreaterThan(0); // some would have passed the pre-filter anyway
    expect(plantedWithUsage).toBeLessThan(planted); // and most would have been skipped by it

    const m = meterFor(w);
    const s = await m.runOnce().finally(() => m.close());
    expect(s.malformed).toBe(989);
    expect(s.billed).toBe(billed);
    const input = [...totalsBy(w.db, "account_id").values()].reduce((a, t) => a + Number(t.input), 0);
    expect(input).toBe(billed * 100);

    const rejects = w.db.prepare("SELECT source_ref, reason FROM meter_rejects").all() as {
      source_ref: string;
      reason: string;
    }[];
    expect(rejects).toHaveLength(989);
    for (const r of rejects) {
      expect(r.reason).toBe(TRUNCATED_REASON);
      expect(r.source_ref).toMatch(/\.jsonl@\d+$/);
      expect(JSON.stringify(r)).not.toContain(SECRET);
    }
    // each located reject points at the start of a truncated line
    for (const r of rejects.slice(0, 50)) {
      const [path, off] = [
        r.source_ref.slice(0, r.source_ref.lastIndexOf("@")),
        Number(r.source_ref.split("@").pop()),
      ];
      const rest = readFileSync(path).subarray(off);
      const line = rest.subarray(0, rest.indexOf(10)).toString("utf8");
      expect(textEndsLikeObject(line)).toBe(false);
    }
    const m2 = meterFor(w);
    const again = await m2.runOnce().finally(() => m2.close());
    expect(again.malformed).toBe(0); // counted once
  });

  it("counts truncated lines in an archive copy (.jsonl.deleted)", async () => {
    w = tempWorld();
    const dir = join(w.stateDir, "agents", "main", "sessions");
    mkdirSync(dir, { recursive: true });
    writeJson(join(dir, "sessions.json"), {});
    const lines = [
      assistant(1_790_000_000_000, 100),
      cut(userLine(1), 30),
      `${cut(assistant(1_790_000_001_000, 5), 200)}\r`,
      assistant(1_790_000_002_000, 50),
    ];
    writeFileSync(join(dir, `${sid(1)}.jsonl.deleted.2026-11-01T00-00-00.000Z`), `${lines.join("\n")}\n`);
    const m = meterFor(w);
    const s = await m.runOnce().finally(() => m.close());
    expect(s.malformed).toBe(2);
    expect(s.billed).toBe(2);
    const reasons = w.db.prepare("SELECT reason FROM meter_rejects").pluck().all();
    expect(reasons).toEqual([TRUNCATED_REASON, TRUNCATED_REASON]);
  });

  it("endsLikeObject looks only at the last non-blank byte", () => {
    const b = Buffer.from('xx{"a":1}  \r\nyy');
    expect(endsLikeObject(b, 2, 12)).toBe(true);
    expect(endsLikeObject(b, 2, 8)).toBe(false);
    expect(endsLikeObject(b, 2, 2)).toBe(false);
    expect(endsLikeObject(Buffer.from("  \r"))).toBe(false);
    expect(textEndsLikeObject('{"a":1}\r ')).toBe(true);
    expect(textEndsLikeObject('{"a":"}')).toBe(true); // still not JSON: parsed and rejected as invalid
    expect(textEndsLikeObject('{"a":1')).toBe(false);
  });
});
