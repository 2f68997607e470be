import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { dedupeKey } from "../../src/meter/identity.js";
import { mayBeUsage, parseLine, usageEvent } from "../../src/meter/parse.js";
import type { ParsedUsage } from "../../src/meter/types.js";
import { FIXTURES } from "../support/meter-env.js";

const line = (message: Record<string, unknown>, extra: Record<string, unknown> = {}) =>
  JSON.stringify({
    type: "message",
    id: "x1",
    parentId: null,
    timestamp: "2026-11-22T18:12:17.405Z",
    message,
    ...extra,
  });

const usageMsg = (over: Record<string, unknown> = {}) => ({
  role: "assistant",
  content: [],
  api: "openai-completions",
  provider: "mock",
  model: "mock-gpt",
  usage: {
    input: 1112,
    output: 47,
    cacheRead: 9536,
    cacheWrite: 0,
    totalTokens: 10695,
    cost: { total: 0.0069018 },
  },
  stopReason: "stop",
  timestamp: 1795371137380,
  ...over,
});

describe("parseLine", () => {
  it("reads a real clawdbot assistant line with usage, cost and timestamps", () => {
    const r = parseLine(line(usageMsg()));
    expect(r).toEqual({
      kind: "usage",
      // the reply's write time (entry ISO timestamp) and its content, for latency and previews
      writtenAtMs: Date.parse(JSON.parse(line(usageMsg())).timestamp),
      content: usageMsg().content,
      clamped: false,
      // the entry's own id: a later line of the transcript with it is the same entry written again
      entryId: "x1",
      usage: {
        provider: "mock",
        model: "mock-gpt",
        api: "openai-completions",
        messageTsMs: 1795371137380,
        responseId: null,
        input: 1112,
        output: 47,
        cacheRead: 9536,
        cacheWrite: 0,
        cacheWrite1h: 0,
        totalTokens: 10695,
        reasoningTokens: null,
        stopReason: "stop",
        isError: false,
        errorMessage: null,
        recordedCostUsd: 0.0069018,
        recordedCostOrigin: null,
      },
    });
  });

  it("reads usage.cacheWrite1h as the 1-hour part of cacheWrite (validated, clamped to the whole)", () => {
    const line = (u: Record<string, unknown>) =>
      JSON.stringify({
        type: "message",
        message: {
          role: "assistant",
          provider: "anthropic",
          model: "claude-sonnet-4-5",
          usage: { input: 100, output: 200, cacheRead: 0, cacheWrite: 10_000, ...u },
          timestamp: 1795168805000,
        },
      });
    const got = (u: Record<string, unknown>) => {
      const r = parseLine(line(u));
      return r.kind === "usage" ? r.usage.cacheWrite1h : r.kind;
    };
    expect(got({ cacheWrite1h: 4_000 })).toBe(4_000);
    expect(got({})).toBe(0);
    expect(got({ cacheWrite1h: 10_000 })).toBe(10_000);
    // more than the whole: the call is billed, every write at the (higher) 1-hour rate
    expect(got({ cacheWrite1h: 12_000 })).toBe(10_000);
    // a fraction is its nearest token, decimal text its number (since 2026-12-03)
    expect(got({ cacheWrite1h: 1.5 })).toBe(2);
    expect(got({ cacheWrite1h: "4000" })).toBe(4_000);
    expect(got({ cacheWrite1h: -0.5 })).toBe(0);
    // no count: the call is held for review with the reason (since 2026-12-03; was malformed)
    for (const bad of ["lots", Number.MAX_SAFE_INTEGER + 2, "1e400"]) {
      const r = parseLine(line({ cacheWrite1h: bad }));
      expect(r.kind === "usage" && r.usage.countProblem).toMatch(/^cacheWrite1h token count .* unreadable/);
    }
    // a negative count is billed as 0, and the line says so (stats.clamped)
    const neg = parseLine(line({ cacheWrite1h: -1 }));
    expect(neg.kind === "usage" && [neg.usage.cacheWrite1h, neg.clamped]).toEqual([0, true]);
    const ok = parseLine(line({ cacheWrite1h: 4_000 }));
    expect(ok.kind === "usage" && ok.clamped).toBe(false);
  });

  it("reads usage.cost.totalOrigin provider-billed, and nothing else, as the provider's own amount", () => {
    const line = (cost: Record<string, unknown>) =>
      JSON.stringify({
        type: "message",
        message: {
          role: "assistant",
          provider: "openrouter",
          model: "qwen/qwen3-235b-a22b-2507",
          usage: { input: 200_000, output: 5_000, cacheRead: 0, cacheWrite: 0, cost },
          timestamp: 1795176008500,
        },
      });
    const got = (cost: Record<string, unknown>) => {
      const r = parseLine(line(cost));
      return r.kind === "usage" ? [r.usage.recordedCostUsd, r.usage.recordedCostOrigin] : r.kind;
    };
    expect(got({ total: 0.029, totalOrigin: "provider-billed" })).toEqual([0.029, "provider-billed"]);
    expect(got({ total: 0.029 })).toEqual([0.029, null]);
    expect(got({ total: 0.029, totalOrigin: "estimate" })).toEqual([0.029, null]);
    expect(got({ totalOrigin: "provider-billed" })).toEqual([null, null]);
  });

  it("recomputes totalTokens for lines written without it and never adds reasoning tokens", () => {
    const r = parseLine(
      line(
        usageMsg({
          usage: { input: 10, output: 5, cacheRead: 2, cacheWrite: 1, reasoningTokens: 4 },
          responseId: "resp_1",
        }),
      ),
    );
    expect(r.kind === "usage" && r.usage.totalTokens).toBe(18);
    expect(r.kind === "usage" && r.usage.output).toBe(5);
    expect(r.kind === "usage" && r.usage.reasoningTokens).toBe(4);
    expect(r.kind === "usage" && r.usage.responseId).toBe("resp_1");
  });

  it("bills error and aborted replies that carry usage, and skips zero-usage error lines", () => {
    const aborted = parseLine(
      line(
        usageMsg({
          stopReason: "aborted",
          errorMessage: "terminated",
          usage: { input: 0, output: 12, cacheRead: 37652 },
        }),
      ),
    );
    expect(aborted.kind).toBe("usage");
    expect(aborted.kind === "usage" && aborted.usage.isError).toBe(true);
    expect(aborted.kind === "usage" && aborted.usage.errorMessage).toBe("terminated");
    const zero = parseLine(
      line(
        usageMsg({
          stopReason: "error",
          usage: { input: 0, output: 0, cacheRead: 0, cacheWrite: 0, totalTokens: 0 },
        }),
      ),
    );
    expect(zero).toEqual({ kind: "skip", why: "zero-usage" });
  });

  it("skips OpenClaw's synthetic delivery-mirror and gateway-injected lines", () => {
    for (const model of ["delivery-mirror", "gateway-injected"]) {
      expect(parseLine(line(usageMsg({ provider: "openclaw", model, api: "openclaw-transcript" })))).toEqual({
        kind: "skip",
        why: "synthetic",
      });
    }
  });

  it("skips every non-usage record type", () => {
    const types = [
      { type: "session", version: 3, id: "s" },
      { type: "model_change", provider: "mock", modelId: "m" },
      { type: "thinking_level_change", thinkingLevel: "off" },
      { type: "custom", customType: "model-snapshot", data: {} },
      { type: "compaction", summary: "…", tokensBefore: 5 },
      { type: "branch_summary", summary: "…" },
      { type: "custom_message", content: "x" },
      { type: "label", label: "l" },
      { type: "session_info", name: "n" },
      { type: "reset", reason: "new" },
      { type: "message", message: { role: "toolResult", content: [] } },
      { type: "message", message: { role: "assistant", content: [] } },
    ];
    for (const t of types) expect(parseLine(JSON.stringify(t)).kind, t.type).toBe("skip");
  });

  it("a user line is a turn start: when it was sent (message.timestamp, else the entry's ISO) and its content", () => {
    expect(
      parseLine(
        JSON.stringify({
          type: "message",
          message: { role: "user", content: "hi", timestamp: 1795400000000 },
        }),
      ),
    ).toEqual({ kind: "user", atMs: 1795400000000, content: "hi", source: null });
    // epoch seconds (below 10^11, parse.ts EPOCH_SECONDS_BELOW) are read as seconds since 2026-12-04
    expect(
      parseLine(
        JSON.stringify({ type: "message", message: { role: "user", content: "hi", timestamp: 1795400000 } }),
      ),
    ).toEqual({ kind: "user", atMs: 1795400000000, content: "hi", source: null });
    expect(
      parseLine(
        JSON.stringify({
          type: "message",
          timestamp: "2026-11-22T18:00:00.000Z",
          message: { role: "user", content: [{ type: "text", text: "x" }] },
        }),
      ),
    ).toEqual({
      kind: "user",
      atMs: Date.parse("2026-11-22T18:00:00.000Z"),
      content: [{ type: "text", text: "x" }],
      source: null,
    });
    expect(parseLine(JSON.stringify({ type: "message", message: { role: "user", content: "x" } }))).toEqual({
      kind: "user",
      atMs: null,
      content: "x",
      source: null,
    });
  });

  it("reports malformed lines with a reason", () => {
    expect(parseLine("{not json").kind).toBe("malformed");
    expect(parseLine("[1,2]").kind).toBe("malformed");
    // a count that is no count holds the call for review (since 2026-12-03; was malformed)
    const many = parseLine(line(usageMsg({ usage: { input: "many" } })));
    expect(many.kind === "usage" && many.usage.countProblem).toMatch(/^input token count "many"/);
    // a negative count is not malformed: it is billed as 0 (a relay's cached_tokens > prompt_tokens)
    const neg = parseLine(line(usageMsg({ usage: { input: -1, output: 1 } })));
    expect(neg.kind === "usage" && [neg.usage.input, neg.usage.output, neg.clamped]).toEqual([0, 1, true]);
    const huge = parseLine(line(usageMsg({ usage: { input: 1e300, output: 1 } })));
    expect(huge.kind === "usage" && huge.usage.countProblem).toMatch(/^input token count 1e\+300/);
    // a call naming no model is held for review too (since 2026-12-03; was malformed)
    const unnamed = parseLine(line(usageMsg({ model: undefined })));
    expect(unnamed.kind === "usage" && unnamed.usage.countProblem).toMatch(/names no model/);
  });

  it("a call whose line has no readable time is a call: its identity holds no time (before 2026-12-03: malformed)", () => {
    // no message.timestamp and no entry time; an invalid ISO entry time; null message time (a
    // NaN serialized, openclaw/openclaw#110536) with an unparsable entry time
    const forms = [
      line(usageMsg({ timestamp: undefined }), { timestamp: undefined }),
      line(usageMsg({ timestamp: undefined }), { timestamp: "2026-13-45T99:99:99.000Z" }),
      line(usageMsg({ timestamp: null }), { timestamp: null }),
      line(usageMsg({ timestamp: "soon" }), { timestamp: "not a date" }),
    ];
    const keys = new Set<string>();
    for (const text of forms) {
      const r = parseLine(text);
      expect(r.kind).toBe("usage");
      if (r.kind !== "usage") continue;
      expect(r.writtenAtMs).toBeNull();
      expect([r.usage.messageTsMs, r.usage.identityTsMs]).toEqual([0, 0]);
      // dated later by the reader: the identity does not move with the date
      const before = dedupeKey(r.usage);
      r.usage.messageTsMs = 1_790_000_000_000;
      expect(dedupeKey(r.usage)).toBe(before);
      expect(usageEvent(r.usage, "main", null, null, "agent:main", "jsonl", "f@0").identityTsMs).toBe(0);
      keys.add(before);
    }
    // every copy of such a line is one call, whichever way its time is missing
    expect(keys.size).toBe(1);
    // a line with a time of its own keeps it in its identity, and no identityTsMs
    const timed = parseLine(line(usageMsg()));
    expect(timed.kind === "usage" && timed.usage.identityTsMs).toBeUndefined();
  });

  it("a call whose line has no readable time holds its entry id in its identity (since 2026-12-03); a timed line does not", () => {
    const fields = (u: ParsedUsage) =>
      ["v1", u.provider, u.model, "0", u.input, u.output, u.cacheRead, u.cacheWrite, ""].map(String);
    const sha256 = (parts: string[]) =>
      createHash("sha256").update(parts.join("\u001f")).digest("hex").slice(0, 32);
    const untimed = (extra: Record<string, unknown>) => {
      const r = parseLine(line(usageMsg({ timestamp: undefined }), { timestamp: null, ...extra }));
      if (r.kind !== "usage") throw new Error(`not a call: ${r.kind}`);
      return r.usage;
    };
    const a = untimed({ id: "3f1a9c02" });
    const b = untimed({ id: "b7e40d51" });
    expect([a.identityTsMs, a.identityEntryId, b.identityEntryId]).toEqual([0, "3f1a9c02", "b7e40d51"]);
    // two calls of the same counts: two identities; a copy of either (same entry id, any other
    // parent, entry time or place): the same one
    expect(dedupeKey(a)).not.toBe(dedupeKey(b));
    expect(dedupeKey(untimed({ id: "3f1a9c02", parentId: "zz", timestamp: "not a date" }))).toBe(
      dedupeKey(a),
    );
    // the nine fields of the identity of 2026-12-03 01:37 (time 0), then the entry id
    expect(dedupeKey(a)).toBe(`000000000000-${sha256([...fields(a), "id:3f1a9c02"])}`);
    expect(usageEvent(a, "main", null, null, "agent:main", "jsonl", "f@0").identityEntryId).toBe("3f1a9c02");
    // no entry id (or not a usable one): the identity it had before the entry id was taken
    const before = (u: ParsedUsage) => `000000000000-${sha256(fields(u))}`;
    for (const id of [undefined, null, "", 42, "x".repeat(201)]) {
      const u = untimed({ id });
      expect(u.identityEntryId).toBeUndefined();
      expect(dedupeKey(u)).toBe(before(u));
    }
    // a timed line's identity never holds its entry id: two ids, one identity, as before
    const timed = (id: string) => {
      const r = parseLine(line(usageMsg(), { id }));
      if (r.kind !== "usage") throw new Error(`not a call: ${r.kind}`);
      return r.usage;
    };
    expect(timed("3f1a9c02").identityEntryId).toBeUndefined();
    expect(dedupeKey(timed("3f1a9c02"))).toBe(dedupeKey(timed("b7e40d51")));
  });

  it("falls back to the entry's ISO time for very old lines without message.timestamp", () => {
    const r = parseLine(line(usageMsg({ timestamp: undefined })));
    expect(r.kind === "usage" && r.usage.messageTsMs).toBe(Date.parse("2026-11-22T18:12:17.405Z"));
  });

  it("parses the public sample transcripts of older formats", () => {
    const dir = join(FIXTURES, "public-samples");
    const results = [
      "pi-mono__packages__coding-agent__test__fixtures__before-compaction.jsonl.excerpt.jsonl",
      "pi-mono__packages__coding-agent__test__fixtures__large-session.jsonl.excerpt.jsonl",
      "third-party__ClawSessionScrubber-implementation-plan__appendix16.jsonl",
    ].flatMap((f) =>
      readFileSync(join(dir, f), "utf8")
        .split("\n")
        .filter((l) => l.trim())
        .map(parseLine),
    );
    expect(results.filter((r) => r.kind === "malformed")).toEqual([]);
    const usage = results.filter((r) => r.kind === "usage");
    expect(usage.length).toBeGreaterThanOrEqual(3);
    for (const u of usage) {
      if (u.kind !== "usage") continue;
      expect(u.usage.totalTokens).toBe(
        u.usage.input + u.usage.output + u.usage.cacheRead + u.usage.cacheWrite,
      );
    }
  });
});

