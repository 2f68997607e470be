import { appendFileSync, copyFileSync, readFileSync, renameSync } from "node:fs";
import { join, resolve } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { queryUsage } from "../../src/meter/report.js";
import { jsonlToStore } from "../support/jsonl-to-store.js";
import { casePricer, meterCaseDir, meterFor, type TempWorld, tempWorld } from "../support/meter-env.js";

const CASE = resolve(import.meta.dirname, "../cases/subagent-parent-deleted");
const A = "a2a2a2a2-0000-4000-8000-000000000002";
const B = "b3b3b3b3-0000-4000-8000-000000000003";

let worlds: TempWorld[] = [];
afterEach(() => {
  for (const w of worlds) w.cleanup();
  worlds = [];
});

const byUser = (w: TempWorld) =>
  Object.fromEntries(
    queryUsage(w.db, { by: "user" }).map((r) => [r.key, { requests: r.requests, costUsd: r.costUsd }]),
  );

/** OpenClaw's sweep deleted the orchestrator (entry gone, transcript archived); the worker goes on. */
function orchestratorArchived(sessions: string): void {
  copyFileSync(join(CASE, "later", "sessions.json"), join(sessions, "sessions.json"));
  renameSync(join(sessions, `${A}.jsonl`), join(sessions, `${A}.jsonl.deleted.2026-11-22T19-30-00.000Z`));
  appendFileSync(join(sessions, `${B}.jsonl`), readFileSync(join(CASE, "later", "worker-turn.jsonl")));
}

describe("case subagent-parent-deleted: a worker whose orchestrator OpenClaw deleted still bills the DM's user", () => {
  it("JSONL: telegram:5550808 4 calls $0.027, nothing on agent:main", async () => {
    const { s, world } = await meterCaseDir(CASE);
    worlds.push(world);
    expect(s.billed).toBe(3);
    expect(byUser(world)).toEqual({ "telegram:5550808": { requests: 3, costUsd: "0.018" } });
    orchestratorArchived(join(world.stateDir, "agents", "main", "sessions"));
    const meter = meterFor(world, { pricer: casePricer(CASE) });
    const s2 = await meter.runOnce();
    meter.close();
    expect(s2.billed).toBe(1);
    // before 2026-12-04: telegram:5550808 3 calls $0.018 and agent:main 1 call $0.009
    expect(byUser(world)).toEqual({ "telegram:5550808": { requests: 4, costUsd: "0.027" } });
  });

  it("OpenClaw SQLite store: the same", async () => {
    const src = tempWorld(join(CASE, "state"));
    worlds.push(src);
    copyFileSync(join(CASE, "state", "openclaw.json"), join(src.stateDir, "openclaw.json"));
    const w = tempWorld();
    worlds.push(w);
    jsonlToStore(src.stateDir, w.stateDir);
    const m1 = meterFor(w, { pricer: casePricer(CASE) });
    expect((await m1.runOnce()).billed).toBe(3);
    m1.close();
    // the store as OpenClaw keeps it after the delete: the orchestrator's rows gone, the worker's new row
    orchestratorArchived(join(src.stateDir, "agents", "main", "sessions"));
    jsonlToStore(src.stateDir, w.stateDir);
    const m2 = meterFor(w, { pricer: casePricer(CASE) });
    expect((await m2.runOnce()).billed).toBe(1);
    m2.close();
    expect(byUser(w)).toEqual({ "telegram:5550808": { requests: 4, costUsd: "0.027" } });
  });

  it("a meter that never saw the orchestrator live has nothing to go on: the operator's, as before", async () => {
    const src = tempWorld(join(CASE, "state"));
    worlds.push(src);
    orchestratorArchived(join(src.stateDir, "agents", "main", "sessions"));
    const meter = meterFor(src, { pricer: casePricer(CASE) });
    await meter.runOnce();
    meter.close();
    const world = src;
    expect(byUser(world)).toEqual({
      "telegram:5550808": { requests: 1, costUsd: "0.0045" },
      "agent:main": { requests: 3, costUsd: "0.0225" },
    });
  });
});
