import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { homedir } from "node:os";
import { isAbsolute, join } from "node:path";
import Database from "better-sqlite3";
import { z } from "zod";
import { readOpenClawConfig } from "../meter/index.js";
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
  /** Longest wait for a locked OpenClaw agent database, ms (default {@link OPENCLAW_DB_BUSY_TIMEOUT_MS}). */
  busyTimeoutMs?: number;
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
 * "Storage"; older installs wrote `mode` instead of `type`). `api_key` profiles with a literal
 * `key`, or a `keyRef` / env-reference `key` that resolves read-only (see {@link resolveSecretRef}),
 * are used; tokens and OAuth credentials are subscription logins that no billing API accepts.
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
        keyRef: z.unknown().optional(),
        apiKey: z.unknown().optional(),
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

/** A key as sent in a header: non-empty, printable ASCII only (no whitespace, control or zero-width characters). */
const isUsableKey = (k: string) => /^[\x21-\x7e]+$/.test(k);
/** Why a non-empty key without whitespace cannot be sent in a header (names the character's code, never the key). */
function badKeyChar(k: string): string | null {
  const c = /[^\x21-\x7e]/u.exec(k)?.[0];
  return c === undefined
    ? null
    : `a character that cannot be sent in a header (U+${(c.codePointAt(0) ?? 0).toString(16).toUpperCase().padStart(4, "0")}, e.g. a zero-width space or control character pasted with it)`;
}

/**
 * OpenClaw's SecretRef (`src/config/types.secrets.ts`): `{ source: "env" | "file" | "exec" | <plugin>,
 * provider, id }`; legacy objects without `provider` use the default alias. Strings that are
 * references rather than keys (`${VAR}`, `$VAR`, `secretref-env:VAR`, `__env__:VAR`) are env refs.
 */
export interface SecretRef {
  source: string;
  provider: string;
  id: string;
}

const ENV_ID = /^[A-Z][A-Z0-9_]{0,127}$/;

/** A profile's `keyRef` or reference-like `key` as a {@link SecretRef}; null when it is neither. */
export function parseSecretRef(value: unknown, defaults: SecretDefaults = {}): SecretRef | null {
  if (typeof value === "string") {
    const t = value.trim();
    const m =
      /^\$\{([A-Z][A-Z0-9_]{0,127})\}$/.exec(t) ??
      /^\$([A-Z][A-Z0-9_]{0,127})$/.exec(t) ??
      /^(?:secretref-env:|__env__:)([A-Z][A-Z0-9_]{0,127})$/.exec(t);
    return m ? { source: "env", provider: defaults.env ?? "default", id: m[1] as string } : null;
  }
  if (typeof value !== "object" || value === null) return null;
  const r = value as Record<string, unknown>;
  if (typeof r.source !== "string" || !r.source.trim() || typeof r.id !== "string" || !r.id.trim())
    return null;
  const source = r.source.trim();
  const provider =
    typeof r.provider === "string" && r.provider.trim()
      ? r.provider.trim()
      : ((defaults as Record<string, string | undefined>)[source] ?? "default");
  return { source, provider, id: r.id };
}

/** `secrets.defaults` of openclaw.json: the provider alias a ref without one uses, per source. */
type SecretDefaults = { env?: string; file?: string; exec?: string };

/**
 * What of an OpenClaw state dir a ref resolves against, read once per lookup: `openclaw.json`
 * (JSON5: `secrets.providers`, `secrets.defaults`, the `env` block) and the global `.env`.
 */
interface RefContext {
  stateDir: string;
  providers: Record<string, Record<string, unknown>>;
  defaults: SecretDefaults;
  /** Variables OpenClaw would add to its environment from files: `<state>/.env` first, then openclaw.json's `env` block. */
  fileEnv: Record<string, string>;
}