describe("mayBeUsage", () => {
  it("lets through every line that can be usage and rejects the rest cheaply", () => {
    expect(mayBeUsage(Buffer.from(line(usageMsg())))).toBe(true);
    expect(mayBeUsage(Buffer.from(line({ role: "user", content: "usage" })))).toBe(false);
    expect(mayBeUsage(Buffer.from('{"type":"session"}'))).toBe(false);
  });
});

describe("dedupeKey", () => {
  const base = parseLine(line(usageMsg()));
  if (base.kind !== "usage") throw new Error("fixture line must parse");

  it("ignores the 1-hour cache write breakdown: a line billed before it existed keeps its identity", () => {
    const base = {
      provider: "anthropic",
      model: "claude-sonnet-4-5",
      messageTsMs: 1795168805000,
      responseId: null,
      input: 100,
      output: 200,
      cacheRead: 0,
      cacheWrite: 10_000,
    };
    const u = (extra: object) => ({
      api: null,
      totalTokens: 10_300,
      reasoningTokens: null,
      stopReason: null,
      isError: false,
      errorMessage: null,
      recordedCostUsd: null,
      ...base,
      ...extra,
    });
    expect(dedupeKey(u({ cacheWrite1h: 4_000 }))).toBe(dedupeKey(u({})));
    expect(dedupeKey(u({ cacheWrite1h: 4_000, recordedCostOrigin: "provider-billed" }))).toBe(
      dedupeKey(u({})),
    );
  });

  it("is the same for a re-appended copy with a new id, file and write time", () => {
    const copy = parseLine(line(usageMsg(), { id: "other", timestamp: "2026-11-23T00:00:00.000Z" }));
    expect(copy.kind === "usage" && dedupeKey(copy.usage)).toBe(dedupeKey(base.usage));
  });

  it("differs when the call differs in time (ms), tokens, model or response id", () => {
    const variants = [
      usageMsg({ timestamp: 1795371137381 }),
      usageMsg({ model: "mock-mini" }),
      usageMsg({ usage: { input: 1113, output: 47, cacheRead: 9536, cacheWrite: 0 } }),
      usageMsg({ responseId: "chatcmpl-1" }),
    ];
    for (const v of variants) {
      const r = parseLine(line(v));
      expect(r.kind === "usage" && dedupeKey(r.usage)).not.toBe(dedupeKey(base.usage));
    }
  });
});

