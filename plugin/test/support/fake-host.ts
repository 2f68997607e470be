/**
 * A fake OpenClaw host for unit tests: a `PluginApi` (the plugin's mirror of the real
 * `OpenClawPluginApi`, see src/openclaw-types.ts and `npm run typecheck:real`) that records
 * registrations, plus a tiny inbound pipeline with the real host's ORDER:
 * before_dispatch (claim) → plugin command → before_agent_reply (claim) → model call.
 */
import type {
  AgentHookContext,
  BeforeAgentReplyResult,
  BeforeDispatchResult,
  ChannelOutboundAdapter,
  GatewayErrorShape,
  GatewayRequestHandler,
  PluginApi,
  PluginCommandContext,
  PluginCommandDefinition,
  PluginRuntime,
  PluginService,
} from "../../src/openclaw-types.js";

export interface LogLine {
  level: "debug" | "info" | "warn" | "error";
  msg: string;
}
export interface SentMessage {
  channel: string;
  to: string;
  text: string;
  accountId?: string | null;
}
type AnyHandler = (...args: unknown[]) => unknown;

export interface FakeHostOptions {
  /** Clawdbot 2026.1.24-like host: `api.on` accepts any name but has no pre-model hooks; legacy send functions. */
  legacy?: boolean;
  /** Make the outbound adapter throw for these recipients. */
  failSendTo?: Set<string>;
  /** Extra `session` settings of the host config (`identityLinks`...). */
  session?: Record<string, unknown>;
  /** The OpenClaw version the (non-legacy) host reports as `runtime.version`. @defaultValue "2026.9.6" */
  version?: string;
}

export function createFakeHost(pluginConfig: Record<string, unknown>, opts: FakeHostOptions = {}) {
  const commands = new Map<string, PluginCommandDefinition>();
  const methods = new Map<string, { handler: GatewayRequestHandler; scope?: string }>();
  const hooks = new Map<string, { handler: AnyHandler; opts?: unknown }[]>();
  const services: PluginService[] = [];
  const logs: LogLine[] = [];
  const sent: SentMessage[] = [];
  const hostConfig = { session: { dmScope: "per-channel-peer", ...opts.session } };
  let modelCalls = 0;

  const send = async (channel: string, to: string, text: string, accountId?: string | null) => {
    if (opts.failSendTo?.has(to)) throw new Error(`chat ${to} not found`);
    sent.push({ channel, to, text, accountId });
    return { channel, messageId: String(500 + sent.length) };
  };
  const adapter = (channel: string): ChannelOutboundAdapter => ({
    sendText: async ({ to, text, accountId, cfg }) => {
      if (cfg !== hostConfig) throw new Error("sendText got a cfg other than api.config");
      return send(channel, to, text, accountId);
    },
  });
  const runtime: PluginRuntime = opts.legacy
    ? ({
        channel: {
          telegram: {
            sendMessageTelegram: (to: string, text: string, o?: { accountId?: string }) =>
              send("telegram", to, text, o?.accountId),
          },
          whatsapp: {
            sendMessageWhatsApp: (to: string, text: string, o?: { accountId?: string }) =>
              send("whatsapp", to, text, o?.accountId),
          },
        },
        version: "2026.1.24-3",
      } as unknown as PluginRuntime)
    : {
        version: opts.version ?? "2026.9.6",
        channel: {
          outbound: {
            loadAdapter: async (id: string) =>
              id === "telegram" || id === "whatsapp" ? adapter(id) : undefined,
          },
        },
      };

  const on = ((name: string, handler: AnyHandler, o?: unknown) => {
    const list = hooks.get(name) ?? [];
    list.push({ handler, opts: o });
    hooks.set(name, list);
  }) as NonNullable<PluginApi["on"]>;

  const api: PluginApi = {
    id: "creditgate",
    config: hostConfig,
    pluginConfig,
    runtime,
    logger: {
      debug: (msg) => logs.push({ level: "debug", msg }),
      info: (msg) => logs.push({ level: "info", msg }),
      warn: (msg) => logs.push({ level: "warn", msg }),
      error: (msg) => logs.push({ level: "error", msg }),
    },
    registerCommand: (c) => {
      commands.set(c.name, c);
    },
    registerGatewayMethod: (name, handler, o) => {
      methods.set(name, { handler, scope: o?.scope });
    },
    registerService: (s) => {
      services.push(s);
    },
    on,
  };

  async function runCommand(name: string, ctx: Partial<PluginCommandContext> = {}) {
    const c = commands.get(name);
    if (!c) throw new Error(`no command /${name}`);
    const full: PluginCommandContext = {
      channel: "telegram",
      isAuthorizedSender: true,
      commandBody: `/${name}${ctx.args ? ` ${ctx.args}` : ""}`,
      config: hostConfig,
      ...ctx,
    };
    const r = await c.handler(full);
    return r.text ?? "";
  }

  async function callMethod(name: string, params: Record<string, unknown>) {
    const m = methods.get(name);
    if (!m) throw new Error(`no method ${name}`);
    let out: { ok: boolean; payload?: unknown; error?: GatewayErrorShape } | undefined;
    await m.handler({ params, respond: (ok, payload, error) => (out = { ok, payload, error }) });
    if (!out) throw new Error(`${name} never responded`);
    return out;
  }

  /**
   * One inbound DM as OC 2026.9 processes it. Returns the reply and where it came from.
   * `path: "rpc"` models a turn that skips dispatch (gateway `agent` RPC, OpenAI HTTP).
   */
  async function inbound(m: {
    channel?: string;
    senderId: string;
    text: string;
    sessionKey?: string;
    agentId?: string;
    isGroup?: boolean;
    path?: "channel" | "rpc";
    trigger?: string;
  }): Promise<{
    reply: string;
    by: "before_dispatch" | "command" | "before_agent_reply" | "model" | "dropped";
  }> {
    const channel = m.channel ?? "telegram";
    const sessionKey =
      m.sessionKey ?? `agent:${m.agentId ?? "main"}:${channel}:direct:${m.senderId.toLowerCase()}`;
    if (m.path !== "rpc") {
      // Telegram drops a command addressed to another bot at ingress, before any hook
      const cmd = openclawCommand(m.text, channel);
      if (cmd === "dropped") return { reply: "", by: "dropped" };
      for (const h of hooks.get("before_dispatch") ?? []) {
        const r = (await h.handler(
          {
            content: m.text,
            body: m.text,
            channel,
            sessionKey,
            senderId: m.senderId,
            isGroup: m.isGroup ?? false,
          },
          { channelId: channel, sessionKey, senderId: m.senderId, accountId: "default" },
        )) as BeforeDispatchResult | undefined;
        if (r?.handled) return { reply: r.text ?? "", by: "before_dispatch" };
      }
      // OpenClaw's matchPluginCommand: a command given arguments it does not take is no command,
      // the message goes on to the agent
      const def = cmd ? commands.get(cmd[1]) : undefined;
      if (cmd && def && (!cmd[2] || def.acceptsArgs)) {
        const reply = await runCommand(cmd[1], {
          channel,
          channelId: channel,
          senderId: m.senderId,
          sessionKey,
          agentId: m.agentId ?? "main",
          args: cmd[2] || undefined,
          commandBody: m.text,
          from: `${channel}:${m.senderId}`,
          to: `${channel}:${m.senderId}`,
          accountId: "default",
        });
        return { reply, by: "command" };
      }
    }
    for (const h of hooks.get("before_agent_reply") ?? []) {
      const triggers = (h.opts as { eligibleTriggers?: string[] } | undefined)?.eligibleTriggers;
      const trigger = m.trigger ?? "user";
      if (triggers && !triggers.includes(trigger)) continue;
      const ctx: AgentHookContext = {
        sessionKey,
        agentId: m.agentId ?? "main",
        senderId: m.senderId,
        channel,
        channelId: m.senderId, // the chat id, as on the real host
        accountId: "default",
        trigger,
        runId: "run-1",
      };
      const r = (await h.handler({ cleanedBody: m.text }, ctx)) as BeforeAgentReplyResult | undefined;
      if (r?.handled) return { reply: r.reply?.text ?? "", by: "before_agent_reply" };
    }
    modelCalls++;
    return { reply: `model reply #${modelCalls}`, by: "model" };
  }

  return {
    api,
    commands,
    methods,
    hooks,
    services,
    logs,
    sent,
    hostConfig,
    runCommand,
    callMethod,
    inbound,
    get modelCalls() {
      return modelCalls;
    },
    serviceCtx: () => ({ config: hostConfig, stateDir: "/tmp/fake-state", logger: api.logger }),
  };
}

