// Mutation testing of core's security-critical code (`pnpm mutation` at the repository root; see
// MUTATION.md). Not part of CI: a full run takes tens of minutes on a 2-core machine, so the
// files are mutated in groups, one group per Stryker run (`STRYKER_GROUP=identity`), each with
// its own incremental file so that a re-run tests only the mutants whose code or tests changed.

/** The groups `pnpm mutation` runs; each is a list of globs relative to this package. */
export const GROUPS = {
  "token-verifier": [
    "src/identity/token-verifier.ts",
    "src/identity/token-claims.ts",
    "src/identity/token-header.ts",
    "src/identity/token-checks.ts",
    "src/identity/token-cache.ts",
  ],
  // The rest of src/identity (token-verifier.ts is its own group), in four smaller runs:
  // agents and revocation, keys and the authority, DPoP and federation, proofs and SPIFFE.
  identity: [
    "src/identity/agent-*.ts",
    "src/identity/replay-cache.ts",
    "src/identity/revocation-list.ts",
    "src/identity/verify-agent-token.ts",
    "src/identity/metadata-url.ts",
    "!src/identity/**/*.test.ts",
  ],
  "identity-keys": [
    "src/identity/authority.ts",
    "src/identity/signing-key.ts",
    "src/identity/key-set.ts",
    "src/identity/key-store.ts",
  ],
  "identity-exchange": ["src/identity/dpop.ts", "src/identity/external-issuer.ts"],
  // Proof of possession and SPIFFE: call proofs and what they share with DPoP proofs,
  // JWT-SVIDs and their bundles, certificate thumbprints (RFC 8705).
  "identity-proofs": [
    "src/identity/call-proof.ts",
    "src/identity/proof-jwt.ts",
    "src/identity/jwt-svid.ts",
    "src/identity/certificate-thumbprint.ts",
  ],
  gate: ["src/gate/**/*.ts", "!src/gate/**/*.test.ts"],
  "bounded-copy": ["src/internal/bounded-copy.ts"],
  redaction: ["src/audit/redaction.ts"],
  // The verifier and the chain and checkpoint checks it relies on.
  "verify-audit-log": [
    "src/node/verify-audit-log.ts",
    "src/node/verify-audit-chains.ts",
    "src/node/audit-checkpoints.ts",
    "src/node/tlog-checkpoint.ts",
    "src/node/signed-note.ts",
    "src/node/merkle-tree.ts",
  ],
  // The writer's side of K80: opening a log (FileAuditLog.open and what it calls: the anchors,
  // the scan, the cut check), choosing a writer's chain, and the explicit recovery of a cut.
  // Line ranges: the rest of file-audit-log.ts is the append path, not the open path.
  "audit-writer": [
    "src/node/file-audit-log.ts:215-245",
    "src/node/file-audit-log.ts:513-784",
    "src/node/open-audit-writer.ts",
    "src/node/recover-audit-log.ts",
  ],
  // What both the writers and the verifier stand on: the segment scan and its torn-record
  // detection, the writer's lock, and the writers' bounded witness state (`CosignedRange`).
  "audit-store": [
    "src/node/audit-segments.ts",
    "src/node/audit-lock.ts",
    "src/node/merkle-tree.ts:104-156",
  ],
};

const group = process.env.STRYKER_GROUP;
const mutate = group === undefined ? Object.values(GROUPS).flat() : GROUPS[group];
if (mutate === undefined) throw new Error(`Unknown STRYKER_GROUP ${group}`);
// STRYKER_FAST=1 (`pnpm mutation --fast`): only the group's `*.mutation.test.ts` files, no
// incremental file, report `<group>.fast.json`. Minutes instead of an hour: `pnpm mutation
// --report` counts a mutant killed when either run killed it (see MUTATION.md).
const fast = process.env.STRYKER_FAST === "1";
const name = `${group ?? "all"}${fast ? ".fast" : ""}`;

/** @type {import("@stryker-mutator/api/core").PartialStrykerOptions} */
export default {
  testRunner: "vitest",
  plugins: ["@stryker-mutator/vitest-runner"],
  vitest: { configFile: "vitest.mutation.config.ts", related: false },
  coverageAnalysis: "perTest",
  mutate,
  // Messages are prose for people: a mutated message is not a weaker defence.
  mutator: { excludedMutations: ["StringLiteral"] },
  ignorePatterns: ["reports", "bench", ".stryker-tmp"],
  tempDirName: ".stryker-tmp",
  incremental: !fast,
  incrementalFile: `reports/mutation/${name}.incremental.json`,
  reporters: ["json", "clear-text", "progress"],
  jsonReporter: { fileName: `reports/mutation/${name}.json` },
  clearTextReporter: { allowColor: false, logTests: false, reportScoreTable: true },
  // Two test runners: the machine has two cores, shared.
  concurrency: 2,
  timeoutMS: 10_000,
  // The first (dry) run of a group with every audit test takes minutes on a busy machine.
  dryRunTimeoutMinutes: 20,
  thresholds: { high: 90, low: 80, break: null },
};
