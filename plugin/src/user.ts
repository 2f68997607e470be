import { createHash } from "node:crypto";

/**
 * Who is billed: the same account names creditgate's meter uses (COPY of the rules in
 * `src/meter/resolve-user.ts`, `resolveAccount`/`routeToAccount`; test/push.test.ts checks the
 * copy against the original when the repo is present).
 *
 * A DM session key names the end user: `agent:<a>:<ch>:direct:<peer>` (older `:dm:`),
 * `agent:<a>:<ch>:<account>:direct:<peer>`, `agent:<a>:direct:<peer>` (channel from hints),
 * `agent:<a>:openai-user:<user>`; a DM thread's key adds `:thread:<threadId>` and names the same
 * user. With `session.identityLinks` a linked person's DMs are keyed by the canonical name on every
 * channel, and they and every account whose channel id is linked are the one account `<name>`
 * ({@link IdentityLinks}). Everything else (main, cron, hooks, groups...) is the
 * operator's own account `agent:<agentId>`.
 */

const AUTOMATION = new Set(["main", "cron", "hook", "heartbeat", "subagent", "acp", "node", "global"]);
/**
 * The session heads of OpenClaw's HTTP endpoints called with a `user` (`<prefix>-user:<user>`,
 * gateway http-utils): the OpenAI-compatible Chat Completions endpoint (`openai-user`) and the
 * OpenResponses `/v1/responses` endpoint (`openresponses-user`). Each names its own account,
 * `<head>:<user>`, as OpenClaw keeps each endpoint's sessions apart.
 */
const HTTP_USER_HEADS: ReadonlySet<string> = new Set(["openai-user", "openresponses-user"]);
const SHARED = new Set(["group", "channel", "room", "thread", "topic"]);
const DM = new Set(["direct", "dm"]);
/** Segments that start a DM session key's thread suffix (`…:direct:<peer>:thread:<id>`). */
const THREAD_MARKERS = new Set(["thread", "topic"]);

export const operatorAccount = (agentId: string) => `agent:${agentId}`;

export function agentOfKey(sessionKey: string | null | undefined): string | null {
  if (!sessionKey) return null;
  const parts = sessionKey.split(":");
  return parts[0] === "agent" && parts[1] ? parts[1] : null;
}

export interface Resolution {
  accountId: string;
  /** `dm`, `openai-user`, `slash`, `identity`, `heartbeat`, `whatsapp-lid`, `operator`, `unknown-session`. */
  via: string;
}

/**
 * OpenClaw's `session.identityLinks` (the meter's copy): `{ "<canonical>": ["<channel>:<peerId>" |
 * "<peerId>", ...] }`. OpenClaw keys a linked person's DM by the canonical name, lower-cased, on every
 * channel (`resolveLinkedPeerId`, openclaw/openclaw#1033); the person is the one account
 * {@link personAccountId} of the name.
 */
export interface IdentityLinks {
  /** Canonical names (trimmed, lower-cased, as in a DM's session key) that list an id → the person's account id. */
  readonly canonicals: ReadonlyMap<string, string>;
  /** A linked id (lower-cased; `<channel>:<peer>` in its DM peer form) → its person's account id and config order. */
  readonly byId: ReadonlyMap<string, { name: string; order: number }>;
}

/**
 * A linked person's account id (the meter's `personAccountId`): the canonical name trimmed and
 * lower-cased, white space, control and invisible characters and `%` percent-encoded as UTF-8
 * (`Alice Smith` → `alice%20smith`), past 200 characters cut to 183 with `~` and 16 hex digits of
 * its SHA-256; null when blank.
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
  return /^[^\s\p{Cc}\p{Cf}\p{Cs}]{1,200}$/u.test(fitted) ? fitted : null;
}

/**
 * A `session.identityLinks` value as {@link IdentityLinks}, or null when it links nothing (the
 * meter's `parseIdentityLinks`): blank names, non-list ids, blank ids and names that read as the
 * operator's own account (`agent:…`) are ignored; an id under two names is the first's.
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
 * The linked person's account of an end user's account `<channel>:<peer>` (or `direct:<peer>`),
 * else null: the name whose ids list `<channel>:<peer>` or the bare `<peer>`, the first in config
 * order when both match.
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

/** `accountId` decided `via`, or its linked person's account ({@link linkedAccount}). */
function linked(accountId: string, via: string, links: IdentityLinks | null | undefined): Resolution {
  const person = linkedAccount(accountId, links);
  return person ? { accountId: person, via: "identity" } : { accountId, via };
}

