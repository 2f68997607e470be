import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    exclude: ["test/e2e/**"],
    env: { TZ: "UTC" },
    testTimeout: 20_000,
  },
});
