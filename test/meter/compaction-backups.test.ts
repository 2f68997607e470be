import { appendFileSync, copyFileSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { classifyTranscriptFile } from "../../src/meter/sources/classify.js";
import {
  assistantLine,
  meterFor,
  type TempWorld,
  tempWorld,
  totalsBy,
  writeJson,
} from "../support/meter-env.js";

const SID = "11111111-2222-4333-8444-555555555555";
const CKPT = "0f3e2d1c-4b5a-4c6d-8e7f-9a0b1c2d3e4f";
const T0 = 1_795_371_100_000;

let w: TempWorld | undefined;
afterEach(() => {
  w?.cleanup();
  w = undefined;
});

describe("classifyTranscriptFile: what compaction keeps of a shortened transcript", () => {
  it("reads <id>.jsonl.bak.<ISO>, <id>.checkpoint.<uuid>.jsonl and a repair's .bak-<pid>-<ms> as archives of the session", () => {
    for (const name of [
      `${SID}.jsonl.bak.2026-11-22T18-05-00.000Z`,
      `${SID}.jsonl.bak.2026-11-22T18-05-00Z`,
      `${SID}-topic-7.jsonl.bak.2026-11-22T18-05-00.000Z`,
      `${SID}.checkpoint.${CKPT}.jsonl`,
      `${SID}-topic-7.checkpoint.${CKPT.toUpperCase()}.jsonl`,
      `2026-11-01T00-00-00-000Z_${SID}.checkpoint.${CKPT}.jsonl`,
      `${SID}.jsonl.bak-4242-1795370700000`,
      `${SID}-topic-7.jsonl.bak-1-2`,
    ])
      expect(classifyTranscriptFile(name), name).toEqual({ sessionId: SID, archived: true });
  });

  it("still skips migration backups, other .bak shapes and non-UUID checkpoints", () => {
    for (const name of [
      `${SID}.jsonl.bak-123`,
      `${SID}.jsonl.bak-123-456.tmp`,
      `${SID}.jsonl.repair-123-456.tmp`,
      `${SID}.jsonl.bak`,
      `${SID}.jsonl.bak.1`,
      `${SID}.jsonl.bak.2026-11-22T18:05:00.000Z`,
      `${SID}.jsonl.bak.2026-11-22T18-05-00.000Z.tmp`,
      `${SID}.jsonl.pre-doctor-jsonl-repair-2026-11-22T18-05-00.000Z.bak`,
      `${SID}.checkpoint.0a1b2c3d.jsonl`,
      `${SID}.checkpoint.${CKPT}.jsonl.tmp`,
      `${SID}.trajectory.jsonl`,
      "sessions.json.bak.1795371100000",
    ])
      expect(classifyTranscriptFile(name), name).toBeNull();
  });
});

function world(): { tw: TempWorld; dir: string; file: string } {
  const tw = tempWorld();
  const dir = join(tw.stateDir, "agents", "main", "sessions");
  mkdirSync(dir, { recursive: true });
  writeJson(join(dir, "sessions.json"), {
    "agent:main:telegram:direct:42": { sessionId: SID, lastChannel: "telegram" },
  });
  const file = join(dir, `${SID}.jsonl`);
  writeFileSync(file, `${JSON.stringify({ type: "session", version: 3, id: SID })}\n`);
  w = tw;
  return { tw, dir, file };
}

async function once(tw: TempWorld) {
  const m = meterFor(tw);
  try {
    return await m.runOnce();
  } finally {
    m.close();
  }
}

const userTotals = (tw: TempWorld) => {
  const t = totalsBy(tw.db, "account_id").get("telegram:42");
  return { requests: t?.requests ?? 0, input: t?.input ?? 0 };
};

/** `sessions.compact --max-lines n` as OpenClaw does it: rename to `.bak.<ts>`, write the last n lines back. */
function compactMaxLines(file: string, n: number): void {
  const lines = readFileSync(file, "utf8").split("\n").filter(Boolean);
  renameSync(file, `${file}.bak.2026-11-22T18-05-00.000Z`);
  writeFileSync(file, `${lines.slice(-n).join("\n")}\n`);
}

describe("a transcript shortened by compaction", () => {
  it("meter not running during sessions.compact: calls only in the .bak are billed, shared ones once", async () => {
    const { tw, file } = world();
    appendFileSync(
      file,
      `${assistantLine(T0, 100)}\n${assistantLine(T0 + 1, 200)}\n${assistantLine(T0 + 2, 300)}\n`,
    );
    compactMaxLines(file, 1);
    appendFileSync(file, `${assistantLine(T0 + 3, 400)}\n`);
    const s = await once(tw);
    expect(s).toMatchObject({ billed: 4, duplicates: 1, failures: [] });
    expect(userTotals(tw)).toEqual({ requests: 4, input: 1000 });
    // nothing new on the next poll: both files are remembered by their inode
    expect(await once(tw)).toMatchObject({ billed: 0, duplicates: 0 });
  });

  it("meter running across sessions.compact: the renamed inode continues its cursor, nothing bills twice", async () => {
    const { tw, file } = world();
    appendFileSync(file, `${assistantLine(T0, 100)}\n${assistantLine(T0 + 1, 200)}\n`);
    expect(await once(tw)).toMatchObject({ billed: 2 });
    // a call written after the meter's last poll, then the compaction drops it from the live file
    appendFileSync(file, `${assistantLine(T0 + 2, 300)}\n${assistantLine(T0 + 3, 400)}\n`);
    compactMaxLines(file, 1);
    const s = await once(tw);
    expect(s).toMatchObject({ billed: 2, duplicates: 1, rescans: 0 });
    expect(userTotals(tw)).toEqual({ requests: 4, input: 1000 });
  });

  it("a checkpoint copy bills the summarized calls a truncateAfterCompaction rewrite dropped, and nothing twice", async () => {
    const { tw, dir, file } = world();
    appendFileSync(file, `${assistantLine(T0, 100)}\n${assistantLine(T0 + 1, 200)}\n`);
    copyFileSync(file, join(dir, `${SID}.checkpoint.${CKPT}.jsonl`));
    // rewritten in place (temp + rename) without the summarized messages, then one more turn
    const tmp = `${file}.truncate-tmp`;
    writeFileSync(
      tmp,
      `${JSON.stringify({ type: "session", version: 3, id: SID })}\n${JSON.stringify({ type: "compaction", id: "c1", parentId: null })}\n${assistantLine(T0 + 2, 300)}\n`,
    );
    renameSync(tmp, file);
    const s = await once(tw);
    expect(s).toMatchObject({ billed: 3, duplicates: 0, failures: [] });
    expect(userTotals(tw)).toEqual({ requests: 3, input: 600 });
  });

  it("a repair that trimmed a trailing assistant reply (2026.5.2): the reply in its backup is billed once", async () => {
    const { tw, file } = world();
    const before = `${readFileSync(file, "utf8")}${assistantLine(T0, 100)}\n${assistantLine(T0 + 1, 200)}\n`;
    writeFileSync(file, before);
    // repairSessionFileIfNeeded: a backup copy, then the repaired file renamed over the transcript
    writeFileSync(`${file}.bak-4242-1795371200000`, before);
    const tmp = `${file}.repair-4242-1795371200000.tmp`;
    writeFileSync(tmp, `${before.split("\n").slice(0, 2).join("\n")}\n`);
    renameSync(tmp, file);
    const s = await once(tw);
    expect(s).toMatchObject({ billed: 2, duplicates: 1, failures: [] });
    expect(userTotals(tw)).toEqual({ requests: 2, input: 300 });
  });

  it("a checkpoint copy of a transcript that kept everything adds only duplicates", async () => {
    const { tw, dir, file } = world();
    appendFileSync(file, `${assistantLine(T0, 100)}\n${assistantLine(T0 + 1, 200)}\n`);
    copyFileSync(file, join(dir, `${SID}.checkpoint.${CKPT}.jsonl`));
    const s = await once(tw);
    expect(s).toMatchObject({ billed: 2, duplicates: 2 });
    expect(userTotals(tw)).toEqual({ requests: 2, input: 300 });
  });
});
