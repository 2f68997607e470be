import type Stripe from "stripe";
import { z } from "zod";
import { assertAccountId } from "../credits/index.js";
import { retryOnBusy } from "../db/index.js";
import { AppError, ErrorCode } from "../errors.js";
import { formatMicroCredits, parseCreditsToMicro, toMicroCredits } from "../money.js";
import { type AutoTopupRepo, type AutoTopupTrigger, createAutoTopupRepo } from "./autotopup-repo.js";
import { AUTOTOPUP_METADATA_KEY } from "./stripe.js";
import { createTopupRepo } from "./topup-repo.js";
import { createTopup, newTopupId, type PaymentsDeps, TOPUP_LINK_TTL_MS } from "./topups.js";
import type { PaymentObservation, TopupStatus } from "./types.js";

/** Guards of the off-session charges (config: CREDITGATE_AUTOTOPUP_*). */
export interface AutoTopupLimits {
  /** At most this many charges per account per `windowMs`. @defaultValue 3 */
  maxCharges: number;
  /** @defaultValue 600_000 (10 minutes) */
  windowMs: number;
  /** No charge for this long after a decline. @defaultValue 3_600_000 (1 hour) */
  declineBackoffMs: number;
  /**
   * A claimed trigger whose Stripe call has not answered for this long (crash, network) is
   * resumed by `resumeStale` with the same idempotency key. @defaultValue 120_000
   */
  leaseMs: number;
}

export const DEFAULT_AUTOTOPUP_LIMITS: AutoTopupLimits = {
  maxCharges: 3,
  windowMs: 10 * 60_000,
  declineBackoffMs: 60 * 60_000,
  leaseMs: 2 * 60_000,
};

/** Threshold used when `set` gives none: 1 credit. */
export const DEFAULT_AUTOTOPUP_THRESHOLD_MICRO = 1_000_000;

/** What the user is told after a decline (an alert + chat notice, raised by the caller). */
export interface DeclineNotice {
  /** Stripe's `error.code` (`card_declined`, `authentication_required`, …). */
  code: string;
  declineCode: string | null;
  /** The pack's credits, micro-credits. */
  amountMicroCredits: number;
  /** A fresh Stripe Checkout link for the same pack (saving the card again), or null if none could be made. */
  topupUrl: string | null;
}

export interface AutoTopupDeps {
  /** Packs, the Stripe gateway (null: auto top-up is off), the database and the top-up repository. */
  payments: PaymentsDeps;
  repo?: AutoTopupRepo;
  /** The one fulfilment path (webhooks' `createFulfiller(db).apply` with `event: null`). */
  apply(
    topupId: string,
    observation: PaymentObservation,
  ): { status: string; topupStatus: TopupStatus | null };
  /** Tells the user about a decline, once per `episode` (an alert keyed on it). */
  notifyDeclined(accountId: string, episode: string, notice: DeclineNotice, nowMs: number): void;
  limits?: Partial<AutoTopupLimits>;
  log?: (level: "info" | "warn" | "error", msg: string) => void;
}

export type SkipReason =
  | "off"
  | "no_card"
  | "stripe_disabled"
  | "above_threshold"
  /** The last auto top-up's credit left the balance under the threshold (debt larger than the pack): one charge per drop. */
  | "still_below_after_topup"
  /**
   * The drop below the threshold came from money given back, not from use: the top-up that funded
   * this episode was refunded or charged back, or one of the account's payments is under dispute.
   */
  | "payment_reversed"
  | "already_triggered"
  | "backoff"
  | "rate_limited"
  | "pack_unavailable";

/** What one `onBalanceChange` / resume did. */
export type AutoTopupOutcome =
  | { status: "skipped"; reason: SkipReason; detail?: string }
  | {
      status: "succeeded" | "processing" | "declined" | "error";
      triggerKey: string;
      topupId: string;
      paymentIntentId: string | null;
      /** Decline code, or the transient error's message. */
      detail: string | null;
    };

/** How long a claim waits for another process's write lock (asynchronously). */
const BUSY_BUDGET_MS = 30_000;

