/**
 * Compile-only check against the REAL OpenClaw plugin-sdk declarations (`npm run typecheck:real`,
 * also run by the e2e harness). Nothing here executes.
 */
import type { OpenClawPluginApi, OpenClawPluginDefinition } from "openclaw/plugin-sdk/plugin-entry";
import { buildCommands, type CommandDeps } from "../../src/commands.js";
import type { Gate } from "../../src/gate.js";
import plugin from "../../src/index.js";
import type { NoticeDelivery } from "../../src/notices.js";
import { noticeService } from "../../src/notices.js";
import type { PluginApi, PluginDefinition } from "../../src/openclaw-types.js";
import { escapeAgentReply, escapeCommandReplies, escapeDispatchReply } from "../../src/outbound.js";
import type { UsagePusher } from "../../src/push.js";
import { registerMethods } from "../../src/rpc.js";

// 1. The real API is usable wherever the plugin's mirror is expected: every member the plugin
//    uses exists on the real API with a compatible signature.
export const realApiFitsMirror = (api: OpenClawPluginApi): PluginApi => api;

// 2. The plugin's default export is a valid real plugin definition.
export const definition: OpenClawPluginDefinition = plugin;
export const mirrorDefinition: PluginDefinition = plugin;

// 3. Each registration, made directly against the real API (hook names pick the real handler
//    types, so event/ctx/result shapes are checked one by one).
declare const api: OpenClawPluginApi;
declare const gate: Gate;
declare const pusher: UsagePusher;
declare const deps: CommandDeps;
declare const delivery: NoticeDelivery;
export function registerAgainstRealApi(): void {
  api.on("before_dispatch", gate.beforeDispatch);
  api.on("before_agent_reply", gate.beforeAgentReply, { eligibleTriggers: ["user"] });
  // …and as index.ts registers them: wrapped so replies are escaped for the channel.
  api.on("before_dispatch", escapeDispatchReply(gate.beforeDispatch));
  api.on("before_agent_reply", escapeAgentReply(gate.beforeAgentReply), { eligibleTriggers: ["user"] });
  api.on("before_message_write", pusher.onMessageWrite);
  for (const cmd of buildCommands(deps)) api.registerCommand(escapeCommandReplies(cmd));
  registerMethods(api, { client: deps.client, logger: api.logger, invalidate: () => {} });
  api.registerService(noticeService(delivery, 1000, api.logger));
  // 4. Proactive sends: the real outbound adapter accepts what NoticeDelivery passes.
  void api.runtime.channel.outbound
    .loadAdapter("telegram")
    .then((a) => a?.sendText?.({ cfg: api.config, to: "telegram:1", text: "x", accountId: undefined }));
}
