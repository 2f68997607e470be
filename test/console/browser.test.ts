/**
 * The operator console in a real browser (Debian's Chromium through playwright-core): log in,
 * the overview's numbers equal `creditgate usage --json` over the same fixture data, a grant
 * moves the balance and its chart, a block changes the status, a POST without the CSRF token is
 * refused, a read key cannot act, logout ends the session. Every page is screenshotted into
 * test-output/console/ and checked with axe-core (no serious or critical violations).
 *
 * Skipped (with a message) when /usr/bin/chromium is missing, except under CI (.ci/run installs it).
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import { type Browser, chromium, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { pushEvent, testApp } from "../api/support.js";
import { runCli } from "../support/cli.js";
import { API_KEY } from "../support/payments-harness.js";
import { createTempDb } from "../support/temp-db.js";

const CHROMIUM = "/usr/bin/chromium";
const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const SHOTS = `${ROOT}test-output/console`;
const AXE = readFileSync(createRequire(import.meta.url).resolve("axe-core/axe.min.js"), "utf8");
const DAY = 86_400_000;
/** The page polls every 5 s and CI machines are busy: wait for figures generously. */
const POLL = { timeout: 15_000, interval: 200 };
const HAVE_BROWSER = existsSync(CHROMIUM);
if (!HAVE_BROWSER)
  console.warn(`console browser tests skipped: ${CHROMIUM} is missing (apt-get install chromium)`);

