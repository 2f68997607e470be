// A state dir given as a directory inside it: `--state-dir ~/.openclaw/agents/main/sessions` (where
// the transcripts are), `…/agents/main`, `…/agents` (case test/cases/state-dir-points-into-agent).
import { cpSync, mkdirSync } from "node:fs";
import { join, resolve } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { discoverStateDirs } from "../../src/meter/discover.js";
import { queryUsage } from "../../src/meter/report.js";
import { casePricer, meterFor, type TempWorld, tempWorld } from "../support/meter-env.js";

const CASE = resolve(import.meta.dirname, "../cases/state-dir-points-into-agent");

let w: TempWorld | undefined;
afterEach(() => {
  w?.cleanup();
  w = undefined;
});

const sources = (extra: { explicitStateDirs?: string[]; openclawStateDir?: string }) => ({
  explicitStateDirs: null,
  openclawStateDir: null,
  clawdbotStateDir: null,
  moltbotStateDir: null,
  home: null,
  agents: null,
  ...extra,
});

/** The case's state dir copied, metered over the state dirs `dirs` finds in it. */
async function bills(paths: (state: string) => Parameters<typeof discoverStateDirs>[0]) {
  w = tempWorld();
  const state = join(w.dir, "bot-state");
  cpSync(join(CASE, "state"), state, { recursive: true });
  const dirs = discoverStateDirs(paths(state));
  const meter = meterFor(w, { stateDirs: dirs, pricer: casePricer(CASE, "calculate") });
  const s = await meter.runOnce();
  meter.close();
  const users = Object.fromEntries(
    queryUsage(w.db, { by: "user" }).map((r) => [r.key, [r.requests, r.costUsd]]),
  );
  return { s, users, dirs: dirs.map((d) => [d.path.slice(state.length), d.agents ?? null]) };
}

describe("case state-dir-points-into-agent: a path into a state dir is read as that state dir", () => {
  it("--state-dir …/agents/main/sessions: telegram:5550631 2 calls $0.012, main only (was nothing billed, exit 0)", async () => {
    const r = await bills((st) => sources({ explicitStateDirs: [join(st, "agents", "main", "sessions")] }));
    expect(r.dirs).toEqual([["", ["main"]]]);
    expect(r.s).toMatchObject({ billed: 2, malformed: 0 });
    expect(r.users).toEqual({ "telegram:5550631": [2, "0.012"] });
  });

  it("…/agents/main, …/agents/work/agent and OPENCLAW_STATE_DIR=…/agents: the named agents, or all", async () => {
    let r = await bills((st) =>
      sources({ explicitStateDirs: [join(st, "agents", "main"), join(st, "agents", "work", "sessions")] }),
    );
    expect(r.dirs).toEqual([["", ["main", "work"]]]);
    expect(r.users).toEqual({ "telegram:5550631": [2, "0.012"], "telegram:5550632": [1, "0.012"] });
    w?.cleanup();
    r = await bills((st) => {
      mkdirSync(join(st, "agents", "work", "agent"));
      return sources({ explicitStateDirs: [join(st, "agents", "work", "agent")] });
    });
    expect(r.users).toEqual({ "telegram:5550632": [1, "0.012"] });
    w?.cleanup();
    r = await bills((st) => sources({ openclawStateDir: join(st, "agents") }));
    expect(r.dirs).toEqual([["", null]]);
    expect(r.users).toEqual({ "telegram:5550631": [2, "0.012"], "telegram:5550632": [1, "0.012"] });
    w?.cleanup();
    // the state dir itself and a path into it: every agent, read once
    r = await bills((st) => sources({ explicitStateDirs: [join(st, "agents", "main", "sessions"), st] }));
    expect(r.dirs).toEqual([["", null]]);
    expect(r.s).toMatchObject({ billed: 3 });
  });

  it("a state dir named like an agent's dir (it holds agents/) and a path that does not exist are kept as given", () => {
    w = tempWorld();
    const odd = join(w.dir, "agents", "sessions");
    mkdirSync(join(odd, "agents"), { recursive: true });
    expect(discoverStateDirs(sources({ explicitStateDirs: [odd] }))).toEqual([
      { path: odd, via: "--state-dir or CREDITGATE_STATE_DIRS" },
    ]);
    const later = join(w.dir, "not-yet", "agents", "main", "sessions");
    expect(discoverStateDirs(sources({ explicitStateDirs: [later] }))).toEqual([
      { path: later, via: "--state-dir or CREDITGATE_STATE_DIRS" },
    ]);
  });
});
