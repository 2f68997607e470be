import { readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { queryUsage } from "../../src/meter/report.js";
import { casePricer, meterFor, type TempWorld, tempWorld } from "../support/meter-env.js";

/** test/cases found by the s23 hunt (billed costs and hostile values). */
const CASES = resolve(import.meta.dirname, "../cases");

let w: TempWorld | undefined;
afterEach(() => {
  w?.cleanup();
  w = undefined;
});

describe("case huge-line-aborts-reader: a 50 MB transcript line never stops billing", () => {
  it("reader thread on: both calls billed ($0.0045 + $0.0042), the process not aborted", async () => {
    const dir = join(CASES, "huge-line-aborts-reader");
    w = tempWorld(join(dir, "state"));
    const p = join(w.stateDir, "agents/main/sessions/0b40c000-0000-4000-8000-000000000001.jsonl");
    const lines = readFileSync(p, "utf8").trimEnd().split("\n");
    const big = {
      type: "message",
      id: "b0000001",
      parentId: null,
      timestamp: "2026-11-21T10:01:01.000Z",
      message: {
        role: "user",
        content: [{ type: "image", data: "A".repeat(50_000_000), mimeType: "image/png" }],
        timestamp: 1795255260010,
      },
    };
    lines.splice(2, 0, JSON.stringify(big));
    writeFileSync(p, `${lines.join("\n")}\n`);
    const meter = meterFor(w, { pricer: casePricer(dir, "auto"), readerThread: true });
    const s = await meter.runOnce();
    expect(s.billed).toBe(2);
    expect(s.readerThreadCrashes).toBe(1);
    // the next poll reads on a new thread again (a reviewer: it stayed on the main thread)
    const call = lines.find((l) => l.includes('"role": "assistant"')) as string;
    const next = call
      .replace('"id": "20000000"', '"id": "30000000"')
      .replace(/"timestamp": (\d+)/, (_m, t) => `"timestamp": ${Number(t) + 60_000}`);
    writeFileSync(p, `${lines.join("\n")}\n${next}\n`);
    const s2 = await meter.runOnce();
    meter.close();
    expect(s2.billed).toBe(1);
    expect(s2.readerThreadCrashes).toBe(1);
    expect(s2.readerThreadBatches).toBeGreaterThan(0);
    const byUser = Object.fromEntries(queryUsage(w.db, { by: "user" }).map((r) => [r.key, r.costUsd]));
    expect(byUser).toEqual({ "telegram:5559900": "0.009", "telegram:5559901": "0.0042" }); // + the next poll's call
  }, 120_000);
});
