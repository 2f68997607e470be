import { join, resolve } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import type { MeterOptions } from "../../src/meter/meter.js";
import { queryUsage } from "../../src/meter/report.js";
import { resolveAccount } from "../../src/meter/resolve-user.js";
import { meterCaseDir, type TempWorld } from "../support/meter-env.js";

/**
 * Cases of the hunt for calls billed to the wrong payer (the wrong user, the operator instead of
 * the user or the other way round): test/cases/<name>, each with its right value in its README.
 */
const CASES = resolve(import.meta.dirname, "../cases");

let w: TempWorld | undefined;
afterEach(() => {
  w?.cleanup();
  w = undefined;
});

async function meterCase(name: string, extra: Partial<MeterOptions> = {}) {
  w?.cleanup();
  const r = await meterCaseDir(join(CASES, name), "calculate", extra);
  w = r.world;
  return r;
}

function byUser(world: TempWorld) {
  return Object.fromEntries(
    queryUsage(world.db, { by: "user" }).map((r) => [r.key, { requests: r.requests, costUsd: r.costUsd }]),
  );
}

describe("case checkpoint-branch-copied-route: the operator's checkpoint branch of a DM is the operator's", () => {
  it("telegram:5550101 2 calls $0.012, agent:main 1 call $0.0075 (was telegram:5550101 3 calls $0.0195)", async () => {
    const { s, world } = await meterCase("checkpoint-branch-copied-route");
    expect(s).toMatchObject({ billed: 3, duplicates: 2 });
    expect(byUser(world)).toEqual({
      "telegram:5550101": { requests: 2, costUsd: "0.012" },
      "agent:main": { requests: 1, costUsd: "0.0075" },
    });
  });

  it("a dashboard key is the operator's whatever route its entry holds; a configured slash prefix still wins", () => {
    const route = { channel: "telegram", routeTargets: ["telegram:5550101", "telegram:5550101"] };
    expect(resolveAccount("main", "agent:main:dashboard:3b9f6c1e", route)).toEqual({
      accountId: "agent:main",
      via: "dashboard",
    });
    expect(resolveAccount("main", "agent:main:dashboard:incognito-3b9f6c1e", route).accountId).toBe(
      "agent:main",
    );
    // other unfamiliar keys still fall back to the route (an ephemeral reply's user)
    expect(resolveAccount("main", "agent:main:explicit:3b9f6c1e", route).accountId).toBe("telegram:5550101");
    expect(
      resolveAccount("main", "agent:main:dashboard:u07abc", {
        slashPrefixes: [{ prefix: "dashboard", channel: "slack" }],
      }).accountId,
    ).toBe("slack:u07abc");
  });
});

describe("case slack-grid-main-dm-custom-main-key: a Grid workspace's main DM session is the operator's", () => {
  it("agent:main 2 calls $0.012 (was slack:u07bob 2 calls $0.012, Alice's call included)", async () => {
    const { s, world } = await meterCase("slack-grid-main-dm-custom-main-key");
    expect(s.billed).toBe(2);
    expect(byUser(world)).toEqual({ "agent:main": { requests: 2, costUsd: "0.012" } });
  });

  it("<mainKey>:account:<a>:team:<t> (and its threads) is the main session; other keys under the word are not", () => {
    const bob = { channel: "slack", routeTargets: ["slack:U07BOB", "user:U07BOB"], mainKey: "work" };
    for (const key of [
      "agent:main:work",
      "agent:main:work:account:default:team:t0grida",
      "agent:main:Work:Account:ops:Team:T0GRIDA",
      "agent:main:work:account:default:team:t0grida:thread:1791192600.000100",
    ])
      expect(resolveAccount("main", key, bob), key).toEqual({ accountId: "agent:main", via: "main-key" });
    // the default main key's Grid session is the operator's by its `main` head
    expect(resolveAccount("main", "agent:main:main:account:default:team:t0grida", bob).accountId).toBe(
      "agent:main",
    );
    // not the main session: an unrelated key starting with the word, a DM of a channel so named
    expect(resolveAccount("main", "agent:main:work:team:t0grida", bob).accountId).toBe("slack:u07bob");
    expect(
      resolveAccount("main", "agent:main:slack:direct:u07bob", { ...bob, mainKey: "slack" }).accountId,
    ).toBe("slack:u07bob");
  });
});
