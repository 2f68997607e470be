import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import Database from "better-sqlite3";
import { afterEach, describe, expect, it } from "vitest";
import { usageEvent as pluginUsageEvent } from "../../plugin/src/push.js";
import { queryUsage } from "../../src/meter/report.js";
import { casePricer, meterFor, type TempWorld, tempWorld } from "../support/meter-env.js";

/**
 * Case cli-history-import-appended: after a Claude CLI session reseed, OpenClaw 2026.8.x appended
 * its import of Claude Code's own history rows (`__openclaw.importedFrom: "claude-cli"`,
 * `api: "anthropic-messages"`, each row's usage) beside the CLI runner's `api: "cli"` line that
 * holds the turn's usage (openclaw/openclaw#136251): each turn was billed once for the runner's
 * line and again for every imported row (5 calls, $0.145224); the runner's lines alone are the
 * turns (2 calls, $0.072612).
 */
const NAME = "cli-history-import-appended";
const CASE = join(resolve(import.meta.dirname, "../cases"), NAME);
const SID = "5b1d7e30-9a2c-4f86-b3e1-0c7d4a9e2f51";
const SESSION = `agents/main/sessions/${SID}.jsonl`;
const ALL = readFileSync(join(CASE, "state", SESSION), "utf8")
  .trimEnd()
  .split("\n");

/** 48,018 (turn 1's runner line) + 24,594 (turn 2's) µ$. */
const RIGHT = { key: "telegram:5550411", requests: 2, output: 1300, costUsd: "0.072612" };

let w: TempWorld | undefined;
afterEach(() => {
  w?.cleanup();
  w = undefined;
});

describe(`case ${NAME}: Claude CLI history rows appended to the transcript are not calls`, () => {
  for (const readerThread of [true, false]) {
    it(`2 calls, $0.072612 (was 5, $0.145224), reader thread ${readerThread}`, async () => {
      w = tempWorld(join(CASE, "state"));
      const meter = meterFor(w, { pricer: casePricer(CASE), readerThread });
      expect(await meter.runOnce()).toMatchObject({ billed: 2, duplicates: 0 });
      meter.close();
      expect(queryUsage(w.db, { by: "user" })).toMatchObject([RIGHT]);
    });
  }

  it("in an OpenClaw SQLite store", async () => {
    w = tempWorld(join(CASE, "state"));
    writeFileSync(join(w.stateDir, SESSION), `${ALL[0]}\n`); // the JSONL copy: header only
    const dir = join(w.stateDir, "agents", "main", "agent");
    mkdirSync(dir, { recursive: true });
    const oc = new Database(join(dir, "openclaw-agent.sqlite"));
    oc.exec(`CREATE TABLE transcript_events (session_id TEXT NOT NULL, seq INTEGER NOT NULL, event_json TEXT,
             event_zstd BLOB, created_at INTEGER, PRIMARY KEY (session_id, seq))`);
    const insert = oc.prepare(
      "INSERT INTO transcript_events (session_id, seq, event_json, created_at) VALUES (?, ?, ?, ?)",
    );
    for (const [i, l] of ALL.entries()) insert.run(SID, i, l, 1795165200000 + i);
    oc.close();
    const meter = meterFor(w, { pricer: casePricer(CASE), readerThread: false });
    expect(await meter.runOnce()).toMatchObject({ billed: 2 });
    meter.close();
    expect(queryUsage(w.db, { by: "agent" })).toMatchObject([
      { key: "main", requests: 2, costUsd: "0.072612" },
    ]);
  });

  it("the plugin's push sends the runner's lines only", () => {
    const where = { agentId: "main", sessionKey: "agent:main:telegram:direct:5550411" };
    const pushed = ALL.map((l) => JSON.parse(l))
      .filter((e) => e.type === "message")
      .map((e) => pluginUsageEvent(e.message, where))
      .filter((e) => e !== null);
    expect(pushed.map((e) => e?.output)).toEqual([900, 400]);
  });
});
