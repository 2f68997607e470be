/**
 * The slice of the OpenClaw / Clawdbot plugin API this plugin uses, mirrored from the real
 * `openclaw@2026.9.6` declarations (`openclaw/plugin-sdk/plugin-entry` → `OpenClawPluginApi`,
 * `PluginHookHandlerMap`, `PluginCommandContext`, `GatewayRequestHandlerOptions`,
 * `OpenClawPluginServiceContext`, `ChannelOutboundAdapter`) and from Clawdbot 2026.1.24.
 *
 * Why a mirror instead of `import type ... from "openclaw"`: the real package is ~330 MB and
 * needs Node ≥24, too heavy for a unit-test dependency. The mirror is kept honest by
 * `npm run typecheck:real` (test/real-types/conformance.ts), which compiles against the real
 * declarations and asserts that the real `OpenClawPluginApi` is assignable to `PluginApi`
 * (so every member used here exists with a compatible signature) and that this plugin's
 * definition is a valid `OpenClawPluginDefinition`. The e2e harness runs that check.
 *
 * Rules for editing: every field that the host may omit in one era is optional; function
 * members are properties (checked contravariantly) except where a host-owned config object is
 * passed back to the host (`sendText`), which uses method syntax so the real `OpenClawConfig`
 * parameter stays compatible with `unknown`.
 */

export interface PluginLogger {
  debug?: (message: string) => void;
  info: (message: string) => void;
  warn: (message: string) => void;
  error: (message: string) => void;
}

/** `ReplyPayload` (only the text part is used). */
export interface ReplyPayload {
  text?: string;
}

export type OperatorScope = "operator.read" | "operator.write" | "operator.admin";

/** `PluginCommandContext`: OC 2026.9 superset of CB 2026.1.24's `{senderId, channel, isAuthorizedSender, args, commandBody, config}`. */
export interface PluginCommandContext {
  senderId?: string;
  /** The channel/surface, e.g. `telegram`. */
  channel: string;
  /** Provider channel id (OC; for commands this is the channel, not the chat). */
  channelId?: string;
  isAuthorizedSender: boolean;
  /** OC: exposed only to commands that declare `requiredScopes`. */
  senderIsOwner?: boolean;
  agentId?: string;
  sessionKey?: string;
  sessionId?: string;
  args?: string;
  commandBody: string;
  config: unknown;
  from?: string;
  to?: string;
  accountId?: string;
  messageThreadId?: string | number;
}

export interface PluginCommandDefinition {
  name: string;
  description: string;
  acceptsArgs?: boolean;
  /** Default true (both eras): only allow-listed senders. creditgate's user commands set false. */
  requireAuth?: boolean;
  requiredScopes?: OperatorScope[];
  handler: (ctx: PluginCommandContext) => ReplyPayload | Promise<ReplyPayload>;
}

/** `ErrorShape` of the gateway protocol; codes used here: `INVALID_REQUEST`, `UNAVAILABLE`. */
export interface GatewayErrorShape {
  code: string;
  message: string;
  details?: unknown;
  retryable?: boolean;
  retryAfterMs?: number;
}

export interface GatewayRequestHandlerOptions {
  params: Record<string, unknown>;
  respond: (ok: boolean, payload?: unknown, error?: GatewayErrorShape) => void;
}

export type GatewayRequestHandler = (opts: GatewayRequestHandlerOptions) => Promise<void> | void;

export interface PluginServiceContext {
  config: unknown;
  stateDir: string;
  logger: PluginLogger;
}

export interface PluginService {
  id: string;
  start: (ctx: PluginServiceContext) => void | Promise<void>;
  stop?: (ctx: PluginServiceContext) => void | Promise<void>;
}

// ---- typed hooks (OC) -------------------------------------------------------------------

export interface BeforeDispatchEvent {
  messageId?: string;
  content: string;
  body?: string;
  channel?: string;
  sessionKey?: string;
  senderId?: string;
  isGroup?: boolean;
  timestamp?: number;
}
export interface BeforeDispatchContext {
  messageId?: string;
  /** The channel (`telegram`). */
  channelId?: string;
  accountId?: string;
  conversationId?: string;
  sessionKey?: string;
  senderId?: string;
}
export interface BeforeDispatchResult {
  handled: boolean;
  text?: string;
}

