/**
 * h-diff, 2026-12-04: calls the OpenClaw plugin's push billed otherwise than the transcript meter,
 * found by the push/meter differential (push-meter-differential.test.ts). Each case is billed by
 * the meter alone and by the plugin's push followed by the meter: both must give the right value.
 */
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { usageEvent } from "../../plugin/src/push.js";
import { type Bill, meterOnly, pluginPushes, pushThenMeter } from "../support/push-diff.js";

const CASES = resolve(import.meta.dirname, "../cases");

async function bothPaths(name: string): Promise<{ alone: Bill; pushed: Bill; events: number }> {
  const dir = join(CASES, name);
  const events = pluginPushes(dir);
  return { alone: await meterOnly(dir), pushed: await pushThenMeter(dir, events), events: events.length };
}

describe("case push-inter-session-turn: a turn another session or a cron job started is billed as the meter bills it", () => {
  it("telegram:5550303 3 calls $0.01605, telegram:5550404 1 call $0.00225, agent:main 1 call $0.0051, pushed first or not", async () => {
    const right = {
      byUser: {
        "telegram:5550303": { requests: 3, costUsd: "0.01605" },
        "telegram:5550404": { requests: 1, costUsd: "0.00225" },
        "agent:main": { requests: 1, costUsd: "0.0051" },
      },
      held: 0,
    };
    const { alone, pushed, events } = await bothPaths("push-inter-session-turn");
    expect(alone).toEqual(right);
    expect(pushed).toEqual(right);
    // Henry's two calls and Ivy's own are pushed; the sent turn and the cron turn are left to the meter
    expect(events).toBe(3);
  });
});

describe("case push-google-total-corrects-counts: a Google line whose total corrects its counts is left to the meter", () => {
  it("telegram:5550505 3 calls $0.0070017, pushed first or not (before: $0.0107242 when pushed)", async () => {
    const right = { byUser: { "telegram:5550505": { requests: 3, costUsd: "0.0070017" } }, held: 0 };
    const { alone, pushed, events } = await bothPaths("push-google-total-corrects-counts");
    expect(alone).toEqual(right);
    expect(pushed).toEqual(right);
    expect(events).toBe(1); // the line whose total is its counts' sum
  });

  it("a Google line whose total is the sum is pushed; one whose total is short of it (another shape) is not", () => {
    const where = { agentId: "main", sessionKey: "agent:main:telegram:direct:5550505" };
    const m = (usage: Record<string, unknown>, api = "google-generative-ai") => ({
      role: "assistant",
      content: [],
      api,
      provider: "google",
      model: "gemini-3-pro-preview",
      usage,
      stopReason: "stop",
      timestamp: 1795370420000,
    });
    expect(usageEvent(m({ input: 800, output: 300, totalTokens: 1100 }), where)).not.toBeNull();
    // thoughts 120 counted in the candidates and again in output: total = sum − reasoning
    expect(usageEvent(m({ input: 800, output: 420, reasoning: 120, totalTokens: 1100 }), where)).toBeNull();
    // the same shape on a non-Google API is read as written by the meter too: pushed
    expect(
      usageEvent(
        m({ input: 800, output: 420, reasoning: 120, totalTokens: 1100 }, "openai-completions"),
        where,
      ),
    ).not.toBeNull();
  });
});
