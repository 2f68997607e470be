// Turns a JSONL-era OpenClaw state dir (agents/<a>/sessions/sessions.json + transcripts) into the
// SQLite store OpenClaw's `openclaw doctor --fix` session import writes
// (`agents/<a>/agent/openclaw-agent.sqlite`), for the store/JSONL parity test.
//
// What the import does (openclaw/openclaw src/commands/doctor-session-sqlite.ts,
// src/config/sessions/session-accessor.sqlite.ts `importSqliteSessionRows`,
// session-accessor.sqlite-session-row.ts `bindSessionRoot` / `bindSessionNode`,
// src/utils/delivery-context.shared.ts `normalizeSessionDeliveryState`), reproduced here:
// - one import per `sessions.json` entry with a valid `sessionId`; its transcript is the entry's
//   `sessionFile` in the sessions dir, else `<sessionId>.jsonl`; a transcript with a line that is
//   not JSON is not imported at all (`transcript_malformed`: neither entry nor rows);
// - the entry is written to `session_nodes` (entry_json without `sessionFile`/`transcriptPath`;
//   the pre-SQLite delivery fields `origin`, `deliveryContext`, `route`, `lastChannel`, `lastTo`,
//   `lastAccountId`, `lastThreadId`, `channel` folded into the one `delivery` state the store
//   keeps: `{kind:"external", route, context, origin}`, `{kind:"internal"}` for OpenClaw's own
//   surfaces, `{kind:"none"}` without a route) and `session_windows` (channel = the delivery
//   context's channel, else the origin's provider; chat_type, parent_session_key, spawned_by);
// - each transcript line becomes one `transcript_events` row, `JSON.stringify(JSON.parse(line))`,
//   seq from 0, a line identical to one already imported for that session skipped;
// - an entry naming a session another entry already imported re-keys its window (upsert).
// The schema is the real one (`openclaw@2026.9.6`'s store from shared/fixtures, emptied).
// What the store cannot hold (files no entry names: archives, checkpoint and branch copies,
// legacy dirs, a relocated store, a store already there) is reported in `unrepresentable`.
import {
  copyFileSync,
  cpSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import Database from "better-sqlite3";
import { OC_FIXTURE } from "./meter-env.js";

type Rec = Record<string, unknown>;
const rec = (v: unknown): Rec | null =>
  typeof v === "object" && v !== null && !Array.isArray(v) ? (v as Rec) : null;
const text = (v: unknown): string | undefined => (typeof v === "string" && v.trim() ? v.trim() : undefined);

let template: string | null = null;

/** An empty copy of openclaw@2026.9.6's agent store (schema 23, every table emptied), made once. */
function emptyStoreTemplate(): string {
  if (template && existsSync(template)) return template;
  const out = join(tmpdir(), `creditgate-oc-store-template-${process.pid}.sqlite`);
  rmSync(out, { force: true });
  copyFileSync(join(OC_FIXTURE, "agents", "main", "agent", "openclaw-agent.sqlite"), out);
  const db = new Database(out);
  db.pragma("journal_mode = DELETE");
  db.pragma("foreign_keys = OFF");
  const tables = db
    .prepare<[], { name: string; sql: string }>(
      "SELECT name, sql FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'",
    )
    .all();
  const virtuals = tables.filter((t) => /^CREATE VIRTUAL TABLE/i.test(t.sql)).map((t) => t.name);
  const shadow = (n: string) => virtuals.some((v) => n.startsWith(`${v}_`));
  for (const t of tables) if (!shadow(t.name)) db.exec(`DELETE FROM "${t.name}"`);
  db.exec("VACUUM");
  db.close();
  template = out;
  return out;
}

/** OpenClaw's own surfaces: a route there is `{kind:"internal"}`, no delivery channel. */
const INTERNAL = new Set(["webchat", "heartbeat", "internal"]);

interface Ctx {
  channel?: string;
  to?: string;
  accountId?: string;
  threadId?: string | number;
}

function ctxOf(v: unknown): Ctx | undefined {
  const r = rec(v);
  if (!r) return undefined;
  const channel = text(r.channel)?.toLowerCase();
  if (!channel) return undefined;
  const c: Ctx = { channel };
  const to = text(r.to);
  if (to) c.to = to;
  const accountId = text(r.accountId);
  if (accountId) c.accountId = accountId;
  if (typeof r.threadId === "string" || typeof r.threadId === "number") c.threadId = r.threadId;
  return c;
}

/** `mergeDeliveryContext`: primary's fields first, never crossing channels or accounts. */
function merge(a?: Ctx, b?: Ctx): Ctx | undefined {
  if (!a) return b;
  if (!b) return a;
  const conflict =
    (a.channel && b.channel && a.channel !== b.channel) ||
    (a.accountId && b.accountId && a.accountId !== b.accountId);
  if (conflict) return a;
  return { ...b, ...a };
}

/**
 * The entry as the store keeps it: the legacy delivery fields folded into `delivery`
 * (`normalizeSessionDeliveryState`), `sessionFile`/`transcriptPath` dropped.
 */
export function storeEntry(entry: Rec): Rec {
  const {
    sessionFile: _sf,
    transcriptPath: _tp,
    origin,
    deliveryContext,
    route,
    channel,
    lastChannel,
    lastTo,
    lastAccountId,
    lastThreadId,
    ...rest
  } = entry;
  if (rec(entry.delivery)) return rest;
  const o = rec(origin) ?? undefined;
  const r = rec(route);
  const routeCtx = ctxOf(
    r
      ? { channel: r.channel, to: rec(r.target)?.to, accountId: r.accountId, threadId: rec(r.thread)?.id }
      : null,
  );
  const originCtx = ctxOf(
    o ? { channel: o.provider, to: o.to, accountId: o.accountId, threadId: o.threadId } : null,
  );
  const context =
    ctxOf(deliveryContext) ??
    ctxOf({ channel: lastChannel ?? channel, to: lastTo, accountId: lastAccountId, threadId: lastThreadId });
  const merged = merge(routeCtx, merge(context, originCtx));
  if (!merged) return { ...rest, delivery: { kind: "none" } };
  if (merged.channel && INTERNAL.has(merged.channel)) return { ...rest, delivery: { kind: "internal" } };
  const routeOut: Rec = { channel: merged.channel };
  if (merged.accountId) routeOut.accountId = merged.accountId;
  const target = rec(r?.target) ?? (merged.to ? { to: merged.to } : null);
  if (target) routeOut.target = target;
  if (merged.threadId !== undefined) routeOut.thread = rec(r?.thread) ?? { id: merged.threadId };
  const originOut: Rec = { ...(o ?? {}) };
  originOut.provider ??= merged.channel;
  if (merged.to) originOut.to ??= merged.to;
  if (merged.accountId) originOut.accountId ??= merged.accountId;
  if (merged.threadId !== undefined) originOut.threadId ??= merged.threadId;
  return { ...rest, delivery: { kind: "external", route: routeOut, context: merged, origin: originOut } };
}

/** The entry as an import that keeps the pre-SQLite delivery fields writes it (no `delivery` fold). */
function legacyEntry(entry: Rec): Rec {
  const { sessionFile: _sf, transcriptPath: _tp, ...rest } = entry;
  return rest;
}

const CHAT_TYPES = new Set(["direct", "group", "channel"]);
const CREATED_VIA = new Set(["operator", "spawn", "channel", "cron", "talk", "run", "plugin", "internal"]);

/** What one conversion wrote, and what of the state dir the store cannot hold. */
export interface StoreConversion {
  sessions: number;
  rows: number;
  /** Sessions the import refuses (`transcript_malformed`): their calls are in no store row. */
  malformed: string[];
  /** Files and dirs no store row can stand for (their calls would be lost or misattributed). */
  unrepresentable: string[];
}

/** The main key OpenClaw records in `session_key_contract` (`session.mainKey`, default `main`). */
function configuredMainKey(stateDir: string): string {
  for (const f of ["openclaw.json", "clawdbot.json", "moltbot.json"]) {
    const p = join(stateDir, f);
    if (!existsSync(p)) continue;
    try {
      const k = text(rec(rec(JSON.parse(readFileSync(p, "utf8")))?.session)?.mainKey);
      if (k) return k.toLowerCase();
    } catch {}
  }
  return "main";
}

/**
 * Writes `<outStateDir>/agents/<a>/agent/openclaw-agent.sqlite` for every agent of `stateDir` that
 * has a `sessions/sessions.json`, as `openclaw doctor --fix` imports it (see the file comment), and
 * copies the state dir's OpenClaw config and `credentials/` beside `agents/`. No JSONL is written to `outStateDir`.
 */
export function jsonlToStore(
  stateDir: string,
  outStateDir: string,
  opts: { postDoctor?: boolean; keepLegacyDelivery?: boolean } = {},
): StoreConversion {
  const res: StoreConversion = { sessions: 0, rows: 0, malformed: [], unrepresentable: [] };
  mkdirSync(outStateDir, { recursive: true });
  for (const f of ["openclaw.json", "clawdbot.json", "moltbot.json"]) {
    const p = join(stateDir, f);
    if (existsSync(p)) copyFileSync(p, join(outStateDir, f));
    if (existsSync(p) && rec(rec(JSON.parse(readFileSync(p, "utf8")))?.session)?.store !== undefined)
      res.unrepresentable.push(`${f}: session.store (relocated store)`);
  }
  // the channels' credentials (WhatsApp's LID mappings) stay where they are: doctor imports sessions only
  if (existsSync(join(stateDir, "credentials")))
    cpSync(join(stateDir, "credentials"), join(outStateDir, "credentials"), { recursive: true });
  for (const n of readdirSync(stateDir))
    if (n !== "agents" && n !== "credentials" && !/^(openclaw|clawdbot|moltbot)\.json$/.test(n))
      res.unrepresentable.push(n);
  const mainKey = configuredMainKey(stateDir);
  const agentsDir = join(stateDir, "agents");
  for (const agent of existsSync(agentsDir) ? readdirSync(agentsDir) : []) {
    const agentDir = join(agentsDir, agent);
    const sessionsDir = join(agentDir, "sessions");
    const indexPath = join(sessionsDir, "sessions.json");
    if (!existsSync(indexPath)) {
      // an agent already on the store (no JSONL to import): its agent dir as it is
      if (readdirSync(agentDir).every((n) => n === "agent"))
        cpSync(agentDir, join(outStateDir, "agents", agent), { recursive: true });
      else res.unrepresentable.push(`agents/${agent}/`);
      continue;
    }
    for (const n of readdirSync(agentDir))
      if (n !== "sessions") res.unrepresentable.push(`agents/${agent}/${n}`);
    let parsedIndex: unknown;
    try {
      parsedIndex = JSON.parse(readFileSync(indexPath, "utf8"));
    } catch {
      // an index that does not parse (0 bytes, cut off): doctor's import stops on it
      res.unrepresentable.push(`agents/${agent}/sessions/sessions.json`);
      continue;
    }
    const index = rec(parsedIndex) ?? {};
    const outDir = join(outStateDir, "agents", agent, "agent");
    mkdirSync(outDir, { recursive: true });
    const path = join(outDir, "openclaw-agent.sqlite");
    for (const f of [path, `${path}-wal`, `${path}-shm`]) rmSync(f, { force: true });
    copyFileSync(emptyStoreTemplate(), path);
    const db = new Database(path);
    db.pragma("journal_mode = WAL");
    db.prepare(
      "INSERT INTO session_key_contract (id, main_key, canonical_ready, updated_at) VALUES (1, ?, NULL, 0)",
    ).run(mainKey);
    const upsertNode = db.prepare(
      `INSERT INTO session_nodes (session_key, current_session_id, entry_json, entry_valid, updated_at, status,
         created_at, created_via, created_actor_type, created_actor_id, parent_session_key, spawned_by,
         fork_source_session_key, fork_source_session_id, label, display_name)
       VALUES (@key, @sid, @entry, 1, @updatedAt, NULL, @createdAt, @createdVia, @actorType, @actorId, @parent,
         @spawnedBy, @forkKey, @forkSid, @label, @displayName)
       ON CONFLICT (session_key) DO UPDATE SET current_session_id = excluded.current_session_id,
         entry_json = excluded.entry_json, updated_at = excluded.updated_at,
         parent_session_key = excluded.parent_session_key, spawned_by = excluded.spawned_by`,
    );
    const upsertWindow = db.prepare(
      `INSERT INTO session_windows (session_id, session_key, previous_session_id, reason, session_scope, created_at,
         updated_at, transcript_updated_at, session_entry_provenance, chat_type, channel, account_id,
         parent_session_key, spawned_by, display_name)
       VALUES (@sid, @key, @previous, NULL, @scope, @createdAt, @updatedAt, @updatedAt, 1, @chatType, @channel,
         @accountId, @parentKey, @spawnedBy, @displayName)
       ON CONFLICT (session_id) DO UPDATE SET session_key = excluded.session_key, channel = excluded.channel,
         chat_type = excluded.chat_type, account_id = excluded.account_id,
         parent_session_key = excluded.parent_session_key, spawned_by = excluded.spawned_by`,
    );
    const nextSeq = db.prepare<[string], { m: number | null }>(
      "SELECT MAX(seq) AS m FROM transcript_events WHERE session_id = ?",
    );
    const existing = db.prepare<[string], { event_json: string }>(
      "SELECT event_json FROM transcript_events WHERE session_id = ? AND event_json IS NOT NULL",
    );
    const insEvent = db.prepare(
      "INSERT INTO transcript_events (session_id, seq, event_json, created_at) VALUES (?, ?, ?, ?)",
    );
    const referenced = new Set<string>();
    /** transcript file → key of the entry that imported it (doctor's archive name). */
    const imported = new Map<string, string>();
    db.transaction(() => {
      for (const [key, raw] of Object.entries(index)) {
        const entry = rec(raw);
        const sid = text(entry?.sessionId);
        if (!entry || !sid || !/^[A-Za-z0-9][A-Za-z0-9._:@-]*$/.test(sid)) continue;
        const named = text(entry.sessionFile) ? basename(String(entry.sessionFile)) : null;
        const file =
          named && existsSync(join(sessionsDir, named))
            ? named
            : existsSync(join(sessionsDir, `${sid}.jsonl`))
              ? `${sid}.jsonl`
              : null;
        let events: string[] = [];
        if (file) {
          referenced.add(file);
          try {
            events = readFileSync(join(sessionsDir, file), "utf8")
              .split(/\r?\n/)
              .map((l) => l.trim())
              .filter((l) => l.length > 0)
              .map((l) => JSON.stringify(JSON.parse(l)));
          } catch {
            res.malformed.push(`agents/${agent}/sessions/${file}`);
            continue;
          }
        }
        const e = opts.keepLegacyDelivery ? legacyEntry(entry) : storeEntry(entry);
        const updatedAt =
          typeof entry.updatedAt === "number" && Number.isFinite(entry.updatedAt) ? entry.updatedAt : 0;
        const delivery = rec(e.delivery);
        const legacyChannel = opts.keepLegacyDelivery
          ? (text(rec(entry.deliveryContext)?.channel) ??
            text(entry.lastChannel) ??
            text(entry.channel) ??
            null)
          : null;
        const channel =
          legacyChannel ??
          (delivery?.kind === "external"
            ? (text(rec(delivery.context)?.channel) ?? text(rec(delivery.origin)?.provider) ?? null)
            : null);
        const chatType =
          typeof entry.chatType === "string" && CHAT_TYPES.has(entry.chatType) ? entry.chatType : null;
        const actor = rec(entry.createdActor);
        const lower = key.trim().toLowerCase();
        upsertNode.run({
          key,
          sid,
          entry: JSON.stringify(e),
          updatedAt,
          createdAt: typeof entry.createdAt === "number" ? entry.createdAt : null,
          createdVia:
            typeof entry.createdVia === "string" && CREATED_VIA.has(entry.createdVia)
              ? entry.createdVia
              : null,
          actorType:
            actor && typeof actor.type === "string" && ["human", "agent", "system"].includes(actor.type)
              ? actor.type
              : null,
          actorId: text(actor?.id) ?? null,
          parent: text(entry.parentSessionKey) ?? text(entry.spawnedBy) ?? null,
          spawnedBy: text(entry.spawnedBy) ?? null,
          forkKey: text(rec(entry.forkSource)?.sessionKey) ?? null,
          forkSid: text(rec(entry.forkSource)?.sessionId) ?? null,
          label: text(entry.label) ?? null,
          displayName: text(entry.displayName) ?? null,
        });
        upsertWindow.run({
          sid,
          key,
          previous: text(entry.previousSessionId) ?? null,
          scope:
            chatType === "direct" && (lower === "main" || lower.endsWith(":main"))
              ? "shared-main"
              : chatType === "group" || chatType === "channel"
                ? chatType
                : "conversation",
          createdAt: typeof entry.sessionStartedAt === "number" ? entry.sessionStartedAt : updatedAt,
          updatedAt,
          chatType,
          channel,
          accountId: delivery?.kind === "external" ? (text(rec(delivery.context)?.accountId) ?? null) : null,
          parentKey: text(entry.parentSessionKey) ?? null,
          spawnedBy: text(entry.spawnedBy) ?? null,
          displayName: text(entry.displayName) ?? text(entry.label) ?? null,
        });
        res.sessions++;
        if (file) imported.set(file, key);
        const have = new Set(existing.all(sid).map((r) => r.event_json));
        let seq = (nextSeq.get(sid)?.m ?? -1) + 1;
        for (const ev of events) {
          if (have.has(ev)) continue;
          have.add(ev);
          insEvent.run(sid, seq++, ev, updatedAt);
          res.rows++;
        }
      }
    })();
    db.pragma("wal_checkpoint(TRUNCATE)");
    db.close();
    if (opts.postDoctor) {
      // what `openclaw doctor --fix` leaves beside the store: each imported transcript and every
      // `*.jsonl` no entry names moved to session-sqlite-import-archive/, sessions.json too, the
      // rest (archives, backups, malformed transcripts) left in sessions/
      const archive = join(agentDir.replace(stateDir, outStateDir), "session-sqlite-import-archive");
      const outSessions = join(agentDir.replace(stateDir, outStateDir), "sessions");
      mkdirSync(archive, { recursive: true });
      let ms = 1_795_380_000_000;
      for (const n of readdirSync(sessionsDir)) {
        const from = join(sessionsDir, n);
        const key = imported.get(n);
        if (key !== undefined)
          cpSync(from, join(archive, `${key.replace(/[^A-Za-z0-9_.-]/g, "_")}.${n}.imported-${ms++}`));
        else if (n === "sessions.json" && !res.malformed.some((m) => m.startsWith(`agents/${agent}/`)))
          cpSync(from, join(archive, `legacy-store.${n}.imported-${ms++}`));
        else if (n.endsWith(".jsonl") && !referenced.has(n) && statSync(from).isFile())
          cpSync(from, join(archive, `archive-tier.${n}.imported-${ms++}`));
        else {
          mkdirSync(outSessions, { recursive: true });
          cpSync(from, join(outSessions, n), { recursive: true });
        }
      }
      continue;
    }
    for (const n of readdirSync(sessionsDir)) {
      if (n === "sessions.json" || referenced.has(n)) continue;
      if (
        statSync(join(sessionsDir, n)).isFile() &&
        /\.jsonl|\.zst$/.test(n) &&
        !/\.trajectory\.jsonl$/.test(n)
      )
        res.unrepresentable.push(`agents/${agent}/sessions/${n}`);
      else if (!statSync(join(sessionsDir, n)).isFile())
        res.unrepresentable.push(`agents/${agent}/sessions/${n}/`);
    }
  }
  return res;
}