/** Minimal dotenv: `KEY=value`, `export KEY=value`, quotes stripped (a comment after the closing quote too), `#` comments; never throws. */
function parseDotenv(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const raw of text.split(/\r?\n/)) {
    const m = /^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*?)\s*$/.exec(raw);
    if (!m) continue;
    let v = m[2] as string;
    const q = v[0];
    // a quoted value ends at its closing quote: `KEY="value"  # comment` is `value` (as dotenv reads it)
    const close = q === '"' || q === "'" || q === "`" ? v.indexOf(q, 1) : -1;
    if (close > 0) v = v.slice(1, close);
    else v = v.replace(/\s+#.*$/, "");
    if (!((m[1] as string) in out)) out[m[1] as string] = v;
  }
  return out;
}

function refContext(stateDir: string): RefContext {
  // missing or not JSON5: no secret providers, no env block
  const cfg = readOpenClawConfig(stateDir);
  const obj = (v: unknown): Record<string, unknown> =>
    v && typeof v === "object" && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
  const secrets = obj(cfg.secrets);
  const envBlock = obj(cfg.env);
  const fileEnv: Record<string, string> = {};
  try {
    Object.assign(fileEnv, parseDotenv(readFileSync(join(stateDir, ".env"), "utf8")));
  } catch {
    // no global .env
  }
  // the config env block applies only where the variable is missing (OpenClaw's precedence)
  for (const [k, v] of [...Object.entries(obj(envBlock.vars)), ...Object.entries(envBlock)])
    if (typeof v === "string" && ENV_ID.test(k) && !(k in fileEnv)) fileEnv[k] = v;
  return {
    stateDir,
    providers: Object.fromEntries(Object.entries(obj(secrets.providers)).map(([k, v]) => [k, obj(v)])),
    defaults: obj(secrets.defaults) as SecretDefaults,
    fileEnv,
  };
}

/** RFC 6901 pointer into parsed JSON; undefined when a segment is missing. */
function readPointer(root: unknown, pointer: string): unknown {
  let cur: unknown = root;
  for (const token of pointer.slice(1).split("/")) {
    const k = token.replace(/~1/g, "/").replace(/~0/g, "~");
    if (Array.isArray(cur)) cur = /^\d+$/.test(k) ? cur[Number(k)] : undefined;
    else if (cur && typeof cur === "object" && Object.hasOwn(cur, k))
      cur = (cur as Record<string, unknown>)[k];
    else return undefined;
  }
  return cur;
}

/** Largest secrets file read for a `file` ref (OpenClaw's own default limit). */
const MAX_SECRET_FILE_BYTES = 1024 * 1024;

/**
 * Resolves an OpenClaw SecretRef **read-only, without running anything**, the way OpenClaw's
 * `src/secrets/resolve.ts` does for the sources that are files:
 * - `env`: the variable from `<state>/.env`, else openclaw.json's `env` block (`env.vars.X` or
 *   `env.X`). The gateway's own process environment cannot be read from outside; set
 *   `CREDITGATE_<P>_KEY` for a variable only that environment has. A configured env provider's
 *   `allowlist` is honoured.
 * - `file`: `secrets.providers.<provider>` `{ source: "file", path, mode }`: `singleValue` (id
 *   `value`: the whole file, one trailing newline removed) or `json` (default; id is a JSON
 *   pointer like `/providers/openai/apiKey`). At most 1 MiB.
 * - `exec` and plugin sources (`gcp`, `keyring`, …): not resolved (they run a program).
 * Returns the key or a reason it could not (naming the ref, never a secret).
 */
