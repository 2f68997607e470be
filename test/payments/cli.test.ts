import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { runCli as run } from "../support/cli.js";
import { createPaymentsHarness, MP_WEBHOOK_SECRET, TEST_PACKS } from "../support/payments-harness.js";
import { createTempDb } from "../support/temp-db.js";

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function setup() {
  const t = createTempDb();
  cleanups.push(t.cleanup);
  const packsPath = join(t.dir, "packs.json");
  writeFileSync(packsPath, JSON.stringify(TEST_PACKS));
  const env = { CREDITGATE_DB: t.path, CREDITGATE_PACKS: packsPath };
  return { t, env };
}

describe("creditgate payment commands", () => {
  it("packs lists each pack with its credits and exact prices", async () => {
    const { env } = setup();
    const { out } = await run(env, ["packs"]);
    expect(out).toMatch(/starter\s+5 credits\s+5\.00\s+stripe 5\.00 USD; mercadopago 5000\.00 ARS\n/);
    expect(out).toMatch(/big\s+12\.5 credits\s+12\.50\s+stripe 10\.00 EUR; mercadopago 9000 CLP\n/);
    const json = JSON.parse((await run(env, ["--json", "packs"])).out);
    expect(json[1]).toMatchObject({ id: "big", credits: "12.50", grantMicroCredits: "12500000" });
  });

  it("packs with no packs file says so once, naming the variable", async () => {
    const t = createTempDb();
    cleanups.push(t.cleanup);
    const { out } = await run({ CREDITGATE_DB: t.path, CREDITGATE_PACKS: "" }, ["packs"]);
    expect(out).toBe("no packs configured: set CREDITGATE_PACKS to a packs JSON file\n");
  });

  it("topup-link with a provider that has no keys fails with the variables to set", async () => {
    const { env } = setup();
    const { error } = await run(env, [
      "topup-link",
      "telegram:1",
      "--pack",
      "starter",
      "--provider",
      "stripe",
    ]);
    expect((error as Error).message).toBe(
      "stripe is disabled: set STRIPE_SECRET_KEY and STRIPE_WEBHOOK_SECRET",
    );
  });

  it("topup-link prints a MercadoPago link, and reconcile credits it once when the webhook is lost", async () => {
    const { t, env } = setup();
    const h = await createPaymentsHarness(t.db); // installs the MercadoPago fetch fake
    cleanups.push(h.close);
    const mpEnv = { ...env, MP_ACCESS_TOKEN: "TEST-fake", MP_WEBHOOK_SECRET: MP_WEBHOOK_SECRET };

    const link = await run(mpEnv, [
      "--json",
      "topup-link",
      "telegram:5",
      "--pack",
      "starter",
      "--provider",
      "mercadopago",
    ]);
    const created = JSON.parse(link.out) as { topupId: string; url: string };
    expect(created.url).toContain("pref_id=");
    h.fakeMp.pay(created.topupId); // approved; the notification never arrives

    const first = await run(mpEnv, ["reconcile", "--older-than-ms", "0"]);
    expect(first.err).toContain("stripe is disabled");
    expect(first.out).toMatch(new RegExp(`${created.topupId}\\s+mercadopago\\s+pending\\s+paid\\s+applied`));
    expect(h.balance("telegram:5")).toBe(5_000_000);

    const second = await run(mpEnv, ["reconcile", "--older-than-ms", "0"]);
    expect(second.out).toBe("nothing to reconcile: no pending top-ups old enough\n");
    expect(h.balance("telegram:5")).toBe(5_000_000);
  });
});

describe("creditgate autotopup", () => {
  it("set, get and off: a table by default, JSON on request; bad input is refused and changes nothing", async () => {
    const { env } = setup();
    const set = await run(env, ["autotopup", "set", "telegram:9", "--pack", "starter", "--threshold", "2.5"]);
    expect(set.error).toBeNull();
    expect(set.out).toMatch(/telegram:9\s+yes\s+starter\s+2\.50\s+none saved\s+–/);
    expect(set.out).toContain("--save-card");
    const got = JSON.parse((await run(env, ["--json", "autotopup", "get", "telegram:9"])).out);
    expect(got).toMatchObject({
      userId: "telegram:9",
      enabled: true,
      packId: "starter",
      threshold: "2.50",
      thresholdMicroCredits: 2_500_000,
      card: null,
      needsCard: true,
    });
    const bad = await run(env, ["autotopup", "set", "telegram:9", "--pack", "starter", "--threshold", "abc"]);
    expect(bad.error?.message).toContain("threshold");
    const unknown = await run(env, ["autotopup", "set", "telegram:9", "--pack", "nope"]);
    expect(unknown.error?.message).toContain("unknown pack nope");
    expect(JSON.parse((await run(env, ["--json", "autotopup", "get", "telegram:9"])).out)).toMatchObject({
      packId: "starter",
      threshold: "2.50",
    });
    // Setting again without --threshold keeps the threshold set earlier.
    await run(env, ["autotopup", "set", "telegram:9", "--pack", "starter"]);
    expect(JSON.parse((await run(env, ["--json", "autotopup", "get", "telegram:9"])).out)).toMatchObject({
      threshold: "2.50",
    });
    const off = await run(env, ["autotopup", "off", "telegram:9"]);
    expect(off.out).toMatch(/telegram:9\s+no\s+starter/);
  });
});
