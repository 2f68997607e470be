import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import type { Db } from "../db/index.js";
import { AppError, ErrorCode } from "../errors.js";

/**
 * Scopes. `push` stands apart: it may ONLY push usage (`POST /v1/usage`), nothing else, not even
 * read: the key an edge meter (`creditgate meter --ship-to`) holds on a bot host. The others are
 * ordered weakest first and each includes the ones before it (and push). `read`: every GET except
 * `/v1/keys`. `ingest`: also push usage (`POST /v1/usage`), acknowledge notices and create
 * payment links (`POST /v1/topups`): what a bot or the OpenClaw plugin needs, without being able
 * to grant credits or change limits (a link moves no money; only a verified webhook credits).
 * `admin`: everything. The same sentence is in README.md, docs/api.md and `keys create --help`.
 */
export const SCOPES = ["push", "read", "ingest", "admin"] as const;
export type Scope = (typeof SCOPES)[number];

/**
 * Whether a key of scope `have` may use a route that needs `need`: a `push` key only `push`
 * routes; a `push` route also takes `ingest` and `admin` keys (not `read`); otherwise by order.
 */
export function scopeAllows(have: Scope, need: Scope): boolean {
  if (have === "push") return need === "push";
  if (need === "push") return have === "ingest" || have === "admin";
  return SCOPES.indexOf(have) >= SCOPES.indexOf(need);
}

export interface ApiKeyInfo {
  id: string;
  name: string | null;
  scope: Scope;
  createdAtMs: number;
  lastUsedAtMs: number | null;
  revokedAtMs: number | null;
}

/** Who made a request: a stored key, or the bootstrap key from CREDITGATE_API_KEY (id `env`). */
export interface Principal {
  keyId: string;
  scope: Scope;
}

/** `cg_<id>_<secret>`: id = 12 hex chars (public), secret = 32 random bytes, base64url. */
const KEY_RE = /^cg_([0-9a-f]{12})_([A-Za-z0-9_-]{43})$/;
const ENV_KEY_ID = "env";
/**
 * Last use is remembered in memory on the request path and written at most this often per key
 * (by `flushLastUsed`, which the HTTP app calls on a timer and at close): never a write per request.
 */
export const LAST_USED_RESOLUTION_MS = 60_000;

const sha256 = (s: string) => createHash("sha256").update(s).digest();
const DUMMY = sha256("creditgate:no-such-key");

/** A row of `api_keys` as SQLite returns it. */
interface ApiKeyRow {
  id: string;
  name: string | null;
  scope: Scope;
  secret_sha256: string;
  created_at_ms: number;
  last_used_at_ms: number | null;
  revoked_at_ms: number | null;
}
const API_KEY_COLUMNS = "id, name, scope, secret_sha256, created_at_ms, last_used_at_ms, revoked_at_ms";

const fromRow = (r: ApiKeyRow): ApiKeyInfo => ({
  id: r.id,
  name: r.name,
  scope: r.scope,
  createdAtMs: r.created_at_ms,
  lastUsedAtMs: r.last_used_at_ms,
  revokedAtMs: r.revoked_at_ms,
});

/**
 * Operator API keys. Stored as sha256 of the whole key, not bcrypt/scrypt: the key is 256
 * random bits (not a password), so a slow hash adds no protection against a stolen table
 * and would cost tens of milliseconds of CPU on every API request. Comparison is constant-time.
 */
