import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";

/** Config files OpenClaw (and its Clawdbot/Moltbot eras) keeps in its state dir. */
const CONFIG_FILES = ["openclaw.json", "clawdbot.json", "moltbot.json"];

/**
 * The configured `session.mainKey` of the state dir holding `agentDir` (`<state>/agents/<id>`),
 * lower-cased as OpenClaw's `normalizeMainKey` does, or null for the default `main`.
 *
 * OpenClaw collapses DMs (under the default `dmScope:"main"`), heartbeats and the Control UI
 * into `agent:<id>:<mainKey>` ("session.mainKey is honored", docs/concepts/session): with a
 * custom main key that session's key is an unfamiliar shape, and its entry's `origin`/`lastTo`
 * name whoever spoke last, so the meter must know the key to bill it to the operator.
 * The file is JSON5; read like `dmScopeWarnings` reads `dmScope`, first file that names one.
 */
export function configuredMainKey(agentDir: string): string | null {
  const stateDir = dirname(dirname(agentDir));
  for (const file of CONFIG_FILES) {
    let text: string;
    try {
      text = readFileSync(join(stateDir, file), "utf8");
    } catch {
      continue;
    }
    const m = /["']?mainKey["']?\s*:\s*["']([^"']*)["']/.exec(text);
    if (!m) continue;
    const key = (m[1] ?? "").trim().toLowerCase();
    return key && key !== "main" ? key : null;
  }
  return null;
}
