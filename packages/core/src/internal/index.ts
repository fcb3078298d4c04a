/**
 * `@agentgate/core/internal`: building blocks the AgentGate packages share with each other.
 * Public so that adapters and tools of your own can build the exact request and event shapes the
 * gate builds, but not part of the stable model: names here may change in a minor release.
 */

export { auditEventSchema, auditEventTypeSchema } from "../audit/audit-event.js";
export { epochSeconds } from "../clock.js";
export { agentRecordSchema, SCOPE_PATTERN } from "../identity/agent-record.js";
export { importVerificationKey, SigningKey } from "../identity/signing-key.js";
export {
  type ClaimsContext,
  type ClaimsRules,
  claimsToAgent,
} from "../identity/token-claims.js";
export { VERIFIER_DEFAULTS } from "../identity/token-verifier.js";
export {
  type AuthZenEvaluations,
  accessRequestToWire,
  authZenActionSchema,
  authZenEntitySchema,
  authZenEvaluationSchema,
  authZenEvaluationsSchema,
  type BatchItem,
  batchItems,
  decisionFromWire,
  decisionsFromWire,
  decisionToWire,
  describeIssue,
  errorToWire,
  isSingleEvaluation,
  MAX_EVALUATIONS,
} from "../policy/authzen-wire.js";
export {
  accessTime,
  buildAccessRequest,
  type RequestInput,
  toolId,
} from "../policy/request-mapping.js";
export { parseStrictJson, StrictJsonError, type StrictJsonLimits } from "./strict-json.js";
