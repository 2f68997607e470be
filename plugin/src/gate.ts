/**
 * Pre-model gating (OpenClaw ≥2026.3.24; `before_agent_reply` ≥2026.4.2): a blocked user's message never reaches the model.
 *
 * - `before_dispatch` (channel inbound and Control-UI `chat.send`): claims the message and
 *   answers with the reason and a top-up hint. It runs BEFORE command handling, so the
 *   plugin's own commands (and OpenClaw's /help) are let through: a blocked user must still be
 *   able to /consumo and /recargar.
 * - `before_agent_reply` (every embedded/CLI agent turn: channel, gateway `agent` RPC,
 *   OpenAI-compatible HTTP, `agent --local`), registered with `eligibleTriggers: ["user"]`:
 *   the backstop for turns that do not pass through dispatch. Needs
 *   `plugins.entries.creditgate.hooks.allowConversationAccess: true`.
 *
 * "Blocked" is creditgate's status answer, so it includes the pre-call headroom: a user whose
 * balance is above the floor but does not cover one typical reply (`insufficient_headroom`) is
 * told the balance and that cost, with the top-up hint (i18n.ts `blockedWhy`).
 *
 * Only end-user sessions are gated (DM keys, `openai-user:*`). Operator sessions, cron,
 * heartbeats and groups are billed to the agent's own account by the meter and pass.
 */
import { type Language, userLanguage } from "./config.js";
import { blockedText } from "./i18n.js";
import type {
  AgentHookContext,
  BeforeAgentReplyResult,
  BeforeDispatchContext,
  BeforeDispatchEvent,
  BeforeDispatchResult,
  PluginLogger,
} from "./openclaw-types.js";
import type { StatusCache } from "./status-cache.js";
import { agentOfKey, chatUser, type IdentityLinks, isDmRoomKey, isEndUser, resolveAccount } from "./user.js";

export type GateDecision =
  | { allow: true; userId: string | null; why: string }
  | { allow: false; userId: string; text: string };

export interface GateOptions {
  cache: StatusCache;
  language: Language;
  failOpen: boolean;
  logger: PluginLogger;
  /** Command names (without slash) that always pass, even for blocked users. */
  passCommands: readonly string[];
  /**
   * Of {@link passCommands}, those the host runs with arguments (registered with `acceptsArgs:
   * true`: `/recargar starter`). Any other passes only bare (`/consumo`, `/consumo@my_bot`): OpenClaw
   * matches a command that takes no arguments only when none are given (`matchPluginCommand`: `if
   * (args && !command.acceptsArgs) return null`), so `/consumo write me an essay` is no command but an
   * ordinary message that reaches the model. @defaultValue none
   */
  argCommands?: readonly string[];
  /** The host's `session.identityLinks` (`configuredIdentityLinks`), read at each check. @defaultValue none */
  identityLinks?: () => IdentityLinks | null;
  /**
   * Whether the host keys DMs per user (`session.dmScope` other than `main`), read at each check.
   * Under `main` a spawned session bound to a DM is the operator's main session's child, billed to
   * the operator: its sender is not gated there. @defaultValue `() => true`
   */
  perUserDms?: () => boolean;
  now?: () => number;
}

const OUTAGE_LOG_EVERY_MS = 60_000;

export class Gate {
  private lastOutageLog = 0;
  private outage = false;
  /** Lower-cased pass command name → whether the host runs it with arguments. */
  private readonly pass: Map<string, boolean>;
  private readonly now: () => number;

  private readonly o: GateOptions;

  constructor(o: GateOptions) {
    this.o = o;
    this.now = o.now ?? Date.now;
    const clean = (l: readonly string[]) =>
      l.map((n) => n.replace(/[^a-z0-9_-]/gi, "").toLowerCase()).filter(Boolean);
    const withArgs = new Set(clean(o.argCommands ?? []));
    this.pass = new Map(clean(o.passCommands).map((n) => [n, withArgs.has(n)]));
  }

  /**
   * Whether OpenClaw runs `text` as one of the pass commands (so it never reaches the model):
   * {@link hostCommand} reads it as the host does, then a command that takes no arguments passes
   * only bare (case gate-pass-command-args). `channel`: the turn's channel (a `/cmd@bot` suffix is
   * a Telegram form; elsewhere OpenClaw keeps it in the command name, which then matches nothing).
   */
  isPassCommand(text: string | undefined, channel?: string): boolean {
    if (typeof text !== "string") return false;
    const c = hostCommand(text, channel);
    if (!c) return false;
    for (const name of new Set([c.name, c.name.replace(/_/g, "-"), c.name.replace(/-/g, "_")])) {
      const takesArgs = this.pass.get(name);
      if (takesArgs !== undefined) return c.args === "" || takesArgs;
    }
    return false;
  }

