/**
 * Optional push metering: every assistant message OpenClaw is about to write
 * (`before_message_write`, OC ≥2026.2.16) becomes a `POST /v1/usage` event whose
 * `idempotencyKey` is the transcript meter's `dedupeKey`, so running both paths bills once.
 * Transcripts remain the source of truth: this is a low-latency head start, and a batch that
 * cannot be delivered is retried a few times and then dropped (logged), never blocking chat.
 *
 * The hook is synchronous and must not alter the message: the handler only enqueues.
 */
import type { PushEvent } from "./api-types.js";
import type { CreditgateClient } from "./client.js";
import { dedupeKey } from "./identity.js";
import type { BeforeMessageWriteEvent, PluginLogger, WrittenMessage } from "./openclaw-types.js";
import { agentOfKey, type IdentityLinks, payerFromKeyAlone } from "./user.js";

const count = (v: unknown): number | null =>
  v === undefined || v === null ? 0 : typeof v === "number" && Number.isSafeInteger(v) && v >= 0 ? v : null;

/** pi-ai's Google APIs (the meter's `GOOGLE_APIS`, src/meter/parse.ts). */
const GOOGLE_APIS = new Set(["google-generative-ai", "google-vertex"]);
/** APIs whose input never holds the cache (the meter's `CACHE_EXCLUSIVE_APIS`). */
const CACHE_EXCLUSIVE_APIS = new Set(["anthropic-messages", "bedrock-converse-stream"]);
/**
 * The meter's `cacheNotTellable`: OpenClaw's Claude CLI backend reports Anthropic usage, and on any
 * other CLI backend's line (`api: "cli"`) but Codex CLI's the total tells nothing.
 */
const cacheNotTellable = (api: string | null, p: unknown): boolean => {
  const provider = typeof p === "string" ? p.trim().toLowerCase() : "";
  return provider === "claude-cli" || (api === "cli" && provider !== "codex-cli");
};

/**
 * creditgate's `inputHoldsCache` (src/meter/parse.ts) on a written message: a call with cached
 * tokens whose recorded total is below the sum of its four counts (the provider's total counts the
 * cached prefix once; a defective line counts it in input too): for Google any such total, for
 * other APIs exactly `input + output + cacheWrite` (Codex harness, openclaw/openclaw#69298).
 */
function inputHoldsCache(m: WrittenMessage): boolean {
  const u = m.usage ?? {};
  const input = count(u.input) ?? 0;
  const output = count(u.output) ?? 0;
  const cacheRead = count(u.cacheRead) ?? 0;
  const cacheWrite = count(u.cacheWrite) ?? 0;
  const total = count(u.totalTokens);
  if (cacheRead === 0 || input < cacheRead || total === null || total === 0) return false;
  if (total >= input + output + cacheRead + cacheWrite) return false;
  // A non-empty api, as the meter's `str(msg.api)`: "" falls back to the provider there too.
  const api = typeof m.api === "string" && m.api.length > 0 ? m.api : null;
  const google =
    api !== null ? GOOGLE_APIS.has(api) : m.provider === "google" || m.provider === "google-vertex";
  if (google) return true;
  if (api === null || CACHE_EXCLUSIVE_APIS.has(api) || cacheNotTellable(api, m.provider)) return false;
  return total === input + output + cacheWrite;
}

/**
 * Whether a Google line (the meter's `isGoogleLine`: pi-ai's Google APIs, else the google
 * providers) has a total other than its four counts' sum: the meter reads such a pi-ai line's
 * counts as corrected by it (parse.ts `piAiThoughtsInside`, `inputHoldsCache`).
 */
function googleTotalDisagrees(
  m: WrittenMessage,
  input: number,
  output: number,
  cacheRead: number,
  cacheWrite: number,
): boolean {
  const total = count(m.usage?.totalTokens);
  if (total === null || total === 0 || total === input + output + cacheRead + cacheWrite) return false;
  const api = typeof m.api === "string" && m.api.length > 0 ? m.api : null;
  return api !== null ? GOOGLE_APIS.has(api) : m.provider === "google" || m.provider === "google-vertex";
}

/**
 * A line's service tier as creditgate's meter reads it (`servedServiceTier`, src/meter/parse.ts):
 * OpenAI's `service_tier` / Anthropic's `usage.service_tier`, trimmed, case-insensitively; the
 * tiers priced apart (flex, priority, batch), else null (default, standard, scale, auto or
 * anything else: the standard price, as no tier).
 */
export function servedServiceTier(v: unknown): "flex" | "priority" | "batch" | null {
  if (typeof v !== "string") return null;
  const t = v.trim().toLowerCase();
  // OpenAI's Fast mode is its Priority tier renamed (2026-07-30), reported under either name
  if (t === "fast") return "priority";
  return t === "flex" || t === "priority" || t === "batch" ? t : null;
}

