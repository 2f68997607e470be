import type { ParsedUsage, UsageEvent, UsageSource } from "../types.js";

/**
 * A batch's events in columns, for the hop from the reader thread to the writer: numbers in one
 * Float64Array, strings as indices into one table in which the strings that repeat from event to
 * event (agent, session, account, provider, model, ...) appear once. Structured cloning 2000
 * events of 28 fields as objects costs both threads (serialise, then deserialise on the writer's
 * thread); a typed array is copied whole and the table holds a fraction of the strings.
 */
export interface PackedEvents {
  /** Events. */
  n: number;
  /** `n × NUMS.length`, event by event; NaN stands for null. */
  nums: Float64Array;
  /**
   * `n × (string fields + 1)`, event by event: an index into `table`, -1 for null, -2 for
   * undefined; the last slot holds flags (isError, cacheWrite1h undefined).
   */
  strs: Int32Array;
  table: string[];
  /**
   * The per-event strings (UNIQUE) as UTF-8, back to back; `strs` names one by `-3 - k`, its bytes
   * `bytes[spans[2k], spans[2k + 1])`. Absent when none is (a string that is not well-formed
   * UTF-16, or a long one, goes to `table`). Since 2026-12-05: held as JS strings until the batch
   * was posted, they outlived the reader thread's young generation and most of what its scavenges
   * copied and promoted (~350 bytes a call: 78 MB per bench:meter backlog) was them.
   */
  bytes?: Uint8Array;
  spans?: Int32Array;
}

/** Number fields (`null` allowed: no valid value of them is NaN). */
const NUMS = [
  "messageTsMs",
  "input",
  "output",
  "cacheRead",
  "cacheWrite",
  "cacheWrite1h",
  "totalTokens",
  "reasoningTokens",
  "recordedCostUsd",
  "latencyMs",
  /** Absent on all but the rare call whose `input` the parser corrected (`ParsedUsage.writtenInput`). */
  "writtenInput",
  /** Absent on all but a call with Bedrock's cache names billed under its earlier identity (`ParsedUsage.identityCacheRead`). */
  "identityCacheRead",
  /** Likewise (`ParsedUsage.identityCacheWrite`). */
  "identityCacheWrite",
  /** Absent on all but an OpenAI-style line billed before its cache writes were read (`ParsedUsage.identityInput`). */
  "identityInput",
  /** Absent on all but a line with no readable time (`ParsedUsage.identityTsMs`). */
  "identityTsMs",
  /** Absent on all but a line whose reasoning is outside its completion count or a cumulative Codex-harness line (`ParsedUsage.identityOutput`). */
  "identityOutput",
  /** Absent on all but a call that ran Anthropic web searches (`ParsedUsage.webSearchRequests`). */
  "webSearchRequests",
  /** Absent on all but the difference billed for a later copy of an entry (`ParsedUsage.tierInputTotal`). */
  "tierInputTotal",
] as const;
/** Number fields absent (not null) on most events: NaN stands for absent. */
const OPTIONAL_NUMS = new Set<string>([
  "writtenInput",
  "identityCacheRead",
  "identityCacheWrite",
  "identityInput",
  "identityTsMs",
  "identityOutput",
  "webSearchRequests",
  "tierInputTotal",
]);
/** String fields whose values repeat within a batch: one table entry per distinct value. */
const SHARED = [
  "provider",
  "model",
  "api",
  "stopReason",
  "recordedCostOrigin",
  "agentId",
  "sessionId",
  "sessionKey",
  "accountId",
  "source",
  /** Absent unless the line names a served model other than `model` (`ParsedUsage.responseModel`). */
  "responseModel",
  /** Absent unless the line says the served speed (`ParsedUsage.speed`: `"fast"` / `"standard"`). */
  "speed",
  /** Absent unless the line says Anthropic ran it US-only (`ParsedUsage.inferenceGeo`: `"us"`). */
  "inferenceGeo",
  /** Absent unless the line says the service tier that served it (`ParsedUsage.serviceTier`). */
  "serviceTier",
  /** Absent unless the line says Perplexity's search context size (`ParsedUsage.searchContextSize`). */
  "searchContextSize",
] as const;
/** String fields that are (nearly) unique per event: appended without a lookup. */
const UNIQUE = [
  "responseId",
  "errorMessage",
  "sourceRef",
  "userPreview",
  "replyPreview",
  "dedupeKey",
  /** Absent on all but a line with no readable time that has an entry id (`ParsedUsage.identityEntryId`). */
  "identityEntryId",
  /** Absent on all but a line with a token count that is no count (`ParsedUsage.countProblem`): held. */
  "countProblem",
  /** Absent on all but a copy of an entry that replaced its lesser copy in the batch (`ParsedUsage.supersedes`). */
  "supersedes",
] as const;
const NN = NUMS.length;
/** Strings per event: SHARED, UNIQUE, then `isError` (0/1, here to spare a third array). */
const NS = SHARED.length + UNIQUE.length + 1;
/** Every own key an event may have: one with any other key (or type) is sent as it is. */
const KEYS = new Set<string>([...NUMS, ...SHARED, ...UNIQUE, "isError", "zonelessTime"]);

