import { dirname, join } from "node:path";
import { agentOfKey, overridesMemory, remembersInternalSurface, resolveAccount } from "../resolve-user.js";
import type { SessionMemory } from "../session-memory.js";
import type { SessionFact } from "../source.js";
import type { ClassifiedFile } from "./classify.js";
import { headerParentSessionId } from "./file-probe.js";
import { configuredIdentityLinks, configuredMainKey, configuredSlashPrefixes } from "./openclaw-config.js";
import { generationsOf } from "./read-order.js";
import { createSessionsIndex, type IndexedSession, type SessionsIndex } from "./sessions-index.js";
import { agentIndexPath, namesIn } from "./store-location.js";
import { createWhatsAppLidResolver } from "./whatsapp-lid.js";

// Who pays for a session file: its sessions.json entry (with the spawn chain's parents and
// channels, in other agents' indexes too), else the meter's memory of it, else, for a compacted
// session's predecessor, its successor's. Split from jsonl-reader.ts.

/** Who a session file's calls are billed to, from sessions.json or the session memory. */
export interface Attribution {
  sessionKey: string | null;
  accountId: string;
  /** The session's channel (index entry or memory), kept with a linked predecessor's fact. */
  channel?: string | null;
}

/** A changed transcript of a poll, with its attribution (null: none found yet). */
export interface ChangedFile {
  path: string;
  cls: ClassifiedFile;
  who: Attribution | null;
}

/**
 * The attribution of one agent's session files: `index` is the agent's `sessions.json`
 * (`<agentDir>/sessions/sessions.json`), `memory` the meter's session memory, `home` what `~` in
 * a configured `session.store` expands to (other agents' indexes are looked up there).
 */
