import { createHmac, timingSafeEqual } from "node:crypto";

/** MercadoPago notifications whose `ts` is further than this from now are rejected. */
export const MP_SIGNATURE_TOLERANCE_MS = 5 * 60 * 1000;

export type SignatureCheck = { ok: true } | { ok: false; reason: "malformed" | "mismatch" | "stale" };

/**
 * Verifies `x-signature: ts=<ts>,v1=<hex>` over the manifest
 * `id:<data.id from the QUERY>;request-id:<x-request-id>;ts:<ts>;`, dropping the whole pair of any
 * absent value. Accepts the id as sent or lower-cased, and `ts` in seconds or milliseconds:
 * MercadoPago's docs and SDKs disagree on both (see docs/payments.md). Pure: `nowMs` is passed in.
 */
export function verifyMercadoPagoSignature(input: {
  xSignature: string;
  xRequestId?: string | undefined;
  dataId?: string | undefined;
  secret: string;
  nowMs: number;
  toleranceMs?: number;
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
  const tolerance = input.toleranceMs ?? MP_SIGNATURE_TOLERANCE_MS;
  return Math.abs(input.nowMs - tsMs) <= tolerance ? { ok: true } : { ok: false, reason: "stale" };
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
