import { defineConfig } from "vitest/config";

// The tests `pnpm mutation` runs against mutants of cedar-policy-client.ts (see MUTATION.md):
// every cedar test except the randomized differential ones (slicer.test.ts's 3,000 requests,
// src/compiled/**'s thousands), which check the slicer and the compiled evaluator against
// cedar-wasm, take 5-25 s each and would run for most mutants of the client: a full run would
// take over an hour and a half on a 2-core machine. They stay in `pnpm test`.
export default defineConfig({
  test: {
    include: ["src/**/*.test.ts", "test/**/*.test.ts"],
    exclude: ["src/slicer.test.ts", "src/compiled/**", "**/node_modules/**"],
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
