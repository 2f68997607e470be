// A transcript whose lines end in a lone CR (classic Mac line ends): read like one of LF lines
// (case test/cases/lone-cr-line-ends).
import { appendFileSync, mkdirSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { queryUsage } from "../../src/meter/report.js";
import { eachLine, loneCrAt } from "../../src/meter/sources/batch-builder.js";
import { assistantLine, meterCaseDir, meterFor, type TempWorld, tempWorld } from "../support/meter-env.js";

const CASE = resolve(import.meta.dirname, "../cases/lone-cr-line-ends");
const T0 = 1_795_371_100_000;

let worlds: TempWorld[] = [];
afterEach(() => {
  for (const w of worlds) w.cleanup();
  worlds = [];
});
function world(): TempWorld {
  const w = tempWorld();
  worlds.push(w);
  return w;
}

function sessionsDir(w: TempWorld): string {
  const dir = join(w.stateDir, "agents", "main", "sessions");
  mkdirSync(dir, { recursive: true });
  writeFileSync(
    join(dir, "sessions.json"),
    JSON.stringify({ "agent:main:telegram:direct:5550101": { sessionId: "s1", lastChannel: "telegram" } }),
  );
  return dir;
}

function byUser(w: TempWorld): Record<string, [number, string]> {
  return Object.fromEntries(queryUsage(w.db, { by: "user" }).map((r) => [r.key, [r.requests, r.costUsd]]));
}

const userLine = (ts: number) =>
  JSON.stringify({
    type: "message",
    id: `u${ts}`,
    parentId: null,
    timestamp: new Date(ts).toISOString(),
    message: { role: "user", content: [{ type: "text", text: `hi ${ts}` }], timestamp: ts },
  });

/** Turns of a user line then a reply 2.5 s later. */
function turns(n: number): string[] {
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    const t = T0 + i * 60_000;
    out.push(userLine(t), assistantLine(t + 2_500, 100 + i));
  }
  return out;
}

/** What each billed call came to: account, tokens, cost, latency (the turn read back on a resume). */
function rows(w: TempWorld) {
  return w.db
    .prepare(
      `SELECT account_id, input_tokens, cost_pico_usd, latency_ms FROM usage_events ORDER BY message_ts_ms`,
    )
    .all();
}

