/**
 * creditgate plugin for OpenClaw (gate ≥2026.3.24; tested on 2026.9.6) and Clawdbot (2026.1.x).
 *
 * One synchronous `register(api)`:
 * - commands `/consumo`, `/saldo`, `/recargar`, `/burn`, `/tokens`;
 * - CLI `openclaw tokens [history|alerts]` (hosts with `registerCli`);
 * - gateway methods `billing.*`;
 * - gating hooks `before_dispatch` + `before_agent_reply` (OC only; Clawdbot has no pre-model gate);
 * - service `creditgate-notices` (delivers user notices) — also flushes pushed usage on stop;
 * - optional `before_message_write` push metering.
 */
import { registerTokensCli } from "./cli.js";
import { CreditgateClient } from "./client.js";
import { buildCommands } from "./commands.js";
import { resolveConfig } from "./config.js";
import { registerConsoleLink } from "./console-link.js";
import { Gate } from "./gate.js";
import { NoticeDelivery, noticeService } from "./notices.js";
import type { PluginApi, PluginDefinition } from "./openclaw-types.js";
import { escapeAgentReply, escapeCommandReplies, escapeDispatchReply } from "./outbound.js";
import { UsagePusher } from "./push.js";
import { registerMethods } from "./rpc.js";
import { StatusCache } from "./status-cache.js";
import { configuredIdentityLinks, configuredSlashPrefixes, useWhatsAppLidResolver } from "./user.js";
import { createWhatsAppLidResolver, defaultStateDir } from "./whatsapp-lid.js";

export const PLUGIN_ID = "creditgate";

/**
 * OpenClaw's own commands a blocked user may still run (no model): /help. The plugin's commands
 * pass too, those registered only (below).
 */
// Not /start: OpenClaw registers no /start command (commands-registry.data.ts), so a bare /start
// from a paired user is an ordinary message the model answers; /help is OpenClaw's own, no model.
const HOST_PASS = ["help"];

export interface Registered {
  client: CreditgateClient;
  cache: StatusCache;
  gate: Gate;
  notices: NoticeDelivery;
  pusher: UsagePusher | null;
}

/** Registers everything; returns the live parts (tests use them, the host ignores the return). */
export function registerCreditgate(api: PluginApi): Registered {
  const cfg = resolveConfig(api.pluginConfig);
  const log = api.logger;
  if (!cfg.apiToken)
    log.warn("creditgate: no apiToken configured (plugins.entries.creditgate.config.apiToken)");

  const client = new CreditgateClient({
    baseUrl: cfg.apiUrl,
    token: cfg.apiToken,
    timeoutMs: cfg.requestTimeoutMs,
  });
  // OpenClaw may call register() more than once in one gateway process (its plugin registries
  // are rebuilt and overlaid), and the gate hooks can come from a different registration than
  // the notice service. One status cache per creditgate per process, so a notice seen by any
  // registration drops the user's cached block for every gate.
  const state = processState();
  state.registrations++;
  const cacheKey = JSON.stringify([
    cfg.apiUrl,
    cfg.apiToken,
    cfg.statusTtlMs,
    cfg.blockedStatusTtlMs,
    cfg.requestTimeoutMs,
  ]);
  let cache = state.caches.get(cacheKey);
  if (!cache) {
    cache = new StatusCache(client, {
      ttlMs: cfg.statusTtlMs,
      blockedTtlMs: cfg.blockedStatusTtlMs,
      timeoutMs: Math.min(cfg.requestTimeoutMs, 2_000),
    });
    state.caches.set(cacheKey, cache);
  }
  const sharedCache = cache;
  // WhatsApp LID → number mappings of the gateway's state dir (the service context names the dir
  // when it starts): a DM keyed by a LID, or a sender known by it, is the number's account as the
  // meter bills it
  useWhatsAppLidResolver(createWhatsAppLidResolver(defaultStateDir(), () => api.config));
  const commands = buildCommands({ client, cache, config: cfg, logger: log });
  const gate = new Gate({
    cache,
    language: cfg.language,
    failOpen: cfg.failOpen,
    logger: log,
    // Only the commands registered: one turned off in the config (`commands: {consumo: false}`) is
    // no command on the host, so `/consumo` goes to the model and must be gated (before 2026-12-04
    // it passed whatever the config said: case gate-command-forms).
    passCommands: [...commands.map((c) => c.name), ...HOST_PASS],
    // only these pass with text after them; the others reach the model when given any
    argCommands: commands.filter((c) => c.acceptsArgs).map((c) => c.name),
    // read at each check: an operator may link ids while the gateway runs
    identityLinks: () => configuredIdentityLinks(api.config),
    // a DM bound to a spawned session gates its sender only when DMs are the users' own
    perUserDms: () => {
      const scope = (api.config as { session?: { dmScope?: string } } | undefined)?.session?.dmScope;
      return !!scope && scope !== "main";
    },
  });

  // Replies leave through outbound.ts, escaped for the channel's Markdown (notices: NoticeDelivery.send).
  for (const cmd of commands) api.registerCommand(escapeCommandReplies(cmd));

  registerMethods(api, { client, logger: log, invalidate: (u) => sharedCache.invalidate(u) });
  // `openclaw tokens …` where the host lets plugins add CLI commands.
  registerTokensCli(api, { client, language: cfg.language });
  registerConsoleLink(api, cfg.apiUrl);

  const dmScope = (api.config as { session?: { dmScope?: string } } | undefined)?.session?.dmScope;
  if (!dmScope || dmScope === "main") {
    log.warn(
      `creditgate: session.dmScope is "${dmScope ?? "main"}": every DM shares the operator's session, so usage ` +
        `cannot be billed per user and nobody is gated; set session.dmScope to "per-channel-peer"`,
    );
  }

  const hostVersion = api.runtime?.version;
  const hooks = typeof api.on === "function";
  // Clawdbot accepts any hook name in api.on but never fires before_dispatch/before_agent_reply.
  const gateHooks = hooks && hostHasPreModelGate(hostVersion) !== false;
  let gating = false;
  if (cfg.gating && gateHooks && api.on) {
    api.on("before_dispatch", escapeDispatchReply(gate.beforeDispatch));
    if (hostHasAgentReplyHook(hostVersion) !== false) {
      api.on("before_agent_reply", escapeAgentReply(gate.beforeAgentReply), { eligibleTriggers: ["user"] });
    } else {
      log.warn(
        `creditgate: this host (${hostVersion}) has no before_agent_reply hook (OpenClaw 2026.4.2): channel messages ` +
          "are gated, but turns entering by the gateway agent RPC or the OpenAI-compatible endpoint are NOT; upgrade OpenClaw to gate them",
      );
    }
    gating = true;
  } else if (cfg.gating) {
    log.warn(
      `creditgate: this host (${hostVersion ?? "unknown version"}) has no pre-model hooks: blocked users are NOT ` +
        "stopped before the model; see the plugin README (channel allowlists) for the operator's options",
    );
  }

  let pusher: UsagePusher | null = null;
  if (cfg.pushUsage && hooks && api.on && hostHasMessageWriteHook(hostVersion) !== false) {
    // the host config is read at each write: an operator may change the prefixes while it runs
    pusher = new UsagePusher({
      client,
      logger: log,
      slashPrefixes: () => configuredSlashPrefixes(api.config),
      identityLinks: () => configuredIdentityLinks(api.config),
    });
    api.on("before_message_write", pusher.onMessageWrite);
  }

  const notices = new NoticeDelivery({
    client,
    runtime: api.runtime ?? {},
    hostConfig: () => api.config,
    logger: log,
    onNotice: (n) => sharedCache.invalidate(String(n.userId).toLowerCase()),
  });
  const svc = noticeService(notices, cfg.noticePollMs, log);
  api.registerService({
    id: "creditgate-notices",
    start: (ctx) => {
      if (ctx?.stateDir) useWhatsAppLidResolver(createWhatsAppLidResolver(ctx.stateDir, () => api.config));
      if (cfg.deliverNotices) svc.start();
    },
    stop: async () => {
      await svc.stop();
      await pusher?.stop();
    },
  });

  log.info(
    `creditgate: ready (api ${cfg.apiUrl}, language ${cfg.language}, gating ${gating ? "on" : "off"}, failOpen ${cfg.failOpen}, pushUsage ${Boolean(pusher)}; registration #${state.registrations} in this process)`,
  );
  return { client, cache, gate, notices, pusher };
}

