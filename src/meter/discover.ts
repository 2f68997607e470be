import { existsSync, readdirSync, realpathSync, statSync } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import { normalizeAgentId } from "../agent-id.js";

export interface DiscoveryInput {
  explicitStateDirs: readonly string[] | null;
  openclawStateDir: string | null;
  clawdbotStateDir: string | null;
  moltbotStateDir: string | null;
  home: string | null;
  /** `OPENCLAW_HOME`: OpenClaw resolves `~` to it, so its state dirs are looked for under it too. */
  openclawHome?: string | null;
  /** `OPENCLAW_PROFILE`: the gateway runs with `--profile <name>`, state in `~/.openclaw-<name>`. */
  openclawProfile?: string | null;
  agents: readonly string[] | null;
}

/** The state dir names OpenClaw looks for in a home, newest first (`.moldbot`: a misspelling it still honours). */
export const HOME_STATE_DIRS = [".openclaw", ".clawdbot", ".moldbot", ".moltbot"] as const;

/**
 * A profile's state dir: `openclaw --profile <name>` (and `--dev`, the profile `dev`) runs with
 * `OPENCLAW_STATE_DIR=~/.openclaw-<name>` (`default` = `~/.openclaw`); Clawdbot did the same with
 * `~/.clawdbot-<name>`. Names are letters, digits, `_` and `-` (OpenClaw's `isValidProfileName`).
 */
const PROFILE_DIR_RE = /^\.(openclaw|clawdbot|moltbot)-[A-Za-z0-9_-]+$/;

/** A profile name: letters, digits, `_` and `-`. */
const PROFILE_NAME_RE = /^[A-Za-z0-9_-]+$/;

/** The profile state dirs in `home` that hold an `agents/` directory, in name order. */
function profileDirs(home: string): string[] {
  let names: string[];
  try {
    names = readdirSync(home);
  } catch {
    return [];
  }
  return names
    .filter((n) => PROFILE_DIR_RE.test(n))
    .sort()
    .filter((n) => {
      try {
        return statSync(join(home, n, "agents")).isDirectory();
      } catch {
        return false;
      }
    });
}

export interface StateDir {
  path: string;
  /** Why it is read: `CREDITGATE_STATE_DIRS`, `OPENCLAW_STATE_DIR`, `~/.openclaw`, ... */
  via: string;
  /**
   * Only these agents of it: the path given was one agent's directory inside it (see
   * {@link stateDirOfPath}). Absent: every agent.
   */
  agents?: readonly string[];
}

/** Directories of an agent dir a path may name: its transcripts, its store, doctor's import archive. */
const AGENT_SUBDIRS = new Set(["sessions", "agent", "session-sqlite-import-archive"]);

function isDir(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}

/**
 * The state dir a configured path lies in, when the path is not one itself (no `agents/` in it) but
 * a directory inside one: `<state>/agents` (every agent), `<state>/agents/<id>` or its `sessions/`,
 * `agent/` or `session-sqlite-import-archive/` (that agent only). An operator pointing
 * `--state-dir` / `CREDITGATE_STATE_DIRS` / `OPENCLAW_STATE_DIR` at the directory the transcripts are
 * in (`~/.openclaw/agents/main/sessions`) got a warning and nothing billed, with exit 0: the calls
 * there were never billed (ccusage/ccusage#281, `--path` given the projects folder of one project
 * found no session files; case `state-dir-points-into-agent`). Any other path is kept as given.
 */
export function stateDirOfPath(p: string): {
  path: string;
  agents: readonly string[] | null;
  inside: boolean;
} {
  const path = resolve(p);
  if (isDir(join(path, "agents"))) return { path, agents: null, inside: false };
  const up1 = dirname(path);
  const up2 = dirname(up1);
  if (basename(path) === "agents" && isDir(path)) return { path: up1, agents: null, inside: true };
  if (basename(up1) === "agents" && !basename(path).startsWith(".") && isDir(path))
    return { path: up2, agents: [basename(path)], inside: true };
  if (AGENT_SUBDIRS.has(basename(path)) && basename(up2) === "agents" && isDir(path))
    return { path: dirname(up2), agents: [basename(up1)], inside: true };
  return { path, agents: null, inside: false };
}

/** The agents to read of `sd`: its own restriction (a path into one agent) and `filter`, both applied. */
export function agentFilterOf(sd: StateDir, filter: readonly string[] | null): readonly string[] | null {
  if (!sd.agents) return filter;
  if (!filter) return sd.agents;
  const wanted = new Set(filter.map(normalizeAgentId));
  return sd.agents.filter((a) => wanted.has(normalizeAgentId(a)));
}