/**
 * Builds a PackedEvents one event at a time, straight from the parsed call: the reader thread
 * keeps no event object alive until its batch is sent (a batch of live objects outlived the
 * young generation and made most of the reader thread's garbage-collection work).
 */
export class EventPacker {
  private n = 0;
  private cap: number;
  private nums: Float64Array;
  private strs: Int32Array;
  private table: string[] = [];
  private ids = new Map<string, number>();
  /** `PackedEvents.bytes` so far (`used` of them), off the JS heap; a new one after each `take`. */
  private bytes: Buffer | null = null;
  private used = 0;
  private spans = new Int32Array(0);
  private nSpans = 0;

  /** @param capacity events before the first growth (it doubles as needed). @defaultValue 256 */
  constructor(capacity = 256) {
    this.cap = Math.max(1, capacity);
    this.nums = new Float64Array(this.cap * NN);
    this.strs = new Int32Array(this.cap * NS);
  }

  /** Events added since the last `take`. */
  get length(): number {
    return this.n;
  }

  private shared(v: string | null | undefined): number {
    if (v === null) return -1;
    if (v === undefined) return -2;
    let id = this.ids.get(v);
    if (id === undefined) {
      id = this.table.length;
      this.table.push(v);
      this.ids.set(v, id);
    }
    return id;
  }

  private unique(v: string | null | undefined): number {
    if (v === null) return -1;
    if (v === undefined) return -2;
    if (v.length > BYTES_MAX_CHARS || !(v as unknown as WellFormed).isWellFormed()) {
      // a lone surrogate would not survive UTF-8 (it would come back as U+FFFD)
      this.table.push(v);
      return this.table.length - 1;
    }
    const most = this.used + v.length * 3;
    if (this.bytes === null || most > this.bytes.length) {
      const bigger = Buffer.allocUnsafeSlow(Math.max(BYTES_FIRST, most * 2));
      if (this.bytes !== null) this.bytes.copy(bigger, 0, 0, this.used);
      this.bytes = bigger;
    }
    if (2 * this.nSpans + 2 > this.spans.length) {
      const spans = new Int32Array(Math.max(1024, 2 * this.spans.length));
      spans.set(this.spans);
      this.spans = spans;
    }
    const start = this.used;
    this.used += this.bytes.write(v, start, "utf8");
    this.spans[2 * this.nSpans] = start;
    this.spans[2 * this.nSpans + 1] = this.used;
    return -3 - this.nSpans++;
  }

