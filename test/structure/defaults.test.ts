import { describe, expect, it } from "vitest";
import { DEFAULT_CONFIG, loadConfig } from "../../src/config/index.js";
import { DEFAULT_MAX_CALL_USD } from "../../src/meter/validate.js";

describe("defaults: one value each", () => {
  it("DEFAULT_CONFIG is the configuration of an empty environment", () => {
    expect(DEFAULT_CONFIG).toEqual(loadConfig({}));
  });

  it("the meter's review ceiling default is the schema's CREDITGATE_REVIEW_MAX_CALL_USD default ($200)", () => {
    expect(DEFAULT_MAX_CALL_USD).toBe("200");
    expect(DEFAULT_MAX_CALL_USD).toBe(DEFAULT_CONFIG.meter.reviewMaxCallUsd);
  });
});
