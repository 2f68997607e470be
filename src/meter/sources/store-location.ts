import { existsSync, readdirSync, realpathSync } from "node:fs";
import { homedir } from "node:os";
import { basename, dirname, isAbsolute, join, resolve } from "node:path";
import { readOpenClawConfig } from "./openclaw-config.js";

// Where an agent's sessions live when `session.store` in the OpenClaw config moves them out of
// `<state>/agents/<id>/sessions/`. Mirrors OpenClaw's own resolution (src/config/sessions/
// paths.ts `resolveStorePath`, `resolveSessionFilePathOptions`; session-sqlite-target.ts
// `resolveUnsuffixedSqliteTargetFromSessionStorePath`, `resolveCustomStoreSqlitePath`).

const obj = (v: unknown): Record<string, unknown> | null =>
  v && typeof v === "object" && !Array.isArray(v) ? (v as Record<string, unknown>) : null;

/** The raw `session.store` of a state dir's OpenClaw config (trimmed), or null when unset. */
export function configuredSessionStore(stateDir: string): string | null {
  const raw = obj(readOpenClawConfig(stateDir).session)?.store;
  if (typeof raw !== "string") return null;
  const s = raw.trim();
  return s ? s : null;
}

/**
 * The configured default agent of a state dir: the `agents.list[]` entry or `agents.entries.<id>`
 * marked `default: true` (lower-cased), else `main` (OpenClaw's `DEFAULT_AGENT_ID`). A relocated
 * store's unsuffixed SQLite file is the default agent's.
 */
export function configuredDefaultAgent(stateDir: string): string {
  const agents = obj(readOpenClawConfig(stateDir).agents);
  const list = Array.isArray(agents?.list) ? agents.list : [];
  for (const e of list) {
    const o = obj(e);
    if (o?.default === true && typeof o.id === "string" && o.id.trim()) return o.id.trim().toLowerCase();
  }
  for (const [id, e] of Object.entries(obj(agents?.entries) ?? {}))
    if (obj(e)?.default === true && id.trim()) return id.trim().toLowerCase();
  return "main";
}

/**
 * The absolute path of an agent's session store (`sessions.json` or its configured name) for a
 * `session.store` value, as OpenClaw's `resolveStorePath` resolves it: `{agentId}` replaced by
 * the agent id, a leading `~` expanded to `home` (`OPENCLAW_HOME`, else `HOME`; absent: the
 * user's home directory), and a relative
 * path resolved against the working directory (OpenClaw uses the gateway's; the meter's is used,
 * so run it from the same directory or configure an absolute path).
 */
export function resolveSessionStorePath(store: string, agentId: string, home: string | null = null): string {
  const expanded = store.replaceAll("{agentId}", agentId);
  if (expanded === "~" || expanded.startsWith("~/") || expanded.startsWith("~\\")) {
    return resolve(home?.trim() || homedir(), `.${expanded.slice(1)}`);
  }
  return resolve(expanded);
}

/**
 * Where a `session.store` value may put an agent's store: `resolveSessionStorePath`, and for a
 * relative path also against the state dir (the gateway's working directory is not known to the
 * meter; a gateway started from its state dir, or a path written relative to the config beside
 * it, resolves there). Reading a place that holds nothing costs nothing; dedupe covers the rest.
 */
export function sessionStorePaths(
  store: string,
  agentId: string,
  stateDir: string,
  home: string | null = null,
): string[] {
  const p = resolveSessionStorePath(store, agentId, home);
  const expanded = store.replaceAll("{agentId}", agentId);
  if (expanded.startsWith("~") || isAbsolute(expanded)) return [p];
  const q = resolve(stateDir, expanded);
  return q === p ? [p] : [p, q];
}

/** A session-file directory of an agent: its transcripts and the index naming their sessions. */
export interface SessionsLocation {
  /** The directory holding `<sessionId>.jsonl` and its archives. */
  dir: string;
  /** The session index (`sessions.json`, or the configured store file). */
  index: string;
}

/** An OpenClaw SQLite store an agent may own. */
export interface StoreLocation {
  /** The database file. */
  file: string;
  /** Where its `.jsonl.{deleted,reset}.*.zst` archives and `cold/` are published. */
  sessionsDir: string;
  /**
   * The agent the file's name reserves it for (`<base>.<agentId>[.<n>].sqlite`), or null for the
   * unsuffixed file (the configured default agent's, or every agent's for an exact `.sqlite` store).
   */
  suffixAgent: string | null;
}

/** The default places of an agent dir `<state>/agents/<id>`. */
export function defaultSessions(agentDir: string): SessionsLocation {
  const dir = join(agentDir, "sessions");
  return { dir, index: join(dir, "sessions.json") };
}