/**
 * The tier a Gemini / Vertex line's usage metadata names (`trafficType`), as the meter reads it
 * (`servedTrafficType`, src/meter/parse.ts) when the line says no service tier: `ON_DEMAND_FLEX` /
 * `FLEX` flex, `ON_DEMAND_PRIORITY` priority, `BATCH` batch, else null.
 */
export function servedTrafficTier(v: unknown): "flex" | "priority" | "batch" | null {
  if (typeof v !== "string") return null;
  const t = v.trim().toUpperCase();
  if (t === "ON_DEMAND_FLEX" || t === "FLEX") return "flex";
  if (t === "ON_DEMAND_PRIORITY") return "priority";
  return t === "BATCH" ? "batch" : null;
}

/** Whether a line's service tier is one the meter reads as the standard price (it then ignores `trafficType`). */
function saysStandardTier(v: unknown): boolean {
  if (typeof v !== "string") return false;
  const t = v.trim().toLowerCase();
  return t === "default" || t === "standard" || t === "scale" || t === "auto";
}

/** The billable call in an assistant message, with the meter's skip rules; null if none. */
export function usageEvent(
  message: WrittenMessage | { role: string },
  where: {
    agentId?: string;
    sessionKey?: string;
    slashPrefixes?: readonly string[];
    identityLinks?: IdentityLinks | null;
  },
): PushEvent | null {
  if (message.role !== "assistant") return null;
  const m = message as WrittenMessage;
  const u = m.usage;
  if (!u || typeof u !== "object") return null;
  if (m.provider === "openclaw") return null; // delivery-mirror / gateway-injected
  // OpenClaw's import of Claude Code's own history (the meter's `isCliHistoryImport`): the CLI
  // runner's `api: "cli"` line holds the turn's usage; such a row is a copy (openclaw/openclaw#136251)
  const from = m.__openclaw?.importedFrom;
  if (typeof from === "string" && from.trim().toLowerCase() === "claude-cli") return null;
  // An `api: "cli"` line of a provider that is no CLI backend (`*-cli`) is OpenClaw's end-of-run
  // mirror of an embedded run (`embeddedAssistantGapFill`): the run's summed or last usage written
  // again. Only the meter, which sees the turn's calls, tells it from a reply (`isRunMirror`, case
  // test/cases/embedded-run-cli-mirror); pushed, it would bill the run twice first.
  if (m.api === "cli" && !/-cli$/i.test(String(m.provider ?? "").trim())) return null;
  // Without pi-ai's `input` the meter reads the providers' own names (`prompt_tokens`, …:
  // `aliasCounts` in src/meter/parse.ts), which this push does not: its identity could differ.
  if (u.input === undefined) return null;
  const input = count(u.input);
  const output = count(u.output);
  const cacheRead = count(u.cacheRead);
  const cacheWrite = count(u.cacheWrite);
  if (input === null || output === null || cacheRead === null || cacheWrite === null) return null;
  // A total or 1-hour part that is not a whole number (a fraction, a count written as text): the
  // meter reads it as one (parse.ts `wholeCounts`, since 2026-12-03), and the total can correct the
  // input, the 1-hour part the price; a push reading neither would bill first, and differently.
  if (count(u.totalTokens) === null || count(u.cacheWrite1h) === null) return null;
  if (input + output + cacheRead + cacheWrite === 0) return null;
  if (!m.provider || !m.model || typeof m.timestamp !== "number" || !Number.isFinite(m.timestamp))
    return null;
  // A time below 10^11 (1973 in ms) is not OpenClaw's `Date.now()` but epoch seconds: the meter
  // bills it at that time in ms under an identity that keeps the number as written (parse.ts
  // `EPOCH_SECONDS_BELOW`, since 2026-12-04), which this push's key would not match; it stays
  // with the transcript meter. So does one from 10^14 (the year 5138 in ms): epoch microseconds or
  // nanoseconds, which the meter reads as such since 2026-12-04 (parse.ts `EPOCH_MICROS_FROM`); a push
  // would date the call to the year 58136 and the center hold it.
  if (m.timestamp < 1e11 || m.timestamp >= 1e14) return null;
  // A line whose input holds its cached tokens (pi-ai's google providers before pi#2588,
  // openclaw/openclaw#15265; OpenClaw's Codex harness, #69298): the meter takes the cache out of
  // input (`inputHoldsCache`); a push would bill it twice first, and the corrected transcript copy
  // would be its duplicate.
  if (inputHoldsCache(m)) return null;
  // Any other Google line whose total is not the sum of its four counts: the meter reads such a
  // total as correcting them (parse.ts: thoughts a deployment counted inside the candidates and
  // pi-ai again in output, `piAiThoughtsInside`), which this push does not. Pushed, the call was billed at the
  // written counts first and the corrected transcript copy was its duplicate (before 2026-12-04:
  // case test/cases/push-google-total-corrects-counts). Left to the meter, which bills it corrected.
  if (googleTotalDisagrees(m, input, output, cacheRead, cacheWrite)) return null;
  const messageTsMs = Math.trunc(m.timestamp);
  // The model that answered, as the meter reads it (parse.ts): priced by it when it is another
  // model, so the push must carry it or it would bill the requested model's price first.
  const served = typeof m.responseModel === "string" ? m.responseModel.trim() : "";
  const responseModel = served && served !== m.model && served.length <= 200 ? served : null;
  // Anthropic's served speed, as the meter reads it (parse.ts `servedSpeed`): "fast" is priced at
  // the model's fast multiple, so the push must carry it or it would bill the standard price first.
  const said = typeof u.speed === "string" ? u.speed.trim().toLowerCase() : "";
  const speed = said === "fast" || said === "standard" ? said : null;
  // Where Anthropic ran the call (its `usage.inference_geo`), as the meter reads it (parse.ts
  // `servedInferenceGeo`): "us" is priced at the US-only multiple, so the push must carry it.
  const geoSaid = u.inference_geo ?? u.inferenceGeo;
  const inferenceGeo = typeof geoSaid === "string" && geoSaid.trim().toLowerCase() === "us";
  // The service tier the provider served the call at, where the line keeps it, read from the same
  // places and values as the meter (parse.ts `servedServiceTier`): flex / priority / batch are priced
  // at the tier (the center's `serviceTierOf`), so the push must carry it or it bills the standard
  // price first and the transcript's copy is its duplicate (before 2026-12-04: case
  // push-line-service-tier). A standard tier is sent as none, which the meter reads alike.
  // Gemini / Vertex name it in their usage metadata's `trafficType` (read since 2026-12-05).
  const tierSaid = u.service_tier ?? u.serviceTier ?? m.service_tier ?? m.serviceTier;
  const tier =
    servedServiceTier(tierSaid) ??
    (saysStandardTier(tierSaid) ? null : servedTrafficTier(u.trafficType ?? u.traffic_type ?? m.trafficType));
  const responseId = typeof m.responseId === "string" && m.responseId ? m.responseId : null;
  const agentId = where.agentId ?? agentOfKey(where.sessionKey) ?? "main";
  // Price exactly as the transcript meter would: the push may bill the call first, and the
  // transcript copy is then a duplicate, so the 1-hour split and a provider-billed total must ride along.
  const w1h = count(u.cacheWrite1h);
  const cacheWrite1h = w1h ? Math.min(w1h, cacheWrite) : 0;
  // OpenRouter's own cost shapes (a bare numeric `usage.cost`, openclaw/openclaw#30204; BYOK
  // `is_byok` + `cost_details.upstream_inference_cost`): the meter bills what they say the operator
  // paid (parse.ts `recordedCost`); a push would bill the list price first and make that a duplicate.
  const raw = u as Record<string, unknown>;
  const rawCost = raw.cost as Record<string, unknown> | null | undefined;
  if (
    (rawCost !== undefined && (typeof rawCost !== "object" || rawCost === null)) ||
    "is_byok" in raw ||
    "isByok" in raw ||
    // the same BYOK fields inside `usage.cost` (parse.ts reads both places): a tester, 2026-12-02
    (rawCost && ("is_byok" in rawCost || "isByok" in rawCost)) ||
    (rawCost && ("cost_details" in rawCost || "costDetails" in rawCost)) ||
    "cost_details" in raw ||
    "costDetails" in raw ||
    // other providers' own billed figures (parse.ts `providerReportedCost`, since 2026-12-04):
    // xAI's `cost_in_usd_ticks`, Perplexity's `cost.total_cost` (an object without `total`)
    "cost_in_usd_ticks" in raw ||
    "costInUsdTicks" in raw ||
    (rawCost && rawCost.total == null && ("total_cost" in rawCost || "totalCost" in rawCost))
  )
    return null;
  // Anthropic web searches ($0.01 each on top of the tokens) and audio / image token details (the
  // call held for review): the meter prices them (parse.ts `webSearchRequestsOf`,
  // `modalityTokensOf`); a push of the tokens alone would bill first and make the transcript's
  // copy a duplicate, the fee lost or the audio billed as text.
  if (pricedBeyondTokens(raw)) return null;
  // OpenClaw's own fast mode (Opus 5 / 4.8 on the anthropic provider) writes its estimate × 2 and
  // no speed: only the meter reads that (pricing.ts `fastEstimateQuote`); a push would bill the
  // standard price first and make the transcript's copy a duplicate.
  if (
    speed === null &&
    m.provider === "anthropic" &&
    m.api === "anthropic-messages" &&
    /^claude-opus-(?:5|4[-.]8)(?:[-.]|$)/i.test(String(m.model).trim())
  )
    return null;
  // The recorded cost rides along whether OpenClaw estimated it or the provider billed it: the
  // center prices the push as the meter prices the line (its cost mode), and reads an estimate for
  // a model no list knows (else the fallback price) or an OpenAI service tier from it (with `api`).
  const total = u.cost?.total;
  const recorded = typeof total === "number" && Number.isFinite(total) && total >= 0 && total <= 1e6;
  // A total this push cannot send as the meter reads it (a decimal string some proxies write, a
  // negative or absurd amount the meter flags or holds for review) is left to the meter: pushed
  // without it, the call would be billed at the list or fallback price first (a tester, 2026-12-02).
  if (total !== undefined && total !== null && !recorded) return null;
  const providerBilled =
    recorded &&
    (u.cost?.totalOrigin === "provider-billed" || openRouterReportedTotal(m.provider, rawCost, total));
  const api = typeof m.api === "string" ? m.api.trim() : "";
  const isError = m.stopReason === "error" || m.stopReason === "aborted" || Boolean(m.errorMessage);
  // Only a session whose key alone names its payer is pushed. The meter reads the payer of the
  // others from the session entry, which this hook does not see: a per-peer DM's channel, a
  // sub-agent's spawn chain (a user's DM), an HTTP user's heartbeat marker, an unfamiliar key's
  // route. A push to another account would make the transcript's copy a duplicate: before
  // 2026-12-02 a user's sub-agent calls were pushed to `agent:<a>` and stayed there.
  const payer = payerFromKeyAlone(
    agentId,
    where.sessionKey,
    where.slashPrefixes,
    where.identityLinks ?? null,
  );
  if (!payer) return null;
  const userId = payer.accountId;
  return {
    idempotencyKey: dedupeKey({
      provider: m.provider,
      model: m.model,
      messageTsMs,
      input,
      output,
      cacheRead,
      cacheWrite,
      responseId,
    }),
    agentId,
    userId,
    provider: m.provider,
    model: m.model,
    input,
    output,
    cacheRead,
    cacheWrite,
    timestampMs: messageTsMs,
    success: !isError,
    // creditgate accepts a meter-format key only when it recomputes the same identity from the
    // event, which includes the response id.
    ...(responseId ? { responseId } : {}),
    ...(cacheWrite1h > 0 ? { cacheWrite1h } : {}),
    ...(responseModel ? { responseModel } : {}),
    ...(speed ? { speed } : {}),
    ...(inferenceGeo ? { inferenceGeo: "us" } : {}),
    ...(tier ? { serviceTier: tier } : {}),
    ...(api && api.length <= 100 ? { api } : {}),
    ...(recorded ? { costUsd: total } : {}),
    ...(providerBilled ? { costOrigin: "provider-billed" as const } : {}),
    // where it was written: two calls of one prompt under a relay's one response id in two sessions
    // are two calls at the center, as the meter tells them apart (identity.ts `mayBeCopies`)
    ...(where.sessionKey && where.sessionKey.length <= 500 ? { sessionKey: where.sessionKey } : {}),
  };
}