export function resolveSecretRef(ref: SecretRef, c: RefContext): { key: string } | { reason: string } {
  const label = `${ref.source}:${ref.provider}:${ref.id}`;
  const conf = c.providers[ref.provider];
  if (ref.source === "env") {
    if (conf && conf.source !== "env")
      return { reason: `${label}: secrets.providers.${ref.provider} is not an env provider` };
    if (!conf && ref.provider !== (c.defaults.env ?? "default"))
      return { reason: `${label}: secret provider "${ref.provider}" is not configured in openclaw.json` };
    const allow = conf?.allowlist;
    if (Array.isArray(allow) && !allow.includes(ref.id))
      return { reason: `${label}: ${ref.id} is not in secrets.providers.${ref.provider}.allowlist` };
    const v = c.fileEnv[ref.id]?.trim();
    if (!v)
      return {
        reason: `${label}: ${ref.id} is not set in ${join(c.stateDir, ".env")} or openclaw.json's env block (the gateway's process environment is not readable; set creditgate's own key variable)`,
      };
    return { key: v };
  }
  if (ref.source === "file") {
    if (conf?.source !== "file" || typeof conf.path !== "string")
      return {
        reason: `${label}: secrets.providers.${ref.provider} is not a file provider in openclaw.json`,
      };
    const path = conf.path.startsWith("~/") ? join(homedir(), conf.path.slice(2)) : conf.path;
    if (!isAbsolute(path)) return { reason: `${label}: the provider's path must be absolute` };
    let text: string;
    try {
      if (statSync(path).size > MAX_SECRET_FILE_BYTES)
        return { reason: `${label}: ${path} is larger than 1 MiB` };
      text = readFileSync(path, "utf8").replace(/^\uFEFF/, "");
    } catch (err) {
      return { reason: `${label}: ${path}: ${(err as NodeJS.ErrnoException).code ?? "unreadable"}` };
    }
    let value: unknown;
    if (conf.mode === "singleValue") {
      if (ref.id !== "value") return { reason: `${label}: a singleValue file provider expects id "value"` };
      value = text.replace(/\r?\n$/, "");
    } else {
      if (!ref.id.startsWith("/"))
        return { reason: `${label}: the id must be a JSON pointer like /openai/apiKey` };
      try {
        value = readPointer(JSON.parse(text), ref.id);
      } catch {
        return { reason: `${label}: ${path} is not JSON` };
      }
    }
    if (typeof value !== "string" || !value.trim()) return { reason: `${label}: no string value there` };
    return { key: value.trim() };
  }
  return {
    reason: `${label}: "${ref.source}" references run a program or plugin; creditgate resolves only env and file references`,
  };
}

/** Result of looking a provider up in OpenClaw's auth profiles. */
export interface OpenClawLookup {
  /** The first usable key, or null. */
  found: ResolvedKey | null;
  /** Profiles of this provider that could not be used, with why (refs that do not resolve, keys with whitespace). Never a key. */
  skipped: { source: string; reason: string }[];
}

/** `auth-profiles.json` files under the state dirs, the `main` agent's first. */
export function authProfileFiles(
  stateDirs: readonly string[],
): { agent: string; path: string; stateDir: string }[] {
  return agentAuthStores(stateDirs).map((a) => ({ agent: a.agent, path: a.jsonPath, stateDir: a.stateDir }));
}

/** One agent's two possible credential stores: the SQLite database (OpenClaw 2026.9+) and the legacy JSON file. */
interface AgentAuthStore {
  agent: string;
  stateDir: string;
  /** `<state>/agents/<agent>/agent/openclaw-agent.sqlite`, table `auth_profile_store`. */
  dbPath: string;
  /** `<state>/agents/<agent>/agent/auth-profiles.json`. */
  jsonPath: string;
}

/** Every agent dir under the state dirs, the `main` agent's first. */
function agentAuthStores(stateDirs: readonly string[]): AgentAuthStore[] {
  const out: AgentAuthStore[] = [];
  for (const dir of stateDirs) {
    let agents: string[];
    try {
      agents = readdirSync(join(dir, "agents"));
    } catch {
      continue;
    }
    agents.sort((a, b) => (a === "main" ? -1 : b === "main" ? 1 : a.localeCompare(b)));
    for (const agent of agents) {
      const agentDir = join(dir, "agents", agent, "agent");
      out.push({
        agent,
        stateDir: dir,
        dbPath: join(agentDir, "openclaw-agent.sqlite"),
        jsonPath: join(agentDir, "auth-profiles.json"),
      });
    }
  }
  return out;
}

/** How long a read of OpenClaw's agent database waits for a writer's lock before giving up for this poll (ms). */
export const OPENCLAW_DB_BUSY_TIMEOUT_MS = 2000;

/** The row OpenClaw keeps its whole auth profile store in (`auth_profile_store.store_key`). */
const AUTH_STORE_KEY = "primary";