/**
 * The host config's `session.identityLinks` ({@link parseIdentityLinks}), or null (none, or no
 * config).
 */
export function configuredIdentityLinks(hostConfig: unknown): IdentityLinks | null {
  const session = (hostConfig as { session?: unknown } | null | undefined)?.session;
  return session && typeof session === "object" && !Array.isArray(session)
    ? parseIdentityLinks((session as Record<string, unknown>).identityLinks)
    : null;
}

/**
 * A WhatsApp LID (the digits of a `<lid>@lid` JID) → the person's E.164 number, or null (the meter's
 * `WhatsAppLidResolver`): OpenClaw reads Baileys' `lid-mapping-<lid>_reverse.json` and keys a DM by the
 * number, but a DM that came before the mapping was saved is keyed by the LID.
 */
export type WhatsAppLidResolver = (lid: string) => string | null;

/** The host's LID mappings ({@link useWhatsAppLidResolver}); none until the plugin registers. */
let whatsappLid: WhatsAppLidResolver | null = null;

/**
 * Sets the WhatsApp LID mappings the plugin names accounts with (`whatsapp-lid.ts`, over the gateway's
 * state dir), or none (null); returns the previous one.
 */
export function useWhatsAppLidResolver(r: WhatsAppLidResolver | null): WhatsAppLidResolver | null {
  const prev = whatsappLid;
  whatsappLid = r;
  return prev;
}

/** A WhatsApp account named by a LID JID: `whatsapp:<lid>[:<device>]@lid` (or `@hosted.lid`). */
const WHATSAPP_LID_ACCOUNT = /^whatsapp:(\d+)(?::\d+)?@(?:lid|hosted\.lid)$/;

/**
 * `whatsapp:<lid>@lid` → `whatsapp:+<number>` when `lid` maps a number, or that number's linked
 * person; null for any other account or an unmapped LID (the meter's `whatsappLidAccount`). Before
 * 2026-12-04 the DM keyed by the LID and the DM keyed by the number were two accounts (case
 * `whatsapp-lid-sender`).
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
 * The meter's `resolveAccount` without sub-agent parent lookups (the plugin has no session index);
 * `identityLinks` the host's `session.identityLinks` ({@link configuredIdentityLinks}); a WhatsApp DM
 * keyed by a LID whose number the host's mappings know is the number's ({@link useWhatsAppLidResolver}).
 */
export function resolveAccount(
  agentId: string,
  sessionKey: string | null | undefined,
  channelHint?: string | null,
  identityLinks?: IdentityLinks | null,
): Resolution {
  const r = resolveKey(agentId, sessionKey, channelHint, identityLinks);
  const mapped = whatsappLidAccount(r.accountId, whatsappLid, identityLinks);
  const out = mapped ? { accountId: mapped.accountId, via: mapped.person ? "identity" : "whatsapp-lid" } : r;
  return { ...out, accountId: storableAccountId(out.accountId) };
}

/** What an account id may be (the meter's `ACCOUNT_ID_RE`). */
const ACCOUNT_ID = /^[^\s\p{Cc}\p{Cf}\p{Cs}]{1,200}$/u;

/**
 * An account id as creditgate can hold it (the meter's `storableAccountId`): itself when it can;
 * else white space, control and invisible characters and `%` percent-encoded as UTF-8, past 200
 * characters cut to 183 with `~` and 16 hex digits of its SHA-256. An OpenAI-compatible `user` of
 * `john smith` or a Nextcloud Talk user id with a space is `…:john%20smith`: before 2026-12-04 the
 * API refused such an id, so the user's `/recargar` failed and the meter held every call (case
 * `account-id-with-spaces`). An id with a lone UTF-16 surrogate is left as it is.
 */
