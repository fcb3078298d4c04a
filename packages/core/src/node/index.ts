/**
 * `@agentgate/core/node`: the file-backed embedded defaults. Node.js only; the root entry of
 * `@agentgate/core` stays free of `node:` modules so it also runs on edge runtimes.
 */

export {
  type AuditCheckpoint,
  CheckpointKey,
} from "./checkpoint-key.js";
export { type CreateGateOptions, createGate, type GateConfig } from "./create-gate.js";
export {
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
  type AuditWriter,
  type AuditWriterOptions,
  auditChains,
  openAuditWriter,
  WRITERS_DIRECTORY,
} from "./open-audit-writer.js";
export { SpoolingAuditSink } from "./spooling-audit-sink.js";
export {
  type AuditQuery,
  type AuditVerification,
  readAuditLog,
  type VerifyAuditLogOptions,
  verifyAuditLog,
} from "./verify-audit-log.js";
