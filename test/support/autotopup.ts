/** Auto top-up test helpers: a runner per database connection (one "worker") and the opt-in checkout. */
import { expect } from "vitest";
import type { Db } from "../../src/db/index.js";
import { createEnforcer, DEFAULT_SETTINGS } from "../../src/limits/index.js";
import {
  type AutoTopupLimits,
  createAutoTopup,
  createAutoTopupRepo,
  type PaymentsDeps,
} from "../../src/payments/index.js";
import { createFulfiller } from "../../src/webhooks/index.js";
import type { PaymentsHarness } from "./payments-harness.js";

export const USER = "telegram:777";
export const CREDIT = 1_000_000;
export const T0 = Date.parse("2026-11-30T12:00:00Z");

/** An auto top-up runner over `db` (its own repositories, like one worker process) with a fake clock. */
export function runner(
  db: Db,
  deps: Omit<PaymentsDeps, "db">,
  clock: { now: number },
  limits: Partial<AutoTopupLimits> = {},
) {
  const fulfiller = createFulfiller(db);
  const enforcer = createEnforcer(db, DEFAULT_SETTINGS);
  const auto = createAutoTopup({
    payments: { ...deps, db, topups: fulfiller.topups },
    apply: (topupId, observation) => fulfiller.apply({ event: null, topupId, observation, nowMs: clock.now }),
    notifyDeclined: (accountId, episode, n, nowMs) => {
      enforcer.notify(
        accountId,
        "autotopup_declined",
        "",
        episode,
        { amountMicroCredits: n.amountMicroCredits, declineCode: n.code, topupUrl: n.topupUrl },
        nowMs,
      );
    },
    limits,
  });
  return { auto, run: () => auto.onBalanceChange(USER, () => clock.now) };
}

/** Opt-in checkout: pay the starter pack with saveCard, webhook in, card saved; auto top-up on. */
export async function optIn(h: PaymentsHarness, threshold = "2") {
  const res = await h.app.inject({
    method: "POST",
    url: "/v1/topups",
    headers: h.auth,
    payload: { userId: USER, packId: "starter", provider: "stripe", saveCard: true },
  });
  expect(res.statusCode).toBe(201);
  const { topupId } = res.json() as { topupId: string };
  const sessionId = h.sessionIdOf(topupId);
  expect((await h.sendStripe(h.fakeStripe.completePaid(sessionId))).json()).toMatchObject({
    status: "applied",
  });
  const put = await h.app.inject({
    method: "PUT",
    url: `/v1/users/${USER}/autotopup`,
    headers: h.auth,
    payload: { packId: "starter", threshold },
  });
  expect(put.statusCode).toBe(200);
  const pm = createAutoTopupRepo(h.deps.db).customer(USER)?.paymentMethodId;
  if (!pm) throw new Error("no card saved");
  return { pm, sessionId, topupId };
}
