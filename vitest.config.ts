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
    // Three test files at a time on the 2-core CI machine. vitest's default there is one worker,
    // but the suite spends much of its time waiting on child processes it SIGKILLs and restarts,
    // PostgreSQL and Redis: a second file cut the root suite from ~630 s to ~370 s (2026-12-01,
    // 3 green runs); as the suite grew to ~14 min of such waits, a third file overlaps them too
    // (README "Development").
    maxWorkers: 3,
  },
});
