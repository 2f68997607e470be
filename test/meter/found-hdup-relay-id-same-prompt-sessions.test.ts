import { appendFileSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { mayBeCopies } from "../../src/meter/identity.js";
import { queryUsage } from "../../src/meter/report.js";
import { casePricer, meterFor, type TempWorld, tempWorld } from "../support/meter-env.js";

/**
 * Case response-id-reused-same-prompt-other-sessions: a relay that answers every response with one
 * id (ccusage/ccusage#1635, #1762) and three new Telegram users whose first message, `/start`, is
 * the same prompt (1,200 tokens). creditgate took the second and third users' calls for copies of
 * the first one billed under that id (same prompt) and billed only one of the three users. Copies
 * of one response are written in the session that made it or verbatim (same message time);
 * calls in other sessions at other times are calls.
 */
const NAME = "response-id-reused-same-prompt-other-sessions";
const CASE = join(resolve(import.meta.dirname, "../cases"), NAME);
const SESSIONS = "agents/main/sessions";
const RIGHT = [
  { key: "telegram:5551402", requests: 1, input: 1200, output: 120, costUsd: "0.0054" },
  { key: "telegram:5551401", requests: 1, input: 1200, output: 90, costUsd: "0.00495" },
  { key: "telegram:5551403", requests: 1, input: 1200, output: 90, costUsd: "0.00495" },
];
const FILES = readdirSync(join(CASE, "state", SESSIONS))
  .filter((f) => f.endsWith(".jsonl"))
  .sort();

let w: TempWorld | undefined;
afterEach(() => {
  w?.cleanup();
  w = undefined;
});

const usageOf = () => queryUsage((w as TempWorld).db, { by: "user" });

describe(`case ${NAME}: the same prompt in other sessions under one reused response id`, () => {
  it("3 users billed, $0.0153 (was 1 user, $0.0054); the rewritten copy in the first session stays one call", async () => {
    w = tempWorld(join(CASE, "state"));
    const meter = meterFor(w, { pricer: casePricer(CASE) });
    expect(await meter.runOnce()).toMatchObject({ billed: 3, duplicates: 1 });
    expect(await meter.runOnce()).toMatchObject({ billed: 0 });
    meter.close();
    expect(usageOf()).toMatchObject(RIGHT);
  });

  for (const restart of [false, true]) {
    it(`one session per poll${restart ? " with restarts" : ""}, then copies: the same bill`, async () => {
      w = tempWorld(join(CASE, "state"));
      const dir = join(w.stateDir, SESSIONS);
      const full = new Map(FILES.map((f) => [f, readFileSync(join(dir, f), "utf8")]));
      for (const f of FILES) rmSync(join(dir, f));
      let meter = meterFor(w, { pricer: casePricer(CASE) });
      for (const f of FILES) {
        writeFileSync(join(dir, f), full.get(f) as string);
        expect((await meter.runOnce()).billed).toBe(1);
        if (restart) {
          meter.close();
          meter = meterFor(w, { pricer: casePricer(CASE) });
        }
      }
      expect(usageOf()).toMatchObject(RIGHT);
      // the third user's reply written again in its session 3 s later, a `.reset` archive of the
      // second's and a fork of the first's (verbatim, another session): nothing more
      const third = (full.get(FILES[2] as string) as string).trimEnd().split("\n");
      const reply = JSON.parse(third[2] as string);
      reply.id = "c1a00304";
      reply.message.timestamp += 3000;
      appendFileSync(join(dir, FILES[2] as string), `${JSON.stringify(reply)}\n`);
      writeFileSync(
        join(dir, `${FILES[1]}.reset.2026-09-21T17-00-00.000Z`),
        full.get(FILES[1] as string) as string,
      );
      mkdirSync(dir, { recursive: true });
      const first = (full.get(FILES[0] as string) as string).trimEnd().split("\n");
      const header = { ...JSON.parse(first[0] as string), id: "9f0e0d0c-0b0a-4909-8807-060504030201" };
      header.parentSession = join(dir, FILES[0] as string);
      writeFileSync(
        join(dir, "2026-09-21T18-00-00-000Z_9f0e0d0c-0b0a-4909-8807-060504030201.jsonl"),
        `${[JSON.stringify(header), ...first.slice(1)].join("\n")}\n`,
      );
      expect((await meter.runOnce()).billed).toBe(0);
      meter.close();
      expect(usageOf()).toMatchObject(RIGHT);
    });
  }

  it("mayBeCopies: the same session or the same message time, or a place unknown", () => {
    const a = { sessionId: "s1", messageTsMs: 1 };
    expect(mayBeCopies(a, { sessionId: "s1", messageTsMs: 2 })).toBe(true);
    expect(mayBeCopies(a, { sessionId: "s2", messageTsMs: 1 })).toBe(true);
    expect(mayBeCopies(a, { sessionId: null, messageTsMs: 2 })).toBe(true);
    expect(mayBeCopies(a, { sessionId: "s2", messageTsMs: 2 })).toBe(false);
  });
});