export function createApiKeys(db: Db, opts: { bootstrapKey?: string | null } = {}) {
  const insert = db.prepare<[string, string | null, Scope, string, number]>(
    "INSERT INTO api_keys (id, name, scope, secret_sha256, created_at_ms) VALUES (?, ?, ?, ?, ?)",
  );
  const byId = db.prepare<[string], ApiKeyRow>(`SELECT ${API_KEY_COLUMNS} FROM api_keys WHERE id = ?`);
  const all = db.prepare<[], ApiKeyRow>(`SELECT ${API_KEY_COLUMNS} FROM api_keys ORDER BY created_at_ms, id`);
  const revokeStmt = db.prepare<[number, string]>(
    "UPDATE api_keys SET revoked_at_ms = ? WHERE id = ? AND revoked_at_ms IS NULL",
  );
  const touch = db.prepare<[number, string, number]>(
    "UPDATE api_keys SET last_used_at_ms = ? WHERE id = ? AND (last_used_at_ms IS NULL OR last_used_at_ms < ?)",
  );
  const touchAll = db.transaction((entries: [string, number][]) => {
    for (const [id, at] of entries) touch.run(at, id, at);
  });
  /** Key id → newest use not yet written. */
  const pendingUse = new Map<string, number>();
  /** Key id → newest use known (written or pending), to skip re-recording within the resolution. */
  const lastSeen = new Map<string, number>();
  const withPending = (info: ApiKeyInfo): ApiKeyInfo => {
    const at = pendingUse.get(info.id);
    return at !== undefined && (info.lastUsedAtMs === null || at > info.lastUsedAtMs)
      ? { ...info, lastUsedAtMs: at }
      : info;
  };
  const anyActive = db.prepare<[], { n: number }>(
    "SELECT COUNT(*) AS n FROM api_keys WHERE revoked_at_ms IS NULL",
  );
  const bootstrap = opts.bootstrapKey ? sha256(opts.bootstrapKey) : null;

  return {
    /** Creates a key; the plaintext is returned once and never stored. */
    create(input: { scope: Scope; name?: string | null | undefined }, nowMs: number) {
      const id = randomBytes(6).toString("hex");
      const key = `cg_${id}_${randomBytes(32).toString("base64url")}`;
      insert.run(id, input.name ?? null, input.scope, sha256(key).toString("hex"), nowMs);
      const row = byId.get(id);
      if (!row) throw new AppError(ErrorCode.Internal, `api key ${id} vanished`);
      return { ...fromRow(row), key };
    },
    /** Every key, newest use included even when not written yet. */
    list(): ApiKeyInfo[] {
      return all.all().map((r) => withPending(fromRow(r)));
    },
    get(id: string): ApiKeyInfo | null {
      const r = byId.get(id);
      return r ? withPending(fromRow(r)) : null;
    },
    /** False when no key could ever authenticate (no bootstrap key, no active stored key). */
    enabled(): boolean {
      return bootstrap !== null || (anyActive.get()?.n ?? 0) > 0;
    },
    /**
     * The principal of a key id that can still authenticate (the bootstrap key while it is
     * configured; a stored key until revoked), or null. Console sessions re-check their key with it.
     */
    principalOf(keyId: string): Principal | null {
      if (keyId === ENV_KEY_ID) return bootstrap ? { keyId, scope: "admin" } : null;
      const row = byId.get(keyId);
      return row && row.revoked_at_ms === null ? { keyId: row.id, scope: row.scope } : null;
    },
    /** Revokes a key (kept for the audit trail). False when there is no such active key. */
    revoke(id: string, nowMs: number): boolean {
      return revokeStmt.run(nowMs, id).changes > 0;
    },
    /**
     * Writes the remembered last-use times (one short transaction). Never throws: when the
     * database is locked or failing they stay in memory for the next flush. Returns how many
     * keys were written (0 when nothing was pending or the write failed).
     */
    flushLastUsed(): number {
      if (pendingUse.size === 0) return 0;
      const entries = [...pendingUse];
      try {
        touchAll.immediate(entries);
      } catch {
        return 0;
      }
      for (const [id, at] of entries) if (pendingUse.get(id) === at) pendingUse.delete(id);
      return entries.length;
    },
    /**
     * The principal for a presented key, or null (unknown, wrong or revoked). Reads only: the
     * use is remembered in memory (see `flushLastUsed`).
     */
    authenticate(presented: string, nowMs: number): Principal | null {
      const given = sha256(presented);
      if (bootstrap && timingSafeEqual(given, bootstrap)) return { keyId: ENV_KEY_ID, scope: "admin" };
      const m = KEY_RE.exec(presented);
      const row = m?.[1] ? byId.get(m[1]) : undefined;
      // Compare against a dummy when the id is unknown: the timing does not reveal which ids exist.
      const stored = row ? Buffer.from(row.secret_sha256, "hex") : DUMMY;
      const ok = timingSafeEqual(given, stored.length === 32 ? stored : DUMMY) && row !== undefined;
      if (!ok || !row || row.revoked_at_ms !== null) return null;
      const seen = Math.max(lastSeen.get(row.id) ?? 0, row.last_used_at_ms ?? 0);
      if (row.last_used_at_ms === null || nowMs - seen >= LAST_USED_RESOLUTION_MS) {
        pendingUse.set(row.id, nowMs);
        lastSeen.set(row.id, nowMs);
      }
      return { keyId: row.id, scope: row.scope };
    },
  };
}

export type ApiKeys = ReturnType<typeof createApiKeys>;