  /**
   * The decision for one user (null = not an end user: never gated) talking to `agentId` (when
   * known: a hard operator budget reached for that agent blocks its users, `operator_budget`).
   */
  async check(userId: string | null, agentId?: string | null): Promise<GateDecision> {
    if (!userId) return { allow: true, userId: null, why: "not-an-end-user" };
    const r = await this.o.cache.get(userId, agentId ?? undefined);
    if (r.ok) {
      if (this.outage) {
        this.outage = false;
        this.o.logger.info("creditgate: reachable again; gating resumed");
      }
      if (r.status.allowed) return { allow: true, userId, why: "allowed" };
      return {
        allow: false,
        userId,
        text: blockedText(r.status, userLanguage(r.status.language, this.o.language)),
      };
    }
    const t = this.now();
    if (!this.outage || t - this.lastOutageLog >= OUTAGE_LOG_EVERY_MS) {
      this.outage = true;
      this.lastOutageLog = t;
      this.o.logger.warn(
        `creditgate: status for ${userId} unavailable (${r.error.message}); failOpen=${this.o.failOpen}: ${
          this.o.failOpen ? "letting messages through" : "refusing messages"
        } until creditgate answers`,
      );
    }
    if (this.o.failOpen) return { allow: true, userId, why: "fail-open" };
    return {
      allow: false,
      userId,
      text: blockedText({ reason: "unavailable", windows: [] }, this.o.language),
    };
  }

  beforeDispatch = async (
    event: BeforeDispatchEvent,
    ctx: BeforeDispatchContext,
  ): Promise<BeforeDispatchResult | undefined> => {
    if (event.isGroup) return undefined;
    // OpenClaw reads commands from the text this hook gets as `content` (`BodyForCommands`);
    // `body` is the agent's text (envelope, reply context, a voice note's transcript), never a
    // command: before 2026-12-04 a `body` that read as a pass command let the turn through too.
    const text = event.content?.trim() ? event.content : event.body;
    if (this.isPassCommand(text, event.channel ?? ctx.channelId)) return undefined;
    const sessionKey = event.sessionKey ?? ctx.sessionKey;
    const channel = event.channel ?? ctx.channelId;
    const senderId = event.senderId ?? ctx.senderId;
    const links = this.o.identityLinks?.();
    let userId = gatedUser(sessionKey, channel, senderId, undefined, links, event.isGroup === false);
    // A one-to-one chat bound to a spawned session (`/acp spawn … --bind here`, `/focus`, a
    // `sessions_spawn` thread): OpenClaw routes the user's messages into the `acp:`/`subagent:`
    // key, which names no payer; the meter bills the spawn chain's root, the user's DM. The sender
    // is gated as in the DM itself: before 2026-12-04 a blocked user went on there unchecked
    // (case gate-dm-bound-spawned-session).
    if (!userId && event.isGroup === false && isSpawnedKey(sessionKey) && (this.o.perUserDms?.() ?? true))
      userId = chatUser({ channel, senderId, identityLinks: links });
    const d = await this.check(userId, agentOfKey(sessionKey));
    return d.allow ? undefined : { handled: true, text: d.text };
  };

  beforeAgentReply = async (
    _event: unknown,
    ctx: AgentHookContext,
  ): Promise<BeforeAgentReplyResult | undefined> => {
    if (ctx.trigger && ctx.trigger !== "user") return undefined;
    // Agent-hook ctx.channelId is the chat id; ctx.channel is the channel (pitfall 23).
    const d = await this.check(
      gatedUser(ctx.sessionKey, ctx.channel, ctx.senderId, ctx.agentId, this.o.identityLinks?.()),
      ctx.agentId ?? agentOfKey(ctx.sessionKey),
    );
    return d.allow ? undefined : { handled: true, reply: { text: d.text }, reason: "creditgate" };
  };
}

