// A conversation bound to a persistent ACP session (`agent:<a>:acp:binding:<channel>:<account>:<hash>`)
// bills the DM's user, not the operator (test/cases/acp-binding-dm-payer; r-meter review, 2026-12-04).
import { join, resolve } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { payerFromKeyAlone } from "../../plugin/src/user.js";
import { queryUsage } from "../../src/meter/report.js";
import { resolveAccount } from "../../src/meter/resolve-user.js";
import { jsonlToStore } from "../support/jsonl-to-store.js";
import { casePricer, meterCaseDir, meterFor, type TempWorld, tempWorld } from "../support/meter-env.js";

const CASE = resolve(import.meta.dirname, "../cases/acp-binding-dm-payer");

let worlds: TempWorld[] = [];
afterEach(() => {
  for (const w of worlds) w.cleanup();
  worlds = [];
});

const byUser = (w: TempWorld) =>
  Object.fromEntries(
    queryUsage(w.db, { by: "user" }).map((r) => [r.key, { requests: r.requests, costUsd: r.costUsd }]),
  );

// before 2026-12-04: agent:codex 4 calls $0.0285
const AFTER = {
  "telegram:5550101": { requests: 2, costUsd: "0.009" },
  "whatsapp:+15551234567": { requests: 1, costUsd: "0.0075" },
  "agent:codex": { requests: 1, costUsd: "0.012" },
};

describe("case acp-binding-dm-payer: a DM bound to an ACP agent bills its user", () => {
  it("JSONL: the bound Telegram and WhatsApp DMs bill their users, the bound Discord channel the operator", async () => {
    const { s, world } = await meterCaseDir(CASE);
    worlds.push(world);
    expect(s.billed).toBe(4);
    expect(byUser(world)).toEqual(AFTER);
  });

  it("OpenClaw SQLite store: the same", async () => {
    const src = tempWorld(join(CASE, "state"));
    worlds.push(src);
    const w = tempWorld();
    worlds.push(w);
    jsonlToStore(src.stateDir, w.stateDir);
    const m = meterFor(w, { pricer: casePricer(CASE) });
    expect((await m.runOnce()).billed).toBe(4);
    m.close();
    expect(byUser(w)).toEqual(AFTER);
  });

  it("variants: the entry decides; a route on another channel, a group or no direct chat is the operator's", () => {
    const key = "agent:codex:acp:binding:telegram:default:9373ab192b2317f4";
    const dm = { directChat: { user: "telegram:5550101" }, routeTargets: ["telegram:5550101"] };
    expect(resolveAccount("codex", key, dm).accountId).toBe("telegram:5550101");
    // an uppercase word, a route target only (no origin user), a Discord `user:` target
    expect(resolveAccount("codex", key.replace("binding", "BINDING"), dm).accountId).toBe("telegram:5550101");
    expect(
      resolveAccount("codex", key, { directChat: { user: null }, routeTargets: ["telegram:5550101"] })
        .accountId,
    ).toBe("telegram:5550101");
    expect(
      resolveAccount("claude", "agent:claude:acp:binding:discord:default:abc", {
        directChat: { user: null },
        routeTargets: ["user:123456789012345678"],
      }).accountId,
    ).toBe("discord:123456789012345678");
    // no direct chat recorded (a bound group, topic or channel) or none at all: the operator's
    expect(
      resolveAccount("codex", key, { directChat: null, routeTargets: ["telegram:5550101"] }).accountId,
    ).toBe("agent:codex");
    expect(resolveAccount("codex", key, {}).accountId).toBe("agent:codex");
    // a route to a group, or to another channel than the bound one, names no user of this binding
    expect(
      resolveAccount("codex", key, { directChat: { user: null }, routeTargets: ["telegram:group:-1001234"] })
        .accountId,
    ).toBe("agent:codex");
    expect(
      resolveAccount("codex", key, { directChat: { user: "discord:42" }, routeTargets: ["discord:42"] })
        .accountId,
    ).toBe("agent:codex");
    // a sub-agent spawned from a bound DM bills that DM's user
    const parents: Record<string, string> = { "agent:main:subagent:x": key };
    expect(
      resolveAccount("main", "agent:main:subagent:x", {
        parentKey: (k: string) => parents[k] ?? null,
        directChatOfKey: (k: string) => (k === key ? { user: "telegram:5550101" } : null),
      }).accountId,
    ).toBe("telegram:5550101");
    // the IDE bridge's and spawned ACP sessions are unchanged
    expect(resolveAccount("main", "agent:main:acp:ddd", {}).accountId).toBe("agent:main");
  });

  it("the plugin pushes no call of a bound ACP session: only the entry names its payer", () => {
    expect(
      payerFromKeyAlone("codex", "agent:codex:acp:binding:telegram:default:9373ab192b2317f4"),
    ).toBeNull();
  });
});