/**
 * Where a configured session store path puts an agent's session files: the store's directory
 * (OpenClaw writes transcripts beside the store, `resolveSessionFilePathOptions`), indexed by the
 * store file itself; an exact SQLite store (`….sqlite`) has no JSON index (`sessions.json` beside
 * it is looked for, usually absent).
 */
export function relocatedSessions(storePath: string): SessionsLocation {
  const dir = dirname(storePath);
  return { dir, index: storePath.endsWith(".sqlite") ? join(dir, "sessions.json") : storePath };
}

/**
 * Where OpenClaw publishes the archives of a store in `storeDir` (`.jsonl.{deleted,reset}.*.zst`,
 * `cold/`): the store's own directory, but for a directory named `agent` its sibling `sessions`
 * (OpenClaw's `resolveSessionArtifactDirectory`, used by `resolveSqliteTranscriptArchiveDirectory`
 * and `resolveSessionColdArchivePath`), as for the default `agents/<id>/agent/openclaw-agent.sqlite`.
 * Before 2026-12-03 a relocated store in a directory named `agent` had its archives looked for
 * beside it: a session whose rows went to cold storage (a file) before the meter read them was
 * never billed.
 */
export function storeArtifactDir(storeDir: string): string {
  return basename(storeDir) === "agent" ? join(dirname(storeDir), "sessions") : storeDir;
}

/**
 * The SQLite store files a configured session store path leads to (OpenClaw ≥ 2026.7.2), given
 * the names in its directory: an exact `….sqlite` path is the store itself; `…/agents/<a>/sessions/
 * sessions.json` is `…/agents/<a>/agent/openclaw-agent.sqlite`; any other path `<dir>/<base>.sqlite`
 * (`<base>` the store file's name without extension, `openclaw-agent` for `sessions.json`) plus
 * the per-agent partitions OpenClaw adds beside it, `<base>.<agentId>.sqlite` and
 * `<base>.<agentId>.<n>.sqlite`, for agents that do not own the unsuffixed file. Each one's archives
 * are in `storeArtifactDir`.
 */
export function relocatedStores(storePath: string, namesInDir: readonly string[]): StoreLocation[] {
  const dir = dirname(storePath);
  const name = basename(storePath);
  const sessionsDir = storeArtifactDir(dir);
  if (storePath.endsWith(".sqlite")) return [{ file: storePath, sessionsDir, suffixAgent: null }];
  if (
    name === "sessions.json" &&
    basename(dir) === "sessions" &&
    basename(dirname(dirname(dir))) === "agents"
  )
    return [
      { file: join(dirname(dir), "agent", "openclaw-agent.sqlite"), sessionsDir: dir, suffixAgent: null },
    ];
  const base = name === "sessions.json" ? "openclaw-agent" : name.replace(/\.[^.]*$/, "") || "openclaw-agent";
  const out: StoreLocation[] = [{ file: join(dir, `${base}.sqlite`), sessionsDir, suffixAgent: null }];
  for (const n of [...namesInDir].sort()) {
    if (!n.startsWith(`${base}.`) || !n.endsWith(".sqlite") || n === `${base}.sqlite`) continue;
    const m = /^([a-z0-9_-]+)(?:\.[1-9]\d*)?$/.exec(n.slice(base.length + 1, -".sqlite".length));
    if (m?.[1]) out.push({ file: join(dir, n), sessionsDir, suffixAgent: m[1] });
  }
  return out;
}

/**
 * The session index a sibling agent's sessions are named in (spawn chains across agents): its
 * configured store when `session.store` is set and names a JSON index, else its default.
 */
export function agentIndexPath(stateDir: string, agentId: string, home: string | null = null): string {
  const store = configuredSessionStore(stateDir);
  const paths = store
    ? sessionStorePaths(store, agentId, stateDir, home).filter((p) => !p.endsWith(".sqlite"))
    : [];
  return (
    paths.find((p) => existsSync(p)) ?? paths[0] ?? defaultSessions(join(stateDir, "agents", agentId)).index
  );
}