export function createJsonlAttribution(
  agentId: string,
  agentDir: string,
  index: SessionsIndex,
  memory: SessionMemory,
  home: string | null = null,
) {
  /** Other agents' indexes, opened when a spawn chain leads into their keys. */
  const siblings = new Map<string, SessionsIndex>();
  /**
   * The index that names a session key: this agent's, or the one of the agent the key names. A
   * sub-agent spawned into another agent (`sessions_spawn` with `agentId`) has its entry here and
   * its requester's (`spawnedBy`) in the requester's agent; a per-peer requester `direct:<peer>`
   * names no channel, and its channel was looked up here only (the sub-agent was billed to a
   * channel-less `direct:<peer>` account).
   */
  const indexOfKey = (key: string): SessionsIndex => {
    const agent = agentOfKey(key);
    if (!agent || agent === agentId || !/^[a-z0-9_-]+$/i.test(agent)) return index;
    let ix = siblings.get(agent);
    if (!ix) {
      ix = createSessionsIndex(agentIndexPath(dirname(dirname(agentDir)), agent, home));
      siblings.set(agent, ix);
    }
    ix.refresh();
    return ix;
  };
  /** When the other agents' indexes were last listed and refreshed (see {@link siblingEntry}). */
  let siblingsScannedAt = Number.NEGATIVE_INFINITY;
  /**
   * The entry another agent of the state dir has for a session id this agent's index does not
   * name: OpenClaw 2026.2.10 – 2026.2.14 resolved a non-default agent's transcript path without
   * its agent id, so `agent:<b>:…` sessions were written to `agents/main/sessions/<id>.jsonl`
   * while their entries stayed in `agents/<b>/sessions/sessions.json` (openclaw/openclaw#15537,
   * #15285; #708 for spawns into another agent). Before 2026-12-05 such files went to the
   * operator of the directory they were in. Session ids are UUIDs: an id that two agents' entries
   * name under different keys is attributed by neither. The listing and the refresh of the other
   * indexes are done at most once a second.
   */
  const siblingEntry = (sessionId: string): IndexedSession | null => {
    const stateDir = dirname(dirname(agentDir));
    const t = Date.now();
    const rescan = t - siblingsScannedAt >= 1000;
    if (rescan) {
      siblingsScannedAt = t;
      for (const agent of namesIn(join(stateDir, "agents")))
        if (agent !== agentId && /^[a-z0-9_-]+$/i.test(agent) && !siblings.has(agent))
          siblings.set(agent, createSessionsIndex(agentIndexPath(stateDir, agent, home)));
    }
    let found: IndexedSession | null = null;
    for (const [agent, ix] of siblings) {
      if (agent === agentId) continue;
      if (rescan) ix.refresh();
      const e = ix.get(sessionId);
      if (!e || e === found) continue;
      if (found && found.sessionKey !== e.sessionKey) return null;
      found = e;
    }
    return found;
  };
  const parentOfKey = (k: string) => index.parentOf(k) ?? indexOfKey(k).parentOf(k);
  const channelOfKey = (k: string) => index.channelOf(k) ?? indexOfKey(k).channelOf(k);
  const heartbeatOfKey = (k: string) => index.heartbeatOf(k) || indexOfKey(k).heartbeatOf(k);
  const directChatOfKey = (k: string) => index.directChatOf(k) ?? indexOfKey(k).directChatOf(k);
  // a spawn chain through a session no index names any more: what the meter billed it
  const rememberedAccountOfKey = (k: string) => memory.accountOfKey(agentOfKey(k) ?? agentId, k);
  const mainKey = configuredMainKey(agentDir);
  const slashPrefixes = configuredSlashPrefixes(agentDir);
  const identityLinks = configuredIdentityLinks(agentDir);
  // WhatsApp LID → number mappings of the state dir (a DM keyed by a LID bills the person's number)
  const whatsappLid = createWhatsAppLidResolver(dirname(dirname(agentDir)));

  /** The account an index entry's calls are billed to. */
  function accountOfEntry(e: {
    sessionKey: string;
    channel: string | null;
    routeTargets?: string[];
    heartbeat?: boolean;
    directChat?: { user: string | null } | null;
    sharedChat?: boolean;
  }): string {
    // A store shared by every agent (`session.store` without `{agentId}`) names other agents' keys
    // too: an operator session is the agent's its key names.
    return resolveAccount(agentOfKey(e.sessionKey) ?? agentId, e.sessionKey, {
      channel: e.channel,
      routeTargets: e.routeTargets,
      heartbeat: e.heartbeat,
      directChat: e.directChat,
      sharedChat: e.sharedChat,
      parentKey: parentOfKey,
      channelOfKey,
      heartbeatOfKey,
      directChatOfKey,
      rememberedAccountOfKey,
      mainKey,
      slashPrefixes,
      identityLinks,
      whatsappLid,
    }).accountId;
  }

  /**
   * The account a session key's calls are billed to, for a turn that session wrote into another
   * (`sessions_send`): its index entry's (this agent's or the agent the key names), else the key's
   * own reading with the channel the index has for it.
   */
  function accountOfKey(key: string): string {
    const e = index.byKey(key) ?? indexOfKey(key).byKey(key);
    if (e) return accountOfEntry(e);
    return resolveAccount(agentOfKey(key) ?? agentId, key, {
      channel: channelOfKey(key),
      parentKey: parentOfKey,
      channelOfKey,
      heartbeatOfKey,
      directChatOfKey,
      rememberedAccountOfKey,
      mainKey,
      slashPrefixes,
      identityLinks,
      whatsappLid,
    }).accountId;
  }

  function attribution(sessionId: string): Attribution | null {
    const indexed = index.get(sessionId);
    if (indexed) {
      return { sessionKey: indexed.sessionKey, accountId: accountOfEntry(indexed), channel: indexed.channel };
    }
    const remembered = memory.get(agentId, sessionId);
    if (remembered?.sessionKey) {
      // A memory from before 2026-12-02 may name an internal surface (`webchat:<peer>`): the
      // session is resolved again, with the channel its key has in the index now, if any.
      const internal = remembersInternalSurface(remembered.channel, remembered.accountId);
      const channel = internal ? channelOfKey(remembered.sessionKey) : remembered.channel;
      const r = resolveAccount(agentId, remembered.sessionKey, {
        channel,
        mainKey,
        slashPrefixes,
        identityLinks,
        whatsappLid,
      });
      // a linked person's session remembered under a channel's account (billed before the link was
      // read, 2026-12-03) bills the person's one account now; an operator's dashboard session
      // remembered under the user its copied route named (before 2026-12-03) the operator
      const keep = !internal && !overridesMemory(r);
      return {
        sessionKey: remembered.sessionKey,
        accountId: (keep ? remembered.accountId : null) ?? r.accountId,
        channel,
      };
    }
    const elsewhere = siblingEntry(sessionId);
    if (elsewhere)
      return {
        sessionKey: elsewhere.sessionKey,
        accountId: accountOfEntry(elsewhere),
        channel: elsewhere.channel,
      };
    // and what the meter remembers of it from that agent's index (the entry gone since: the
    // session deleted or reset while its file, in this directory, still had calls unread)
    let found: Attribution | null = null;
    for (const agent of siblings.keys()) {
      if (agent === agentId) continue;
      const r = memory.get(agent, sessionId);
      if (!r?.sessionKey || !r.accountId) continue;
      if (found && found.accountId !== r.accountId) return null;
      found = { sessionKey: r.sessionKey, accountId: r.accountId, channel: r.channel };
    }
    return found;
  }

  /**
   * Attributes the changed files no index entry or memory names through the `parentSession` of
   * their successors' headers, and records each link as a session fact (so the memory keeps it).
   *
   * With `agents.defaults.compaction.truncateAfterCompaction`, OpenClaw rotates a compacted
   * session into a successor transcript `<ISO>_<new sessionId>.jsonl` whose header names the
   * predecessor file (`parentSession`), and points the session's entry at the successor
   * (openclaw/openclaw `compaction-successor-transcript.ts`, #72435, #119805). The predecessor
   * `<old id>.jsonl` stays on disk, named by nothing: its pre-compaction calls (only the last
   * one is copied into the successor) went to the operator unless this meter had seen the old
   * id live. A predecessor takes its successor's key only when nothing else names it, following
   * chains of rotations. Only called when some changed file is unattributed.
   */
  function linkPredecessors(changed: ChangedFile[], facts: SessionFact[]): void {
    const parentOf = new Map<string, string>();
    for (const c of changed) {
      const parent = headerParentSessionId(c.path);
      if (parent && parent !== c.cls.sessionId) parentOf.set(c.cls.sessionId, parent);
    }
    if (parentOf.size === 0) return;
    const whoOf = new Map<string, Attribution>();
    for (const c of changed) if (c.who) whoOf.set(c.cls.sessionId, c.who);
    // A fork (its entry's `forkSource.sessionKey`) copies another session: its parent file is that
    // session's, not the fork's (an operator's fork of a DM reset since), when the key is indexed.
    const forkParentWho = new Map<string, Attribution>();
    for (const [child, parent] of parentOf) {
      const forkKey = index.get(child)?.forkSourceKey;
      const source = forkKey ? index.byKey(forkKey) : undefined;
      if (source && source.sessionId !== parent)
        forkParentWho.set(child, {
          sessionKey: source.sessionKey,
          accountId: accountOfEntry(source),
          channel: source.channel,
        });
    }
    const linked = new Map<string, Attribution>();
    // A parent named by children of different accounts (forks of one transcript) belongs to
    // neither on that evidence: it is left to the operator, never given to whichever came first.
    const contested = new Set<string>();
    // Each round links one more generation of a chain; a chain is at most as long as the files.
    for (let round = 0; round <= parentOf.size; round++) {
      let grew = false;
      for (const [child, parent] of parentOf) {
        const who = forkParentWho.get(child) ?? whoOf.get(child) ?? linked.get(child);
        if (!who || whoOf.has(parent) || contested.has(parent) || attribution(parent)) continue;
        const had = linked.get(parent);
        if (had) {
          if (had.accountId !== who.accountId) {
            linked.delete(parent);
            contested.add(parent);
            grew = true;
          }
          continue;
        }
        linked.set(parent, who);
        grew = true;
      }
      if (!grew) break;
    }
    // a contested parent's own predecessors were linked through it: unlink them
    for (let again = contested.size > 0; again; ) {
      again = false;
      for (const [child, parent] of parentOf)
        if (!whoOf.has(child) && !linked.has(child) && linked.delete(parent)) again = true;
    }
    if (linked.size === 0) return;
    for (const c of changed) {
      const who = c.who ? null : linked.get(c.cls.sessionId);
      if (who) c.who = who;
    }
    for (const [sessionId, who] of linked)
      facts.push({
        agentId: agentId,
        sessionId,
        sessionKey: who.sessionKey,
        accountId: who.accountId,
        channel: who.channel ?? null,
      });
  }

  return { attribution, accountOfEntry, accountOfKey, linkPredecessors, forkGenerations, mainKey };
}

