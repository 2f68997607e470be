import { readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { queryUsage } from "../../src/meter/report.js";
import { casePricer, meterCaseDir, meterFor, type TempWorld, tempWorld } from "../support/meter-env.js";

/**
 * Case untimed-copy-new-entry-id: a call whose line has no readable time keeps its entry id in its
 * identity (case untimed-usage-line); OpenClaw's transcript rewrite appends the same `message`
 * again under a new entry id, so the copy had another identity and was billed again. Now a call
 * with no time of the same session, provider, model and counts, billed before or in the batch,
 * is its copy.
 */
const NAME = "untimed-copy-new-entry-id";
const CASE = join(resolve(import.meta.dirname, "../cases"), NAME);
const DIR = "agents/main/sessions";
const FILES = ["5d0c7e21-6a4b-4c3d-9e8f-1a2b3c4d5e6f.jsonl", "9e3f5a17-2c8b-4d64-a0f1-7b5d3c9e2a48.jsonl"];
/** Right: 4 calls $0.01605 (before: 6 calls $0.0258, each copy billed again). */
const RIGHT = [
  { key: "telegram:5550902", requests: 3, input: 3500, output: 170, costUsd: "0.01305" },
  { key: "telegram:5550903", requests: 1, input: 800, output: 40, costUsd: "0.003" },
];

let w: TempWorld | undefined;
afterEach(() => {
  w?.cleanup();
  w = undefined;
});

describe(`case ${NAME}: a call with no time re-appended under a new entry id is one call`, () => {
  for (const readerThread of [true, false])
    it(`4 calls $0.01605 (was 6, $0.0258), reader thread ${readerThread}`, async () => {
      const r = await meterCaseDir(CASE, "calculate", { readerThread });
      w = r.world;
      expect(r.s).toMatchObject({ billed: 4, duplicates: 2, held: 0 });
      expect(queryUsage(w.db, { by: "user" })).toMatchObject(RIGHT);
    });

  it("the copies read after a restart (each transcript first read without its copy; the first one rewritten with it, re-read through dedupe): nothing more", async () => {
    w = tempWorld(join(CASE, "state"));
    const full = FILES.map((f) => readFileSync(join(w?.stateDir as string, DIR, f), "utf8"));
    for (const [i, f] of FILES.entries()) {
      // without the copy (`b7`, `c3`): the file as it was before the copy was written
      const lines = (full[i] as string).trimEnd().split("\n");
      const before = lines.filter((l) => !/^\{"type":"message","id":"(b7|c3)"/.test(l));
      expect(before.length).toBe(lines.length - 1);
      writeFileSync(join(w.stateDir, DIR, f), `${before.join("\n")}\n`);
    }
    const first = meterFor(w, { pricer: casePricer(CASE) });
    expect(await first.runOnce()).toMatchObject({ billed: 4 });
    first.close();
    for (const [i, f] of FILES.entries()) writeFileSync(join(w.stateDir, DIR, f), full[i] as string);
    const again = meterFor(w, { pricer: casePricer(CASE) });
    expect(await again.runOnce()).toMatchObject({ billed: 0 });
    again.close();
    expect(queryUsage(w.db, { by: "user" })).toMatchObject(RIGHT);
  });

  it("error replies with no time and the same counts (retries, each charged) stay two calls; another session's call is its own", async () => {
    w = tempWorld(join(CASE, "state"));
    const f = join(w.stateDir, DIR, FILES[1] as string);
    const lines = readFileSync(f, "utf8").trimEnd().split("\n");
    const err = (id: string, parent: string) =>
      JSON.stringify({
        type: "message",
        id,
        parentId: parent,
        message: {
          role: "assistant",
          content: [],
          api: "openai-completions",
          provider: "mock",
          model: "mock-gpt",
          usage: { input: 600, output: 0, cacheRead: 0, cacheWrite: 0, totalTokens: 600 },
          stopReason: "error",
          errorMessage: "upstream 500",
        },
      });
    writeFileSync(f, `${[...lines, err("e1", "c3"), err("e2", "e1")].join("\n")}\n`);
    const m = meterFor(w, { pricer: casePricer(CASE) });
    expect(await m.runOnce()).toMatchObject({ billed: 6, duplicates: 2 });
    m.close();
    expect(queryUsage(w.db, { by: "user" })).toMatchObject([
      RIGHT[0],
      { key: "telegram:5550903", requests: 3, errors: 2, input: 2000, output: 40, costUsd: "0.0066" },
    ]);
  });
});