/**
 * Auto top-up: when an opted-in account's balance is below its threshold, charge its saved card
 * off-session for its pack, exactly once per low-balance episode.
 *
 * Exactly once: the trigger row (UNIQUE key account|episode|attempt) and its pending top-up are
 * written in ONE IMMEDIATE transaction before Stripe is called, so of two workers that see the
 * same low balance one claims and the other finds the claim; Stripe's Idempotency-Key
 * `autotopup-<topup id>` is the second guard (a resumed claim gets the same PaymentIntent).
 * Credits come only from the fulfilment path (the synchronous answer and the
 * `payment_intent.succeeded` webhook both apply it; the grant key makes the second a no-op).
 */
export function createAutoTopup(deps: AutoTopupDeps) {
  const { payments } = deps;
  const db = payments.db;
  const repo = deps.repo ?? createAutoTopupRepo(db);
  const topups = payments.topups ?? createTopupRepo(db);
  const limits = { ...DEFAULT_AUTOTOPUP_LIMITS, ...deps.limits };
  const log = deps.log ?? (() => {});

  type Claimed = {
    trigger: AutoTopupTrigger;
    customerId: string;
    paymentMethodId: string;
    amountMinor: bigint;
    currency: string;
    grantMicroCredits: bigint;
    packId: string;
  };

  function claimInTx(accountId: string, nowMs: number): Claimed | { skip: SkipReason; detail?: string } {
    const s = repo.settings(accountId);
    if (!s?.enabled) return { skip: "off" };
    if (!payments.stripe) return { skip: "stripe_disabled" };
    const customer = repo.customer(accountId);
    if (!customer?.paymentMethodId) return { skip: "no_card" };
    const balance = repo.balanceMicroCredits(accountId);
    if (balance >= s.thresholdMicroCredits) return { skip: "above_threshold" };
    const episode = repo.episode(accountId);
    // One charge per drop below the threshold: when the credit that opened this episode was our own
    // auto top-up and it left the balance still under the threshold (a debt larger than the pack),
    // charging again would repeat for the same drop (3 per window, forever). Wait for a credit from
    // elsewhere (a manual top-up, a grant) or for the balance to cross the threshold and drop again.
    const funded = repo.autoTopupFundedBalance(episode);
    if (funded !== null && funded < s.thresholdMicroCredits) {
      return {
        skip: "still_below_after_topup",
        detail: `the last auto top-up left the balance at ${formatMicroCredits(funded)}, under the threshold ${formatMicroCredits(s.thresholdMicroCredits)}`,
      };
    }
    // A refund or chargeback is money going BACK to the card: charging it again off-session for
    // the credits it took away re-takes what the operator (or the card network) just gave back,
    // and a card under dispute is the last one to charge without the customer. A reversal is no
    // credit, so its episode stays: the drop is the refunds' as long as what they took back since
    // the episode's credit would keep the balance at the threshold, whichever top-up they were of
    // (the one that funded the episode, or an older one: the opt-in checkout refunded after an auto
    // top-up charged the card again before r-a's review, 2026-12-05). Past that, use alone took it
    // under the threshold and one charge follows (a goodwill partial refund held it back for good).
    const disputed = repo.disputedTopup(accountId);
    if (disputed) {
      return { skip: "payment_reversed", detail: `top-up ${disputed} is under dispute or charged back` };
    }
    const reversed = repo.reversedSince(accountId, episode);
    if (reversed.microCredits > 0 && balance + reversed.microCredits >= s.thresholdMicroCredits) {
      return {
        skip: "payment_reversed",
        detail: `refunds or chargebacks of top-up ${reversed.topupIds.join(", ")} took ${formatMicroCredits(reversed.microCredits)} credits back: without them the balance is not under the threshold ${formatMicroCredits(s.thresholdMicroCredits)}`,
      };
    }
    const earlier = repo.episodeTriggers(accountId, episode);
    // Claimed, processing or paid in this episode: that charge is this episode's (its credit starts the next).
    if (earlier.some((t) => !declined(t))) return { skip: "already_triggered" };
    const last = repo.lastDecline(accountId);
    if (last && nowMs - declinedAt(last) < limits.declineBackoffMs) {
      return {
        skip: "backoff",
        detail: `declined ${last.declineCode ?? "payment"} at ${iso(declinedAt(last))}`,
      };
    }
    const recent = repo.countSince(accountId, nowMs - limits.windowMs);
    if (recent >= limits.maxCharges) {
      return {
        skip: "rate_limited",
        detail: `${recent} charges in the last ${limits.windowMs / 60_000} min`,
      };
    }
    const pack = payments.packs.get(s.packId);
    const price = pack ? payments.packs.price(pack, "stripe", s.currency ?? undefined) : undefined;
    if (!pack || !price) {
      return {
        skip: "pack_unavailable",
        detail: `pack ${s.packId} has no Stripe price${s.currency ? ` in ${s.currency}` : ""}`,
      };
    }
    // Settings saved before `set` refused it, or a pack made smaller since: a threshold above the
    // pack would charge again after every top-up (its credit starts a new episode) for one drop.
    if (BigInt(s.thresholdMicroCredits) > pack.grantMicroCredits) {
      return {
        skip: "pack_unavailable",
        detail: `threshold ${formatMicroCredits(s.thresholdMicroCredits)} is above pack ${pack.id}'s ${formatMicroCredits(pack.grantMicroCredits)} credits: set a lower threshold`,
      };
    }
    const topupId = newTopupId();
    topups.insert(
      {
        id: topupId,
        accountId,
        packId: pack.id,
        provider: "stripe",
        currency: price.currency,
        amountMinor: price.amountMinor,
        currencyExponent: price.exponent,
        grantMicroCredits: pack.grantMicroCredits,
        expiresAtMs: nowMs + TOPUP_LINK_TTL_MS,
      },
      nowMs,
    );
    const attempt = earlier.length;
    const trigger = repo.claim(
      { key: `${accountId}|${episode}|${attempt}`, accountId, episode, attempt, topupId },
      nowMs,
    );
    // Impossible under the IMMEDIATE lock (nobody wrote in between); roll the top-up back if it happens.
    if (!trigger) throw new ClaimLost();
    return {
      trigger,
      customerId: customer.customerId,
      paymentMethodId: customer.paymentMethodId,
      amountMinor: price.amountMinor,
      currency: price.currency,
      grantMicroCredits: pack.grantMicroCredits,
      packId: pack.id,
    };
  }
  const claimTx = db.transaction(claimInTx);

  async function charge(c: Claimed, nowMs: () => number): Promise<AutoTopupOutcome> {
    const stripe = payments.stripe;
    const t = c.trigger;
    const done = (
      status: "succeeded" | "processing" | "declined" | "error",
      paymentIntentId: string | null,
      detail: string | null,
    ): AutoTopupOutcome => ({
      status,
      triggerKey: t.triggerKey,
      topupId: t.topupId,
      paymentIntentId,
      detail,
    });
    if (!stripe) return done("error", null, "stripe is disabled");
    let result: Awaited<ReturnType<NonNullable<typeof stripe>["chargeOffSession"]>>;
    try {
      result = await stripe.chargeOffSession({
        customerId: c.customerId,
        paymentMethodId: c.paymentMethodId,
        amountMinor: c.amountMinor,
        currency: c.currency,
        description: `creditgate auto top-up: pack ${c.packId} for ${t.accountId}`,
        metadata: { topup_id: t.topupId, account_id: t.accountId, [AUTOTOPUP_METADATA_KEY]: t.triggerKey },
        idempotencyKey: `autotopup-${t.topupId}`,
      });
    } catch (err) {
      // Network, 5xx: we do not know whether Stripe charged. The claim stays; after the lease
      // `resumeStale` asks again with the same key, and Stripe answers the same PaymentIntent.
      const msg = err instanceof Error ? err.message : String(err);
      if (db.open) repo.setState(t.id, { state: "claimed", lastError: msg.slice(0, 500) }, nowMs());
      log("warn", `auto top-up ${t.topupId} for ${t.accountId}: Stripe did not answer, will resume: ${msg}`);
      return done("error", null, msg);
    }
    if (!db.open) return done("error", null, "database closed while Stripe answered");

    if (result.kind === "declined") {
      const pi = result.paymentIntent;
      const at = nowMs();
      await retryOnBusy(
        () =>
          db
            .transaction(() => {
              repo.setState(
                t.id,
                { state: "declined", paymentIntentId: pi?.id ?? null, declineCode: result.code },
                at,
              );
              deps.apply(t.topupId, {
                state: "failed",
                paymentRef: pi?.id ?? null,
                echoedTopupId: t.topupId,
                source: `stripe auto top-up declined (${result.code}${result.declineCode ? `/${result.declineCode}` : ""})`,
              });
            })
            .immediate(),
        BUSY_BUDGET_MS,
      );
      log("warn", `auto top-up ${t.topupId} for ${t.accountId} declined: ${result.code}`);
      let topupUrl: string | null = null;
      try {
        topupUrl = (
          await createTopup(
            payments,
            {
              userId: t.accountId,
              packId: c.packId,
              provider: "stripe",
              currency: c.currency,
              saveCard: true,
            },
            nowMs(),
          )
        ).url;
      } catch (err) {
        log(
          "warn",
          `auto top-up: no checkout link for ${t.accountId} after a decline: ${(err as Error).message}`,
        );
      }
      if (db.open) {
        deps.notifyDeclined(
          t.accountId,
          t.episode,
          {
            code: result.code,
            declineCode: result.declineCode,
            amountMicroCredits: toMicroCredits(c.grantMicroCredits),
            topupUrl,
          },
          nowMs(),
        );
      }
      return done("declined", pi?.id ?? null, result.code);
    }

    const pi = result.paymentIntent;
    const observation = observeOwnCharge(pi, t.topupId);
    const state =
      pi.status === "succeeded" ? "succeeded" : pi.status === "processing" ? "processing" : "declined";
    const at = nowMs();
    await retryOnBusy(
      () =>
        db
          .transaction(() => {
            repo.setState(
              t.id,
              {
                state,
                paymentIntentId: pi.id,
                declineCode: state === "declined" ? `payment_intent_${pi.status}` : null,
              },
              at,
            );
            topups.setProviderRef(t.topupId, pi.id, at);
            deps.apply(t.topupId, observation);
          })
          .immediate(),
      BUSY_BUDGET_MS,
    );
    if (state === "declined") {
      log("warn", `auto top-up ${t.topupId} for ${t.accountId}: PaymentIntent ${pi.id} is ${pi.status}`);
      deps.notifyDeclined(
        t.accountId,
        t.episode,
        {
          code: pi.status === "requires_action" ? "authentication_required" : `payment_intent_${pi.status}`,
          declineCode: null,
          amountMicroCredits: toMicroCredits(c.grantMicroCredits),
          topupUrl: null,
        },
        at,
      );
      return done("declined", pi.id, pi.status);
    }
    log("info", `auto top-up ${t.topupId} for ${t.accountId}: ${pi.id} ${pi.status}`);
    return done(state, pi.id, null);
  }

  /** Rebuilds what `charge` needs for an existing claim (resume). Null when the card or pack is gone. */
  function reclaimed(t: AutoTopupTrigger): Claimed | null {
    const customer = repo.customer(t.accountId);
    const topup = topups.get(t.topupId);
    if (!customer?.paymentMethodId || !topup) return null;
    return {
      trigger: t,
      customerId: customer.customerId,
      paymentMethodId: customer.paymentMethodId,
      amountMinor: topup.amountMinor,
      currency: topup.currency,
      grantMicroCredits: topup.grantMicroCredits,
      packId: topup.packId,
    };
  }

  return {
    repo,
    limits,
    /**
     * After a balance change (the worker's limit check): charges the account's pack if it is
     * opted in, has a saved card, is below its threshold, and no charge was made in this
     * low-balance episode, none was declined within the backoff, and fewer than `maxCharges`
     * were made in the window. Never throws for Stripe's answers; a database or code error throws.
     */
    async onBalanceChange(accountId: string, nowMs: () => number = Date.now): Promise<AutoTopupOutcome> {
      // Most checks concern accounts not opted in or not low: answered by two reads, no write lock.
      const s = repo.settings(accountId);
      if (!s?.enabled) return { status: "skipped", reason: "off" };
      if (repo.balanceMicroCredits(accountId) >= s.thresholdMicroCredits)
        return { status: "skipped", reason: "above_threshold" };
      const claimed = await retryOnBusy(() => {
        try {
          return claimTx.immediate(accountId, nowMs());
        } catch (err) {
          if (err instanceof ClaimLost) return { skip: "already_triggered" as const };
          throw err;
        }
      }, BUSY_BUDGET_MS);
      if ("skip" in claimed) {
        if (claimed.skip === "rate_limited" || claimed.skip === "pack_unavailable")
          log("warn", `auto top-up for ${accountId} skipped (${claimed.skip}): ${claimed.detail ?? ""}`);
        return {
          status: "skipped",
          reason: claimed.skip,
          ...(claimed.detail ? { detail: claimed.detail } : {}),
        };
      }
      return charge(claimed, nowMs);
    },
    /**
     * Resumes claims whose Stripe call never answered (a crash, a network error) once their lease
     * ran out, with the SAME idempotency key: a charge Stripe made is found, never made twice.
     * Each stale claim is taken over by one caller only. Returns one outcome per claim resumed.
     */
    async resumeStale(nowMs: () => number = Date.now): Promise<AutoTopupOutcome[]> {
      const out: AutoTopupOutcome[] = [];
      const before = nowMs() - limits.leaseMs;
      for (const t of repo.staleClaims(before)) {
        if (!repo.takeOver(t.id, t.lastError, before, nowMs())) continue;
        const c = reclaimed(t);
        if (!c) {
          log("warn", `auto top-up ${t.topupId}: cannot resume (card or top-up gone)`);
          continue;
        }
        out.push(await charge(c, nowMs));
      }
      return out;
    },
  };
}