/** A branch copy's base name, `<ISO with dashes>_<sessionId>.jsonl…` (forks, compaction successors). */
const BRANCH_NAME_RE = /^\d{4}-\d{2}-\d{2}T[^_]*_/;

/**
 * How many of the poll's changed transcripts each one descends from through its header's
 * `parentSession` (0 for one whose parent is not among them, or that names none), for
 * `sortForReading`: a fork is read after its parent. OpenClaw writes a fork
 * (`forkSessionFromParentRuntime` → `writeBranchedSession`, src/auto-reply/reply/session-fork.runtime.ts:
 * `sessions.create` with `parentSessionKey` + `fork`, the Control UI's fork actions, `sessions_spawn`
 * with `context: "fork"`, thread forks) as `<ISO>_<new id>.jsonl` with the parent's branch copied
 * verbatim after a header naming the parent's file; the copies have the parent's identity, so the
 * first one read is billed, and a fork under another account (a dashboard key: the operator's)
 * read first took the parent's user's calls. Only files named like a branch copy are looked into
 * (one header read each), and only when the poll has more than one changed file.
 */
function forkGenerations(changed: readonly ChangedFile[]): (c: ChangedFile) => number {
  if (changed.length < 2) return () => 0;
  const ids = new Set<string>();
  for (const c of changed) ids.add(c.cls.sessionId);
  const parentOf = new Map<string, string>();
  for (const c of changed) {
    const name = c.path.split(/[\\/]/).pop() ?? "";
    if (!BRANCH_NAME_RE.test(name) || parentOf.has(c.cls.sessionId)) continue;
    const parent = headerParentSessionId(c.path);
    if (parent && parent !== c.cls.sessionId && ids.has(parent)) parentOf.set(c.cls.sessionId, parent);
  }
  const genOf = generationsOf(parentOf);
  return (c) => genOf(c.cls.sessionId);
}
