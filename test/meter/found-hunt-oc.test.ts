import { copyFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import Database from "better-sqlite3";
import { afterEach, describe, expect, it } from "vitest";
import { queryUsage } from "../../src/meter/report.js";
import { resolveAccount } from "../../src/meter/resolve-user.js";
import { mainKeyOf } from "../../src/meter/sources/openclaw-config.js";
import { casePricer, meterCaseDir, meterFor, type TempWorld, tempWorld } from "../support/meter-env.js";

/**
 * test/cases found by the hunt for what recent OpenClaw releases (2026.5 – 2026.11) write
 * (2026-12-03): each input built from OpenClaw's own source or an issue, with its right value in
 * its README (copied per test, never written).
 */
const CASES = resolve(import.meta.dirname, "../cases");

let w: TempWorld | undefined;
afterEach(() => {
  w?.cleanup();
  w = undefined;
});

async function meterCase(name: string, mode: "calculate" | "auto" | "recorded" = "calculate") {
  w?.cleanup();
  const r = await meterCaseDir(join(CASES, name), mode);
  w = r.world;
  return r;
}

function byUser(world: TempWorld) {
  return Object.fromEntries(
    queryUsage(world.db, { by: "user" }).map((r) => [r.key, { requests: r.requests, costUsd: r.costUsd }]),
  );
}

describe("case store-main-key-without-config: the store's session_key_contract names the main session", () => {
  it("agent:main 2 calls $0.012 (was telegram:5550101, the last sender in its route)", async () => {
    const { s, world } = await meterCase("store-main-key-without-config");
    expect(s.billed).toBe(3);
    expect(byUser(world)).toEqual({
      "agent:main": { requests: 2, costUsd: "0.012" },
      "telegram:5550202": { requests: 1, costUsd: "0.00225" },
    });
  });

  it("a config naming another main key still makes that key the operator's, and the store's too", async () => {
    w = tempWorld(join(CASES, "store-main-key-without-config", "state"));
    writeFileSync(join(w.stateDir, "openclaw.json"), `{ session: { mainKey: "work" } }`);
    const meter = meterFor(w, { pricer: casePricer(join(CASES, "store-main-key-without-config")) });
    await meter.runOnce();
    meter.close();
    expect(byUser(w)).toEqual({
      "agent:main": { requests: 2, costUsd: "0.012" },
      "telegram:5550202": { requests: 1, costUsd: "0.00225" },
    });
  });

  it("a store whose main key is the default `main` changes nothing: the custom session bills its route", async () => {
    w = tempWorld(join(CASES, "store-main-key-without-config", "state"));
    const store = join(w.stateDir, "agents", "main", "agent", "openclaw-agent.sqlite");
    const db = new Database(store);
    db.prepare("UPDATE session_key_contract SET main_key = 'main'").run();
    db.close();
    const meter = meterFor(w, { pricer: casePricer(join(CASES, "store-main-key-without-config")) });
    await meter.runOnce();
    meter.close();
    expect(byUser(w)).toEqual({
      "telegram:5550101": { requests: 2, costUsd: "0.012" },
      "telegram:5550202": { requests: 1, costUsd: "0.00225" },
    });
  });

  it("a store without the table (before schema 23) reads as before", async () => {
    w = tempWorld(join(CASES, "store-main-key-without-config", "state"));
    const store = join(w.stateDir, "agents", "main", "agent", "openclaw-agent.sqlite");
    const db = new Database(store);
    db.exec("DROP TABLE session_key_contract");
    db.close();
    copyFileSync(join(CASES, "custom-main-key", "state", "openclaw.json"), join(w.stateDir, "openclaw.json"));
    const meter = meterFor(w, { pricer: casePricer(join(CASES, "store-main-key-without-config")) });
    await meter.runOnce();
    meter.close();
    // custom-main-key's config names `home` too: the configured key alone still works
    expect(byUser(w)).toEqual({
      "agent:main": { requests: 2, costUsd: "0.012" },
      "telegram:5550202": { requests: 1, costUsd: "0.00225" },
    });
  });
});

describe("resolveAccount: further main keys (mainKeys) are the operator's like the configured one", () => {
  const route = { channel: "telegram", routeTargets: ["telegram:5550101"] };
  it("a key equal to one of mainKeys, any case, is the operator's main session", () => {
    expect(resolveAccount("main", "agent:main:Home", { ...route, mainKeys: ["home"] })).toEqual({
      accountId: "agent:main",
      via: "main-key",
    });
    expect(
      resolveAccount("main", "agent:main:home", { ...route, mainKey: "work", mainKeys: ["home"] }).accountId,
    ).toBe("agent:main");
    expect(
      resolveAccount("main", "agent:main:work", { ...route, mainKey: "work", mainKeys: ["home"] }).accountId,
    ).toBe("agent:main");
  });
  it("other keys are read as before (a DM stays its user's; an unfamiliar key bills its route)", () => {
    const hints = { ...route, mainKeys: ["home"] };
    expect(resolveAccount("main", "agent:main:telegram:direct:5550202", hints).accountId).toBe(
      "telegram:5550202",
    );
    expect(resolveAccount("main", "agent:main:homework", hints).accountId).toBe("telegram:5550101");
  });
  it("a sub-agent spawned from the store-named main session is the operator's", () => {
    const r = resolveAccount("main", "agent:main:subagent:0d6e", {
      ...route,
      mainKeys: ["home"],
      parentKey: () => "agent:main:home",
    });
    expect(r.accountId).toBe("agent:main");
  });
  it("mainKeyOf normalizes as OpenClaw's normalizeMainKey, `main` and non-strings are no custom key", () => {
    expect(mainKeyOf(" Home ")).toBe("home");
    expect(mainKeyOf("MAIN")).toBeNull();
    expect(mainKeyOf("")).toBeNull();
    expect(mainKeyOf(null)).toBeNull();
    expect(mainKeyOf(7)).toBeNull();
  });
});
