/**
 * The console's money formatting: a non-zero provider cost never reads `$0.00` (a user or model
 * of a cheap model costs fractions of a cent: 8 input tokens at $0.05/M are $0.0000004).
 */
import { describe, expect, it } from "vitest";
import { usd } from "../../console/src/format.js";

describe("usd", () => {
  it("shows amounts under $0.0001 exactly, others at 2-4 decimals", () => {
    expect(usd("en-US", "400000")).toBe("$0.0000004");
    expect(usd("en-US", "40000000")).toBe("$0.00004");
    expect(usd("en-US", "-40000000")).toBe("-$0.00004");
    expect(usd("en-US", "0")).toBe("$0.00");
    expect(usd("en-US", "100000000")).toBe("$0.0001");
    expect(usd("en-US", "3000000000000")).toBe("$3.00");
    expect(usd("en-US", "1234567800000000")).toBe("$1,234.5678");
    expect(usd("es-AR", "400000")).toBe("US$\u00a00,0000004");
  });
});