  /**
   * Adds the event `parse.ts usageEvent(u, agentId, …, replyPreview)` would build, with
   * `dedupeKey` (undefined: absent). Numbers must not be NaN (none of a parsed call's are).
   */
  add(
    u: ParsedUsage,
    agentId: string,
    sessionId: string | null,
    sessionKey: string | null,
    accountId: string,
    source: UsageSource,
    sourceRef: string,
    latency: number | null,
    userPreview: string | null,
    replyPreview: string | null,
    dedupeKey: string | undefined,
  ): void {
    if (this.n === this.cap) {
      this.cap *= 2;
      const nums = new Float64Array(this.cap * NN);
      nums.set(this.nums);
      this.nums = nums;
      const strs = new Int32Array(this.cap * NS);
      strs.set(this.strs);
      this.strs = strs;
    }
    const a = this.n * NN;
    const nums = this.nums;
    nums[a] = u.messageTsMs;
    nums[a + 1] = u.input;
    nums[a + 2] = u.output;
    nums[a + 3] = u.cacheRead;
    nums[a + 4] = u.cacheWrite;
    nums[a + 5] = u.cacheWrite1h ?? Number.NaN;
    nums[a + 6] = u.totalTokens;
    nums[a + 7] = u.reasoningTokens ?? Number.NaN;
    nums[a + 8] = u.recordedCostUsd ?? Number.NaN;
    nums[a + 9] = latency ?? Number.NaN;
    nums[a + 10] = u.writtenInput ?? Number.NaN;
    nums[a + 11] = u.identityCacheRead ?? Number.NaN;
    nums[a + 12] = u.identityCacheWrite ?? Number.NaN;
    nums[a + 13] = u.identityInput ?? Number.NaN;
    nums[a + 14] = u.identityTsMs ?? Number.NaN;
    nums[a + 15] = u.identityOutput ?? Number.NaN;
    nums[a + 16] = u.webSearchRequests ?? Number.NaN;
    nums[a + 17] = u.tierInputTotal ?? Number.NaN;
    const b = this.n * NS;
    const strs = this.strs;
    strs[b] = this.shared(u.provider);
    strs[b + 1] = this.shared(u.model);
    strs[b + 2] = this.shared(u.api);
    strs[b + 3] = this.shared(u.stopReason);
    strs[b + 4] = this.shared(u.recordedCostOrigin);
    strs[b + 5] = this.shared(agentId);
    strs[b + 6] = this.shared(sessionId);
    strs[b + 7] = this.shared(sessionKey);
    strs[b + 8] = this.shared(accountId);
    strs[b + 9] = this.shared(source);
    strs[b + 10] = this.shared(u.responseModel);
    strs[b + 11] = this.shared(u.speed);
    strs[b + 12] = this.shared(u.inferenceGeo);
    strs[b + 13] = this.shared(u.serviceTier);
    strs[b + 14] = this.shared(u.searchContextSize);
    const c = b + SHARED.length;
    strs[c] = this.unique(u.responseId);
    strs[c + 1] = this.unique(u.errorMessage);
    strs[c + 2] = this.unique(sourceRef);
    strs[c + 3] = this.unique(userPreview);
    strs[c + 4] = this.unique(replyPreview);
    strs[c + 5] = this.unique(dedupeKey);
    strs[c + 6] = this.unique(u.identityEntryId);
    strs[c + 7] = this.unique(u.countProblem);
    strs[c + 8] = this.unique(u.supersedes);
    strs[b + NS - 1] =
      (u.isError ? 1 : 0) |
      (u.cacheWrite1h === undefined ? CW1H_ABSENT : 0) |
      (u.zonelessTime === true ? ZONELESS : 0);
    this.n++;
  }

  /**
   * Overwrites the event at `index` (added since the last `take`) with the one `add` would build
   * from `args`: a message written again with more tokens takes its earlier copy's place
   * (`BatchBuilder`'s same-entry rule). The earlier copy's own strings stay in the table, unread.
   */
  replace(index: number, ...args: Parameters<EventPacker["add"]>): void {
    if (!(index >= 0 && index < this.n)) throw new RangeError(`no packed event ${index}`);
    const n = this.n;
    this.n = index;
    try {
      this.add(...args);
    } finally {
      this.n = n;
    }
  }

  /** What was added, as one value (the arrays trimmed to it); the packer starts afresh. */
  take(): PackedEvents {
    const p: PackedEvents = {
      n: this.n,
      nums: this.nums.slice(0, this.n * NN),
      strs: this.strs.slice(0, this.n * NS),
      table: this.table,
    };
    if (this.nSpans > 0 && this.bytes !== null) {
      p.bytes = this.bytes.subarray(0, this.used);
      p.spans = this.spans.slice(0, 2 * this.nSpans);
      this.bytes = null; // posted (or transferred) with the batch
    }
    this.used = 0;
    this.nSpans = 0;
    this.n = 0;
    this.table = [];
    this.ids = new Map();
    return p;
  }
}

/** The ArrayBuffers of `p` a thread may transfer instead of copying (each is `p`'s alone). */
export function packedBuffers(p: PackedEvents): ArrayBuffer[] {
  const out = [p.nums.buffer, p.strs.buffer];
  if (p.bytes) out.push(p.bytes.buffer);
  if (p.spans) out.push(p.spans.buffer);
  return out as ArrayBuffer[];
}

/** A per-event string longer than this (UTF-16 units) goes to `PackedEvents.table`, not `bytes`. */
const BYTES_MAX_CHARS = 4096;
/** `PackedEvents.bytes`' first size (it doubles as needed). */
const BYTES_FIRST = 64 * 1024;
/** ES2024's `String.prototype.isWellFormed` (Node >= 20), which the ES2023 lib does not declare. */
type WellFormed = { isWellFormed(): boolean };

