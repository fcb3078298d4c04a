import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["src/**/*.test.ts", "test/**/*.test.ts"],
    // Generous: a loaded 2-core machine makes real crypto, files and processes slow, never wrong.
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // The checkpoint key of every log the tests write, outside the user's home (SECURITY.md K78).
    globalSetup: ["test/checkpoint-key-setup.ts"],
  },
});