export function storableAccountId(id: string): string {
  if (ACCOUNT_ID.test(id) || /\p{Cs}/u.test(id) || id.length === 0) return id;
  const enc = id.replace(/[\s\p{Cc}\p{Cf}%]/gu, (c) => encodeURIComponent(c));
  const points = [...enc];
  const fitted =
    points.length <= 200
      ? enc
      : `${points.slice(0, 183).join("")}~${createHash("sha256").update(enc).digest("hex").slice(0, 16)}`;
  return ACCOUNT_ID.test(fitted) ? fitted : id;
}

function resolveKey(
  agentId: string,
  sessionKey: string | null | undefined,
  channelHint?: string | null,
  identityLinks?: IdentityLinks | null,
): Resolution {
  const op = { accountId: operatorAccount(agentId), via: "operator" };
  if (!sessionKey) return { accountId: operatorAccount(agentId), via: "unknown-session" };
  const parts = sessionKey.split(":");
  const rest = parts[0] === "agent" ? parts.slice(2) : parts;
  const head = rest[0]?.toLowerCase();
  if (!head) return op;
  // `<base key>:heartbeat`: an isolated heartbeat run, the operator's even on a user's DM
  if (isIsolatedHeartbeat(rest)) return { accountId: operatorAccount(agentId), via: "heartbeat" };
  if (HTTP_USER_HEADS.has(head) && rest.length >= 2) {
    return { accountId: `${head}:${rest.slice(1).join(":").toLowerCase()}`, via: "openai-user" };
  }
  if (AUTOMATION.has(head)) return op;
  // A native slash command's isolated session, `<ch>:slash:<userId>` (Slack's `/openclaw`
  // command and native commands, Discord native commands; Telegram's before openclaw#38680 had
  // no `agent:<a>:` prefix): the invoking user's, whatever channel or group it was typed in.
  const slashUser = slashCommandUser(rest);
  if (slashUser) return linked(slashUser, "slash", identityLinks);
  const dmAt = dmIndex(rest);
  if (dmAt >= 0) {
    // A threaded DM has its own session, `<dm key>:thread:<threadId>` (OpenClaw's
    // resolveThreadSessionKeys; thread ids may hold colons): the peer ends before that marker.
    const threadAt = rest.findIndex((p, i) => i > dmAt + 1 && THREAD_MARKERS.has(p.toLowerCase()));
    const peer = rest
      .slice(dmAt + 1, threadAt < 0 ? rest.length : threadAt)
      .join(":")
      .toLowerCase();
    const channel = dmAt > 0 ? rest[0]?.toLowerCase() : normalizeChannel(channelHint);
    if (peer.length === 0) return op;
    // a linked person's DM is keyed by the canonical name, on every channel (identityLinks)
    const person = identityLinks?.canonicals.get(peer);
    if (person !== undefined) return { accountId: person, via: "identity" };
    return linked(`${channel ?? "direct"}:${channel ? dmPeer(channel, peer) : peer}`, "dm", identityLinks);
  }
  return op;
}

