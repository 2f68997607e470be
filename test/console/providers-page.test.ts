/**
 * The console's Providers page (issue #13) in a real browser: provider snapshots stored by real
 * polls of the local fake provider APIs; the page shows each account's balance formatted from the
 * API's integer micro-units, the chosen provider's balance-over-time and runway-over-time charts
 * side by side and the daily spend chart, a CNY account's drift as "n/a (no CNY rate)", and
 * passes axe; a DeepSeek account holding CNY and USD without a CNY rate lists both currencies and
 * marks CNY as not counted in the balance, in English and Spanish. Screenshots:
 * test-output/console/providers.png, providers-currencies.png, providers-currencies-es.png. The
 * empty state (no provider configured) is covered in browser.test.ts.
 *
 * Skipped (with a message) when /usr/bin/chromium is missing, except under CI (.ci/run installs it).
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import { type Browser, chromium, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createProviderService } from "../../src/providers/index.js";
import { testApp } from "../api/support.js";
import { meterCall, settingsFor } from "../providers/support.js";
import { FakeProviders } from "../support/fake-providers.js";
import { API_KEY } from "../support/payments-harness.js";
import { createTempDb } from "../support/temp-db.js";

const CHROMIUM = "/usr/bin/chromium";
const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const SHOTS = `${ROOT}test-output/console`;
const AXE = readFileSync(createRequire(import.meta.url).resolve("axe-core/axe.min.js"), "utf8");
const HOUR = 3_600_000;
const POLL = { timeout: 15_000, interval: 200 };
const HAVE_BROWSER = existsSync(CHROMIUM);
if (!HAVE_BROWSER)
  console.warn(`console providers page test skipped: ${CHROMIUM} is missing (apt-get install chromium)`);

/**
 * The page's scroll width and the boxes whose content is wider than they are (a table, section,
 * chart or cell), by tag and a bit of text: none at 1280 px.
 */
async function overflowing(page: Page): Promise<{ pageWidth: number; boxes: string[] }> {
  return (await page.evaluate(`(() => {
    const boxes = [];
    for (const el of document.querySelectorAll("main, section, table, figure, td, th")) {
      if (el.scrollWidth > el.clientWidth + 1)
        boxes.push(el.tagName + ": " + (el.textContent || "").slice(0, 40) + " (" + el.scrollWidth + " > " + el.clientWidth + ")");
    }
    return { pageWidth: document.documentElement.scrollWidth, boxes };
  })()`)) as { pageWidth: number; boxes: string[] };
}