describe("usageEvent", () => {
  it("carries every parsed field, optional ones included, plus who and where (same as a spread)", () => {
    const r = parseLine(
      line(
        usageMsg({
          responseId: "resp_1",
          usage: {
            input: 10,
            output: 5,
            cacheRead: 2,
            cacheWrite: 800,
            cacheWrite1h: 300,
            totalTokens: 817,
            reasoningTokens: 3,
            cost: { total: 0.01, totalOrigin: "provider-billed" },
          },
        }),
      ),
    );
    if (r.kind !== "usage") throw new Error(r.kind);
    const e = usageEvent(r.usage, "main", "sid-1", "agent:main:x", "telegram:42", "jsonl", "/f@12");
    expect(e).toStrictEqual({
      ...r.usage,
      agentId: "main",
      sessionId: "sid-1",
      sessionKey: "agent:main:x",
      accountId: "telegram:42",
      source: "jsonl",
      sourceRef: "/f@12",
      latencyMs: null,
      userPreview: null,
      replyPreview: null,
    });
    expect(e.cacheWrite1h).toBe(300);
    expect(e.recordedCostOrigin).toBe("provider-billed");
    expect(Object.keys(e).sort()).toEqual(
      Object.keys({
        ...r.usage,
        agentId: 0,
        sessionId: 0,
        sessionKey: 0,
        accountId: 0,
        source: 0,
        sourceRef: 0,
        latencyMs: 0,
        userPreview: 0,
        replyPreview: 0,
      }).sort(),
    );
  });
});