export interface PushOptions {
  client: CreditgateClient;
  logger: PluginLogger;
  flushMs?: number;
  maxBatch?: number;
  maxQueue?: number;
  maxAttempts?: number;
  /** How long a call with a response id is kept back for its copies (ms). @defaultValue 15000 */
  holdMs?: number;
  /**
   * The host's configured Slack slash-command session prefixes (`configuredSlashPrefixes`), read
   * at each write: calls of sessions under them are left to the meter. @defaultValue none
   */
  slashPrefixes?: () => readonly string[];
  /**
   * The host's `session.identityLinks` (`configuredIdentityLinks`), read at each write: a linked
   * person's calls are pushed to the person's one account, as the meter bills them. @defaultValue none
   */
  identityLinks?: () => IdentityLinks | null;
}

export class UsagePusher {
  private queue: PushEvent[] = [];
  private timer: ReturnType<typeof setTimeout> | null = null;
  private flushing: Promise<void> | null = null;
  private attempts = 0;
  private stopped = false;
  stats = { queued: 0, billed: 0, duplicate: 0, rejected: 0, dropped: 0, leftToMeter: 0 };
  /** The calls pushed in each session's current turn (see {@link TurnCalls}). */
  private readonly turns = new TurnCalls();
  /** Per session, the call with a response id kept back until its copies are written ({@link hold}). */
  private readonly held = new Map<string, { ev: PushEvent; timer: ReturnType<typeof setTimeout> }>();