/**
 * Reads the auth profile store OpenClaw 2026.9+ keeps in the agent database: table
 * `auth_profile_store (store_key TEXT PRIMARY KEY, store_json TEXT NOT NULL, updated_at INTEGER
 * NOT NULL) STRICT`, row `store_key = 'primary'`, `store_json` = the JSON that
 * `auth-profiles.json` used to hold (`{ version, profiles }`; order and lastGood live in
 * `auth_profile_state`). Opened **read-only** (`readonly`, `fileMustExist`, `query_only`; never
 * created, written, checkpointed or switched out of WAL) in one short read, waiting at most
 * `busyTimeoutMs` for a writer's lock. Returns `{ store }` (the parsed JSON), `{ none }` when the
 * database has the table but no store row, or no table (`noTable`), or `{ error }` with a reason
 * naming the file (locked, not a database, store_json not JSON), never its content. Never throws.
 */
export function readOpenClawAuthDb(
  dbPath: string,
  busyTimeoutMs: number = OPENCLAW_DB_BUSY_TIMEOUT_MS,
): { store: unknown } | { none: "noRow" | "noTable" } | { error: string } {
  let db: Database.Database | null = null;
  try {
    db = new Database(dbPath, { readonly: true, fileMustExist: true, timeout: busyTimeoutMs });
    db.pragma("query_only = 1");
    const table = db
      .prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'auth_profile_store'")
      .get();
    if (!table) return { none: "noTable" };
    const row = db
      .prepare("SELECT store_json FROM auth_profile_store WHERE store_key = ?")
      .get(AUTH_STORE_KEY) as { store_json: unknown } | undefined;
    if (!row) return { none: "noRow" };
    if (typeof row.store_json !== "string")
      return { error: `${dbPath}: auth_profile_store.store_json is not text` };
    try {
      return { store: JSON.parse(row.store_json) };
    } catch {
      return { error: `${dbPath}: auth_profile_store.store_json is not JSON` };
    }
  } catch (err) {
    const code = (err as { code?: string }).code ?? "";
    if (code === "SQLITE_BUSY" || code === "SQLITE_LOCKED")
      return {
        error: `${dbPath} is locked by OpenClaw (still busy after ${busyTimeoutMs} ms); tried again at the next poll`,
      };
    if (code === "SQLITE_NOTADB" || code === "SQLITE_CORRUPT")
      return { error: `${dbPath} is not a readable SQLite database (${code}: damaged or not a database)` };
    if (code === "SQLITE_CANTOPEN")
      return {
        error: `${dbPath} cannot be opened read-only (SQLITE_CANTOPEN: run creditgate as the gateway's user, which needs the -shm file of a WAL database)`,
      };
    return { error: `${dbPath}: ${code || "unreadable"}` };
  } finally {
    try {
      db?.close();
    } catch {
      // closing a read-only connection cannot lose anything
    }
  }
}

/** Reads a legacy `auth-profiles.json`; null when missing or unreadable (as before: the next agent is tried). */
function readAuthJson(path: string): unknown {
  try {
    // a byte-order mark (an editor's save) is not part of the JSON
    return JSON.parse(readFileSync(path, "utf8").replace(/^\uFEFF/, ""));
  } catch {
    return null;
  }
}

/**
 * One agent's auth profiles: from the SQLite store when the database has a `primary` row (it
 * wins: OpenClaw 2026.9 imports `auth-profiles.json` into it once and then writes only the
 * database, so a JSON file next to it is a stale copy), else from `auth-profiles.json` (an older
 * OpenClaw, or one that has not imported the file yet). A database that exists but cannot be
 * read (locked, damaged) is an error for this agent, not a reason to trust the possibly stale
 * JSON; a database without the table (OpenClaw 2026.7–2026.8 kept transcripts there but auth
 * in JSON) falls back to the JSON, and is an error only when there is no JSON either.
 */