describe("parseLine: usage under the providers' own field names (OpenClaw's normalizeUsage order)", () => {
  const counts = (usage: Record<string, unknown>, extra: Record<string, unknown> = {}) => {
    const r = parseLine(line(usageMsg({ usage }), extra));
    if (r.kind !== "usage") throw new Error(`not usage: ${JSON.stringify(r)}`);
    const u = r.usage;
    return [u.input, u.output, u.cacheRead, u.cacheWrite, u.cacheWrite1h, u.totalTokens, u.reasoningTokens];
  };

  it("Anthropic snake_case, with the 1-hour part of the cache writes", () => {
    expect(
      counts({
        input_tokens: 5,
        output_tokens: 7,
        cache_read_input_tokens: 100,
        cache_creation_input_tokens: 40,
        cache_creation: { ephemeral_5m_input_tokens: 10, ephemeral_1h_input_tokens: 30 },
      }),
    ).toEqual([5, 7, 100, 40, 30, 152, null]);
  });

  it("OpenAI prompt totals include the cached prefix: taken out of input, never billed twice", () => {
    expect(
      counts({ prompt_tokens: 1000, completion_tokens: 20, prompt_tokens_details: { cached_tokens: 800 } }),
    ).toEqual([200, 20, 800, 0, 0, 1020, null]);
    expect(
      counts({
        input_tokens: 1000,
        output_tokens: 20,
        total_tokens: 1020,
        input_tokens_details: { cached_tokens: 900 },
        output_tokens_details: { reasoning_tokens: 12 },
      }),
    ).toEqual([100, 20, 900, 0, 0, 1020, 12]);
    // Kimi's top-level cached_tokens; DeepSeek's prompt_cache_hit_tokens
    expect(counts({ prompt_tokens: 50, completion_tokens: 1, cached_tokens: 30 })).toEqual([
      20,
      1,
      30,
      0,
      0,
      51,
      null,
    ]);
    expect(counts({ prompt_tokens: 50, completion_tokens: 1, prompt_cache_hit_tokens: 45 })).toEqual([
      5,
      1,
      45,
      0,
      0,
      51,
      null,
    ]);
    // camelCase SDK names, without cache details: the prompt total is the input
    expect(counts({ promptTokens: 50, completionTokens: 2 })).toEqual([50, 2, 0, 0, 0, 52, null]);
  });

  it("OpenAI-style cache writes (cache_write_tokens) leave the prompt total too, keeping the old identity", () => {
    const writes = (usage: Record<string, unknown>) => {
      const r = parseLine(line(usageMsg({ usage })));
      if (r.kind !== "usage") throw new Error(`not usage: ${JSON.stringify(r)}`);
      return [
        r.usage.input,
        r.usage.cacheRead,
        r.usage.cacheWrite,
        r.usage.identityInput,
        r.usage.identityCacheWrite,
        r.usage.writtenInput,
      ];
    };
    // OpenRouter's documented example: 194 prompt tokens, 100 of them cache writes
    expect(
      writes({
        prompt_tokens: 194,
        completion_tokens: 2,
        prompt_tokens_details: { cached_tokens: 0, cache_write_tokens: 100 },
      }),
    ).toEqual([94, 0, 100, 194, 0, undefined]);
    expect(
      writes({
        input_tokens: 1000,
        output_tokens: 5,
        input_tokens_details: { cached_tokens: 600, cache_write_tokens: 300 },
      }),
    ).toEqual([100, 600, 300, 400, 0, undefined]);
    // no writes reported: nothing changes, no identity fields
    expect(
      writes({
        prompt_tokens: 50,
        completion_tokens: 1,
        prompt_tokens_details: { cached_tokens: 20, cache_write_tokens: 0 },
      }),
    ).toEqual([30, 20, 0, undefined, undefined, undefined]);
    // an Anthropic write name wins and its input (cache-exclusive) is taken as is
    expect(
      writes({
        input_tokens: 10,
        output_tokens: 1,
        cache_creation_input_tokens: 7,
        input_tokens_details: { cache_write_tokens: 99 },
      }),
    ).toEqual([10, 0, 7, undefined, undefined, undefined]);
    // ...but a null one names nothing: the details' writes are read
    expect(
      writes({
        input_tokens: 10,
        output_tokens: 1,
        cache_creation_input_tokens: null,
        input_tokens_details: { cache_write_tokens: 4 },
      }),
    ).toEqual([6, 0, 4, 10, 0, undefined]);
  });

  it("cache writes a prompt total cannot hold (tester, 2026-12-02)", () => {
    const u = (usage: Record<string, unknown>) => {
      const r = parseLine(line(usageMsg({ usage })));
      if (r.kind !== "usage") throw new Error(`not usage: ${JSON.stringify(r)}`);
      return r;
    };
    // more writes than the prompt holds after its reads: all of what is left, not 3,000 tokens
    expect(
      u({ prompt_tokens: 1000, completion_tokens: 1, prompt_tokens_details: { cache_write_tokens: 3000 } }),
    ).toMatchObject({ clamped: false, usage: { input: 0, cacheWrite: 1000, identityInput: 1000 } });
    expect(
      u({
        prompt_tokens: 1000,
        completion_tokens: 1,
        prompt_tokens_details: { cached_tokens: 800, cache_write_tokens: 500 },
      }),
    ).toMatchObject({ usage: { input: 0, cacheRead: 800, cacheWrite: 200, identityInput: 200 } });
    // a fraction or decimal text is a count (since 2026-12-03), its call keeping the identity it was
    // billed under when such writes were ignored (input 900, no cache write)
    for (const text of [300.5, "301"]) {
      const r = u({
        prompt_tokens: 1000,
        completion_tokens: 200,
        prompt_tokens_details: { cached_tokens: 100, cache_write_tokens: text },
      });
      expect(r).toMatchObject({
        usage: { input: 599, cacheRead: 100, cacheWrite: 301, identityInput: 900, identityCacheWrite: 0 },
      });
    }
    // negative, other text, past 2^53: ignored, the call billed as before these names were read
    for (const bad of [-5, "lots", 9007199254740994]) {
      const r = u({
        prompt_tokens: 1000,
        completion_tokens: 200,
        prompt_tokens_details: { cached_tokens: 100, cache_write_tokens: bad },
      });
      expect(r).toMatchObject({ clamped: false, usage: { input: 900, cacheRead: 100, cacheWrite: 0 } });
      expect(r.usage.identityInput).toBeUndefined();
    }
    // OpenClaw's own top-level cacheWrite wins, and then the details' writes stay in input
    expect(
      u({
        prompt_tokens: 1000,
        completion_tokens: 200,
        cacheWrite: 0,
        prompt_tokens_details: { cached_tokens: 200, cache_write_tokens: 300 },
      }),
    ).toMatchObject({ usage: { input: 800, cacheRead: 200, cacheWrite: 0 } });
  });

  it("a line inputHoldsCache corrects too keeps the identity it was billed under (tester, 2026-12-02)", () => {
    // total_tokens = prompt - cached + completion: the parser also reads the input as holding
    // its cached tokens; the identity is still the one the reader before cache writes made
    const r = parseLine(
      '{"type":"message","id":"a3","timestamp":"2026-11-22T18:13:01.500Z","message":{"role":"assistant","content":[],"api":"openai-completions","provider":"mock","model":"mock-gpt","usage":{"prompt_tokens":2000,"completion_tokens":100,"total_tokens":1600,"prompt_tokens_details":{"cached_tokens":500,"cache_write_tokens":300}},"stopReason":"stop","timestamp":1795371181100}}',
    );
    if (r.kind !== "usage") throw new Error(r.kind);
    // the key the build before cache writes were read (1cb0ef0) gave this line
    expect(dedupeKey(r.usage)).toBe("01a20476242c-d5baa944b1d5ea2f07a1ec47fb3040f9");
  });

  it("reasoning outside the completion count (xAI: total = prompt + completion + reasoning) is output", () => {
    // Wei-Shaw/sub2api#5771: grok Chat Completions, 10120 + 1499 + 2809 = 14428
    expect(
      counts({
        prompt_tokens: 10120,
        completion_tokens: 1499,
        total_tokens: 14428,
        prompt_tokens_details: { cached_tokens: 128 },
        completion_tokens_details: { reasoning_tokens: 2809 },
      }),
    ).toEqual([9992, 4308, 128, 0, 0, 14428, 2809]);
    // vercel/ai#12425 (grok-3-mini); sonami-tech/omni-llm-provider#49 (279 + 6 + 89 = 374), Responses names
    expect(
      counts({
        prompt_tokens: 12,
        completion_tokens: 1,
        total_tokens: 399,
        completion_tokens_details: { reasoning_tokens: 386 },
      }),
    ).toEqual([12, 387, 0, 0, 0, 399, 386]);
    expect(
      counts({
        input_tokens: 279,
        output_tokens: 6,
        total_tokens: 374,
        output_tokens_details: { reasoning_tokens: 89 },
      }),
    ).toEqual([279, 95, 0, 0, 0, 374, 89]);
    // OpenAI's: reasoning inside the completion count (total = prompt + completion): as written
    expect(
      counts({
        prompt_tokens: 100,
        completion_tokens: 50,
        total_tokens: 150,
        completion_tokens_details: { reasoning_tokens: 30 },
      }),
    ).toEqual([100, 50, 0, 0, 0, 150, 30]);
    // no total, another total, no reasoning: nothing tells, as written
    for (const total of [undefined, 398, 400, "four hundred"]) {
      const r = parseLine(
        line(
          usageMsg({
            usage: {
              prompt_tokens: 12,
              completion_tokens: 1,
              total_tokens: total,
              completion_tokens_details: { reasoning_tokens: 386 },
            },
          }),
        ),
      );
      expect(r).toMatchObject({ kind: "usage", usage: { output: 1 } });
      if (r.kind === "usage") expect(r.usage.identityOutput).toBeUndefined();
    }
    // a total written as text is its number (since 2026-12-03): the reasoning is output, the call
    // keeping the identity it was billed under when that total told nothing (output 1)
    expect(
      parseLine(
        line(
          usageMsg({
            usage: {
              prompt_tokens: 12,
              completion_tokens: 1,
              total_tokens: "399",
              completion_tokens_details: { reasoning_tokens: 386 },
            },
          }),
        ),
      ),
    ).toMatchObject({ kind: "usage", usage: { output: 387, identityOutput: 1 } });
    expect(
      counts({
        prompt_tokens: 12,
        completion_tokens: 1,
        total_tokens: 13,
        completion_tokens_details: { reasoning_tokens: 0 },
      }),
    ).toEqual([12, 1, 0, 0, 0, 13, 0]);
    // pi-ai's own names are never re-read: `output` as written
    expect(
      counts({ input: 12, output: 1, cacheRead: 0, cacheWrite: 0, totalTokens: 399, reasoningTokens: 386 }),
    ).toEqual([12, 1, 0, 0, 0, 399, 386]);
  });

  it("Codex's own names: cached input and cache writes inside input_tokens, reasoning inside output", () => {
    // codex exec --json turn.completed / rollout token_count (snake_case)
    expect(
      counts({
        input_tokens: 12000,
        cached_input_tokens: 10000,
        output_tokens: 300,
        reasoning_output_tokens: 120,
        total_tokens: 12300,
      }),
    ).toEqual([2000, 300, 10000, 0, 0, 12300, 120]);
    expect(
      counts({
        input_tokens: 9000,
        cached_input_tokens: 6000,
        cache_write_input_tokens: 2000,
        output_tokens: 100,
        reasoning_output_tokens: 40,
        total_tokens: 9100,
      }),
    ).toEqual([1000, 100, 6000, 2000, 0, 9100, 40]);
    // a rollout's token_count with Anthropic's write name at 0 (PixelPaw-Labs/codex-trace#154)
    expect(
      counts({
        input_tokens: 26701,
        cache_creation_input_tokens: 0,
        cached_input_tokens: 2048,
        output_tokens: 283,
        reasoning_output_tokens: 211,
        total_tokens: 26984,
      }),
    ).toEqual([24653, 283, 2048, 0, 0, 26984, 211]);
    // the app-server's v2 TokenUsageBreakdown: cacheWriteInputTokens is Codex's here, not Bedrock's
    expect(
      counts({
        totalTokens: 20500,
        inputTokens: 20000,
        cachedInputTokens: 15000,
        cacheWriteInputTokens: 4000,
        outputTokens: 500,
        reasoningOutputTokens: 200,
      }),
    ).toEqual([1000, 500, 15000, 4000, 0, 20500, 200]);
    // a relay's mix of the two spellings: the input and output are read where they are
    expect(counts({ inputTokens: 100, cached_input_tokens: 40, outputTokens: 5 })).toEqual([
      60,
      5,
      40,
      0,
      0,
      105,
      null,
    ]);
    // Bedrock's names (no cachedInputTokens) stay cache-exclusive
    expect(
      counts({ inputTokens: 100, outputTokens: 5, cacheReadInputTokens: 50, cacheWriteInputTokens: 20 }),
    ).toEqual([100, 5, 50, 20, 0, 175, null]);
  });

  it("Codex's names keep the identity the reader before 2026-12-03 gave them", () => {
    const key = (usage: Record<string, unknown>) => {
      const r = parseLine(
        JSON.stringify({
          type: "message",
          id: "a1",
          timestamp: "2026-11-22T18:13:01.500Z",
          message: {
            role: "assistant",
            content: [],
            api: "openai-responses",
            provider: "mock",
            model: "mock-gpt",
            usage,
            stopReason: "stop",
            timestamp: 1795371181100,
          },
        }),
      );
      if (r.kind !== "usage") throw new Error(r.kind);
      return [
        dedupeKey(r.usage),
        r.usage.identityInput,
        r.usage.identityCacheRead,
        r.usage.identityCacheWrite,
      ];
    };
    // the keys the build before this change (dd6d0b8) gave these lines
    expect(
      key({
        input_tokens: 12000,
        cached_input_tokens: 10000,
        output_tokens: 300,
        reasoning_output_tokens: 120,
        total_tokens: 12300,
      }),
    ).toEqual(["01a20476242c-e38212f139c8ed54c2bfc6ac0b52ebc5", 12000, 0, undefined]);
    expect(
      key({
        totalTokens: 20500,
        inputTokens: 20000,
        cachedInputTokens: 15000,
        cacheWriteInputTokens: 4000,
        outputTokens: 500,
        reasoningOutputTokens: 200,
      }),
    ).toEqual(["01a20476242c-dc59f73309d7a25147f528950fea5f7c", 20000, 0, 0]);
    expect(
      key({
        input_tokens: 9000,
        cached_input_tokens: 6000,
        cache_write_input_tokens: 2000,
        output_tokens: 100,
        reasoning_output_tokens: 40,
        total_tokens: 9100,
      })[0],
    ).toBe("01a20476242c-15d947675cbcaf722d774a2f12ed93f0");
  });

  it("Codex's names with counts the input cannot hold", () => {
    const u = (usage: Record<string, unknown>) => parseLine(line(usageMsg({ usage })));
    // more cached than input: the input never held it (the AI SDK before v6 wrote Anthropic's
    // cache-exclusive input under these names), billed as written since 2026-12-04 (before: as 0
    // and counted; case usage-cached-input-above-input)
    expect(u({ input_tokens: 10, cached_input_tokens: 30, output_tokens: 1 })).toMatchObject({
      kind: "usage",
      clamped: false,
      usage: { input: 10, cacheRead: 30, cacheWrite: 0 },
    });
    // more writes than what the reads leave: all of it, not more
    expect(
      u({ input_tokens: 100, cached_input_tokens: 80, cache_write_input_tokens: 50, output_tokens: 1 }),
    ).toMatchObject({ kind: "usage", clamped: false, usage: { input: 0, cacheRead: 80, cacheWrite: 20 } });
    // a fraction or decimal text is a count (since 2026-12-03); the identity keeps the input as
    // written, as it was when such writes stayed in the input
    for (const text of [3.5, "4"]) {
      expect(
        u({ input_tokens: 100, cached_input_tokens: 50, cache_write_input_tokens: text, output_tokens: 1 }),
      ).toMatchObject({
        kind: "usage",
        usage: { input: 46, cacheRead: 50, cacheWrite: 4, identityInput: 100 },
      });
    }
    // writes that are not a positive count stay in the input
    for (const bad of [-5, "some", null]) {
      expect(
        u({ input_tokens: 100, cached_input_tokens: 50, cache_write_input_tokens: bad, output_tokens: 1 }),
      ).toMatchObject({ kind: "usage", clamped: false, usage: { input: 50, cacheRead: 50, cacheWrite: 0 } });
    }
    // a cached count that is not a count holds the call, as any token count (was malformed)
    expect(u({ input_tokens: 100, cached_input_tokens: "fifty", output_tokens: 1 })).toMatchObject({
      kind: "usage",
      usage: { countProblem: expect.stringMatching(/token count "fifty" unreadable/) },
    });
  });

  it("more cached than prompt tokens: the prompt count is the uncached input (case usage-prompt-excludes-cached)", () => {
    const r = parseLine(
      line(usageMsg({ usage: { prompt_tokens: 10, completion_tokens: 1, cached_tokens: 30 } })),
    );
    // before 2026-12-03 read as 0 (clamped): the identity keeps that 0
    expect(r).toMatchObject({
      kind: "usage",
      clamped: false,
      usage: { input: 10, cacheRead: 30, output: 1, identityInput: 0 },
    });
  });

  it("pi-ai's own fields win; usage at the entry's top level is read when message.usage is absent", () => {
    expect(
      counts({ input: 3, output: 4, cacheRead: 5, cacheWrite: 0, prompt_tokens: 999, cached_tokens: 5 }),
    ).toEqual([3, 4, 5, 0, 0, 12, null]);
    const r = parseLine(
      line(usageMsg({ usage: undefined }), { usage: { input_tokens: 8, output_tokens: 2 } }),
    );
    expect(r).toMatchObject({ kind: "usage", usage: { input: 8, output: 2 } });
  });
});

