/**
 * Exactly once across a SIGKILL: the real `creditgate worker` process claims an auto top-up and
 * is killed while its off-session charge is at Stripe (the local fake, via STRIPE_API_BASE_URL).
 * Stripe made the charge; the worker never heard. The resume after the lease asks again with the
 * same Idempotency-Key: Stripe answers the same PaymentIntent, the account is credited once.
 */
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { describe, expect } from "vitest";
import { isPostgres } from "../../src/db/index.js";
import { createAutoTopupRepo, DEFAULT_AUTOTOPUP_LIMITS } from "../../src/payments/index.js";
import { CREDIT, optIn, runner, USER } from "../support/autotopup.js";
import { createPaymentsHarness, STRIPE_WEBHOOK_SECRET, TEST_PACKS } from "../support/payments-harness.js";
import { ENGINES, testOn } from "../support/temp-db.js";
import { debit, obliteratePrefix, REDIS_URL, uniquePrefix, waitFor } from "./support.js";

const MAIN = resolve(import.meta.dirname, "../../dist/cli/main.js");

// On PostgreSQL `db.name` is the URL of the file's fresh schema: the worker process opens the same one.
describe.each(ENGINES)("auto top-up across a SIGKILL (%s)", (engine) => {
  testOn(engine)(
    `SIGKILL while the charge is at Stripe (${engine}): resumed with the same key, charged and credited once`,
    async ({ db, onTestFinished }) => {
      expect(isPostgres(db)).toBe(engine === "postgres");
      const h = await createPaymentsHarness(db);
      onTestFinished(h.close);
      await optIn(h); // 5 credits, threshold 2, card saved
      const dir = mkdtempSync(join(tmpdir(), "cg-autotopup-"));
      onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
      const packs = join(dir, "packs.json");
      writeFileSync(packs, JSON.stringify(TEST_PACKS));
      const prefix = uniquePrefix();
      onTestFinished(() => obliteratePrefix(prefix));

      h.fakeStripe.setOffSessionDelayMs(4000); // the charge is "at Stripe" for 4 s
      debit(db, USER, 4 * CREDIT, Date.now()); // 1 credit left, under 2

      const child = spawn(process.execPath, [MAIN, "worker"], {
        cwd: dir,
        env: {
          PATH: process.env.PATH ?? "",
          CREDITGATE_DB: db.name,
          REDIS_URL,
          CREDITGATE_QUEUE_PREFIX: prefix,
          CREDITGATE_PACKS: packs,
          STRIPE_SECRET_KEY: "sk_test_fake_creditgate",
          STRIPE_WEBHOOK_SECRET,
          STRIPE_API_BASE_URL: `http://127.0.0.1:${h.fakeStripe.port}`,
          CREDITGATE_LOG_LEVEL: "warn",
        },
        stdio: ["ignore", "ignore", "pipe"],
      });
      let stderr = "";
      child.stderr?.on("data", (d: Buffer) => {
        stderr += d.toString("utf8");
      });
      const exited = new Promise<NodeJS.Signals | null>((r) => child.once("exit", (_c, sig) => r(sig)));
      onTestFinished(() => {
        if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
      });

      const charges = () =>
        h.fakeStripe.requests.filter((r) => r.method === "POST" && r.path === "/v1/payment_intents");
      await waitFor(charges, (c) => c.length === 1, 30_000, `the worker's charge (stderr: ${stderr})`);
      child.kill("SIGKILL");
      expect(await exited).toBe("SIGKILL");

      const repo = createAutoTopupRepo(db);
      const [trigger] = repo.recent(USER, 5);
      expect(trigger).toMatchObject({ state: "claimed", topupStatus: "pending" });
      expect(h.balance(USER)).toBe(1 * CREDIT);
      await waitFor(
        () => h.fakeStripe.offSessionCharges.length,
        (n) => n === 1,
        10_000,
        "Stripe's charge",
      );

      // After the lease, another worker resumes the claim.
      const clock = { now: Date.now() + DEFAULT_AUTOTOPUP_LIMITS.leaseMs + 1000 };
      const { auto } = runner(db, h.deps, clock);
      const resumed = await auto.resumeStale(() => clock.now);
      expect(resumed).toMatchObject([{ status: "succeeded" }]);
      expect(charges()).toHaveLength(2); // asked twice ...
      expect(new Set(charges().map((r) => r.headers["idempotency-key"]))).toEqual(
        new Set([`autotopup-${trigger?.topupId}`]),
      );
      expect(h.fakeStripe.offSessionCharges).toHaveLength(1); // ... charged once
      expect(h.balance(USER)).toBe(6 * CREDIT);

      // And the webhook, whenever it comes, changes nothing.
      const piId = h.fakeStripe.offSessionCharges[0]?.id as string;
      await h.sendStripe(h.fakeStripe.paymentIntentEvent(piId, "payment_intent.succeeded"));
      expect(h.balance(USER)).toBe(6 * CREDIT);
    },
  );
});
