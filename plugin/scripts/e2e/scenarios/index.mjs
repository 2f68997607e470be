// The e2e scenarios in the order the harness runs them. Later scenarios build on the state earlier
// ones leave (users, balances, the running gateway, `ctx.state`), so the order matters.
import * as commands from "./commands.mjs";
import * as commandsRegistered from "./commands-registered.mjs";
import * as creditgate from "./creditgate.mjs";
import * as formatting from "./formatting.mjs";
import * as gate from "./gate.mjs";
import * as hygiene from "./hygiene.mjs";
import * as install from "./install.mjs";
import * as metering from "./metering.mjs";
import * as notices from "./notices.mjs";
import * as pluginTypes from "./plugin-types.mjs";
import * as rpc from "./rpc.mjs";
import * as tokensCli from "./tokens-cli.mjs";

/** Before any process starts: need only the cached openclaw and the built plugin. */
export const STATIC_SCENARIOS = [pluginTypes, formatting];

/** In the loopback world (real creditgate, mock model, stand-in Telegram), in this order. */
export const SCENARIOS = [
  creditgate, // creditgate up; users set up with its CLI
  install, // plugin installed, inspected; gateway started
  commandsRegistered, // the running gateway's commands and Telegram menu
  rpc, // billing.* gateway methods
  tokensCli, // `openclaw tokens` / `tokens history` / `tokens alerts` against a fake creditgate
  gate, // blocked users stopped before the model, allowed users through
  commands, // /consumo, /recargar, /saldo, /burn from Telegram
  notices, // worker notices delivered once and acked; unblock lifts the cached block
  metering, // the meter billed exactly the model's tokens
  hygiene, // Telegram accepted every send; no egress
];