  private readonly o: PushOptions;

  constructor(o: PushOptions) {
    this.o = o;
  }

  /** The `before_message_write` handler: synchronous, returns nothing (never alters the write). */
  onMessageWrite = (
    event: BeforeMessageWriteEvent,
    ctx: { agentId?: string; sessionKey?: string },
  ): undefined => {
    try {
      const sessionKey = ctx.sessionKey ?? event.sessionKey;
      const ev =
        event.message.role === "user"
          ? null
          : usageEvent(event.message, {
              agentId: ctx.agentId ?? event.agentId,
              sessionKey,
              slashPrefixes: this.o.slashPrefixes?.() ?? [],
              identityLinks: this.o.identityLinks?.() ?? null,
            });
      const held = this.held.get(sessionKey ?? "");
      if (held !== undefined && ev !== null && sameResponse(held.ev, ev)) {
        // another copy of the held response (its final after its partial, or written again): of
        // the copies the one the meter bills is kept (`lesserCopies`), the others are not pushed
        this.turns.mayBeCopy(sessionKey ?? "", ev);
        if (betterCopy(ev, held.ev)) held.ev = ev;
        this.stats.leftToMeter++;
        return undefined;
      }
      // anything else written in the session: the held response is complete
      this.release(sessionKey ?? "");
      if (event.message.role === "user") {
        // a new turn: what OpenClaw writes after it is no copy of a reply before it (the meter's rules)
        this.turns.delete(sessionKey ?? "");
        // a turn another session or the operator's automation started (a marked user line): the
        // meter bills its calls to the payer the mark names, which the session key does not
        if (markedTurn(event.message)) this.turns.markOthers(sessionKey ?? "");
        return undefined;
      }
      if (ev && !this.turns.othersTurn(sessionKey ?? "") && !this.turns.mayBeCopy(sessionKey ?? "", ev)) {
        if (longId(ev) && !this.stopped) this.hold(sessionKey ?? "", ev);
        else this.enqueue(ev);
      } else if (ev) this.stats.leftToMeter++;
    } catch (err) {
      this.o.logger.warn(`creditgate: push metering skipped a message: ${String(err)}`);
    }
    return undefined;
  };

