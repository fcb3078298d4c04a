/**
 * `@agentgate/core/node`: the file-backed embedded defaults. Node.js only; the root entry of
 * `@agentgate/core` stays free of `node:` modules so it also runs on edge runtimes.
 */

export {
  cosignedCheckpoint,
  cosignedPath,
  defaultCheckpointPath,
  type TrustedCheckpoint,
  writerCheckpoint,
} from "./audit-checkpoints.js";
export {
  type AuditInclusionProof,
  type AuditProofVerification,
  type ProveAuditRecordOptions,
  proveAuditRecord,
  type VerifyAuditProofOptions,
  verifyAuditProof,
} from "./audit-proof.js";
export {
  CHECKPOINT_KEY_ENV,
  CHECKPOINT_KEY_FILE_ENV,
  CheckpointKey,
  defaultCheckpointKeyPath,
} from "./checkpoint-key.js";
export {
  type AuditConfig,
  auditLogOptions,
  type BundleChange,
  type CreateGateOptions,
  createGate,
  type GateConfig,
  loadSpiffeBundles,
  type SpiffeBundleConfig,
} from "./create-gate.js";
export {
  type AuditAnchorStatus,
  type AuditDurability,
  type AuditFileSystem,
  type AuditRecovery,
  FileAuditLog,
  type FileAuditLogOptions,
} from "./file-audit-log.js";
export { FileKeyStore, type FileKeyStoreOptions } from "./file-key-store.js";
export {
  FileRevocationList,
  type FileRevocationListOptions,
} from "./file-revocation-list.js";
export {
  JsonFileAgentRegistry,
  type JsonFileAgentRegistryOptions,
} from "./json-file-agent-registry.js";
export {
  CompactRange,
  CosignedRange,
  consistencyProof,
  EMPTY_ROOT,
  inclusionProof,
  leafHash,
  nodeHash,
  verifyConsistency,
  verifyInclusion,
} from "./merkle-tree.js";
export {
  type AuditWriter,
  type AuditWriterOptions,
  auditChains,
  openAuditWriter,
  WRITERS_DIRECTORY,
} from "./open-audit-writer.js";
export {
  type AuditRecoveryReport,
  type RecoverAuditLogOptions,
  recoverAuditLog,
} from "./recover-audit-log.js";
export { SpoolingAuditSink } from "./spooling-audit-sink.js";
export {
  auditOrigin,
  formatCheckpoint,
  parseCheckpoint,
  type TreeHead,
} from "./tlog-checkpoint.js";
export {
  type AuditChainVerification,
  type VerifyAuditChainsOptions,
  verifyAuditChains,
} from "./verify-audit-chains.js";
export {
  type AuditQuery,
  type AuditVerification,
  NOT_ANCHORED,
  readAuditLog,
  type VerifyAuditLogOptions,
  verifyAuditLog,
} from "./verify-audit-log.js";
export { Witness, type WitnessOptions } from "./witness/witness.js";
export {
  type AddCheckpointRequest,
  type AddCheckpointResponse,
  formatAddCheckpoint,
  HttpWitnessClient,
  parseAddCheckpoint,
  type WitnessClient,
} from "./witness/witness-client.js";
