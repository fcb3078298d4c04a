/**
 * `@agentgate/core/contracts`: the vitest suites every implementation of a port runs, so a
 * third-party sink or policy client proves itself the way AgentGate's own do. Needs `vitest`.
 */
export {
  type AuditSinkHarness,
  describeAuditSinkContract,
  sampleAuditEvent,
} from "./audit-sink-contract.js";
export {
  CONTRACT_AGENT,
  CONTRACT_RULE,
  contractRequest,
  describePolicyClientContract,
} from "./policy-client-contract.js";