// A browser step under a loaded CI machine takes seconds: 90 s per test, not the default 30.
describe.skipIf(!HAVE_BROWSER)("operator console in Chromium", { timeout: 90_000 }, () => {
  let t: ReturnType<typeof createTempDb>;
  let app: ReturnType<typeof testApp>;
  const now = Date.now();
  let base = "";
  let browser: Browser;
  let page: Page;

  beforeAll(async () => {
    t = createTempDb();
    app = testApp(t.db, { nowMs: () => Date.now() });
    if (!existsSync(`${ROOT}dist/console/index.html`)) {
      execFileSync("npm", ["run", "build:console"], { cwd: ROOT, stdio: "inherit" });
    }
    mkdirSync(SHOTS, { recursive: true });
    // Fixture: three users, two agents, two models, over 10 days; one call held for review.
    const events = [];
    for (let i = 0; i < 24; i++) {
      events.push(
        pushEvent({
          idempotencyKey: `e${i}`,
          userId: `telegram:${1000 + (i % 3)}`,
          agentId: i % 2 ? "support" : "main",
          model: i % 4 === 0 ? "mock-mini" : "mock-gpt",
          input: 100_000 + i * 1000,
          output: 2000 * i,
          timestampMs: now - (i % 10) * DAY - 3_600_000,
          success: i % 7 !== 3,
        }),
      );
    }
    events.push(
      pushEvent({ idempotencyKey: "own", userId: "agent:main", agentId: "main", timestampMs: now - DAY }),
    );
    events.push(
      pushEvent({
        idempotencyKey: "huge",
        userId: "telegram:1000",
        input: 2_000_000_000,
        timestampMs: now - DAY,
      }),
    );
    const auth = { authorization: `Bearer ${API_KEY}` };
    const pushed = await app.inject({ method: "POST", url: "/v1/usage", headers: auth, payload: { events } });
    expect(pushed.json()).toMatchObject({ billed: 25, held: 1 });
    await app.inject({
      method: "POST",
      url: "/v1/users/telegram:1001/grants",
      headers: auth,
      payload: { credits: "50", reason: "welcome", idempotencyKey: "welcome-1001" },
    });
    const topup = t.db.prepare(
      `INSERT INTO topups (id, account_id, pack_id, provider, currency, amount_minor, currency_exponent,
         grant_micro_credits, status, expires_at_ms, created_at_ms, updated_at_ms, paid_at_ms, refunded_minor)
       VALUES (?, ?, 'starter', ?, ?, ?, 2, 10000000, ?, ?, ?, ?, ?, ?)`,
    );
    topup.run(
      "tu_a",
      "telegram:1001",
      "stripe",
      "USD",
      1000,
      "paid",
      now + DAY,
      now - 2 * DAY,
      now - 2 * DAY,
      now - 2 * DAY,
      0,
    );
    topup.run(
      "tu_b",
      "telegram:1002",
      "mercadopago",
      "ARS",
      500000,
      "paid",
      now + DAY,
      now - DAY,
      now - DAY,
      now - DAY,
      100000,
    );
    topup.run(
      "tu_c",
      "telegram:1000",
      "stripe",
      "USD",
      500,
      "pending",
      now + DAY,
      now - 3_600_000,
      now,
      null,
      0,
    );
    t.db
      .prepare(
        `INSERT INTO alerts (account_id, kind, threshold, window_key, payload, created_at_ms, webhook_state, webhook_attempts, webhook_error)
         VALUES ('telegram:1000', 'low_balance', '1000000', 'w1', '{}', ?, 'dead', 5, 'HTTP 500')`,
      )
      .run(now - 3_600_000);
    base = (await app.listen({ host: "127.0.0.1", port: 0 })).replace("localhost", "127.0.0.1");
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
      ],
    });
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, locale: "en-US" });
    page = await context.newPage();
    page.on("dialog", (d) => d.accept("checked by hand"));
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await app?.close();
    t?.cleanup();
  });

  /** Screenshots the page and runs axe on it: no serious or critical violation. */
  async function check(name: string) {
    await page.screenshot({ path: `${SHOTS}/${name}.png`, fullPage: true });
    // Evaluated through the DevTools protocol: the page's CSP (no inline script) stays on.
    await page.evaluate(AXE);
    const violations = (await page.evaluate(`axe.run().then((r) =>
      r.violations.map((v) => ({ id: v.id, impact: v.impact, nodes: v.nodes.length })))`)) as {
      id: string;
      impact: string;
      nodes: number;
    }[];
    expect(
      violations.filter((v) => v.impact === "serious" || v.impact === "critical"),
      `${name}: ${JSON.stringify(violations)}`,
    ).toEqual([]);
  }

  const kpi = (id: string) => page.locator(`[data-kpi="${id}"] .value`);

  it("logs in with an API key (a wrong one is refused) and shows the overview", async () => {
    await page.goto(`${base}/console/`);
    await page.getByLabel("API key").waitFor();
    await check("login");
    await page.getByLabel("API key").fill("cg_000000000000_wrong");
    await page.getByRole("button", { name: "Log in" }).click();
    await page.getByRole("alert").filter({ hasText: "wrong" }).waitFor();
    await page.getByLabel("API key").fill(API_KEY);
    await page.getByRole("button", { name: "Log in" }).click();
    await page.getByRole("heading", { name: "Overview" }).waitFor();
    // The key is nowhere in the browser: not in storage, not readable as a cookie.
    const stored = (await page.evaluate("JSON.stringify({ ...localStorage }) + document.cookie")) as string;
    expect(stored).not.toContain(API_KEY);
    const cookies = await page.context().cookies();
    expect(cookies.find((c) => c.name === "cg_session")).toMatchObject({
      httpOnly: true,
      sameSite: "Strict",
    });
  });

  it("overview numbers equal `creditgate usage --json` for the same range", async () => {
    await page.getByRole("button", { name: "30 days" }).click();
    await page.locator(".chart canvas").first().waitFor();
    // The console's "30 days" is the last 30 UTC days including today, sent as a date.
    const since = new Date(Date.now() - 29 * DAY).toISOString().slice(0, 10);
    const cli = await runCli({ CREDITGATE_DB: t.path }, ["--json", "usage", "--by", "day", "--since", since]);
    const rows = JSON.parse(cli.out) as {
      requests: number;
      errors: number;
      costPicoUsd: string;
      chargedMicros: number;
    }[];
    const requests = rows.reduce((s, r) => s + r.requests, 0);
    const charged = rows.reduce((s, r) => s + BigInt(r.chargedMicros), 0n);
    const cost = rows.reduce((s, r) => s + BigInt(r.costPicoUsd), 0n);
    const dec = (v: bigint, scale: number) => {
      const b = 10n ** BigInt(scale);
      return `${v / b}.${(v % b).toString().padStart(scale, "0")}`;
    };
    const fmt = (o: Intl.NumberFormatOptions, v: string) =>
      new Intl.NumberFormat("en-US", o).format(v as unknown as number);
    await expect.poll(() => kpi("requests").textContent(), POLL).toBe(fmt({}, String(requests)));
    expect(await kpi("charged").textContent()).toBe(
      fmt({ minimumFractionDigits: 2, maximumFractionDigits: 6 }, dec(charged, 6)),
    );
    expect(await kpi("cost").textContent()).toBe(
      fmt(
        { style: "currency", currency: "USD", minimumFractionDigits: 2, maximumFractionDigits: 4 },
        dec(cost, 12),
      ),
    );
    expect(await kpi("active").textContent()).toBe("3");
    await check("overview");
    await page.getByLabel("Stack by").selectOption("model");
    await page.getByText("mock/mock-mini").first().waitFor();
  });

  it("grant credits: balance and balance chart update without a reload; block changes the status", async () => {
    await page.goto(`${base}/console/#/users/${encodeURIComponent("telegram:1002")}`);
    await kpi("balance").waitFor();
    const before = await kpi("balance").textContent();
    const points = Number(await page.locator(".chart").first().getAttribute("data-points"));
    const grant = page.getByRole("form", { name: "Grant credits" });
    await grant.getByLabel("Credits").fill("5");
    await grant.getByLabel("Reason").fill("goodwill");
    await grant.getByRole("button", { name: "Grant credits" }).click();
    await expect.poll(() => kpi("balance").textContent(), POLL).not.toBe(before);
    await expect
      .poll(async () => Number(await page.locator(".chart").first().getAttribute("data-points")), POLL)
      .toBe(points + 1);
    const ledgerRow = page.getByRole("cell", { name: "goodwill" });
    await ledgerRow.first().waitFor();
    await check("user");

    await expect.poll(() => kpi("status").textContent(), POLL).toBe("allowed");
    const block = page.getByRole("form", { name: "Block" });
    await block.getByLabel("Reason").fill("abuse report");
    await block.getByRole("button", { name: "Block" }).click();
    await expect.poll(() => kpi("status").textContent(), POLL).toBe("blocked");
    await page.getByRole("button", { name: "Unblock" }).click();
    await expect.poll(() => kpi("status").textContent(), POLL).toBe("allowed");
  });

  it("the limits form sets the daily cap and keeps the user's other own limits", async () => {
    // before 2026-12-04 (review r-late) the form PUT `{caps, capsOff: []}` as the user's whole
    // rules: saving a daily cap dropped the user's own weekly and soft caps, language and more
    const auth = { authorization: `Bearer ${API_KEY}` };
    const url = `/v1/users/${encodeURIComponent("telegram:1002")}/limits`;
    const own = {
      caps: [
        { period: "week", capMicroCredits: 20_000_000, kind: "hard" },
        { period: "day", capMicroCredits: 1_000_000, kind: "soft" },
      ],
      capsOff: ["month"],
      language: "es",
      lowBalanceMicroCredits: 2_000_000,
    };
    const put = await app.inject({ method: "PUT", url, headers: auth, payload: own });
    expect(put.statusCode).toBe(200);
    await page.goto(`${base}/console/#/users/${encodeURIComponent("telegram:1002")}`);
    const form = page.getByRole("form", { name: "Set limits" });
    await form.getByLabel("Daily").fill("3");
    await form.getByRole("button", { name: "Set limits" }).click();
    const rules = async () =>
      (await app.inject({ url, headers: auth })).json().user as {
        caps: { period: string; capMicroCredits: number; kind?: string }[];
        capsOff?: string[];
        language?: string;
        lowBalanceMicroCredits?: number;
      };
    await expect
      .poll(async () => (await rules()).caps.some((c) => c.period === "day" && c.kind !== "soft"), POLL)
      .toBe(true);
    const after = await rules();
    expect(after.caps.map((c) => `${c.period}/${c.kind ?? "hard"}/${c.capMicroCredits}`).sort()).toEqual([
      "day/hard/3000000",
      "day/soft/1000000",
      "week/hard/20000000",
    ]);
    expect(after).toMatchObject({ capsOff: ["month"], language: "es", lowBalanceMicroCredits: 2_000_000 });
    await app.inject({ method: "DELETE", url, headers: auth });
  });

  it("a POST without the CSRF token is refused and changes nothing", async () => {
    const r = (await page.evaluate(`fetch("/v1/users/telegram:1000/grants", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ credits: "1000", reason: "forged", idempotencyKey: "forged-1" }),
      }).then(async (res) => ({ status: res.status, body: await res.text() }))`)) as {
      status: number;
      body: string;
    };
    expect(r.status).toBe(403);
    expect(r.body).toMatch(/CSRF/);
    const entries = t.db
      .prepare("SELECT COUNT(*) AS n FROM ledger_entries WHERE reason = 'forged'")
      .get() as { n: number };
    expect(entries.n).toBe(0);
  });

  it("the other pages render, poll and pass axe", async () => {
    for (const [name, heading] of [
      ["users", "Users"],
      ["agents", "Agents"],
      ["payments", "Payments"],
      ["providers", "Providers"],
      ["alerts", "Alerts"],
      ["review", "Review"],
    ] as const) {
      await page.goto(`${base}/console/#/${name}`);
      await page.getByRole("heading", { name: heading, exact: true }).waitFor();
      await page.locator(".updated").filter({ hasText: "Updated" }).waitFor();
      // Column headings are labels, capitalised like every other one (the agents page had "models").
      const lowercase = (await page.locator("thead th").allTextContents()).filter((h) => /^[a-z]/.test(h));
      expect(lowercase, name).toEqual([]);
      await check(name);
    }
    // No provider configured here: the Providers page says where to start.
    await page.goto(`${base}/console/#/providers`);
    await page.getByText("No provider accounts configured: see docs/providers.md").waitFor();
    await page.goto(`${base}/console/#/users`);
    await page.getByLabel("Search users").fill("1001");
    await expect.poll(() => page.locator("tbody tr").count(), POLL).toBe(1);
    await page.goto(`${base}/console/#/alerts`);
    await page.getByRole("button", { name: /Retry #/ }).click();
    await page.getByRole("status").filter({ hasText: "Done" }).waitFor();
    await page.goto(`${base}/console/#/review`);
    await page.getByRole("button", { name: /Void #/ }).click();
    await page.getByRole("status").filter({ hasText: "Done" }).waitFor();
    // Spanish (back to English whatever happens, for the next test).
    await page.getByLabel("Language").selectOption("es");
    try {
      await page.goto(`${base}/console/#/`);
      await page.getByRole("heading", { name: "Resumen" }).waitFor();
      await check("overview-es");
    } finally {
      await page.getByLabel("Idioma").selectOption("en");
    }
  });

  it("a read key looks but cannot act; logout ends the session", async () => {
    const auth = { authorization: `Bearer ${API_KEY}` };
    const readKey = (
      await app.inject({
        method: "POST",
        url: "/v1/keys",
        headers: auth,
        payload: { scope: "read", name: "viewer" },
      })
    ).json() as { key: string };
    await page.getByRole("button", { name: "Log out" }).click();
    await page.getByLabel("API key").waitFor();
    expect(await page.evaluate(`fetch("/v1/balances").then((r) => r.status)`)).toBe(401);

    await page.getByLabel("API key").fill(readKey.key);
    await page.getByRole("button", { name: "Log in" }).click();
    await page.getByRole("heading", { name: "Overview" }).waitFor();
    await page.goto(`${base}/console/#/users/${encodeURIComponent("telegram:1000")}`);
    await page.getByText("This key has read scope").waitFor();
    expect(await page.getByRole("form", { name: "Grant credits" }).count()).toBe(0);
    const r = await page.evaluate(`(async () => {
      const s = await (await fetch("/console/session")).json();
      const res = await fetch("/v1/users/telegram:1000/block", {
        method: "POST",
        headers: { "content-type": "application/json", "x-csrf-token": s.csrfToken },
        body: JSON.stringify({ reason: "should not work" }),
      });
      return res.status;
    })()`);
    expect(r).toBe(403);
    await page.getByRole("button", { name: "Log out" }).click();
    await page.getByLabel("API key").waitFor();
    expect(await page.evaluate(`fetch("/v1/balances").then((r) => r.status)`)).toBe(401);
  });

  it("a huge balance (9,000,000,000 credits) stays inside its card, on the overview and the user page", async () => {
    const auth = { authorization: `Bearer ${API_KEY}` };
    const grant = await app.inject({
      method: "POST",
      url: "/v1/users/whale/grants",
      headers: auth,
      payload: { credits: "9000000000", reason: "huge", idempotencyKey: "whale-1" },
    });
    expect(grant.statusCode).toBe(201);
    await page.goto(`${base}/console/`);
    await page.getByLabel("API key").fill(API_KEY);
    await page.getByRole("button", { name: "Log in" }).click();
    await page.getByRole("heading", { name: "Overview" }).waitFor();
    await expect.poll(() => kpi("prepaid").textContent(), POLL).toMatch(/^9,000,000,0/);
    /** Cards whose text runs past their border (scrollWidth counts the overflowing part). */
    const overflowing = `[...document.querySelectorAll(".kpi")]
      .filter((k) => k.scrollWidth > k.clientWidth).map((k) => k.dataset.kpi)`;
    expect(await page.evaluate(overflowing)).toEqual([]);
    await page.goto(`${base}/console/#/users/whale`);
    await expect.poll(() => kpi("balance").textContent(), POLL).toBe("9,000,000,000.00");
    expect(await page.evaluate(overflowing)).toEqual([]);
    await check("huge-balance");
  });
});
