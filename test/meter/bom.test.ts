import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { loadPriceOverrides } from "../../src/meter/pricing.js";
import { bomLength, eachLine } from "../../src/meter/sources/batch-builder.js";
import { assistantLine, meterFor, type TempWorld, tempWorld, totalsBy } from "../support/meter-env.js";
import { zstdStore } from "../support/zstd.js";

let w: TempWorld | undefined;
afterEach(() => {
  w?.cleanup();
  w = undefined;
});

const T0 = 1_795_371_100_000;
const BOM = "\uFEFF";

describe("a UTF-8 byte order mark (Windows editors and PowerShell 5.1 write one)", () => {
  it("before sessions.json does not unattribute every session, nor before a transcript's first line lose it", async () => {
    w = tempWorld();
    const sessions = join(w.stateDir, "agents", "main", "sessions");
    mkdirSync(sessions, { recursive: true });
    // the index rewritten by hand on Windows (openclaw/openclaw#7331's workaround) with a BOM
    writeFileSync(
      join(sessions, "sessions.json"),
      `${BOM}${JSON.stringify({
        "agent:main:telegram:direct:5550101": { sessionId: "s1", lastChannel: "telegram" },
      })}\r\n`,
    );
    // a transcript whose first line is a call, BOM first, CRLF line ends
    writeFileSync(join(sessions, "s1.jsonl"), `${BOM}${assistantLine(T0)}\r\n${assistantLine(T0 + 1)}\r\n`);
    const meter = meterFor(w);
    const s = await meter.runOnce();
    meter.close();
    expect(s).toMatchObject({ billed: 2, malformed: 0 });
    const byAccount = Object.fromEntries([...totalsBy(w.db, "account_id")].map(([k, t]) => [k, t.requests]));
    expect(byAccount).toEqual({ "telegram:5550101": 2 });
  });
});

describe("a byte order mark in the other files creditgate reads", () => {
  it("is skipped before an archive's lines (eachLine), each located where its bytes begin", () => {
    const content = Buffer.from(`${BOM}{"a":1}\n${BOM}{"b":2}\n`);
    const lines = [...eachLine(content)].map(([line, no, at]) => [line.toString("utf8"), no, at]);
    // the first line's BOM is the file's; one mid-file began a joined file (since 2026-12-04 skipped
    // too: it made the line malformed, its call never billed; case bom-joined-transcript)
    expect(lines).toEqual([
      ['{"a":1}', 1, 3],
      ['{"b":2}', 2, 11],
    ]);
    expect(bomLength(Buffer.from([0xef, 0xbb]), 0)).toBe(0);
  });

  it("does not make a price overrides file written by Notepad unreadable", () => {
    w = tempWorld();
    const path = join(w.stateDir, "prices.json");
    writeFileSync(
      path,
      `${BOM}{"mock/mock-gpt": {"input": "3", "output": "15", "cacheRead": "0.3", "cacheWrite": "3.75"}}`,
    );
    expect([...loadPriceOverrides(path).byKey.keys()]).toEqual(["mock/mock-gpt"]);
  });
});

describe("a byte order mark before a cold-storage archive's header", () => {
  it("does not hide the session id its attribution is read from (billed to the user, not the agent)", async () => {
    w = tempWorld();
    const sessions = join(w.stateDir, "agents", "main", "sessions");
    mkdirSync(join(sessions, "cold"), { recursive: true });
    writeFileSync(
      join(sessions, "sessions.json"),
      JSON.stringify({ "agent:main:telegram:direct:5550101": { sessionId: "s1", lastChannel: "telegram" } }),
    );
    // cold storage names are hashes: the session is known only from the header line, here after a
    // BOM (the transcript was hand-edited on Windows before OpenClaw moved it to cold storage)
    const header = JSON.stringify({
      type: "session",
      version: 3,
      id: "s1",
      timestamp: new Date(T0).toISOString(),
    });
    writeFileSync(
      join(sessions, "cold", "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08.jsonl.zst"),
      zstdStore(Buffer.from(`${BOM}${header}\n${assistantLine(T0)}\n`)),
    );
    const meter = meterFor(w);
    const s = await meter.runOnce();
    meter.close();
    expect(s).toMatchObject({ billed: 1, malformed: 0 });
    const byAccount = Object.fromEntries([...totalsBy(w.db, "account_id")].map(([k, t]) => [k, t.requests]));
    expect(byAccount).toEqual({ "telegram:5550101": 1 });
  });
});
