import { existsSync, readdirSync, realpathSync, statSync } from "node:fs";
import { join, resolve } from "node:path";

export interface DiscoveryInput {
  explicitStateDirs: readonly string[] | null;
  openclawStateDir: string | null;
  clawdbotStateDir: string | null;
  moltbotStateDir: string | null;
  home: string | null;
  agents: readonly string[] | null;
}

export interface StateDir {
  path: string;
  /** Why it is read: `CREDITGATE_STATE_DIRS`, `OPENCLAW_STATE_DIR`, `~/.openclaw`, ... */
  via: string;
}

/**
 * Where OpenClaw-family programs keep their state, found the way they find it.
 * `CREDITGATE_STATE_DIRS` (or `--state-dir`) wins outright; otherwise every one of
 * `OPENCLAW_STATE_DIR`, `CLAWDBOT_STATE_DIR`, `MOLTBOT_STATE_DIR` that is set, plus whichever of
 * `~/.openclaw`, `~/.clawdbot`, `~/.moltbot` exist. Duplicates (same real path) are read once.
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
    if (input.home) {
      for (const d of [".openclaw", ".clawdbot", ".moltbot"]) {
        const p = join(input.home, d);
        if (existsSync(p)) candidates.push({ path: p, via: `~/${d}` });
      }
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