export type AutoTopup = ReturnType<typeof createAutoTopup>;

class ClaimLost extends Error {}

/** A trigger that did not charge: declined by Stripe, or its top-up failed (a `payment_failed` webhook). */
function declined(t: AutoTopupTrigger): boolean {
  return t.state === "declined" || t.topupStatus === "failed";
}
const declinedAt = (t: AutoTopupTrigger) => (t.state === "declined" ? t.updatedAtMs : t.topupUpdatedAtMs);
const iso = (ms: number) => new Date(ms).toISOString();

/** Our own off-session PaymentIntent → the observation the fulfilment path applies. */
function observeOwnCharge(pi: Stripe.PaymentIntent, topupId: string): PaymentObservation {
  const base = {
    echoedTopupId: topupId,
    paymentRef: pi.id,
    source: "stripe auto top-up (synchronous answer)",
  };
  if (pi.status === "succeeded") {
    return {
      ...base,
      state: "paid",
      paid: { amountMinor: BigInt(pi.amount_received || pi.amount), currency: pi.currency.toUpperCase() },
    };
  }
  if (pi.status === "processing") return { ...base, state: "awaiting_payment" };
  return { ...base, state: "failed" };
}

/** `PUT /v1/users/:id/autotopup` and `creditgate autotopup set`. */
export const autoTopupRequestSchema = z.object({
  packId: z.string().min(1).max(64),
  /** Credits as a decimal string ("2.5"); charge when the balance drops below it. Default "1". */
  threshold: z
    .string()
    .regex(/^\d+(\.\d{1,6})?$/, "must be a decimal number of credits like 2 or 2.5")
    .optional(),
  /** Only when the pack lists several Stripe currencies; default: the first. */
  currency: z
    .string()
    .regex(/^[A-Za-z]{3}$/)
    .optional(),
});
export type AutoTopupRequest = z.infer<typeof autoTopupRequestSchema>;

