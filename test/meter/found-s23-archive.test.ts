import { copyFileSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { dedupeKey as pluginDedupeKey } from "../../plugin/src/identity.js";
import { dedupeKey, identityProvider } from "../../src/meter/identity.js";
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

  it("both spellings have one identity, in the meter and in the plugin's copy; other lines keep theirs", () => {
    const base = {
      model: "gpt-5.1-codex",
      messageTsMs: 1795168804000,
      input: 1000,
      output: 100,
      cacheRead: 0,
      cacheWrite: 0,
      responseId: "resp_0a1b2c3d4e5f60718293a4b5c6d7e8f9",
    };
    const legacy = dedupeKey({
      ...base,
      provider: "openai-codex",
      api: "openai-codex-responses",
    } as ParsedUsage);
    const renamed = dedupeKey({
      ...base,
      provider: "openai",
      api: "openai-chatgpt-responses",
    } as ParsedUsage);
    expect(renamed).toBe(legacy);
    expect(pluginDedupeKey({ ...base, provider: "openai", api: "openai-chatgpt-responses" })).toBe(legacy);
    expect(dedupeKey({ ...base, provider: "openai", api: "openai-responses" } as ParsedUsage)).not.toBe(
      legacy,
    );
    expect(identityProvider("openai", "openai-responses")).toBe("openai");
  });
});