/**
 * The account a turn is billed to, when that is an end user. With a session key this is
 * exactly the meter's answer (so `agent:main:main` under `dmScope:"main"` is the operator's and
 * is not gated); without one (older hosts) the sender on the channel. `identityLinks`: the host's
 * `session.identityLinks` (a linked person is gated on the one account the meter bills). `direct`:
 * the turn says it is a one-to-one chat (`before_dispatch`'s `isGroup: false`): a DM keyed as a room
 * (a Matrix per-room DM, {@link isDmRoomKey}), which the meter bills to its user since 2026-12-03, is
 * gated on the sender, as the commands name them; before, such a user was never gated.
 */
export function gatedUser(
  sessionKey: string | undefined,
  channel: string | undefined,
  senderId: string | undefined,
  agentId?: string,
  identityLinks?: IdentityLinks | null,
  direct = false,
): string | null {
  if (sessionKey) {
    const r = resolveAccount(agentId ?? agentOfKey(sessionKey) ?? "main", sessionKey, channel, identityLinks);
    if (isEndUser(r)) return r.accountId;
    return direct && isDmRoomKey(sessionKey) ? chatUser({ channel, senderId, identityLinks }) : null;
  }
  return chatUser({ channel, senderId, identityLinks });
}

/**
 * Whether a session key is a spawned session's (`agent:<a>:subagent:<id>`, `agent:<a>:acp:<uuid>`,
 * nested ones too): its key names no payer, the meter bills the root of its spawn chain.
 */
export function isSpawnedKey(sessionKey: string | undefined): boolean {
  if (!sessionKey) return false;
  const parts = sessionKey.trim().toLowerCase().split(":");
  const head = parts[0] === "agent" ? parts[2] : parts[0];
  return head === "subagent" || head === "acp";
}

/** Telegram's bot-username suffix as OpenClaw strips it (`TARGETED_COMMAND_BODY_RE`, 2026.9). */
const TARGETED = /^\/([^\s@]+)@([A-Za-z0-9_]+)(?=$|\s|[.!?！？…,，。;；:：'"’”)\]}])([\s\S]*)$/u;

/**
 * The plugin command OpenClaw would match for a message, read as OpenClaw 2026.9 reads it, or null
 * when it is no command (it goes to the agent): the text trimmed (JS `trim`: a zero-width space
 * or a full-width `／` is not trimmed, so `\u200b/consumo` and `／consumo` are messages); only
 * the first line is the command line, `/cmd: args` is `/cmd args` (`normalizeCommandBody`'s colon
 * syntax, "because some channels insert colon syntax"); a Telegram `/cmd@bot` loses its suffix
 * (on Telegram only: OpenClaw strips it for the bot's own username, and drops a command addressed
 * to another bot since 2026.8); then `matchRegisteredPluginCommand`: `/`, optional white space,
 * the name (lower-cased), white space, the arguments (the rest of the message, trimmed). A `!` is
 * no prefix for plugin commands (only OpenClaw's bash shortcut). Before 2026-12-04 the gate
 * matched its own pattern: `/consumo:`, `/ saldo`, `/recargar: starter` (commands OpenClaw runs)
 * were claimed, so a blocked user on Discord, Slack or WhatsApp could not see the balance or top
 * up, and `/consumo@x` on a channel without bot suffixes passed though OpenClaw hands it to the
 * model (case gate-command-forms).
 */
export function hostCommand(text: string, channel?: string): { name: string; args: string } | null {
  const t = text.trim();
  if (!t.startsWith("/")) return null;
  const nl = t.indexOf("\n");
  const line = nl === -1 ? t : t.slice(0, nl).trim();
  const tail = nl === -1 ? "" : t.slice(nl + 1).trimStart();
  let body = line;
  const colon = /^\/([^\s:]+)\s*:([\s\S]*)$/.exec(line);
  if (colon) {
    const rest = (colon[2] ?? "").trimStart();
    body = rest ? `/${colon[1]} ${rest}` : `/${colon[1]}`;
  }
  const ch = channel?.trim().toLowerCase();
  if (!ch || ch === "telegram") {
    const m = TARGETED.exec(body);
    if (m) body = `/${m[1]}${m[3] ?? ""}`;
  }
  if (tail) body = `${body}\n${tail}`;
  const m = /^\/\s*([^\s]+)(?:\s+([\s\S]*))?$/.exec(body.trim());
  if (!m?.[1]) return null;
  return { name: m[1].toLowerCase(), args: m[2]?.trim() ?? "" };
}
