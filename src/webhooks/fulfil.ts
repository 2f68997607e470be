import { createLedger, type Ledger } from "../credits/index.js";
import type { Db } from "../db/index.js";
import { divRoundHalfUp, formatMicroCredits } from "../money.js";
import {
  createAutoTopupRepo,
  createTopupRepo,
  minorToDecimal,
  type PaymentObservation,
  type ProviderName,
  type SavedCard,
  type Topup,
  type TopupPatch,
  type TopupRepo,
  type TopupStatus,
} from "../payments/index.js";

/** A verified provider notification, stored verbatim (payload = the exact body received). */
export interface ProviderEventRecord {
  provider: ProviderName;
  eventId: string;
  type: string;
  payload: string;
}

export interface FulfilInput {
  /** Null when the fact comes from reconciliation rather than a webhook. */
  event: ProviderEventRecord | null;
  topupId: string | null;
  /** Null for verified events we do not act on (recorded as `ignored`). */
  observation: PaymentObservation | null;
  /** Why `observation` is null or the top-up could not be located (stored on the event row). */
  note?: string;
  /**
   * The card a save-card checkout stored (opt-in to auto top-up): recorded for the top-up's
   * account in the same transaction, only when this payment is (or already was) paid.
   */
  savedCard?: SavedCard | null;
  /**
   * The provider the observation was read from, when `event` is null (a payment a MercadoPago
   * chargeback or merchant-order notification names after its first, a re-read after commit): the
   * top-up must be that provider's, as an event's provider is checked. Absent: not checked.
   */
  provider?: ProviderName;
  nowMs: number;
}

export type FulfilStatus = "applied" | "no_change" | "duplicate" | "ignored" | "rejected" | "unknown_topup";

export interface FulfilOutcome {
  status: FulfilStatus;
  topupId: string | null;
  topupStatus: TopupStatus | null;
  detail: string | null;
  /** Credits granted by this call (0 or the pack's grant). */
  grantedMicroCredits: bigint;
  /** Credits taken back by this call (negative when a won dispute restores them). */
  reversedMicroCredits: bigint;
}

/**
 * Reversal target in micro-credits for the refunded plus disputed part of a payment: the whole
 * grant when everything is taken back, else proportional, rounded half-up ONCE on the cumulative
 * amount so repeated partial refunds never drift.
 */
export function reversalTargetMicros(
  grantMicroCredits: bigint,
  paidMinor: bigint,
  refundedMinor: bigint,
  disputedMinor: bigint,
): bigint {
  const taken = refundedMinor + disputedMinor;
  // Nothing taken back (also of a payment that collected nothing: a 100% coupon) reverses nothing.
  if (taken <= 0n) return 0n;
  if (paidMinor <= 0n || taken >= paidMinor) return grantMicroCredits;
  return (2n * grantMicroCredits * taken + paidMinor) / (2n * paidMinor);
}

/**
 * The whole a top-up's `refundedMinor` and `disputedMinor` are counted against: what was collected
 * (a coupon: less than the price) when that was recorded (migration 43), else the price, as they
 * were counted before.
 */
export function refundUnitsMinor(t: Pick<Topup, "amountMinor" | "collectedMinor">): bigint {
  return t.collectedMinor ?? t.amountMinor;
}

/**
 * A refund or dispute level counted against another whole (`amountBasisMinor`: a Stripe charge in
 * the customer's currency under Adaptive Pricing, a MercadoPago payment's price before its coupon)
 * → the same share of `units` (the top-up's {@link refundUnitsMinor}), rounded half-up; all of the
 * charge is all of it. Without a basis the level is already in those units.
 */
function inTopupUnits(
  level: bigint | undefined,
  basis: bigint | undefined,
  units: bigint,
): bigint | undefined {
  if (level === undefined || basis === undefined || basis <= 0n || basis === units) return level;
  if (level >= basis) return units;
  return divRoundHalfUp(level * units, basis);
}

/** A current value replaces the refund level; a snapshot can only raise it (bigints: no Math.max). */
function nextRefundLevel(current: bigint, o: PaymentObservation): bigint {
  if (o.refundedMinor === undefined) return current;
  if (o.refundIsCurrent || o.refundedMinor > current) return o.refundedMinor;
  return current;
}

/**
 * When the top-up was paid: the provider's time when it gives one, never before the top-up was
 * created nor after now (clock skew); else now.
 */
