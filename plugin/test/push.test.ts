import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { CreditgateClient } from "../src/client.js";
import { dedupeKey } from "../src/identity.js";
import { registerCreditgate } from "../src/index.js";
import type { BeforeMessageWriteEvent } from "../src/openclaw-types.js";
import { UsagePusher, usageEvent } from "../src/push.js";
import { configuredIdentityLinks, configuredSlashPrefixes } from "../src/user.js";
import { FakeCreditgate } from "./support/fake-creditgate.mjs";
import { createFakeHost } from "./support/fake-host.js";

/** A real OC 2026.9.6 assistant message (fixture row in shared/reference/openclaw.md §3.2). */
const assistant = {
  role: "assistant",
  content: [{ type: "text", text: "Mock reply" }],
  api: "openai-completions",
  provider: "mock",
  model: "mock-gpt",
  usage: {
    input: 1498,
    output: 47,
    cacheRead: 13184,
    cacheWrite: 0,
    reasoningTokens: 0,
    totalTokens: 14729,
    cost: { total: 0.0091542 },
  },
  stopReason: "stop",
  timestamp: 1795371307361,
  responseId: "chatcmpl-mock-000003",
};
const where = { agentId: "main", sessionKey: "agent:main:telegram:direct:5550101" };

let cg: FakeCreditgate;
beforeEach(async () => {
  cg = await new FakeCreditgate({ token: "k" }).start();
});
afterEach(async () => {
  await cg.stop();
});

