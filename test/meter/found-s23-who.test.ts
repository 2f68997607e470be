import { join, resolve } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { queryUsage } from "../../src/meter/report.js";
import { answersOwnSend } from "../../src/meter/sources/batch-builder.js";
import { meterCaseDir, type TempWorld } from "../support/meter-env.js";

/**
 * Who pays for a turn another session started (`message.provenance`, `sessions_send`): the
 * ping-pong exception must name the session OpenClaw itself resolved the user's send to.
 */
const CASES = resolve(import.meta.dirname, "../cases");

let w: TempWorld | undefined;
afterEach(() => {
  w?.cleanup();
  w = undefined;
});

async function meterCase(name: string) {
  w?.cleanup();
  const r = await meterCaseDir(join(CASES, name), "calculate");
  w = r.world;
  return r;
}

function byUser(world: TempWorld) {
  return Object.fromEntries(
    queryUsage(world.db, { by: "user" }).map((r) => [r.key, { requests: r.requests, costUsd: r.costUsd }]),
  );
}

describe("case sessions-send-short-target-other-agent: a send to `main` answers only `main` (or this agent's main)", () => {
  it("telegram:5550101 3 calls $0.0135, agent:ops 1 call $0.0093 (was telegram:5550101 4 calls $0.0228)", async () => {
    const { s, world } = await meterCase("sessions-send-short-target-other-agent");
    expect(s).toMatchObject({ billed: 4 });
    expect(byUser(world)).toEqual({
      "telegram:5550101": { requests: 3, costUsd: "0.0135" },
      "agent:ops": { requests: 1, costUsd: "0.0093" },
    });
  });

  it("answersOwnSend follows OpenClaw's resolution of a short target", () => {
    // the literal alias, as the ping-pong marks it, and the session's own agent's main session
    expect(answersOwnSend(["main"], "main", "main")).toBe(true);
    expect(answersOwnSend(["main"], "agent:main:main", "main")).toBe(true);
    // another agent's main session is not the one `main` resolved to
    expect(answersOwnSend(["main"], "agent:ops:main", "main")).toBe(false);
    expect(answersOwnSend(["main"], "agent:ops:main", "ops")).toBe(true);
    // a key ending in `:main` deeper down is no resolution of `main`
    expect(answersOwnSend(["main"], "agent:main:telegram:direct:main", "main")).toBe(false);
    // another short key: `sessions.resolve` puts it in an agent (the requester's, or an older
    // gateway's default), one segment
    expect(answersOwnSend(["telegram:direct:5550202"], "agent:main:telegram:direct:5550202", "ops")).toBe(
      true,
    );
    expect(answersOwnSend(["direct:5550202"], "agent:main:telegram:direct:5550202", "main")).toBe(false);
    // a full key is matched as written
    expect(answersOwnSend(["agent:main:main"], "agent:ops:main", "main")).toBe(false);
  });
});
