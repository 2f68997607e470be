import { type Job, UnrecoverableError } from "bullmq";
import { type Enforcer, renderAlert } from "../../limits/index.js";
import { signWebhook, WEBHOOK_SIGNATURE_HEADER } from "../webhook.js";

/** The operator webhook alerts are POSTed to. */
export interface WebhookTarget {
  url: string;
  secret: string;
  /** Tries per alert in total (across sweeps), then `dead`. */
  attempts: number;
  /** First retry delay (ms), exponential. */
  backoffMs: number;
}

/**
 * The `alerts` queue: `deliver` {alertId} POSTs one signed alert to the operator webhook and records
 * the try on the alert row (`delivered`, `queued` for a retry, or `dead` after the last try).
 */
export function createAlertsProcessor(o: {
  enforcer: Enforcer;
  webhook: WebhookTarget | null;
  nowMs: () => number;
  fetch: typeof fetch;
  log: (level: "info" | "warn" | "error", msg: string) => void;
}) {
  const { enforcer, nowMs, log } = o;
  return async (job: Job): Promise<string> => {
    const target = o.webhook;
    const alertId = Number((job.data as { alertId?: unknown }).alertId);
    const a = Number.isSafeInteger(alertId) ? enforcer.alert(alertId) : null;
    if (!target || !a) throw new UnrecoverableError(`no alert ${String(alertId)} or no webhook configured`);
    if (a.webhookState === "delivered") return "already delivered";
    if (a.webhookState === "dead") return "already dead-lettered";
    const operatorOnly = a.accountId.startsWith("agent:") || a.accountId.startsWith("provider:");
    const lang = enforcer.limits(operatorOnly ? "*" : a.accountId).effective.language;
    const body = JSON.stringify({
      id: `alert_${a.id}`,
      type: a.kind,
      accountId: a.accountId,
      threshold: a.threshold,
      window: a.windowKey,
      createdAt: new Date(a.createdAtMs).toISOString(),
      text: renderAlert(a.kind, a.payload, lang, enforcer.settings.timezone),
      data: a.payload,
    });
    // Tries are counted on the row, not the job: a job re-enqueued by the sweep (Redis lost the
    // first) continues the count, so an alert reaches `dead` after `attempts` tries in total.
    const attempt = a.webhookAttempts + 1;
    const last = attempt >= target.attempts;
    let error: string;
    try {
      const res = await o.fetch(target.url, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          "x-creditgate-delivery": `alert_${a.id}`,
          [WEBHOOK_SIGNATURE_HEADER]: signWebhook(body, target.secret, Math.floor(nowMs() / 1000)),
        },
        body,
        signal: AbortSignal.timeout(10_000),
      });
      await res.body?.cancel();
      if (res.ok) {
        enforcer.markDelivery(a.id, "delivered", attempt, null, nowMs());
        return `delivered (${res.status})`;
      }
      error = `HTTP ${res.status}`;
    } catch (err) {
      error = err instanceof Error ? err.message : String(err);
    }
    // Dead-lettered after the last try: kept in SQLite (`creditgate alerts --dead`, GET /v1/alerts?state=dead).
    enforcer.markDelivery(a.id, last ? "dead" : "queued", attempt, error, nowMs());
    if (last)
      log("warn", `alert ${a.id} (${a.kind} ${a.accountId}) dead-lettered after ${attempt} tries: ${error}`);
    if (last) throw new UnrecoverableError(`webhook delivery failed: ${error}`);
    throw new Error(`webhook delivery failed: ${error}`);
  };
}
