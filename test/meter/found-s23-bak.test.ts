import { cpSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { codexCumulativeOf } from "../../src/meter/codex-cumulative.js";
import { queryUsage } from "../../src/meter/report.js";
import { classifyImportArchiveFile, classifyTranscriptFile } from "../../src/meter/sources/classify.js";
import type { ParsedUsage } from "../../src/meter/types.js";
import { casePricer, meterFor, type TempWorld, tempWorld } from "../support/meter-env.js";

/** test/cases found by the hunt for doctor's backups and renamed Codex lines (2026-12-03). */
const CASES = resolve(import.meta.dirname, "../cases");

let w: TempWorld | undefined;
afterEach(() => {
  w?.cleanup();
  w = undefined;
});

function byUser(world: TempWorld) {
  return Object.fromEntries(
    queryUsage(world.db, { by: "user" }).map((r) => [r.key, { requests: r.requests, costUsd: r.costUsd }]),
  );
}

describe("case doctor-branch-repair-backup: doctor --fix keeps the abandoned branch only in its backup", () => {
  const CASE = join(CASES, "doctor-branch-repair-backup");
  const SID = "5d1e9a2b-7c3f-4e8d-9a6b-1f2e3d4c5b6a";
  const BAK = `${SID}.jsonl.pre-doctor-branch-repair-2026-11-25T08-30-12-345Z.bak`;
  const RIGHT = { "telegram:5550707": { requests: 3, costUsd: "0.02505" } };

  it("the reply only the backup holds is billed, to the session's user (was 2 calls $0.01455)", async () => {
    w = tempWorld(join(CASE, "state"));
    const meter = meterFor(w, { pricer: casePricer(CASE) });
    expect((await meter.runOnce()).billed).toBe(3);
    meter.close();
    expect(byUser(w)).toEqual(RIGHT);
  });

  it("a backup identical to what was billed before the repair bills nothing", async () => {
    w = tempWorld(join(CASE, "state"));
    const dir = join(w.stateDir, "agents", "main", "sessions");
    const live = join(dir, `${SID}.jsonl`);
    const bak = join(dir, BAK);
    const before = readFileSync(bak);
    const after = readFileSync(live);
    // the meter read the transcript before doctor ran: no backup yet, the live file whole
    writeFileSync(live, before);
    rmBackup(bak);
    const meter = meterFor(w, { pricer: casePricer(CASE) });
    expect((await meter.runOnce()).billed).toBe(3);
    // doctor: fs.copyFile to the backup, then fs.writeFile of the active branch (same inode, shorter)
    writeFileSync(bak, before);
    writeFileSync(live, after);
    expect((await meter.runOnce()).billed).toBe(0);
    expect((await meter.runOnce()).billed).toBe(0);
    meter.close();
    expect(byUser(w)).toEqual(RIGHT);
  });

  it("a transcript read in part before the repair: the rest bills once, from the backup and the rewritten file", async () => {
    w = tempWorld(join(CASE, "state"));
    const dir = join(w.stateDir, "agents", "main", "sessions");
    const live = join(dir, `${SID}.jsonl`);
    const bak = join(dir, BAK);
    const before = readFileSync(bak, "utf8");
    const after = readFileSync(live);
    // the first turn only (header, user, reply), then the poll
    writeFileSync(live, `${before.split("\n").slice(0, 3).join("\n")}\n`);
    rmBackup(bak);
    const meter = meterFor(w, { pricer: casePricer(CASE) });
    expect((await meter.runOnce()).billed).toBe(1);
    // the rest is written and doctor repairs the file before the next poll
    writeFileSync(live, before);
    writeFileSync(bak, before);
    writeFileSync(live, after);
    expect((await meter.runOnce()).billed).toBe(2);
    meter.close();
    expect(byUser(w)).toEqual(RIGHT);
  });

  it("classifies the branch-repair backup of each transcript doctor repairs, and nothing else of doctor's", () => {
    const ts = "2026-11-25T08-30-12-345Z";
    expect(classifyTranscriptFile(`${SID}.jsonl.pre-doctor-branch-repair-${ts}.bak`)).toEqual({
      sessionId: SID,
      archived: true,
    });
    expect(classifyTranscriptFile(`${SID}-topic-42.jsonl.pre-doctor-branch-repair-${ts}.bak`)).toEqual({
      sessionId: SID,
      archived: true,
    });
    expect(
      classifyTranscriptFile(`2026-11-20T10-00-00-000Z_${SID}.jsonl.pre-doctor-branch-repair-${ts}.bak`),
    ).toEqual({ sessionId: SID, archived: true });
    expect(
      classifyTranscriptFile(
        `${SID}.checkpoint.0f3e2d1c-1a2b-4c3d-8e4f-5a6b7c8d9e0f.jsonl.pre-doctor-branch-repair-${ts}.bak`,
      ),
    ).toEqual({ sessionId: SID, archived: true });
    // the codex repair keeps every entry in the rewritten file: its backup holds nothing new
    expect(classifyTranscriptFile(`${SID}.jsonl.pre-doctor-openai-codex-repair-${ts}.bak`)).toBeNull();
    // a run trace's backup is a trace
    expect(classifyTranscriptFile(`${SID}.trajectory.jsonl.pre-doctor-branch-repair-${ts}.bak`)).toBeNull();
    // not doctor's name (the time as OpenClaw writes it has `-` for `.`)
    expect(
      classifyTranscriptFile(`${SID}.jsonl.pre-doctor-branch-repair-2026-11-25T08:30:12.345Z.bak`),
    ).toBeNull();
    expect(classifyTranscriptFile(`${SID}.jsonl.pre-doctor-branch-repair-${ts}.bak.tmp`)).toBeNull();
  });
});

describe("case codex-cumulative-doctor-renamed: doctor's rename of a cumulative Codex-harness transcript", () => {
  const CASE = join(CASES, "codex-cumulative-doctor-renamed");
  const SID = "4b7e2c91-6d3a-4f58-9e1b-2a8c5d7f0e64";
  const RIGHT = { "telegram:5550302": { requests: 3, costUsd: "0.076846" } };

  it("the renamed running totals bill the thread once (was 3 calls $0.179796)", async () => {
    w = tempWorld(join(CASE, "state"));
    const meter = meterFor(w, { pricer: casePricer(CASE) });
    expect((await meter.runOnce()).billed).toBe(3);
    meter.close();
    expect(byUser(w)).toEqual(RIGHT);
  });

  it("read across polls: the renamed lines before the cursor give the thread's state", async () => {
    w = tempWorld(join(CASE, "state"));
    const live = join(w.stateDir, "agents", "main", "sessions", `${SID}.jsonl`);
    const all = readFileSync(live, "utf8");
    writeFileSync(live, `${all.split("\n").slice(0, 5).join("\n")}\n`);
    const meter = meterFor(w, { pricer: casePricer(CASE) });
    expect((await meter.runOnce()).billed).toBe(2);
    writeFileSync(live, all);
    expect((await meter.runOnce()).billed).toBe(1);
    meter.close();
    expect(byUser(w)).toEqual(RIGHT);
  });

  it("a compaction copy doctor did not rename continues the renamed file's thread", async () => {
    w = tempWorld(join(CASE, "state"));
    const dir = join(w.stateDir, "agents", "main", "sessions");
    const live = join(dir, `${SID}.jsonl`);
    const lines = readFileSync(live, "utf8").trimEnd().split("\n");
    // `sessions compact --max-lines` renamed the file away before doctor ran (doctor rewrites `*.jsonl` only)
    const legacy = lines
      .slice(0, 5)
      .map((l) =>
        l.replace(
          '"api":"openai-chatgpt-responses","provider":"openai"',
          '"api":"openai-codex-responses","provider":"codex"',
        ),
      );
    writeFileSync(join(dir, `${SID}.jsonl.bak.2026-04-10T09-15-00.000Z`), `${legacy.join("\n")}\n`);
    writeFileSync(live, `${[lines[0], ...lines.slice(5)].join("\n")}\n`);
    const meter = meterFor(w, { pricer: casePricer(CASE) });
    expect((await meter.runOnce()).billed).toBe(3);
    meter.close();
    expect(byUser(w)).toEqual(RIGHT);
  });

  it("recognises the renamed api in the cumulative era only", () => {
    const line = {
      provider: "openai",
      api: "openai-chatgpt-responses",
      model: "gpt-5.4",
      messageTsMs: 1775812237000,
      input: 40000,
      writtenInput: undefined,
      output: 1370,
      cacheRead: 25600,
      cacheWrite: 0,
      totalTokens: 41370,
      responseId: null,
      recordedCostUsd: 0,
    } as unknown as ParsedUsage;
    expect(codexCumulativeOf(line)?.provider).toBe("codex");
    expect(codexCumulativeOf({ ...line, messageTsMs: Date.UTC(2026, 3, 11) })).toBeNull();
    expect(codexCumulativeOf({ ...line, api: "openai-responses" })).toBeNull();
  });
});

describe("case import-archive-checkpoint-session: doctor's import moves a checkpoint it did not import", () => {
  const CASE = join(CASES, "import-archive-checkpoint-session");
  const SID = "bbbbbbbb-0000-4000-8000-00000000c002";
  const CK = "0f3e2d1c-4b5a-4c6d-8e7f-9a0b1c2d3e4f";

  it("the calls only the moved checkpoint holds go to the session's user (was agent:main 2 calls $0.033)", async () => {
    w = tempWorld(join(CASE, "state"));
    const meter = meterFor(w, { pricer: casePricer(CASE) });
    expect((await meter.runOnce()).billed).toBe(3);
    meter.close();
    expect(byUser(w)).toEqual({ "telegram:7770707": { requests: 3, costUsd: "0.0357" } });
  });

  it("an archive-tier name is the file's name in sessions/, classified as there", () => {
    const at = (n: string) => classifyImportArchiveFile(`archive-tier.${n}.imported-1795380000001`);
    expect(at(`${SID}.checkpoint.${CK}.jsonl`)).toEqual({ sessionId: SID, archived: true });
    // OpenClaw's session ids may hold dots (SAFE_SESSION_ID_RE): the whole name is the file's
    expect(at("weekly.report-1.jsonl")).toEqual({ sessionId: "weekly.report-1", archived: true });
    expect(at(`2026-11-20T10-11-12-345Z_${SID}-topic-2.jsonl`)).toEqual({ sessionId: SID, archived: true });
    expect(at(`${SID}.trajectory.jsonl`)).toBeNull();
    // a run trace moved beside its imported transcript is no transcript either
    expect(
      classifyImportArchiveFile(
        `agent_main_telegram_direct_7770707.${SID}.trajectory.jsonl.imported-1795380000000`,
      ),
    ).toBeNull();
    expect(
      classifyImportArchiveFile(`agent_main_telegram_direct_7770707.${SID}.jsonl.imported-1795380000000`),
    ).toEqual({ sessionId: SID, archived: true });
  });
});

describe("case legacy-sessions-leftover-dir: what the legacy-state migration could not move is billed", () => {
  const CASE = join(CASES, "legacy-sessions-leftover-dir");

  it("the call only <state>/sessions.legacy-<ms>/ holds goes to the session's user (was 2 calls $0.00825)", async () => {
    w = tempWorld(join(CASE, "state"));
    const LEFT = "sessions.legacy-1795400000000"; // tempWorld copies agents/ only
    cpSync(join(CASE, "state", LEFT), join(w.stateDir, LEFT), { recursive: true });
    const meter = meterFor(w, { pricer: casePricer(CASE) });
    expect((await meter.runOnce()).billed).toBe(3);
    // the copy of the first call in both files is one call; a second run bills nothing
    expect((await meter.runOnce()).billed).toBe(0);
    meter.close();
    expect(byUser(w)).toEqual({ "telegram:7770707": { requests: 3, costUsd: "0.01575" } });
  });
});

describe("case legacy-sessions-renamed-copy: the legacy migration's renamed copy is its session's", () => {
  const CASE = join(CASES, "legacy-sessions-renamed-copy");
  const SID = "5c2e9a10-7b3d-4e8f-a1c6-0d9e8f7a6b51";

  it("the call only <id>.legacy-<ms>.jsonl holds goes to the session's user (was agent:main 1 call $0.0075)", async () => {
    w = tempWorld(join(CASE, "state"));
    const meter = meterFor(w, { pricer: casePricer(CASE) });
    expect((await meter.runOnce()).billed).toBe(3);
    expect((await meter.runOnce()).billed).toBe(0);
    meter.close();
    expect(byUser(w)).toEqual({ "telegram:7770707": { requests: 3, costUsd: "0.01575" } });
  });

  it("<name>.legacy-<ms>.jsonl is classified as <name>.jsonl", () => {
    expect(classifyTranscriptFile(`${SID}.legacy-1795400000000.jsonl`)).toEqual({
      sessionId: SID,
      archived: true,
    });
    expect(classifyTranscriptFile(`${SID}-topic-7.legacy-1795400000000.jsonl`)).toEqual({
      sessionId: SID,
      archived: true,
    });
    expect(classifyTranscriptFile(`${SID}.trajectory.legacy-1795400000000.jsonl`)).toBeNull();
  });
});

function rmBackup(path: string) {
  rmSync(path, { force: true });
}
