// Mutation testing of the Cedar policy client (`pnpm mutation` at the repository root; see
// MUTATION.md). Not part of CI.

/** The groups `pnpm mutation` runs; each is a list of globs relative to this package. */
export const GROUPS = { "cedar-policy-client": ["src/cedar-policy-client.ts"] };

/** @type {import("@stryker-mutator/api/core").PartialStrykerOptions} */
export default {
  testRunner: "vitest",
  plugins: ["@stryker-mutator/vitest-runner"],
  // The cedar tests without the randomized differential ones (see vitest.mutation.config.ts).
  vitest: { configFile: "vitest.mutation.config.ts", related: true },
  coverageAnalysis: "perTest",
  mutate: GROUPS["cedar-policy-client"],
  // Messages are prose for people: a mutated message is not a weaker defence.
  mutator: { excludedMutations: ["StringLiteral"] },
  ignorePatterns: ["reports", "bench", ".stryker-tmp"],
  tempDirName: ".stryker-tmp",
  incremental: true,
  incrementalFile: "reports/mutation/cedar-policy-client.incremental.json",
  reporters: ["json", "clear-text", "progress"],
  jsonReporter: { fileName: "reports/mutation/cedar-policy-client.json" },
  clearTextReporter: { allowColor: false, logTests: false, reportScoreTable: true },
  // Two test runners: the machine has two cores, shared.
  concurrency: 2,
  timeoutMS: 10_000,
  thresholds: { high: 90, low: 80, break: null },
};