function paidAt(o: PaymentObservation, t: Topup, nowMs: number): number {
  const at = o.paidAtMs;
  if (at === undefined || !Number.isFinite(at)) return nowMs;
  return Math.min(nowMs, Math.max(t.createdAtMs, Math.trunc(at)));
}

/**
 * What a payment collected, in the top-up's minor units: its `collectedMinor` when below the price
 * (never above it, never negative), else the price.
 */
function collectedOf(paid: PaymentObservation["paid"], t: Topup): bigint {
  const c = paid?.collectedMinor;
  if (c === undefined || c >= t.amountMinor) return t.amountMinor;
  return c < 0n ? 0n : c;
}

const money = (t: Topup, minor: bigint) => `${minorToDecimal(minor, t.currencyExponent)} ${t.currency}`;

/** A row of `provider_events` as SQLite returns it: one verified provider notification. */
interface ProviderEventRow {
  id: number;
  provider: ProviderName;
  event_id: string;
  type: string;
  topup_id: string | null;
  /** The notification as received (JSON text). */
  payload: string;
  /** processing | applied | no_change | ignored | rejected | unknown_topup */
  outcome: string;
  detail: string | null;
  received_at_ms: number;
}

/**
 * The ONE place a payment changes credits, used by both webhooks and reconciliation. Each call
 * commits the event row, the top-up's new state and its ledger entries in a single IMMEDIATE
 * transaction. Idempotent on the top-up itself: the grant key is `topup:<id>:grant`, and
 * reversals move toward a target computed from cumulative amounts, so replays write nothing.
 *
 * `repos`: the process's ledger and top-up repository (createServices passes its own); each one
 * absent is built over `db` (standalone use: tests).
 */
