import { createHash } from "node:crypto";
import { ACCOUNT_ID_RE } from "../credits/index.js";

/**
 * Session key → billable account. Pure.
 *
 * OpenClaw names a session `agent:<agentId>:<rest>`; with a per-peer `session.dmScope` the
 * rest names the end user:
 *   `<ch>:direct:<peer>` / `<ch>:dm:<peer>`            per-channel-peer (recommended)
 *   `<ch>:<account>:direct:<peer>`                     per-account-channel-peer
 *   `direct:<peer>` / `dm:<peer>`                      per-peer (channel from the session entry)
 *   `openai-user:<user>`                               OpenAI-compatible HTTP with `user`
 *   `openresponses-user:<user>`                        OpenResponses HTTP (`/v1/responses`) with `user`
 * A DM thread (Telegram DM topics, Discord and Slack thread replies) is its own session with the
 * DM's key and a suffix, `<dm key>:thread:<threadId>`; it bills the same user as the DM.
 * The user is `<channel>:<peer>` (`telegram:123456`, `whatsapp:+15551234567`), exactly what
 * the plugin computes from a command's `channel` and `senderId`.
 *
 * With `session.identityLinks` (one person's ids on several channels linked to a canonical name)
 * OpenClaw keys that person's DMs by the canonical name (`telegram:direct:alice`,
 * `whatsapp:direct:alice`, `direct:alice`): every such session, and every account whose channel id
 * is linked (a DM keyed before the link, a slash command, a route), is the one account `alice`
 * ({@link IdentityLinks}).
 *
 * Everything that belongs to no end user is billed to the agent's own account
 * `agent:<agentId>`: the operator's `main` session (where EVERY DM lands under the default
 * `dmScope:"main"`), cron runs, hooks, heartbeats (an isolated heartbeat run is its own session,
 * `<base key>:heartbeat`, even when the base is a user's DM), groups and channels, sub-agents
 * whose parent cannot be found, and sessions whose key is unknown.
 */

export interface SessionHints {
  /** Channel of the session (`session_windows.channel`, `lastChannel`, `deliveryContext.channel`). */
  channel?: string | null;
  /** `origin.from`, `deliveryContext.to`, `lastTo`: consulted only for key shapes we don't know. */
  routeTargets?: readonly (string | null | undefined)[];
  /** Resolves a sub-agent to its parent's session key (`spawned_by` / `parent_session_key`). */
  parentKey?: (sessionKey: string) => string | null | undefined;
  /**
   * The account the meter billed a session key's calls to before (its memory, `meter_sessions`),
   * for a sub-agent in a spawn chain whose own parent is no longer recorded: OpenClaw deletes a
   * sub-agent's session (`archiveAfterMinutes`, default 60, after its run ended) while the workers
   * it spawned (`maxSpawnDepth` 2) may run on, so the orchestrator's entry, and with it the link to
   * the user's DM, is gone. Before 2026-12-04 the workers' later calls went to the operator.
   */
  rememberedAccountOfKey?: (sessionKey: string) => string | null | undefined;
  /**
   * Channel of another session by key (its entry's `lastChannel`/`session_windows.channel`):
   * a sub-agent spawned from a `per-peer` DM (`direct:<peer>`, no channel in the key) bills the
   * parent's user, `<parent's channel>:<peer>`, not a channel-less `direct:<peer>` account.
   */
  channelOfKey?: (sessionKey: string) => string | null | undefined;
  /**
   * Whether another session by key is an isolated heartbeat run by its entry's marker
   * (`heartbeatIsolatedBaseSessionKey`): a sub-agent such a run spawned is the operator's too. On
   * an `openai-user:`/`openresponses-user:` key the marker is the only sign, so without it the
   * child of `openai-user:alice:heartbeat`'s heartbeat run billed an account of that name.
   */
  heartbeatOfKey?: (sessionKey: string) => boolean;
  /**
   * The configured `session.mainKey` when not `main` (lower-cased): `agent:<a>:<mainKey>` is the
   * operator's main session like `agent:<a>:main`, never billed from its recorded route.
   */
  mainKey?: string | null;
  /**
   * Further main keys, lower-cased, each `agent:<a>:<key>` the operator's main session like
   * {@link mainKey}'s: the one an OpenClaw SQLite store records as the gateway's own
   * (`session_key_contract.main_key`), when the config the meter reads names none or another.
   */
  mainKeys?: readonly string[];
  /**
   * The session entry names the base of an isolated heartbeat run
   * (`heartbeatIsolatedBaseSessionKey`): the session is the operator's heartbeat, whatever its
   * key or recorded route (which OpenClaw copies from the base session).
   */
  heartbeat?: boolean;
  /**
   * Custom session prefixes of a channel's native slash command (Slack's
   * `slashCommand.sessionPrefix`, lower-cased): `agent:<a>:<prefix>:<userId>` is `<channel>:<userId>`,
   * the user who typed the command, as `<ch>:slash:<userId>` is with the default prefix.
   */
  slashPrefixes?: readonly { prefix: string; channel: string }[];
  /**
   * The configured `session.identityLinks` ({@link parseIdentityLinks}): a DM keyed by a canonical
   * name, or an account whose channel id is linked, is that person's one account.
   */
  identityLinks?: IdentityLinks | null;
  /**
   * The session entry records a one-to-one chat (its `chatType`, or its origin's, is `direct`), with
   * the DM user it records (`origin.nativeDirectUserId`, else `origin.from`), if any. A key that reads as a
   * room (`<ch>:channel:<id>`, `<ch>:group:<id>`) is then that DM's ({@link directRoomUser}): Matrix
   * keys each DM room so under `dm.sessionScope: "per-room"` (and a DM bound through its room).
   */
  directChat?: { user: string | null } | null;
  /**
   * The session entry records a group or channel chat (its `chatType`, or its origin's, is `group`
   * or `channel`): the route it recorded names that chat, so an unfamiliar key's route fallback bills
   * no one by it (the operator's, as any group).
   */
  sharedChat?: boolean;
  /**
   * {@link directChat} of another session by key (its entry's): a sub-agent spawned from a DM keyed
   * as its room bills that DM's user, not the operator.
   */
  directChatOfKey?: (sessionKey: string) => { user: string | null } | null | undefined;
  /**
   * WhatsApp's LID → phone mapping OpenClaw reads ({@link WhatsAppLidResolver}): an account named
   * by a LID (`whatsapp:<lid>@lid`, a DM keyed before the mapping was known) is the person's number.
   */
  whatsappLid?: WhatsAppLidResolver | null;
}