/**
 * Where the `direct`/`dm` word of a DM key is in `rest` (the key after `agent:<a>:`), or -1 when
 * the key is no DM (the meter's copy): `<ch>:direct:<peer>` (1), `<ch>:<accountId>:direct:<peer>` (2,
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
 * `<base key>:heartbeat` (repeated by openclaw/openclaw#59493): OpenClaw's isolated heartbeat run
 * of a base session; a `heartbeat` right after `direct`/`dm`/`thread`/`topic`/`openai-user` is a peer,
 * thread id or user.
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
 * OpenClaw's own surfaces, never an end user's channel (the meter's `INTERNAL_SURFACES`): the
 * Control UI / WebChat (`webchat`, also inter-session `sessions_send` turns), `internal`,
 * `default`, the terminal UI, the governance dashboard, and the trigger channels heartbeat, cron,
 * webhook, voice, sessions_send. A `per-peer` DM whose entry says `webchat` (the dashboard touched
 * it, openclaw/openclaw#47745) was billed to `webchat:<peer>`.
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

/** A channel hint as an account's channel; null for a non-name or one of OpenClaw's own surfaces. */
export function normalizeChannel(ch: string | null | undefined): string | null {
  const c = ch?.trim().toLowerCase();
  return c && /^[a-z0-9_-]+$/.test(c) && !INTERNAL_SURFACES.has(c) ? c : null;
}

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
 * Prefixes of route targets that name the kind of target, not a channel (the meter's
 * `TARGET_KINDS`): OpenClaw's Slack, Discord, Mattermost and Teams targets are `user:<id>` /
 * `channel:<id>`, Feishu's `chat:<id>`.
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
  // QQ's private chat: OpenClaw's qqbot targets are `qqbot:c2c:<openid>` (a DM, chatType direct)
  "c2c",
  // iMessage's and BlueBubbles' chat targets (a group chat, no person)
  "chat_id",
  "chatid",
  "chat_guid",
  "chatguid",
  "guid",
  "chat_identifier",
  "chatidentifier",
  "chatident",
]);

/** The {@link TARGET_KINDS} that name one person, whose id is an account on the session's channel. */
const PERSON_TARGET_KINDS: ReadonlySet<string> = new Set(["user", "users", "dm", "direct", "peer", "c2c"]);

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

/**
 * Channels that key a one-to-one chat as a room: Matrix's `dm.sessionScope: "per-room"` keys each
 * DM room `matrix:channel:<roomId>` (`resolveMatrixDmSessionKey`; a DM bound through its room is
 * keyed so too), as it keys its group rooms. The meter bills such a session to the DM's user by its
 * entry's `chatType: "direct"` (case `matrix-per-room-dm`); the key alone names no payer.
 */
const DM_ROOM_CHANNELS: ReadonlySet<string> = new Set(["matrix"]);

/**
 * Whether a session key is a room of a channel that keys DMs as rooms ({@link DM_ROOM_CHANNELS}:
 * `agent:<a>:matrix:channel:<roomId>`, a thread suffix too): a DM room or a group room, which only
 * the session's entry (or the turn's own chat type) tells apart.
 */
export function isDmRoomKey(sessionKey: string | null | undefined): boolean {
  if (!sessionKey) return false;
  const parts = sessionKey.split(":");
  const rest = (parts[0] === "agent" ? parts.slice(2) : parts).map((p) => p.toLowerCase());
  return DM_ROOM_CHANNELS.has(rest[0] ?? "") && (rest[1] === "channel" || rest[1] === "group");
}

/**
 * The payer of a session when its key alone decides it, as the meter would bill it; null when the
 * meter reads the payer from the session's entry, which a hook does not see:
 * - no key (the meter bills the transcript's session by its own key);
 * - a sub-agent, `subagent:<id>`, or an ACP harness session, `acp:<id>` (the meter bills the root
 *   of its spawn chain, a user's DM too; an ACP session spawned by none, the IDE bridge's, the operator);
 * - a `per-peer` DM, `direct:<peer>` (the channel is the entry's);
 * - an OpenAI-compatible / OpenResponses user ending in `:heartbeat` (the user `alice:heartbeat`,
 *   or `alice`'s isolated heartbeat run: only the entry's `heartbeatIsolatedBaseSessionKey` tells);
 * - an unfamiliar key shape (the meter bills the route the entry recorded, or a custom
 *   `session.mainKey` the operator's).
 * - a room of a channel that keys DMs as rooms ({@link isDmRoomKey}: a Matrix per-room DM is its
 *   user's by the entry's `chatType: "direct"`, a group room the operator's);
 * - a session under one of `slashPrefixes`, the Slack slash-command session prefixes the operator
 *   configured (`channels.slack.slashCommand.sessionPrefix`, lower-cased): the meter reads them
 *   from `openclaw.json` and bills `slack:<userId>`, which the built-in reading of such a key
 *   (`ops:slash:<user>`) may not (a tester, 2026-12-02).
 * Push metering pushes only a session this names a payer for: a call pushed to another account than the meter's
 * made the transcript's copy a duplicate, so a user's sub-agent calls stayed on `agent:<a>`.
 * `identityLinks`: the host's `session.identityLinks`, which the meter reads too (a linked person's
 * DM is pushed to the person's one account).
 */