/**
 * Where OpenClaw-family programs keep their state, found the way they find it.
 * `CREDITGATE_STATE_DIRS` (or `--state-dir`) wins outright; otherwise every one of
 * `OPENCLAW_STATE_DIR`, `CLAWDBOT_STATE_DIR`, `MOLTBOT_STATE_DIR` that is set, `~/.openclaw-<profile>`
 * for `OPENCLAW_PROFILE`, plus whichever of `~/.openclaw`, `~/.clawdbot`, `~/.moldbot`, `~/.moltbot`
 * exist and every profile dir `~/.openclaw-<name>` (`--profile`, `--dev`; Clawdbot's
 * `~/.clawdbot-<name>`) holding `agents/`, in `HOME` and in `OPENCLAW_HOME`. Duplicates (same real
 * path) are read once.
 */
export function discoverStateDirs(input: DiscoveryInput): StateDir[] {
  const candidates: StateDir[] = [];
  if (input.explicitStateDirs && input.explicitStateDirs.length > 0) {
    for (const p of input.explicitStateDirs)
      candidates.push({ path: p, via: "--state-dir or CREDITGATE_STATE_DIRS" });
  } else {
    if (input.openclawStateDir) candidates.push({ path: input.openclawStateDir, via: "OPENCLAW_STATE_DIR" });
    if (input.clawdbotStateDir) candidates.push({ path: input.clawdbotStateDir, via: "CLAWDBOT_STATE_DIR" });
    if (input.moltbotStateDir) candidates.push({ path: input.moltbotStateDir, via: "MOLTBOT_STATE_DIR" });
    const homes = [input.home, input.openclawHome].filter((h): h is string => !!h);
    const profile = input.openclawProfile?.trim();
    // Only a name OpenClaw accepts (`isValidProfileName`): a path (`x/../../elsewhere`) would make
    // this read a dir outside the home that no gateway writes.
    if (profile && PROFILE_NAME_RE.test(profile) && homes[0] !== undefined) {
      const d = profile.toLowerCase() === "default" ? ".openclaw" : `.openclaw-${profile}`;
      candidates.push({ path: join(homes[0], d), via: "OPENCLAW_PROFILE" });
    }
    for (const home of homes) {
      const tilde = home === input.home ? "~" : "$OPENCLAW_HOME";
      for (const d of HOME_STATE_DIRS) {
        const p = join(home, d);
        if (existsSync(p)) candidates.push({ path: p, via: `${tilde}/${d}` });
      }
      for (const d of profileDirs(home))
        candidates.push({ path: join(home, d), via: `${tilde}/${d} (profile)` });
    }
  }
  const seen = new Map<string, StateDir>();
  const out: StateDir[] = [];
  for (const c of candidates) {
    // a path into a state dir (its agents/, an agent's dir or sessions/) is that state dir's
    const inside = stateDirOfPath(c.path);
    let real: string;
    try {
      real = realpathSync(inside.path);
    } catch {
      real = resolve(inside.path); // may appear later; keep watching it
    }
    const via = inside.inside ? `${c.via}: ${c.path}, inside the state dir` : c.via;
    const known = seen.get(real);
    if (known) {
      // the same state dir again: every agent unless each mention names only some
      if (known.agents) {
        if (!inside.agents) delete known.agents;
        else known.agents = [...new Set([...known.agents, ...inside.agents])];
      }
      continue;
    }
    const sd: StateDir = inside.agents ? { path: real, via, agents: inside.agents } : { path: real, via };
    seen.set(real, sd);
    out.push(sd);
  }
  return out;
}

export interface AgentDir {
  stateDir: string;
  agentId: string;
  agentDir: string;
}

/** Every `agents/<id>` directory under a state dir, optionally filtered by id. */
export function listAgents(stateDir: string, filter: readonly string[] | null): AgentDir[] {
  const root = join(stateDir, "agents");
  let names: string[];
  try {
    names = readdirSync(root);
  } catch {
    return [];
  }
  const wanted = filter ? new Set(filter.map(normalizeAgentId)) : null;
  return names
    .filter((n) => !n.startsWith(".") && (!wanted || wanted.has(normalizeAgentId(n))))
    .filter((n) => {
      try {
        return statSync(join(root, n)).isDirectory();
      } catch {
        return false;
      }
    })
    .sort()
    .map((agentId) => ({ stateDir, agentId, agentDir: join(root, agentId) }));
}