/**
 * A WhatsApp LID (the digits of a `<lid>@lid` JID, WhatsApp's privacy id) → the person's E.164 number
 * (`+15551234567`), or null when no mapping is known. OpenClaw resolves a LID sender through the
 * `lid-mapping-<lid>_reverse.json` files Baileys saves in the WhatsApp auth dir (`jidToE164`,
 * `readLidReverseMapping`) and keys the DM by the number; a DM that came before the mapping was saved
 * is keyed by the LID (openclaw/openclaw#119475, #122541), so one person has two keys.
 */
export type WhatsAppLidResolver = (lid: string) => string | null;

/** A WhatsApp account named by a LID JID: `whatsapp:<lid>[:<device>]@lid` (or `@hosted.lid`). */
const WHATSAPP_LID_ACCOUNT = /^whatsapp:(\d+)(?::\d+)?@(?:lid|hosted\.lid)$/;

/**
 * `whatsapp:<lid>@lid` → `whatsapp:+<number>` when `lid` maps a number ({@link WhatsAppLidResolver}), or
 * that number's linked person (`session.identityLinks`); any other account (or an unmapped LID) as
 * given. Before 2026-12-04 a DM keyed by the LID and the same person's DM keyed by the number were
 * two accounts: the top-ups on one, the debits on the other (case `whatsapp-lid-sender`).
 */
export function whatsappLidAccount(
  accountId: string,
  lid: WhatsAppLidResolver | null | undefined,
  links: IdentityLinks | null | undefined,
): { accountId: string; person: boolean } | null {
  const m = lid ? WHATSAPP_LID_ACCOUNT.exec(accountId) : null;
  const phone = m?.[1] ? lid?.(m[1]) : null;
  if (!phone || !/^\+\d+$/.test(phone)) return null;
  const acct = `whatsapp:${phone}`;
  const person = linkedAccount(acct, links);
  return person ? { accountId: person, person: true } : { accountId: acct, person: false };
}

/**
 * OpenClaw's `session.identityLinks` as the resolver reads it: `{ "<canonical>": ["<channel>:<peerId>"
 * | "<peerId>", ...] }`. OpenClaw's `resolveLinkedPeerId` (src/routing/session-key.ts) replaces a
 * DM's peer by the first canonical name (config order) that lists `<channel>:<peerId>` or the bare
 * `<peerId>` (trimmed, lower-cased), and `buildAgentPeerSessionKey` writes the name lower-cased
 * into the key under every `dmScope` but `main` (openclaw/openclaw#1033). One person, one account:
 * the canonical name lower-cased (`alice`).
 */
export interface IdentityLinks {
  /**
   * Canonical names (trimmed, lower-cased, as OpenClaw writes them into a DM's session key) that
   * list at least one id → the person's account id ({@link personAccountId}).
   */
  readonly canonicals: ReadonlyMap<string, string>;
  /** A linked id (lower-cased; `<channel>:<peer>` in the DM peer form of {@link dmPeer}) → its person's account id and config order. */
  readonly byId: ReadonlyMap<string, { name: string; order: number }>;
}

/**
 * A linked person's account id: the canonical name trimmed and lower-cased, as OpenClaw writes it
 * into the person's DM keys (`agent:main:direct:alice smith`), with each character an account id
 * cannot hold ({@link ACCOUNT_ID_RE}: white space, control and invisible characters) and `%`
 * percent-encoded as its UTF-8 bytes (`Alice Smith` → `alice%20smith`): distinct names stay
 * distinct accounts (`alice_smith` is another person), as they are distinct sessions in OpenClaw.
 * A result longer than an account id may be (200 characters) is cut to 183 with `~` and 16 hex
 * digits of its SHA-256 (before 2026-12-03's fix such a link was ignored and the person's DMs,
 * keyed by the name, were held). Null when nothing is left (a blank name).
 */
export function personAccountId(name: string): string | null {
  const id = name
    .trim()
    .toLowerCase()
    // a lone surrogate has no UTF-8 form: U+FFFD's bytes, as a UTF-8 store would keep it
    .replace(/[\s\p{Cc}\p{Cf}%]|\p{Cs}/gu, (c) => (/\p{Cs}/u.test(c) ? "%EF%BF%BD" : encodeURIComponent(c)));
  // longer than an account id may be: cut, with a hash of the whole name, still one-to-one
  const points = [...id];
  const fitted =
    points.length <= 200
      ? id
      : `${points.slice(0, 183).join("")}~${createHash("sha256").update(id).digest("hex").slice(0, 16)}`;
  return ACCOUNT_ID_RE.test(fitted) ? fitted : null;
}

/**
 * The `session.identityLinks` value of an OpenClaw config as {@link IdentityLinks}, or null when
 * it links nothing. Entries OpenClaw ignores are ignored (a blank name, ids that are not a list, blank
 * ids); so is a name that would read as the operator's own account (`agent:…`). An id listed under
 * two names belongs to the first, as in OpenClaw.
 */
export function parseIdentityLinks(raw: unknown): IdentityLinks | null {
  if (!raw || typeof raw !== "object" || Array.isArray(raw)) return null;
  const canonicals = new Map<string, string>();
  const byId = new Map<string, { name: string; order: number }>();
  let order = 0;
  for (const [canonical, ids] of Object.entries(raw as Record<string, unknown>)) {
    const key = canonical.trim().toLowerCase();
    const name = personAccountId(key);
    if (!name || name.startsWith("agent:") || !Array.isArray(ids)) continue;
    let any = false;
    for (const id of ids) {
      const key = typeof id === "string" ? linkIdKey(id) : "";
      if (!key) continue;
      any = true;
      if (!byId.has(key)) byId.set(key, { name, order });
    }
    if (any) canonicals.set(key, name);
    order++;
  }
  return canonicals.size > 0 ? { canonicals, byId } : null;
}

/** A linked id as a lookup key: trimmed, lower-cased, a `<channel>:<peer>` id's peer in its DM form. */
function linkIdKey(id: string): string {
  const t = id.trim().toLowerCase();
  const m = /^([a-z0-9_-]+):(.+)$/.exec(t);
  if (!m?.[1] || !m[2] || /^\+?\d+(?::\d+)?@/.test(t)) return t;
  const ch = m[1] === "tg" ? "telegram" : m[1];
  return `${ch}:${dmPeer(ch, m[2])}`;
}

/**
 * The linked person's account of an end user's account `<channel>:<peer>` (or a channel-less
 * `direct:<peer>`), else null: the canonical name whose ids list `<channel>:<peer>` or the bare
 * `<peer>`, the first in config order when both match (OpenClaw's `resolveLinkedPeerId`).
 */
