import {
  agentOfKey,
  type IdentityLinks,
  overridesMemory,
  remembersInternalSurface,
  resolveAccount,
  type SessionHints,
  sessionChannel,
  type WhatsAppLidResolver,
} from "../resolve-user.js";
import type { RememberedSession } from "../session-memory.js";
import { mainKeyOf } from "./openclaw-config.js";
import { directChatOf, type IndexedSession, sharedChatOf } from "./sessions-index.js";
import type { OcHandle } from "./store-handle.js";

// Who pays for a session read from OpenClaw's store: its key from `session_windows` (live) or the
// archive / the meter's memory (no longer live), its channel and route hints from the window, its
// `session_nodes` entry and its conversation, resolved by `resolveAccount`. Split from
// sqlite-reader.ts.

/** A session's key, the account its calls bill, and its channel. */
export interface Attribution {
  sessionKey: string | null;
  accountId: string;
  channel: string | null;
}

/**
 * The delivery channels and route targets a `session_nodes.entry_json` names, most specific first
 * (each list may be empty; an entry that is not JSON names none).
 */
export function hintsFromEntry(entryJson: string | null | undefined): {
  channels: string[];
  targets: string[];
  /** The entry is an isolated heartbeat run (`heartbeatIsolatedBaseSessionKey`). */
  heartbeat: boolean;
  /** The entry records a one-to-one chat ({@link directChatOf}), else null. */
  directChat: { user: string | null } | null;
  /** The entry records a group or channel chat ({@link sharedChatOf}). */
  sharedChat: boolean;
} {
  const channels: string[] = [];
  const targets: string[] = [];
  if (!entryJson) return { channels, targets, heartbeat: false, directChat: null, sharedChat: false };
  let e: unknown;
  try {
    e = JSON.parse(entryJson);
  } catch {
    return { channels, targets, heartbeat: false, directChat: null, sharedChat: false };
  }
  const at = (...path: string[]): string | null => {
    let v: unknown = e;
    for (const p of path) {
      if (typeof v !== "object" || v === null) return null;
      v = (v as Record<string, unknown>)[p];
    }
    return typeof v === "string" && v.length > 0 ? v : null;
  };
  for (const c of [
    at("delivery", "context", "channel"),
    at("delivery", "route", "channel"),
    at("deliveryContext", "channel"),
    at("lastChannel"),
    at("channel"),
    at("delivery", "origin", "provider"),
    at("origin", "provider"),
  ]) {
    // OpenClaw's own surfaces (`webchat` once the dashboard touched the session...) are no
    // user's channel: `sessionChannel` drops them
    const ch = sessionChannel([c]);
    if (ch) channels.push(ch);
  }
  for (const t of [
    at("delivery", "origin", "from"),
    at("delivery", "context", "to"),
    at("delivery", "route", "target", "to"),
    at("origin", "from"),
    at("deliveryContext", "to"),
    at("lastTo"),
  ]) {
    if (t) targets.push(t);
  }
  const rec = (v: unknown): Record<string, unknown> =>
    typeof v === "object" && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
  const entry = rec(e);
  return {
    channels,
    targets,
    heartbeat: at("heartbeatIsolatedBaseSessionKey") !== null,
    // the store's entry keeps the origin under `delivery` (the JSONL era's at the top)
    directChat: directChatOf(entry, rec(rec(entry.delivery).origin), rec(entry.origin)),
    sharedChat: sharedChatOf(entry, rec(rec(entry.delivery).origin), rec(entry.origin)),
  };
}

/**
 * The attribution functions of one agent's store reader. `remembered(sid)` is the meter's memory
 * of a session as it will be once the batches emitted so far are committed (see the reader);
 * `sibling(agent)` another agent's store, for keys of a spawn chain that lead there;
 * `slashPrefixes` the configured slash-command session prefixes (`configuredSlashPrefixes`);
 * `identityLinks` the configured `session.identityLinks` (`configuredIdentityLinks`);
 * `whatsappLid` the state dir's WhatsApp LID → number mappings (`createWhatsAppLidResolver`);
 * `importedEntry(key)` the key's entry in the `sessions.json` OpenClaw's doctor archived when it
 * imported the agent's JSONL into the store (`importedIndexPath`), null when there is none;
 * `rememberedAccountOfKey(key)` the account the meter last billed a key to (`SessionMemory.accountOfKey`).
 */