describe("parseLine: a Google line whose input also holds its cached tokens (openclaw/openclaw#15265)", () => {
  const google = (usage: Record<string, unknown>, over: Record<string, unknown> = {}) =>
    parseLine(
      line(
        usageMsg({
          api: "google-generative-ai",
          provider: "google",
          model: "gemini-3-flash-preview",
          usage,
          ...over,
        }),
      ),
    );

  it("takes the cached tokens out of input, keeping the call's identity as written", () => {
    // pi-ai 0.52.10: input = promptTokenCount 21675 (incl. 16289 cached), totalTokens = totalTokenCount 21680
    const r = google({ input: 21675, output: 5, cacheRead: 16289, cacheWrite: 0, totalTokens: 21680 });
    if (r.kind !== "usage") throw new Error("not usage");
    expect(r.usage).toMatchObject({
      input: 5386,
      output: 5,
      cacheRead: 16289,
      totalTokens: 21680,
      writtenInput: 21675,
    });
    const { writtenInput: _, ...asWritten } = { ...r.usage, input: 21675 };
    expect(dedupeKey(r.usage)).toBe(dedupeKey(asWritten));
    // Vertex too, and a line without `api` by its provider
    expect(
      google({ input: 100, output: 1, cacheRead: 60, totalTokens: 101 }, { api: "google-vertex" }),
    ).toMatchObject({
      usage: { input: 40 },
    });
    expect(
      google({ input: 100, output: 1, cacheRead: 60, totalTokens: 101 }, { api: undefined }),
    ).toMatchObject({
      usage: { input: 40 },
    });
  });

  it("leaves fixed Google lines, lines without totalTokens and other APIs as written", () => {
    for (const r of [
      google({ input: 933, output: 120, cacheRead: 69905, cacheWrite: 0, totalTokens: 70958 }),
      google({ input: 933, output: 120, cacheRead: 69905, cacheWrite: 0 }),
      google({ input: 100, output: 1, cacheRead: 200, totalTokens: 101 }),
      google(
        { input: 100, output: 1, cacheRead: 60, totalTokens: 101 },
        { api: "anthropic-messages", provider: "anthropic" },
      ),
    ]) {
      expect(r.kind).toBe("usage");
      if (r.kind === "usage") expect("writtenInput" in r.usage).toBe(false);
    }
  });
});