function agentProfiles(
  a: AgentAuthStore,
  busyTimeoutMs: number,
):
  | { profiles: z.infer<typeof authProfilesSchema>["profiles"]; from: "sqlite" | "json" }
  | { error: string }
  | null {
  let noTable = false;
  if (existsSync(a.dbPath)) {
    const r = readOpenClawAuthDb(a.dbPath, busyTimeoutMs);
    if ("error" in r) return r;
    if ("store" in r) {
      const parsed = authProfilesSchema.safeParse(r.store);
      if (!parsed.success) return { error: `${a.dbPath}: the auth_profile_store row has no profiles object` };
      return { profiles: parsed.data.profiles, from: "sqlite" };
    }
    noTable = r.none === "noTable";
  }
  const parsed = authProfilesSchema.safeParse(readAuthJson(a.jsonPath));
  if (parsed.success) return { profiles: parsed.data.profiles, from: "json" };
  if (noTable && !existsSync(a.jsonPath))
    return {
      error: `${a.dbPath} has no auth_profile_store table and there is no auth-profiles.json (an OpenClaw release this reader does not know)`,
    };
  return null;
}

/**
 * OpenClaw's own normalisation of a stored profile (`src/agents/auth-profiles/persisted.ts`):
 * `type` falls back to the legacy `mode`, `apiKey` means `api_key`, an `apiKey` field is the key,
 * and a `key` that is a SecretRef object is the `keyRef`.
 */
function normaliseProfile(p: z.infer<typeof authProfilesSchema>["profiles"][string]) {
  const rawType = p.type ?? p.mode;
  const type = rawType === "apiKey" ? "api_key" : rawType;
  const key = p.key === undefined && p.keyRef === undefined ? p.apiKey : p.key;
  return { type, provider: p.provider, key, keyRef: p.keyRef };
}

/**
 * The first usable OpenClaw API-key profile for `provider` (agent `main` first, `<provider>:default`
 * first): a literal `key`, else its `keyRef` (or a reference-like `key`) resolved read-only
 * ({@link resolveSecretRef}). Each agent's profiles come from its SQLite store when it has one,
 * else `auth-profiles.json` (see {@link agentProfiles}). Profiles and agent databases that cannot
 * be used are listed in `skipped`. Never throws. `busyTimeoutMs`: the longest wait for a locked
 * agent database (default {@link OPENCLAW_DB_BUSY_TIMEOUT_MS}).
 */
export function lookupOpenClawKey(
  provider: ProviderId,
  stateDirs: readonly string[],
  busyTimeoutMs: number = OPENCLAW_DB_BUSY_TIMEOUT_MS,
): OpenClawLookup {
  const skipped: OpenClawLookup["skipped"] = [];
  const contexts = new Map<string, RefContext>();
  for (const f of agentAuthStores(stateDirs)) {
    const got = agentProfiles(f, busyTimeoutMs);
    if (got === null) continue; // no store for this agent: try the next
    if ("error" in got) {
      skipped.push({ source: `openclaw:${f.agent}`, reason: got.error });
      continue;
    }
    const tag = got.from === "sqlite" ? "sqlite" : null;
    const entries = Object.entries(got.profiles)
      .map(([name, raw]) => [name, normaliseProfile(raw)] as const)
      .filter(
        ([, p]) =>
          p.type === "api_key" &&
          OPENCLAW_PROVIDERS[provider].includes((p.provider ?? "").trim().toLowerCase()),
      )
      .sort(([a], [b]) => (a.endsWith(":default") ? -1 : b.endsWith(":default") ? 1 : a.localeCompare(b)));
    for (const [name, p] of entries) {
      const source = `openclaw:${f.agent}/${name}`;
      // OpenClaw: an explicit keyRef wins over the key; a key that is a reference is one too.
      // The state dir's openclaw.json and .env are read only for a profile that needs them.
      const isRef = parseSecretRef(p.keyRef) !== null || parseSecretRef(p.key) !== null;
      const c = isRef ? (contexts.get(f.stateDir) ?? refContext(f.stateDir)) : null;
      if (c) contexts.set(f.stateDir, c);
      const ref = c ? (parseSecretRef(p.keyRef, c.defaults) ?? parseSecretRef(p.key, c.defaults)) : null;
      if (c && ref) {
        const r = resolveSecretRef(ref, c);
        if ("key" in r && isUsableKey(r.key))
          return {
            found: { key: r.key, source: `${source} (${tag ? `${tag}, ` : ""}${ref.source} ref)` },
            skipped,
          };
        skipped.push({
          source,
          reason:
            "key" in r
              ? `the referenced key has ${/\s/.test(r.key) ? "whitespace inside" : badKeyChar(r.key)}`
              : r.reason,
        });
        continue;
      }
      if (typeof p.key === "string" && isUsableKey(p.key.trim()))
        return { found: { key: p.key.trim(), source: tag ? `${source} (${tag})` : source }, skipped };
      if (typeof p.key === "string" && p.key.trim() !== "")
        skipped.push({
          source,
          reason: `the key has ${/\s/.test(p.key.trim()) ? "whitespace inside" : badKeyChar(p.key.trim())}`,
        });
    }
  }
  return { found: null, skipped };
}