export function createStoreAttribution(
  agentId: string,
  mainKey: string | null,
  remembered: (sid: string) => RememberedSession | null,
  sibling: (agent: string) => OcHandle | null = () => null,
  slashPrefixes: SessionHints["slashPrefixes"] = [],
  identityLinks: IdentityLinks | null = null,
  importedEntry: (key: string) => IndexedSession | null = () => null,
  whatsappLid: WhatsAppLidResolver | null = null,
  rememberedAccountOfKey: (key: string) => string | null = () => null,
) {
  /** The store of the agent a key names, when that is another agent's. */
  function otherStore(key: string): OcHandle | null {
    const agent = agentOfKey(key);
    return agent && agent !== agentId ? sibling(agent) : null;
  }

  function channelIn(h: OcHandle | null, key: string): string | null {
    if (!h) return null;
    // the same hints, in the same order, as the session's own attribution (liveAttribution): a
    // sub-agent's parent DM whose window says `webchat` names its channel by a route target too
    const { channels, targets } = hintsFromEntry(h.node?.get(key)?.entry_json);
    return sessionChannel([h.windowChannelOfKey?.get(key)?.channel, ...channels], targets);
  }

  /**
   * The channel a key's pre-import entry names, read as the JSONL path reads `sessions.json`
   * (`IndexedSession.channel`: OpenClaw's own surfaces skipped, then the origin's provider, then a
   * route's channel). `openclaw doctor --fix` folds a JSONL-era entry's route fields (`lastChannel`,
   * `deliveryContext`, `origin`, `lastTo`) into the store's one `delivery` state, and an entry whose
   * last route was the dashboard (`webchat`, openclaw/openclaw#47745) becomes `{kind:"internal"}`
   * with its origin dropped: a `per-peer` DM key (`agent:<a>:direct:<peer>`) then names no channel
   * anywhere in the store. Before 2026-12-03 such a DM and its sub-agents were billed to a
   * channel-less `direct:<peer>` account while the JSONL path billed `telegram:<peer>` (case
   * `store-import-dropped-dm-channel`). Only asked when the store names no channel.
   */
  function importedChannelOf(key: string): string | null {
    return importedEntry(key)?.channel ?? null;
  }

  /**
   * The channel of another session by key: its window's, else its node entry's, in this store,
   * else in the store of the agent the key names (a sub-agent spawned into this agent from
   * another agent's `per-peer` DM: before 2026-12-02 billed to a channel-less `direct:<peer>`),
   * else its pre-import entry's (`importedChannelOf`).
   */
  function channelOfKey(h: OcHandle | null, key: string): string | null {
    return channelIn(h, key) ?? channelIn(otherStore(key), key) ?? importedChannelOf(key);
  }

  /** Whether another session by key is an isolated heartbeat run (its node entry's marker). */
  function heartbeatOfKey(h: OcHandle | null, key: string): boolean {
    const of = (x: OcHandle | null) => (x ? hintsFromEntry(x.node?.get(key)?.entry_json).heartbeat : false);
    return of(h) || of(otherStore(key));
  }

  /** The direct chat another session by key records (its node entry's), here or in its agent's store. */
  function directChatOfKey(h: OcHandle | null, key: string): { user: string | null } | null {
    const of = (x: OcHandle | null) => (x ? hintsFromEntry(x.node?.get(key)?.entry_json).directChat : null);
    return of(h) ?? of(otherStore(key));
  }

  /** A session's requester (`spawned_by` / `parent_session_key`), here or in its own agent's store. */
  function parentOfKey(h: OcHandle | null, key: string): string | null {
    return h?.parentOfKey?.(key) ?? otherStore(key)?.parentOfKey?.(key) ?? null;
  }

  /**
   * The main key the store records as the gateway's (`session_key_contract.main_key`), when it is
   * not `main` and not the configured one: OpenClaw writes the `session.mainKey` it runs with
   * into every agent's store (`setCanonicalSqliteSessionMainKey`), so a store names its custom
   * main session although the meter cannot read the config that set it (`OPENCLAW_CONFIG_PATH`
   * outside the state dir, an `$include`d file, a copy of `agents/` alone). Before 2026-12-03
   * that session, an unfamiliar key, was billed from its recorded route: to whoever spoke last.
   */
  function storeMainKeys(h: OcHandle | null): string[] {
    let raw: unknown;
    try {
      raw = h?.mainKey?.get()?.main_key;
    } catch {
      return [];
    }
    const k = mainKeyOf(raw);
    return k && k !== mainKey ? [k] : [];
  }

  /** Attribution of a session that is no longer live: the archive's key, else the meter's memory. */
  function rememberedAttribution(h: OcHandle | null, sid: string, key: string | null): Attribution {
    const mem = remembered(sid);
    const sessionKey = key ?? mem?.sessionKey ?? null;
    // A memory from before 2026-12-02 may name an internal surface (`webchat:<peer>`): resolved again.
    const internal = remembersInternalSurface(mem?.channel, mem?.accountId);
    const channel = internal ? null : (mem?.channel ?? null);
    const hints: SessionHints = {
      channel,
      parentKey: (k) => parentOfKey(h, k),
      channelOfKey: (k) => channelOfKey(h, k),
      heartbeatOfKey: (k) => heartbeatOfKey(h, k),
      directChatOfKey: (k) => directChatOfKey(h, k),
      rememberedAccountOfKey,
      mainKey,
      mainKeys: storeMainKeys(h),
      slashPrefixes,
      identityLinks,
      whatsappLid,
    };
    if (mem?.accountId && !internal && (key === null || mem.sessionKey === key)) {
      // a linked person's session remembered under a channel's account (billed before the link
      // was read, 2026-12-03) bills the person's one account now; so does an operator's dashboard
      // session remembered under the user its copied route named (before 2026-12-03) the operator
      const r = resolveAccount(agentId, sessionKey, hints);
      return { sessionKey, accountId: overridesMemory(r) ? r.accountId : mem.accountId, channel };
    }
    return { sessionKey, accountId: resolveAccount(agentId, sessionKey, hints).accountId, channel };
  }

  /** Attribution of a live session: window → key, node entry + conversation → channel and route hints. */
  function liveAttribution(h: OcHandle, sid: string, fallbackKey: string | null): Attribution {
    const w = h.window?.get(sid);
    if (!w?.session_key) return rememberedAttribution(h, sid, fallbackKey);
    const node = h.node?.get(w.session_key);
    const { channels, targets, heartbeat, directChat, sharedChat } = hintsFromEntry(node?.entry_json);
    const conv = w.conversation ? h.conversation?.get(w.conversation) : undefined;
    // the window's channel, else the entry's, else the conversation's, else a route's: the first
    // that is a messaging channel (never `webchat`, the dashboard: `sessionChannel`)
    const channel =
      sessionChannel([w.channel, ...channels, conv?.channel], targets) ?? importedChannelOf(w.session_key);
    if (conv?.target) targets.push(conv.target);
    const r = resolveAccount(agentId, w.session_key, {
      channel,
      routeTargets: targets,
      heartbeat,
      directChat,
      sharedChat,
      parentKey: (k) => parentOfKey(h, k),
      channelOfKey: (k) => channelOfKey(h, k),
      heartbeatOfKey: (k) => heartbeatOfKey(h, k),
      directChatOfKey: (k) => directChatOfKey(h, k),
      rememberedAccountOfKey,
      mainKey,
      mainKeys: storeMainKeys(h),
      slashPrefixes,
      identityLinks,
      whatsappLid,
    });
    return { sessionKey: w.session_key, accountId: r.accountId, channel };
  }
  /**
   * The account a session key's calls are billed to, for a turn that session wrote into another
   * (`sessions_send`): its node entry's hints (this store's or the store of the agent the key
   * names), as its own live attribution reads them.
   */
  function accountOfKey(h: OcHandle | null, key: string): string {
    const entry = h?.node?.get(key)?.entry_json ?? otherStore(key)?.node?.get(key)?.entry_json;
    const { targets, heartbeat, directChat, sharedChat } = hintsFromEntry(entry);
    return resolveAccount(agentOfKey(key) ?? agentId, key, {
      channel: channelOfKey(h, key),
      routeTargets: targets,
      heartbeat,
      directChat,
      sharedChat,
      parentKey: (k) => parentOfKey(h, k),
      channelOfKey: (k) => channelOfKey(h, k),
      heartbeatOfKey: (k) => heartbeatOfKey(h, k),
      directChatOfKey: (k) => directChatOfKey(h, k),
      rememberedAccountOfKey,
      mainKey,
      mainKeys: storeMainKeys(h),
      slashPrefixes,
      identityLinks,
      whatsappLid,
    }).accountId;
  }
  return { channelOfKey, rememberedAttribution, liveAttribution, accountOfKey };
}

export type StoreAttribution = ReturnType<typeof createStoreAttribution>;