describe("usageEvent (the meter's rules)", () => {
  it("maps an assistant message to a push event keyed by the meter's dedupe identity", () => {
    const ev = usageEvent(assistant, where);
    expect(ev).toEqual({
      idempotencyKey: dedupeKey({
        provider: "mock",
        model: "mock-gpt",
        messageTsMs: 1795371307361,
        input: 1498,
        output: 47,
        cacheRead: 13184,
        cacheWrite: 0,
        responseId: "chatcmpl-mock-000003",
      }),
      agentId: "main",
      userId: "telegram:5550101",
      provider: "mock",
      model: "mock-gpt",
      input: 1498,
      output: 47,
      cacheRead: 13184,
      cacheWrite: 0,
      timestampMs: 1795371307361,
      success: true,
      responseId: "chatcmpl-mock-000003",
      api: "openai-completions",
      costUsd: 0.0091542,
      // where it was written: the center tells two sessions' calls under a relay's one id apart by it
      sessionKey: "agent:main:telegram:direct:5550101",
    });
    expect(ev?.idempotencyKey).toMatch(/^[0-9a-f]{12}-[0-9a-f]{32}$/);
  });

  it("pushes a person linked by session.identityLinks to the person's one account, as the meter bills", () => {
    const identityLinks = configuredIdentityLinks({
      session: { identityLinks: { Alice: ["telegram:7770707", "whatsapp:+15557770707"], bob: ["4445550"] } },
    });
    const to = (sessionKey: string) =>
      usageEvent(assistant, { agentId: "main", sessionKey, identityLinks })?.userId;
    expect(to("agent:main:telegram:direct:alice")).toBe("alice");
    expect(to("agent:main:whatsapp:direct:alice")).toBe("alice");
    expect(to("agent:main:direct:alice")).toBe("alice");
    expect(to("agent:main:telegram:direct:7770707")).toBe("alice");
    expect(to("agent:main:direct:4445550")).toBe("bob");
    // a per-peer key whose id is linked only on a channel: the channel is the entry's, left to the meter
    expect(to("agent:main:direct:7770707")).toBeUndefined();
    expect(to("agent:main:telegram:direct:5550101")).toBe("telegram:5550101");
    // without the config: each channel's account, as before
    expect(
      usageEvent(assistant, { agentId: "main", sessionKey: "agent:main:telegram:direct:alice" })?.userId,
    ).toBe("telegram:alice");
  });

  it("pushes a DM of an account named like a key word (`group`, `direct`) to its user, not the operator", () => {
    const to = (sessionKey: string) => usageEvent(assistant, { agentId: "main", sessionKey })?.userId;
    expect(to("agent:main:telegram:group:direct:5550101")).toBe("telegram:5550101");
    expect(to("agent:main:telegram:direct:direct:7770707")).toBe("telegram:7770707");
    expect(to("agent:main:telegram:group:-100123")).toBe("agent:main");
  });

  it("leaves a session under a configured Slack slash-command prefix to the meter (tester, 2026-12-02)", () => {
    // the meter reads the prefix from openclaw.json and bills slack:u07abc; this key alone reads
    // as an `ops` channel's slash command
    const key = "agent:main:ops:slash:u07abc";
    expect(usageEvent(assistant, { agentId: "main", sessionKey: key })?.userId).toBe("ops:u07abc");
    expect(
      usageEvent(assistant, { agentId: "main", sessionKey: key, slashPrefixes: ["ops:slash"] }),
    ).toBeNull();
    // other sessions still pushed
    expect(
      usageEvent(assistant, {
        agentId: "main",
        sessionKey: "agent:main:slack:slash:u07abc",
        slashPrefixes: ["ops:slash"],
      })?.userId,
    ).toBe("slack:u07abc");
    expect(
      configuredSlashPrefixes({
        channels: {
          slack: {
            slashCommand: { sessionPrefix: " Ops:Slash " },
            accounts: {
              a: { slashCommand: { sessionPrefix: "slack:slash" } },
              b: { slashCommand: { sessionPrefix: "ask" } },
            },
          },
        },
      }),
    ).toEqual(["ops:slash", "ask"]);
    expect(configuredSlashPrefixes(undefined)).toEqual([]);
    expect(configuredSlashPrefixes({ channels: { slack: [] } })).toEqual([]);
  });

  it("leaves a per-peer DM (no channel in its key) to the transcript meter, which knows the channel", () => {
    // the meter bills agent:main:direct:777 to <channel from the session entry>:777; this hook
    // cannot see the entry, and a push to direct:777 would make the transcript copy a duplicate
    expect(usageEvent(assistant, { agentId: "main", sessionKey: "agent:main:direct:777" })).toBeNull();
    expect(
      usageEvent(assistant, { agentId: "main", sessionKey: "agent:main:direct:777:thread:5" }),
    ).toBeNull();
    expect(
      usageEvent(assistant, { agentId: "main", sessionKey: "agent:main:telegram:direct:777" })?.userId,
    ).toBe("telegram:777");
  });

  it("pushes only a session whose key alone names the payer (sub-agents, routes, HTTP heartbeats: the meter's)", () => {
    const userOf = (sessionKey?: string) =>
      usageEvent(assistant, { agentId: "main", sessionKey })?.userId ?? null;
    // the meter bills a sub-agent to the root of its spawn chain (a user's DM), read from the entry
    expect(userOf("agent:main:subagent:5b2e8d41")).toBeNull();
    // `alice:heartbeat` is a user, or alice's isolated heartbeat run (the entry's marker): the meter knows
    expect(userOf("agent:main:openai-user:alice:heartbeat")).toBeNull();
    expect(userOf("agent:main:openresponses-user:alice:heartbeat")).toBeNull();
    // an unfamiliar key: the meter bills the entry's route (or a custom session.mainKey the operator)
    expect(userOf("agent:main:work")).toBeNull();
    // the Control UI's sessions are the operator's, whatever route a checkpoint branch's entry copied
    expect(userOf("agent:main:dashboard:0d6e")).toBe("agent:main");
    expect(userOf(undefined)).toBeNull();
    // decided by the key alone
    expect(userOf("agent:main:openai-user:alice")).toBe("openai-user:alice");
    expect(userOf("agent:main:slack:slash:u07abc")).toBe("slack:u07abc");
    expect(userOf("agent:main:telegram:direct:5550101:heartbeat")).toBe("agent:main");
    expect(userOf("agent:main:main")).toBe("agent:main");
    expect(userOf("agent:main:cron:job:run:1")).toBe("agent:main");
    expect(userOf("agent:main:telegram:group:-100:topic:3")).toBe("agent:main");
    // a Matrix room may be a per-room DM, its user's by the entry's chatType: left to the meter
    // (before 2026-12-03 pushed to agent:main, the transcript's copy then a duplicate)
    expect(userOf("agent:main:matrix:channel:!dMrOoMaLiCe:example.org")).toBeNull();
    expect(userOf("agent:main:matrix:channel:!dMrOoMaLiCe:example.org:thread:$root")).toBeNull();
    expect(userOf("agent:main:matrix:direct:@alice:example.org")).toBe("matrix:@alice:example.org");
  });

  it("leaves to the transcript meter what it reads differently: seconds times, Google input holding its cache", () => {
    // epoch seconds: not Date.now() (the meter holds it for review; creditgate refuses such a push)
    expect(usageEvent({ ...assistant, timestamp: 1_795_371_307 }, where)).toBeNull();
    expect(usageEvent({ ...assistant, timestamp: 1_795_371_307.5 }, where)).toBeNull();
    // epoch microseconds and nanoseconds (the meter reads them as such since 2026-12-04)
    expect(usageEvent({ ...assistant, timestamp: 1_795_371_307_000_000 }, where)).toBeNull();
    expect(usageEvent({ ...assistant, timestamp: 1_795_371_307_000_000_000 }, where)).toBeNull();
    expect(usageEvent({ ...assistant, timestamp: 1_795_371_307_000 }, where)).not.toBeNull();
    // pi-ai's google providers before pi#2588: input = promptTokenCount, which holds cacheRead;
    // totalTokens (Google's totalTokenCount) counts the cache once, below the four counts' sum
    const google = {
      ...assistant,
      provider: "google",
      api: "google-generative-ai",
      model: "gemini-2.5-flash",
      usage: { input: 30_000, output: 500, cacheRead: 20_000, cacheWrite: 0, totalTokens: 30_500 },
    };
    expect(usageEvent(google, where)).toBeNull();
    expect(usageEvent({ ...google, api: undefined, provider: "google-vertex" }, where)).toBeNull();
    // a fixed line (input without the cache: the total is the sum) is pushed as it is
    expect(
      usageEvent({ ...google, usage: { ...google.usage, input: 10_000, totalTokens: 30_500 } }, where)?.input,
    ).toBe(10_000);
    // the same counts on an API whose input excludes the cache by definition are not read that way
    expect(usageEvent({ ...google, provider: "anthropic", api: "anthropic-messages" }, where)?.input).toBe(
      30_000,
    );
    // OpenClaw's Codex harness (openclaw/openclaw#69298): input = Codex inputTokens (cache included),
    // totalTokens = input + output exactly: left to the meter too
    const codex = { ...google, provider: "openai-codex", api: "openai-codex-responses", model: "gpt-5.4" };
    expect(usageEvent(codex, where)).toBeNull();
    // other APIs: a short total that is not exactly input + output + cacheWrite is pushed as written
    expect(usageEvent({ ...codex, usage: { ...codex.usage, totalTokens: 30_400 } }, where)?.input).toBe(
      30_000,
    );
  });

  it("carries the 1-hour cache split and a provider-billed total, so a push prices like the transcript", () => {
    const ev = usageEvent(
      {
        ...assistant,
        usage: {
          ...assistant.usage,
          cacheWrite: 10_000,
          cacheWrite1h: 12_000,
          cost: { total: 0.029, totalOrigin: "provider-billed" },
        },
      },
      where,
    );
    expect(ev).toMatchObject({
      cacheWrite: 10_000,
      cacheWrite1h: 10_000,
      costUsd: 0.029,
      costOrigin: "provider-billed",
    });
    // An estimate (no totalOrigin) is sent as one, with the line's api: the center reads it as the
    // meter does (a model no list knows is billed its estimate, not the fallback price; an OpenAI
    // service tier is read from it), and bills the list price where the meter would.
    const plain = usageEvent(assistant, where);
    expect(plain).toMatchObject({ costUsd: 0.0091542, api: "openai-completions" });
    expect(plain).not.toHaveProperty("costOrigin");
    // OpenRouter's billed total written over pi-ai's estimate without totalOrigin
    // (openclaw/openclaw#91073: above the components' sum) is provider-billed, as the meter reads it
    // (parse.ts openRouterReportedTotal); the same total on another provider, or one not above the
    // sum, stays an estimate.
    const reconciled = {
      ...assistant,
      provider: "openrouter",
      model: "qwen/qwen3.6-plus",
      usage: {
        ...assistant.usage,
        cost: { input: 0.13325, output: 0.00195, cacheRead: 0, cacheWrite: 0, total: 0.53366 },
      },
    };
    expect(usageEvent(reconciled, where)).toMatchObject({ costUsd: 0.53366, costOrigin: "provider-billed" });
    expect(usageEvent({ ...reconciled, provider: "my-proxy" }, where)).not.toHaveProperty("costOrigin");
    const zeroParts = { input: 0, output: 0, cacheRead: 0, cacheWrite: 0, total: 0.53366 };
    expect(
      usageEvent({ ...reconciled, usage: { ...reconciled.usage, cost: zeroParts } }, where),
    ).not.toHaveProperty("costOrigin");
    const atSum = { ...reconciled.usage.cost, total: 0.1352 };
    expect(
      usageEvent({ ...reconciled, usage: { ...reconciled.usage, cost: atSum } }, where),
    ).not.toHaveProperty("costOrigin");
    expect(plain).not.toHaveProperty("cacheWrite1h");
    // no cost: pushed without one
    expect(
      usageEvent({ ...assistant, usage: { ...assistant.usage, cost: undefined } } as never, where),
    ).not.toHaveProperty("costUsd");
    // a total the push cannot send as the meter reads it (text the meter parses, an amount it flags
    // or holds): left to the meter, which bills the transcript's line (a tester, 2026-12-02)
    for (const cost of [{ total: -1 }, { total: Number.NaN }, { total: 2e6 }, { total: "0.5" }])
      expect(usageEvent({ ...assistant, usage: { ...assistant.usage, cost } } as never, where)).toBeNull();
  });

  it("carries the model that served the call (responseModel) when it is another, so a push prices like the transcript", () => {
    const served = usageEvent({ ...assistant, responseModel: " claude-opus-4-8 " }, where);
    expect(served).toMatchObject({ model: "mock-gpt", responseModel: "claude-opus-4-8" });
    // not part of the identity: the transcript copy of the call is its duplicate
    expect(served?.idempotencyKey).toBe(usageEvent(assistant, where)?.idempotencyKey);
    for (const responseModel of ["mock-gpt", "", "x".repeat(201)])
      expect(usageEvent({ ...assistant, responseModel }, where)).not.toHaveProperty("responseModel");
  });

  it('carries Anthropic fast mode (usage.speed "fast"), so a push prices the fast rates like the transcript', () => {
    const fast = usageEvent({ ...assistant, usage: { ...assistant.usage, speed: " fast " } }, where);
    expect(fast).toMatchObject({ speed: "fast" });
    // not part of the identity: the transcript copy of the call is its duplicate
    expect(fast?.idempotencyKey).toBe(usageEvent(assistant, where)?.idempotencyKey);
    expect(
      usageEvent({ ...assistant, usage: { ...assistant.usage, speed: "Standard" } }, where),
    ).toMatchObject({
      speed: "standard",
    });
    for (const speed of ["slow", "", 1, undefined])
      expect(usageEvent({ ...assistant, usage: { ...assistant.usage, speed } }, where)).not.toHaveProperty(
        "speed",
      );
  });

  it('carries Anthropic US-only inference (usage.inference_geo "us"), so a push prices the 1.1× rates like the transcript', () => {
    const us = usageEvent({ ...assistant, usage: { ...assistant.usage, inference_geo: " US " } }, where);
    expect(us).toMatchObject({ inferenceGeo: "us" });
    // not part of the identity: the transcript copy of the call is its duplicate
    expect(us?.idempotencyKey).toBe(usageEvent(assistant, where)?.idempotencyKey);
    expect(
      usageEvent({ ...assistant, usage: { ...assistant.usage, inferenceGeo: "us" } }, where),
    ).toMatchObject({
      inferenceGeo: "us",
    });
    for (const inference_geo of ["global", "", 1, undefined])
      expect(
        usageEvent({ ...assistant, usage: { ...assistant.usage, inference_geo } }, where),
      ).not.toHaveProperty("inferenceGeo");
  });

  it("skips user lines, synthetic openclaw lines, zero usage and malformed counts; errors are billed as failures", () => {
    expect(usageEvent({ role: "user" }, where)).toBeNull();
    expect(usageEvent({ ...assistant, provider: "openclaw", model: "delivery-mirror" }, where)).toBeNull();
    expect(
      usageEvent({ ...assistant, usage: { input: 0, output: 0, cacheRead: 0, cacheWrite: 0 } }, where),
    ).toBeNull();
    expect(usageEvent({ ...assistant, usage: { ...assistant.usage, input: -1 } }, where)).toBeNull();
    expect(usageEvent({ ...assistant, stopReason: "error", errorMessage: "boom" }, where)?.success).toBe(
      false,
    );
  });

  it("bills operator sessions to agent:<id>, like the meter", () => {
    expect(usageEvent(assistant, { agentId: "support", sessionKey: "agent:support:main" })?.userId).toBe(
      "agent:support",
    );
    expect(usageEvent(assistant, { sessionKey: "agent:sales:cron:daily:run:1" })).toMatchObject({
      agentId: "sales",
      userId: "agent:sales",
    });
  });
});

