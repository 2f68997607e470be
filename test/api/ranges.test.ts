import { describe, expect } from "vitest";
import { ENGINES, testOn } from "../support/temp-db.js";
import { admin, balanceOf, testApp } from "./support.js";

describe.each(ENGINES)("%s", (engine) => {
  const test = testOn(engine);

  describe("amounts past what the ledger holds exactly", () => {
    test("a grant past 2^53 micro-credits is a one-line 400 that changes nothing, also when the balance would pass it", async ({
      db,
      onTestFinished,
    }) => {
      const app = testApp(db);
      onTestFinished(() => app.close());
      const grant = (credits: string, key: string) =>
        app.inject({
          method: "POST",
          url: "/v1/users/telegram:1/grants",
          headers: admin,
          payload: { credits, reason: "x", idempotencyKey: key },
        });
      const big = await grant("99999999999", "big");
      expect(big.statusCode).toBe(400);
      expect(big.json().error.code).toBe("invalid_request");
      expect(big.json().error.message).toMatch(
        /^amount \(99999999999\.00 credits\) is past the largest amount/,
      );
      expect(big.json().error.message).not.toContain("\n");
      expect(balanceOf(db, "telegram:1")).toBe(0);

      expect((await grant("9007199254.740991", "edge")).statusCode).toBe(201);
      const over = await grant("1", "over");
      expect(over.statusCode).toBe(400);
      expect(over.json().error.message).toMatch(/^the balance after it/);
      expect(balanceOf(db, "telegram:1")).toBe(Number.MAX_SAFE_INTEGER);
    });
  });
});
