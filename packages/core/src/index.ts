/**
 * `@agentgate/core`: agent identity, tokens, delegation and revocation. Runs on any runtime with
 * Web Crypto; file-backed stores are in `@agentgate/core/node`, test helpers in
 * `@agentgate/core/testing`.
 */

export { type Clock, epochSeconds, systemClock } from "./clock.js";
export {
  AgentGateError,
  type AgentGateErrorCode,
  type AgentGateErrorOptions,
  isAgentGateError,
  safeMessageFor,
} from "./errors.js";
export { AgentId, MAX_AGENT_ID_LENGTH } from "./identity/agent-id.js";
export {
  type AgentDefinition,
  type AgentRecord,
  agentRecordSchema,
  defineAgent,
  isAgentExpired,
  parseAgentRecord,
  SCOPE_PATTERN,
  type Supervision,
} from "./identity/agent-record.js";
export { type AgentRegistry, MemoryAgentRegistry } from "./identity/agent-registry.js";
export {
  type ActorClaim,
  AGENT_TOKEN_TYPE,
  type AgentAttributes,
  type AgentTokenClaims,
  hasScope,
  IssuedToken,
  type Principal,
  type VerifiedAgent,
} from "./identity/agent-token.js";
export {
  Authority,
  type AuthorityOptions,
  type DelegateOptions,
  type IssueTokenOptions,
  type KeyInfo,
  MAX_TOKEN_TTL_SECONDS,
} from "./identity/authority.js";
export { JwksKeySet, type KeySet } from "./identity/key-set.js";
export { type KeyStore, MemoryKeyStore } from "./identity/key-store.js";
export { MemoryReplayCache, type ReplayCache } from "./identity/replay-cache.js";
export {
  MemoryRevocationList,
  type Revocation,
  type RevocationKind,
  type RevocationList,
} from "./identity/revocation-list.js";
export {
  importVerificationKey,
  SIGNING_ALGORITHMS,
  type SigningAlgorithm,
  SigningKey,
  type StoredKey,
  type VerificationKey,
} from "./identity/signing-key.js";
export {
  TokenVerifier,
  type TokenVerifierOptions,
  VERIFIER_DEFAULTS,
  type VerifyOptions,
} from "./identity/token-verifier.js";