  /**
   * Keeps a call with a response id back until its session writes something that is no copy of
   * it (or {@link HOLD_MS} pass, or the pusher stops): OpenClaw writes a streamed response partial
   * first and final seconds later under one response id (openclaw/openclaw#47211, #85937), and the
   * meter, reading both, bills the final (the biller's `lesserCopies`: the most output). Pushed as
   * written, the partial was billed first and the final, and the transcript's copies, were its
   * duplicates: the final's output (and a prompt the partial did not count yet) went unbilled, or,
   * where the partial counted the prompt otherwise, the meter billed the final again on top
   * (2026-12-04, h-diff2: cases `test/cases/response-copy-rewritten`,
   * `response-partial-prompt-differs`, `response-id-reused-by-relay`).
   */
  private hold(sessionKey: string, ev: PushEvent): void {
    const timer = setTimeout(() => this.release(sessionKey), this.o.holdMs ?? HOLD_MS);
    timer.unref?.();
    this.held.set(sessionKey, { ev, timer });
  }

  /** Pushes the call held for `sessionKey`, if any. */
  private release(sessionKey: string): void {
    const held = this.held.get(sessionKey);
    if (held === undefined) return;
    this.held.delete(sessionKey);
    clearTimeout(held.timer);
    this.enqueue(held.ev);
  }

  /** Pushes every held call (at stop, and for tests that replay a transcript). */
  releaseHeld(): void {
    for (const k of [...this.held.keys()]) this.release(k);
  }

  enqueue(ev: PushEvent): void {
    const max = this.o.maxQueue ?? 10_000;
    if (this.queue.length >= max) {
      this.queue.shift();
      this.stats.dropped++;
    }
    this.queue.push(ev);
    this.stats.queued++;
    if (this.stopped || this.queue.length >= (this.o.maxBatch ?? 200)) void this.flush();
    else this.schedule(this.o.flushMs ?? 1_000);
  }

  private schedule(ms: number): void {
    if (this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.flush();
    }, ms);
    this.timer.unref?.();
  }

  flush(): Promise<void> {
    if (!this.flushing) {
      this.flushing = this.flushLoop().finally(() => {
        this.flushing = null;
      });
    }
    return this.flushing;
  }

  private async flushLoop(): Promise<void> {
    while (this.queue.length > 0) {
      const batch = this.queue.slice(0, this.o.maxBatch ?? 200);
      try {
        const res = await this.o.client.pushUsage(batch);
        this.queue.splice(0, batch.length);
        this.attempts = 0;
        for (const r of res?.results ?? []) {
          if (r.status === "billed") this.stats.billed++;
          else if (r.status === "duplicate") this.stats.duplicate++;
          else {
            this.stats.rejected++;
            this.o.logger.warn(
              `creditgate: pushed usage ${r.idempotencyKey} ${r.status}: ${r.reason ?? "?"}`,
            );
          }
        }
      } catch (err) {
        this.attempts++;
        const msg = err instanceof Error ? err.message : String(err);
        if (this.stopped || this.attempts >= (this.o.maxAttempts ?? 5)) {
          this.queue.splice(0, batch.length);
          this.stats.dropped += batch.length;
          this.attempts = 0;
          this.o.logger.warn(
            `creditgate: dropped ${batch.length} pushed usage event(s) after repeated failures (${msg}); the transcript meter still bills them`,
          );
          continue;
        }
        this.schedule(Math.min(60_000, 1_000 * 2 ** this.attempts));
        return;
      }
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.releaseHeld();
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.flush();
  }
}

