// An entry pretty-printed over several lines (`jq .`, `JSON.stringify(e, null, 2)`, Python's
// `json.dump(e, indent=4)`) is read as the one line it would be (case
// test/cases/pretty-printed-entry).
import { appendFileSync, mkdirSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { gzipSync } from "node:zlib";
import { afterEach, describe, expect, it } from "vitest";
import { queryUsage } from "../../src/meter/report.js";
import { assistantLine, meterCaseDir, meterFor, type TempWorld, tempWorld } from "../support/meter-env.js";

const CASE = resolve(import.meta.dirname, "../cases/pretty-printed-entry");
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

function inputs(w: TempWorld): number[] {
  return (
    w.db.prepare("SELECT input_tokens FROM usage_events ORDER BY input_tokens").all() as {
      input_tokens: number;
    }[]
  ).map((r) => r.input_tokens);
}

/** Python's `json.dumps(e, indent=4)` with Windows line ends. */
const python4Crlf = (line: string) => JSON.stringify(JSON.parse(line), null, 4).replaceAll("\n", "\r\n");

describe("case pretty-printed-entry: an entry pretty-printed over several lines is billed", () => {
  for (const readerThread of [true, false]) {
    it(`telegram:5551101 3 calls $0.02025 (was 2 calls $0.0135, 43 malformed); reader thread ${readerThread}`, async () => {
      const { s, world: w } = await meterCaseDir(CASE, "calculate", { readerThread });
      worlds.push(w);
      expect(s).toMatchObject({ billed: 3, malformed: 0 });
      expect(byUser(w)).toEqual({ "telegram:5551101": [3, "0.02025"] });
      const again = meterFor(w);
      expect(await again.runOnce()).toMatchObject({ billed: 0, malformed: 0, rescans: 0 });
      again.close();
    });
  }

  it("indent 4 with CRLF ends, written across two polls: waits for its last line, then billed once", async () => {
    const w = world();
    const file = join(sessionsDir(w), "s1.jsonl");
    const pretty = python4Crlf(assistantLine(T0 + 1_000, 200));
    const cut = pretty.indexOf('"usage"');
    writeFileSync(file, `${assistantLine(T0, 100)}\r\n${pretty.slice(0, cut)}`);
    const m = meterFor(w);
    expect(await m.runOnce()).toMatchObject({ billed: 1, malformed: 0 });
    appendFileSync(file, `${pretty.slice(cut)}\r\n${assistantLine(T0 + 2_000, 300)}\r\n`);
    expect(await m.runOnce()).toMatchObject({ billed: 2, malformed: 0, rescans: 0 });
    expect(await m.runOnce()).toMatchObject({ billed: 0 });
    m.close();
    expect(inputs(w)).toEqual([100, 200, 300]);
  });

  it("in a gzipped archive, and as a live file's last entry without a final newline", async () => {
    const w = world();
    const dir = sessionsDir(w);
    writeFileSync(
      join(dir, "s1.jsonl.deleted.2026-11-22T19-05-00.000Z.gz"),
      gzipSync(
        `${JSON.stringify(JSON.parse(assistantLine(T0, 100)), null, 2)}\n${assistantLine(T0 + 1_000, 200)}\n`,
      ),
    );
    writeFileSync(
      join(dir, "s2.jsonl"),
      `${assistantLine(T0 + 2_000, 300)}\n${JSON.stringify(JSON.parse(assistantLine(T0 + 3_000, 400)), null, "\t")}`,
    );
    const m = meterFor(w);
    expect(await m.runOnce()).toMatchObject({ billed: 4, malformed: 0 });
    expect(await m.runOnce()).toMatchObject({ billed: 0 });
    m.close();
    expect(inputs(w)).toEqual([100, 200, 300, 400]);
  });

  it("in UTF-16LE with CRLF ends (`jq .` redirected by PowerShell 5.1), written across two polls", async () => {
    const w = world();
    const file = join(sessionsDir(w), "s1.jsonl");
    const le = (t: string) => Buffer.from(t, "utf16le");
    const pretty = `${JSON.stringify(JSON.parse(assistantLine(T0 + 1_000, 200)), null, 2)}\n`.replaceAll(
      "\n",
      "\r\n",
    );
    const cut = pretty.indexOf('"usage"');
    writeFileSync(
      file,
      Buffer.concat([Buffer.from([0xff, 0xfe]), le(`${assistantLine(T0, 100)}\r\n${pretty.slice(0, cut)}`)]),
    );
    const m = meterFor(w);
    expect(await m.runOnce()).toMatchObject({ billed: 1, malformed: 0 });
    appendFileSync(
      file,
      le(
        `${pretty.slice(cut)}${pretty.replace('"input": 200', '"input": 300').replaceAll(`a${T0 + 1_000}`, "a3")}`,
      ),
    );
    expect(await m.runOnce()).toMatchObject({ billed: 2, malformed: 0, rescans: 0 });
    expect(await m.runOnce()).toMatchObject({ billed: 0 });
    m.close();
    expect(inputs(w)).toEqual([100, 200, 300]);
  });

  it("a lone `{` a crash left before compact entries stays one malformed line; the entries bill", async () => {
    const w = world();
    const file = join(sessionsDir(w), "s1.jsonl");
    writeFileSync(file, `${assistantLine(T0, 100)}\n{\n${assistantLine(T0 + 1_000, 200)}\n`);
    const m = meterFor(w);
    expect(await m.runOnce()).toMatchObject({ billed: 2, malformed: 1 });
    // an indented block whose closing line is not one object's end: its lines are malformed as before
    appendFileSync(file, `{\n  "type": "message",\n  "id": [\n}\n${assistantLine(T0 + 2_000, 300)}\n`);
    expect(await m.runOnce()).toMatchObject({ billed: 1, malformed: 4 });
    m.close();
    expect(inputs(w)).toEqual([100, 200, 300]);
  });
});