describe("usageEvent: a line the meter prices beyond its tokens is left to it", () => {
  // The meter adds Anthropic's $0.01 per web search (server_tool_use.web_search_requests) and holds
  // a call with audio / image token details for review (parse.ts); pushed as tokens alone, the
  // center would bill it first and the transcript's copy would be a duplicate: the fee lost, the
  // audio billed as text (case anthropic-web-search-fee's first line: $0.0135 instead of $0.0435).
  const searched = {
    ...assistant,
    api: "anthropic-messages",
    provider: "anthropic",
    model: "claude-sonnet-4-6",
    usage: { ...assistant.usage, server_tool_use: { web_search_requests: 3 } },
  };
  it("web searches, snake or camel case", () => {
    expect(usageEvent(searched, where)).toBeNull();
    const camel = { ...searched, usage: { ...assistant.usage, serverToolUse: { webSearchRequests: 2 } } };
    expect(usageEvent(camel, where)).toBeNull();
  });
  it("a search count that is no plain count (text, fractional, negative, absurd): the meter rounds or holds it", () => {
    for (const v of ["3", 1.5, -1, 1e9, "x"]) {
      const raw = { server_tool_use: { web_search_requests: v } };
      expect(usageEvent({ ...searched, usage: { ...assistant.usage, ...raw } }, where)).toBeNull();
    }
  });
  it("audio or image token details", () => {
    for (const details of [
      { prompt_tokens_details: { audio_tokens: 40 } },
      { completion_tokens_details: { audio_tokens: 40 } },
      { input_tokens_details: { image_tokens: 40 } },
      { output_token_details: { audio_tokens: 40 } },
      { candidatesTokensDetails: [{ modality: "IMAGE", tokenCount: 1290 }] },
      // LiteLLM's image tokens and LangChain's audio (case usage-modality-names-litellm-langchain)
      { completion_tokens_details: { image_tokens: 1120 } },
      { completionTokensDetails: { imageTokens: 1120 } },
      { input_token_details: { audio: 200 } },
      { output_token_details: { audio: 400 } },
    ])
      expect(usageEvent({ ...assistant, usage: { ...assistant.usage, ...details } }, where)).toBeNull();
  });
  it("an Anthropic advisor call in usage.iterations (case usage-anthropic-advisor-iterations)", () => {
    const iterations = [
      { type: "message", input_tokens: 1, output_tokens: 45 },
      { type: "advisor_message", model: "claude-opus-4-7", input_tokens: 159419, output_tokens: 7805 },
    ];
    const advised = { ...assistant, usage: { ...assistant.usage, iterations } };
    expect(usageEvent(advised, where)).toBeNull();
    const plain = { ...assistant, usage: { ...assistant.usage, iterations: iterations.slice(0, 1) } };
    expect(usageEvent(plain, where)).not.toBeNull();
  });
  it("an Anthropic refusal fallback in usage.iterations (case usage-anthropic-refusal-fallback-iterations)", () => {
    const iterations = [
      { type: "message", model: "claude-fable-5", input_tokens: 2, output_tokens: 578 },
      { type: "Fallback_Message", model: "claude-opus-4-8", input_tokens: 2, output_tokens: 13658 },
    ];
    const fellBack = { ...assistant, usage: { ...assistant.usage, iterations } };
    expect(usageEvent(fellBack, where)).toBeNull();
  });
  it("no searches and zero audio counts are pushed as before", () => {
    const none = {
      ...assistant,
      usage: {
        ...assistant.usage,
        server_tool_use: { web_search_requests: 0 },
        prompt_tokens_details: { cached_tokens: 0, audio_tokens: 0 },
      },
    };
    expect(usageEvent(none, where)).toMatchObject({ input: 1498, output: 47 });
  });
});

