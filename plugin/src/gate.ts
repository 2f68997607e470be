/**
 * Pre-model gating (OpenClaw ≥2026.3): a blocked user's message never reaches the model.
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
import type { Language } from "./config.js";
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
  now?: () => number;
}

const OUTAGE_LOG_EVERY_MS = 60_000;

export class Gate {
  private lastOutageLog = 0;
  private outage = false;
  private readonly pass: RegExp;
  private readonly now: () => number;

  private readonly o: GateOptions;

  constructor(o: GateOptions) {
    this.o = o;
    this.now = o.now ?? Date.now;
    const clean = (l: readonly string[]) => l.map((n) => n.replace(/[^a-z0-9_-]/gi, "")).filter(Boolean);
    const withArgs = new Set(clean(o.argCommands ?? []).map((n) => n.toLowerCase()));
    const names = clean(o.passCommands);
    const bare = names.filter((n) => !withArgs.has(n.toLowerCase()));
    const args = names.filter((n) => withArgs.has(n.toLowerCase()));
    // `/consumo`, `/consumo@my_bot` (bare), `/recargar starter`; case-insensitive like Telegram.
    // Before 2026-12-04 any pass command with text after it passed: `/consumo <a question>` from a
    // blocked user reached the model (OpenClaw hands a command given arguments it does not take to
    // the agent), a reply served with no balance (case gate-pass-command-args).
    const alts = [
      ...(bare.length ? [`(?:${bare.join("|")})(?:@[\\w.-]+)?\\s*$`] : []),
      ...(args.length ? [`(?:${args.join("|")})(?:@[\\w.-]+)?(?:\\s|$)`] : []),
    ];
    this.pass = alts.length ? new RegExp(`^\\s*/(?:${alts.join("|")})`, "i") : /(?!)/;
  }

  isPassCommand(text: string | undefined): boolean {
    return typeof text === "string" && this.pass.test(text);
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
      return { allow: false, userId, text: blockedText(r.status, this.o.language) };
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
    const text = event.content ?? event.body;
    if (this.isPassCommand(text) || this.isPassCommand(event.body)) return undefined;
    const sessionKey = event.sessionKey ?? ctx.sessionKey;
    const d = await this.check(
      gatedUser(
        sessionKey,
        event.channel ?? ctx.channelId,
        event.senderId ?? ctx.senderId,
        undefined,
        this.o.identityLinks?.(),
        event.isGroup === false,
      ),
      agentOfKey(sessionKey),
    );
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
