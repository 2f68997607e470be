import { readFileSync, statSync } from "node:fs";
import { sessionChannel } from "../resolve-user.js";

/** What `sessions.json` tells about one session id. */
export interface IndexedSession {
  sessionId: string;
  sessionKey: string;
  channel: string | null;
  routeTargets: string[];
  parentKey: string | null;
  /** The entry is an isolated heartbeat run (`heartbeatIsolatedBaseSessionKey`): the operator's. */
  heartbeat: boolean;
  /**
   * The key of the session this one was forked from (`forkSource.sessionKey`, OpenClaw's
   * `buildForkedGatewaySessionEntry`), or null.
   */
  forkSourceKey?: string | null;
}

function s(v: unknown): string | null {
  return typeof v === "string" && v.length > 0 ? v : null;
}

function obj(v: unknown): Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
}

/** Parses a `sessions.json` object (sessionKey → entry). Unknown shapes yield nothing, never throw. */
export function parseSessionsJson(json: unknown): IndexedSession[] {
  const out: IndexedSession[] = [];
  for (const [key, raw] of Object.entries(obj(json))) {
    const e = obj(raw);
    const sessionId = s(e.sessionId);
    if (!sessionId) continue;
    const origin = obj(e.origin);
    const delivery = obj(e.deliveryContext);
    const routeTargets = [s(origin.from), s(delivery.to), s(e.lastTo)].filter((x): x is string => x !== null);
    out.push({
      sessionId,
      sessionKey: key,
      // the first messaging channel: `webchat` (the dashboard or a `sessions_send` touched the
      // session, openclaw/openclaw#47745, #54441) is none, and billed a per-peer DM to
      // `webchat:<peer>` before 2026-12-02; then the origin's provider, then a route's channel
      channel: sessionChannel(
        [s(e.lastChannel), s(e.channel), s(delivery.channel), s(origin.provider), s(origin.surface)],
        routeTargets,
      ),
      routeTargets,
      parentKey: s(e.spawnedBy) ?? s(e.parentSessionKey) ?? null,
      heartbeat: s(e.heartbeatIsolatedBaseSessionKey) !== null,
      forkSourceKey: s(obj(e.forkSource).sessionKey),
    });
  }
  return out;
}

/**
 * A cached view of one agent's `sessions.json`, re-read only when its size or mtime changes
 * (OpenClaw rewrites it whole). A file that is missing or mid-write keeps the last good view.
 */
export function createSessionsIndex(path: string) {
  let sig = "";
  let byId = new Map<string, IndexedSession>();
  let byKey = new Map<string, IndexedSession>();
  let parentByKey = new Map<string, string>();
  let channelByKey = new Map<string, string>();
  let heartbeatKeys = new Set<string>();
  let lastError: string | null = null;
  return {
    /**
     * Why the last `refresh` could not read a changed file (not valid JSON), or null. OpenClaw
     * writes the index atomically (temp file + rename), so this is a damaged file, not a race.
     */
    error(): string | null {
      return lastError;
    },
    /** Returns the sessions when the file changed since the last call, else null. */
    refresh(): IndexedSession[] | null {
      let st: ReturnType<typeof statSync>;
      try {
        st = statSync(path);
      } catch {
        lastError = null; // absent: nothing to read (reported by the source if it is worse)
        return null;
      }
      const next = `${st.size}:${st.mtimeMs}:${st.ino}`;
      if (next === sig) return null;
      let parsed: IndexedSession[];
      try {
        parsed = parseSessionsJson(JSON.parse(readFileSync(path, "utf8").replace(/^\uFEFF/, "")));
      } catch (err) {
        // keep the last view, try again next poll
        lastError =
          err instanceof SyntaxError ? "not valid JSON" : String((err as Error).message).slice(0, 200);
        return null;
      }
      lastError = null;
      sig = next;
      byId = new Map(parsed.map((x) => [x.sessionId, x]));
      byKey = new Map(parsed.map((x) => [x.sessionKey, x]));
      parentByKey = new Map(
        parsed.filter((x) => x.parentKey).map((x) => [x.sessionKey, x.parentKey as string]),
      );
      channelByKey = new Map(parsed.filter((x) => x.channel).map((x) => [x.sessionKey, x.channel as string]));
      heartbeatKeys = new Set(parsed.filter((x) => x.heartbeat).map((x) => x.sessionKey));
      return parsed;
    },
    /**
     * Forgets what was last read, so the next `refresh` returns the sessions again even if the
     * file did not change: for a caller whose batch carrying them was never committed.
     */
    forget(): void {
      sig = "";
    },
    get(sessionId: string): IndexedSession | undefined {
      return byId.get(sessionId);
    },
    /** The entry of a session key (whichever session id it names now). */
    byKey(sessionKey: string): IndexedSession | undefined {
      return byKey.get(sessionKey);
    },
    parentOf(sessionKey: string): string | null {
      return parentByKey.get(sessionKey) ?? null;
    },
    /** The channel of a session by key (a sub-agent's per-peer parent names none in its key). */
    channelOf(sessionKey: string): string | null {
      return channelByKey.get(sessionKey) ?? null;
    },
    /** Whether the session by key is an isolated heartbeat run (`heartbeatIsolatedBaseSessionKey`). */
    heartbeatOf(sessionKey: string): boolean {
      return heartbeatKeys.has(sessionKey);
    },
  };
}

export type SessionsIndex = ReturnType<typeof createSessionsIndex>;
