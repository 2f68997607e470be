import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, test } from "vitest";
import { usageEvent } from "../src/push.js";

// creditgate's own meter, when the plugin is tested inside the repository (as push.test.ts does).
const repoSrc = fileURLToPath(new URL("../../src/meter/", import.meta.url));
const inRepo = existsSync(`${repoSrc}parse.ts`) && existsSync(`${repoSrc}identity.ts`);
type Meter = {
  parseEntry: (e: unknown) => { kind: string; usage?: unknown };
  dedupeKey: (u: unknown) => string;
};
const meter: Meter | null = inRepo
  ? {
      ...((await import(/* @vite-ignore */ `${repoSrc}parse.ts`)) as Pick<Meter, "parseEntry">),
      ...((await import(/* @vite-ignore */ `${repoSrc}identity.ts`)) as Pick<Meter, "dedupeKey">),
    }
  : null;

/**
 * Found by a fresh tester (branch try2): the push and the transcript meter must give one call one
 * identity, or the call is billed twice (once pushed, once read). Both fixed in plugin/src/push.ts (trivial).
 */
const where = { agentId: "main", sessionKey: "agent:main:telegram:direct:5550101" };
const msg = (usage: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({
  role: "assistant",
  content: [],
  api: "openai-completions",
  provider: "mock",
  model: "mock-gpt",
  usage,
  stopReason: "stop",
  timestamp: 1795371307361,
  ...extra,
});
const meterIdentity = (m: Record<string, unknown>) => {
  if (!meter) throw new Error("not in the repository");
  const r = meter.parseEntry({ type: "message", id: "x", timestamp: "2026-11-22T18:15:07.479Z", message: m });
  if (r.kind !== "usage") throw new Error(r.kind);
  return meter.dedupeKey(r.usage);
};

describe.runIf(inRepo)("push vs meter identity for the forms 7cfc111 / 9dc37e5 read differently", () => {
  test("pi-ai usage: one identity (holds)", () => {
    const m = msg({ input: 1498, output: 47, cacheRead: 13184, cacheWrite: 0, totalTokens: 14729 });
    expect(usageEvent(m, where)?.idempotencyKey).toBe(meterIdentity(m));
  });

  test("OpenRouter's numeric usage.cost or BYOK fields: left to the meter, which bills what they say", () => {
    const base = { input: 1000, output: 100, cacheRead: 0, cacheWrite: 0 };
    expect(usageEvent(msg({ ...base, cost: 0.0045 }), where)).toBeNull();
    expect(usageEvent(msg({ ...base, cost: { total: 0 }, is_byok: true }), where)).toBeNull();
    expect(usageEvent(msg({ ...base, cost: { total: 0.001 } }), where)).not.toBeNull();
  });

  test("provider names only: the push leaves it to the meter (holds)", () => {
    expect(usageEvent(msg({ prompt_tokens: 100, completion_tokens: 5 }), where)).toBeNull();
  });

  // The meter (7cfc111) reads `prompt_tokens` when `usage.input` is absent, even if `output` is a
  // pi-ai field; the push reads input as 0 and pushes the call: two identities, billed twice.
  test("pi-ai output with a provider-named input: push skips it or keys it as the meter does", () => {
    const m = msg({ output: 5, prompt_tokens: 100 });
    const e = usageEvent(m, where);
    expect(e === null || e.idempotencyKey === meterIdentity(m)).toBe(true);
  });

  // The meter's `str(api)` treats "" as no api and falls back to the provider ("google"): it takes
  // the cache out of input. The push checks `typeof api === "string"` and pushes the written counts
  // first: the cache is billed twice and the corrected transcript copy is its duplicate.
  test('api "" with provider google and input holding the cache: the push leaves it to the meter', () => {
    const m = msg(
      { input: 21675, output: 5, cacheRead: 16289, cacheWrite: 0, totalTokens: 21680 },
      { api: "", provider: "google", model: "gemini-3-flash-preview" },
    );
    expect(usageEvent(m, where)).toBeNull();
  });

  test("Codex harness input holding the cache (openclaw/openclaw#69298): the push leaves it to the meter", () => {
    const m = msg(
      { input: 48210, output: 812, cacheRead: 45056, cacheWrite: 0, totalTokens: 49022 },
      { api: "openai-codex-responses", provider: "openai-codex", model: "gpt-5.4" },
    );
    expect(usageEvent(m, where)).toBeNull();
  });

  test("Claude CLI backend line (api cli, provider claude-cli, totalTokens = input + output): pushed as written, one identity", () => {
    // Anthropic usage: input excludes the cache; OpenClaw's buildUsageWithNoCost left the cache out of
    // the total. Not the Codex-harness shape: the push bills it and the meter reads the same counts.
    const m = msg(
      { input: 5200, output: 300, cacheRead: 4800, cacheWrite: 0, totalTokens: 5500 },
      { api: "cli", provider: "claude-cli", model: "claude-sonnet-4-5" },
    );
    const ev = usageEvent(m, where);
    expect(ev?.input).toBe(5200);
    expect(ev?.idempotencyKey).toBe(meterIdentity(m));
  });

  test("another CLI backend's line of that shape (its total tells nothing): pushed as written; codex-cli left to the meter", () => {
    const usage = { input: 5200, output: 300, cacheRead: 4800, cacheWrite: 0, totalTokens: 5500 };
    const other = msg(usage, { api: "cli", provider: "gemini-cli", model: "gemini-2.5-pro" });
    const ev = usageEvent(other, where);
    expect(ev?.input).toBe(5200);
    expect(ev?.idempotencyKey).toBe(meterIdentity(other));
    expect(usageEvent(msg(usage, { api: "cli", provider: "codex-cli", model: "gpt-5.4" }), where)).toBeNull();
  });

  test("an api cli line of a provider that is no CLI backend (OpenClaw's mirror of an embedded run): left to the meter", () => {
    // embeddedAssistantGapFill: the run's summed usage written again (case embedded-run-cli-mirror)
    const usage = { input: 4, output: 300, cacheRead: 41000, cacheWrite: 1500, totalTokens: 21602 };
    expect(
      usageEvent(msg(usage, { api: "cli", provider: "anthropic", model: "claude-sonnet-4-5" }), where),
    ).toBeNull();
    expect(
      usageEvent(
        msg(usage, { api: "anthropic-messages", provider: "anthropic", model: "claude-sonnet-4-5" }),
        where,
      ),
    ).not.toBeNull();
  });
});
