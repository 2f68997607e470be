/**
 * Auto top-up through the worker's real pipeline: debits write the limit outbox, the relay hands
 * checks to BullMQ (real Redis, fresh prefix), and two worker runtimes on one SQLite file take
 * them concurrently; each runs the auto top-up after its check. The low balance is charged once
 * at the (local, real-SDK) Stripe fake, however the checks are shared out.
 */
import { expect } from "vitest";
import { openDatabase } from "../../src/db/index.js";
import { startWorkerRuntime } from "../../src/worker/runtime.js";
import { optIn, runner, USER } from "../support/autotopup.js";
import { createPaymentsHarness } from "../support/payments-harness.js";
import { test } from "../support/temp-db.js";
import { debit, obliteratePrefix, REDIS_URL, settings, uniquePrefix, waitFor } from "./support.js";

test("two worker runtimes on one database and Redis prefix see the same low balance: one charge, credited once", async ({
  db,
  onTestFinished,
}) => {
  const h = await createPaymentsHarness(db);
  onTestFinished(h.close);
  await optIn(h); // 5 credits, threshold 2
  const prefix = uniquePrefix();
  onTestFinished(() => obliteratePrefix(prefix));
  const clock = {
    get now() {
      return Date.now();
    },
  };
  const start = () => {
    const wdb = openDatabase(db.name);
    const { auto } = runner(wdb, h.deps, clock);
    const rt = startWorkerRuntime({
      db: wdb,
      redisUrl: REDIS_URL,
      prefix,
      settings: settings(),
      webhook: null,
      schedule: false,
      sweep: false,
      relayEveryMs: 10,
      concurrency: 4,
      autoTopup: {
        onBalanceChange: (id) => auto.onBalanceChange(id),
        resumeStale: () => auto.resumeStale(),
      },
    });
    onTestFinished(async () => {
      await rt.close();
      wdb.close();
    });
    return rt;
  };
  const workers = [start(), start()];
  await Promise.all(workers.map((w) => w.ready));
  h.fakeStripe.setOffSessionDelayMs(150); // checks keep arriving while the charge is in flight

  // The meter bills six calls of 0.8: the balance crosses 2 on the fourth and keeps falling.
  for (let i = 0; i < 6; i++) {
    debit(db, USER, 800_000, Date.now());
    await new Promise((r) => setTimeout(r, 40));
  }
  await waitFor(
    () => h.balance(USER),
    (b) => b === 5_200_000,
    15_000,
    "the auto top-up credit",
  );
  // Every check done (both workers had their turn), and still one charge.
  await waitFor(
    () =>
      db.prepare("SELECT seq, checked_seq FROM limit_outbox WHERE account_id = ?").get(USER) as {
        seq: number;
        checked_seq: number;
      },
    (r) => r.checked_seq >= r.seq,
    15_000,
    "all checks",
  );
  expect(h.fakeStripe.offSessionCharges).toHaveLength(1);
  // The database claim already stopped the other worker: Stripe saw a single request.
  expect(
    h.fakeStripe.requests.filter((r) => r.method === "POST" && r.path === "/v1/payment_intents"),
  ).toHaveLength(1);
  const piId = h.fakeStripe.offSessionCharges[0]?.id as string;
  // The webhook, redelivered, changes nothing.
  const e = h.fakeStripe.paymentIntentEvent(piId, "payment_intent.succeeded");
  await Promise.all([h.sendStripe(e), h.sendStripe(e), h.sendStripe(e)]);
  expect(h.balance(USER)).toBe(5_200_000);
  expect((db.prepare("SELECT COUNT(*) AS n FROM autotopup_triggers").get() as { n: number }).n).toBe(1);
});
