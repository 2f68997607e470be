import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    globals: false,
    include: ["test/**/*.test.ts"],
    env: { TZ: "UTC", STRIPE_SUPPRESS_NOTICES: "true" },
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: "forks",
  },
});