describe("copies stay in sync with creditgate's meter", () => {
  const repoSrc = fileURLToPath(new URL("../../src/meter/", import.meta.url));
  const inRepo = existsSync(`${repoSrc}identity.ts`) && existsSync(`${repoSrc}resolve-user.ts`);
  it.runIf(inRepo)("dedupeKey equals src/meter/identity.ts on real and edge inputs", async () => {
    const meter = (await import(/* @vite-ignore */ `${repoSrc}identity.ts`)) as {
      dedupeKey: (u: unknown) => string;
    };
    for (const u of [
      {
        provider: "mock",
        model: "mock-gpt",
        messageTsMs: 1795371307361,
        input: 1498,
        output: 47,
        cacheRead: 13184,
        cacheWrite: 0,
        responseId: "chatcmpl-mock-000003",
      },
      {
        provider: "anthropic",
        model: "claude-x",
        messageTsMs: 1,
        input: 0,
        output: 5,
        cacheRead: 0,
        cacheWrite: 26560,
        responseId: null,
      },
    ]) {
      expect(dedupeKey(u)).toBe(
        meter.dedupeKey({
          ...u,
          api: null,
          totalTokens: 0,
          reasoningTokens: null,
          stopReason: null,
          isError: false,
          errorMessage: null,
          recordedCostUsd: null,
        }),
      );
    }
  });
  it.runIf(inRepo)("a route target reads as src/meter/resolve-user.ts reads it (QQ's c2c too)", async () => {
    const meter = (await import(/* @vite-ignore */ `${repoSrc}resolve-user.ts`)) as {
      routeToAccount: (t: string, ch?: string | null) => string | null;
    };
    const { routeToAccount } = await import("../src/user.js");
    for (const [t, ch] of [
      ["qqbot:c2c:A2B91CCEA0E039905B45C84DD96C92FD", null],
      ["c2c:A2B91CCEA0E039905B45C84DD96C92FD", "qqbot"],
      ["qqbot:group:G1", "qqbot"],
      ["user:U07ABC", "slack"],
      ["discord:user:987", null],
    ] as const)
      expect(routeToAccount(t, ch), t).toBe(meter.routeToAccount(t, ch));
    expect(routeToAccount("qqbot:c2c:A2B91CCEA0E039905B45C84DD96C92FD")).toBe(
      "qqbot:a2b91ccea0e039905b45c84dd96c92fd",
    );
  });
  it.runIf(inRepo)("user resolution equals src/meter/resolve-user.ts", async () => {
    const meter = (await import(/* @vite-ignore */ `${repoSrc}resolve-user.ts`)) as {
      resolveAccount: (a: string, k: string | null, h?: { channel?: string | null }) => { accountId: string };
    };
    const { resolveAccount } = await import("../src/user.js");
    for (const [key, ch] of [
      ["agent:main:telegram:direct:5550101", null],
      ["agent:main:telegram:dm:5550101", null],
      ["agent:main:telegram:bot2:direct:42", null],
      ["agent:main:telegram:direct:5550101:thread:5550101:77", null],
      ["agent:main:slack:direct:u07abc:thread:1700000000.000100", null],
      ["agent:main:direct:777:thread:5", "telegram"],
      ["agent:main:direct:+15551234567", "whatsapp"],
      ["agent:main:direct:777", "webchat"],
      ["agent:main:whatsapp:direct:15551234567@s.whatsapp.net", null],
      ["agent:main:direct:15551234567", "whatsapp"],
      ["agent:main:imessage:direct:+15550101234", null],
      ["agent:main:slack:direct:team:t0grida:user:u07abc", null],
      ["agent:main:slack:channel:team:t0grida:channel:c0123abc", null],
      ["agent:main:imessage:direct:dana@icloud.com", null],
      ["agent:main:direct:15550101234", "imessage"],
      ["agent:main:direct:777", "sessions_send"],
      ["agent:main:openai-user:Frank", null],
      ["agent:main:main", null],
      ["agent:main:telegram:group:-100:topic:3", null],
      ["agent:main:cron:job:run:1", null],
      ["agent:main:telegram:direct:5550101:heartbeat", null],
      ["agent:main:whatsapp:direct:+15551234567:heartbeat:heartbeat", null],
      ["agent:main:telegram:direct:heartbeat", null],
      ["agent:main:openai-user:heartbeat", null],
      ["agent:main:openai-user:alice:heartbeat", null],
      ["agent:main:openresponses-user:Alice", null],
      ["agent:main:openresponses-user:alice:heartbeat", null],
      ["agent:main:slack:slash:u07abc", null],
      ["agent:main:discord:slash:123456789012345678", null],
      ["telegram:slash:5550101", null],
      ["agent:main:telegram:slash:direct:5550101", null],
      ["agent:main:telegram:slash:group:-100123", null],
      ["agent:main:telegram:group:direct:5550101", null],
      ["agent:main:telegram:direct:direct:5550101", null],
      ["agent:main:telegram:channel:dm:42:thread:7", null],
      ["agent:main:telegram:group:-100123:topic:7", null],
      ["agent:main:dashboard:3b9f6c1e", "telegram"],
      [null, null],
    ] as const) {
      expect(resolveAccount("main", key, ch).accountId, String(key)).toBe(
        meter.resolveAccount("main", key, { channel: ch }).accountId,
      );
    }
  });
  it.runIf(inRepo)("identityLinks: parsing and resolution equal src/meter/resolve-user.ts", async () => {
    const meter = (await import(/* @vite-ignore */ `${repoSrc}resolve-user.ts`)) as {
      resolveAccount: (
        a: string,
        k: string | null,
        h?: Record<string, unknown>,
      ) => { accountId: string; via: string };
      parseIdentityLinks: (raw: unknown) => unknown;
    };
    const { resolveAccount, parseIdentityLinks } = await import("../src/user.js");
    const raw = {
      Alice: ["telegram:7770707", "WhatsApp:15557770707@s.whatsapp.net", "tg:42"],
      bob: ["4445550", " "],
      "agent:main": ["telegram:999"],
      none: [],
      junk: "telegram:1",
    };
    const ours = parseIdentityLinks(raw);
    expect(ours).toEqual(meter.parseIdentityLinks(raw));
    for (const [key, ch] of [
      ["agent:main:telegram:direct:alice", null],
      ["agent:main:whatsapp:bot2:direct:Alice:thread:9", null],
      ["agent:main:direct:alice", null],
      ["agent:main:direct:7770707", "telegram"],
      ["agent:main:direct:7770707", null],
      ["agent:main:whatsapp:direct:+15557770707", null],
      ["agent:main:telegram:direct:42", null],
      ["agent:main:signal:direct:4445550", null],
      ["agent:main:direct:4445550", null],
      ["agent:main:telegram:direct:999", null],
      ["agent:main:telegram:slash:7770707", null],
      ["agent:main:telegram:direct:alice:heartbeat", null],
      ["agent:main:telegram:group:alice", null],
      ["agent:main:openai-user:alice", null],
    ] as const) {
      const m = meter.resolveAccount("main", key, { channel: ch, identityLinks: ours });
      expect(resolveAccount("main", key, ch, ours), key).toEqual(m);
    }
  });
});

