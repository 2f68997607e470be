/**
 * Case `test/cases/report-span-zero-or-too-long`, the API's side (r-a's review, 2026-12-05): the
 * CLI refuses `usage --since 0d` (now: an empty range, read as "nothing billed") and swapped
 * `--since/--until`, but `GET /v1/usage` ("same numbers as `creditgate usage`") answered both with
 * 200 and no rows, and the console's `from=0d` with zero totals. They are refused the same way.
 */
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { describe, expect, test } from "vitest";
import { admin, pushEvent, testApp } from "./api/support.js";
import { createEngineDb } from "./support/temp-db.js";

const CASE = resolve(import.meta.dirname, "cases/report-span-zero-or-too-long");
const api = (
  JSON.parse(readFileSync(resolve(CASE, "expected.json"), "utf8")) as {
    api: { url: string; message: string }[];
  }
).api;

describe("case report-span-zero-or-too-long (API)", () => {
  test("an empty usage range is refused over the API as on the CLI; ranges with calls still answer", async ({
    onTestFinished,
  }) => {
    const t = createEngineDb("sqlite");
    onTestFinished(t.cleanup);
    const app = testApp(t.db);
    onTestFinished(() => app.close());
    const push = await app.inject({
      method: "POST",
      url: "/v1/usage",
      headers: admin,
      payload: { events: [pushEvent()] }, // a call a minute ago
    });
    expect(push.json()).toMatchObject({ billed: 1 });
    for (const { url, message } of api) {
      const res = await app.inject({ url, headers: admin });
      // before: 200, no rows (or zero totals), read as "nothing billed"
      expect({ url, status: res.statusCode, message: res.json().error?.message }).toEqual({
        url,
        status: 400,
        message,
      });
    }
    const day = await app.inject({ url: "/v1/usage?from=1d&by=user", headers: admin });
    expect(day.statusCode).toBe(200);
    expect(day.json().rows).toHaveLength(1);
    const until = await app.inject({ url: "/v1/usage?from=1d&to=0d&by=user", headers: admin });
    expect(until.json().rows).toHaveLength(1);
    expect((await app.inject({ url: "/v1/overview?from=1d", headers: admin })).statusCode).toBe(200);
  });
});
