import { readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { usageEvent as pluginUsageEvent } from "../../plugin/src/push.js";
import { pushEventOf } from "../../src/edge/index.js";
import { createPushIngester } from "../../src/ingest/index.js";
import { mayBeCopies } from "../../src/meter/identity.js";
import { parseLine, usageEvent } from "../../src/meter/parse.js";
import { queryUsage } from "../../src/meter/report.js";
import { parseDecimal } from "../../src/money.js";
import { casePricer, meterFor, type TempWorld, tempWorld } from "../support/meter-env.js";

/**
 * Case push-session-key-letter-case: a reply the plugin pushed under the session key as the hook
 * spelled it (`agent:main:slack:direct:U07ABC123`) and its rewritten copy (same response id and
 * counts, a new `message.timestamp` 2.5 s later: openclaw/openclaw#47211) read by the meter under
 * the key OpenClaw's store keeps, lower-cased (`normalizeStoreSessionKey`: trim + lower case). The
 * center told the two places apart by comparing the keys as written, took the copy for another
 * call of the same prompt under a reused id, and billed the reply twice.
 */
const NAME = "push-session-key-letter-case";
const CASE = join(resolve(import.meta.dirname, "../cases"), NAME);
const SID = "5b2e8c41-7a93-4d06-b1f5-2c8e9a4d7f30";
const FILE = `agents/main/sessions/${SID}.jsonl`;
const HOOK_KEY = "agent:main:slack:direct:U07ABC123";
const STORE_KEY = "agent:main:slack:direct:u07abc123";
/** Right: the meter's own bill, one reply (before: 2 requests $0.0165). */
const RIGHT = [{ key: "slack:u07abc123", requests: 1, input: 2000, output: 150, costUsd: "0.00825" }];

let w: TempWorld | undefined;
afterEach(() => {
  w?.cleanup();
  w = undefined;
});

function lines(stateDir: string): string[] {
  return readFileSync(join(stateDir, FILE), "utf8").trimEnd().split("\n");
}

function ingester(t: TempWorld) {
  return createPushIngester(t.db, {
    pricer: casePricer(CASE),
    markup: parseDecimal("1"),
    creditsPerUsd: parseDecimal("1"),
    nowMs: () => Date.UTC(2026, 10, 24, 9, 5),
  });
}

/** The plugin's push of transcript line `text` with the hook's session key. */
function pluginPush(text: string, sessionKey: string) {
  const ev = pluginUsageEvent(JSON.parse(text).message, { agentId: "main", sessionKey });
  if (ev === null) throw new Error("not pushed");
  return ev;
}

describe(`case ${NAME}: one session's key spelled in two letter cases is one session`, () => {
  for (const copyLater of [false, true])
    it(`the plugin pushed the reply under the hook's key, the meter reads its copy under the store's${copyLater ? " a poll later" : ""}: 1 request $0.00825 (was 2, $0.0165)`, async () => {
      w = tempWorld(join(CASE, "state"));
      const all = lines(w.stateDir);
      const reply = all[2] as string;
      // the meter's first poll sees the transcript before the copy was written
      if (copyLater) writeFileSync(join(w.stateDir, FILE), `${all.slice(0, 3).join("\n")}\n`);
      expect(ingester(w).ingest([pluginPush(reply, HOOK_KEY)], "push:r1", "k1")[0]?.status).toBe("billed");
      const m = meterFor(w, { pricer: casePricer(CASE) });
      expect(await m.runOnce()).toMatchObject({ billed: 0 });
      if (copyLater) {
        writeFileSync(join(w.stateDir, FILE), `${all.join("\n")}\n`);
        expect(await m.runOnce()).toMatchObject({ billed: 0 });
      }
      m.close();
      expect(queryUsage(w.db, { by: "user" })).toMatchObject(RIGHT);
    });

  it("the plugin's push and the same host's edge push of the copy under the store's key: the copy is a duplicate", () => {
    w = tempWorld(join(CASE, "state"));
    const [, , reply, copy] = lines(w.stateDir);
    const p = parseLine(copy as string);
    if (p.kind !== "usage") throw new Error("not a call");
    const edge = pushEventOf(
      usageEvent(p.usage, "main", SID, STORE_KEY, "slack:u07abc123", "jsonl", `${FILE}@0`),
      "bot-host-1",
    );
    const ing = ingester(w);
    expect(ing.ingest([pluginPush(reply as string, HOOK_KEY)], "push:r1", "k1")[0]?.status).toBe("billed");
    expect(ing.ingest([edge], "push:r2", "k1")[0]?.status).toBe("duplicate");
    expect(queryUsage(w.db, { by: "user" })).toMatchObject(RIGHT);
  });

  it("keys are compared as OpenClaw's store compares them (trimmed, lower case); other keys stay two sessions", () => {
    const at = (sessionKey: string, t: number) => ({ sessionId: null, messageTsMs: t, sessionKey });
    expect(mayBeCopies(at(HOOK_KEY, 1), at(STORE_KEY, 2))).toBe(true);
    expect(mayBeCopies(at(` ${STORE_KEY}\n`, 1), at(HOOK_KEY, 2))).toBe(true);
    expect(mayBeCopies(at(HOOK_KEY, 1), at("agent:main:slack:direct:u07abc124", 2))).toBe(false);
  });
});