/** The public view (API, CLI, plugin): amounts as decimal strings; the card as brand + last 4 only. */
export function describeAutoTopup(repo: AutoTopupRepo, accountId: string) {
  const s = repo.settings(accountId);
  const c = repo.customer(accountId);
  const last = repo.recent(accountId, 1)[0];
  return {
    userId: accountId,
    enabled: s?.enabled ?? false,
    packId: s?.packId ?? null,
    currency: s?.currency ?? null,
    threshold: s ? formatMicroCredits(s.thresholdMicroCredits) : null,
    thresholdMicroCredits: s?.thresholdMicroCredits ?? null,
    card: c?.paymentMethodId ? { brand: c.cardBrand, last4: c.cardLast4 } : null,
    /** True when auto top-up is on but no card is saved yet: pay once with `saveCard: true`. */
    needsCard: (s?.enabled ?? false) && !c?.paymentMethodId,
    lastCharge: last
      ? {
          topupId: last.topupId,
          state: last.topupStatus === "failed" && last.state !== "declined" ? "declined" : last.state,
          declineCode: last.declineCode,
          at: new Date(last.createdAtMs).toISOString(),
        }
      : null,
  };
}
export type AutoTopupView = ReturnType<typeof describeAutoTopup>;

/**
 * Turns auto top-up on for a user: checks the account id, the pack (it must have a Stripe price,
 * in `currency` when given) and the threshold (> 0; when omitted, the one set earlier, else 1
 * credit). Errors: AppError invalid_request / not_found.
 */
