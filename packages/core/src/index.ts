/**
 * `@agentgate/core`: agent identity, tokens, delegation and revocation. Runs on any runtime with
 * Web Crypto; file-backed stores are in `@agentgate/core/node`, test helpers in
 * `@agentgate/core/testing`.
 */

export {
  AUDIT_SCHEMA_VERSION,
  type AuditEvent,
  type AuditEventType,
  type AuditRecord,
} from "./audit/audit-event.js";
export { type AuditSink, MemoryAuditSink } from "./audit/audit-sink.js";
export { ConsoleAuditSink, type ConsoleAuditSinkOptions } from "./audit/console-audit-sink.js";
export { createRedactor, type RedactionOptions, type Redactor } from "./audit/redaction.js";
export { TeeAuditSink } from "./audit/tee-audit-sink.js";
export { type Clock, systemClock } from "./clock.js";
export {
  AgentGateError,
  type AgentGateErrorCode,
  type AgentGateErrorOptions,
  isAgentGateError,
  safeMessageFor,
} from "./errors.js";
export { currentAgent, currentInvocation } from "./gate/agent-context.js";
export {
  type ApprovalAnswer,
  type ApprovalProvider,
  type ApprovalReason,
  type ApprovalRequest,
  ApprovalSuspended,
  CallbackApprovalProvider,
  isApprovalSuspended,
} from "./gate/approval.js";
export {
  type CertificateAuthenticator,
  type CertificateCredential,
  isCertificateCredential,
} from "./gate/certificate-credential.js";
export {
  CredentialProvider,
  type CredentialProviderOptions,
  type CredentialSource,
} from "./gate/credential-provider.js";
export { type CheckResult, Gate, type GateOptions } from "./gate/gate.js";
export type {
  InvocationContext,
  InvocationMetadata,
  ToolInvocation,
} from "./gate/tool-invocation.js";
export { AgentId, MAX_AGENT_ID_LENGTH } from "./identity/agent-id.js";
export {
  type AgentDefinition,
  type AgentRecord,
  defineAgent,
  isAgentExpired,
  parseAgentRecord,
  type Supervision,
} from "./identity/agent-record.js";
export { type AgentRegistry, MemoryAgentRegistry } from "./identity/agent-registry.js";
export { resumeAgent, suspendAgent } from "./identity/agent-supervision.js";
export {
  type ActorClaim,
  AGENT_TOKEN_TYPE,
  type AgentAttributes,
  type AgentTokenClaims,
  type CertificateEvidence,
  hasScope,
  IssuedToken,
  type Principal,
  type TokenConfirmation,
  type VerifiedAgent,
} from "./identity/agent-token.js";
export {
  Authority,
  type AuthorityOptions,
  type DelegateOptions,
  type ExchangeOptions,
  type IssueJwtSvidOptions,
  type IssueTokenOptions,
  type KeyInfo,
  MAX_TOKEN_TTL_SECONDS,
  type MayActRequest,
  type RotateKeyOptions,
} from "./identity/authority.js";
export {
  argumentsHash,
  CALL_PROOF_TYPE,
  type CallProofRequest,
  createCallProof,
  type VerifyCallProofOptions,
  verifyCallProof,
} from "./identity/call-proof.js";
export { certificateThumbprint } from "./identity/certificate-thumbprint.js";
export {
  accessTokenHash,
  createDpopProof,
  DPOP_PROOF_TYPE,
  type DpopKey,
  generateDpopKey,
  type VerifyDpopProofOptions,
  verifyDpopProof,
} from "./identity/dpop.js";
export {
  type ClaimMapping,
  ExternalIssuer,
  type ExternalIssuerConfig,
  type ExternalIssuerOptions,
  type ExternalUser,
} from "./identity/external-issuer.js";
export {
  JwtSvidBundle,
  type JwtSvidBundleSource,
  jwtSvidBundleFor,
  type VerifyJwtSvidOptions,
  verifyJwtSvid,
} from "./identity/jwt-svid.js";
export { JwksKeySet, type JwksUrlOptions, type KeySet } from "./identity/key-set.js";
export { type KeyStore, MemoryKeyStore } from "./identity/key-store.js";
export { checkMetadataUrl, type MetadataUrlOptions } from "./identity/metadata-url.js";
export { MemoryReplayCache, type ReplayCache } from "./identity/replay-cache.js";
export {
  MemoryRevocationList,
  type Revocation,
  RevocationIndex,
  type RevocationKind,
  type RevocationList,
} from "./identity/revocation-list.js";
export {
  isSigningAlgorithm,
  SIGNING_ALGORITHMS,
  type SigningAlgorithm,
  type StoredKey,
  type VerificationKey,
} from "./identity/signing-key.js";
export {
  type TokenCheck,
  TokenVerifier,
  type TokenVerifierOptions,
  type VerifyOptions,
} from "./identity/token-verifier.js";
export {
  checkAgentChain,
  type UsableAgentToken,
  type VerifyAgentTokenOptions,
  verifyAgentToken,
} from "./identity/verify-agent-token.js";
export type {
  AccessAction,
  AccessContext,
  AccessRequest,
  AccessResource,
  AccessSubject,
  AccessTime,
  ActionKind,
} from "./policy/access-request.js";
export { AllOfPolicyClient } from "./policy/all-of-policy-client.js";
export {
  type AuthZenMapping,
  AuthZenPolicyClient,
  type AuthZenPolicyClientOptions,
} from "./policy/authzen-policy-client.js";
export type {
  AuthZenAction,
  AuthZenEntity,
  AuthZenEvaluation,
  EvaluationsSemantic,
} from "./policy/authzen-wire.js";
export {
  CachedPolicyClient,
  type CachedPolicyClientOptions,
} from "./policy/cached-policy-client.js";
export {
  allow,
  type Decision,
  deny,
  isKnownObligation,
  type Obligation,
} from "./policy/decision.js";
export {
  type EvaluateOptions,
  FunctionPolicyClient,
  type PolicyClient,
} from "./policy/policy-client.js";
export type {
  StandardSchemaResult,
  StandardSchemaV1,
  ToolDescriptor,
} from "./policy/tool-descriptor.js";
export {
  checkToolNames,
  isServerId,
  isToolName,
  MAX_SERVER_ID_LENGTH,
  MAX_TOOL_NAME_LENGTH,
  type NameOrigin,
  parseServerId,
  parseToolName,
  serverIdProblem,
  toolNameProblem,
} from "./policy/tool-name.js";
