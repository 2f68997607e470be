import { createHmac, timingSafeEqual } from "node:crypto";

/** Header carrying `t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>">`. */
export const WEBHOOK_SIGNATURE_HEADER = "x-creditgate-signature";

/** The signature header value for exactly `body` at `timestampSec`. */
export function signWebhook(body: string, secret: string, timestampSec: number): string {
  const mac = createHmac("sha256", secret).update(`${timestampSec}.${body}`).digest("hex");
  return `t=${timestampSec},v1=${mac}`;
}

export type WebhookCheck = { ok: true } | { ok: false; reason: "malformed" | "mismatch" | "stale" };

/**
 * What a receiver runs: recompute the HMAC over `<t>.<raw body>` with the shared secret, compare in
 * constant time, and reject timestamps further than `toleranceSec` from now (replays).
 */
export function verifyWebhookSignature(input: {
  header: string;
  body: string;
  secret: string;
  nowMs: number;
  /** Largest accepted distance between `t` and now, seconds. @defaultValue 300 */
  toleranceSec?: number;
}): WebhookCheck {
  const fields = Object.fromEntries(
    input.header.split(",").map((kv) => {
      const i = kv.indexOf("=");
      return [kv.slice(0, i).trim(), kv.slice(i + 1).trim()];
    }),
  );
  const t = fields.t ?? "";
  const v1 = fields.v1 ?? "";
  if (!/^\d{1,12}$/.test(t) || !/^[0-9a-f]{64}$/.test(v1)) return { ok: false, reason: "malformed" };
  const expected = createHmac("sha256", input.secret).update(`${t}.${input.body}`).digest();
  if (!timingSafeEqual(expected, Buffer.from(v1, "hex"))) return { ok: false, reason: "mismatch" };
  const ageSec = Math.abs(input.nowMs / 1000 - Number(t));
  return ageSec <= (input.toleranceSec ?? 300) ? { ok: true } : { ok: false, reason: "stale" };
}
