import { appendFileSync, copyFileSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { codexTwinProviders, dedupeKey } from "../../src/meter/identity.js";
import { queryUsage } from "../../src/meter/report.js";
import type { ParsedUsage } from "../../src/meter/types.js";
import { casePricer, meterFor, type TempWorld, tempWorld } from "../support/meter-env.js";

/** test/cases found by the hunt for transcripts OpenClaw moves, renames or rewrites (2026-12-03). */
const CASES = resolve(import.meta.dirname, "../cases");
const SID = "7c2e4a10-3b5d-4f6e-8a9b-0c1d2e3f4a5b";

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

describe("case doctor-codex-provider-rename: doctor --fix renames openai-codex lines to openai in place", () => {
  const CASE = join(CASES, "doctor-codex-provider-rename");

  it("the call billed before the rewrite is not billed again from the rewritten file (was 2 calls $0.0045)", async () => {
    w = tempWorld(join(CASE, "state"));
    const file = join(w.stateDir, "agents", "main", "sessions", `${SID}.jsonl`);
    const after = readFileSync(file);
    // the transcript as the meter read it before doctor --fix
    copyFileSync(join(CASE, "before.jsonl"), file);
    const meter = meterFor(w, { pricer: casePricer(CASE) });
    expect((await meter.runOnce()).billed).toBe(1);
    // doctor rewrites it in place (fs.writeFile: same inode, 4 bytes shorter per line)
    writeFileSync(file, after);
    await meter.runOnce();
    meter.close();
    expect(byUser(w)).toEqual({ "telegram:5550101": { requests: 1, costUsd: "0.00225" } });
  });

  it("the rewritten file alone bills the call once", async () => {
    w = tempWorld(join(CASE, "state"));
    const meter = meterFor(w, { pricer: casePricer(CASE) });
    expect((await meter.runOnce()).billed).toBe(1);
    meter.close();
    expect(byUser(w)).toEqual({ "telegram:5550101": { requests: 1, costUsd: "0.00225" } });
  });

  it("the rewritten file billed first, then the old file read again (a backup, a restore): billed once", async () => {
    w = tempWorld(join(CASE, "state"));
    const file = join(w.stateDir, "agents", "main", "sessions", `${SID}.jsonl`);
    const meter = meterFor(w, { pricer: casePricer(CASE) });
    expect((await meter.runOnce()).billed).toBe(1);
    copyFileSync(join(CASE, "before.jsonl"), file); // the old spelling, a different file content
    const again = await meter.runOnce();
    meter.close();
    expect(again.billed).toBe(0);
    expect(byUser(w)).toEqual({ "telegram:5550101": { requests: 1, costUsd: "0.00225" } });
  });

  it("a second copy of the response with other counts, refused before the rewrite, stays refused after it (a tester's finding)", async () => {
    w = tempWorld(join(CASE, "state"));
    const file = join(w.stateDir, "agents", "main", "sessions", `${SID}.jsonl`);
    const before = readFileSync(join(CASE, "before.jsonl"), "utf8").split("\n").filter(Boolean);
    const call = before.find((l) => l.includes('"role":"assistant"')) as string;
    // the same response written again a second later with more output: one response, one charge
    const copy = call
      .replace('"output":100', '"output":150')
      .replace('"totalTokens":1100', '"totalTokens":1150')
      .replace("2026-11-20T10:00:05.000Z", "2026-11-20T10:00:06.000Z")
      .replace('"id":"b2c3d4e5"', '"id":"c3d4e5f6"');
    writeFileSync(file, `${before.join("\n")}\n`);
    const meter = meterFor(w, { pricer: casePricer(CASE) });
    expect((await meter.runOnce()).billed).toBe(1);
    const billed = byUser(w);
    appendFileSync(file, `${copy}\n`); // refused by its response identity
    expect((await meter.runOnce()).billed).toBe(0);
    // doctor --fix renames every line of the file in place
    const renamed = readFileSync(file, "utf8")
      .replaceAll('"provider":"openai-codex"', '"provider":"openai"')
      .replaceAll('"api":"openai-codex-responses"', '"api":"openai-chatgpt-responses"');
    writeFileSync(file, renamed);
    expect((await meter.runOnce()).billed).toBe(0);
    meter.close();
    expect(byUser(w)).toEqual(billed);
  });

  it("a branch-repair backup keeping the 2026.4.x harness spelling (provider codex) bills nothing the renamed file billed", async () => {
    w = tempWorld(join(CASE, "state"));
    const dir = join(w.stateDir, "agents", "main", "sessions");
    const meter = meterFor(w, { pricer: casePricer(CASE) });
    expect((await meter.runOnce()).billed).toBe(1);
    const old = readFileSync(join(CASE, "before.jsonl"), "utf8").replaceAll(
      '"provider":"openai-codex"',
      '"provider":"codex"',
    );
    writeFileSync(join(dir, `${SID}.jsonl.pre-doctor-branch-repair-2026-11-25T08-30-12-345Z.bak`), old);
    const again = await meter.runOnce();
    meter.close();
    expect(again.billed).toBe(0);
    expect(byUser(w)).toEqual({ "telegram:5550101": { requests: 1, costUsd: "0.00225" } });
  });

  it("the twin spelling: only a Codex line under either provider name and its own api", () => {
    expect(codexTwinProviders("openai", "openai-chatgpt-responses")).toEqual(["openai-codex", "codex"]);
    expect(codexTwinProviders("openai-codex", "openai-codex-responses")).toEqual(["openai"]);
    expect(codexTwinProviders("codex", "openai-codex-responses")).toEqual(["openai"]);
    expect(codexTwinProviders("openai", "openai-responses")).toEqual([]);
    expect(codexTwinProviders("openai-codex", "openai-chatgpt-responses")).toEqual([]);
    expect(codexTwinProviders("openai", null)).toEqual([]);
    // the identity itself is unchanged: an edge, a center and the plugin on other versions agree
    const base = {
      model: "gpt-5.1-codex",
      messageTsMs: 1795168804000,
      input: 1000,
      output: 100,
      cacheRead: 0,
      cacheWrite: 0,
      responseId: "resp_0a1b2c3d4e5f60718293a4b5c6d7e8f9",
    };
    expect(dedupeKey({ ...base, provider: "openai", api: "openai-chatgpt-responses" } as ParsedUsage)).toBe(
      dedupeKey({ ...base, provider: "openai", api: "openai-responses" } as ParsedUsage),
    );
  });
});