describe("parseLine: a Codex-harness line whose input also holds its cached tokens (openclaw/openclaw#69298)", () => {
  const codex = (usage: Record<string, unknown>, over: Record<string, unknown> = {}) =>
    parseLine(
      line(
        usageMsg({
          api: "openai-codex-responses",
          provider: "openai-codex",
          model: "gpt-5.4",
          usage,
          ...over,
        }),
      ),
    );

  it("takes the cached tokens out of input when totalTokens counts them once, inside input", () => {
    // OpenClaw 2026.4.15: input = Codex inputTokens (incl. cachedInputTokens), totalTokens = input + output
    const r = codex({ input: 48210, output: 812, cacheRead: 45056, cacheWrite: 0, totalTokens: 49022 });
    if (r.kind !== "usage") throw new Error("not usage");
    expect(r.usage).toMatchObject({ input: 3154, cacheRead: 45056, totalTokens: 49022, writtenInput: 48210 });
    const { writtenInput: _, ...asWritten } = { ...r.usage, input: 48210 };
    expect(dedupeKey(r.usage)).toBe(dedupeKey(asWritten));
    // any API whose input can hold the cache, with a cache write counted once in the total
    expect(
      codex(
        { input: 500, output: 10, cacheRead: 300, cacheWrite: 40, totalTokens: 550 },
        { api: "x-custom" },
      ),
    ).toMatchObject({ usage: { input: 200, cacheWrite: 40, writtenInput: 500 } });
  });

  it("leaves sums, other short totals, cache-exclusive APIs and input below the cache as written", () => {
    for (const r of [
      // fixed shape: totalTokens = the sum of the four counts
      codex({ input: 2210, output: 430, cacheRead: 49152, cacheWrite: 0, totalTokens: 51792 }),
      // a total below the sum that is not input + output + cacheWrite: no known writer, as written
      codex({ input: 48210, output: 812, cacheRead: 45056, totalTokens: 49000 }),
      // Anthropic and Bedrock input excludes the cache by definition
      codex(
        { input: 48210, output: 812, cacheRead: 45056, totalTokens: 49022 },
        { api: "anthropic-messages", provider: "anthropic", model: "claude-sonnet-4-5" },
      ),
      codex(
        { input: 48210, output: 812, cacheRead: 45056, totalTokens: 49022 },
        { api: "bedrock-converse-stream", provider: "amazon-bedrock" },
      ),
      // input below the cache cannot hold it
      codex({ input: 3, output: 812, cacheRead: 45056, totalTokens: 815 }),
      // no totalTokens: nothing to tell by
      codex({ input: 48210, output: 812, cacheRead: 45056 }),
      // no api (and not a Google provider): no known writer of the shape
      codex({ input: 48210, output: 812, cacheRead: 45056, totalTokens: 49022 }, { api: undefined }),
    ]) {
      expect(r.kind).toBe("usage");
      if (r.kind === "usage") expect("writtenInput" in r.usage).toBe(false);
    }
  });
});