export function payerFromKeyAlone(
  agentId: string,
  sessionKey: string | null | undefined,
  slashPrefixes: readonly string[] = [],
  identityLinks: IdentityLinks | null = null,
): Resolution | null {
  if (!sessionKey) return null;
  const r = resolveAccount(agentId, sessionKey, null, identityLinks);
  const parts = sessionKey.split(":");
  const rest = (parts[0] === "agent" ? parts.slice(2) : parts).map((p) => p.toLowerCase());
  const joined = rest.join(":");
  if (slashPrefixes.some((p) => p !== "" && joined.startsWith(`${p}:`))) return null;
  // a Matrix room may be a per-room DM, its user's (the entry's `chatType`): before 2026-12-03 its
  // calls were pushed to the operator, and the transcript's copies were duplicates
  if (isDmRoomKey(sessionKey)) return null;
  const head = rest[0] ?? "";
  switch (r.via) {
    case "dm":
      return r.accountId.startsWith("direct:") ? null : r;
    case "openai-user":
      return rest[rest.length - 1] === "heartbeat" ? null : r;
    case "slash":
    case "identity":
    case "heartbeat":
    case "whatsapp-lid":
      return r;
    case "operator":
      // a spawned session (a sub-agent, an ACP harness session `acp:<uuid>` a user's DM spawned):
      // the meter bills the root of its spawn chain, which only the entry names
      if (head === "subagent" || head === "acp") return null;
      // the Control UI's `dashboard:<uuid>` sessions are the operator's by their key alone (the
      // meter's too since 2026-12-03: a checkpoint branch's entry holds a DM's copied route)
      return AUTOMATION.has(head) || head === "dashboard" || rest.some((p) => SHARED.has(p)) ? r : null;
    default:
      return null;
  }
}

/**
 * The Slack slash-command session prefixes an OpenClaw config sets other than the default
 * (`channels.slack.slashCommand.sessionPrefix` and each `channels.slack.accounts.<id>`'s), trimmed
 * and lower-cased as OpenClaw keys the sessions; [] when none (or no config).
 */
export function configuredSlashPrefixes(hostConfig: unknown): string[] {
  const obj = (v: unknown): Record<string, unknown> | null =>
    v && typeof v === "object" && !Array.isArray(v) ? (v as Record<string, unknown>) : null;
  const slack = obj(obj(obj(hostConfig)?.channels)?.slack);
  if (!slack) return [];
  const out = new Set<string>();
  for (const s of [slack, ...Object.values(obj(slack.accounts) ?? {}).map(obj)]) {
    const raw = obj(s?.slashCommand)?.sessionPrefix;
    if (typeof raw !== "string") continue;
    const prefix = raw.trim().toLowerCase();
    if (prefix && prefix !== "slack:slash") out.add(prefix);
  }
  return [...out];
}

/**
 * True for the end-user accounts the gate and the commands act on (not `agent:<id>`). A per-peer DM
 * (`direct:<peer>`) whose turn names no messaging channel (the Control UI's `webchat`, a gateway RPC)
 * is none: its account `direct:<peer>` is nobody's, the meter bills the channel the session's entry
 * names, which a hook does not see. Before 2026-12-03 such a turn (the operator writing into a
 * user's DM from the dashboard) was gated on `direct:<peer>`, never topped up: refused as out of
 * balance whatever the user's.
 */
export const isEndUser = (r: Resolution) =>
  (r.via === "dm" && !r.accountId.startsWith("direct:")) ||
  r.via === "openai-user" ||
  r.via === "slash" ||
  r.via === "identity" ||
  r.via === "whatsapp-lid";

