import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    globals: false,
    globalSetup: ["test/global-setup.ts"],
    include: ["test/**/*.test.ts"],
    env: { TZ: "UTC", STRIPE_SUPPRESS_NOTICES: "true" },
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: "forks",
  },
});