export function linkedAccount(accountId: string, links: IdentityLinks | null | undefined): string | null {
  if (!links) return null;
  const at = accountId.indexOf(":");
  if (at <= 0) return null;
  const ch = accountId.slice(0, at);
  const peer = accountId.slice(at + 1);
  const scoped = ch === "direct" ? undefined : links.byId.get(`${ch}:${peer}`);
  const bare = links.byId.get(peer);
  const hit = scoped && bare ? (scoped.order <= bare.order ? scoped : bare) : (scoped ?? bare);
  return hit?.name ?? null;
}

export interface Resolution {
  accountId: string;
  /**
   * The id the key names held a character an account id cannot (white space: an OpenAI-compatible
   * `user` of `John Smith`, a Nextcloud user id `jane doe`) or was too long, and `accountId` is its
   * storable form ({@link storableAccountId}).
   */
  fitted?: boolean;
  /**
   * How it was decided, for reports: `dm`, `openai-user`, `operator`, `route`, `unknown-session`,
   * `identity` (a linked person, {@link IdentityLinks})...
   */
  via: string;
}

const AUTOMATION = new Set(["main", "cron", "hook", "heartbeat", "subagent", "acp", "node", "global"]);
/**
 * Heads of sessions OpenClaw spawns from another session, whose entry names the requester
 * (`spawnedBy` / `parentSessionKey`, the store's `spawned_by` / `parent_session_key`): sub-agents
 * (`subagent:<uuid>`) and ACP harness sessions (`acp:<uuid>`).
 */
const SPAWNED_HEADS: ReadonlySet<string> = new Set(["subagent", "acp"]);
/**
 * The session heads of OpenClaw's HTTP endpoints called with a `user` (`<prefix>-user:<user>`,
 * gateway http-utils): the OpenAI-compatible Chat Completions endpoint (`openai-user`) and the
 * OpenResponses `/v1/responses` endpoint (`openresponses-user`). Each names its own account,
 * `<head>:<user>`, as OpenClaw keeps each endpoint's sessions apart.
 */
const HTTP_USER_HEADS: ReadonlySet<string> = new Set(["openai-user", "openresponses-user"]);
/**
 * Heads of sessions only OpenClaw's operator surfaces create: the Control UI / gateway's
 * `agent:<a>:dashboard:<uuid>` (`buildDashboardSessionKey`: a new chat, a fork, a checkpoint branch;
 * `incognito-<uuid>` too). Read after a configured slash-command prefix, which wins.
 */
