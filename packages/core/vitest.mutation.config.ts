import { defineConfig } from "vitest/config";

// The tests each mutation group runs (`pnpm mutation`, see MUTATION.md): the ones that exercise
// the group's files. Tests that spawn processes run the unmutated `dist/` that Stryker copies into
// its sandbox (build first): they pass there but cannot kill a mutant.
// test/security/ is left out of every group: its tests spawn processes and take minutes per
// mutant on a 2-core machine, and its suite-wide secret scan (I69) needs the whole suite's setup.
const TESTS: Record<string, string[]> = {
  "token-verifier": ["src/identity/**/*.test.ts"],
  identity: ["src/identity/**/*.test.ts", "src/gate/**/*.test.ts"],
  "identity-keys": ["src/identity/**/*.test.ts", "src/gate/**/*.test.ts"],
  "identity-exchange": ["src/identity/**/*.test.ts"],
  // The gate's tests drive call proofs (proof-of-possession*) and JWT-SVIDs (jwt-svid-credential).
  "identity-proofs": ["src/identity/**/*.test.ts", "src/gate/**/*.test.ts"],
  gate: ["src/gate/**/*.test.ts", "src/testing/**/*.test.ts"],
  "bounded-copy": ["src/internal/**/*.test.ts", "src/gate/**/*.test.ts"],
  redaction: ["src/audit/**/*.test.ts", "src/gate/**/*.test.ts"],
  // Not audit-storm.test.ts: its writers are processes (the unmutated dist/) and it takes minutes.
  "verify-audit-log": [
    "src/node/file-audit-log.test.ts",
    "src/node/audit-evidence.test.ts",
    "src/node/open-audit-writer.test.ts",
    "src/node/merkle-tree.test.ts",
    "src/node/*.mutation.test.ts",
  ],
  // Not file-audit-log.test.ts: its E41/E42 writers are processes (the unmutated dist/), and E42
  // reopens the log 50 times, a minute per mutant that reaches the open path; the in-process
  // cases of the open path are pinned down in open-audit-log.mutation.test.ts.
  "audit-writer": [
    "src/node/audit-evidence.test.ts",
    "src/node/open-audit-writer.test.ts",
    "src/node/*.mutation.test.ts",
  ],
  // As `audit-writer`, plus the tree's own tests (CosignedRange).
  "audit-store": [
    "src/node/audit-evidence.test.ts",
    "src/node/open-audit-writer.test.ts",
    "src/node/merkle-tree.test.ts",
    "src/node/*.mutation.test.ts",
  ],
};

const group = process.env.STRYKER_GROUP ?? "";
// STRYKER_FAST=1: only the tests written to kill mutants, `*.mutation.test.ts` of the same folders.
const fast = process.env.STRYKER_FAST === "1";
const include = (globs: string[]): string[] =>
  fast
    ? [
        ...new Set(
          globs.map((glob) => `${glob.slice(0, glob.lastIndexOf("/"))}/*.mutation.test.ts`),
        ),
      ]
    : globs;

export default defineConfig({
  test: {
    include: include(TESTS[group] ?? ["src/**/*.test.ts", "test/**/*.test.ts"]),
    testTimeout: 20_000,
  },
});