/** The Telegram bot's username in the fake host (OpenClaw reads it from getMe). */
export const FAKE_BOT_USERNAME = "my_bot";

/**
 * How OpenClaw 2026.9.6 reads a DM's text as a plugin command (`normalizeCommandBody` then
 * `matchRegisteredPluginCommand`, dist/commands-registry-normalize-*.mjs and
 * dist/plugin-command-matcher-*.mjs of the npm package), written out separately from the plugin's
 * own reading so the gate tests compare the two: `[, name, args]` (name lower-cased, args ""
 * when none), null for no command (the message goes to the agent), or "dropped" for a Telegram
 * command addressed to another bot (extensions/telegram drops it, no reply).
 */
export function openclawCommand(text: string, channel: string): [string, string, string] | "dropped" | null {
  const trimmed = text.trim();
  if (!trimmed.startsWith("/")) return null;
  const newline = trimmed.indexOf("\n");
  const singleLine = newline === -1 ? trimmed : trimmed.slice(0, newline).trim();
  const tail = newline === -1 ? undefined : trimmed.slice(newline + 1).trimStart();
  const colon = singleLine.match(/^\/([^\s:]+)\s*:([\s\S]*)$/);
  const rest = colon ? (colon[2] ?? "").trimStart() : "";
  const normalized = colon ? (rest ? `/${colon[1]} ${rest}` : `/${colon[1]}`) : singleLine;
  let body = normalized;
  if (channel === "telegram") {
    const mention = normalized.match(
      /^\/([^\s@]+)@([A-Za-z0-9_]+)(?=$|\s|[.!?！？…,，。;；:：'"’”)\]}])([\s\S]*)$/u,
    );
    if (mention) {
      if (mention[2]?.toLowerCase() !== FAKE_BOT_USERNAME) return "dropped";
      body = `/${mention[1]}${mention[3] ?? ""}`;
    }
  }
  if (tail) body = `${body}\n${tail}`;
  const m = body.trim().match(/^\/\s*([^\s]+)(?:\s+([\s\S]*))?$/);
  if (!m?.[1]) return null;
  return [m[0], m[1].toLowerCase(), m[2]?.trim() ?? ""];
}
