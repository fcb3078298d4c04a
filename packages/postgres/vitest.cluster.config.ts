import { defineConfig } from "vitest/config";

/** `pnpm test:cluster`: 3 `agentgate serve` and 4 gate processes on one database. */
export default defineConfig({
  test: {
    include: ["cluster/**/*.test.ts"],
    globalSetup: ["test/global-setup.ts"],
    testTimeout: 180_000,
    hookTimeout: 120_000,
  },
});
