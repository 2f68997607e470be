import { join, resolve } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { payerFromKeyAlone } from "../../plugin/src/user.js";
import { queryUsage } from "../../src/meter/report.js";
import { resolveAccount } from "../../src/meter/resolve-user.js";
import { jsonlToStore } from "../support/jsonl-to-store.js";
import { casePricer, meterCaseDir, meterFor, type TempWorld, tempWorld } from "../support/meter-env.js";

const CASE = resolve(import.meta.dirname, "../cases/acp-spawn-payer");

let worlds: TempWorld[] = [];
afterEach(() => {
  for (const w of worlds) w.cleanup();
  worlds = [];
});

const byUser = (w: TempWorld) =>
  Object.fromEntries(
    queryUsage(w.db, { by: "user" }).map((r) => [r.key, { requests: r.requests, costUsd: r.costUsd }]),
  );

// before 2026-12-04: agent:codex 3 calls $0.0585, agent:main 2 calls $0.024,
// telegram:5550101 1 call $0.0045, telegram:5550202 1 call $0.0075
const AFTER = {
  "telegram:5550101": { requests: 2, costUsd: "0.021" },
  "telegram:5550202": { requests: 2, costUsd: "0.027" },
  "agent:main": { requests: 3, costUsd: "0.0465" },
};

describe("case acp-spawn-payer: an ACP harness session bills the root of its spawn chain", () => {
  it("JSONL: the DMs' users pay their ACP spawns, the channel's and the IDE bridge's are the operator's", async () => {
    const { s, world } = await meterCaseDir(CASE);
    worlds.push(world);
    expect(s.billed).toBe(7);
    expect(byUser(world)).toEqual(AFTER);
  });

  it("OpenClaw SQLite store: the same", async () => {
    const src = tempWorld(join(CASE, "state"));
    worlds.push(src);
    const w = tempWorld();
    worlds.push(w);
    jsonlToStore(src.stateDir, w.stateDir);
    const m = meterFor(w, { pricer: casePricer(CASE) });
    expect((await m.runOnce()).billed).toBe(7);
    m.close();
    expect(byUser(w)).toEqual(AFTER);
  });

  it("variants: a nested spawn, an uppercase head, no parent at all", () => {
    const parents: Record<string, string> = {
      "agent:codex:acp:aaa": "agent:main:whatsapp:direct:+15551234567",
      "agent:main:subagent:bbb": "agent:codex:acp:aaa",
      "agent:claude:ACP:ccc": "agent:main:discord:direct:123456789012345678",
    };
    const hints = { parentKey: (k: string) => parents[k] ?? null };
    expect(resolveAccount("codex", "agent:codex:acp:aaa", hints).accountId).toBe("whatsapp:+15551234567");
    // a sub-agent an ACP session spawned goes on up the chain
    expect(resolveAccount("main", "agent:main:subagent:bbb", hints).accountId).toBe("whatsapp:+15551234567");
    expect(resolveAccount("claude", "agent:claude:ACP:ccc", hints).accountId).toBe(
      "discord:123456789012345678",
    );
    // the IDE bridge's own ACP sessions (no requester) and cron stay the operator's
    expect(resolveAccount("main", "agent:main:acp:ddd", hints).accountId).toBe("agent:main");
    expect(resolveAccount("main", "agent:main:cron:job:run:1", hints).accountId).toBe("agent:main");
  });

  it("the plugin pushes no call of an ACP session: only the entry names its payer", () => {
    expect(payerFromKeyAlone("codex", "agent:codex:acp:1f0a7c3e-5b2d-4e8f-a9c6-3d4e5f607182")).toBeNull();
    expect(payerFromKeyAlone("main", "agent:main:subagent:x")).toBeNull();
    expect(payerFromKeyAlone("main", "agent:main:cron:job")?.accountId).toBe("agent:main");
  });
});