/** The names in a directory, or none when it cannot be listed (absent: the store is not there yet). */
export function namesIn(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

/**
 * The OpenClaw store a sibling agent's sessions are in (spawn chains across agents): its default
 * `agents/<id>/agent/openclaw-agent.sqlite` when it exists, else, under a configured
 * `session.store`, the partition named for it, else the unsuffixed one. Null when none exists.
 */
export function agentStoreFile(stateDir: string, agentId: string, home: string | null = null): string | null {
  const def = join(stateDir, "agents", agentId, "agent", "openclaw-agent.sqlite");
  if (existsSync(def)) return def;
  const store = configuredSessionStore(stateDir);
  if (!store) return null;
  const found = sessionStorePaths(store, agentId, stateDir, home)
    .flatMap((p) => relocatedStores(p, namesIn(dirname(p))))
    .filter((s) => existsSync(s.file));
  return (
    (found.find((s) => s.suffixAgent === agentId) ?? found.find((s) => s.suffixAgent === null))?.file ?? null
  );
}

/** A path as one thing on disk: its real path when it exists, else its resolved form. */
export function placeKey(p: string): string {
  try {
    return realpathSync(p);
  } catch {
    return resolve(p);
  }
}

/** What a configured `session.store` adds to one agent's sources beyond its own agent dir. */
export interface RelocatedSources {
  agentId: string;
  agentDir: string;
  /** OpenClaw stores to read besides `<agentDir>/agent/openclaw-agent.sqlite`. */
  stores: StoreLocation[];
  /** Session-file directories to read besides `<agentDir>/sessions/`. */
  sessions: SessionsLocation[];
}

/**
 * The session files and stores a state dir's `session.store` puts outside its agents' own
 * directories, each handed to exactly one agent (`claimed` holds every place already read, and
 * is extended with what is returned, so repeated calls return only what is new). Every agent's
 * default places are claimed first: a store pointing into another agent's dir is that dir's.
 * Agents are served default agent first, so a store shared by every agent (no `{agentId}`: one
 * index, one directory, one unsuffixed database) is read once, as the default agent's; a
 * partition `<base>.<id>.sqlite` is read as agent `<id>`'s, or, when no listed agent has that id,
 * by the first agent that reaches it. Empty when `session.store` is unset. `home`: what `~`
 * expands to (see `resolveSessionStorePath`).
 */
export function planRelocated(
  stateDir: string,
  agents: readonly { agentId: string; agentDir: string }[],
  claimed: Set<string>,
  home: string | null = null,
): RelocatedSources[] {
  const store = configuredSessionStore(stateDir);
  if (!store) return [];
  for (const a of agents) {
    claimed.add(placeKey(defaultSessions(a.agentDir).dir));
    claimed.add(placeKey(join(a.agentDir, "agent", "openclaw-agent.sqlite")));
  }
  const def = configuredDefaultAgent(stateDir);
  const ids = new Set(agents.map((a) => a.agentId));
  const ordered = [...agents].sort((x, y) => Number(y.agentId === def) - Number(x.agentId === def));
  const out: RelocatedSources[] = [];
  for (const a of ordered) {
    const r: RelocatedSources = { agentId: a.agentId, agentDir: a.agentDir, stores: [], sessions: [] };
    for (const p of sessionStorePaths(store, a.agentId, stateDir, home)) {
      for (const s of relocatedStores(p, namesIn(dirname(p)))) {
        if (s.suffixAgent !== null && s.suffixAgent !== a.agentId && ids.has(s.suffixAgent)) continue;
        const k = placeKey(s.file);
        if (claimed.has(k)) continue;
        claimed.add(k);
        r.stores.push(s);
      }
      const sess = relocatedSessions(p);
      const k = placeKey(sess.dir);
      if (!claimed.has(k)) {
        claimed.add(k);
        r.sessions.push(sess);
      }
    }
    if (r.stores.length > 0 || r.sessions.length > 0) out.push(r);
  }
  return out;
}

/** `<state>/sessions.legacy-<ms>`: see {@link legacySessionLeftovers}. */
const LEGACY_LEFTOVER_RE = /^sessions\.legacy-\d+$/;

/**
 * Where OpenClaw's legacy-state migration leaves the transcripts of the pre-`agents/` layout it
 * could not move: `migrateLegacySessions` (openclaw/openclaw `src/infra/state-migrations.ts`,
 * run by `openclaw doctor` and at gateway start) renames each `<state>/sessions/<file>` into
 * `agents/<default agent>/sessions/`, skipping a name the target already holds, merges
 * `sessions.json` into the target's, and renames what is left to `<state>/sessions.legacy-<ms>`.
 * A transcript whose session went on in the new place (same name) keeps its earlier calls only
 * there. Each such directory, read as the default agent's, indexed by its default `sessions.json`
 * (the merged index). Only directories not in `claimed` (which is extended).
 */
export function legacySessionLeftovers(
  stateDir: string,
  agents: readonly { agentId: string; agentDir: string }[],
  claimed: Set<string>,
): { agentId: string; agentDir: string; sessions: SessionsLocation[] } | null {
  const names = namesIn(stateDir)
    .filter((n) => LEGACY_LEFTOVER_RE.test(n))
    .sort();
  if (names.length === 0) return null;
  const def = configuredDefaultAgent(stateDir);
  const agent = agents.find((a) => a.agentId === def);
  if (!agent) return null;
  const sessions: SessionsLocation[] = [];
  for (const n of names) {
    const dir = join(stateDir, n);
    const k = placeKey(dir);
    if (claimed.has(k)) continue;
    claimed.add(k);
    sessions.push({ dir, index: defaultSessions(agent.agentDir).index });
  }
  return sessions.length > 0 ? { ...agent, sessions } : null;
}