/** Flag in the last string slot: `cacheWrite1h` was undefined (not null). */
const CW1H_ABSENT = 2;
/** Flag: `zonelessTime` is true (absent otherwise). */
const ZONELESS = 4;

/**
 * The events in columns, or null when one of them does not have the shape this encodes exactly
 * (a field of another type, an unknown or missing key): the caller then sends the objects as
 * they are. `unpackEvents(packEvents(es))` deep-equals `es`, key order included.
 */
export function packEvents(events: readonly UsageEvent[]): PackedEvents | null {
  const p = new EventPacker(events.length);
  for (const ev of events) {
    const e = ev as unknown as Record<string, unknown>;
    let keys = 0;
    for (const k in e) {
      if (!KEYS.has(k)) return null;
      keys++;
    }
    // Every field but dedupeKey (set by the thread, absent when it could not be derived),
    // writtenInput, identityCacheRead, identityCacheWrite, identityInput, identityTsMs and identityOutput
    // (absent unless the parser corrected the call, read Bedrock's cache names, OpenAI-style cache
    // writes or reasoning outside the completion count, or the line had no time), responseModel (absent unless the line names
    // another served model), speed (absent unless the line says which speed served it), inferenceGeo
    // (absent unless the line says Anthropic ran it US-only), serviceTier (absent unless the line
    // says its service tier), searchContextSize (absent unless the line says Perplexity's search
    // context size) and
    // identityEntryId (absent unless the line had no time and an entry id) is present.
    let absent =
      ("dedupeKey" in e ? 0 : 1) +
      ("responseModel" in e ? 0 : 1) +
      ("speed" in e ? 0 : 1) +
      ("inferenceGeo" in e ? 0 : 1) +
      ("serviceTier" in e ? 0 : 1) +
      ("searchContextSize" in e ? 0 : 1) +
      ("identityEntryId" in e ? 0 : 1) +
      ("countProblem" in e ? 0 : 1) +
      ("supersedes" in e ? 0 : 1) +
      ("zonelessTime" in e ? 0 : 1);
    for (const f of OPTIONAL_NUMS) if (!(f in e)) absent++;
    if (keys !== KEYS.size - absent) return null;
    for (const f of NUMS) {
      const v = e[f];
      if (OPTIONAL_NUMS.has(f)) {
        if (!(v === undefined ? !(f in e) : typeof v === "number" && !Number.isNaN(v))) return null;
        continue;
      }
      const optional = f === "cacheWrite1h";
      if (
        !(
          (typeof v === "number" && !Number.isNaN(v)) ||
          (v === null && !optional) ||
          (v === undefined && optional)
        )
      )
        return null;
    }
    for (const f of [...SHARED, ...UNIQUE]) {
      const v = e[f];
      if (f === "responseModel") {
        if (!(v === undefined ? !(f in e) : typeof v === "string")) return null;
        continue;
      }
      if (f === "speed") {
        if (!(v === undefined ? !(f in e) : v === "fast" || v === "standard")) return null;
        continue;
      }
      if (f === "inferenceGeo") {
        if (!(v === undefined ? !(f in e) : v === "us")) return null;
        continue;
      }
      if (f === "serviceTier") {
        if (
          !(v === undefined
            ? !(f in e)
            : v === "flex" || v === "priority" || v === "batch" || v === "standard")
        )
          return null;
        continue;
      }
      if (f === "searchContextSize") {
        if (!(v === undefined ? !(f in e) : v === "low" || v === "medium" || v === "high")) return null;
        continue;
      }
      if (f === "identityEntryId" || f === "countProblem" || f === "supersedes") {
        if (!(v === undefined ? !(f in e) : typeof v === "string")) return null;
        continue;
      }
      const absentOk = f === "recordedCostOrigin" || f === "dedupeKey";
      if (!(typeof v === "string" || v === null || (v === undefined && absentOk))) return null;
    }
    if (typeof e.isError !== "boolean") return null;
    if ("zonelessTime" in e && e.zonelessTime !== true) return null;
    p.add(
      ev,
      ev.agentId,
      ev.sessionId,
      ev.sessionKey,
      ev.accountId,
      ev.source,
      ev.sourceRef,
      ev.latencyMs as number | null,
      ev.userPreview as string | null,
      ev.replyPreview as string | null,
      ev.dedupeKey,
    );
  }
  return p.take();
}

