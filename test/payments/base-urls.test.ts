import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it, vi } from "vitest";
import { loadConfig } from "../../src/config/index.js";
import { createMercadoPagoGateway } from "../../src/payments/index.js";
import { runCli } from "../support/cli.js";
import { startFakeMercadoPago } from "../support/fake-mercadopago.js";
import { startFakeStripe } from "../support/fake-stripe.js";
import { MP_WEBHOOK_SECRET, STRIPE_WEBHOOK_SECRET, TEST_PACKS } from "../support/payments-harness.js";
import { createTempDb } from "../support/temp-db.js";

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  vi.unstubAllGlobals();
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** No test may reach the internet: anything but 127.0.0.1 is refused, and said so. */
function guardNetwork(): string[] {
  const refused: string[] = [];
  const realFetch = globalThis.fetch;
  vi.stubGlobal("fetch", (input: string | URL | Request, init?: RequestInit) => {
    const href = typeof input === "string" ? input : input instanceof URL ? input.href : input.url;
    if (href.startsWith("http://127.0.0.1:")) return realFetch(input, init);
    refused.push(href);
    return Promise.reject(new Error(`test network: refused ${href}`));
  });
  return refused;
}

describe("STRIPE_API_BASE_URL and MP_API_BASE_URL", () => {
  it("point the official SDKs at local fakes end to end, through the config keys only", async () => {
    const refused = guardNetwork();
    const t = createTempDb();
    cleanups.push(t.cleanup);
    const fakeStripe = await startFakeStripe();
    cleanups.push(fakeStripe.close);
    const fakeMp = await startFakeMercadoPago(); // not installed: no fetch interception
    cleanups.push(fakeMp.close);
    const packs = join(t.dir, "packs.json");
    writeFileSync(packs, JSON.stringify(TEST_PACKS));
    const env = {
      CREDITGATE_DB: t.path,
      CREDITGATE_PACKS: packs,
      STRIPE_SECRET_KEY: "sk_test_base_url",
      STRIPE_WEBHOOK_SECRET,
      STRIPE_API_BASE_URL: `http://127.0.0.1:${fakeStripe.port}`,
      MP_ACCESS_TOKEN: "TEST-base-url",
      MP_WEBHOOK_SECRET,
      MP_API_BASE_URL: `http://127.0.0.1:${fakeMp.port}/`,
    };
    const link = (provider: string) =>
      runCli(env, ["--json", "topup-link", "telegram:7", "--pack", "starter", "--provider", provider]);

    const s = await link("stripe");
    expect(s.error).toBeNull();
    expect(JSON.parse(s.out).url).toContain("checkout.stripe.com");
    expect(fakeStripe.requests.map((r) => `${r.method} ${r.path}`)).toContain("POST /v1/checkout/sessions");

    const m = await link("mercadopago");
    expect(m.error).toBeNull();
    expect(JSON.parse(m.out).url).toContain("pref_id=");
    expect(fakeMp.requests.map((r) => `${r.method} ${r.path}`)).toEqual(["POST /checkout/preferences/"]);
    expect(refused).toEqual([]);
  });

  it("without MP_API_BASE_URL the SDK talks to api.mercadopago.com again", async () => {
    const refused = guardNetwork();
    createMercadoPagoGateway({
      accessToken: "T",
      webhookSecret: "s",
      sandbox: true,
      apiBaseUrl: "http://127.0.0.1:9",
    });
    const gw = createMercadoPagoGateway({
      accessToken: "T",
      webhookSecret: "s",
      sandbox: true,
      maxRetries: 0,
    });
    await expect(gw.getPayment("1")).rejects.toThrow(
      /refused https:\/\/api\.mercadopago\.com\/v1\/payments\/1/,
    );
    expect(refused).toEqual(["https://api.mercadopago.com/v1/payments/1"]);
  });

  it("are validated with the variable's name; Stripe's takes no path", () => {
    const base = { STRIPE_SECRET_KEY: "sk_test_x", STRIPE_WEBHOOK_SECRET: "whsec_x" };
    expect(
      loadConfig({ ...base, STRIPE_API_BASE_URL: "https://stripe-proxy.internal" }).payments.stripe?.api,
    ).toEqual({
      host: "stripe-proxy.internal",
      port: 443,
      protocol: "https",
    });
    expect(() => loadConfig({ ...base, STRIPE_API_BASE_URL: "http://127.0.0.1:12111/v1" })).toThrow(
      /must be scheme:\/\/host\[:port\] only[\s\S]*at STRIPE_API_BASE_URL/,
    );
    expect(() => loadConfig({ MP_API_BASE_URL: "ftp://x" })).toThrow(
      /http\(s\) URL[\s\S]*at MP_API_BASE_URL/,
    );
    expect(
      loadConfig({
        MP_ACCESS_TOKEN: "T",
        MP_WEBHOOK_SECRET: "s",
        MP_API_BASE_URL: "https://proxy.internal/mp/",
      }).payments.mercadoPago?.apiBaseUrl,
    ).toBe("https://proxy.internal/mp");
  });
});