export interface BeforeAgentReplyEvent {
  cleanedBody: string;
}
/** `PluginHookAgentContext`: careful, `channelId` is the CHAT id here, `channel` the channel. */
export interface AgentHookContext {
  runId?: string;
  agentId?: string;
  sessionKey?: string;
  sessionId?: string;
  channel?: string;
  channelId?: string;
  accountId?: string;
  senderId?: string;
  trigger?: string;
}
export interface BeforeAgentReplyResult {
  handled: boolean;
  reply?: ReplyPayload;
  reason?: string;
}

/** The assistant `AgentMessage` fields push metering reads (pi-ai `AssistantMessage`). */
export interface WrittenMessage {
  role: string;
  provider?: string;
  model?: string;
  usage?: {
    input?: number;
    output?: number;
    cacheRead?: number;
    cacheWrite?: number;
    /** The part of cacheWrite written with Anthropic's 1-hour TTL (OpenClaw ≥2026.9). */
    cacheWrite1h?: number;
    /** The provider's total (Google's `totalTokenCount` on Google APIs). */
    totalTokens?: number;
    /** USD; `totalOrigin: "provider-billed"` when `total` is what the provider charged. */
    cost?: { total?: number; totalOrigin?: string };
    /** Anthropic's served speed (`"fast"` / `"standard"`, fast mode), when the line carries it. */
    speed?: unknown;
    /** Where Anthropic ran the call (`"us"` / `"global"`, data residency), when the line carries it. */
    inference_geo?: unknown;
    /** The same under a camelCase name. */
    inferenceGeo?: unknown;
    /** The service tier that served the call (Anthropic's `usage.service_tier`), when the line keeps it. */
    service_tier?: unknown;
    /** The same under a camelCase name. */
    serviceTier?: unknown;
    /** Gemini / Vertex usage metadata's traffic type (`ON_DEMAND_FLEX`, …), when the line keeps it. */
    trafficType?: unknown;
    /** The same under a snake_case name. */
    traffic_type?: unknown;
  };
  /** The service tier that served the call (OpenAI's response `service_tier`), when the line keeps it. */
  service_tier?: unknown;
  /** The same under a camelCase name. */
  serviceTier?: unknown;
  /** Gemini / Vertex usage metadata's traffic type, beside the usage. */
  trafficType?: unknown;
  /** pi-ai's API of the call, e.g. `google-generative-ai`, `anthropic-messages`. */
  api?: string;
  stopReason?: string;
  errorMessage?: string;
  timestamp?: number;
  responseId?: string;
  /** The model the provider says answered (OpenClaw ≥2026.9), e.g. after a refusal fallback. */
  responseModel?: string;
  /** OpenClaw's transcript metadata; `importedFrom: "claude-cli"` on a CLI history import. */
  __openclaw?: { importedFrom?: unknown };
}
export interface BeforeMessageWriteEvent {
  message: WrittenMessage | { role: string };
  sessionKey?: string;
  agentId?: string;
}

export type AgentTrigger = "cron" | "heartbeat" | "user";
type MaybePromise<T> = T | Promise<T>;

export interface HookOptions {
  priority?: number;
  timeoutMs?: number;
}

export interface PluginHookRegistrar {
  (
    hookName: "before_dispatch",
    handler: (
      event: BeforeDispatchEvent,
      ctx: BeforeDispatchContext,
    ) => MaybePromise<BeforeDispatchResult | undefined>,
    opts?: HookOptions,
  ): void;
  (
    hookName: "before_agent_reply",
    handler: (
      event: BeforeAgentReplyEvent,
      ctx: AgentHookContext,
    ) => MaybePromise<BeforeAgentReplyResult | undefined>,
    opts?: HookOptions & { eligibleTriggers?: readonly [AgentTrigger, ...AgentTrigger[]] },
  ): void;
  (
    hookName: "before_message_write",
    handler: (event: BeforeMessageWriteEvent, ctx: { agentId?: string; sessionKey?: string }) => undefined,
    opts?: HookOptions,
  ): void;
}

