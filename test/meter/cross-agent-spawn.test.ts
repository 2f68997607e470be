import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import {
  assistantLine,
  meterFor,
  type TempWorld,
  tempWorld,
  totalsBy,
  writeJson,
} from "../support/meter-env.js";

let w: TempWorld | undefined;
afterEach(() => {
  w?.cleanup();
  w = undefined;
});

const T0 = 1_795_371_100_000;

function agentDir(tw: TempWorld, agent: string): string {
  const d = join(tw.stateDir, "agents", agent, "sessions");
  mkdirSync(d, { recursive: true });
  return d;
}

describe("a spawn chain that crosses agents", () => {
  it("a sub-agent's sub-agent in a third agent takes the per-peer root's channel from the root's agent", async () => {
    w = tempWorld();
    const main = agentDir(w, "main");
    const research = agentDir(w, "research");
    const writer = agentDir(w, "writer");
    writeFileSync(join(main, "root.jsonl"), `${assistantLine(T0)}\n`);
    writeFileSync(join(research, "r.jsonl"), `${assistantLine(T0 + 1)}\n`);
    writeFileSync(join(writer, "x.jsonl"), `${assistantLine(T0 + 2)}\n`);
    writeJson(join(main, "sessions.json"), {
      "agent:main:direct:+15551234567": { sessionId: "root", lastChannel: "whatsapp" },
    });
    writeJson(join(research, "sessions.json"), {
      "agent:research:subagent:a": { sessionId: "r", spawnedBy: "agent:main:direct:+15551234567" },
    });
    writeJson(join(writer, "sessions.json"), {
      "agent:writer:subagent:b": { sessionId: "x", spawnedBy: "agent:research:subagent:a" },
      // a requester key naming no real agent dir (never a path outside agents/): no channel is
      // found, so as before a channel-less direct: account, never an error
      "agent:writer:subagent:c": { sessionId: "y", spawnedBy: "agent:../../etc:direct:1" },
    });
    writeFileSync(join(writer, "y.jsonl"), `${assistantLine(T0 + 3)}\n`);
    const meter = meterFor(w);
    await meter.runOnce();
    meter.close();
    const byAccount = Object.fromEntries([...totalsBy(w.db, "account_id")].map(([k, t]) => [k, t.requests]));
    expect(byAccount).toEqual({ "whatsapp:+15551234567": 3, "direct:1": 1 });
  });
});