/** How long a call with a response id is kept back for its copies ({@link UsagePusher} `hold`), ms. */
const HOLD_MS = 15_000;

/** Whether `b` is another copy of response `a`: one provider, model and long response id, one prompt. */
function sameResponse(a: PushEvent, b: PushEvent): boolean {
  return (
    a.provider === b.provider &&
    a.model === b.model &&
    longId(a) &&
    a.responseId === b.responseId &&
    samePromptCounts(a, b)
  );
}

/** Whether copy `b` is billed before copy `a` by the meter (biller.ts `lesserCopies`: most output, then most tokens, then earliest). */
function betterCopy(b: PushEvent, a: PushEvent): boolean {
  const tokens = (e: PushEvent) => e.input + e.output + e.cacheRead + e.cacheWrite;
  return (b.output - a.output || tokens(b) - tokens(a) || a.timestampMs - b.timestampMs) > 0;
}

/** Shortest provider response id the meter takes as naming one response (identity.ts `MIN_RESPONSE_ID_CHARS`). */
const MIN_RESPONSE_ID_CHARS = 16;
/** Sessions whose current turn {@link TurnCalls} keeps (the least recently written forgotten first). */
const MAX_TURN_SESSIONS = 1_000;
/** Calls kept per session's turn (a longer tool loop forgets its oldest). */
const MAX_TURN_CALLS = 64;

type Prompt = Pick<PushEvent, "input" | "cacheRead" | "cacheWrite">;

/**
 * The calls pushed in each session's current turn (since its last user message), to leave to the
 * meter a message that may be another copy of one of them. OpenClaw writes one reply more than once
 * with no response id that tells the copies apart: again seconds later under a new entry id
 * (openclaw/openclaw#47211, #85937, #92563), partial then final under one entry id (the final's
 * output larger), or as two CLI turn lines by two writers (#118185). The meter skips such copies
 * from the transcript (batch-builder.ts `isRewrittenCopy`, `sameEntryCopy`), but each copy has its
 * own identity, so pushing every copy billed the reply once per copy and left the transcript's
 * lines duplicates (2026-12-04, case `test/cases/push-reply-copies`). This hook sees no entry id,
 * so a message of the same provider and model whose prompt may be one such call's
 * ({@link samePromptCounts}) is not pushed: the meter bills it from the transcript when it is a
 * call (a tool loop's next call sends more, so it is pushed). A long enough response id is one
 * call at the center already (its response identity), so a message with one is pushed unless such
 * a call pushed **without** one may be its copy, and a message without one is not pushed when a
 * call with one may be its copy (2026-12-04: copies of which only one carries the id, a partial
 * written before the id was known and its final, were both pushed and billed in full; case
 * `test/cases/entry-copy-one-response-id`).
 */
class TurnCalls {
  private readonly bySession = new Map<string, PushEvent[]>();
  /** Sessions whose current turn a marked user line started ({@link markedTurn}), oldest first. */
  private readonly others = new Set<string>();

  delete(sessionKey: string): void {
    this.bySession.delete(sessionKey);
    this.others.delete(sessionKey);
  }

  /** The session's current turn is another session's or the operator's: its calls are left to the meter. */
  markOthers(sessionKey: string): void {
    this.others.add(sessionKey);
    if (this.others.size > MAX_TURN_SESSIONS) {
      const oldest = this.others.values().next().value;
      if (oldest !== undefined) this.others.delete(oldest);
    }
  }

  othersTurn(sessionKey: string): boolean {
    return this.others.has(sessionKey);
  }

  /** Whether `ev` may be a copy of a call pushed in its session's turn; it is recorded either way. */
  mayBeCopy(sessionKey: string, ev: PushEvent): boolean {
    const calls = this.bySession.get(sessionKey) ?? [];
    this.bySession.delete(sessionKey);
    this.bySession.set(sessionKey, calls); // most recently written last
    if (this.bySession.size > MAX_TURN_SESSIONS) {
      const oldest = this.bySession.keys().next().value;
      if (oldest !== undefined) this.bySession.delete(oldest);
    }
    // two calls that both name a response are told apart (or taken for one) by the center's
    // response identity; one that names none, or only one of them (a streamed partial written
    // before its response id was known, or a final written again without it: the meter's
    // `entryResponsesAgree`), may be a copy
    const copy = calls.some(
      (c) =>
        c.provider === ev.provider &&
        c.model === ev.model &&
        !(longId(c) && longId(ev)) &&
        samePromptCounts(c, ev),
    );
    calls.push(ev);
    if (calls.length > MAX_TURN_CALLS) calls.shift();
    return copy;
  }
}