describe("recorded cost shapes (OpenRouter usage.cost, BYOK)", () => {
  const cost = (usage: Record<string, unknown>) => {
    const r = parseLine(line(usageMsg({ usage: { input: 1000, output: 100, ...usage } })));
    if (r.kind !== "usage") throw new Error(`not usage: ${JSON.stringify(r)}`);
    return [r.usage.recordedCostUsd, r.usage.recordedCostOrigin];
  };

  it("a numeric usage.cost is what the provider billed; decimal text too", () => {
    expect(cost({ cost: 0.0045 })).toEqual([0.0045, "provider-billed"]);
    expect(cost({ cost: "0.0045" })).toEqual([0.0045, "provider-billed"]);
    expect(cost({ cost: { total: "0.029", totalOrigin: "provider-billed" } })).toEqual([
      0.029,
      "provider-billed",
    ]);
    expect(cost({ cost: { total: 0.029 } })).toEqual([0.029, null]);
  });

  it("garbage costs are no cost, never an error", () => {
    for (const c of [-1, "abc", "-0.5", "1e400", [0.5], { total: -1 }, { total: "NaN" }, null, true])
      expect(cost({ cost: c })).toEqual([null, null]);
  });

  it("BYOK: fee + upstream in exact pico-USD; upstream only with is_byok; BYOK without upstream carries no cost (the fee alone)", () => {
    const details = { cost_details: { upstream_inference_cost: 0.0360795 } };
    expect(cost({ cost: 0, is_byok: true, ...details })).toEqual([0.0360795, "provider-billed"]);
    expect(cost({ cost: 0.1, is_byok: true, cost_details: { upstream_inference_cost: 0.2 } })).toEqual([
      0.3,
      "provider-billed",
    ]);
    expect(
      cost({ cost: { total: 0.00024, totalOrigin: "provider-billed" }, is_byok: true, ...details }),
    ).toEqual([0.0363195, "provider-billed"]);
    expect(cost({ cost: 0.01, is_byok: false, ...details })).toEqual([0.01, "provider-billed"]);
    expect(cost({ cost: 0.01, ...details })).toEqual([0.01, "provider-billed"]);
    expect(cost({ cost: 0.001, is_byok: true })).toEqual([null, null]);
  });

  it("a call without tokens is billable only when its provider reported charging for it", () => {
    const zero = (c: unknown) =>
      parseLine(line(usageMsg({ usage: { input: 0, output: 0, cacheRead: 0, cacheWrite: 0, cost: c } })))
        .kind;
    expect(zero(0.04)).toBe("usage");
    expect(zero({ total: 0.04, totalOrigin: "provider-billed" })).toBe("usage");
    expect(zero(0)).toBe("skip");
    expect(zero({ total: 0.04 })).toBe("skip");
  });
});

