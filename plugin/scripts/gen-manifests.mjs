// Writes openclaw.plugin.json and the identical clawdbot.plugin.json from src/config.ts (run after build).
import { writeFileSync } from "node:fs";

const { CONFIG_SCHEMA } = await import(new URL("../dist/config.js", import.meta.url));
const m = {
  id: "creditgate",
  name: "creditgate",
  description:
    "Prepaid credits for the bot's users: /consumo, /saldo, /recargar, /burn, /tokens, billing.* gateway methods, pre-model gating and balance notices",
  activation: { onStartup: true },
  commandAliases: ["consumo", "saldo", "recargar", "burn", "tokens"].map((name) => ({
    name,
    kind: "runtime-slash",
  })),
  configSchema: CONFIG_SCHEMA,
};
const text = `${JSON.stringify(m, null, 2)}\n`;
writeFileSync(new URL("../openclaw.plugin.json", import.meta.url), text);
writeFileSync(new URL("../clawdbot.plugin.json", import.meta.url), text);