export function createFulfiller(db: Db, repos: { ledger?: Ledger; topups?: TopupRepo } = {}) {
  const ledger = repos.ledger ?? createLedger(db);
  const topups = repos.topups ?? createTopupRepo(db);
  const cards = createAutoTopupRepo(db);
  const insertEvent = db.prepare<[string, string, string, string | null, string, number]>(
    `INSERT INTO provider_events (provider, event_id, type, topup_id, payload, outcome, received_at_ms)
     VALUES (?, ?, ?, ?, ?, 'processing', ?) ON CONFLICT (provider, event_id) DO NOTHING`,
  );
  const finishEvent = db.prepare<[string, string | null, string | null, string, string]>(
    "UPDATE provider_events SET outcome = ?, detail = ?, topup_id = ? WHERE provider = ? AND event_id = ?",
  );
  const eventExists = db.prepare<[string, string], Pick<ProviderEventRow, "outcome">>(
    "SELECT outcome FROM provider_events WHERE provider = ? AND event_id = ?",
  );

  function applyInTx(input: FulfilInput): FulfilOutcome {
    const { event, nowMs } = input;
    let observation = input.observation;
    if (event) {
      const inserted = insertEvent.run(
        event.provider,
        event.eventId,
        event.type,
        input.topupId,
        event.payload,
        nowMs,
      );
      if (inserted.changes === 0) {
        const t = input.topupId ? topups.get(input.topupId) : null;
        return outcome("duplicate", t, `event ${event.eventId} was already processed`, 0n, 0n);
      }
    }
    const finish = (o: FulfilOutcome): FulfilOutcome => {
      if (event) finishEvent.run(o.status, o.detail, o.topupId, event.provider, event.eventId);
      return o;
    };

    const topup = input.topupId ? topups.get(input.topupId) : null;
    if (!observation)
      return finish(outcome("ignored", topup, input.note ?? "event type not handled", 0n, 0n));
    if (!topup) {
      const detail = input.note ?? `no top-up ${input.topupId ?? "(no id in the event)"}`;
      return finish(outcome("unknown_topup", null, detail, 0n, 0n, input.topupId));
    }
    const reject = (detail: string) => finish(outcome("rejected", topup, detail, 0n, 0n));
    // A payment that pays the top-up now records what it collected (a coupon: less than the
    // price; the reports' amount), and its refund and dispute levels are counted in it. A top-up
    // already paid keeps what it recorded (null before migration 43: counted in the price).
    const paysNow = observation.state === "paid" && observation.paid !== undefined && topup.status !== "paid";
    const otherPayment =
      observation.paymentRef && topup.paymentRef && observation.paymentRef !== topup.paymentRef;
    // A top-up whose payment was refunded in full, paid again by another payment (a Checkout Pro
    // preference can be paid more than once; its external_reference is the same): the new payment
    // may take its place, with its own refund and dispute levels, and the credits come back. What
    // it collected is its own too (the first may have had a coupon and the new one none, or the
    // reverse): its levels are counted in it, not in what the refunded payment collected.
    const mayReplace =
      otherPayment &&
      topup.status === "paid" &&
      observation.state === "paid" &&
      observation.paid !== undefined &&
      topup.refundedMinor >= refundUnitsMinor(topup) &&
      topup.disputedMinor === 0n;
    const collectedNow = paysNow || mayReplace ? collectedOf(observation.paid, topup) : null;
    const units = collectedNow ?? refundUnitsMinor(topup);
    if (observation.amountBasisMinor !== undefined) {
      const basis = observation.amountBasisMinor;
      const refundedMinor = inTopupUnits(observation.refundedMinor, basis, units);
      const disputedMinor = inTopupUnits(observation.disputedMinor, basis, units);
      observation = {
        ...observation,
        ...(refundedMinor === undefined ? {} : { refundedMinor }),
        ...(disputedMinor === undefined ? {} : { disputedMinor }),
      };
    }
    const from = event?.provider ?? input.provider;
    if (from !== undefined && from !== topup.provider) {
      return reject(`top-up ${topup.id} belongs to ${topup.provider}, not ${from}`);
    }
    if (observation.problem) return reject(observation.problem);
    if (observation.echoedTopupId && observation.echoedTopupId !== topup.id) {
      return reject(`the payment references ${observation.echoedTopupId}, not top-up ${topup.id}`);
    }
    const replacesRefunded =
      mayReplace && (observation.refundedMinor ?? 0n) + (observation.disputedMinor ?? 0n) < units;
    if (otherPayment && topup.status === "paid" && !replacesRefunded) {
      return reject(
        `payment ${observation.paymentRef} is not payment ${topup.paymentRef} that paid top-up ${topup.id}` +
          (observation.state === "paid" ? "; a second payment: refund it at the provider" : ""),
      );
    }
    if (observation.state === "paid") {
      const paid = observation.paid;
      if (!paid || paid.currency !== topup.currency || paid.amountMinor !== topup.amountMinor) {
        const got = paid
          ? `${minorToDecimal(paid.amountMinor, topup.currencyExponent)} ${paid.currency}`
          : "?";
        return reject(
          `amount_mismatch: paid ${got}, top-up ${topup.id} expects ${money(topup, topup.amountMinor)}`,
        );
      }
    }

    // A top-up waiting for one payment (a boleto, a cash ticket still to be paid) is not undone by
    // ANOTHER attempt on the same checkout failing (a card rejected on the same Checkout Pro
    // preference): that payment may still be paid. It stays waiting, on the payment it waits for.
    const otherAttemptFailed =
      otherPayment && topup.status === "awaiting_payment" && observation.state === "failed";
    const next: TopupPatch = {
      status: topup.status,
      paymentRef: otherAttemptFailed ? topup.paymentRef : (observation.paymentRef ?? topup.paymentRef),
      refundedMinor: replacesRefunded
        ? (observation.refundedMinor ?? 0n)
        : nextRefundLevel(topup.refundedMinor, observation),
      disputedMinor: replacesRefunded
        ? (observation.disputedMinor ?? 0n)
        : (observation.disputedMinor ?? topup.disputedMinor),
      reversedMicroCredits: topup.reversedMicroCredits,
      reversalCount: topup.reversalCount,
      lastError: topup.lastError,
      paidAtMs: topup.paidAtMs,
      // A replacement records what IT collected; its refund and dispute levels are counted in it.
      collectedMinor: replacesRefunded ? collectedNow : topup.collectedMinor,
    };
    const unsettled = topup.status === "pending" || topup.status === "awaiting_payment";
    let granted = 0n;
    switch (observation.state) {
      case "paid":
        // Any verified payment grants, even on a failed or expired top-up: money that arrived is never lost.
        if (topup.status !== "paid") {
          ledger.post({
            accountId: topup.accountId,
            kind: "topup",
            amountMicroCredits: topup.grantMicroCredits,
            idempotencyKey: `topup:${topup.id}:grant`,
            reason: `top-up ${topup.id}: pack ${topup.packId}, ${money(topup, topup.amountMinor)} via ${topup.provider}`,
            ref: topup.id,
            nowMs,
          });
          granted = topup.grantMicroCredits;
          next.status = "paid";
          next.paidAtMs = paidAt(observation, topup, nowMs);
          next.collectedMinor = collectedNow;
          next.lastError = null;
        }
        break;
      case "awaiting_payment":
        // A new attempt after a failed one (a rejected card, then a boleto on the same
        // preference) is waited for again, and so reconciled until it is paid or fails. So is a
        // payment first seen after the top-up expired with none (a boleto generated just before
        // the link's end, notified after `reconcile` expired it): left `expired`, it was never
        // read again and its payment was lost when that notification was (case
        // test/cases/mercadopago-waiting-payment-after-link-expired).
        if (
          topup.status === "pending" ||
          (topup.status === "failed" && otherPayment) ||
          (topup.status === "expired" &&
            observation.paymentRef !== undefined &&
            observation.paymentRef !== null &&
            observation.paymentRef !== topup.paymentRef)
        )
          next.status = "awaiting_payment";
        break;
      case "failed":
      case "expired":
        if (unsettled && !otherAttemptFailed) next.status = observation.state;
        break;
      case "unchanged":
        break;
    }

    let reversed = 0n;
    let reversalSplit = "";
    if (next.status === "paid") {
      const target = reversalTargetMicros(
        topup.grantMicroCredits,
        next.collectedMinor ?? topup.amountMinor,
        next.refundedMinor,
        next.disputedMinor,
      );
      const delta = target - next.reversedMicroCredits;
      if (delta !== 0n) {
        next.reversalCount += 1;
        const posted = ledger.post({
          accountId: topup.accountId,
          kind: "reversal",
          amountMicroCredits: -delta,
          idempotencyKey: `topup:${topup.id}:reversal:${next.reversalCount}`,
          reason:
            `top-up ${topup.id}: ${observation.source}; refunded ${money(topup, next.refundedMinor)}, ` +
            `disputed ${money(topup, next.disputedMinor)} of ${money(topup, next.collectedMinor ?? topup.amountMinor)}; ` +
            `${delta > 0n ? "reversed" : "restored"} ${formatMicroCredits(delta > 0n ? delta : -delta)} credits`,
          ref: topup.id,
          nowMs,
        });
        next.reversedMicroCredits = target;
        reversed = delta;
        // Where it came from (docs/grants.md): the top-up's own grant first; what was already
        // spent of it from the user's other credit, and past that it is debt. Said, never silent.
        if (posted.status === "applied" && delta > 0n) {
          const own = posted.split.draws
            .filter((d) => d.grantId === posted.split.reversedGrantId)
            .reduce((n, d) => n + d.amountMicroCredits, 0n);
          const other = delta - own - posted.split.debtMicroCredits;
          reversalSplit =
            ` (${formatMicroCredits(own)} from its grant, ${formatMicroCredits(other)} from other credit,` +
            ` ${formatMicroCredits(posted.split.debtMicroCredits)} became debt)`;
        }
      }
    }

    if (input.savedCard && next.status === "paid") cards.saveCard(topup.accountId, input.savedCard, nowMs);
    const changed = (Object.keys(next) as (keyof TopupPatch)[]).some((k) => next[k] !== topup[k]);
    if (changed) topups.update(topup.id, next, nowMs);
    const after = { ...topup, ...next };
    const detail =
      granted > 0n || reversed !== 0n
        ? `granted ${formatMicroCredits(granted)}, reversed ${formatMicroCredits(reversed)} credits${reversalSplit}`
        : null;
    return finish(outcome(changed ? "applied" : "no_change", after, detail, granted, reversed));
  }

  const applyTx = db.transaction(applyInTx);

  return {
    /** Applies one fact atomically. Synchronous: call it after every await (provider fetches) is done. */
    apply(input: FulfilInput): FulfilOutcome {
      return db.inTransaction ? applyInTx(input) : applyTx.immediate(input);
    },
    /** True when this provider event was already recorded (skip the provider round-trip). */
    seen(provider: ProviderName, eventId: string): boolean {
      return eventExists.get(provider, eventId) !== undefined;
    },
    topups,
    ledger,
  };
}

export type Fulfiller = ReturnType<typeof createFulfiller>;

function outcome(
  status: FulfilStatus,
  topup: Pick<Topup, "id" | "status"> | null,
  detail: string | null,
  grantedMicroCredits: bigint,
  reversedMicroCredits: bigint,
  topupId: string | null = null,
): FulfilOutcome {
  return {
    status,
    topupId: topup?.id ?? topupId,
    topupStatus: topup?.status ?? null,
    detail,
    grantedMicroCredits,
    reversedMicroCredits,
  };
}
