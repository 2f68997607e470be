/**
 * Console fixes in a real browser (Debian's Chromium through playwright-core), over a history of
 * only two days: charts span the chosen range (30 days = 30 day buckets, today by hour = 24 hour
 * buckets, the balance chart from the range's start), an unknown user id shows a "user not found"
 * state (no figures, no actions), and the Spanish pages translate stored values (statuses, kinds).
 * Screenshots go to test-output/console/ (names starting `ranges-`), each page passes axe.
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
import { API_KEY } from "../support/payments-harness.js";
import { createTempDb } from "../support/temp-db.js";

const CHROMIUM = "/usr/bin/chromium";
const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const SHOTS = `${ROOT}test-output/console`;
const AXE = readFileSync(createRequire(import.meta.url).resolve("axe-core/axe.min.js"), "utf8");
const DAY = 86_400_000;
const POLL = { timeout: 15_000, interval: 200 };
const HAVE_BROWSER = existsSync(CHROMIUM);
if (!HAVE_BROWSER)
  console.warn(`console browser tests skipped: ${CHROMIUM} is missing (apt-get install chromium)`);

// A browser step under a loaded CI machine takes seconds: 90 s per test, not the default 30.
describe.skipIf(!HAVE_BROWSER)(
  "console ranges, unknown users and Spanish values in Chromium",
  { timeout: 90_000 },
  () => {
    let t: ReturnType<typeof createTempDb>;
    let app: ReturnType<typeof testApp>;
    const now = Date.now();
    const today = Math.floor(now / DAY) * DAY;
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
      const auth = { authorization: `Bearer ${API_KEY}` };
      // Two days of history: yesterday and today (an hour ago, but never before today's midnight).
      const events = [0, 1, 2, 3].map((i) =>
        pushEvent({
          idempotencyKey: `r${i}`,
          userId: "telegram:7",
          agentId: "main",
          timestampMs: i < 2 ? today - DAY + 3_600_000 * (i + 1) : Math.max(today, now - 3_600_000 * i),
        }),
      );
      const pushed = await app.inject({
        method: "POST",
        url: "/v1/usage",
        headers: auth,
        payload: { events },
      });
      expect(pushed.json()).toMatchObject({ billed: 4 });
      await app.inject({
        method: "POST",
        url: "/v1/users/telegram:7/grants",
        headers: auth,
        payload: { credits: "20", reason: "welcome", idempotencyKey: "welcome-7" },
      });
      t.db
        .prepare(
          `INSERT INTO topups (id, account_id, pack_id, provider, currency, amount_minor, currency_exponent,
           grant_micro_credits, status, expires_at_ms, created_at_ms, updated_at_ms, paid_at_ms, refunded_minor)
         VALUES ('tu_r', 'telegram:7', 'starter', 'stripe', 'USD', 1000, 2, 10000000, 'paid', ?, ?, ?, ?, 0)`,
        )
        .run(now + DAY, now - DAY, now - DAY, now - DAY);
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
      await page.goto(`${base}/console/`);
      await page.getByLabel("API key").fill(API_KEY);
      await page.getByRole("button", { name: "Log in" }).click();
      await page.getByRole("heading", { name: "Overview" }).waitFor();
    }, 120_000);

    afterAll(async () => {
      await browser?.close();
      await app?.close();
      t?.cleanup();
    });

    async function check(name: string) {
      await page.screenshot({ path: `${SHOTS}/ranges-${name}.png`, fullPage: true });
      await page.evaluate(AXE);
      const violations = (await page.evaluate(`axe.run().then((r) =>
      r.violations.map((v) => ({ id: v.id, impact: v.impact, nodes: v.nodes.length })))`)) as {
        id: string;
        impact: string;
      }[];
      expect(
        violations.filter((v) => v.impact === "serious" || v.impact === "critical"),
        `${name}: ${JSON.stringify(violations)}`,
      ).toEqual([]);
    }

    /** The first chart's bucket count and x span (days) once it shows `points` buckets. */
    async function chart(points: number) {
      const c = page.locator(".chart").first();
      await expect.poll(async () => Number(await c.getAttribute("data-points")), POLL).toBe(points);
      const from = Number(await c.getAttribute("data-x-from"));
      const to = Number(await c.getAttribute("data-x-to"));
      return { from: from * 1000, to: to * 1000, days: ((to - from) * 1000) / DAY };
    }

    it("a 30-day spend chart spans 30 days with 2 days of history; today by hour spans 24 hours", async () => {
      await page.getByRole("button", { name: "30 days" }).click();
      const span = await chart(30);
      expect(span.days).toBeCloseTo(30, 5);
      expect(span.from).toBe(today - 29 * DAY - DAY / 2); // bars centred on day starts
      expect(span.to).toBe(today + DAY / 2);
      await check("overview-30d");
      await page.getByRole("button", { name: "7 days" }).click();
      expect((await chart(7)).days).toBeCloseTo(7, 5);
      await page.getByRole("button", { name: "Today" }).click();
      await page.getByLabel("Interval").selectOption("hour");
      const hours = await chart(24);
      expect(hours.from).toBe(today - 1_800_000);
      await check("overview-today-hourly");
      await page.getByLabel("Interval").selectOption("day");
    });

    it("the user page's balance chart and the revenue chart span the chosen range", async () => {
      await page.goto(`${base}/console/#/users/telegram%3A7`);
      await page.locator('[data-kpi="balance"]').waitFor();
      const c = page.locator(".chart").first();
      await expect.poll(() => c.getAttribute("data-x-from"), POLL).not.toBeNull();
      // The default 30 days: from the UTC midnight 29 days ago, though the history has 2 days.
      expect(Number(await c.getAttribute("data-x-from")) * 1000).toBe(today - 29 * DAY);
      expect(Number(await c.getAttribute("data-x-to")) * 1000).toBeGreaterThan(now - 60_000);
      await check("user-30d");
      await page.goto(`${base}/console/#/payments`);
      await page.getByRole("heading", { name: "Revenue per day" }).waitFor();
      expect((await chart(30)).days).toBeCloseTo(30, 5);
      await check("payments-30d");
    });

    it("in a New York browser: From = To is that one UTC day, bars stand on zero and read as UTC days", async () => {
      // An operator west of UTC: uPlot labelled UTC day buckets in local time (the bar of today sat
      // before local midnight, labelled yesterday 7pm), the picker's To day was left out (From = To
      // was refused) and a refused range left the previous range's figures on screen.
      const ny = await browser.newContext({
        viewport: { width: 1280, height: 900 },
        locale: "en-US",
        timezoneId: "America/New_York",
      });
      try {
        const p = await ny.newPage();
        await p.goto(`${base}/console/`);
        await p.getByLabel("API key").fill(API_KEY);
        await p.getByRole("button", { name: "Log in" }).click();
        await p.getByRole("heading", { name: "Overview" }).waitFor();
        // The picker says its days are UTC (not the browser's or CREDITGATE_TIMEZONE's days).
        await p.getByRole("group", { name: "Range (UTC days)" }).waitFor();
        const day = new Date(today).toISOString().slice(0, 10);
        const todays = await app.inject({
          method: "GET",
          url: `/v1/usage?by=day&from=${day}&to=${new Date(today + DAY).toISOString().slice(0, 10)}`,
          headers: { authorization: `Bearer ${API_KEY}` },
        });
        const rows = (todays.json() as { rows: { requests: number }[] }).rows;
        const expected = rows.reduce((n, r) => n + r.requests, 0);
        expect(expected).toBe(2); // today's 2 of the 4 calls
        await p.getByLabel("From").fill(day);
        await p.getByLabel("To").fill(day);
        await p.getByRole("button", { name: "Apply" }).click();
        const requests = p.locator('[data-kpi="requests"]');
        await expect.poll(() => requests.textContent(), POLL).toBe(`Requests${expected}`);
        const c = p.locator(".chart").first();
        await expect.poll(async () => Number(await c.getAttribute("data-points")), POLL).toBe(1);
        expect(Number(await c.getAttribute("data-y-from"))).toBe(0);
        // The legend names the hovered bar by its UTC day, whatever the browser's zone.
        await c.locator(".u-over").hover(); // scrolls it into view; the middle is the one bar
        const label = new Intl.DateTimeFormat("en-US", {
          timeZone: "UTC",
          year: "numeric",
          month: "short",
          day: "numeric",
        }).format(today);
        await expect
          .poll(() => p.locator(".u-legend .u-series").first().textContent(), POLL)
          .toContain(label);
        await p.screenshot({ path: `${SHOTS}/ranges-one-day-new-york.png`, fullPage: true });
        // From after To: the API refuses it; the page shows why and no figures of the old range.
        await p.getByLabel("From").fill(new Date(today + 2 * DAY).toISOString().slice(0, 10));
        await p.getByRole("button", { name: "Apply" }).click();
        await p.getByRole("alert").filter({ hasText: "from must be before to" }).waitFor();
        expect(await p.locator("[data-kpi]").count()).toBe(0);
      } finally {
        await ny.close();
      }
    });

    it("an unknown user id shows 'user not found': no figures, no actions", async () => {
      await page.goto(`${base}/console/#/users/telegram%3A999999`);
      await page.getByRole("heading", { name: "User not found" }).waitFor();
      expect(await page.locator('[data-state="user-not-found"] [role="alert"]').textContent()).toContain(
        "telegram:999999",
      );
      expect(await page.locator("[data-kpi]").count()).toBe(0);
      expect(await page.getByRole("form", { name: "Grant credits" }).count()).toBe(0);
      expect(await page.locator(".chart").count()).toBe(0);
      await check("user-not-found");
      await page.getByRole("link", { name: "Back to the users" }).click();
      await page.getByRole("heading", { name: "Users", exact: true }).waitFor();
      // A known user right after still shows its page.
      await page.goto(`${base}/console/#/users/telegram%3A7`);
      await page.locator('[data-kpi="balance"]').waitFor();
    });

    it("Spanish pages show stored values translated", async () => {
      await page.getByLabel("Language").selectOption("es");
      try {
        await page.goto(`${base}/console/#/payments`);
        await page.getByRole("heading", { name: "Pagos" }).waitFor();
        await page.getByRole("cell", { name: "pagada", exact: true }).first().waitFor();
        expect(await page.getByRole("cell", { name: "paid", exact: true }).count()).toBe(0);
        expect(await page.getByRole("option", { name: "esperando el pago" }).count()).toBe(1);
        await check("payments-es");
        await page.goto(`${base}/console/#/users/telegram%3A7`);
        await page.getByRole("cell", { name: "regalo", exact: true }).first().waitFor();
        expect(await page.getByRole("cell", { name: "grant", exact: true }).count()).toBe(0);
        await check("user-es");
        await page.goto(`${base}/console/#/users/nadie`);
        await page.getByRole("heading", { name: "Usuario no encontrado" }).waitFor();
        await check("user-not-found-es");
      } finally {
        await page.getByLabel("Idioma").selectOption("en");
      }
    });
  },
);