describe("a call with a response id is pushed at the copy the meter bills (h-diff2, 2026-12-04)", () => {
  const logger = { info() {}, warn() {}, error() {}, debug() {} };
  function capture(holdMs?: number) {
    const sent: { responseId?: string; output: number; input: number; cacheRead: number }[] = [];
    const p = new UsagePusher({
      client: { pushUsage: async () => ({ results: [] }) } as never,
      logger: logger as never,
      ...(holdMs !== undefined ? { holdMs } : {}),
    });
    p.enqueue = (ev) => {
      sent.push(ev);
    };
    return { p, sent };
  }
  const reply = (o: { id: string; ts: number; input: number; output: number; cacheRead?: number }) => ({
    ...assistant,
    provider: "anthropic",
    model: "claude-sonnet-4-5",
    api: "anthropic-messages",
    responseId: o.id,
    timestamp: o.ts,
    usage: { input: o.input, output: o.output, cacheRead: o.cacheRead ?? 0, cacheWrite: 0, totalTokens: 0 },
  });

  it("a streamed partial then its final: only the final is pushed (case response-copy-rewritten)", () => {
    const { p, sent } = capture();
    const id = "msg_01Bq3Wn7TQm2sKdRcE5vHfJp";
    p.onMessageWrite({ message: reply({ id, ts: 1790000061000, input: 2000, output: 40 }) }, where);
    p.onMessageWrite({ message: reply({ id, ts: 1790000062800, input: 2000, output: 120 }) }, where);
    expect(sent).toHaveLength(0); // kept back until the session writes on
    p.onMessageWrite({ message: { role: "user" } }, where);
    expect(sent.map((e) => e.output)).toEqual([120]);
  });

  it("a partial that counted the prompt otherwise (cache read only at the end): the final, with its split", () => {
    const { p, sent } = capture();
    const id = "msg_01PromptSplitMovedAtDelta0";
    p.onMessageWrite(
      { message: reply({ id, ts: 1790000061000, input: 17556, output: 1, cacheRead: 500 }) },
      where,
    );
    p.onMessageWrite(
      { message: reply({ id, ts: 1790000063500, input: 250, output: 166, cacheRead: 17306 }) },
      where,
    );
    // a tool loop's next call under a relay's same id sends more: another call, pushed in turn
    p.onMessageWrite(
      { message: reply({ id, ts: 1790000066000, input: 300, output: 80, cacheRead: 17722 }) },
      where,
    );
    expect(sent.map((e) => [e.input, e.output, e.cacheRead])).toEqual([[250, 166, 17306]]);
    p.releaseHeld();
    expect(sent.map((e) => [e.input, e.output, e.cacheRead])).toEqual([
      [250, 166, 17306],
      [300, 80, 17722],
    ]);
  });

  it("a held call is pushed after holdMs, and at stop", async () => {
    const a = capture(5);
    a.p.onMessageWrite(
      { message: reply({ id: "msg_01HeldUntilTimerFires0", ts: 1790000001000, input: 10, output: 5 }) },
      where,
    );
    await new Promise((r) => setTimeout(r, 30));
    expect(a.sent).toHaveLength(1);
    const b = capture();
    b.p.onMessageWrite(
      { message: reply({ id: "msg_01HeldUntilPusherStops", ts: 1790000001000, input: 10, output: 5 }) },
      where,
    );
    await b.p.stop();
    expect(b.sent).toHaveLength(1);
  });
});