export function setAutoTopup(
  deps: Pick<PaymentsDeps, "packs">,
  repo: AutoTopupRepo,
  userId: string,
  request: AutoTopupRequest,
  nowMs: number,
): AutoTopupView {
  assertAccountId(userId);
  const accountId = userId;
  const parsed = autoTopupRequestSchema.safeParse(request);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new AppError(
      ErrorCode.InvalidRequest,
      `${issue?.path.join(".") || "body"}: ${issue?.message ?? "invalid"}`,
    );
  }
  const req = parsed.data;
  const pack = deps.packs.get(req.packId);
  if (!pack) {
    const known = deps.packs
      .list()
      .map((p) => p.id)
      .join(", ");
    throw new AppError(
      ErrorCode.NotFound,
      `unknown pack ${req.packId} (known: ${known || "none configured"})`,
    );
  }
  const price = deps.packs.price(pack, "stripe", req.currency);
  if (!price) {
    throw new AppError(
      ErrorCode.InvalidRequest,
      `pack ${pack.id} has no stripe price${req.currency ? ` in ${req.currency.toUpperCase()}` : ""}: auto top-up charges saved cards with Stripe only`,
    );
  }
  // No threshold given: keep the one set earlier (changing only the pack), else the default.
  const kept = repo.settings(accountId)?.thresholdMicroCredits;
  const thresholdMicro =
    req.threshold === undefined
      ? BigInt(kept ?? DEFAULT_AUTOTOPUP_THRESHOLD_MICRO)
      : parseCreditsToMicro(req.threshold);
  if (thresholdMicro <= 0n)
    throw new AppError(ErrorCode.InvalidRequest, "threshold: must be more than 0 credits");
  // Above the pack, one charge cannot lift a near-empty balance over the threshold, and every
  // top-up's credit starts a new episode: the card would be charged again and again (3 per
  // 10 minutes) for one drop. This also keeps the threshold far inside 2^53 micro-credits.
  if (thresholdMicro > pack.grantMicroCredits)
    throw new AppError(
      ErrorCode.InvalidRequest,
      `threshold: must be at most the pack's ${formatMicroCredits(pack.grantMicroCredits)} credits (pack ${pack.id}), so that one charge lifts the balance above it`,
    );
  const threshold = toMicroCredits(thresholdMicro);
  repo.putSettings(
    accountId,
    { packId: pack.id, currency: req.currency ? price.currency : null, thresholdMicroCredits: threshold },
    nowMs,
  );
  return describeAutoTopup(repo, accountId);
}

/** Turns auto top-up off (the saved card is kept for a later `set`). Idempotent. */
export function disableAutoTopup(repo: AutoTopupRepo, userId: string, nowMs: number): AutoTopupView {
  assertAccountId(userId);
  repo.disable(userId, nowMs);
  return describeAutoTopup(repo, userId);
}
