import { appendFileSync } from "node:fs";
import { join } from "node:path";
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["src/**/*.test.ts", "test/**/*.test.ts"],
    // Generous: a loaded 2-core machine makes real crypto, files and processes slow, never wrong.
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // The suite-wide secret scan (SECURITY.md I69): see test/suite-scan/global-setup.ts.
    globalSetup: ["test/suite-scan/global-setup.ts"],
    setupFiles: ["test/suite-scan/capture.ts"],
    onConsoleLog(log) {
      const suite = process.env.AGENTGATE_SUITE_DIR;
      if (suite !== undefined) appendFileSync(join(suite, "captured", "console.log"), `${log}\n`);
      return undefined;
    },
  },
});