/**
 * Whether a user message is one OpenClaw marked as not the end user's typing (`message.provenance`
 * with a `kind`: `inter_session`, a `sessions_send` from another session; `internal_system`, a cron
 * job or heartbeat run in the session; a sub-agent's announce). The meter bills such a turn to the
 * payer the mark names (parse.ts `turnSourceOf`: the sending session's, the operator's), which
 * this hook cannot resolve from the session key: before 2026-12-04 a push billed the turn to the
 * session's own user first, and the transcript's copies were its duplicates (case
 * `test/cases/push-inter-session-turn`). Every marked turn is left to the meter.
 */
function markedTurn(message: { role: string }): boolean {
  const p = (message as { provenance?: unknown }).provenance;
  if (typeof p !== "object" || p === null || Array.isArray(p)) return false;
  const kind = (p as Record<string, unknown>).kind;
  return typeof kind === "string" && kind.trim() !== "";
}

/** Whether `ev`'s response id names one response (the meter's `isResponseIdentity`). */
function longId(ev: Pick<PushEvent, "responseId">): boolean {
  return typeof ev.responseId === "string" && ev.responseId.length >= MIN_RESPONSE_ID_CHARS;
}

/**
 * Whether two calls' prompts may be one call's, as the meter's `samePrompt` (src/meter/identity.ts)
 * takes them: either has none, a total in common, the input of one the whole prompt of the other,
 * or the counts of one the other's with some missing (a streamed partial written before the
 * cache counts came).
 */
function samePromptCounts(p: Prompt, q: Prompt): boolean {
  const tp = p.input + p.cacheRead + p.cacheWrite;
  const tq = q.input + q.cacheRead + q.cacheWrite;
  if (tp === 0 || tq === 0 || tp === tq || p.input === tq || q.input === tp) return true;
  const sub = (a: Prompt, b: Prompt) =>
    (a.input === 0 || a.input === b.input) &&
    (a.cacheRead === 0 || a.cacheRead === b.cacheRead) &&
    (a.cacheWrite === 0 || a.cacheWrite === b.cacheWrite);
  return sub(p, q) || sub(q, p);
}

/**
 * OpenRouter's billed figure in `cost.total` without `totalOrigin`, as the meter reads it
 * (parse.ts `openRouterReportedTotal`): OpenClaw's OpenRouter stream wrapper
 * (openclaw/openclaw#91073) overwrote the total of pi-ai's estimate with OpenRouter's `/generation`
 * `total_cost` before `totalOrigin` existed, leaving the components; pi-ai always writes the total as
 * their sum, so an `openrouter` total above it is what OpenRouter billed. The push must say so, or
 * the center would bill the list price first and the transcript's copy would be a duplicate.
 */
function openRouterReportedTotal(provider: unknown, rawCost: unknown, total: number): boolean {
  if (total <= 0 || total > 400) return false;
  if (typeof provider !== "string" || provider.trim().toLowerCase() !== "openrouter") return false;
  if (typeof rawCost !== "object" || rawCost === null || Array.isArray(rawCost)) return false;
  const c = rawCost as Record<string, unknown>;
  if (c.totalOrigin !== undefined) return false;
  let sum = 0n;
  let priced = false;
  for (const part of [c.input, c.output, c.cacheRead, c.cacheWrite]) {
    if (typeof part !== "number" || !Number.isFinite(part) || Math.abs(part) > 400) return false;
    sum += BigInt(Math.round(part * 1e12));
    if (part !== 0) priced = true;
  }
  // all-zero components: not compared, as the meter does not
  return priced && BigInt(Math.round(total * 1e12)) > sum + 4n;
}

/** A whole count above 0. */
/** A web search count written at all, other than 0: absent, null and 0 add nothing. */
function searchCountThere(v: unknown): boolean {
  return v !== undefined && v !== null && v !== 0;
}

function positive(v: unknown): boolean {
  return typeof v === "number" && Number.isInteger(v) && v > 0;
}

/** `obj[key]` of an object, else undefined. */
function at(obj: unknown, key: string): unknown {
  return typeof obj === "object" && obj !== null && !Array.isArray(obj)
    ? (obj as Record<string, unknown>)[key]
    : undefined;
}

/** Whether a Gemini `…TokensDetails` list has a positive entry of one of `kinds`. */
function hasModality(list: unknown, kinds: readonly string[]): boolean {
  return (
    Array.isArray(list) &&
    list.some((d) => {
      const m = at(d, "modality");
      return (
        typeof m === "string" &&
        kinds.includes(m.trim().toUpperCase()) &&
        positive(at(d, "tokenCount") ?? at(d, "token_count"))
      );
    })
  );
}

