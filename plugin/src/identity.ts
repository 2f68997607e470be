import * as crypto from "node:crypto";

/**
 * COPY of creditgate's `src/meter/identity.ts` `dedupeKey` (kept in sync by
 * test/push.test.ts, which compares both on the same inputs when the repo is present).
 *
 * `<message.timestamp ms as 12 hex digits>-<first 128 bits of sha256("v1", provider, model,
 * message.timestamp ms, input, output, cacheRead, cacheWrite, responseId?)>`, fields joined by
 * U+001F. Push metering sends this as the event's `idempotencyKey`, so a call seen both by the
 * transcript meter and by this plugin bills once.
 */
export interface CallIdentity {
  provider: string;
  model: string;
  messageTsMs: number;
  input: number;
  output: number;
  cacheRead: number;
  cacheWrite: number;
  responseId: string | null;
}

export function dedupeKey(u: CallIdentity): string {
  const parts = [
    "v1",
    u.provider,
    u.model,
    String(u.messageTsMs),
    String(u.input),
    String(u.output),
    String(u.cacheRead),
    String(u.cacheWrite),
    u.responseId ?? "",
  ];
  const ts = Math.max(0, u.messageTsMs).toString(16).padStart(12, "0");
  return `${ts}-${crypto.createHash("sha256").update(parts.join("\u001f")).digest("hex").slice(0, 32)}`;
}
