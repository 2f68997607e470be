/**
 * The differential of the two ways a call reaches creditgate (test/support/push-diff.ts): for
 * every case under test/cases with an OpenClaw state dir, the plugin's push followed by the meter
 * must bill the same calls to the same accounts at the same amounts, and hold the same calls, as
 * the meter alone. A push that bills a call the meter reads otherwise makes the transcript's copy
 * its duplicate (or a second bill). Set CREDITGATE_PUSH_DIFF=all to sweep every case (minutes);
 * by default the cases where the plugin pushes something that once disagreed, plus every case
 * whose name starts with `push-`.
 */
import { existsSync, readdirSync } from "node:fs";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { meterOnly, pluginPushes, pushThenMeter } from "../support/push-diff.js";

const CASES = resolve(import.meta.dirname, "../cases");
/** Cases where the two paths disagreed on 2026-12-04 (fixed since). */
const ONCE_DISAGREED = new Set([
  "response-copy-rewritten",
  "response-id-reused-by-relay",
  "response-id-reused-same-prompt-other-sessions",
  "response-partial-prompt-differs",
  "sessions-send-by-session-id",
  "sessions-send-short-target-other-agent",
  "usage-gemini-thoughts-inside-candidates",
  "whatsapp-lid-sender",
]);
const all = process.env.CREDITGATE_PUSH_DIFF === "all";
const caseDirs = readdirSync(CASES)
  .filter((n) => all || ONCE_DISAGREED.has(n) || n.startsWith("push-"))
  .map((n) => join(CASES, n))
  .filter((d) => existsSync(join(d, "state", "agents")));

describe("plugin push then meter bills as the meter alone", () => {
  it.each(caseDirs.map((d) => [d.split("/").pop() as string, d]))("%s", async (_name, dir) => {
    const events = pluginPushes(dir);
    if (events.length === 0) return;
    const alone = await meterOnly(dir);
    const pushed = await pushThenMeter(dir, events);
    expect(pushed).toEqual(alone);
  });
});
