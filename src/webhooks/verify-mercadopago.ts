import { createHmac, timingSafeEqual } from "node:crypto";

/** A signature `ts` this far AHEAD of our clock is refused (clock skew, not a retry). */
export const MP_SIGNATURE_TOLERANCE_MS = 5 * 60 * 1000;

/**
 * How OLD a signature `ts` may be. MercadoPago retries an unanswered notification 5 min, 45 min,
 * 6 h, 2 days and 4 days after the first send (mercadopago/devsite-docs
 * `guides/snippets/test-integration/notification-response.*.md`), and nothing says a retry is
 * signed anew: a retry carrying the first attempt's `ts` must still be accepted, or a refund or
 * chargeback whose first delivery failed (our 5xx, a deploy, a timeout) is refused on every retry
 * and lost. Accepting an old, genuine signature is harmless here: a notification carries no
 * amount or status, only what to re-read from MercadoPago, so replaying it applies the payment's
 * current state again (a no-op). 5 days: the last retry plus a day of MercadoPago's own delays.
 */
export const MP_SIGNATURE_MAX_AGE_MS = 5 * 24 * 60 * 60 * 1000;

export type SignatureCheck = { ok: true } | { ok: false; reason: "malformed" | "mismatch" | "stale" };

/**
 * Verifies `x-signature: ts=<ts>,v1=<hex>` over the manifest
 * `id:<data.id from the QUERY>;request-id:<x-request-id>;ts:<ts>;`, dropping the whole pair of any
 * absent value. Accepts the id as sent or lower-cased, and `ts` in seconds or milliseconds:
 * MercadoPago's docs and SDKs disagree on both (see docs/payments.md). `ts` may be up to
 * `maxAgeMs` old (a retry of an earlier delivery) and `toleranceMs` ahead (clock skew). Pure:
 * `nowMs` is passed in.
 */
export function verifyMercadoPagoSignature(input: {
  xSignature: string;
  xRequestId?: string | undefined;
  dataId?: string | undefined;
  secret: string;
  nowMs: number;
  /** Largest `ts` ahead of `nowMs`. @defaultValue {@link MP_SIGNATURE_TOLERANCE_MS} */
  toleranceMs?: number;
  /** Largest `ts` behind `nowMs` (MercadoPago's retries). @defaultValue {@link MP_SIGNATURE_MAX_AGE_MS} */
  maxAgeMs?: number;
}): SignatureCheck {
  const fields = new Map<string, string>();
  for (const part of input.xSignature.split(",")) {
    const eq = part.indexOf("=");
    if (eq > 0) fields.set(part.slice(0, eq).trim(), part.slice(eq + 1).trim());
  }
  const ts = fields.get("ts") ?? "";
  const v1 = fields.get("v1") ?? "";
  if (!/^\d{1,16}$/.test(ts) || !/^[0-9a-f]{64}$/i.test(v1)) return { ok: false, reason: "malformed" };

  const given = Buffer.from(v1, "hex");
  const ids = input.dataId ? [...new Set([input.dataId, input.dataId.toLowerCase()])] : [undefined];
  const matched = ids.some((id) => {
    const parts = [
      id ? `id:${id}` : null,
      input.xRequestId ? `request-id:${input.xRequestId}` : null,
      `ts:${ts}`,
    ];
    const manifest = `${parts.filter((p) => p !== null).join(";")};`;
    return timingSafeEqual(given, createHmac("sha256", input.secret).update(manifest).digest());
  });
  if (!matched) return { ok: false, reason: "mismatch" };
  const tsMs = ts.length >= 13 ? Number(ts) : Number(ts) * 1000;
  const ahead = input.toleranceMs ?? MP_SIGNATURE_TOLERANCE_MS;
  const maxAge = input.maxAgeMs ?? MP_SIGNATURE_MAX_AGE_MS;
  const ageMs = input.nowMs - tsMs;
  return ageMs <= maxAge && -ageMs <= ahead ? { ok: true } : { ok: false, reason: "stale" };
}

/** Builds a valid `x-signature` header (tests and local tooling). `ts` as a string, seconds by default. */
export function signMercadoPagoNotification(input: {
  dataId?: string;
  xRequestId?: string;
  ts: string;
  secret: string;
}): string {
  const parts = [
    input.dataId ? `id:${input.dataId}` : null,
    input.xRequestId ? `request-id:${input.xRequestId}` : null,
    `ts:${input.ts}`,
  ];
  const manifest = `${parts.filter((p) => p !== null).join(";")};`;
  return `ts=${input.ts},v1=${createHmac("sha256", input.secret).update(manifest).digest("hex")}`;
}