describe("parseLine: OpenClaw's CLI backend lines are not read as input holding the cache", () => {
  // OpenClaw persists a CLI-backend turn with `api: "cli"` and the backend's provider id
  // (`persistCliTurnTranscript`), usage from `toCliUsage` through `buildUsageWithNoCost`, whose
  // `totalTokens` defaulted to `input + output` (cache left out) when the CLI reported no total.
  // Claude CLI reports Anthropic's usage (`input_tokens` excludes cache reads and writes) and no
  // total, so a correct claude-cli line with cache reads and no cache write has
  // totalTokens = input + output exactly: the Codex-harness shape, but its input holds no cache.
  const cli = (provider: string, usage: Record<string, unknown>) =>
    parseLine(line(usageMsg({ api: "cli", provider, model: "claude-sonnet-4-5", usage })));

  it("bills a claude-cli line as written (input excludes the cache by definition)", () => {
    for (const provider of ["claude-cli", "Claude-CLI"]) {
      const r = cli(provider, {
        input: 5200,
        output: 300,
        cacheRead: 4800,
        cacheWrite: 0,
        totalTokens: 5500,
      });
      if (r.kind !== "usage") throw new Error("not usage");
      expect(r.usage).toMatchObject({ input: 5200, cacheRead: 4800, totalTokens: 5500 });
      expect("writtenInput" in r.usage).toBe(false);
    }
  });

  it("bills any other CLI backend's line as written: its total tells nothing (input + output)", () => {
    for (const provider of ["gemini-cli", "opencode", "my-cli"]) {
      const r = cli(provider, {
        input: 5200,
        output: 300,
        cacheRead: 4800,
        cacheWrite: 0,
        totalTokens: 5500,
      });
      if (r.kind !== "usage") throw new Error("not usage");
      expect(r.usage).toMatchObject({ input: 5200, cacheRead: 4800 });
      expect("writtenInput" in r.usage).toBe(false);
    }
  });

  it("still corrects a codex-cli line (Codex CLI's input_tokens holds cached_input_tokens)", () => {
    const r = parseLine(
      line(
        usageMsg({
          api: "cli",
          provider: "codex-cli",
          model: "gpt-5.4",
          usage: { input: 48210, output: 812, cacheRead: 45056, cacheWrite: 0, totalTokens: 49022 },
        }),
      ),
    );
    expect(r).toMatchObject({ usage: { input: 3154, writtenInput: 48210 } });
  });
});