/** The first usable OpenClaw API-key profile for `provider`, or null ({@link lookupOpenClawKey}). Never throws. */
export function keyFromOpenClaw(provider: ProviderId, stateDirs: readonly string[]): ResolvedKey | null {
  return lookupOpenClawKey(provider, stateDirs).found;
}

/**
 * The key for one poll: `CREDITGATE_<P>_KEY`, else the file in `CREDITGATE_<P>_KEY_FILE`, else
 * (when opted in) OpenClaw's auth profiles. Read at every poll and kept in memory for it only, so
 * a rotated key is picked up and no copy is made. Null: none configured or found. Errors: the key
 * file cannot be read or is empty (CollectorError `no_key`, naming the file, never its content);
 * the file holds more than one line or the key has whitespace inside (CollectorError `config`).
 */
export function resolveKey(
  provider: ProviderId,
  cfg: KeyConfig,
  openclaw: OpenClawKeySource,
): ResolvedKey | null {
  if (cfg.value) {
    const key = cfg.value.trim();
    if (/\s/.test(key))
      throw new CollectorError(
        "config",
        `CREDITGATE_${provider.toUpperCase()}${provider === "openai" || provider === "anthropic" ? "_ADMIN" : ""}_KEY holds whitespace or a line break inside the key; set only the key`,
      );
    const bad = badKeyChar(key);
    if (bad)
      throw new CollectorError(
        "config",
        `CREDITGATE_${provider.toUpperCase()}${provider === "openai" || provider === "anthropic" ? "_ADMIN" : ""}_KEY holds ${bad}; set only the key`,
      );
    return { key, source: "env" };
  }
  if (cfg.file) {
    let text: string;
    try {
      text = readFileSync(cfg.file, "utf8").trim();
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? "unreadable";
      throw new CollectorError("no_key", `key file ${cfg.file}: ${code}`);
    }
    if (text === "") throw new CollectorError("no_key", `key file ${cfg.file} is empty`);
    // Two lines (a key and a comment, two keys) or a key with a space: sending it would fail as a
    // header error ("network"); say what is wrong with the file instead, never its content.
    if (/\s/.test(text)) {
      const lines = text.split(/\r?\n/).length;
      throw new CollectorError(
        "config",
        lines > 1
          ? `key file ${cfg.file} holds ${lines} lines; it must hold only the key, on one line`
          : `key file ${cfg.file} holds whitespace inside the key; it must hold only the key`,
      );
    }
    const bad = badKeyChar(text);
    if (bad)
      throw new CollectorError("config", `key file ${cfg.file} holds ${bad}; it must hold only the key`);
    return { key: text, source: "file" };
  }
  if (openclaw.enabled) {
    const l = lookupOpenClawKey(provider, openclaw.stateDirs, openclaw.busyTimeoutMs);
    if (l.found) return l.found;
    if (l.skipped.length > 0)
      throw new CollectorError(
        "config",
        `OpenClaw auth profiles: ${l.skipped.map((x) => `${x.source}: ${x.reason}`).join("; ")}`,
      );
  }
  return null;
}
