import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["src/**/*.test.ts", "test/**/*.test.ts"],
    globalSetup: ["test/global-setup.ts"],
    // Generous: a loaded 2-core machine makes real databases and processes slow, never wrong.
    testTimeout: 60_000,
    hookTimeout: 120_000,
  },
});