interface ProcessState {
  /** Status caches by creditgate URL, key and cache settings. */
  caches: Map<string, StatusCache>;
  registrations: number;
}
const PROCESS_STATE = Symbol.for("creditgate.plugin.process-state");
/** Shared by every registration (and every copy of this module) in the process. */
function processState(): ProcessState {
  const g = globalThis as unknown as Record<symbol, ProcessState | undefined>;
  let s = g[PROCESS_STATE];
  if (!s) {
    s = { caches: new Map(), registrations: 0 };
    g[PROCESS_STATE] = s;
  }
  return s;
}

/** `YYYY.M.D[-n]` → comparable number, or null when the version is unknown. */
function calver(version: string | undefined): number | null {
  const m = /^(\d{4})\.(\d{1,2})\.(\d{1,2})/.exec(version ?? "");
  return m ? Number(m[1]) * 10_000 + Number(m[2]) * 100 + Number(m[3]) : null;
}
/**
 * `before_dispatch` exists from OpenClaw 2026.3.24 (openclaw/openclaw#50444); null = unknown.
 * Before 2026-12-04 this said 2026.3.0: on 2026.3.0–2026.3.23 the plugin registered a hook the
 * host never fires and logged "gating on", while every blocked user reached the model (case
 * gate-host-without-hook).
 */
export function hostHasPreModelGate(version: string | undefined): boolean | null {
  const v = calver(version);
  return v === null ? null : v >= 2026_03_24;
}
/** `before_agent_reply` exists from OpenClaw 2026.4.2 (openclaw/openclaw#20067); null = unknown. */
export function hostHasAgentReplyHook(version: string | undefined): boolean | null {
  const v = calver(version);
  return v === null ? null : v >= 2026_04_02;
}
/** `before_message_write` exists from OpenClaw 2026.2.16. */
export function hostHasMessageWriteHook(version: string | undefined): boolean | null {
  const v = calver(version);
  return v === null ? null : v >= 2026_02_16;
}

const plugin: PluginDefinition = {
  id: PLUGIN_ID,
  name: "creditgate",
  description: "Prepaid credits for OpenClaw bots: /consumo, /saldo, /recargar, gating and notices",
  register(api: PluginApi): void {
    registerCreditgate(api);
  },
};

export default plugin;