// ---- runtime: proactive messages ------------------------------------------------------

export interface OutboundDeliveryResult {
  channel?: string;
  messageId?: string;
}

/** OC `ChannelOutboundAdapter` (only `sendText`). */
export interface ChannelOutboundAdapter {
  sendText?(ctx: {
    cfg: unknown;
    to: string;
    text: string;
    accountId?: string | null;
    threadId?: string | number | null;
  }): Promise<OutboundDeliveryResult>;
}

/** CB 2026.1.24: `api.runtime.channel.<ch>.sendMessage<Ch>(to, text, opts)`. */
export type LegacySendMessage = (
  to: string,
  text: string,
  opts?: Record<string, unknown>,
) => Promise<unknown>;

export interface PluginRuntime {
  /** Host version, e.g. `2026.9.6` (OC) or `2026.1.24-3` (Clawdbot). */
  version?: string;
  channel?: {
    /** OC ≥2026.x */
    outbound?: {
      loadAdapter?: (id: string) => Promise<ChannelOutboundAdapter | undefined>;
    };
  };
}

/** `OpenClawPluginApi` (OC 2026.9.6) ∩ Clawdbot 2026.1.24's API, as far as this plugin uses it. */
export interface PluginApi {
  id: string;
  config: unknown;
  pluginConfig?: Record<string, unknown>;
  runtime: PluginRuntime;
  logger: PluginLogger;
  registerCommand: (command: PluginCommandDefinition) => void;
  registerGatewayMethod: (
    method: string,
    handler: GatewayRequestHandler,
    opts?: { scope?: "operator.read" | "operator.admin" },
  ) => void;
  registerService: (service: PluginService) => void;
  /** Absent on hosts without typed hooks. */
  on?: PluginHookRegistrar;
  /**
   * CLI subcommands of `openclaw` (both eras: `registerCli(fn, {commands})`; OC ≥2026.x also takes
   * `descriptors` for lazy help). `program` is the host's commander instance.
   */
  registerCli?: (
    registrar: (ctx: PluginCliContext) => void | Promise<void>,
    opts?: {
      commands?: string[];
      descriptors?: { name: string; description: string; hasSubcommands: boolean }[];
    },
  ) => void;
  /**
   * An HTTP route on the gateway's own server (OC 2026.x `api.registerHttpRoute({path, auth, match,
   * handler})`; `auth: "gateway"` puts it behind the gateway's own auth). Absent on older hosts.
   */
  registerHttpRoute?: (route: PluginHttpRoute) => void;
}

/** A gateway HTTP route (node's `IncomingMessage`/`ServerResponse`, typed loosely). */
export interface PluginHttpRoute {
  path: string;
  auth: "gateway" | "plugin";
  match?: "exact" | "prefix";
  handler: (
    req: { method?: string; url?: string },
    res: { statusCode: number; setHeader(name: string, value: string): void; end(body?: string): void },
  ) => Promise<boolean | undefined> | boolean | undefined;
}

/** What `registerCli`'s registrar receives (`OpenClawPluginCliContext`). */
export interface PluginCliContext {
  /** The host's commander `Command` (typed loosely: this plugin does not depend on commander). */
  program: CliCommand;
  config?: unknown;
  workspaceDir?: string;
  logger?: PluginLogger;
}

/** The part of commander's `Command` the plugin uses. */
export interface CliCommand {
  command(nameAndArgs: string): CliCommand;
  description(text: string): CliCommand;
  option(flags: string, description?: string): CliCommand;
  // commander passes the parsed arguments untyped (`...args: any[]`); `never[]` would not accept
  // the host's real `Command` (tsconfig.real.json checks against it).
  // biome-ignore lint/suspicious/noExplicitAny: matches commander's own `action` signature
  action(fn: (...args: any[]) => void | Promise<void>): CliCommand;
}

/** What the entry module default-exports (`OpenClawPluginDefinition`). */
export interface PluginDefinition {
  id: string;
  name: string;
  description: string;
  version?: string;
  register: (api: PluginApi) => void;
}