/**
 * The end user behind a chat surface: the session key when it is a DM (so `identityLinks`
 * names and per-peer keys match the meter exactly), else `<channel>:<senderId>` lower-cased, or
 * the linked person's account when `identityLinks` links that sender.
 * Null when neither is known (the caller then answers "cannot tell who you are"), and for a sender
 * of a channel that keys DMs by conversation (Google Chat's `users/<id>`: {@link CONVERSATION_KEYED_DM_CHANNELS})
 * that no identity link names.
 */
export function chatUser(p: {
  sessionKey?: string | null;
  agentId?: string | null;
  channel?: string | null;
  senderId?: string | null;
  identityLinks?: IdentityLinks | null;
  /** The message's `From` / `To` (a command context's `from` / `to`), when known. */
  from?: string | null;
  to?: string | null;
}): string | null {
  if (p.sessionKey) {
    const r = resolveAccount(
      p.agentId ?? agentOfKey(p.sessionKey) ?? "main",
      p.sessionKey,
      p.channel,
      p.identityLinks,
    );
    if (isEndUser(r)) return r.accountId;
  }
  const ch = normalizeChannel(p.channel);
  const sender = p.senderId?.trim().toLowerCase();
  if (!ch || !sender) return null;
  // A Slack Enterprise Grid install keys its DMs by the workspace-qualified user
  // (`slack:direct:team:<t>:user:<u>`) while the sender is the bare user id: a command typed in a
  // Grid channel (`slack:channel:team:<t>:channel:<c>`) names the user in the key's workspace.
  const team = ch === "slack" ? slackGridTeam(p.sessionKey) : null;
  const qualified = team && /^[a-z0-9]+$/.test(sender) ? `team:${team}:user:${sender}` : sender;
  // Some channels hand over an already-qualified sender (`telegram:123`).
  const routed = routeToAccount(qualified, ch);
  if (!routed) return null;
  // a Telegram pseudo-sender stands for many people (TELEGRAM_PSEUDO_SENDERS)
  if (TELEGRAM_PSEUDO_SENDERS.has(routed)) return null;
  // a WhatsApp sender known by its LID (`<lid>@lid`) whose number the host's mappings know
  const lid = whatsappLidAccount(routed, whatsappLid, p.identityLinks);
  if (lid?.person) return lid.accountId;
  const raw = lid?.accountId ?? routed;
  const person = linkedAccount(raw, p.identityLinks);
  if (person) return person;
  // a sender id with a space (a Nextcloud user id) names the storable account its DMs bill
  const acct = storableAccountId(raw);
  const acctChannel = acct.slice(0, acct.indexOf(":"));
  // a channel that keys a DM by its conversation names no DM account by the sender
  if (CONVERSATION_KEYED_DM_CHANNELS.has(acctChannel)) return null;
  // a sender id scoped to the group it wrote in (QQ's member_openid) is no DM's peer
  if (GROUP_SCOPED_SENDER_CHANNELS.has(acctChannel) && inGroupChat(acctChannel, p.sessionKey, p.from, p.to))
    return null;
  return acct;
}

/**
 * The senders Telegram gives a group message that no single person sent (Bot API 5.0: "for backward
 * compatibility … the field `from` … will contain the user 777000 for messages automatically
 * forwarded to the discussion group and the user 1087968824 (@GroupAnonymousBot) for messages from
 * anonymous group administrators"; 136817688 (@Channel_Bot) for a message sent on behalf of a
 * channel). Every anonymous admin of every group is the same 1087968824 (tdlib/telegram-bot-api#667).
 * No DM is ever keyed by them, so they name no account: before 2026-12-04 `/recargar` typed by an
 * anonymous admin opened a checkout for `telegram:1087968824`, whose credit no call ever uses and
 * which any other anonymous admin's `/consumo` showed (case `telegram-pseudo-sender`).
 */
const TELEGRAM_PSEUDO_SENDERS: ReadonlySet<string> = new Set([
  "telegram:1087968824",
  "telegram:136817688",
  "telegram:777000",
]);