/** The events `packEvents` encoded, as the UsageEvent objects it was given. */
export function unpackEvents(p: PackedEvents): UsageEvent[] {
  const { n, nums, strs, table } = p;
  // (a structured clone gives a Buffer back as a plain Uint8Array)
  const bytes = p.bytes ? Buffer.from(p.bytes.buffer, p.bytes.byteOffset, p.bytes.byteLength) : null;
  const spans = p.spans;
  const s = (i: number): string | null =>
    i === -1
      ? null
      : i <= -3
        ? (bytes as Buffer).toString(
            "utf8",
            (spans as Int32Array)[2 * (-3 - i)],
            (spans as Int32Array)[2 * (-3 - i) + 1],
          )
        : (table[i] as string);
  const num = (v: number): number | null => (Number.isNaN(v) ? null : v);
  const out: UsageEvent[] = new Array(n);
  for (let i = 0; i < n; i++) {
    const a = i * NN;
    const b = i * NS;
    const c = b + SHARED.length;
    // The key order of parse.ts usageEvent, dedupeKey last (the thread adds it).
    const e: UsageEvent = {
      provider: s(strs[b] as number) as string,
      model: s(strs[b + 1] as number) as string,
      api: s(strs[b + 2] as number),
      messageTsMs: nums[a] as number,
      responseId: s(strs[c] as number),
      input: nums[a + 1] as number,
      output: nums[a + 2] as number,
      cacheRead: nums[a + 3] as number,
      cacheWrite: nums[a + 4] as number,
      cacheWrite1h:
        (strs[b + NS - 1] as number) & CW1H_ABSENT ? undefined : (num(nums[a + 5] as number) as number),
      totalTokens: nums[a + 6] as number,
      reasoningTokens: num(nums[a + 7] as number),
      stopReason: s(strs[b + 3] as number),
      isError: ((strs[b + NS - 1] as number) & 1) === 1,
      errorMessage: s(strs[c + 1] as number),
      recordedCostUsd: num(nums[a + 8] as number),
      recordedCostOrigin: (strs[b + 4] === -2
        ? undefined
        : s(strs[b + 4] as number)) as UsageEvent["recordedCostOrigin"],
      agentId: s(strs[b + 5] as number) as string,
      sessionId: s(strs[b + 6] as number),
      sessionKey: s(strs[b + 7] as number),
      accountId: s(strs[b + 8] as number) as string,
      source: s(strs[b + 9] as number) as UsageEvent["source"],
      sourceRef: s(strs[c + 2] as number) as string,
      latencyMs: num(nums[a + 9] as number),
      userPreview: s(strs[c + 3] as number),
      replyPreview: s(strs[c + 4] as number),
    };
    const its = nums[a + 14] as number;
    if (!Number.isNaN(its)) e.identityTsMs = its;
    const eid = strs[c + 6] as number;
    if (eid !== -2) e.identityEntryId = s(eid) as string;
    if ((strs[b + NS - 1] as number) & ZONELESS) e.zonelessTime = true;
    const cp = strs[c + 7] as number;
    if (cp !== -2) e.countProblem = s(cp) as string;
    const sup = strs[c + 8] as number;
    if (sup !== -2) e.supersedes = s(sup) as string;
    const w = nums[a + 10] as number;
    if (!Number.isNaN(w)) e.writtenInput = w;
    const ii = nums[a + 13] as number;
    if (!Number.isNaN(ii)) e.identityInput = ii;
    const icr = nums[a + 11] as number;
    if (!Number.isNaN(icr)) e.identityCacheRead = icr;
    const icw = nums[a + 12] as number;
    if (!Number.isNaN(icw)) e.identityCacheWrite = icw;
    const io = nums[a + 15] as number;
    if (!Number.isNaN(io)) e.identityOutput = io;
    const rm = strs[b + 10] as number;
    if (rm !== -2) e.responseModel = s(rm) as string;
    const sp = strs[b + 11] as number;
    if (sp !== -2) e.speed = s(sp) as "fast" | "standard";
    const geo = strs[b + 12] as number;
    if (geo !== -2) e.inferenceGeo = s(geo) as "us";
    const st = strs[b + 13] as number;
    if (st !== -2) e.serviceTier = s(st) as "flex" | "priority" | "batch" | "standard";
    const scs = strs[b + 14] as number;
    if (scs !== -2) e.searchContextSize = s(scs) as "low" | "medium" | "high";
    const ws = nums[a + 16] as number;
    if (!Number.isNaN(ws)) e.webSearchRequests = ws;
    const tit = nums[a + 17] as number;
    if (!Number.isNaN(tit)) e.tierInputTotal = tit;
    const k = strs[c + 5] as number;
    if (k !== -2) e.dedupeKey = s(k) as string;
    out[i] = e;
  }
  return out;
}
