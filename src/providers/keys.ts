import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { z } from "zod";
import { CollectorError, type ProviderId } from "./types.js";

/** Where one provider's key comes from (config). Both null: not configured by config. */
export interface KeyConfig {
  /** The key itself (`CREDITGATE_<P>_KEY`). */
  value: string | null;
  /** A file holding the key (`CREDITGATE_<P>_KEY_FILE`), read at each poll; surrounding whitespace is trimmed. */
  file: string | null;
}

/** Opt-in (`CREDITGATE_PROVIDERS_FROM_OPENCLAW=true`): read keys from the OpenClaw install, read-only. */
export interface OpenClawKeySource {
  enabled: boolean;
  /** State dirs to look in (`~/.openclaw`, …, as the meter finds them). */
  stateDirs: readonly string[];
}

/** A key found for a poll; `source` is safe to store and show, `key` never is. */
export interface ResolvedKey {
  key: string;
  source: string;
}

/**
 * OpenClaw's per-agent credential store, `<state>/agents/<agentId>/agent/auth-profiles.json`:
 * `{ version, profiles: { "<provider>:<name>": { type: "api_key", provider, key } | { type:
 * "token", … } | { type: "oauth", … } }, order?, lastGood? }` (OpenClaw docs, "OAuth" →
 * "Storage"; older installs wrote `mode` instead of `type`). Only `api_key` profiles with a
 * literal `key` are used; tokens and OAuth credentials are subscription logins that no billing
 * API accepts.
 */
const authProfilesSchema = z.object({
  profiles: z.record(
    z.string(),
    z
      .object({
        type: z.string().optional(),
        mode: z.string().optional(),
        provider: z.string().optional(),
        key: z.unknown().optional(),
      })
      .loose(),
  ),
});

/** OpenClaw provider ids whose API keys a collector can use. */
const OPENCLAW_PROVIDERS: Record<ProviderId, readonly string[]> = {
  openrouter: ["openrouter"],
  openai: ["openai"],
  anthropic: ["anthropic"],
  moonshot: ["moonshot"],
  deepseek: ["deepseek"],
};

/**
 * A profile's `key` that is the key itself: a non-empty string without inner whitespace that is
 * not an environment reference (`${OPENROUTER_API_KEY}`, which OpenClaw resolves from its own
 * environment; creditgate does not read another process's environment, and sending the
 * reference as a key would only be refused as `unauthorized`).
 */
function isLiteralKey(key: unknown): key is string {
  if (typeof key !== "string") return false;
  const k = key.trim();
  return k !== "" && !/\s/.test(k) && !/^\$\{[^}]*\}$/.test(k) && !/^\$[A-Z_][A-Z0-9_]*$/.test(k);
}

/** `auth-profiles.json` files under the state dirs, the `main` agent's first. */
export function authProfileFiles(stateDirs: readonly string[]): { agent: string; path: string }[] {
  const out: { agent: string; path: string }[] = [];
  for (const dir of stateDirs) {
    let agents: string[];
    try {
      agents = readdirSync(join(dir, "agents"));
    } catch {
      continue;
    }
    agents.sort((a, b) => (a === "main" ? -1 : b === "main" ? 1 : a.localeCompare(b)));
    for (const agent of agents)
      out.push({ agent, path: join(dir, "agents", agent, "agent", "auth-profiles.json") });
  }
  return out;
}

/** The first usable OpenClaw API-key profile for `provider` (`<provider>:default` first), or null. Never throws. */
export function keyFromOpenClaw(provider: ProviderId, stateDirs: readonly string[]): ResolvedKey | null {
  for (const f of authProfileFiles(stateDirs)) {
    let parsed: z.infer<typeof authProfilesSchema>;
    try {
      // a byte-order mark (an editor's save) is not part of the JSON
      const r = authProfilesSchema.safeParse(JSON.parse(readFileSync(f.path, "utf8").replace(/^\uFEFF/, "")));
      if (!r.success) continue;
      parsed = r.data;
    } catch {
      continue; // missing or unreadable: try the next agent
    }
    const entries = Object.entries(parsed.profiles)
      .filter(
        ([, p]) =>
          (p.type ?? p.mode) === "api_key" &&
          OPENCLAW_PROVIDERS[provider].includes((p.provider ?? "").trim().toLowerCase()),
      )
      .filter(([, p]) => isLiteralKey(p.key))
      .sort(([a], [b]) => (a.endsWith(":default") ? -1 : b.endsWith(":default") ? 1 : a.localeCompare(b)));
    const hit = entries[0];
    if (hit) return { key: String(hit[1].key).trim(), source: `openclaw:${f.agent}/${hit[0]}` };
  }
  return null;
}

/**
 * The key for one poll: `CREDITGATE_<P>_KEY`, else the file in `CREDITGATE_<P>_KEY_FILE`, else
 * (when opted in) OpenClaw's auth profiles. Read at every poll and kept in memory for it only, so
 * a rotated key is picked up and no copy is made. Null: none configured or found. Errors: the key
 * file cannot be read or is empty (CollectorError `no_key`, naming the file, never its content).
 */
export function resolveKey(
  provider: ProviderId,
  cfg: KeyConfig,
  openclaw: OpenClawKeySource,
): ResolvedKey | null {
  if (cfg.value) return { key: cfg.value.trim(), source: "env" };
  if (cfg.file) {
    let text: string;
    try {
      text = readFileSync(cfg.file, "utf8").trim();
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? "unreadable";
      throw new CollectorError("no_key", `key file ${cfg.file}: ${code}`);
    }
    if (text === "") throw new CollectorError("no_key", `key file ${cfg.file} is empty`);
    return { key: text, source: "file" };
  }
  if (openclaw.enabled) return keyFromOpenClaw(provider, openclaw.stateDirs);
  return null;
}