/**
 * Channels whose sender id in a group chat is scoped to that group, not the id the user's DMs are
 * keyed by: QQ Bot (`qqbot`) gives a group message's author as `member_openid` ("the user's openid in
 * this group"), a C2C message's as `user_openid`, and OpenClaw keys the C2C DM by the latter
 * (`extensions/qqbot/src/engine/gateway/event-dispatcher.ts`: `senderId: ev.author.member_openid` for
 * `GROUP_AT_MESSAGE_CREATE`, `ev.author.user_openid` for `C2C_MESSAGE_CREATE`; the access stage's peer
 * is the group's openid for a group, the sender for a C2C chat). A command typed in a QQ group names
 * no account a DM bills (unless `session.identityLinks` links that sender), so the user is asked to use
 * the DM. Before 2026-12-04 `/recargar` there credited `qqbot:<member_openid>`, which no call is ever
 * billed to (case `qqbot-group-member-openid`). A QQ guild channel's sender (`author.id`) is its guild
 * DM's peer too and is kept.
 */
const GROUP_SCOPED_SENDER_CHANNELS: ReadonlySet<string> = new Set(["qqbot"]);

/**
 * Whether a turn on `channel` is in a group chat: its session key is the channel's group key
 * (`agent:<a>:<ch>:group:<id>`, `…:<ch>:<account>:group:<id>`, a thread suffix too), or its `From` /
 * `To` is a group target (`qqbot:group:<groupOpenid>`, as OpenClaw's QQ Bot writes them).
 */
function inGroupChat(
  channel: string,
  sessionKey: string | null | undefined,
  from: string | null | undefined,
  to: string | null | undefined,
): boolean {
  if (sessionKey) {
    const parts = sessionKey.toLowerCase().split(":");
    const rest = parts[0] === "agent" ? parts.slice(2) : parts;
    if (rest[0] === channel && (rest[1] === "group" || rest[2] === "group")) return true;
  }
  return [from, to].some((t) => {
    const v = t?.trim().toLowerCase() ?? "";
    return v.startsWith(`${channel}:group:`) || v.startsWith("group:");
  });
}

/**
 * The Enterprise Grid workspace a Slack session key names (`team:<teamId>`, lower-cased, as
 * OpenClaw's `qualifySlackRoutePeerId`/`qualifySlackConversationId` write it into Grid keys:
 * `agent:<a>:slack:channel:team:<t>:channel:<c>`, `…:slack:direct:team:<t>:user:<u>`), else null.
 * Before 2026-12-03 a command typed in a Grid channel credited `slack:<userId>`, while the user's DMs
 * bill `slack:team:<t>:user:<userId>` (case `slack-grid-sender-team`).
 */
export function slackGridTeam(sessionKey: string | null | undefined): string | null {
  if (!sessionKey) return null;
  const parts = sessionKey.toLowerCase().split(":");
  const rest = parts[0] === "agent" ? parts.slice(2) : parts;
  if (rest[0] !== "slack") return null;
  const at = rest.indexOf("team");
  return at > 0 && rest[at + 1] ? (rest[at + 1] as string) : null;
}

/**
 * Channels whose DM session key names the conversation, not the sender: Google Chat keys a DM by
 * its DM space (`peer: { kind: "direct", id: spaceId }`, `agent:<a>:googlechat:direct:spaces/<id>`,
 * `extensions/googlechat/src/monitor.ts`), while its sender is the user's resource name (`SenderId`
 * `users/<id>`). The meter bills such a DM to `googlechat:spaces/<id>`, which the plugin names from
 * the DM's session key; a sender alone (a command typed in a group space, a context without a
 * session key) names no account any DM is billed to, so none (the user is asked to use the DM), unless
 * `session.identityLinks` links it. Before 2026-12-03 `/recargar` there credited
 * `googlechat:users/<id>`, which no call is billed to (case `googlechat-dm-space`).
 */
const CONVERSATION_KEYED_DM_CHANNELS: ReadonlySet<string> = new Set(["googlechat"]);
