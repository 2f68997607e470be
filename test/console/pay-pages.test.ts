/**
 * Checkout landing pages (issue #12): translated, and the success page shows the new balance once
 * the verified webhook has credited the top-up (reloading itself until then, bounded). A redirect
 * alone never credits.
 */
import { describe, expect } from "vitest";
import { createPaymentsHarness } from "../support/payments-harness.js";
import { test } from "../support/temp-db.js";

const USER = "telegram:555";

describe("checkout landing pages", () => {
  test("success: waits (meta refresh) until the webhook, then shows the new balance", async ({
    db,
    onTestFinished,
  }) => {
    const h = await createPaymentsHarness(db);
    onTestFinished(h.close);
    const { topupId } = await h.createTopup(USER, "starter", "stripe");
    const url = `/pay/success?provider=stripe&topup=${topupId}&session_id=cs_x`;
    const before = await h.app.inject({ url });
    expect(before.statusCode).toBe(200);
    expect(before.body).toContain("As soon as the payment provider confirms your payment");
    expect(before.body).toMatch(/<meta http-equiv="refresh" content="4;url=\/pay\/success\?[^"]*n=1"/);
    expect(before.body).not.toContain("data-balance");
    expect(h.balance(USER)).toBe(0);
    // The refresh is bounded.
    const last = await h.app.inject({ url: `${url}&n=30` });
    expect(last.body).not.toContain('http-equiv="refresh"');
    expect(last.body).toContain("Still waiting");

    const res = await h.sendStripe(h.fakeStripe.completePaid(h.sessionIdOf(topupId)));
    expect(res.statusCode).toBe(200);
    const after = await h.app.inject({ url });
    expect(after.body).toContain("Payment confirmed");
    const credits = (h.balance(USER) / 1_000_000).toFixed(2);
    expect(after.body).toContain(`<strong data-balance>${credits}</strong> credits`);
    expect(after.body).not.toContain('http-equiv="refresh"');
    // Spanish by Accept-Language, or ?lang=es; decimal comma.
    const es = await h.app.inject({ url, headers: { "accept-language": "es-AR,es;q=0.9" } });
    expect(es.body).toContain('<html lang="es">');
    expect(es.body).toContain(`${credits.replace(".", ",")}</strong> créditos`);
    expect((await h.app.inject({ url: `${url}&lang=es` })).body).toContain("Pago confirmado");
  });

  test("pending and cancel pages, in the user's own language when set", async ({ db, onTestFinished }) => {
    const h = await createPaymentsHarness(db);
    onTestFinished(h.close);
    const { topupId } = await h.createTopup(USER, "starter", "stripe");
    const pending = await h.app.inject({ url: `/pay/success?topup=${topupId}&pending=1` });
    expect(pending.body).toContain("Payment pending");
    expect((await h.app.inject({ url: `/pay/pending?topup=${topupId}` })).body).toContain("Payment pending");
    const cancel = await h.app.inject({ url: "/pay/cancel" });
    expect(cancel.body).toContain("No payment was taken");
    await h.app.inject({
      method: "PUT",
      url: `/v1/users/${USER}/limits`,
      headers: h.auth,
      payload: { language: "es" },
    });
    const es = await h.app.inject({ url: `/pay/cancel?topup=${topupId}` });
    expect(es.body).toContain("Pago cancelado");
    expect(es.headers["content-security-policy"]).toMatch(/default-src 'none'/);
  });

  test("an unknown or missing top-up id says so: never 'payment received', nothing leaked", async ({
    db,
    onTestFinished,
  }) => {
    const h = await createPaymentsHarness(db);
    onTestFinished(h.close);
    // A real, paid top-up of another user exists: nothing of it may show on a bogus id's page.
    const { topupId } = await h.createTopup(USER, "starter", "stripe");
    await h.sendStripe(h.fakeStripe.completePaid(h.sessionIdOf(topupId)));
    for (const url of [
      "/pay/success?topup=tu_nope",
      "/pay/success?topup=tu_nope&pending=1",
      `/pay/success?topup=${topupId.slice(0, -1)}`,
      "/pay/success",
      "/pay/success?topup=%3Cscript%3E",
      // /pay/pending said "your payment is being processed" for any id, or none
      "/pay/pending?topup=tu_nope",
      "/pay/pending",
    ]) {
      const res = await h.app.inject({ url });
      expect(res.statusCode, url).toBe(200);
      expect(res.body, url).toContain("<h1>Top-up not found</h1>");
      expect(res.body, url).not.toMatch(/Payment (received|confirmed|pending)/);
      expect(res.body, url).not.toContain('http-equiv="refresh"');
      expect(res.body, url).not.toContain("data-balance");
      expect(res.body, url).not.toContain(USER);
      expect(res.body, url).not.toContain("script");
    }
    const es = await h.app.inject({ url: "/pay/success?topup=tu_nope&lang=es" });
    expect(es.body).toContain("<h1>Recarga no encontrada</h1>");
    // The real top-up still shows its confirmation, on the pending and cancel pages too (a paid
    // top-up's cancel page said "No payment was taken").
    for (const page of ["success", "pending", "cancel"]) {
      const res = await h.app.inject({ url: `/pay/${page}?topup=${topupId}` });
      expect(res.body, page).toContain("Payment confirmed");
      expect(res.body, page).toContain("data-balance");
      expect(res.body, page).not.toContain("No payment was taken");
    }
  });
});