describe("case lone-cr-line-ends: lines ended by a lone CR are lines", () => {
  for (const readerThread of [true, false]) {
    it(`telegram:5550901 3 calls $0.02025 (was nothing billed), telegram:5550902 2 calls $0.0285; reader thread ${readerThread}`, async () => {
      const { s, world: w } = await meterCaseDir(CASE, "calculate", { readerThread });
      worlds.push(w);
      expect(s).toMatchObject({ billed: 5, malformed: 0 });
      expect(byUser(w)).toEqual({ "telegram:5550901": [3, "0.02025"], "telegram:5550902": [2, "0.0285"] });
      const again = meterFor(w);
      expect(await again.runOnce()).toMatchObject({ billed: 0, malformed: 0, rescans: 0 });
      again.close();
    });
  }

  for (const [name, end] of [
    ["CR", "\r"],
    ["CRLF", "\r\n"],
  ] as const) {
    it(`${name} lines appended between polls (a poll between a CRLF's CR and LF): each call billed once, as from LF lines, latency read back`, async () => {
      const lines = turns(6);
      const ref = world();
      writeFileSync(join(sessionsDir(ref), "s1.jsonl"), `${lines.join("\n")}\n`);
      const m0 = meterFor(ref);
      expect(await m0.runOnce()).toMatchObject({ billed: 6, malformed: 0 });
      m0.close();

      const w = world();
      const file = join(sessionsDir(w), "s1.jsonl");
      const all = Buffer.from(lines.map((l) => l + end).join(""));
      const upTo = (k: number) =>
        Buffer.byteLength(
          lines
            .slice(0, k)
            .map((l) => l + end)
            .join(""),
        );
      // cuts: between turn 2's user line and its reply; just after a line's CR (before its LF in
      // CRLF); mid-line; the end
      const cuts = [upTo(3), upTo(6) + (lines[6]?.length ?? 0) + 1, upTo(9) + 10, all.length];
      writeFileSync(file, all.subarray(0, cuts[0]));
      let billed = 0;
      for (let i = 0; i < cuts.length; i++) {
        if (i > 0) appendFileSync(file, all.subarray(cuts[i - 1], cuts[i]));
        // a fresh meter each poll (a restart): the turn before its cursor is read back from the file
        const m = meterFor(w, { batchSize: 1 });
        const s = await m.runOnce();
        m.close();
        expect(s).toMatchObject({ malformed: 0, rescans: 0 });
        billed += s.billed;
      }
      expect(billed).toBe(6);
      expect(rows(w)).toEqual(rows(ref));
      expect(rows(w).map((r) => (r as { latency_ms: number | null }).latency_ms)).toEqual(
        Array(6).fill(2_505),
      );
    });
  }

  it("an archive of CR lines (its last one without a line end too) is billed whole", async () => {
    const w = world();
    const dir = sessionsDir(w);
    const lines = turns(3);
    writeFileSync(join(dir, "s1.jsonl.reset.2026-11-22T19-05-00.000Z"), lines.join("\r"));
    const m = meterFor(w);
    expect(await m.runOnce()).toMatchObject({ billed: 3, malformed: 0 });
    m.close();
  });

  it("eachLine and loneCrAt: a lone CR ends a line, a CRLF's CR does not", () => {
    const text = Buffer.from('{"a":1}\r{"b":2}\r\n{"c":3}\n{"d":4}\r');
    expect([...eachLine(text)].map(([l, , at]) => [l.toString(), at])).toEqual([
      ['{"a":1}', 0],
      ['{"b":2}', 8],
      ['{"c":3}', 17],
      ['{"d":4}', 25],
    ]);
    expect(loneCrAt(Buffer.from("a\r\nb\r\nc"), 0)).toBe(-1);
    expect(loneCrAt(Buffer.from('{"a":1}\r\n{"b":2}\r{"c":3}'), 0)).toBe(16);
    // a CR that is JSON white space inside an entry (not between a `}` and the next `{`) ends nothing
    expect(loneCrAt(Buffer.from('{"a":1,\r"b":{"c":2}\r,"d":\r{}}'), 0)).toBe(-1);
    expect([...eachLine(Buffer.from('{"a":1,\r"b":2}\r{"c":3}\n'))].map(([l]) => l.toString())).toEqual([
      '{"a":1,\r"b":2}',
      '{"c":3}',
    ]);
  });

  // found by reviewer r-final: a raw CR as JSON white space inside an entry split it into two
  // malformed pieces once lone CRs ended lines, and its call, billed before, was lost
  for (const end of ["\n", "\r"]) {
    it(`entries holding a raw CR between JSON tokens are billed whole (${JSON.stringify(end)} line ends): 3 calls, 0 malformed`, async () => {
      const w = world();
      const lines = turns(3).map((l) =>
        l.replace(',"message":', ',\r"message":').replace('"usage":', '"usage":\r'),
      );
      writeFileSync(join(sessionsDir(w), "s1.jsonl"), `${lines.join(end)}${end}`);
      const m = meterFor(w);
      // before: billed 0, malformed 6 (each entry split at its CRs)
      expect(await m.runOnce()).toMatchObject({ billed: 3, malformed: 0 });
      m.close();
    });
  }
});

describe("case lone-cr-json-whitespace (found by r-final): a raw CR between JSON tokens ends no line", () => {
  it("telegram:5550721 2 calls $0.1131, 0 malformed (was 0 calls, 4 malformed)", async () => {
    const { s, world: w } = await meterCaseDir(
      resolve(import.meta.dirname, "../cases/lone-cr-json-whitespace"),
    );
    worlds.push(w);
    expect(s).toMatchObject({ billed: 2, malformed: 0 });
    expect(byUser(w)).toEqual({ "telegram:5550721": [2, "0.1131"] });
  });
});