describe("push metering", () => {
  it("is off by default: no before_message_write hook", () => {
    const host = createFakeHost({ apiUrl: cg.url, apiToken: "k" });
    registerCreditgate(host.api);
    expect(host.hooks.has("before_message_write")).toBe(false);
  });

  it("pushUsage: the hook is synchronous, returns nothing, and batches events to POST /v1/usage", async () => {
    const host = createFakeHost({ apiUrl: cg.url, apiToken: "k", pushUsage: true });
    const reg = registerCreditgate(host.api);
    const hook = host.hooks.get("before_message_write")?.[0]?.handler as (
      e: BeforeMessageWriteEvent,
      c: typeof where,
    ) => unknown;
    expect(hook).toBeTypeOf("function");
    expect(hook({ message: assistant }, where)).toBeUndefined();
    expect(hook({ message: { role: "user" } }, where)).toBeUndefined();
    // The same message written again (transcript rewrite re-append): same key → duplicate.
    hook({ message: { ...assistant } }, where);
    // a call with a response id is pushed once its session writes on (its copies are written first)
    hook({ message: { role: "user" } }, where);
    await reg.pusher?.flush();
    expect(cg.usage.size).toBe(1);
    expect(reg.pusher?.stats).toMatchObject({ queued: 2, billed: 1, duplicate: 1, dropped: 0 });
    const sent = cg.requests
      .filter((r) => r.path === "/v1/usage")
      .flatMap((r) => (r.body as { events: unknown[] }).events);
    expect(sent).toHaveLength(2);
  });

  it("retries a failed batch and drops it after maxAttempts without blocking (transcripts still bill)", async () => {
    const logs: string[] = [];
    const logger = { info: () => {}, warn: (m: string) => logs.push(m), error: () => {} };
    const p = new UsagePusher({
      client: new CreditgateClient({ baseUrl: cg.url, token: "k", timeoutMs: 500 }),
      logger,
      maxAttempts: 2,
      flushMs: 10_000,
    });
    cg.mode = "down";
    const ev = usageEvent(assistant, where);
    if (!ev) throw new Error("no event");
    p.enqueue(ev);
    await p.flush(); // attempt 1 fails, retry scheduled
    expect(p.stats.dropped).toBe(0);
    await p.flush(); // attempt 2 fails → dropped
    expect(p.stats.dropped).toBe(1);
    expect(logs.some((l) => l.includes("the transcript meter still bills them"))).toBe(true);
    await p.stop();
  });
});
