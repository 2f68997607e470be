import type { PaymentObservation } from "./types.js";

/** Re-reads after a commit that changed something, at most (then the result says `settled: false`). */
export const POST_COMMIT_REREADS = 3;

/** What the post-commit check did: the first commit's result, the last one's, and the re-reads made. */
export interface SettledRead<R> {
  /** The outcome of applying the delivery's own read (with its event row). */
  first: R;
  /** The outcome of the last apply (the first when no re-read changed anything). */
  last: R;
  /** Provider re-reads made after commits (0 when the first apply changed nothing). */
  rereads: number;
  /** Applies of a re-read that differed from what had been applied. */
  reapplied: number;
  /** False when the bound ran out with the state still moving, or a re-read failed. */
  settled: boolean;
  /** Why a re-read failed (the commits made stand; the next event or reconciliation settles it). */
  error: string | null;
}

/** The fields of a read that decide credits and state (the source text and `refundIsCurrent` do not). */
function sameState(a: PaymentObservation, b: PaymentObservation): boolean {
  return (
    a.state === b.state &&
    a.refundedMinor === b.refundedMinor &&
    a.disputedMinor === b.disputedMinor &&
    a.amountBasisMinor === b.amountBasisMinor &&
    a.paid?.amountMinor === b.paid?.amountMinor &&
    a.paid?.currency === b.paid?.currency &&
    (a.paymentRef ?? null) === (b.paymentRef ?? null) &&
    (a.echoedTopupId ?? null) === (b.echoedTopupId ?? null) &&
    (a.problem ?? null) === (b.problem ?? null)
  );
}

/**
 * Applies a payment state READ from the provider (a MercadoPago payment, a Stripe charge or
 * dispute, a reconciliation query), then checks it after the commit. Two deliveries about one
 * payment, read across a change at the provider, can commit in the other order: the older read
 * lands last and stays (a refund applied, then undone by the stale read). So after a commit that
 * changed something the provider is asked again; a state that differs from what was applied is
 * applied too (`apply(o, n)` with n ≥ 1: no event row, the source says "re-read after commit"),
 * up to `maxRereads` times. The last commit is then always followed by a read made after it:
 * whichever delivery commits last leaves the provider's state as read after every earlier commit.
 *
 * `apply` runs one transaction (the one fulfilment path) and returns its outcome; only `applied`
 * (something changed) triggers a re-read: a commit that changed nothing cannot have undone
 * another's. `reread` returns null when there is nothing to re-read (the state stands). A re-read
 * that throws ends the check (`settled: false`, `error`): what was committed stands.
 */
export async function applyProviderRead<R extends { status: string }>(
  observation: PaymentObservation,
  apply: (o: PaymentObservation, rereadNo: number) => R,
  reread: () => Promise<PaymentObservation | null>,
  maxRereads = POST_COMMIT_REREADS,
): Promise<SettledRead<R>> {
  const first = apply(observation, 0);
  let last = first;
  let applied = observation;
  let rereads = 0;
  let reapplied = 0;
  while (last.status === "applied") {
    if (rereads >= maxRereads) {
      return { first, last, rereads, reapplied, settled: false, error: null };
    }
    let now: PaymentObservation | null;
    try {
      now = await reread();
    } catch (err) {
      const error = err instanceof Error ? err.message : String(err);
      return { first, last, rereads, reapplied, settled: false, error };
    }
    rereads += 1;
    if (!now || sameState(now, applied)) break;
    applied = { ...now, source: `${now.source}, re-read after commit` };
    reapplied += 1;
    last = apply(applied, rereads);
  }
  return { first, last, rereads, reapplied, settled: true, error: null };
}
