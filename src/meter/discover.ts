import { existsSync, readdirSync, realpathSync, statSync } from "node:fs";
import { join, resolve } from "node:path";

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
  const seen = new Set<string>();
  const out: StateDir[] = [];
  for (const c of candidates) {
    let real: string;
    try {
      real = realpathSync(c.path);
    } catch {
      real = resolve(c.path); // may appear later; keep watching it
    }
    if (seen.has(real)) continue;
    seen.add(real);
    out.push({ path: real, via: c.via });
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
  return names
    .filter((n) => !n.startsWith(".") && (!filter || filter.includes(n)))
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
