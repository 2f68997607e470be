import { z } from "zod";
import type { Db } from "../db/index.js";
import type { AlertKind } from "./templates.js";

/** A message for the end user's chat, delivered by the OpenClaw plugin and then acknowledged. */
export interface Notice {
  id: number;
  userId: string;
  channel: string;
  to: string;
  accountId: string;
  kind: AlertKind;
  text: string;
  createdAt: string;
}

/** {@link Notice} as the API answers it (`GET /v1/notices`); `createdAt` ISO 8601 UTC. */
export const noticeSchema = z.object({
  id: z.number().int(),
  userId: z.string(),
  channel: z.string(),
  to: z.string(),
  accountId: z.string(),
  kind: z.string(),
  text: z.string(),
  createdAt: z.string(),
});

interface NoticeRow {
  id: number;
  account_id: string;
  channel: string;
  recipient: string;
  kind: string;
  text: string;
  created_at_ms: number;
}

/** `telegram:123` → channel `telegram`, recipient `123` (the id the plugin delivers to). */
export function splitAccountId(accountId: string): { channel: string; to: string } {
  const i = accountId.indexOf(":");
  return i > 0
    ? { channel: accountId.slice(0, i), to: accountId.slice(i + 1) }
    : { channel: "unknown", to: accountId };
}

/** `notices`: at most one per alert; pending until acked. */
export function createNoticesRepo(db: Db) {
  const insert = db.prepare<[number, string, string, string, string, string, number]>(
    `INSERT INTO notices (alert_id, account_id, channel, recipient, kind, text, created_at_ms)
     VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (alert_id) DO NOTHING`,
  );
  const pending = db.prepare<[number], NoticeRow>(
    `SELECT id, account_id, channel, recipient, kind, text, created_at_ms
       FROM notices WHERE acked_at_ms IS NULL ORDER BY id LIMIT ?`,
  );
  const ack = db.prepare<[number, number]>(
    "UPDATE notices SET acked_at_ms = ? WHERE id = ? AND acked_at_ms IS NULL",
  );
  const exists = db.prepare<[number], { id: number }>("SELECT id FROM notices WHERE id = ?");
  return {
    /** The notice of alert `alertId` for `accountId` (channel and recipient from the id). */
    insert(alertId: number, accountId: string, kind: AlertKind, text: string, nowMs: number): void {
      const { channel, to } = splitAccountId(accountId);
      insert.run(alertId, accountId, channel, to, kind, text, nowMs);
    },
    /** Unacknowledged notices, oldest first. */
    pending(limit: number): Notice[] {
      return pending.all(limit).map((r) => ({
        id: r.id,
        userId: r.account_id,
        channel: r.channel,
        to: r.recipient,
        accountId: r.account_id,
        kind: r.kind as AlertKind,
        text: r.text,
        createdAt: new Date(r.created_at_ms).toISOString(),
      }));
    },
    /** Marks a notice delivered; acking twice is fine. False when the id does not exist. */
    ack(id: number, nowMs: number): boolean {
      ack.run(nowMs, id);
      return exists.get(id) !== undefined;
    },
  };
}
export type NoticesRepo = ReturnType<typeof createNoticesRepo>;
