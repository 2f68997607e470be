/**
 * Delivers creditgate's user notices (low balance, top-up received, blocked...) in the user's
 * chat, then acknowledges them.
 *
 * At-least-once: a notice is acked only after the channel accepted it; if the ack fails it is
 * retried on the next poll WITHOUT sending again (ids already sent are remembered in memory).
 * A crash between send and ack can repeat one message after a restart; nothing is lost.
 * Sending goes through the channel's outbound adapter (OC) or the legacy per-channel send
 * functions (Clawdbot). Neither path writes the message into the session transcript, so a
 * notice is never metered as usage.
 */
import type { Notice } from "./api-types.js";
import type { CreditgateClient } from "./client.js";
import type { LegacySendMessage, PluginLogger, PluginRuntime } from "./openclaw-types.js";
import { escapeForChannel } from "./outbound.js";

export interface NoticeDeliveryOptions {
  client: CreditgateClient;
  runtime: PluginRuntime;
  /** The host config passed back to `sendText({cfg})`. */
  hostConfig: () => unknown;
  logger: PluginLogger;
  /** Called for every notice seen (the status cache drops the user's entry). */
  onNotice?: (n: Notice) => void;
  batch?: number;
  /** Give up on one notice in this process after this many failed sends (it stays un-acked). */
  maxAttempts?: number;
  now?: () => number;
}

const LEGACY_SENDERS: Record<string, string> = {
  telegram: "sendMessageTelegram",
  whatsapp: "sendMessageWhatsApp",
  discord: "sendMessageDiscord",
  slack: "sendMessageSlack",
  signal: "sendMessageSignal",
  imessage: "sendMessageIMessage",
  line: "sendMessageLine",
};

export type SendOutcome = { ok: true; via: string; messageId?: string } | { ok: false; error: string };

export class NoticeDelivery {
  /** Sent (or acked) ids: never sent twice by this process. Bounded, oldest dropped first. */
  private readonly sent = new Set<string>();
  private readonly failures = new Map<string, { count: number; nextAt: number }>();
  private running: Promise<void> | null = null;
  private readonly now: () => number;
  stats = { polled: 0, sent: 0, acked: 0, sendFailures: 0, ackFailures: 0 };

  private readonly o: NoticeDeliveryOptions;

  constructor(o: NoticeDeliveryOptions) {
    this.o = o;
    this.now = o.now ?? Date.now;
  }

  /** One poll; concurrent callers share the running one. */
  pollOnce(): Promise<void> {
    if (!this.running) {
      this.running = this.poll().finally(() => {
        this.running = null;
      });
    }
    return this.running;
  }

  /** Resolves when no poll is running (does not start one). */
  idle(): Promise<void> {
    return this.running ?? Promise.resolve();
  }

  private async poll(): Promise<void> {
    let notices: Notice[];
    try {
      notices = await this.o.client.notices(this.o.batch ?? 50);
    } catch (err) {
      this.o.logger.debug?.(
        `creditgate: notice poll failed: ${err instanceof Error ? err.message : String(err)}`,
      );
      return;
    }
    if (!Array.isArray(notices)) return;
    this.stats.polled += notices.length;
    for (const raw of notices) {
      // creditgate's ids are numbers (the notices row id); strings are accepted too.
      if (!raw || (typeof raw.id !== "string" && typeof raw.id !== "number")) continue;
      const n: Notice & { id: string } = { ...raw, id: String(raw.id) };
      if (n.id === "") continue;
      this.o.onNotice?.(n);
      if (!this.sent.has(n.id)) {
        const f = this.failures.get(n.id);
        if (f && (f.count >= (this.o.maxAttempts ?? 8) || f.nextAt > this.now())) continue;
        const r = await this.send(n);
        if (!r.ok) {
          const count = (f?.count ?? 0) + 1;
          this.failures.set(n.id, { count, nextAt: this.now() + Math.min(300_000, 1_000 * 2 ** count) });
          this.stats.sendFailures++;
          this.o.logger.warn(
            `creditgate: notice ${n.id} (${n.kind}) not sent (${n.channel} → ${n.to}): ${r.error}`,
          );
          continue;
        }
        this.failures.delete(n.id);
        this.remember(n.id);
        this.stats.sent++;
      }
      try {
        await this.o.client.ackNotice(n.id);
        this.stats.acked++;
      } catch (err) {
        this.stats.ackFailures++;
        this.o.logger.warn(
          `creditgate: notice ${n.id} sent but not acked (will retry the ack): ${err instanceof Error ? err.message : String(err)}`,
        );
      }
    }
  }

  private remember(id: string): void {
    this.sent.add(id);
    if (this.sent.size > 20_000) {
      const first = this.sent.values().next();
      if (!first.done) this.sent.delete(first.value);
    }
  }

  async send(n: Notice): Promise<SendOutcome> {
    const channel = n.channel.toLowerCase();
    const accountId = channelAccountId(n);
    // creditgate's notice texts are plain text; the host renders what it is sent as Markdown.
    const text = escapeForChannel(n.text, channel);
    try {
      const load = this.o.runtime.channel?.outbound?.loadAdapter;
      if (typeof load === "function") {
        const adapter = await load(channel);
        if (adapter?.sendText) {
          const r = await adapter.sendText({ cfg: this.o.hostConfig(), to: n.to, text, accountId });
          return { ok: true, via: "outbound", messageId: r?.messageId };
        }
      }
      const legacy = (
        this.o.runtime.channel as unknown as Record<string, Record<string, unknown> | undefined> | undefined
      )?.[channel];
      const fnName = LEGACY_SENDERS[channel];
      const fn = fnName ? legacy?.[fnName] : undefined;
      if (typeof fn === "function") {
        const opts: Record<string, unknown> = accountId ? { accountId } : {};
        if (channel === "whatsapp") opts.verbose = false;
        await (fn as LegacySendMessage)(n.to, text, opts);
        return { ok: true, via: "legacy" };
      }
      return { ok: false, error: `no outbound adapter for channel "${channel}"` };
    } catch (err) {
      return { ok: false, error: err instanceof Error ? err.message : String(err) };
    }
  }
}

/**
 * The channel account to send from, if the notice names one. creditgate puts the billing account
 * (`telegram:5550101`, the same as `userId`) in `accountId`: that is not a channel account, and
 * passing it to the adapter would make it look for a bot account of that name.
 */
export function channelAccountId(n: Pick<Notice, "accountId" | "userId">): string | undefined {
  const a = typeof n.accountId === "string" ? n.accountId.trim() : "";
  if (!a || a.toLowerCase() === String(n.userId ?? "").toLowerCase()) return undefined;
  return a;
}

/** The service wrapper: polls every `intervalMs` while the gateway runs. */
export function noticeService(delivery: NoticeDelivery, intervalMs: number, logger: PluginLogger) {
  let timer: ReturnType<typeof setInterval> | null = null;
  return {
    id: "creditgate-notices",
    start: () => {
      if (timer) return;
      logger.info(`creditgate: delivering user notices (poll every ${intervalMs} ms)`);
      void delivery.pollOnce();
      timer = setInterval(() => void delivery.pollOnce(), intervalMs);
      timer.unref?.();
    },
    stop: async () => {
      if (timer) clearInterval(timer);
      timer = null;
      await delivery.idle().catch(() => {});
    },
  };
}
