import type { UsageEvent } from "../types.js";

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
  /** `n × STRS.length`, event by event: an index into `table`, -1 for null, -2 for absent. */
  strs: Int32Array;
  table: string[];
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
] as const;
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
] as const;
/** String fields that are (nearly) unique per event: appended without a lookup. */
const UNIQUE = [
  "responseId",
  "errorMessage",
  "sourceRef",
  "userPreview",
  "replyPreview",
  "dedupeKey",
] as const;
const NN = NUMS.length;
/** Strings per event: SHARED, UNIQUE, then `isError` (0/1, here to spare a third array). */
const NS = SHARED.length + UNIQUE.length + 1;
/** Every own key an event may have: one with any other key (or type) is sent as it is. */
const KEYS = new Set<string>([...NUMS, ...SHARED, ...UNIQUE, "isError"]);

/**
 * The events in columns, or null when one of them does not have the shape this encodes exactly
 * (a field of another type, an unknown key): the caller then sends the objects as they are.
 * `unpackEvents(packEvents(es))` deep-equals `es`, key order included.
 */
export function packEvents(events: readonly UsageEvent[]): PackedEvents | null {
  const n = events.length;
  const nums = new Float64Array(n * NN);
  const strs = new Int32Array(n * NS);
  const table: string[] = [];
  const ids = new Map<string, number>();
  for (let i = 0; i < n; i++) {
    const e = events[i] as unknown as Record<string, unknown>;
    let keys = 0;
    for (const k in e) {
      if (!KEYS.has(k)) return null;
      keys++;
    }
    // Every field but dedupeKey (set by the thread, absent when it could not be derived) is present.
    if (keys !== KEYS.size && !(keys === KEYS.size - 1 && !("dedupeKey" in e))) return null;
    const nb = i * NN;
    for (let f = 0; f < NN; f++) {
      const v = e[NUMS[f] as string];
      if (typeof v === "number" && !Number.isNaN(v)) nums[nb + f] = v;
      else if (v === null) nums[nb + f] = Number.NaN;
      else return null;
    }
    const sb = i * NS;
    for (let f = 0; f < SHARED.length; f++) {
      const v = e[SHARED[f] as string];
      if (typeof v === "string") {
        let id = ids.get(v);
        if (id === undefined) {
          id = table.length;
          table.push(v);
          ids.set(v, id);
        }
        strs[sb + f] = id;
      } else if (v === null) strs[sb + f] = -1;
      else return null;
    }
    for (let f = 0; f < UNIQUE.length; f++) {
      const v = e[UNIQUE[f] as string];
      if (typeof v === "string") {
        strs[sb + SHARED.length + f] = table.length;
        table.push(v);
      } else if (v === null) strs[sb + SHARED.length + f] = -1;
      else if (v === undefined && UNIQUE[f] === "dedupeKey") strs[sb + SHARED.length + f] = -2;
      else return null;
    }
    if (typeof e.isError !== "boolean") return null;
    strs[sb + NS - 1] = e.isError ? 1 : 0;
  }
  return { n, nums, strs, table };
}

/** The events `packEvents` encoded, as the UsageEvent objects it was given. */
export function unpackEvents(p: PackedEvents): UsageEvent[] {
  const { n, nums, strs, table } = p;
  const s = (i: number): string | null => (i === -1 ? null : (table[i] as string));
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
      cacheWrite1h: nums[a + 5] as number,
      totalTokens: nums[a + 6] as number,
      reasoningTokens: num(nums[a + 7] as number),
      stopReason: s(strs[b + 3] as number),
      isError: strs[b + NS - 1] === 1,
      errorMessage: s(strs[c + 1] as number),
      recordedCostUsd: num(nums[a + 8] as number),
      recordedCostOrigin: s(strs[b + 4] as number) as UsageEvent["recordedCostOrigin"],
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
    const k = strs[c + 5] as number;
    if (k !== -2) e.dedupeKey = s(k) as string;
    out[i] = e;
  }
  return out;
}
