import { appendFileSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { queryUsage } from "../../src/meter/report.js";
import { casePricer, meterCaseDir, meterFor, type TempWorld, tempWorld } from "../support/meter-env.js";

/**
 * test/cases found by h-read (2026-12-05): a transcript in one agent's sessions directory whose
 * entry is in another agent's sessions.json (openclaw/openclaw#15537, #708).
 */
const CASE = resolve(import.meta.dirname, "../cases/transcript-in-other-agent-dir");

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

describe("case transcript-in-other-agent-dir: a session's file in another agent's directory", () => {
  it("telegram:5550101 2 calls $0.0195 and telegram:5550404 2 calls $0.00975, nothing to agent:main (was agent:main 3 calls $0.02475)", async () => {
    const r = await meterCaseDir(CASE);
    w = r.world;
    expect(r.s.billed).toBe(4);
    expect(r.s.unattributedCalls).toBe(0);
    expect(byUser(w)).toEqual({
      "telegram:5550101": { requests: 2, costUsd: "0.0195" },
      "telegram:5550404": { requests: 2, costUsd: "0.00975" },
    });
  });

  it("an id two other agents name under different keys is attributed by neither (the operator's)", async () => {
    w = tempWorld(join(CASE, "state"));
    const secondary = join(w.stateDir, "agents", "secondary", "sessions", "sessions.json");
    const entry = JSON.parse(readFileSync(secondary, "utf8"))["agent:secondary:telegram:direct:5550404"];
    mkdirSync(join(w.stateDir, "agents", "third", "sessions"), { recursive: true });
    writeFileSync(
      join(w.stateDir, "agents", "third", "sessions", "sessions.json"),
      JSON.stringify({
        "agent:third:telegram:direct:5550909": {
          ...entry,
          origin: { ...entry.origin, from: "telegram:5550909", to: "telegram:5550909" },
          deliveryContext: { ...entry.deliveryContext, to: "telegram:5550909" },
          lastTo: "telegram:5550909",
        },
      }),
    );
    const meter = meterFor(w, { pricer: casePricer(CASE) });
    const s = await meter.runOnce();
    meter.close();
    expect(s.billed).toBe(4);
    expect(byUser(w)).toEqual({
      "agent:main": { requests: 2, costUsd: "0.00975" },
      "telegram:5550101": { requests: 2, costUsd: "0.0195" },
    });
  });

  it("a call appended before the session's entry went and its file was archived bills the user the meter remembers", async () => {
    w = tempWorld(join(CASE, "state"));
    const m = meterFor(w, { pricer: casePricer(CASE) });
    expect(await m.runOnce()).toMatchObject({ billed: 4 });
    m.close();
    // while the meter is down: one more call in the misplaced file, then the session is deleted
    // (its entry gone from secondary's index, its file archived where it was)
    const sid = "bbbbbbbb-2222-4000-8000-000000000002";
    const dir = join(w.stateDir, "agents", "main", "sessions");
    const usage = '{"input":1000,"output":100,"cacheRead":0,"cacheWrite":0,"totalTokens":1100}';
    appendFileSync(
      join(dir, `${sid}.jsonl`),
      `{"type":"message","id":"b0000005","parentId":"b0000004","timestamp":"2026-02-13T10:10:03.000Z","message":{"role":"assistant","content":[{"type":"text","text":"ok"}],"api":"openai-completions","provider":"mock","model":"mock-gpt","usage":${usage},"stopReason":"stop","timestamp":1770977402900}}\n`,
    );
    renameSync(join(dir, `${sid}.jsonl`), join(dir, `${sid}.jsonl.deleted.2026-02-13T11-00-00.000Z`));
    writeFileSync(join(w.stateDir, "agents", "secondary", "sessions", "sessions.json"), "{}");
    const again = meterFor(w, { pricer: casePricer(CASE) });
    const s = await again.runOnce();
    again.close();
    expect(s).toMatchObject({ billed: 1, unattributedCalls: 0 });
    expect(byUser(w)).toEqual({
      "telegram:5550101": { requests: 2, costUsd: "0.0195" },
      "telegram:5550404": { requests: 3, costUsd: "0.01425" },
    });
  });
});
