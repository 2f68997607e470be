/**
 * Case `test/cases/limits-defaults-change-vs-user-caps`: a user's own caps were checked against the
 * defaults' (`'*'`) caps it follows when the USER's caps were written, but not when the DEFAULTS
 * changed later: `limits set telegram:5550971 --daily 3`, then `limits set '*' --monthly 1` was
 * accepted, and the user (who follows `'*'` in the monthly window) was blocked at 1 credit a
 * month, its daily cap of 3 never reachable. Now the defaults' change is refused, naming the user.
 */
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { describe, expect } from "vitest";
import { admin, testApp } from "./api/support.js";
import { runCli } from "./support/cli.js";
import { createEngineDb, ENGINES, testOn } from "./support/temp-db.js";

const CASE = resolve(import.meta.dirname, "cases/limits-defaults-change-vs-user-caps");
const input = JSON.parse(readFileSync(resolve(CASE, "input.json"), "utf8")) as {
  steps: { args: string[] }[];
  second: { user: { args: string[] }; defaults: unknown };
};
const expected = JSON.parse(readFileSync(resolve(CASE, "expected.json"), "utf8")) as {
  refusal: string;
  secondRefusal: string;
};

describe.each(ENGINES)("%s: case limits-defaults-change-vs-user-caps", (engine) => {
  const test = testOn(engine);

  test("new defaults that would make a user's own cap unreachable are refused, naming the user (CLI)", async ({
    onTestFinished,
  }) => {
    const t = createEngineDb(engine);
    onTestFinished(t.cleanup);
    const env = { CREDITGATE_DB: t.path };
    const [own, conflicting, consistent] = input.steps;
    expect((await runCli(env, own?.args ?? [])).error).toBeNull();
    const r = await runCli(env, conflicting?.args ?? []);
    // before: accepted (exit 0), the user blocked at 1.00 a month
    expect(r.error?.message).toBe(expected.refusal);
    const get = async (u: string) => JSON.parse((await runCli(env, ["--json", "limits", "get", u])).out);
    expect((await get("*")).defaults ?? null).toBeNull(); // nothing written
    // defaults that leave the user's cap reachable are accepted, and the user follows them
    expect((await runCli(env, consistent?.args ?? [])).error).toBeNull();
    expect((await get("telegram:5550971")).effective.caps).toEqual([
      { period: "day", capMicroCredits: 3_000_000, kind: "hard" },
      { period: "month", capMicroCredits: 100_000_000, kind: "hard" },
    ]);
    // a user who turned that window off, or one without caps of its own, is no conflict
    expect((await runCli(env, ["limits", "set", "telegram:5550971", "--monthly", "off"])).error).toBeNull();
    expect((await runCli(env, ["limits", "set", "*", "--monthly", "1"])).error).toBeNull();
    // a setting other than caps (or caps still consistent) is never refused for such a user
    expect((await runCli(env, ["limits", "set", "*", "--language", "es"])).error).toBeNull();
  });

  test("a soft cap above the new defaults' hard cap of a longer window is refused too (API)", async ({
    onTestFinished,
  }) => {
    const t = createEngineDb(engine);
    onTestFinished(t.cleanup);
    const env = { CREDITGATE_DB: t.path };
    expect((await runCli(env, input.second.user.args)).error).toBeNull();
    const app = testApp(t.db);
    onTestFinished(() => app.close());
    const put = await app.inject({
      method: "PUT",
      url: "/v1/limits/defaults",
      headers: admin,
      payload: input.second.defaults as Record<string, unknown>,
    });
    // before: 200, and the user's daily alert could never fire (blocked at 1.00 a week)
    expect(put.statusCode).toBe(400);
    expect(put.json().error).toMatchObject({ code: "invalid_request", message: expected.secondRefusal });
  });
});
