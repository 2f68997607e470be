import { join, resolve } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { queryUsage } from "../../src/meter/report.js";
import { meterCaseDir, type TempWorld } from "../support/meter-env.js";

const CASES = resolve(import.meta.dirname, "../cases");

let w: TempWorld | undefined;
afterEach(() => {
  w?.cleanup();
  w = undefined;
});

describe("case store-import-dropped-dm-channel: a per-peer DM whose route doctor's import folded away", () => {
  it("discord:123456789012345678 2 calls $0.012 (with its sub-agent), telegram:5550202 $0.00165, no direct: account", async () => {
    const r = await meterCaseDir(join(CASES, "store-import-dropped-dm-channel"));
    w = r.world;
    expect(r.s.billed).toBe(3);
    const byUser = Object.fromEntries(
      queryUsage(r.world.db, { by: "user" }).map((u) => [u.key, [u.requests, u.costUsd]]),
    );
    expect(byUser).toEqual({
      "discord:123456789012345678": [2, "0.012"],
      "telegram:5550202": [1, "0.00165"],
    });
  });
});

describe("case store-import-cross-agent-subagent-channel: a sub-agent in another agent's store, spawned from an imported DM", () => {
  it("telegram:5550303 2 calls $0.0135 (the DM $0.0045 and ops' sub-agent $0.009), no direct: account", async () => {
    const r = await meterCaseDir(join(CASES, "store-import-cross-agent-subagent-channel"));
    w = r.world;
    expect(r.s.billed).toBe(2);
    const byUser = Object.fromEntries(
      queryUsage(r.world.db, { by: "user" }).map((u) => [u.key, [u.requests, u.costUsd]]),
    );
    expect(byUser).toEqual({ "telegram:5550303": [2, "0.0135"] });
  });
});
