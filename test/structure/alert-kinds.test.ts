import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { ALERT_KINDS, ONE_OFF_ALERT_KINDS, USER_NOTICE_KINDS } from "../../src/alert-kinds.js";
import * as templates from "../../src/worker/templates.js";

describe("alert kinds: one list", () => {
  it("the worker's kinds and user-notice subset equal src/alert-kinds.ts (until the worker imports it)", () => {
    expect([...templates.ALERT_KINDS]).toEqual([...ALERT_KINDS]);
    expect([...templates.USER_NOTICE_KINDS]).toEqual([...USER_NOTICE_KINDS]);
  });

  it("the retention sweep deletes exactly the one-off kinds", () => {
    const sql = readFileSync(new URL("../../src/worker/maintenance.ts", import.meta.url), "utf8");
    const listed = /AND kind IN \(([^)]*)\)/.exec(sql)?.[1]?.match(/'([a-z_]+)'/g) ?? [];
    expect(listed.map((q) => q.slice(1, -1)).sort()).toEqual([...ONE_OFF_ALERT_KINDS].sort());
    for (const k of ONE_OFF_ALERT_KINDS) expect(ALERT_KINDS).toContain(k);
  });
});