const OPERATOR_SURFACE_HEADS: ReadonlySet<string> = new Set(["dashboard"]);
/** The id `buildDashboardSessionKey` gives a Control UI session: a UUID, or `incognito-<uuid>`. */
const DASHBOARD_ID = /^(?:incognito-)?[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const SHARED = new Set(["group", "channel", "room", "thread", "topic"]);
const DM = new Set(["direct", "dm"]);
/** Segments that start a DM session key's thread suffix (`…:direct:<peer>:thread:<id>`). */
const THREAD_MARKERS = new Set(["thread", "topic"]);

export const operatorAccount = (agentId: string) => `agent:${agentId}`;

/** The agent id named by a session key, or null if the key is not `agent:<id>:...`. */
export function agentOfKey(sessionKey: string): string | null {
  const parts = sessionKey.split(":");
  return parts[0] === "agent" && parts[1] ? parts[1] : null;
}

export function resolveAccount(
  agentId: string,
  sessionKey: string | null,
  hints: SessionHints = {},
): Resolution {
  const r = resolve(agentId, sessionKey, hints, 0);
  // a DM (or a sub-agent's root DM) keyed by a WhatsApp LID whose number is known now
  const mapped = whatsappLidAccount(r.accountId, hints.whatsappLid, hints.identityLinks);
  const out = mapped ? { accountId: mapped.accountId, via: mapped.person ? "identity" : "whatsapp-lid" } : r;
  const id = storableAccountId(out.accountId);
  // (look-alike characters are folded where the call is billed, against the ledger: biller.ts
  // `billedAccountId`, so an account billed under an unfolded id keeps its calls)
  return id === out.accountId ? out : { ...out, accountId: id, fitted: true };
}

/**
 * An account id as the ledger can hold it ({@link ACCOUNT_ID_RE}): itself when it can; else with each
 * white space, control or invisible character and `%` percent-encoded as its UTF-8 bytes, and, past
 * 200 characters, cut to 183 with `~` and 16 hex digits of its SHA-256, as a linked person's name is
 * ({@link personAccountId}). OpenClaw keys a session by whatever id the channel or caller gives:
 * an OpenAI-compatible / OpenResponses `user` (`agent:<a>:openai-user:john smith`: OpenClaw only
 * trims and lower-cases it), a Nextcloud Talk user id (Nextcloud allows spaces), an id of 200+
 * characters. Before 2026-12-04 every call of such a session was held for review (the id is no
 * valid account) and the user could not be topped up at all: the API refuses such an id, so
 * `/recargar` failed (case `account-id-with-spaces`). An id with a lone UTF-16 surrogate is left as
 * it is (held: stored as UTF-8, distinct ids would merge). Ids that were valid never change.
 */
export function storableAccountId(id: string): string {
  if (ACCOUNT_ID_RE.test(id) || /\p{Cs}/u.test(id) || id.length === 0) return id;
  const enc = id.replace(/[\s\p{Cc}\p{Cf}%]/gu, (c) => encodeURIComponent(c));
  const points = [...enc];
  const fitted =
    points.length <= 200
      ? enc
      : `${points.slice(0, 183).join("")}~${createHash("sha256").update(enc).digest("hex").slice(0, 16)}`;
  return ACCOUNT_ID_RE.test(fitted) ? fitted : id;
}

function resolve(agentId: string, sessionKey: string | null, hints: SessionHints, depth: number): Resolution {
  const op = { accountId: operatorAccount(agentId), via: "operator" };
  if (!sessionKey) return { accountId: operatorAccount(agentId), via: "unknown-session" };
  const parts = sessionKey.split(":");
  const rest = parts[0] === "agent" ? parts.slice(2) : parts;
  const head = rest[0]?.toLowerCase();
  if (!head) return op;
  // the configured main key and the one the agent's store records (either is the operator's)
  if ([hints.mainKey, ...(hints.mainKeys ?? [])].some((k) => k && isMainSession(rest, k)))
    return { accountId: operatorAccount(agentId), via: "main-key" };
  if (hints.heartbeat || isIsolatedHeartbeat(rest))
    return { accountId: operatorAccount(agentId), via: "heartbeat" };

  // A spawned session: a sub-agent, or an ACP harness session `sessions_spawn` with `runtime: "acp"`
  // (or `/acp spawn`) started from a requester session (`agent:<target>:acp:<uuid>`, `spawnedBy` the
  // requester's key since OpenClaw 2026.3.8's "ACP spawned-session lineage", openclaw/openclaw#40984,
  // #43413). Both bill the root of their spawn chain; an ACP session with no parent (the IDE bridge
  // `openclaw acp`'s own sessions) stays the operator's. Before 2026-12-04 every ACP session was
  // the operator's, a user's DM's spawns too (case `acp-spawn-payer`).
  // A conversation bound to a persistent ACP session: `bindings[]` with `type: "acp"`, or
  // `/acp spawn --bind here` (OpenClaw's `buildConfiguredAcpSessionKey`:
  // `agent:<a>:acp:binding:<channel>:<accountId>:<hash>`). Its inbound messages are routed straight
  // to that session, so its entry records the conversation (`chatType`, `origin`, `lastTo`) and no
  // requester: a DM bound so bills its user, as the DM itself would (the plugin gates that sender);
  // a bound group, channel or thread stays the operator's. Before 2026-12-04 every such session was
  // the operator's (found reviewing `acp-spawn-payer`; case `acp-binding-dm-payer`).
  if (head === "acp" && rest[1]?.toLowerCase() === "binding") {
    const user = hints.directChat ? directUserOn(rest[2], hints) : null;
    return user ? linked(user, "acp-binding", hints) : op;
  }
  if (SPAWNED_HEADS.has(head)) {
    const parent = hints.parentKey?.(sessionKey);
    if (parent && parent !== sessionKey && depth < 8) {
      // The parent's own channel (a per-peer parent key names none); failing that the
      // sub-agent's own channel hint. Never a route target of the child's entry.
      const channel = hints.channelOfKey?.(parent) ?? hints.channel ?? null;
      const r = resolve(
        agentOfKey(parent) ?? agentId,
        parent,
        {
          ...hints,
          channel,
          routeTargets: [],
          heartbeat: hints.heartbeatOfKey?.(parent) ?? false,
          // a parent DM keyed as its room (a Matrix per-room DM) names its user in its entry
          directChat: hints.directChatOfKey?.(parent) ?? null,
        },
        depth + 1,
      );
      return { ...r, via: `subagent>${r.via}` };
    }
    // a sub-agent in a chain whose own entry is gone (deleted after its run): what it was billed
    if (depth > 0 && !parent) {
      const remembered = hints.rememberedAccountOfKey?.(sessionKey);
      if (remembered && !isInternalSurface(remembered.split(":")[0]))
        return { accountId: remembered, via: "remembered" };
    }
    return op;
  }
  if (HTTP_USER_HEADS.has(head) && rest.length >= 2) {
    return { accountId: `${head}:${rest.slice(1).join(":").toLowerCase()}`, via: "openai-user" };
  }
  if (AUTOMATION.has(head)) return op;
  // A native slash command's isolated session, `<ch>:slash:<userId>` (Slack's `/openclaw`
  // command and native commands, Discord native commands; Telegram's before openclaw#38680 had
  // no `agent:<a>:` prefix): the invoking user's, whatever channel or group it was typed in.
  // A configured prefix first (it is known to be Slack's: `ops:slash`, `slack:slash:ops` would
  // otherwise read as another channel's or account's command), longest first.
  // A Control UI key whose id is the UUID OpenClaw gives it is the dashboard's even when a Slack
  // slash `sessionPrefix` is `dashboard` too: no Slack user id is a UUID (a tester's finding: such
  // a checkpoint branch was billed to the made-up account `slack:<uuid>`).
  if (OPERATOR_SURFACE_HEADS.has(head) && DASHBOARD_ID.test(rest[1] ?? ""))
    return { accountId: operatorAccount(agentId), via: "dashboard" };
  const slashUser = configuredSlashUser(rest, hints.slashPrefixes) ?? slashCommandUser(rest);
  if (slashUser) return linked(slashUser, "slash", hints);
  // The Control UI's own sessions, `dashboard:<uuid>` (`buildDashboardSessionKey`): the operator's,
  // whatever route the entry holds. A checkpoint branch of a user's DM
  // (`sessions.compaction.branch`) is such a key whose entry is a clone of the DM's (origin,
  // deliveryContext, lastTo): before 2026-12-03 the operator's turns there were billed to the DM's
  // user by that route (case `checkpoint-branch-copied-route`).
  if (OPERATOR_SURFACE_HEADS.has(head)) return { accountId: operatorAccount(agentId), via: "dashboard" };

  // `<ch>:direct:<peer>`, `<ch>:<account>:direct:<peer>`, `direct:<peer>`
  const dmAt = dmIndex(rest);
  if (dmAt >= 0) {
    // A threaded DM has its own session, `<dm key>:thread:<threadId>` (OpenClaw's
    // resolveThreadSessionKeys; thread ids may hold colons): the peer ends before that marker.
    const threadAt = rest.findIndex((p, i) => i > dmAt + 1 && THREAD_MARKERS.has(p.toLowerCase()));
    const peer = rest
      .slice(dmAt + 1, threadAt < 0 ? rest.length : threadAt)
      .join(":")
      .toLowerCase();
    const channel = dmAt > 0 ? rest[0]?.toLowerCase() : normalizeChannel(hints.channel);
    if (peer.length === 0) return op;
    // a linked person's DM is keyed by the canonical name, on every channel (identityLinks)
    const person = hints.identityLinks?.canonicals.get(peer);
    if (person !== undefined) return { accountId: person, via: "identity" };
    return linked(`${channel ?? "direct"}:${channel ? dmPeer(channel, peer) : peer}`, "dm", hints);
  }
  if (rest.some((p) => SHARED.has(p.toLowerCase()))) {
    // A one-to-one chat keyed as a room: Matrix's `dm.sessionScope: "per-room"` keys each DM room
    // `matrix:channel:<roomId>` (`resolveMatrixDmSessionKey`), its entry `chatType: "direct"`. Before
    // 2026-12-03 every such DM was billed to the operator while the plugin credited its user's top-ups
    // to `matrix:<userId>` (case `matrix-per-room-dm`).
    const roomUser = hints.directChat ? directRoomUser(rest, hints) : null;
    return roomUser ? linked(roomUser, "dm-room", hints) : op;
  }

  // An unfamiliar key shape: fall back to the route the session entry recorded, unless the entry
  // says the chat is a group or channel (its route names that chat: before 2026-12-04 a custom key
  // of a Telegram group became an account `telegram:-100…`, case `route-fallback-group-chat`).
  if (hints.sharedChat) return op;
  for (const target of hints.routeTargets ?? []) {
    const acct = routeToAccount(target, hints.channel);
    // a route to a group, channel or room (`slack:channel:c123`, a WhatsApp `…@g.us` group) is no
    // end user: before 2026-12-02 it became an account of that name; nor is one on OpenClaw's
    // own surfaces (`webchat:…`, the dashboard)
    if (acct && !namesSharedChat(acct) && !isInternalSurface(acct.split(":")[0]))
      return linked(acct, "route", hints);
  }
  return op;
}

/**
 * The channels that key a one-to-one chat as a room: Matrix (`dm.sessionScope: "per-room"`), as
 * the plugin's `isDmRoomKey` has them. Any other channel's room key stays the operator's whatever
 * its entry's `chatType` (before 2026-12-03, a Telegram, Discord, Slack or WhatsApp group key whose
 * entry said `direct` was billed to the entry's sender, while the plugin neither gated that sender
 * nor left the call to the meter: it pushed it to the operator; case `room-key-direct-other-channel`).
 */
const DM_ROOM_CHANNELS: ReadonlySet<string> = new Set(["matrix"]);

/**
 * The user of a one-to-one chat keyed as a room (`<ch>:channel:<roomId>` or `<ch>:group:<id>`, a
 * thread suffix too) whose entry records a direct chat ({@link SessionHints.directChat}): the DM
 * user the entry records, else the first route target naming a person on the key's
 * channel (`origin.from`, `matrix:@alice:example.org`), as the plugin names the sender
 * (`<channel>:<senderId>`); null when none does (the operator's, as before).
 */
function directRoomUser(rest: readonly string[], hints: SessionHints): string | null {
  const ch = normalizeChannel(rest[0]);
  const kind = rest[1]?.toLowerCase();
  if (!ch || !DM_ROOM_CHANNELS.has(ch) || (kind !== "channel" && kind !== "group")) return null;
  return directUserOn(ch, hints);
}

/**
 * The DM user a session entry that records a direct chat names on channel `channel` (its
 * `origin.nativeDirectUserId` / `origin.from`, else a route target naming a person there), or
 * null: none does, the channel is none or one of OpenClaw's own surfaces.
 */
function directUserOn(channel: string | undefined, hints: SessionHints): string | null {
  const ch = normalizeChannel(channel);
  if (!ch || isInternalSurface(ch)) return null;
  for (const target of [hints.directChat?.user, ...(hints.routeTargets ?? [])]) {
    const acct = routeToAccount(target, ch);
    if (acct?.startsWith(`${ch}:`) && !namesSharedChat(acct)) return acct;
  }
  return null;
}

/**
 * Whether `rest` (a key after `agent:<a>:`) is the operator's main session under a configured
 * `session.mainKey`: `<mainKey>` itself, or a Slack Enterprise Grid workspace's main DM session
 * `<mainKey>:account:<accountId>:team:<teamId>` (OpenClaw's `resolveSlackEnterpriseMainDmSessionKey`,
 * openclaw/openclaw#102372, #121373: under `dmScope: "main"` each workspace's DMs share one session
 * named so), with a thread suffix too. Before 2026-12-03 such a Grid session was an unfamiliar key
 * and billed to whoever wrote last (its entry's route), every user's DMs of the workspace included
 * (case `slack-grid-main-dm-custom-main-key`). With the default `main` the `main` head already is.
 */
function isMainSession(rest: readonly string[], mainKey: string): boolean {
  const joined = rest.join(":").toLowerCase();
  if (joined === mainKey) return true;
  if (!joined.startsWith(`${mainKey}:`)) return false;
  return /^account:[^:]+:team:[^:]+(?::(?:thread|topic):.*)?$/.test(joined.slice(mainKey.length + 1));
}

/**
 * Whether a resolution wins over the meter's memory of the session (`meter_sessions`, the account
 * it was billed to before): a linked person ({@link isIdentity}), or the operator's dashboard
 * session by its key alone (`via` `dashboard`: a checkpoint branch of a DM was billed to the DM's
 * user by its copied route before 2026-12-03), or the operator's main session under a configured
 * `session.mainKey` (`via` `main-key`, {@link isMainSession}: a Slack Grid workspace's main DM
 * session was billed to its last writer before 2026-12-03), or a WhatsApp LID's number (`via`
 * `whatsapp-lid`: a session remembered under `whatsapp:<lid>@lid` bills the number once it is known),
 * or an id made storable ({@link storableAccountId}: a session remembered under the id with spaces,
 * whose calls were held, bills the storable id).
 */
export function overridesMemory(r: Resolution): boolean {
  return (
    isIdentity(r) ||
    r.via === "dashboard" ||
    r.via === "main-key" ||
    r.via === "whatsapp-lid" ||
    r.fitted === true
  );
}

/** Whether a resolution names a linked person (`identity`, also at the root of a spawn chain). */
export function isIdentity(r: Resolution): boolean {
  return r.via === "identity" || r.via.endsWith(">identity");
}

/** `accountId` decided `via`, or its linked person's account when its id is linked ({@link linkedAccount}). */
function linked(accountId: string, via: string, hints: SessionHints): Resolution {
  const person = linkedAccount(accountId, hints.identityLinks);
  return person ? { accountId: person, via: "identity" } : { accountId, via };
}

/**
 * Where the `direct`/`dm` word of a DM key is in `rest` (the key after `agent:<a>:`), or -1 when
 * the key is no DM: `<ch>:direct:<peer>` (1), `<ch>:<accountId>:direct:<peer>` (2,
 * per-account-channel-peer), `direct:<peer>` (0). An account id is any word OpenClaw's
 * `normalizeAccountId` keeps (`[a-z0-9_-]`), a kind word too: before 2026-12-03 the DMs of an
 * account named `group`, `channel`, `thread`, `topic` or `room` were billed to the operator and
 * those of one named `direct` or `dm` to `<ch>:direct:<peer>` (case `account-id-kind-word`).
 */
function dmIndex(rest: readonly string[]): number {
  const lower = rest.map((p) => p.toLowerCase());
  const head = lower[0] ?? "";
  if (lower.length >= 4 && DM.has(lower[2] ?? "") && isChannelWord(head)) return 2;
  const at = lower.findIndex((p) => DM.has(p));
  if (at < 0 || at > 2 || lower.length <= at + 1 || lower.slice(0, at).some((p) => SHARED.has(p))) return -1;
  return at;
}

/** A key's first word that can be a channel's name (no kind, automation or HTTP-user word). */
function isChannelWord(word: string): boolean {
  return (
    /^[a-z0-9_-]+$/.test(word) &&
    !DM.has(word) &&
    !SHARED.has(word) &&
    !AUTOMATION.has(word) &&
    !HTTP_USER_HEADS.has(word)
  );
}

/**
 * `<base key>:heartbeat`: OpenClaw's isolated heartbeat run of a base session
 * (`heartbeat.isolatedSession`, openclaw/openclaw#46634; the base is `heartbeat.session` or the
 * session a wake names, a user's DM too), repeated `:heartbeat:heartbeat…` by the suffix
 * accumulation of openclaw/openclaw#59493. A `heartbeat` that is a DM's peer, a thread's id or an
 * OpenAI-compatible user (right after `direct`/`dm`/`thread`/`topic`/`openai-user`) is not the suffix.
 */
function isIsolatedHeartbeat(rest: readonly string[]): boolean {
  const n = rest.length;
  let end = n;
  while (end > 1 && rest[end - 1]?.toLowerCase() === "heartbeat") end--;
  if (end === n) return false;
  // An OpenAI-compatible user is whatever the caller sends (`openai-user:${user.trim()}`): a user
  // `alice:heartbeat` is not the suffix. Such a session's isolated heartbeat run is told by its
  // entry's marker (`heartbeatIsolatedBaseSessionKey`, OpenClaw ≥2026.4), never by its key.
  if (rest.slice(0, end).some((p) => HTTP_USER_HEADS.has(p.toLowerCase()))) return false;
  const before = rest[end - 1]?.toLowerCase() ?? "";
  if (DM.has(before) || THREAD_MARKERS.has(before) || HTTP_USER_HEADS.has(before)) end++;
  return end < n;
}

/**
 * `<ch>:slash:<userId>` → `<ch>:<userId>` (the user a native slash command's session is keyed by),
 * else null. `<ch>:slash:direct:<peer>` is a per-account-channel-peer DM of an account named
 * `slash` (and `<ch>:slash:group:<id>` no user at all), not a slash command's session.
 */
function slashCommandUser(rest: readonly string[]): string | null {
  const ch = rest[0]?.toLowerCase() ?? "";
  if (rest.length < 3 || rest[1]?.toLowerCase() !== "slash" || !/^[a-z0-9_-]+$/.test(ch)) return null;
  if (SHARED.has(ch) || DM.has(ch)) return null;
  const next = rest[2]?.toLowerCase() ?? "";
  if (DM.has(next) || SHARED.has(next)) return null;
  const user = rest.slice(2).join(":").toLowerCase();
  return user ? `${ch}:${user}` : null;
}

/**
 * `<prefix>:<userId>` under a configured slash-command session prefix → `<channel>:<userId>`, else
 * null. OpenClaw keys the session `agent:<a>:${sessionPrefix}:${userId}`, lower-cased
 * (`resolveNativeCommandSessionTargets`). The user id is the rest of the key, colons and all: an
 * Enterprise Grid install keys the user `team:<teamId>:user:<userId>` (a tester, 2026-12-02), as
 * its DMs and the default prefix's sessions are keyed; a rest holding a DM, group, channel or
 * thread word is no slash command (`slack:ops:direct:<peer>` under a prefix `slack:ops`, a
 * threaded key). Longest prefix first (`ask:ops` before
 * `ask`). A prefix whose first word is one of the key words this resolver reads first
 * ({@link isReservedSlashPrefix}) is never used: `direct` would take every channel's per-peer DM.
 */
function configuredSlashUser(
  rest: readonly string[],
  prefixes: SessionHints["slashPrefixes"],
): string | null {
  if (!prefixes?.length) return null;
  const joined = rest.join(":").toLowerCase();
  let best: { prefix: string; channel: string } | null = null;
  for (const p of prefixes) {
    if (!p.prefix || !joined.startsWith(`${p.prefix}:`) || isReservedSlashPrefix(p.prefix)) continue;
    if (!best || p.prefix.length > best.prefix.length) best = p;
  }
  if (!best) return null;
  const user = joined.slice(best.prefix.length + 1);
  // A DM, group, channel or thread key under the prefix (a prefix `slack:ops` is also the shape of
  // account ops's own `slack:ops:direct:<peer>` keys) is that kind of key, read as such below.
  if (user.split(":").some((p) => DM.has(p) || SHARED.has(p))) return null;
  const ch = normalizeChannel(best.channel);
  return ch && user ? `${ch}:${user}` : null;
}

/**
 * Whether a configured slash-command session prefix starts with a word the resolver reads as a
 * key of its own kind (`direct`, `dm`, `group`, `channel`, `cron`, `subagent`, `main`,
 * `heartbeat`, `openai-user`...): such a key is ambiguous, and the built-in reading wins, so a
 * prefix `direct` never takes a Telegram user's per-peer DM `direct:<peer>`. Documented in
 * README ("Who pays"). The plugin pushes no call of a session under any configured prefix.
 */
export function isReservedSlashPrefix(prefix: string): boolean {
  const first = prefix.split(":")[0] ?? "";
  return AUTOMATION.has(first) || HTTP_USER_HEADS.has(first) || SHARED.has(first) || DM.has(first);
}

/**
 * A route account that names a group, channel or room rather than a person: a kind word
 * (`slack:channel:…`), a WhatsApp group, newsletter (channel) or broadcast JID (`…@g.us`,
 * `…@newsletter`, `status@broadcast`), or a Telegram chat id below zero (Telegram gives groups,
 * supergroups and channels negative ids, `-100…`; a user's id, a DM's chat id, is positive). Before
 * 2026-12-04 the last two became accounts nobody tops up (case `route-fallback-group-chat`).
 */
function namesSharedChat(acct: string): boolean {
  const parts = acct.split(":");
  return (
    parts.slice(0, 2).some((p) => SHARED.has(p)) ||
    /@(?:g\.us|newsletter|broadcast)$/.test(acct) ||
    (parts[0] === "telegram" && /^-\d/.test(parts[1] ?? ""))
  );
}

/**
 * OpenClaw's own surfaces, never an end user's channel: the Control UI / WebChat
 * (`INTERNAL_MESSAGE_CHANNEL = "webchat"`, also the channel of inter-session `sessions_send`
 * turns), the gateway's `internal`/`default`, the terminal UI, the governance dashboard, and the
 * non-delivery trigger channels (`INTERNAL_NON_DELIVERY_CHANNELS`: heartbeat, cron, webhook, voice,
 * sessions_send). Opening a user's DM in the dashboard or messaging it from another session set
 * the entry's `lastChannel`/`deliveryContext.channel` to `webchat` (openclaw/openclaw#47745,
 * #54441, #23258), and a `per-peer` DM (`direct:<peer>`, no channel in its key) was then billed to
 * `webchat:<peer>`, an account nobody tops up.
 */
const INTERNAL_SURFACES: ReadonlySet<string> = new Set([
  "webchat",
  "internal",
  "default",
  "unknown",
  "tui",
  "governance",
  "heartbeat",
  "cron",
  "webhook",
  "voice",
  "sessions_send",
]);

/** Whether a channel name is one of OpenClaw's own surfaces ({@link INTERNAL_SURFACES}), not a user's. */
export function isInternalSurface(ch: string | null | undefined): boolean {
  return INTERNAL_SURFACES.has(ch?.trim().toLowerCase() ?? "");
}

/**
 * Whether the meter's memory of a session (`meter_sessions`) names one of OpenClaw's own surfaces,
 * as its channel or its account's channel part: written before 2026-12-02, when a per-peer DM the
 * dashboard touched was billed to `webchat:<peer>`. Such a memory is resolved again.
 */
export function remembersInternalSurface(
  channel: string | null | undefined,
  accountId: string | null | undefined,
): boolean {
  return isInternalSurface(channel) || isInternalSurface(accountId?.split(":")[0]);
}

/**
 * A channel hint as an account's channel: lower-cased, or null when it is not a channel name or
 * is one of OpenClaw's own surfaces (`webchat`...: {@link INTERNAL_SURFACES}).
 */
export function normalizeChannel(ch: string | null | undefined): string | null {
  const c = ch?.trim().toLowerCase();
  return c && /^[a-z0-9_-]+$/.test(c) && !INTERNAL_SURFACES.has(c) ? c : null;
}

/**
 * The channel of a session from its entry's hints, most specific first: the first that names a
 * messaging channel, skipping OpenClaw's own surfaces (`webchat` after the dashboard touched the
 * session, `heartbeat`...), then the channel a route target names (`telegram:5550101` →
 * `telegram`). Null when none does.
 */
export function sessionChannel(
  channels: readonly (string | null | undefined)[],
  targets: readonly (string | null | undefined)[] = [],
): string | null {
  for (const c of channels) {
    const ch = normalizeChannel(c);
    if (ch) return ch;
  }
  for (const t of targets) {
    const text = t?.trim() ?? "";
    // a JID with a device (`15551234567:12@s.whatsapp.net`) names no channel
    if (/^\+?\d+(?::\d+)?@/.test(text)) continue;
    const m = /^([a-z0-9_-]+):./i.exec(text);
    const head = m?.[1]?.toLowerCase();
    // a target kind (`user:U07ABC`, `channel:…`, `chat:…`) or a number is no channel either;
    // a Signal sender `uuid:<uuid>` names Signal
    if (!head || TARGET_KINDS.has(head) || /^\d+$/.test(head)) continue;
    const ch = normalizeChannel(head === "tg" ? "telegram" : head === "uuid" ? "signal" : head);
    if (ch) return ch;
  }
  return null;
}

/**
 * Prefixes of route targets that name the kind of target, not a channel: OpenClaw's Slack,
 * Discord, Mattermost and Teams targets are `user:<id>` / `channel:<id>`, Feishu's `chat:<id>`
 * (before 2026-12-02 a per-peer DM whose only channel hint was `webchat` billed `user:<peer>`).
 */
const TARGET_KINDS: ReadonlySet<string> = new Set([
  "user",
  "users",
  "channel",
  "chat",
  "group",
  "thread",
  "room",
  "dm",
  "direct",
  "conversation",
  "topic",
  "space",
  "team",
  "guild",
  "peer",
  // QQ's private chat: OpenClaw's qqbot targets are `qqbot:c2c:<openid>` (a DM, chatType direct),
  // `qqbot:group:<openid>`, `qqbot:channel:<id>` (extensions/qqbot `parseExplicitTarget`)
  "c2c",
  // iMessage's and BlueBubbles' chat targets (`CHAT_ID_PREFIXES`, `CHAT_GUID_PREFIXES`,
  // `CHAT_IDENTIFIER_PREFIXES` in extensions/imessage/src/targets.ts): a group chat, no person
  // (before 2026-12-04 `imessage:chat_id:42` became an account, case `route-fallback-group-chat`)
  "chat_id",
  "chatid",
  "chat_guid",
  "chatguid",
  "guid",
  "chat_identifier",
  "chatidentifier",
  "chatident",
]);

/**
 * The {@link TARGET_KINDS} that name one person (a DM target, `user:U07ABC`), whose id is an
 * account on the session's channel; the others name a shared chat or a container.
 */
const PERSON_TARGET_KINDS: ReadonlySet<string> = new Set(["user", "users", "dm", "direct", "peer", "c2c"]);

/**
 * A sender or route id as OpenClaw's DM peer on its channel, so a sender names the account its DMs
 * bill. WhatsApp keys a DM by the sender's E.164 number (`resolvePeerId`: `normalizeE164`, or
 * `jidToE164` of a `<digits>[:<device>]@s.whatsapp.net` JID), while a message's `SenderId` is the
 * sender's JID (`msg.senderJid?.trim() || msg.senderE164`), which a command's `senderId` carries:
 * `15551234567@s.whatsapp.net`, `15551234567:12@s.whatsapp.net`, `15551234567@c.us`, bare digits
 * → `+15551234567`. A `@lid` JID names no number without WhatsApp's mapping and is kept.
 *
 * iMessage keys a DM by the sender's handle as `normalizeIMessageHandle` writes it (a service
 * prefix `imessage:`/`sms:`/`auto:` dropped, an email lower-cased, a phone number in E.164 by
 * `normalizeE164`: digits and a leading `+`), while a message's `SenderId` is the raw handle
 * chat.db gave (`SenderId: decision.sender`): `15550101234`, `+1 (555) 010-1234`, `sms:+15550101234`
 * → `+15550101234` ({@link imessagePeer}; before 2026-12-03 the plugin credited `imessage:15550101234`,
 * case `imessage-sender-handle`).
 *
 * IRC keys a DM by the sender's nick (`extensions/irc/src/inbound.ts`: `peer.id` is
 * `message.senderNick`), while a message's `SenderId` (and `From`) is the full prefix
 * `nick!user@host` when the server sent one: `Alice!~alice@host.example` → `alice` ({@link ircPeer};
 * before 2026-12-04 the plugin credited `irc:alice!~alice@host.example`, case `irc-sender-prefix`).
 */
export function dmPeer(channel: string, peer: string): string {
  if (channel === "imessage") return imessagePeer(peer);
  if (channel === "irc") return ircPeer(peer);
  if (channel !== "whatsapp") return peer;
  const jid = /^\+?(\d+)(?::\d+)?@(?:s\.whatsapp\.net|c\.us|hosted)$/.exec(peer);
  if (jid?.[1]) return `+${jid[1]}`;
  return /^\+?\d+$/.test(peer) ? `+${peer.replace(/^\+/, "")}` : peer;
}

/**
 * An iMessage handle as OpenClaw's DM peer (`normalizeIMessageHandle` in
 * `extensions/imessage/src/targets.ts`, Clawdbot's `src/imessage/targets.ts`): service prefixes
 * (`imessage:`, `sms:`, `auto:`) dropped, a phone number (digits with `+`, spaces, dots, dashes and
 * parentheses) as `+<digits>` (`normalizeE164`); anything else, an email or a chat target, as given
 * (already lower-cased by the callers, as OpenClaw's session keys are).
 */
function imessagePeer(peer: string): string {
  let h = peer.trim();
  for (let m = /^(?:imessage|sms|auto):/i.exec(h); m; m = /^(?:imessage|sms|auto):/i.exec(h))
    h = h.slice(m[0].length).trim();
  if (!/^\+?[\d\s().-]*\d[\d\s().-]*$/.test(h)) return h || peer;
  return `+${h.replace(/\D/g, "")}`;
}

/**
 * An IRC sender as OpenClaw's DM peer: the nick of a full message prefix `nick!user@host` (OpenClaw's
 * IRC `SenderId` is `${senderNick}!${senderUser ?? "?"}@${senderHost}` when the server names a host,
 * its DM key `irc:direct:<nick>`); a bare nick as given. A nick holds no `!` or `@` (RFC 2812).
 */
function ircPeer(peer: string): string {
  const m = /^([^!@\s]+)![^@\s]*@\S+$/.exec(peer.trim());
  return m?.[1] ?? peer;
}

/**
 * `telegram:5550101` → itself; a bare `5550101` with channel `telegram` → `telegram:5550101`; a
 * WhatsApp JID as its DM peer (`whatsapp:15551234567@s.whatsapp.net` → `whatsapp:+15551234567`,
 * {@link dmPeer}: before 2026-12-02 a command's WhatsApp sender named another account than its DMs).
 * A target whose head is a target *kind* (OpenClaw's Slack, Discord, Mattermost and Teams targets)
 * is no channel: a person's (`user:U07ABC`, `dm:`, `direct:`, `peer:`) is that id on `channel`
 * (`slack:u07abc`), anything else (`channel:C0123`, `chat:`, `group:`...) no account at all (null).
 * Behind a channel name likewise (`discord:user:987` → `discord:987`, `slack:channel:C1` → null).
 * Before 2026-12-02 `user:U07ABC` became an account `user:u07abc` nobody tops up.
 * A Signal sender `uuid:<uuid>` (OpenClaw's Signal `SenderId` and DM peer for a sender whose number
 * is hidden) is `signal:uuid:<uuid>`, and an id with a numeric head (Teams' `29:<id>`) that id on
 * `channel`: before 2026-12-03 each was read as a channel (`uuid:<uuid>`, `29:<id>`), so a
 * session-less `/recargar` credited an account no DM of the sender bills (case `signal-uuid-sender`).
 */
export function routeToAccount(target: string | null | undefined, channel?: string | null): string | null {
  const t = target?.trim().toLowerCase();
  if (!t) return null;
  // a JID with a device (`15551234567:12@s.whatsapp.net`) is a bare id, not `<channel>:<id>`
  const m = /^\+?\d+(?::\d+)?@[a-z0-9.]+$/.test(t) ? null : /^([a-z0-9_-]+):(.+)$/.exec(t);
  const ch = normalizeChannel(channel);
  // a sender id with a kind of its own is an id, never `<channel>:<id>`: Signal's `uuid:<uuid>`
  // (`formatSignalSenderId`, its DM peer too), Teams' `29:<id>` (a number is no channel)
  if (m?.[1] && (m[1] === "uuid" || /^\d+$/.test(m[1]))) {
    if (ch) return `${ch}:${dmPeer(ch, t)}`;
    return m[1] === "uuid" ? `signal:${t}` : null;
  }
  // a Slack Enterprise Grid user, `team:<teamId>:user:<userId>` (OpenClaw's `qualifySlackRoutePeerId`,
  // the peer of a Grid DM key), bare or behind its channel: before 2026-12-03 the `team` kind read
  // as a shared chat named no account ({@link slackGridUser})
  const grid = slackGridUser(t, ch);
  if (grid) return grid;
  if (m?.[1] && m[2]) {
    if (TARGET_KINDS.has(m[1])) {
      if (!PERSON_TARGET_KINDS.has(m[1])) return null;
      return ch ? `${ch}:${dmPeer(ch, m[2])}` : null;
    }
    // an iMessage sender with its service (`sms:+15550101234`) is that handle on iMessage
    if (ch === "imessage" && (m[1] === "sms" || m[1] === "auto")) return `${ch}:${dmPeer(ch, t)}`;
    const named = m[1] === "tg" ? "telegram" : m[1];
    // `<channel>:<kind>:<id>` (OpenClaw's own delivery targets: `discord:user:987`,
    // `slack:user:U07ABC`): a person's kind is that id on the channel, a shared one no account
    const k = /^([a-z0-9_-]+):(.+)$/.exec(m[2]);
    if (k?.[1] && k[2] && TARGET_KINDS.has(k[1]))
      return PERSON_TARGET_KINDS.has(k[1]) ? `${named}:${dmPeer(named, k[2])}` : null;
    return `${named}:${dmPeer(named, m[2])}`;
  }
  return ch ? `${ch}:${dmPeer(ch, t)}` : null;
}

/**
 * `team:<teamId>:user:<userId>` or `<channel>:team:<teamId>:user:<userId>` (a Slack Enterprise Grid
 * user as OpenClaw keys its DMs, `agent:<a>:slack:direct:team:<t>:user:<u>`) → `<channel>:team:<t>:user:<u>`,
 * the channel the target names, else `channel`, else `slack` (only Slack qualifies ids so); null for
 * any other target.
 */
function slackGridUser(target: string, channel: string | null): string | null {
  const g = /^(?:([a-z0-9_-]+):)?(team:[^:]+:user:[^:]+)$/.exec(target);
  if (!g?.[2] || (g[1] && (TARGET_KINDS.has(g[1]) || INTERNAL_SURFACES.has(g[1])))) return null;
  return `${g[1] ?? channel ?? "slack"}:${g[2]}`;
}
