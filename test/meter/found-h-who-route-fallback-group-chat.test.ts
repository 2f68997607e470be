import { join, resolve } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { queryUsage } from "../../src/meter/report.js";
import { resolveAccount } from "../../src/meter/resolve-user.js";
import { jsonlToStore } from "../support/jsonl-to-store.js";
import { casePricer, meterCaseDir, meterFor, type TempWorld, tempWorld } from "../support/meter-env.js";

const CASE = resolve(import.meta.dirname, "../cases/route-fallback-group-chat");

let worlds: TempWorld[] = [];
afterEach(() => {
  for (const w of worlds) w.cleanup();
  worlds = [];
});

const byUser = (w: TempWorld) =>
  Object.fromEntries(
    queryUsage(w.db, { by: "user" }).map((r) => [r.key, { requests: r.requests, costUsd: r.costUsd }]),
  );

// before 2026-12-04: telegram:-1001234567890 1 call $0.0045, telegram:-1001234567890:topic:42 1 call
// $0.0075, chat_id:42 $0.0105, whatsapp:120363401234567890@newsletter $0.0135,
// zalouser:4455667788 $0.0165, telegram:5550101 $0.0195; no agent:main
const AFTER = {
  "agent:main": { requests: 5, costUsd: "0.0525" },
  "telegram:5550101": { requests: 1, costUsd: "0.0195" },
};

describe("case route-fallback-group-chat: an unfamiliar key's route to a group names no user", () => {
  it("JSONL: the group, topic, chat, newsletter and chatType-group sessions are the operator's", async () => {
    const { s, world } = await meterCaseDir(CASE);
    worlds.push(world);
    expect(s.billed).toBe(6);
    expect(byUser(world)).toEqual(AFTER);
  });

  it("OpenClaw SQLite store: the same", async () => {
    const src = tempWorld(join(CASE, "state"));
    worlds.push(src);
    const w = tempWorld();
    worlds.push(w);
    jsonlToStore(src.stateDir, w.stateDir);
    const m = meterFor(w, { pricer: casePricer(CASE) });
    expect((await m.runOnce()).billed).toBe(6);
    m.close();
    expect(byUser(w)).toEqual(AFTER);
  });

  it("variants: other group targets, bare ids, a person's route still bills the person", () => {
    const op = (routeTargets: string[], channel: string, extra = {}) =>
      resolveAccount("main", "agent:main:custom", { channel, routeTargets, ...extra }).accountId;
    expect(op(["-1009876543210"], "telegram")).toBe("agent:main");
    expect(op(["tg:-4001234567"], "telegram")).toBe("agent:main");
    expect(op(["telegram:-100123:topic:7"], "telegram")).toBe("agent:main");
    expect(op(["bluebubbles:chat_guid:iMessage;+;chat123"], "bluebubbles")).toBe("agent:main");
    expect(op(["chat_identifier:chat123456"], "imessage")).toBe("agent:main");
    expect(op(["status@broadcast"], "whatsapp")).toBe("agent:main");
    expect(op(["discord:222333444555666777"], "discord", { sharedChat: true })).toBe("agent:main");
    // a person's route is still that person
    expect(op(["telegram:5550101"], "telegram")).toBe("telegram:5550101");
    expect(op(["5550101"], "telegram")).toBe("telegram:5550101");
    expect(op(["imessage:+15550101234"], "imessage")).toBe("imessage:+15550101234");
    expect(op(["15551234567@s.whatsapp.net"], "whatsapp")).toBe("whatsapp:+15551234567");
    // a DM key never reads its route: unchanged
    expect(resolveAccount("main", "agent:main:telegram:direct:5550101", { sharedChat: true }).accountId).toBe(
      "telegram:5550101",
    );
  });
});