// A browser step under a loaded CI machine takes seconds: 90 s per test, not the default 30.
describe.skipIf(!HAVE_BROWSER)("console Providers page in Chromium", { timeout: 90_000 }, () => {
  let t: ReturnType<typeof createTempDb>;
  let app: ReturnType<typeof testApp>;
  let fake: FakeProviders;
  let base = "";
  let browser: Browser;
  let page: Page;
  let providers: ReturnType<typeof createProviderService>;
  const now = Date.now();

  beforeAll(async () => {
    t = createTempDb();
    if (!existsSync(`${ROOT}dist/console/index.html`)) {
      execFileSync("npm", ["run", "build:console"], { cwd: ROOT, stdio: "inherit" });
    }
    mkdirSync(SHOTS, { recursive: true });
    fake = await new FakeProviders().start();
    providers = createProviderService({ db: t.db, settings: settingsFor(fake), enforcer: null });
    // OpenRouter: four polls an hour apart, a dollar spent between each (balance 76.75 → 73.75).
    for (let i = 3; i >= 0; i--) {
      fake.data.openrouter.totalUsage = 26.75 - i;
      await providers.poll("openrouter", now - i * HOUR);
    }
    // OpenAI: yesterday's reported cost next to the metered calls of that day.
    const yesterday = new Date(now - 24 * HOUR).toISOString().slice(0, 10);
    fake.data.openai.set(yesterday, 13.2);
    for (let i = 0; i < 4; i++) meterCall(t.db, "openai", 2_750_000, Date.parse(`${yesterday}T0${i}:00:00Z`));
    await providers.poll("openai", now);
    // DeepSeek (CNY, no exchange rate configured): 10 CNY spent over an hour.
    await providers.poll("deepseek", now - 2 * HOUR);
    fake.data.deepseek[0] = {
      ...fake.data.deepseek[0],
      total_balance: "100.00",
    } as (typeof fake.data.deepseek)[0];
    await providers.poll("deepseek", now - HOUR);
    app = testApp(t.db, { nowMs: () => Date.now(), providers });
    base = (await app.listen({ host: "127.0.0.1", port: 0 })).replace("localhost", "127.0.0.1");
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--no-first-run",
        "--disable-background-networking",
      ],
    });
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, locale: "en-US" });
    page = await context.newPage();
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await app?.close();
    await fake?.stop();
    t?.cleanup();
  });

  it("shows each account's balance, the chosen provider's charts, and passes axe", async () => {
    await page.goto(`${base}/console/#/providers`);
    await page.getByLabel("API key").fill(API_KEY);
    await page.getByRole("button", { name: "Log in" }).click();
    await page.getByRole("heading", { name: "Providers", exact: true }).waitFor();
    const usd = (v: string) =>
      new Intl.NumberFormat("en-US", {
        style: "currency",
        currency: "USD",
        minimumFractionDigits: 2,
        maximumFractionDigits: 6,
      }).format(v as unknown as number);
    const balance = page.locator('tr[data-provider="openrouter"] [data-balance]');
    await expect.poll(() => balance.textContent(), POLL).toBe(usd("73.75"));
    // OpenRouter is listed first: its charts show; four snapshots on the balance chart.
    await page.getByRole("heading", { name: "openrouter", exact: true }).waitFor();
    await expect
      .poll(async () => Number(await page.locator(".chart").first().getAttribute("data-points")), POLL)
      .toBe(4);
    // Next to it, the runway over time: the first snapshot had no burn to extrapolate from yet.
    const runway = page.getByRole("img", { name: "openrouter: Runway over time (days)" });
    await runway.waitFor();
    await expect.poll(async () => Number(await runway.getAttribute("data-points")), POLL).toBe(3);
    const [bal, run] = await Promise.all([
      page.locator(".chart-pair .chart").first().boundingBox(),
      runway.boundingBox(),
    ]);
    expect(bal && run && Math.abs(bal.y - run.y) < 2 && run.x > bal.x + bal.width - 1).toBe(true);
    // A CNY account without a rate: drift is not computed, and says why.
    await expect
      .poll(() => page.locator('tr[data-provider="deepseek"] [data-drift]').textContent(), POLL)
      .toBe("n/a (no CNY rate)");
    expect(await overflowing(page)).toEqual({ pageWidth: 1280, boxes: [] });
    await page.screenshot({ path: `${SHOTS}/providers.png`, fullPage: true });
    await page.evaluate(AXE);
    const violations = (await page.evaluate(`axe.run().then((r) =>
      r.violations.map((v) => ({ id: v.id, impact: v.impact, nodes: v.nodes.length })))`)) as {
      id: string;
      impact: string;
    }[];
    expect(violations.filter((v) => v.impact === "serious" || v.impact === "critical")).toEqual([]);

    // OpenAI: its daily spend, provider vs metered (13.20 reported, 11.00 metered: drift flagged).
    await page.getByRole("link", { name: "openai", exact: true }).click();
    await page.getByRole("heading", { name: "openai", exact: true }).waitFor();
    await page.getByRole("img", { name: "openai: Daily spend: provider vs metered" }).waitFor();
    await expect
      .poll(() => page.locator('tr[data-provider="openai"] td.error').first().textContent(), POLL)
      .toContain("over the threshold");
    await page.screenshot({ path: `${SHOTS}/providers-openai.png`, fullPage: true });
  });

  it("lists each currency of a CNY + USD account and marks CNY, without a rate, as not counted (en, es)", async () => {
    // The DeepSeek account gains a USD balance; no CNY rate is configured.
    fake.data.deepseek = [
      {
        currency: "CNY",
        total_balance: "100.000001",
        granted_balance: "0.00",
        topped_up_balance: "100.000001",
      },
      { currency: "USD", total_balance: "9.50", granted_balance: "0.00", topped_up_balance: "9.50" },
    ];
    await providers.poll("deepseek", now);
    await page.goto(`${base}/console/#/providers/deepseek`);
    await page.reload();
    await page.getByRole("heading", { name: "deepseek", exact: true }).waitFor();
    const money = (locale: string, currency: string, v: string) =>
      new Intl.NumberFormat(locale, {
        style: "currency",
        currency,
        minimumFractionDigits: 2,
        maximumFractionDigits: 6,
      }).format(v as unknown as number);
    const row = page.locator('tr[data-provider="deepseek"]');
    const cny = row.locator('[data-balances] li[data-currency="CNY"]');
    const usd = row.locator('[data-balances] li[data-currency="USD"]');
    // The account is in USD with the USD balance only; CNY is listed, exact to the micro-unit, and marked.
    await expect
      .poll(() => cny.textContent(), POLL)
      .toBe(`${money("en-US", "CNY", "100.000001")} (not counted: no CNY rate)`);
    expect(await cny.getAttribute("data-counted")).toBe("false");
    expect(await usd.textContent()).toBe(money("en-US", "USD", "9.50"));
    expect(await usd.getAttribute("data-counted")).toBe("true");
    expect(await row.getByRole("list", { name: "currencies of the balance" }).count()).toBe(1);
    expect(await row.locator("[data-balance]").textContent()).toMatch(
      new RegExp(`^${money("en-US", "USD", "9.50").replace("$", "\\$")}`),
    );
    // Single-currency accounts list no currencies.
    expect(await page.locator('tr[data-provider="openrouter"] [data-balances]').count()).toBe(0);
    // The note wraps inside the balance cell: the table still fits the 1280 px page.
    expect(await overflowing(page)).toEqual({ pageWidth: 1280, boxes: [] });
    await page.screenshot({ path: `${SHOTS}/providers-currencies.png`, fullPage: true });
    await page.evaluate(AXE);
    const violations = (await page.evaluate(`axe.run().then((r) =>
      r.violations.map((v) => ({ id: v.id, impact: v.impact, nodes: v.nodes.length })))`)) as {
      id: string;
      impact: string;
    }[];
    expect(violations.filter((v) => v.impact === "serious" || v.impact === "critical")).toEqual([]);

    await page.getByLabel("Language").selectOption("es");
    await expect
      .poll(() => cny.textContent(), POLL)
      .toBe(`${money("es-ES", "CNY", "100.000001")} (no contado: sin tipo de cambio CNY)`);
    expect(await row.getByRole("list", { name: "monedas del saldo" }).count()).toBe(1);
    // Spanish headers and notes are longer: the runway and drift notes wrap (the page was 1302 px).
    expect(await overflowing(page)).toEqual({ pageWidth: 1280, boxes: [] });
    await page.screenshot({ path: `${SHOTS}/providers-currencies-es.png`, fullPage: true });
    await page.getByLabel("Idioma").selectOption("en");
  });
});