/**
 * Whether the meter prices this usage beyond its token counts (parse.ts): Anthropic web searches
 * (`server_tool_use.web_search_requests`, billed $0.01 each) or audio / image tokens counted inside
 * the totals (`*_tokens_details` / Realtime `*_token_details` `audio_tokens` / `image_tokens`,
 * Gemini AUDIO / IMAGE modality entries: the call is held for review). Positive audio / image
 * counts; a search count that is there and not 0 (the meter rounds or holds what is no count).
 */
function pricedBeyondTokens(u: Record<string, unknown>): boolean {
  // Any search count that is there and not 0 (text, fractional, negative, absurd too): the meter
  // bills it, rounds it or holds the call for it (parse.ts `webSearchRequestsOf`).
  if (
    searchCountThere(at(u.server_tool_use, "web_search_requests")) ||
    searchCountThere(at(u.serverToolUse, "webSearchRequests"))
  )
    return true;
  const details: [string, string][] = [
    ["prompt_tokens_details", "audio_tokens"],
    ["completion_tokens_details", "audio_tokens"],
    ["input_tokens_details", "audio_tokens"],
    ["output_tokens_details", "audio_tokens"],
    ["input_tokens_details", "image_tokens"],
    ["output_tokens_details", "image_tokens"],
    ["input_token_details", "audio_tokens"],
    ["input_token_details", "image_tokens"],
    ["output_token_details", "audio_tokens"],
    ["promptTokensDetails", "audioTokens"],
    ["completionTokensDetails", "audioTokens"],
    ["inputTokensDetails", "audioTokens"],
    ["outputTokensDetails", "audioTokens"],
    ["inputTokensDetails", "imageTokens"],
    ["outputTokensDetails", "imageTokens"],
    ["inputTokenDetails", "audioTokens"],
    ["inputTokenDetails", "imageTokens"],
    ["outputTokenDetails", "audioTokens"],
    // LiteLLM's / OpenRouter's generated image tokens and LangChain's audio (parse.ts, since 2026-12-04)
    ["completion_tokens_details", "image_tokens"],
    ["completionTokensDetails", "imageTokens"],
    ["input_token_details", "audio"],
    ["output_token_details", "audio"],
  ];
  if (details.some(([obj, key]) => positive(at(u[obj], key)))) return true;
  // Per-use charges beyond the tokens (parse.ts `chargesBeyondTokens`, since 2026-12-04): xAI's
  // server-side tool calls and Live Search sources, sonar-deep-research's citations, reasoning and
  // searches; the meter holds such a call unless the line carries the provider's cost.
  if (
    u.server_side_tool_usage_details != null ||
    u.serverSideToolUsageDetails != null ||
    positive(u.num_server_side_tools_used) ||
    positive(u.numServerSideToolsUsed) ||
    positive(u.num_sources_used) ||
    positive(u.numSourcesUsed) ||
    positive(u.citation_tokens) ||
    positive(u.num_search_queries) ||
    // audio billed per minute outside the token counts (Mistral's; parse.ts `audioOutsideTokens`)
    positive(u.prompt_audio_seconds) ||
    positive(u.promptAudioSeconds) ||
    positive(u.audio_tokens) ||
    positive(u.audioTokens) ||
    // Perplexity's search context size, which its request fee depends on (parse.ts
    // `servedSearchContextSize`, since 2026-12-05): the meter prices the fee by it
    u.search_context_size != null ||
    u.searchContextSize != null
  )
    return true;
  // Anthropic advisor-tool calls in `usage.iterations`, outside the top-level counts, at the advisor
  // model's rates: the meter holds such a call (parse.ts `advisorIterations`, since 2026-12-04); and a
  // refusal fallback's attempts, each at its own model's rates (parse.ts `fallbackIterations`, 2026-12-05)
  if (
    Array.isArray(u.iterations) &&
    u.iterations.some(
      (it) =>
        typeof it === "object" &&
        it !== null &&
        typeof (it as Record<string, unknown>).type === "string" &&
        ["advisor_message", "fallback_message"].includes(
          ((it as Record<string, unknown>).type as string).trim().toLowerCase(),
        ),
    )
  )
    return true;
  return (
    hasModality(u.candidatesTokensDetails ?? u.candidates_tokens_details, ["AUDIO", "IMAGE"]) ||
    // the Live API's name of the same list (parse.ts, since 2026-12-04)
    hasModality(u.responseTokensDetails ?? u.response_tokens_details, ["AUDIO", "IMAGE"]) ||
    hasModality(u.promptTokensDetails ?? u.prompt_tokens_details, ["AUDIO"])
  );
}
